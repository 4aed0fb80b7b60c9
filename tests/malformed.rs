//! The malformed-input corpus (tests/fixtures/malformed, made by make_cases.py): every file
//! gives its expected error — or, for odd but readable input, its token count — and nothing
//! panics. Each case also goes through the whole engine against a document, and through
//! `hedge check` for the exit status.

use std::collections::BTreeMap;
use std::path::Path;

use hedge::analysis::analyze;
use hedge::config::Config;
use hedge::trace::parse_trace;

fn corpus() -> (std::path::PathBuf, BTreeMap<String, String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let cases: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    (dir, cases)
}

#[test]
fn every_case_gives_its_message_or_its_tokens() {
    let (dir, cases) = corpus();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for (name, expect) in &cases {
        let data = std::fs::read(dir.join(name)).unwrap();
        let got = std::panic::catch_unwind(|| parse_trace(&data, None));
        let Ok(got) = got else {
            wrong.push(format!("{name}: panicked"));
            continue;
        };
        match (expect.strip_prefix("ok:"), got) {
            (Some(n), Ok(trace)) => {
                if trace.tokens.len().to_string() != n {
                    wrong.push(format!(
                        "{name}: {} tokens, expected {n}",
                        trace.tokens.len()
                    ));
                }
                // The rest of the engine takes it too, against its own text and another.
                let text = String::from_utf8_lossy(&trace.generated_bytes()).into_owned();
                for doc in [text.as_str(), "Unrelated text.", ""] {
                    let r = std::panic::catch_unwind(|| analyze(doc, &trace, &Config::default()));
                    if r.is_err() {
                        wrong.push(format!("{name}: the engine panicked on {doc:?}"));
                    }
                }
            }
            (Some(_), Err(e)) => wrong.push(format!("{name}: refused ({e}), expected to read it")),
            (None, Ok(t)) => wrong.push(format!(
                "{name}: read {} tokens, expected \"{expect}\"",
                t.tokens.len()
            )),
            (None, Err(e)) => {
                let msg = e.to_string();
                if !msg.starts_with(expect.as_str()) {
                    wrong.push(format!(
                        "{name}: \"{msg}\" does not start with \"{expect}\""
                    ));
                }
                if msg.contains('\n') {
                    wrong.push(format!("{name}: the message has more than one line"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_cli_exits_2_with_one_line_for_every_refused_case() {
    let (dir, cases) = corpus();
    let work = tempfile::tempdir().unwrap();
    let doc = work.path().join("doc.md");
    std::fs::write(&doc, "x").unwrap();
    for (name, expect) in cases.iter().filter(|(_, e)| !e.starts_with("ok:")) {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_hedge"))
            .args(["check", "--trace"])
            .arg(dir.join(name))
            .arg(&doc)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(expect.as_str()), "{name}: {err}");
        assert_eq!(std::fs::read_to_string(&doc).unwrap(), "x");
    }
}
