//! Bad input: one line on stderr that names the file and says what is wrong, exit status 2,
//! no panic, and the user's files untouched.

use std::path::Path;
use std::process::{Command, Output};

const DOC: &str = "Marie Curie was born in Warsaw in 1867.";

fn check(dir: &Path, sidecar: &[u8]) -> Output {
    let doc = dir.join("doc.md");
    std::fs::write(&doc, DOC).unwrap();
    std::fs::write(dir.join("doc.md.logprobs.json"), sidecar).unwrap();
    Command::new(env!("CARGO_BIN_EXE_hedge"))
        .arg("check")
        .arg(&doc)
        .output()
        .unwrap()
}

/// Runs hedge on a sidecar and returns stderr after the sidecar's path, checking the rules
/// every bad input must follow.
fn error_for(sidecar: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let o = check(dir.path(), sidecar);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    // The document and the sidecar are as they were.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("doc.md")).unwrap(),
        DOC
    );
    assert_eq!(
        std::fs::read(dir.path().join("doc.md.logprobs.json")).unwrap(),
        sidecar
    );
    let prefix = format!(
        "hedge: {}: ",
        dir.path().join("doc.md.logprobs.json").display()
    );
    err.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{err:?} does not start with {prefix:?}"))
        .trim_end()
        .to_string()
}

fn chat(entries: &str) -> Vec<u8> {
    format!(r#"{{"choices":[{{"index":0,"message":{{"role":"assistant","content":"x"}},"logprobs":{{"content":[{entries}]}}}}]}}"#)
        .into_bytes()
}

#[test]
fn truncated_json() {
    let full =
        chat(r#"{"token":"Marie","logprob":-0.1,"bytes":[77,97,114,105,101],"top_logprobs":[]}"#);
    let e = error_for(&full[..full.len() - 7]);
    assert!(e.starts_with("not valid JSON: EOF while parsing"), "{e}");
    assert!(e.contains("line 1 column"), "{e}");
}

#[test]
fn unknown_shape_lists_the_keys() {
    let e = error_for(br#"{"result":{"text":"x"},"meta":1}"#);
    assert_eq!(
        e,
        "unrecognised logprob format (top-level keys: result, meta); pass --trace-format to force one"
    );
}

#[test]
fn wrong_shape_for_a_known_format() {
    let e = error_for(br#"{"choices":[{"logprobs":{"content":[{"token":5}]}}]}"#);
    assert!(
        e.starts_with("does not match the openai-chat format: "),
        "{e}"
    );
}

#[test]
fn not_utf8() {
    let e = error_for(b"{\"choices\": \xff\xfe}");
    assert_eq!(e, "is not UTF-8 text (byte 12 is invalid)");
}

#[test]
fn a_document_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.md");
    std::fs::write(&doc, b"caf\xe9").unwrap();
    std::fs::write(dir.path().join("doc.md.logprobs.json"), chat("")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .arg("check")
        .arg(&doc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!(
            "hedge: {}: is not UTF-8 text (byte 3 is invalid)\n",
            doc.display()
        )
    );
}

#[test]
fn empty_trace() {
    assert_eq!(error_for(&chat("")), "the trace has no tokens");
    assert_eq!(error_for(b""), "is an empty file");
    assert_eq!(error_for(b"\n  \n"), "is an empty file");
}

#[test]
fn nan_is_not_json() {
    let e = error_for(&chat(
        r#"{"token":"Marie","logprob":NaN,"bytes":[77,97,114,105,101],"top_logprobs":[]}"#,
    ));
    assert!(e.starts_with("not valid JSON"), "{e}");
}

#[test]
fn only_sentinels() {
    let words = [
        "Marie", " Curie", " was", " born", " in", " Warsaw", " in", " 1867", ".",
    ];
    let entries: Vec<String> = words
        .iter()
        .map(|w| {
            format!(
                r#"{{"token":"{w}","logprob":-9999.0,"bytes":{:?},"top_logprobs":[]}}"#,
                w.as_bytes()
            )
        })
        .collect();
    let e = error_for(&chat(&entries.join(",")));
    assert_eq!(
        e,
        "the trace has no usable logprobs: all 9 tokens carry a placeholder (such as -9999) instead of a value"
    );
}

#[test]
fn big_garbage_sidecar_is_refused_quickly() {
    // 50 MB that starts like a response and never becomes valid JSON.
    let mut big = br#"{"choices":[{"logprobs":{"content":["#.to_vec();
    big.resize(50 * 1024 * 1024, b'[');
    let t = std::time::Instant::now();
    let e = error_for(&big);
    assert!(e.starts_with("not valid JSON: "), "{e}");
    // Not a timing test of hedge's speed: a guard that it does not hang or recurse forever.
    assert!(t.elapsed().as_secs() < 60);
}

#[test]
fn size_limit_is_checked_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.md");
    std::fs::write(&doc, DOC).unwrap();
    std::fs::write(dir.path().join("doc.md.logprobs.json"), vec![b' '; 4096]).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(["check", "--max-trace-bytes", "1000"])
        .arg(&doc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!(
            "hedge: {}: is 4096 bytes, over the 1000-byte limit for traces (raise it with --max-trace-bytes)\n",
            dir.path().join("doc.md.logprobs.json").display()
        )
    );
}
