//! Faults beyond tests/http_faults.rs, against stand-ins on 127.0.0.1: a TLS handshake with a
//! plain-HTTP port, 429 without a body, the backoff between retries, 100 MB bodies with memory
//! bounded; and the language server scoring against each fault: one status diagnostic per
//! document version, no pop-ups, and requests still answered while a server hangs.

mod common;
mod http_fixture;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{file_uri, Client};
use hedge::source::http::{Endpoint, Scorer, ServerKind};
use http_fixture::scoring::{options, score};
use http_fixture::{json_reply, serve, Fixture, Reply};

fn scorer_with(base: &str, f: impl FnOnce(&mut hedge::source::http::ScoreOptions)) -> Scorer {
    let mut o = options(None);
    f(&mut o);
    Scorer::new(
        Endpoint::new(ServerKind::Vllm, base, None).unwrap(),
        None,
        o,
    )
    .unwrap()
}

/// A plain-HTTP server that answers anything, TLS hellos included, with a 400, as HTTP servers
/// do; counts its connections.
fn plain_http_port() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = n.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, n)
}

#[tokio::test]
async fn https_to_a_plain_http_port_fails_at_once() {
    let (port, connections) = plain_http_port();
    let s = scorer_with(&format!("https://127.0.0.1:{port}"), |_| {});
    let t = Instant::now();
    let e = score(&s, "Some text.").await.unwrap_err();
    assert_eq!(
        e.message,
        format!("cannot connect to https://127.0.0.1:{port}/v1/completions: received corrupt message of type InvalidContentType")
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn retries_back_off_and_stop() {
    // 429 without a body: three tries, 100 ms then 200 ms apart.
    let fx = serve(|_, _| Reply::Full(429, vec![], vec![]));
    let s = scorer_with(&fx.base, |o| {
        o.http.retries = 2;
        o.http.backoff = Duration::from_millis(100);
    });
    let t = Instant::now();
    let e = score(&s, "Some text.").await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        e.message,
        format!(
            "the server at {}/v1/completions is rate-limiting requests: 429 Too Many Requests; gave up after 3 tries",
            fx.base
        )
    );
    assert_eq!(fx.count(), 3);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // Retry-After wins over the backoff.
    let fx = serve(|_, _| Reply::Full(503, vec![("Retry-After".into(), "1".into())], vec![]));
    let s = scorer_with(&fx.base, |o| {
        o.http.retries = 1;
        o.http.backoff = Duration::from_millis(10);
    });
    let t = Instant::now();
    let e = score(&s, "Some text.").await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        e.message,
        format!(
            "the server at {}/v1/completions failed: 503 Service Unavailable; gave up after 2 tries",
            fx.base
        )
    );
    assert_eq!(fx.count(), 2);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

/// Peak resident memory of this process so far, in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn hundred_megabyte_bodies_are_refused_with_memory_bounded() {
    const HUNDRED_MB: usize = 100_000_000;
    let before = peak_kib();
    for declared in [true, false] {
        let fx = serve(move |_, _| Reply::Huge(HUNDRED_MB, declared));
        // The default limits (64 MiB), as the CLI and the server use them.
        let s = scorer_with(&fx.base, |o| {
            o.http = hedge::source::transport::HttpOptions {
                timeout: Duration::from_secs(30),
                ..Default::default()
            }
        });
        let t = Instant::now();
        let e = score(&s, "Some text.").await.unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "the server at {}/v1/completions sent a response larger than the 67108864-byte limit",
                fx.base
            )
        );
        assert_eq!(
            fx.count(),
            1,
            "a body over the limit is not asked for again"
        );
        if declared {
            assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        }
    }
    // The chunked body is read up to the limit and no further.
    let grew = peak_kib().saturating_sub(before);
    println!(
        "faults: peak memory grew by {} MiB reading 100 MB bodies",
        grew / 1024
    );
    assert!(grew < 200 * 1024, "peak grew by {grew} KiB");
}

const DOC: &str = "Marie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie.\n";

