//! A saved response opened directly: findings point into the JSON string of the message,
//! through its escapes.

use std::process::Command;

fn check_json(path: &str) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(["check", "--format", "json", "--tokens", path])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Slice a text by an LSP range (0-based lines, UTF-16 characters).
fn slice_utf16<'a>(text: &'a str, range: &serde_json::Value) -> &'a str {
    let offset = |p: &serde_json::Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let ch = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= ch {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    &text[offset(&range["start"])..offset(&range["end"])]
}

#[test]
fn saved_response_with_escapes() {
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/docs/response.json"
    ))
    .unwrap();
    let v = check_json("tests/fixtures/docs/response.json");
    let f = &v["files"][0];
    assert_eq!(f["trace_format"], "openai-chat");
    let finding = &f["findings"][0];
    assert_eq!(finding["code"], "low-probability");
    assert_eq!(slice_utf16(&file, &finding["range"]), "1867");
    assert_eq!(finding["range"]["start"]["line"], 9);
    let tokens = f["tokens"].as_array().unwrap();
    let by_bytes = |i: usize| {
        let r = &tokens[i]["byte_range"];
        &file[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize]
    };
    // ' "' and '".' are written with escaped quotes; "\n" is an escape; the emoji is a
    // surrogate pair whose two tokens both mark all of it.
    assert_eq!(by_bytes(2), " \\\"");
    assert_eq!(by_bytes(4), "\\\".");
    assert_eq!(by_bytes(5), "\\n");
    assert_eq!(by_bytes(6), "\\ud83d\\udc99");
    assert_eq!(by_bytes(7), "\\ud83d\\udc99");
    assert_eq!(by_bytes(8), " Curie");
}

#[test]
fn every_message_of_a_log_is_analysed() {
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/docs/chat-log.jsonl"
    ))
    .unwrap();
    let v = check_json("tests/fixtures/docs/chat-log.jsonl");
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let texts: Vec<&str> = files
        .iter()
        .map(|f| slice_utf16(&file, &f["findings"][0]["range"]))
        .collect();
    assert_eq!(texts, vec!["1867", "Paris"]);
    assert_eq!(files[1]["findings"][0]["range"]["start"]["line"], 1);
}

#[test]
fn an_unknown_shape_names_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.json");
    std::fs::write(&p, r#"{"title": "x", "body": "y"}"#).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hedge"))
        .arg("check")
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!(
            "hedge: {}: unrecognised logprob format (top-level keys: title, body); pass --trace-format to force one\n",
            p.display()
        )
    );
}
