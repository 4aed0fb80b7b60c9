//! The language server survives what editors and bad files send it: positions past the end,
//! unknown documents, edits to closed documents, a binary file, malformed JSON-RPC. After
//! each, it still answers the next request.

mod common;

use common::{file_uri, workspace, Client};
use serde_json::{json, Value};

async fn still_answers(c: &mut Client, uri: &str) {
    let r = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 36}}),
        )
        .await;
    assert!(r.get("result").is_some(), "{r}");
}

#[tokio::test]
async fn odd_requests_get_answers_not_crashes() {
    let ws = workspace(&["curie.md", "curie.md.logprobs.json"]);
    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    let uri = file_uri(&ws.path().join("curie.md"));
    let text = std::fs::read_to_string(ws.path().join("curie.md")).unwrap();
    c.open(&uri, &text).await;
    c.diagnostics_for_version(&uri, 1).await;

    // Positions far past the end: clamped.
    let far = json!({"line": 99999, "character": 99999});
    let r = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": far}),
        )
        .await;
    assert_eq!(r["result"], Value::Null);
    let r = c
        .request("textDocument/codeAction", json!({"textDocument": {"uri": uri}, "range": {"start": far, "end": far}, "context": {"diagnostics": []}}))
        .await;
    assert_eq!(r["result"], Value::Null);
    let r = c
        .request("textDocument/semanticTokens/range", json!({"textDocument": {"uri": uri}, "range": {"start": far, "end": {"line": 0, "character": 0}}}))
        .await;
    assert!(r.get("result").is_some(), "{r}");

    // Unknown documents.
    let ghost = "file:///nowhere/ghost.md";
    let r = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": ghost}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert_eq!(r["result"], Value::Null);
    let r = c
        .request(
            "workspace/executeCommand",
            json!({"command": "hedge.dismissAll", "arguments": [ghost]}),
        )
        .await;
    assert_eq!(r["error"]["message"], "that document is not open");
    let r = c
        .request(
            "workspace/executeCommand",
            json!({"command": "hedge.nope", "arguments": [uri]}),
        )
        .await;
    assert_eq!(r["error"]["message"], "unknown command hedge.nope");

    // An edit to a document that was never opened, an edit with a reversed range.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": ghost, "version": 5}, "contentChanges": [{"text": "x"}]}),
    )
    .await;
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 4, "character": 5}, "end": {"line": 4, "character": 0}}, "text": ""}]}),
    )
    .await;
    c.diagnostics_for_version(&uri, 2).await;
    let uri_key: tower_lsp_server::ls_types::Uri = uri.parse().unwrap();
    assert_eq!(
        c.state.docs.get(&uri_key).unwrap().text(),
        text.replacen("Marie", "", 1)
    );
    still_answers(&mut c, &uri).await;

    // Malformed JSON-RPC: a body that is not JSON, and a request with wrong params.
    c.send_raw(b"Content-Length: 9\r\n\r\n{not json").await;
    let r = c.request("textDocument/hover", json!({"oops": true})).await;
    assert!(r.get("error").is_some(), "{r}");
    still_answers(&mut c, &uri).await;

    // Close, then edit the closed document.
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    )
    .await;
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "x"}]}),
    )
    .await;
    let r = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert_eq!(r["result"], Value::Null);
}

#[tokio::test]
async fn a_binary_file_opened_in_the_editor() {
    let ws = workspace(&[]);
    let path = ws.path().join("blob.json");
    let junk: String = (0u32..2000)
        .filter_map(|i| char::from_u32(i * 37 % 0x2FFF))
        .collect();
    std::fs::write(&path, &junk).unwrap();
    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    let uri = file_uri(&path);
    c.open(&uri, &junk).await;
    assert_eq!(
        c.diagnostics_for_version(&uri, 1).await["diagnostics"],
        json!([])
    );
    still_answers(&mut c, &uri).await;
}

#[tokio::test]
async fn a_one_gigabyte_sidecar_is_refused_unread() {
    // A sparse file: 1 GiB long, no disk used.
    let ws = workspace(&["curie.md"]);
    let side = ws.path().join("curie.md.logprobs.json");
    std::fs::File::create(&side)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let expected = "curie.md.logprobs.json: is 1073741824 bytes, over the 536870912-byte limit for traces (raise it with --max-trace-bytes)";

    let t = std::time::Instant::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(["check", "curie.md"])
        .current_dir(ws.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("hedge: {expected}\n")
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );

    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    let path = ws.path().join("curie.md");
    let uri = file_uri(&path);
    let t = std::time::Instant::now();
    c.open(&uri, &std::fs::read_to_string(&path).unwrap()).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(d["diagnostics"][0]["code"], "trace-error");
    assert_eq!(d["diagnostics"][0]["message"], format!("hedge: {expected}"));
    still_answers(&mut c, &uri).await;
}

#[tokio::test]
async fn a_ten_megabyte_line_is_refused_or_read_not_a_hang() {
    // One line of 10 MB with no sidecar: over the 10 MiB document limit by a little, it gets
    // one message; just under it, it is read (no trace) and the server stays quick.
    let ws = workspace(&[]);
    let mut c = Client::start(None);
    c.initialize(json!({}), json!({"noteMissingTrace": false}))
        .await;
    for (name, len) in [("over.md", 10 * 1024 * 1024 + 1), ("under.md", 10_000_000)] {
        let path = ws.path().join(name);
        let line = "x".repeat(len);
        std::fs::write(&path, &line).unwrap();
        let uri = file_uri(&path);
        c.open(&uri, &line).await;
        let d = c.diagnostics_for_version(&uri, 1).await;
        if len > 10 * 1024 * 1024 {
            assert_eq!(
                d["diagnostics"][0]["message"],
                format!(
                    "hedge skipped this document: {len} bytes is over maxDocumentBytes (10485760)"
                )
            );
        } else {
            assert_eq!(d["diagnostics"], json!([]));
        }
        let r = c
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 9_999_999}}),
            )
            .await;
        assert_eq!(r["result"], Value::Null);
    }
}

#[tokio::test]
async fn a_declared_length_alone_allocates_nothing() {
    let peak = || {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmPeak:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    let before = peak();
    // 250 MB promised (under the 256 MiB limit), 20 bytes sent.
    c.send_raw(b"Content-Length: 250000000\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\"")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let grew = peak().saturating_sub(before);
    assert!(grew < 150 * 1024, "peak virtual memory grew by {grew} KiB");
}