/// A language server whose user-level scoring server is `base`, with `notes.md` open.
async fn scoring_session(base: &str) -> (tempfile::TempDir, Client, String) {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("HEDGE_CACHE_DIR", dir.path().join("cache"));
    let path = dir.path().join("notes.md");
    std::fs::write(&path, DOC).unwrap();
    let uri = file_uri(&path);
    let mut c = Client::start(None);
    let scoring = json!({"scoring": {"server": "vllm", "endpoint": base, "model": "m"}});
    c.initialize(json!({}), scoring).await;
    c.open(&uri, DOC).await;
    (dir, c, uri)
}

/// The one diagnostic the document gets, after which the server stays quiet and answers.
async fn one_status(c: &mut Client, uri: &str) -> String {
    let d = c.diagnostics_for_version(uri, 1).await;
    let diags = d["diagnostics"].as_array().unwrap().clone();
    assert_eq!(diags.len(), 1, "{d}");
    assert_eq!(diags[0]["code"], "scoring-error");
    assert_eq!(diags[0]["severity"], 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
        )
        .await;
    assert_eq!(h["result"], Value::Null);
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(s["result"]["status"], "error");
    let extra: Vec<&Value> = c
        .notifications
        .iter()
        .filter(|n| n["method"] != "$/progress")
        .collect();
    assert!(extra.is_empty(), "more than one status: {extra:?}");
    diags[0]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_server_reports_each_fault_once_and_keeps_answering() {
    let url = |fx: &Fixture| format!("{}/v1/completions", fx.base);
    let fx =
        serve(|_, _| Reply::Full(500, vec![], b"{\"detail\":\"CUDA out of memory\"}".to_vec()));
    let (_d, mut c, uri) = scoring_session(&fx.base).await;
    assert_eq!(
        one_status(&mut c, &uri).await,
        format!("hedge: scoring failed: the server at {} failed: 500 Internal Server Error: CUDA out of memory; gave up after 3 tries", url(&fx))
    );
    assert_eq!(fx.count(), 3, "two retries, then one message");

    let fx = serve(|_, _| Reply::Full(401, vec![], vec![]));
    let (_d, mut c, uri) = scoring_session(&fx.base).await;
    assert_eq!(
        one_status(&mut c, &uri).await,
        format!("hedge: scoring failed: the server at {} refused the request: 401 Unauthorized (no API key was sent; name the environment variable that holds one with --api-key-env)", url(&fx))
    );
    assert_eq!(fx.count(), 1);

    let fx = serve(|_, _| json_reply(200, &json!({"result": "ok"})));
    let (_d, mut c, uri) = scoring_session(&fx.base).await;
    assert_eq!(
        one_status(&mut c, &uri).await,
        format!("hedge: scoring failed: the server at {} did not return prompt logprobs (its answer has no logprobs hedge reads; top-level keys: result); this server (or it is not vllm) cannot score existing text", url(&fx))
    );

    let (port, _) = plain_http_port();
    let (_d, mut c, uri) = scoring_session(&format!("https://127.0.0.1:{port}")).await;
    assert_eq!(
        one_status(&mut c, &uri).await,
        format!("hedge: scoring failed: cannot connect to https://127.0.0.1:{port}/v1/completions: received corrupt message of type InvalidContentType")
    );
}

#[tokio::test]
async fn a_hanging_server_never_blocks_the_editor() {
    // One byte a second: scoring waits (up to its timeout) off the editor's thread.
    let fx = serve(|_, _| Reply::Drip(Duration::from_secs(1), 1_000));
    let (_d, mut c, uri) = scoring_session(&fx.base).await;
    for _ in 0..3 {
        let t = Instant::now();
        let s = c
            .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
            .await;
        assert_eq!(s["result"]["status"], "pending");
        let h = c
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
            )
            .await;
        assert_eq!(h["result"], Value::Null);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Typing meanwhile is applied at once.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 5}}, "text": "Maria"}]}),
    )
    .await;
    let s = c
        .request("hedge/summary", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(s["result"]["version"], 2);
    let uri_t: tower_lsp_server::ls_types::Uri = uri.parse().unwrap();
    assert_eq!(
        c.state.docs.get(&uri_t).map(|d| d.text()),
        Some(DOC.replacen("Marie", "Maria", 1))
    );
    assert_eq!(fx.count(), 1);
}
