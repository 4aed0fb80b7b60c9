//! An in-process LSP client: the real server over a duplex pipe, framed as on stdio.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf,
};

use hedge::server::dismissals::Dismissals;
use hedge::server::state::State;

pub struct Client {
    reader: BufReader<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    pub notifications: VecDeque<Value>,
    /// What to answer `workspace/configuration` with.
    pub configuration: Value,
    pub state: Arc<State>,
    /// Every request the server sent us (method, params).
    pub server_requests: Vec<(String, Value)>,
    /// Apply `workspace/applyEdit` as an editor does (a didChange with the next version, then
    /// `applied: true`); otherwise it is answered with `null`.
    pub apply_edits: bool,
    /// The version of each open document as this client last sent it.
    pub versions: std::collections::HashMap<String, i64>,
}

impl Client {
    pub fn start(dismissal_file: Option<std::path::PathBuf>) -> Client {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(server_side);
        let (service, socket, state) = hedge::server::service(Dismissals::load(dismissal_file));
        let served = state.clone();
        tokio::spawn(async move { hedge::server::serve(sr, sw, service, socket, &served).await });
        let (cr, cw) = tokio::io::split(client_side);
        Client {
            reader: BufReader::new(cr),
            writer: cw,
            next_id: 1,
            notifications: VecDeque::new(),
            configuration: Value::Null,
            state,
            server_requests: Vec::new(),
            apply_edits: false,
            versions: std::collections::HashMap::new(),
        }
    }

    async fn send(&mut self, msg: &Value) {
        let body = serde_json::to_vec(msg).unwrap();
        let head = format!("Content-Length: {}\r\n\r\n", body.len());
        self.writer.write_all(head.as_bytes()).await.unwrap();
        self.writer.write_all(&body).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let body = self.recv_body().await;
        serde_json::from_slice(&body).unwrap()
    }

    async fn recv_body(&mut self) -> Vec<u8> {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse().unwrap();
            }
        }
        assert!(len > 0, "a message without Content-Length");
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).await.unwrap();
        body
    }

    /// Handle one incoming message: answer server requests, queue notifications; return
    /// responses.
    async fn pump(&mut self) -> Option<Value> {
        let msg = self.recv().await;
        self.handle(msg).await
    }

    async fn handle(&mut self, msg: Value) -> Option<Value> {
        if msg.get("method").is_some() && msg.get("id").is_some() {
            let method = msg["method"].as_str().unwrap().to_string();
            self.server_requests
                .push((method.clone(), msg["params"].clone()));
            let result = match method.as_str() {
                "workspace/configuration" => json!([self.configuration.clone()]),
                "workspace/applyEdit" if self.apply_edits => {
                    self.apply_edit(&msg["params"]["edit"]).await;
                    json!({"applied": true})
                }
                _ => Value::Null,
            };
            let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
            self.send(&reply).await;
            None
        } else if msg.get("method").is_some() {
            self.notifications.push_back(msg);
            None
        } else {
            Some(msg)
        }
    }

    /// Send the changes of a workspace edit as didChange notifications, one per document.
    async fn apply_edit(&mut self, edit: &Value) {
        let changes = edit["changes"].as_object().cloned().unwrap_or_default();
        for (uri, edits) in changes {
            let version = self.versions.get(&uri).copied().unwrap_or(0) + 1;
            self.versions.insert(uri.clone(), version);
            let mut edits = edits.as_array().cloned().unwrap_or_default();
            // Last first, so earlier positions stay valid.
            edits.reverse();
            let content: Vec<Value> = edits
                .iter()
                .map(|e| json!({"range": e["range"], "text": e["newText"]}))
                .collect();
            self.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": content}),
            )
            .await;
        }
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let fut = async {
            loop {
                if let Some(resp) = self.pump().await {
                    if resp["id"] == json!(id) {
                        return resp;
                    }
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("response in time")
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Wait for a notification with this method (and matching `pred`), keeping others queued.
    pub async fn wait_for(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let fut = async {
            loop {
                if let Some(i) = self
                    .notifications
                    .iter()
                    .position(|n| n["method"] == method && pred(&n["params"]))
                {
                    return self.notifications.remove(i).unwrap()["params"].take();
                }
                let _ = self.pump().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("notification in time")
    }

    pub async fn diagnostics_for_version(&mut self, uri: &str, version: i64) -> Value {
        self.wait_for("textDocument/publishDiagnostics", |p| {
            p["uri"] == uri && p["version"] == version
        })
        .await
    }

    /// Wait for the publication of `version` of `uri` and return how many diagnostics it has,
    /// checking it is JSON but building nothing of its diagnostics (for timing: what an
    /// editor does with them is not the server's latency). Other messages are handled as
    /// usual.
    pub async fn await_publication(&mut self, uri: &str, version: i64) -> usize {
        #[derive(serde::Deserialize)]
        struct Peek {
            method: Option<String>,
            params: Option<PeekParams>,
        }
        #[derive(serde::Deserialize)]
        struct PeekParams {
            uri: String,
            version: Option<i64>,
            diagnostics: Vec<serde::de::IgnoredAny>,
        }
        let fut = async {
            loop {
                let body = self.recv_body().await;
                if let Ok(Peek {
                    method: Some(m),
                    params: Some(p),
                }) = serde_json::from_slice::<Peek>(&body)
                {
                    if m == "textDocument/publishDiagnostics"
                        && p.uri == uri
                        && p.version == Some(version)
                    {
                        return p.diagnostics.len();
                    }
                }
                let msg = serde_json::from_slice(&body).unwrap();
                let _ = self.handle(msg).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("publication in time")
    }

    pub async fn initialize(&mut self, capabilities: Value, options: Value) -> Value {
        let r = self
            .request(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": options}),
            )
            .await;
        self.notify("initialized", json!({})).await;
        r
    }

    pub async fn open(&mut self, uri: &str, text: &str) {
        self.versions.insert(uri.to_string(), 1);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}}),
        )
        .await;
    }
}

pub fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// A temporary folder holding copies of the named fixture documents and their sidecars.
pub fn workspace(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs");
    for n in names {
        std::fs::copy(src.join(n), dir.path().join(n)).unwrap();
    }
    dir
}
