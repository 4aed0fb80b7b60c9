//! The language server in-process, driven as an editor drives it: open → diagnostics, hover,
//! heatmap, code actions, settings, bad sidecars, edits.

mod common;

use common::{file_uri, workspace, Client};
use serde_json::{json, Value};

async fn opened(
    name: &str,
    caps: Value,
    options: Value,
) -> (tempfile::TempDir, Client, String, String) {
    let ws = workspace(&[name, &format!("{name}.logprobs.json")]);
    let mut c = Client::start(Some(ws.path().join("state/dismissed.json")));
    c.initialize(caps, options).await;
    let path = ws.path().join(name);
    let uri = file_uri(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    c.open(&uri, &text).await;
    (ws, c, uri, text)
}

fn range(sl: u32, sc: u32, el: u32, ec: u32) -> Value {
    json!({"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}})
}

#[tokio::test]
async fn open_publishes_diagnostics_for_the_version() {
    let (_ws, mut c, uri, _) = opened("curie.md", json!({}), Value::Null).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    assert_eq!(
        d,
        json!({
            "uri": uri,
            "version": 1,
            "diagnostics": [
                {
                    "range": range(4, 34, 4, 38),
                    "severity": 2,
                    "code": "low-probability",
                    "source": "hedge",
                    "message": "\"1867\": 3% likely as written; weakest token \"67\" at 3%; the model preferred \"1868\" (41%); entropy 3.0–8.2 bits",
                    "data": {"kind": "number", "text": "1867", "joint_logprob": -3.611918412977808, "min_p": 0.029999999999999995,
                             "alternatives": [{"text": "68", "p": 0.41}, {"text": "57", "p": 0.2}]}
                },
                {
                    "range": range(4, 83, 4, 107),
                    "severity": 2,
                    "code": "uncertain-citation",
                    "source": "hedge",
                    "message": "\"(Becquerel et al., 1903)\": 8% likely as written; weakest token \"Bec\" at 20%; the model preferred \"Cur…\" (30%); entropy 2.4–8.2 bits",
                    "data": {"kind": "citation", "text": "(Becquerel et al., 1903)", "joint_logprob": -2.4664960907340743, "min_p": 0.2,
                             "alternatives": [{"text": "Cur", "p": 0.3}, {"text": "Pier", "p": 0.15}]}
                }
            ]
        })
    );
}

#[tokio::test]
async fn hover_explains_the_tokens() {
    let (_ws, mut c, uri, _) = opened("curie.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 36}}),
        )
        .await;
    assert_eq!(
        h["result"],
        json!({
            "contents": {"kind": "markdown", "value":
                "The model gave **1867** 3% and preferred “1868” (41%).\n\n\
                 Its weakest token is less likely than 97% of this document's tokens (a rank within \
                 the document, not a chance of being wrong: hedge has no calibration for this model).\n\n\
                 | token | p | surprisal (bits) | entropy (bits) | rank |\n|---|---|---|---|---|\n\
                 | `␣18` | 90% | 0.15 | 0.47–2.27 | 1 |\n\
                 | `67` | 3% | 5.06 | 2.96–8.15 | 3 |\n\n\
                 Alternatives at `67`: `68` 41% · `57` 20%\n\n\
                 Joint probability of the span: 3% (ln p -3.61) · sentence perplexity 1.56\n"},
            "range": range(4, 34, 4, 38)
        })
    );
    // A plain word: its own token.
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 25}}),
        )
        .await;
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        md.starts_with("The model gave **Warsaw** 80%; its next choice was “Paris” (10%)."),
        "{md}"
    );
    // Outside the model's text: nothing.
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
        )
        .await;
    assert_eq!(h["result"], Value::Null);
}

#[tokio::test]
async fn crlf_cjk_emoji_ranges_in_utf16_and_utf8() {
    let (_ws, mut c, uri, _) = opened("review.md", json!({}), Value::Null).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    let ranges: Vec<(&str, &Value)> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["data"]["text"].as_str().unwrap(), &d["range"]))
        .collect();
    assert_eq!(ranges, vec![("2008", &range(1, 20, 1, 24))]);

    let caps = json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}});
    let (_ws, mut c, uri, _) = opened("review.md", caps, Value::Null).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    assert_eq!(d["diagnostics"][0]["range"], range(1, 20, 1, 24));
    // On line 0, 日 starts at UTF-8 unit 12 (Über is 5 bytes) and UTF-16 unit 11.
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 13}}),
        )
        .await;
    assert_eq!(h["result"]["range"], range(0, 12, 0, 15), "{h}");
    let (_ws, mut c, uri, _) = opened("review.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 11}}),
        )
        .await;
    assert_eq!(h["result"]["range"], range(0, 11, 0, 12), "{h}");
}

