//! Language-server latency on a large document, in process (run: `cargo bench --bench lsp_latency`).
//!
//! Input: `bench/out/doc.md` and its sidecar, made by `python3 bench/make_trace.py` (≈1 MB
//! document, 250,000 tokens; `--top 20` for 20 alternatives each). Reports:
//! first open → first diagnostics, the sidecar parse rate that implies, re-open of the unchanged
//! sidecar → diagnostics, single-character edit → updated diagnostics (p50/p99 over 200 edits,
//! each until its whole publication has arrived and been checked to be JSON of that version),
//! and the process's peak memory, and the CPU time the edits cost (steadier than wall time on
//! a busy machine). Then, over stdio as an editor runs them: `hedge lsp` and, when it is
//! installed (`cargo install harper-ls`, or `HEDGE_BENCH_HARPER=/path/to/harper-ls`), harper-ls
//! (with its `maxFileLength` raised so that it checks a 1 MB document), each timed from didOpen
//! of the same document to its first diagnostics.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

/// A language server run as a child process, spoken to over stdio.
struct StdioServer {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl StdioServer {
    fn start(cmd: &str, args: &[&str]) -> Option<StdioServer> {
        let mut child = Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let out = BufReader::new(child.stdout.take()?);
        Some(StdioServer { child, out })
    }

    fn send(&mut self, msg: &Value) {
        let body = serde_json::to_vec(msg).unwrap();
        let stdin = self.child.stdin.as_mut().unwrap();
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        stdin.write_all(&body).unwrap();
        stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        let mut len = 0;
        loop {
            let mut line = String::new();
            if self.out.read_line(&mut line).unwrap() == 0 {
                panic!("the server closed its output");
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.out.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// didOpen → the first publishDiagnostics for the document, in seconds, and how many.
    /// `configuration` answers `workspace/configuration`.
    fn open_to_diagnostics(
        &mut self,
        uri: &str,
        text: &str,
        configuration: &Value,
    ) -> (f64, usize) {
        self.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": null, "rootUri": null, "capabilities": {}}}));
        while self.recv().get("id") != Some(&json!(1)) {}
        self.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
        let t = Instant::now();
        self.send(
            &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params":
            {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}}}),
        );
        loop {
            let m = self.recv();
            if let Some(id) = m.get("id").filter(|_| m.get("method").is_some()) {
                // A request from the server (configuration, progress): answer it.
                let result = match m["method"].as_str() {
                    Some("workspace/configuration") => configuration.clone(),
                    _ => Value::Null,
                };
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
                continue;
            }
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                let n = m["params"]["diagnostics"].as_array().map_or(0, Vec::len);
                return (t.elapsed().as_secs_f64(), n);
            }
        }
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(name: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).is_file())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::var("HEDGE_BENCH_DIR").unwrap_or_else(|_| "bench/out".into());
    let doc_path = std::fs::canonicalize(format!("{dir}/doc.md")).unwrap_or_else(|_| {
        panic!("{dir}/doc.md is missing: run `python3 bench/make_trace.py` first")
    });
    let sidecar = format!("{}.logprobs.json", doc_path.display());
    let sidecar_bytes = std::fs::metadata(&sidecar).map(|m| m.len()).unwrap_or(0);
    let text = std::fs::read_to_string(&doc_path).unwrap();
    let uri = format!("file://{}", doc_path.display());

    // HEDGE_BENCH_MAX_DIAGNOSTICS=N sets the server's maxDiagnostics (0: every finding).
    let options = match std::env::var("HEDGE_BENCH_MAX_DIAGNOSTICS") {
        Ok(n) => json!({"maxDiagnostics": n.parse::<u64>().expect("a number")}),
        Err(_) => Value::Null,
    };
    let mut c = common::Client::start(None);
    c.initialize(json!({}), options).await;
    let t = Instant::now();
    c.open(&uri, &text).await;
    let first = c.diagnostics_for_version(&uri, 1).await;
    let open_s = t.elapsed().as_secs_f64();
    let n = first["diagnostics"].as_array().map(Vec::len).unwrap_or(0);

    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    )
    .await;
    let t = Instant::now();
    c.open(&uri, &text).await;
    c.diagnostics_for_version(&uri, 1).await;
    let reopen_s = t.elapsed().as_secs_f64();

    // Single-character edits at the end of the first line; each waits for its own publication.
    let first_line_len = text
        .lines()
        .next()
        .map(|l| l.encode_utf16().count())
        .unwrap_or(0) as u32;
    let mut lat = Vec::new();
    let cpu_before = support::cpu_s();
    for v in 2..202i64 {
        let col = first_line_len + (v - 2) as u32;
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": col}, "end": {"line": 0, "character": col}}, "text": "x"}]}),
        )
        .await;
        c.await_publication(&uri, v).await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let edit_cpu_ms = (support::cpu_s() - cpu_before) * 1000.0 / 200.0;
    lat.sort_by(f64::total_cmp);
    println!(
        "document {} bytes, sidecar {} bytes, {} diagnostics",
        text.len(),
        sidecar_bytes,
        n
    );
    println!(
        "first open -> diagnostics: {:.3} s ({:.0} MB/s of sidecar JSON)",
        open_s,
        sidecar_bytes as f64 / 1e6 / open_s
    );
    println!(
        "re-open (unchanged sidecar) -> diagnostics: {:.1} ms",
        reopen_s * 1000.0
    );
    println!(
        "single-character edit -> diagnostics: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (200 edits)",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    println!("CPU per edit (server and client together): {edit_cpu_ms:.2} ms");
    println!("peak RSS: {:.0} MiB", support::peak_rss_mib());

    // The same open over stdio, as an editor runs each server.
    drop(c);
    let hedge = env!("CARGO_BIN_EXE_hedge");
    let mut s = StdioServer::start(hedge, &["lsp"]).expect("hedge lsp starts");
    let (hedge_s, hedge_n) = s.open_to_diagnostics(&uri, &text, &Value::Null);
    drop(s);
    println!("hedge lsp over stdio: open -> diagnostics {hedge_s:.3} s ({hedge_n} diagnostics)");
    let harper = std::env::var("HEDGE_BENCH_HARPER")
        .ok()
        .or_else(|| on_path("harper-ls"));
    match harper
        .as_deref()
        .and_then(|h| StdioServer::start(h, &["--stdio"]))
    {
        Some(mut s) => {
            // harper-ls skips documents over 120,000 bytes unless told otherwise, and then
            // publishes no diagnostics at once: lift the limit so that it checks this one.
            let settings = json!([{"harper-ls": {"maxFileLength": 1u64 << 40}}]);
            let (harper_s, harper_n) = s.open_to_diagnostics(&uri, &text, &settings);
            println!(
                "harper-ls over stdio: open -> diagnostics {harper_s:.3} s ({harper_n} diagnostics); hedge/harper-ls time ratio {:.2}",
                hedge_s / harper_s
            );
        }
        None => {
            println!("harper-ls not found (cargo install harper-ls, or set HEDGE_BENCH_HARPER)")
        }
    }
}
