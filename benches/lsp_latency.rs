//! Language-server latency on a large document, in process (run: `cargo bench --bench lsp_latency`).
//!
//! Input: `bench/out/doc.md` and its sidecar, made by `python3 bench/make_trace.py` (≈1 MB
//! document, 250,000 tokens; `--top 20` for 20 alternatives each). Reports:
//! first open → first diagnostics, the sidecar parse rate that implies, re-open of the unchanged
//! sidecar → diagnostics, single-character edit → updated diagnostics (p50/p99 over 200 edits),
//! and the process's peak memory.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use serde_json::{json, Value};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
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

    let mut c = common::Client::start(None);
    c.initialize(json!({}), Value::Null).await;
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
    for v in 2..202i64 {
        let col = first_line_len + (v - 2) as u32;
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": col}, "end": {"line": 0, "character": col}}, "text": "x"}]}),
        )
        .await;
        c.diagnostics_for_version(&uri, v).await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
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
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
