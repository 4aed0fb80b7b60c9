//! `hedge.draft` in the language server: a chat endpoint's answer is inserted at the cursor as a
//! workspace edit, its raw response becomes the document's sidecar, and the document is analysed
//! at once. Against a stand-in chat server on 127.0.0.1 (exact values) and against a real
//! llama-server with SmolLM2-135M (skipped when the Python environment is missing, except under
//! CI).

mod common;
mod http_fixture;
mod llama_server;

use common::{file_uri, Client};
use serde_json::{json, Value};

const DOC: &str = "# Notes\n\nWho won the Nobel Prize?\n";
const ANSWER: &str = "Marie Curie won the Nobel Prize in Physics in 1903.";

fn setup() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.md");
    std::fs::write(&path, DOC).unwrap();
    let uri = file_uri(&path);
    (dir, path, uri)
}

fn chat_fixture() -> http_fixture::Fixture {
    http_fixture::serve(|_, _| http_fixture::json_reply(200, &http_fixture::chat(ANSWER, true)))
}

/// The summary once the document is analysed (the analysis follows the edit's didChange).
async fn ready(c: &mut Client, uri: &str) -> Value {
    for _ in 0..500 {
        let s = c
            .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
            .await;
        if s["result"]["status"] != "no-trace" && s["result"]["status"] != "pending" {
            return s["result"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the document was never analysed");
}

async fn draft(c: &mut Client, uri: &str, line: u32, character: u32, prompt: &str) -> Value {
    c.request(
        "workspace/executeCommand",
        json!({"command": "hedge.draft", "arguments": [uri, {"line": line, "character": character}, prompt]}),
    )
    .await
}

#[tokio::test]
async fn the_answer_is_inserted_and_highlighted_at_once() {
    let (dir, path, uri) = setup();
    let server = chat_fixture();
    let mut c = Client::start(None);
    c.apply_edits = true;
    let init = c
        .initialize(
            json!({"window": {"workDoneProgress": true}}),
            json!({"draft": {"endpoint": format!("{}/v1", server.base), "model": "m", "seed": 7, "maxTokens": 64}}),
        )
        .await;
    let commands = &init["result"]["capabilities"]["executeCommandProvider"]["commands"];
    assert!(
        commands.as_array().unwrap().contains(&json!("hedge.draft")),
        "{commands}"
    );
    c.open(&uri, DOC).await;
    c.diagnostics_for_version(&uri, 1).await;

    let r = draft(&mut c, &uri, 3, 0, "Who won the Nobel Prize in 1903?").await;
    let sidecar = dir.path().join("notes.md.logprobs.json");
    let tokens = http_fixture::tokenize(ANSWER).len();
    assert_eq!(
        r["result"],
        json!({"sidecar": sidecar.display().to_string(), "tokens": tokens, "finishReason": "stop"}),
        "{r}"
    );
    // What was asked.
    let reqs = server.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    assert_eq!(
        reqs[0].body,
        json!({"messages": [{"role": "user", "content": "Who won the Nobel Prize in 1903?"}],
               "logprobs": true, "top_logprobs": 20, "model": "m", "max_tokens": 64, "seed": 7})
    );
    // The edit the editor was asked to apply: the answer at the cursor.
    let (_, edit) = c
        .server_requests
        .iter()
        .find(|(m, _)| m == "workspace/applyEdit")
        .unwrap();
    assert_eq!(
        edit["edit"],
        json!({"changes": {uri.clone(): [{"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}, "newText": ANSWER}]}})
    );
    // The sidecar is the response as received; the document on disk is untouched (the editor
    // holds the new text until the user saves).
    assert_eq!(
        std::fs::read(&sidecar).unwrap(),
        serde_json::to_vec(&http_fixture::chat(ANSWER, true)).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), DOC);

    // The edited version is analysed with the new sidecar, and its findings published.
    let s = ready(&mut c, &uri).await;
    assert_eq!(s["status"], "ready", "{s}");
    assert_eq!(s["version"], 2);
    assert_eq!(s["tokens"], tokens);
    assert_eq!(s["alignedTokens"], tokens);
    let findings = s["findings"].as_u64().unwrap();
    assert!(findings > 0, "{s}");
    let d = c
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["version"] == 2 && p["diagnostics"].as_array().unwrap().len() as u64 == findings
        })
        .await;
    for diag in d["diagnostics"].as_array().unwrap() {
        assert_eq!(diag["range"]["start"]["line"], 3, "{diag}");
    }
    let doc = c.state.docs.get(&uri.parse().unwrap()).unwrap().text();
    assert_eq!(doc, format!("{DOC}{ANSWER}"));

    // A second draft into the same document would need a second sidecar: refused, nothing sent.
    let r = draft(&mut c, &uri, 0, 0, "Again").await;
    assert_eq!(
        r["error"]["message"],
        format!(
            "hedge: {}: the document already has a trace; hedge does not overwrite files",
            sidecar.display()
        )
    );
    assert_eq!(r["error"]["code"], -32803);
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn without_a_user_endpoint_nothing_is_sent() {
    let (dir, _path, uri) = setup();
    let server = chat_fixture();
    let mut c = Client::start(None);
    c.apply_edits = true;
    // A workspace cannot name the endpoint.
    c.configuration = json!({"draft": {"endpoint": server.base}});
    c.initialize(json!({"workspace": {"configuration": true}}), Value::Null)
        .await;
    let m = c.wait_for("window/showMessage", |_| true).await;
    assert_eq!(
        m["message"],
        "hedge: `draft` from workspace settings is ignored: a drafting endpoint is taken only from user settings"
    );
    c.open(&uri, DOC).await;
    let r = draft(&mut c, &uri, 0, 0, "Hello").await;
    assert_eq!(
        r["error"]["message"],
        "hedge: no drafting endpoint is configured: set `draft` ({\"endpoint\": \"http://127.0.0.1:8080/v1\"}) in the user settings of hedge (initializationOptions)"
    );
    assert_eq!(server.count(), 0);
    assert!(!dir.path().join("notes.md.logprobs.json").exists());

    // Bad arguments.
    let r = c
        .request(
            "workspace/executeCommand",
            json!({"command": "hedge.draft", "arguments": [uri]}),
        )
        .await;
    assert_eq!(
        r["error"]["message"],
        "expected [uri, position, prompt]: the second argument must be a position {\"line\", \"character\"}"
    );
}

#[tokio::test]
async fn failures_leave_no_file_and_no_edit() {
    let (dir, _path, uri) = setup();
    // A server that answers without logprobs.
    let server = http_fixture::serve(|_, _| {
        http_fixture::json_reply(200, &http_fixture::chat(ANSWER, false))
    });
    let mut c = Client::start(None);
    c.apply_edits = true;
    c.initialize(
        json!({}),
        json!({"draft": {"endpoint": server.base, "timeout": 5}}),
    )
    .await;
    c.open(&uri, DOC).await;
    let r = draft(&mut c, &uri, 0, 0, "Hello").await;
    assert_eq!(
        r["error"]["message"],
        format!("hedge: drafting failed: the server at {}/v1/chat/completions answered without logprobs; this model or server cannot draft with logprobs", server.base)
    );
    assert!(!dir.path().join("notes.md.logprobs.json").exists());
    assert!(!c
        .server_requests
        .iter()
        .any(|(m, _)| m == "workspace/applyEdit"));

    // An editor that does not apply the edit: the sidecar written for it is removed again.
    let server = chat_fixture();
    let mut c = Client::start(None);
    c.initialize(json!({}), json!({"draft": {"endpoint": server.base}}))
        .await;
    c.open(&uri, DOC).await;
    let r = draft(&mut c, &uri, 0, 0, "Hello").await;
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("hedge: the editor did not insert the draft ("),
        "{msg}"
    );
    assert!(!dir.path().join("notes.md.logprobs.json").exists());

    // A document without a file name.
    let r = {
        c.open("untitled:Untitled-1", "x").await;
        draft(&mut c, "untitled:Untitled-1", 0, 0, "Hello").await
    };
    assert_eq!(
        r["error"]["message"],
        "hedge: the document has no file name; save it first (its logprobs are kept beside it)"
    );
}

/// The real thing: llama-server with SmolLM2-135M-Instruct drafts into the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_with_llama_server() {
    let Some((py, model)) = llama_server::python_and_model() else {
        return;
    };
    let (dir, path, uri) = setup();
    let server = llama_server::start_server(&py, &model, dir.path());
    let mut c = Client::start(None);
    c.apply_edits = true;
    c.initialize(
        json!({}),
        json!({"draft": {"endpoint": format!("{}/v1", server.base), "seed": 42, "temperature": 0, "maxTokens": 60,
                          "system": "You are a concise assistant.", "timeout": 120}}),
    )
    .await;
    c.open(&uri, DOC).await;
    c.diagnostics_for_version(&uri, 1).await;
    let r = draft(&mut c, &uri, 3, 0, "Write two sentences about Marie Curie.").await;
    assert!(
        r["error"].is_null(),
        "{r}\n{}",
        llama_server::tail(&server.log)
    );
    let tokens = r["result"]["tokens"].as_u64().unwrap();
    assert!((5..=60).contains(&tokens), "{r}");
    let side = dir.path().join("notes.md.logprobs.json");
    let raw: Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    let answer = raw["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let text = c.state.docs.get(&uri.parse().unwrap()).unwrap().text();
    assert_eq!(text, format!("{DOC}{answer}"));

    let s = ready(&mut c, &uri).await;
    assert_eq!(s["status"], "ready", "{s}");
    assert_eq!(s["tokens"], tokens);
    assert_eq!(s["alignedTokens"], tokens);
    let findings = s["findings"].as_u64().unwrap() as usize;
    let d = c
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["version"] == 2 && p["diagnostics"].as_array().unwrap().len() == findings
        })
        .await;
    // Every diagnostic lies inside the inserted answer (line 3 on), none on the notes before it.
    for diag in d["diagnostics"].as_array().unwrap() {
        assert!(
            diag["range"]["start"]["line"].as_u64().unwrap() >= 3,
            "{diag}"
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), DOC);
    drop(server);
}
