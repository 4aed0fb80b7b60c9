//! The language server's message layer under random JSON-RPC: random frames (garbage bodies,
//! wrong envelopes), random methods with random params, and well-formed editor traffic with
//! random positions and texts. Whatever came before, the server answers the next request.

use std::time::Duration;

use arbitrary::Arbitrary;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::checks::{spell, uri};

/// A JSON value the fuzzer builds.
#[derive(Arbitrary, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Words(Vec<u8>),
    Array(Vec<Json>),
    Object(Vec<(Key, Json)>),
}

/// Object keys, mostly ones the protocol uses.
#[derive(Arbitrary, Debug)]
pub enum Key {
    Known(u8),
    Other(String),
}

const KEYS: [&str; 16] = [
    "textDocument",
    "uri",
    "text",
    "version",
    "position",
    "line",
    "character",
    "range",
    "start",
    "end",
    "contentChanges",
    "languageId",
    "context",
    "diagnostics",
    "settings",
    "hedge",
];

impl Json {
    pub fn value(&self, depth: usize) -> Value {
        if depth > 8 {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => json!(b),
            Json::Int(i) => json!(i),
            Json::Float(f) => json!(f),
            Json::Str(s) => json!(s),
            Json::Words(w) => json!(spell(w)),
            Json::Array(a) => Value::Array(a.iter().map(|j| j.value(depth + 1)).collect()),
            Json::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let k = match k {
                            Key::Known(i) => KEYS[*i as usize % KEYS.len()].to_string(),
                            Key::Other(s) => s.clone(),
                        };
                        (k, v.value(depth + 1))
                    })
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// Methods a client sends (not `exit`, which ends the session by design).
const METHODS: [&str; 18] = [
    "initialize",
    "shutdown",
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "textDocument/didSave",
    "textDocument/hover",
    "textDocument/codeAction",
    "textDocument/semanticTokens/full",
    "textDocument/semanticTokens/range",
    "textDocument/diagnostic",
    "workspace/didChangeConfiguration",
    "workspace/didChangeWatchedFiles",
    "workspace/executeCommand",
    "hedge/summary",
    "$/cancelRequest",
    "$/setTrace",
    "no/such/method",
];

/// One message of the session.
#[derive(Arbitrary, Debug)]
pub enum Msg {
    /// A body of raw bytes, framed with its true length.
    Raw(Vec<u8>),
    /// A method with arbitrary params, as a request (with id) or a notification.
    Call {
        method: u8,
        id: Option<i32>,
        params: Json,
    },
    Open {
        doc: u8,
        words: Vec<u8>,
        version: i32,
    },
    Change {
        doc: u8,
        version: i32,
        changes: Vec<(u16, u16, u16, u16, Vec<u8>)>,
        full: Option<Vec<u8>>,
    },
    Hover {
        doc: u8,
        line: u16,
        character: u16,
    },
    Tokens {
        doc: u8,
        range: Option<(u16, u16, u16, u16)>,
    },
    Actions {
        doc: u8,
        range: (u16, u16, u16, u16),
    },
    Close {
        doc: u8,
    },
    Command {
        name: u8,
        args: Json,
    },
}

fn range(r: (u16, u16, u16, u16)) -> Value {
    json!({"start": {"line": r.0 % 64, "character": r.1}, "end": {"line": r.2 % 64, "character": r.3}})
}

fn doc_id(d: u8) -> Value {
    json!({"uri": uri(d).as_str()})
}

impl Msg {
    pub fn body(&self, n: i64) -> Vec<u8> {
        let v = match self {
            Msg::Raw(b) => return b.clone(),
            Msg::Call { method, id, params } => {
                let mut m = json!({"jsonrpc": "2.0", "method": METHODS[*method as usize % METHODS.len()], "params": params.value(0)});
                if let Some(id) = id {
                    m["id"] = json!(id);
                }
                m
            }
            Msg::Open {
                doc,
                words,
                version,
            } => {
                json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri(*doc).as_str(), "languageId": "markdown", "version": version, "text": spell(words)}}})
            }
            Msg::Change {
                doc,
                version,
                changes,
                full,
            } => {
                let mut list: Vec<Value> = changes
                    .iter()
                    .take(16)
                    .map(|&(a, b, c, d, ref w)| json!({"range": range((a, b, c, d)), "text": spell(w)}))
                    .collect();
                if let Some(f) = full {
                    list.push(json!({"text": spell(f)}));
                }
                json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                    "textDocument": {"uri": uri(*doc).as_str(), "version": version}, "contentChanges": list}})
            }
            Msg::Hover {
                doc,
                line,
                character,
            } => json!({"jsonrpc": "2.0", "id": n, "method": "textDocument/hover", "params": {
                "textDocument": doc_id(*doc), "position": {"line": line % 64, "character": character}}}),
            Msg::Tokens { doc, range: None } => json!({"jsonrpc": "2.0", "id": n,
                "method": "textDocument/semanticTokens/full", "params": {"textDocument": doc_id(*doc)}}),
            Msg::Tokens {
                doc,
                range: Some(r),
            } => json!({"jsonrpc": "2.0", "id": n, "method": "textDocument/semanticTokens/range",
                "params": {"textDocument": doc_id(*doc), "range": range(*r)}}),
            Msg::Actions { doc, range: r } => json!({"jsonrpc": "2.0", "id": n,
                "method": "textDocument/codeAction", "params": {"textDocument": doc_id(*doc),
                "range": range(*r), "context": {"diagnostics": []}}}),
            Msg::Close { doc } => json!({"jsonrpc": "2.0", "method": "textDocument/didClose",
                "params": {"textDocument": doc_id(*doc)}}),
            Msg::Command { name, args } => {
                let cmd = [
                    "hedge.dismiss",
                    "hedge.dismissAll",
                    "hedge.reanalyse",
                    "nope",
                ][*name as usize % 4];
                json!({"jsonrpc": "2.0", "id": n, "method": "workspace/executeCommand",
                    "params": {"command": cmd, "arguments": [args.value(0)]}})
            }
        };
        serde_json::to_vec(&v).expect("JSON")
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Run one session: initialize, the messages, then `hedge/summary`, which must be answered
/// within 10 s. Dismissals are kept in memory only (no state file is written).
pub fn session(msgs: &[Msg]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 22);
        let (sr, sw) = tokio::io::split(server);
        let (service, socket, state) =
            hedge::server::service(hedge::server::dismissals::Dismissals::load(None));
        tokio::spawn(async move { hedge::server::serve(sr, sw, service, socket, &state).await });
        let (cr, mut cw) = tokio::io::split(client);
        // Read everything the server sends until the answer to the last request.
        const LAST: i64 = 1_000_000;
        let reader = tokio::spawn(async move {
            let mut r = BufReader::new(cr);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.ok()? == 0 {
                        return None;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse().expect("the server frames its messages");
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).await.ok()?;
                let v: Value = serde_json::from_slice(&body).expect("the server sends JSON");
                assert_eq!(v["jsonrpc"], "2.0");
                if v["id"] == json!(LAST) && v.get("method").is_none() {
                    return Some(v);
                }
            }
        });
        let mut out = frame(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}"#,
        );
        out.extend(frame(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#));
        for (i, m) in msgs.iter().take(64).enumerate() {
            out.extend(frame(&m.body(i as i64 + 1)));
        }
        out.extend(frame(
            format!(r#"{{"jsonrpc":"2.0","id":{LAST},"method":"hedge/summary","params":{{"textDocument":{{"uri":"file:///fuzz/a.md"}}}}}}"#)
                .as_bytes(),
        ));
        cw.write_all(&out).await.expect("the server reads");
        cw.flush().await.expect("flush");
        let answer = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the server answers the next request within 10 s")
            .expect("the reader ran");
        let answer = answer.expect("the server answers the next request");
        assert!(
            answer.get("result").is_some() || answer.get("error").is_some(),
            "{answer}"
        );
    });
    rt.shutdown_background();
}
