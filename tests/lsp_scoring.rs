//! The language server scores a document that has no trace with the user's scoring server
//! (here a stand-in vLLM on 127.0.0.1), and a workspace cannot point it anywhere.

mod common;
mod http_fixture;

use common::{file_uri, Client};
use serde_json::{json, Value};

const DOC: &str = "Marie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie.\n";

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    // The chunk cache goes to a folder of this test, not the user's.
    std::env::set_var("HEDGE_CACHE_DIR", dir.path().join("cache"));
    let path = dir.path().join("notes.md");
    std::fs::write(&path, DOC).unwrap();
    let uri = file_uri(&path);
    (dir, uri)
}

#[tokio::test]
async fn user_level_endpoint_scores_a_document_without_trace() {
    let (_dir, uri) = setup();
    let server = http_fixture::scoring::fixture_for(hedge::source::http::ServerKind::Vllm);
    let mut c = Client::start(None);
    let scoring = json!({"scoring": {"server": "vllm", "endpoint": server.base, "model": "m"}});
    c.initialize(json!({}), scoring).await;
    c.open(&uri, DOC).await;
    c.diagnostics_for_version(&uri, 1).await;
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(s["result"]["status"], "ready", "{s}");
    assert_eq!(s["result"]["alignedTokens"], s["result"]["tokens"]);
    assert!(server.count() >= 1);
}

#[tokio::test]
async fn a_workspace_cannot_add_an_endpoint() {
    let (_dir, uri) = setup();
    let server = http_fixture::scoring::fixture_for(hedge::source::http::ServerKind::Vllm);
    let mut c = Client::start(None);
    c.configuration = json!({"scoring": {"server": "vllm", "endpoint": server.base, "model": "m"}});
    c.initialize(json!({"workspace": {"configuration": true}}), Value::Null)
        .await;
    let m = c.wait_for("window/showMessage", |_| true).await;
    assert_eq!(
        m["message"],
        "hedge: `scoring` from workspace settings is ignored: a scoring endpoint is taken only from user settings or `hedge lsp --endpoint`"
    );
    c.open(&uri, DOC).await;
    assert_eq!(
        c.diagnostics_for_version(&uri, 1).await["diagnostics"],
        json!([])
    );
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"hedge": {"scoring": {"server": "vllm", "endpoint": server.base}}}}),
    )
    .await;
    c.wait_for("window/showMessage", |_| true).await;
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(s["result"]["status"], "no-trace");
    assert_eq!(
        server.count(),
        0,
        "no request may reach an endpoint the workspace named"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_one_diagnostic_not_a_hang() {
    let (_dir, uri) = setup();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut c = Client::start(None);
    let scoring = json!({"scoring": {"server": "vllm", "endpoint": format!("http://{closed}"), "model": "m"}});
    c.initialize(json!({}), scoring).await;
    c.open(&uri, DOC).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["code"], "scoring-error");
    let msg = diags[0]["message"].as_str().unwrap();
    assert!(msg.starts_with("hedge: scoring failed: "), "{msg}");
    assert!(msg.contains(&closed.to_string()), "{msg}");
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
        )
        .await;
    assert_eq!(h["result"], Value::Null);
}

#[tokio::test]
async fn an_edit_stops_the_scoring_of_the_old_text() {
    let (_dir, uri) = setup();
    let answer = http_fixture::scoring::responder(hedge::source::http::ServerKind::Vllm);
    // The opened text's request is answered one byte every 100 ms (a minute in all); the edited
    // text's at once.
    let server = http_fixture::serve(move |req, n| {
        if n == 0 {
            http_fixture::Reply::Drip(std::time::Duration::from_millis(100), 600)
        } else {
            http_fixture::json_reply(200, &answer(&http_fixture::sent_text(&req.body)))
        }
    });
    let mut c = Client::start(None);
    let scoring = json!({"scoring": {"server": "vllm", "endpoint": server.base, "model": "m"}});
    c.initialize(json!({}), scoring).await;
    c.open(&uri, DOC).await;
    let started = std::time::Instant::now();
    while server.count() == 0 {
        assert!(started.elapsed().as_secs() < 10, "no scoring request");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let edited = DOC.replace("1903", "1911");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": edited}]}),
    )
    .await;
    // The edited text is scored and analysed.
    let started = std::time::Instant::now();
    loop {
        let s = c
            .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
            .await;
        if s["result"]["status"] == "ready" {
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "never scored: {s}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.count(), 2);
    assert_eq!(http_fixture::sent_text(&server.take()[1].body), edited);
    // hedge hung up on the old text's answer instead of reading it to the end.
    let started = std::time::Instant::now();
    while server.broken() == 0 {
        assert!(
            started.elapsed().as_secs() < 5,
            "the old text's request was not dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.broken(), 1);
}
