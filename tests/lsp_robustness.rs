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
