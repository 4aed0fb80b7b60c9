//! The language server asked to score with a local model it cannot use: a hedge built without
//! the `local` feature, or a model file that does not load. One message with the reason, one
//! diagnostic at the top of each document, never a hang. (Scoring with a real model is in
//! tests/local_scorer.rs, under the feature.)

mod common;

use common::{file_uri, Client};
use serde_json::json;

const DOC: &str = "Marie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie.\n";

#[tokio::test]
async fn a_local_model_that_cannot_run_is_reported_not_awaited() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.md");
    std::fs::write(&path, DOC).unwrap();
    let uri = file_uri(&path);
    let model = dir.path().join("missing.gguf");
    let mut c = Client::start(None);
    c.initialize(
        json!({}),
        json!({"scoring": {"server": "local", "model": model}}),
    )
    .await;
    let why = if cfg!(feature = "local") {
        format!("{}: no such model file", model.display())
    } else {
        "this hedge was built without the `local` feature, so it cannot score with a local model; install it with `cargo install --path . --locked --features local`".to_string()
    };
    if !cfg!(feature = "local") {
        let m = c.wait_for("window/showMessage", |_| true).await;
        assert_eq!(m["message"], format!("hedge: {why}"));
    }
    c.open(&uri, DOC).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{d}");
    assert_eq!(diags[0]["code"], "scoring-error");
    assert_eq!(diags[0]["message"], format!("hedge: scoring failed: {why}"));
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(s["result"]["status"], "error");
}

#[tokio::test]
async fn local_without_a_model_path_is_a_settings_warning() {
    let mut c = Client::start(None);
    c.initialize(json!({}), json!({"scoring": {"server": "local"}}))
        .await;
    let m = c.wait_for("window/showMessage", |_| true).await;
    assert_eq!(
        m["message"],
        "hedge: `scoring` with server `local` needs `model`: the path of a GGUF file"
    );
}