#[tokio::test]
async fn quick_fix_replaces_a_word_and_dismissals_persist() {
    let (ws, mut c, uri, text) = opened("review.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    let r = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(1, 21, 1, 21), "context": {"diagnostics": []}}),
        )
        .await;
    let titles: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Replace “2008” with the model's “2012” (41%)",
            "Replace “2008” with the model's “2010” (20%)",
            "Dismiss this hedge finding (low-probability)",
            "Dismiss all hedge findings in this file",
        ]
    );
    assert_eq!(
        r["result"][0]["edit"],
        json!({"changes": {uri.clone(): [{"range": range(1, 20, 1, 24), "newText": "2012"}]}})
    );
    let dismiss = r["result"][2]["command"].clone();
    assert_eq!(dismiss["command"], "hedge.dismiss");
    let resp = c
        .request(
            "workspace/executeCommand",
            json!({"command": dismiss["command"], "arguments": dismiss["arguments"]}),
        )
        .await;
    assert_eq!(resp["result"], Value::Null);
    let d = c
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["diagnostics"] == json!([])
        })
        .await;
    assert_eq!(d["version"], 1);
    // The document is untouched; the dismissal is in the state file and survives a restart.
    assert_eq!(
        std::fs::read_to_string(ws.path().join("review.md")).unwrap(),
        text
    );
    let saved = std::fs::read_to_string(ws.path().join("state/dismissed.json")).unwrap();
    assert!(
        saved.contains("\"low-probability\"") && saved.contains("\"2008\""),
        "{saved}"
    );
    let mut again = Client::start(Some(ws.path().join("state/dismissed.json")));
    again.initialize(json!({}), Value::Null).await;
    again.open(&uri, &text).await;
    assert_eq!(
        again.diagnostics_for_version(&uri, 1).await["diagnostics"],
        json!([])
    );
}

#[tokio::test]
async fn heatmap_follows_the_setting() {
    let (_ws, mut c, uri, _) = opened("review.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    let off = c
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(off["result"], json!({"data": []}));
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"hedge": {"heatmap": true}}}),
    )
    .await;
    c.diagnostics_for_version(&uri, 1).await;
    let on = c
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let data = on["result"]["data"].as_array().unwrap();
    // 5-tuples: Über, blick, :, 日本, 💙 on line 0 (UTF-16 lengths), then line 1.
    assert_eq!(
        data[..30]
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![
            0, 0, 4, 0, 0, 0, 4, 5, 0, 0, 0, 5, 1, 0, 0, 0, 2, 2, 0, 0, 0, 3, 2, 0, 0, 1, 0, 2, 0,
            0
        ]
    );
    // " 2008" (3%) is in the 1–10% bucket.
    let year = data
        .chunks(5)
        .position(|t| t[2] == 4 && t[3] == 2)
        .expect("a 4-unit token of type 2");
    assert_eq!(year, 9);
}

#[tokio::test]
async fn malformed_sidecar_gives_one_diagnostic_and_the_server_lives() {
    let ws = workspace(&["curie.md"]);
    std::fs::write(ws.path().join("curie.md.logprobs.json"), "{\"choices\": [").unwrap();
    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    let uri = file_uri(&ws.path().join("curie.md"));
    c.open(
        &uri,
        &std::fs::read_to_string(ws.path().join("curie.md")).unwrap(),
    )
    .await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    assert_eq!(
        d["diagnostics"],
        json!([{
            "range": range(0, 0, 0, 16),
            "severity": 2,
            "code": "trace-error",
            "source": "hedge",
            "message": "hedge: curie.md.logprobs.json: not valid JSON: EOF while parsing a list at line 1 column 13"
        }])
    );
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 36}}),
        )
        .await;
    assert_eq!(h["result"], Value::Null);
}

#[tokio::test]
async fn a_sidecar_that_appears_later_is_picked_up() {
    let ws = workspace(&["curie.md"]);
    let mut c = Client::start(None);
    c.initialize(
        json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}}),
        Value::Null,
    )
    .await;
    let path = ws.path().join("curie.md");
    let uri = file_uri(&path);
    c.open(&uri, &std::fs::read_to_string(&path).unwrap()).await;
    assert_eq!(
        c.diagnostics_for_version(&uri, 1).await["diagnostics"],
        json!([])
    );
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/docs/curie.md.logprobs.json");
    let sidecar = ws.path().join("curie.md.logprobs.json");
    std::fs::copy(src, &sidecar).unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&sidecar), "type": 1}]}),
    )
    .await;
    let d = c
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["diagnostics"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    assert_eq!(d["version"], 1);
    assert!(c
        .server_requests
        .iter()
        .any(|(m, p)| m == "client/registerCapability"
            && p["registrations"][0]["method"] == "workspace/didChangeWatchedFiles"));
}

