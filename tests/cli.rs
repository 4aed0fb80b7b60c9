//! `hedge check` and `hedge show` as a user runs them: a document and its sidecar in, lines,
//! JSON or SARIF out, and the exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/docs")
        .join(name)
}

fn hedge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("hedge runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const CURIE: &str = "tests/fixtures/docs/curie.md";

#[test]
fn human_lines_name_the_uncertain_claims() {
    let o = hedge(&["check", CURIE]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "tests/fixtures/docs/curie.md:5:35: warning[low-probability]: \"1867\": 3% likely as written; weakest token \"67\" at 3%; the model preferred \"1868\" (41%); entropy 3.0–8.2 bits\n\
         tests/fixtures/docs/curie.md:5:84: warning[uncertain-citation]: \"(Becquerel et al., 1903)\": 8% likely as written; weakest token \"Bec\" at 20%; the model preferred \"Cur…\" (30%); entropy 2.4–8.2 bits\n\
         tests/fixtures/docs/curie.md: 36 tokens, 36 placed (100%), trace tests/fixtures/docs/curie.md.logprobs.json (openai-chat); perplexity 1.27, mean surprisal 0.35 bits, mean entropy 0.57–2.40 bits; 2 findings (0 errors, 2 warnings, 0 information, 0 hints)\n"
    );
    assert_eq!(stderr(&o), "");
}

#[test]
fn fail_on_sets_the_exit_status() {
    assert_eq!(
        hedge(&["check", CURIE, "--fail-on", "never"]).status.code(),
        Some(0)
    );
    assert_eq!(
        hedge(&["check", CURIE, "--fail-on", "error"]).status.code(),
        Some(0)
    );
    assert_eq!(
        hedge(&["check", CURIE, "--fail-on", "hint"]).status.code(),
        Some(1)
    );
}

#[test]
fn json_contract() {
    let o = hedge(&["check", CURIE, "--format", "json", "--tokens"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["path"], CURIE);
    assert_eq!(f["trace_format"], "openai-chat");
    let s = &f["summary"];
    assert_eq!(s["tokens"], 36);
    assert_eq!(s["aligned_tokens"], 36);
    assert_eq!(s["sentinel_tokens"], 0);
    // Σ ln p of the fixture's chosen probabilities, computed in make_fixtures.py.
    let joint = s["joint_logprob"].as_f64().unwrap();
    assert!((joint - -8.744866109812373).abs() < 1e-9, "{joint}");
    let ppl = s["perplexity"].as_f64().unwrap();
    assert!((ppl - (8.744866109812373f64 / 36.0).exp()).abs() < 1e-9);

    let doc = std::fs::read_to_string(fixture("curie.md")).unwrap();
    let findings = f["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    let first = &findings[0];
    assert_eq!(first["code"], "low-probability");
    assert_eq!(first["kind"], "number");
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["text"], "1867");
    assert_eq!(first["byte_range"], serde_json::json!([84, 88]));
    assert_eq!(&doc[84..88], "1867");
    assert_eq!(
        first["range"]["start"],
        serde_json::json!({"line": 4, "character": 34})
    );
    assert_eq!(
        first["range"]["end"],
        serde_json::json!({"line": 4, "character": 38})
    );
    assert_eq!(findings[1]["code"], "uncertain-citation");
    assert_eq!(findings[1]["kind"], "citation");

    // Tokens: the split emoji's two halves both point at the whole character.
    let tokens = f["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 36);
    let heart = doc.find('💙').unwrap();
    assert_eq!(
        tokens[28]["byte_range"],
        serde_json::json!([heart, heart + 4])
    );
    assert_eq!(
        tokens[29]["byte_range"],
        serde_json::json!([heart, heart + 4])
    );
    let t8 = &tokens[8];
    assert_eq!(t8["text"], "67");
    assert_eq!(t8["rank"], 3);
    assert!((t8["p"].as_f64().unwrap() - 0.03).abs() < 1e-12);
    assert!((t8["surprisal_bits"].as_f64().unwrap() - -(0.03f64.log2())).abs() < 1e-12);
    assert!((t8["residual_mass"].as_f64().unwrap() - 0.36).abs() < 1e-12);
    assert_eq!(t8["top"][0]["text"], "68");
}

#[test]
fn sarif_is_valid_and_read_by_a_real_consumer() {
    let o = hedge(&["check", CURIE, "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 5);
    assert_eq!(region["startColumn"], 35);
    assert_eq!(region["endColumn"], 39);
    assert_eq!(results[0]["ruleId"], "low-probability");

    // sarif-tools, installed by .ci/run; required there, optional on a developer machine.
    let tool = std::env::var("HEDGE_SARIF_TOOL").ok();
    let Some(tool) = tool.filter(|t| Path::new(t).exists()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide HEDGE_SARIF_TOOL"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hedge.sarif");
    std::fs::write(&file, &o.stdout).unwrap();
    let out = Command::new(tool)
        .arg("summary")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("warning: 2"), "{text}");
    assert!(text.contains("low-probability"), "{text}");
}

#[test]
fn show_marks_low_probability_tokens_without_colour() {
    let o = hedge(&["show", CURIE]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("Marie Curie was born in Warsaw in 18[67]. She won"),
        "{out}"
    );
    assert!(out
        .contains("marked tokens: [text] 1–10%   [[text]] < 1% or below the listed alternatives"));
    assert!(!out.contains('\x1b'));
    let colored = hedge(&["show", CURIE, "--color", "always"]);
    assert!(stdout(&colored).contains("\x1b[31m67\x1b[0m"));
}

#[test]
fn a_trace_of_another_document_is_refused() {
    let o = hedge(&[
        "check",
        "tests/fixtures/docs/unrelated.md",
        "--trace",
        "tests/fixtures/docs/curie.md.logprobs.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "hedge: tests/fixtures/docs/curie.md.logprobs.json: trace does not match this document: only 0 of 36 tokens (0%) were found in the text (at least 50% needed); is it the trace of another file?\n"
    );
}

#[test]
fn a_document_without_a_trace_says_where_it_looked() {
    let o = hedge(&["check", "tests/fixtures/docs/unrelated.md"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "hedge: tests/fixtures/docs/unrelated.md: no trace found: expected tests/fixtures/docs/unrelated.md.logprobs.json or tests/fixtures/docs/unrelated.md.logprobs.jsonl beside it, or pass --trace FILE\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = hedge(&["check", CURIE, "--trace-format", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown trace format `nope`; one of: native, openai-chat"),
        "{}",
        stderr(&o)
    );
    let o = hedge(&["check", CURIE, CURIE, "--trace", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--trace names the trace of one document"));
    assert_eq!(hedge(&["--help"]).status.code(), Some(0));
}

#[test]
fn settings_file_changes_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("curie.md"), dir.path().join("curie.md")).unwrap();
    std::fs::copy(
        fixture("curie.md.logprobs.json"),
        dir.path().join("curie.md.logprobs.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hedge.toml"),
        "disable = [\"uncertain-citation\"]\n[thresholds]\nclaim-p = 0.01\n",
    )
    .unwrap();
    let doc = dir.path().join("curie.md");
    let o = hedge(&["check", doc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(":5:35: information[off-greedy]: \"1867\""),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("; 1 finding (0 errors, 0 warnings, 1 information, 0 hints)"));
    std::fs::write(
        dir.path().join("hedge.toml"),
        "[thresholds]\nclaim_p = 0.01\n",
    )
    .unwrap();
    let o = hedge(&["check", doc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("hedge.toml: unknown field `claim_p`"),
        "{}",
        stderr(&o)
    );
}