#[tokio::test]
async fn edits_move_findings_and_drop_edited_ones_at_once() {
    let (_ws, mut c, uri, _) = opened("curie.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    // Insert two characters at the start of line 4: both findings move right.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": range(4, 0, 4, 0), "text": "> "}]}),
    )
    .await;
    let d = c.diagnostics_for_version(&uri, 2).await;
    let rs: Vec<&Value> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["range"])
        .collect();
    assert_eq!(rs, vec![&range(4, 36, 4, 40), &range(4, 85, 4, 109)]);
    // Change the year: its squiggle goes with the first publication after the edit.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"range": range(4, 38, 4, 40), "text": "68"}]}),
    )
    .await;
    let d = c.diagnostics_for_version(&uri, 3).await;
    let codes: Vec<&Value> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["code"])
        .collect();
    assert_eq!(codes, vec!["uncertain-citation"]);
    // After the pause the document is re-aligned: the edited token stays unplaced.
    let d = c.diagnostics_for_version(&uri, 3).await;
    let codes: Vec<&Value> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["code"])
        .collect();
    assert_eq!(codes, vec!["uncertain-citation"]);
}

#[tokio::test]
async fn thousand_edits_arrive_in_order() {
    let (_ws, mut c, uri, text) = opened("curie.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    let mut mirror = text.clone();
    let last_line = mirror.lines().count() as u32; // an empty last line after the final "\n"
    for v in 2..1002 {
        let ch = (b'a' + (v % 26) as u8) as char;
        mirror.push(ch);
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v},
                   "contentChanges": [{"range": range(last_line, (v - 2) as u32, last_line, (v - 2) as u32), "text": ch.to_string()}]}),
        )
        .await;
    }
    let d = c.diagnostics_for_version(&uri, 1001).await;
    assert_eq!(d["diagnostics"].as_array().unwrap().len(), 2);
    let uri_key: tower_lsp_server::ls_types::Uri = uri.parse().unwrap();
    let server_text = c.state.docs.get(&uri_key).unwrap().text();
    assert_eq!(server_text, mirror);
}

#[tokio::test]
async fn bad_settings_warn_and_keep_defaults() {
    let (_ws, mut c, uri, _) = opened("curie.md", json!({}), json!({"heatMap": true})).await;
    let m = c.wait_for("window/showMessage", |_| true).await;
    assert_eq!(
        m,
        json!({"type": 2, "message": "hedge: settings ignored, defaults kept: unknown setting `heatMap`"})
    );
    assert_eq!(
        c.diagnostics_for_version(&uri, 1).await["diagnostics"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn workspace_configuration_is_pulled() {
    let ws = workspace(&["curie.md", "curie.md.logprobs.json"]);
    let mut c = Client::start(None);
    c.configuration = json!({"disable": ["uncertain-citation"]});
    c.initialize(json!({"workspace": {"configuration": true}}), Value::Null)
        .await;
    let uri = file_uri(&ws.path().join("curie.md"));
    c.open(
        &uri,
        &std::fs::read_to_string(ws.path().join("curie.md")).unwrap(),
    )
    .await;
    let d = c
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["diagnostics"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(d["diagnostics"][0]["code"], "low-probability");
}

#[tokio::test]
async fn summary_for_a_status_bar() {
    let (_ws, mut c, uri, _) = opened("curie.md", json!({}), Value::Null).await;
    c.diagnostics_for_version(&uri, 1).await;
    let r = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(
        r["result"],
        json!({"status": "ready", "version": 1, "tokens": 36, "alignedTokens": 36,
               "perplexity": 1.2749576310315962, "meanSurprisalBits": 0.350449304718452, "findings": 2})
    );
}

#[tokio::test]
async fn a_saved_response_opened_in_the_editor() {
    let ws = workspace(&["response.json"]);
    let mut c = Client::start(None);
    c.initialize(json!({}), Value::Null).await;
    let path = ws.path().join("response.json");
    let uri = file_uri(&path);
    c.open(&uri, &std::fs::read_to_string(&path).unwrap()).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    let got: Vec<(&Value, &Value)> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (&d["code"], &d["range"]))
        .collect();
    assert_eq!(got, vec![(&json!("low-probability"), &range(9, 65, 9, 69))]);
}

#[tokio::test]
async fn more_findings_than_max_diagnostics_keeps_the_weakest_and_says_so() {
    let (_ws, mut c, uri, _) = opened("curie.md", json!({}), json!({"maxDiagnostics": 1})).await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    let shown: Vec<Value> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            json!([
                d["code"],
                d["severity"],
                d["range"],
                d["message"],
                d["data"]["text"]
            ])
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            json!(["diagnostics-limit", 3, range(0, 0, 0, 16),
                   "hedge: showing the 1 most severe and least likely of 2 findings (raise hedge.maxDiagnostics, 0 for all)",
                   null]),
            json!(["low-probability", 2, range(4, 34, 4, 38), d["diagnostics"][1]["message"], "1867"]),
        ]
    );
    // 0 shows every finding, without a note.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"hedge": {"maxDiagnostics": 0}}}),
    )
    .await;
    let d = c.diagnostics_for_version(&uri, 1).await;
    let codes: Vec<&Value> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["code"])
        .collect();
    assert_eq!(
        codes,
        [&json!("low-probability"), &json!("uncertain-citation")]
    );
}
