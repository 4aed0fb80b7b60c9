//! Faults of scoring and drafting servers, against a stand-in on 127.0.0.1: refused
//! connections, statuses with and without bodies, retries, cut-off and oversized bodies, wrong
//! shapes, slow answers and redirects each end in one exact line within the timeout, and the
//! API key never appears in any output.

mod http_fixture;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use hedge::source::http::{Endpoint, Scorer, ServerKind};
use hedge::source::transport::ApiKey;
use http_fixture::scoring::{fixture_for, hedge, options, score, scorer, text};
use http_fixture::{json_reply, sent_text, serve, Fixture, Reply};

const KEY: &str = "sk-test-9f8e7d6c5b4a";

async fn fault(
    reply: impl Fn(usize) -> Reply + Send + Sync + 'static,
    key: bool,
    retries: u32,
) -> (String, usize, Fixture) {
    let fx = serve(move |_, n| reply(n));
    let mut o = options(None);
    o.http.retries = retries;
    o.http.timeout = Duration::from_millis(400);
    let key = key.then(|| {
        std::env::set_var("HEDGE_TEST_FAULT_KEY", KEY);
        ApiKey::from_env("HEDGE_TEST_FAULT_KEY").unwrap()
    });
    let s = Scorer::new(
        Endpoint::new(ServerKind::Vllm, &fx.base, None).unwrap(),
        key,
        o,
    )
    .unwrap();
    let e = score(&s, "Some text to score.").await.unwrap_err();
    assert!(
        !e.message.contains(KEY) && !format!("{e:?}").contains(KEY),
        "{e:?}"
    );
    assert!(!e.message.contains('\n'), "{e:?}");
    let n = fx.count();
    (e.message, n, fx)
}

#[tokio::test]
async fn refused_connections_fail_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = scorer(
        ServerKind::Tgi,
        &format!("http://127.0.0.1:{port}"),
        None,
        None,
    );
    let t = Instant::now();
    let e = score(&s, "Text.").await.unwrap_err();
    assert_eq!(e.message, format!("cannot connect to http://127.0.0.1:{port}/generate: connection refused (is the server running?)"));
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn status_errors_carry_the_servers_message() {
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    let url = |fx: &Fixture| format!("{}/v1/completions", fx.base);

    let (m, n, fx) = fault(
        move |_| {
            Reply::Full(
                401,
                vec![],
                body(json!({"error": {"message": format!("Incorrect API key provided: {KEY}.")}})),
            )
        },
        true,
        2,
    )
    .await;
    assert_eq!(m, format!("the server at {} refused the request: 401 Unauthorized: Incorrect API key provided: ***. (the key was read from the environment variable HEDGE_TEST_FAULT_KEY)", url(&fx)));
    assert_eq!(n, 1);
    assert_eq!(
        fx.take()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    let (m, _, fx) = fault(|_| Reply::Full(401, vec![], vec![]), false, 2).await;
    assert_eq!(m, format!("the server at {} refused the request: 401 Unauthorized (no API key was sent; name the environment variable that holds one with --api-key-env)", url(&fx)));
    assert_eq!(fx.take()[0].header("authorization"), None);

    let (m, n, fx) = fault(
        |_| {
            Reply::Full(
                429,
                vec![("Retry-After".into(), "0".into())],
                b"{\"error\":\"slow down\"}".to_vec(),
            )
        },
        true,
        2,
    )
    .await;
    assert_eq!(m, format!("the server at {} is rate-limiting requests: 429 Too Many Requests: slow down; gave up after 3 tries", url(&fx)));
    assert_eq!(n, 3);

    let (m, n, fx) = fault(
        |_| Reply::Full(500, vec![], b"{\"detail\":\"CUDA out of memory\"}".to_vec()),
        false,
        1,
    )
    .await;
    assert_eq!(m, format!("the server at {} failed: 500 Internal Server Error: CUDA out of memory; gave up after 2 tries", url(&fx)));
    assert_eq!(n, 2);

    let (m, n, fx) = fault(|_| Reply::Full(500, vec![], vec![]), false, 0).await;
    assert_eq!(
        m,
        format!(
            "the server at {} failed: 500 Internal Server Error",
            url(&fx)
        )
    );
    assert_eq!(n, 1);

    let (m, n, fx) = fault(
        |_| {
            Reply::Full(
                400,
                vec![],
                b"{\"object\":\"error\",\"message\":\"prompt_logprobs must be <= 5\"}".to_vec(),
            )
        },
        false,
        2,
    )
    .await;
    assert_eq!(
        m,
        format!(
            "the server at {} rejected the request: 400 Bad Request: prompt_logprobs must be <= 5",
            url(&fx)
        )
    );
    assert_eq!(n, 1);

    let (m, _, fx) = fault(
        |_| Reply::Full(404, vec![], b"Not Found".to_vec()),
        false,
        2,
    )
    .await;
    assert_eq!(m, format!("the server at {} has no such endpoint: 404 Not Found: Not Found (is the endpoint URL right?)", url(&fx)));
}

#[tokio::test]
async fn retries_recover_from_a_passing_fault() {
    let fx = serve(|req, n| match n {
        0 => Reply::Full(503, vec![], vec![]),
        1 => Reply::Truncated(500, b"{\"choices\":".to_vec()),
        _ => json_reply(200, &http_fixture::vllm(&sent_text(&req.body))),
    });
    let scored = score(
        &scorer(ServerKind::Vllm, &fx.base, None, None),
        "Some text.",
    )
    .await
    .unwrap();
    assert_eq!((fx.count(), scored.requests), (3, 1));
}

#[tokio::test]
async fn broken_bodies_and_wrong_shapes() {
    let url = |fx: &Fixture| format!("{}/v1/completions", fx.base);
    let (m, n, fx) = fault(
        |_| Reply::Truncated(1000, b"{\"choices\":[{\"text\":".to_vec()),
        false,
        1,
    )
    .await;
    assert_eq!(m, format!("the server at {} closed the connection before the response was complete; gave up after 2 tries", url(&fx)));
    assert_eq!(n, 2);

    let (m, _, fx) = fault(
        |_| Reply::Full(200, vec![], b"<html>gateway</html>".to_vec()),
        false,
        2,
    )
    .await;
    assert!(
        m.starts_with(&format!(
            "the server at {} sent a response that is not JSON (",
            url(&fx)
        )),
        "{m}"
    );

    // llama-server: logprobs only for the one token it generated.
    let llama = json!({"choices": [{"text": " a", "index": 0, "logprobs": {"content": [
        {"id": 253, "token": " a", "bytes": [32, 97], "logprob": -0.3, "top_logprobs": []}]}, "finish_reason": "length"}],
        "object": "text_completion", "usage": {"completion_tokens": 1, "prompt_tokens": 5}, "timings": {"prompt_n": 5}});
    let (m, _, fx) = fault(move |_| json_reply(200, &llama), false, 2).await;
    assert_eq!(m, format!("the server at {} did not return prompt logprobs (it answered in the openai-chat shape with logprobs for 0 of the 19 bytes to score); llama-server cannot score existing text", url(&fx)));

    let (m, _, fx) = fault(|_| json_reply(200, &json!({"result": "ok"})), false, 2).await;
    assert_eq!(m, format!("the server at {} did not return prompt logprobs (its answer has no logprobs hedge reads; top-level keys: result); this server (or it is not vllm) cannot score existing text", url(&fx)));
}

#[tokio::test]
async fn slow_servers_end_within_the_timeout() {
    for reply in [0, 1] {
        let t = Instant::now();
        let (m, n, fx) = fault(
            move |_| match reply {
                0 => Reply::Slow(
                    Duration::from_secs(3),
                    Box::new(Reply::Full(200, vec![], vec![])),
                ),
                _ => Reply::Drip(Duration::from_millis(100), 40),
            },
            false,
            2,
        )
        .await;
        assert_eq!(
            m,
            format!(
                "the server at {}/v1/completions did not answer within 0.4 s",
                fx.base
            )
        );
        assert_eq!(n, 1, "a timeout is not retried");
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn huge_bodies_and_redirects_are_refused() {
    let big = vec![b' '; 3 << 20];
    for chunked in [false, true] {
        let b = big.clone();
        let fx = serve(move |_, _| {
            if chunked {
                Reply::Chunked(b.clone())
            } else {
                Reply::Full(200, vec![], b.clone())
            }
        });
        let mut o = options(None);
        o.http.max_response_bytes = 1 << 20;
        let s = Scorer::new(
            Endpoint::new(ServerKind::Vllm, &fx.base, None).unwrap(),
            None,
            o,
        )
        .unwrap();
        let e = score(&s, "Text.").await.unwrap_err();
        assert_eq!(e.message, format!("the server at {}/v1/completions sent a response larger than the 1048576-byte limit", fx.base));
    }
    let elsewhere = fixture_for(ServerKind::Vllm);
    let to = format!("{}/v1/completions", elsewhere.base);
    let (m, _, fx) = fault(
        move |_| Reply::Full(302, vec![("Location".into(), to.clone())], vec![]),
        true,
        2,
    )
    .await;
    assert_eq!(m, format!("the server at {}/v1/completions redirected (302) to {}/v1/completions; hedge does not follow redirects: give the final address as the endpoint", fx.base, elsewhere.base));
    assert_eq!(elsewhere.count(), 0);
}

#[test]
fn the_key_never_appears_in_cli_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.md"), "Some text.\n").unwrap();
    let echo = format!("{{\"error\":{{\"message\":\"bad key {KEY}\"}}}}").into_bytes();
    let fx = serve(move |_, _| {
        Reply::Full(
            401,
            vec![("WWW-Authenticate".into(), format!("Bearer {KEY}"))],
            echo.clone(),
        )
    });
    let env = [("MY_KEY", KEY)];
    let runs: [Vec<&str>; 4] = [
        vec![
            "score",
            "notes.md",
            "--server",
            "vllm",
            "--endpoint",
            &fx.base,
            "--api-key-env",
            "MY_KEY",
        ],
        vec![
            "draft",
            "Hi",
            "-o",
            "new.md",
            "--endpoint",
            &fx.base,
            "--api-key-env",
            "MY_KEY",
        ],
        vec![
            "draft",
            "Hi",
            "-o",
            "new.md",
            "--endpoint",
            &fx.base,
            "--api-key-env",
            KEY,
        ],
        vec![
            "score",
            "notes.md",
            "--server",
            "vllm",
            "--endpoint",
            &fx.base,
            "--api-key-env",
            "UNSET_VAR_X",
        ],
    ];
    for args in runs {
        let o = hedge(&args, dir.path(), &env);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(!text(&o).contains(KEY), "{args:?}: {}", text(&o));
        assert_eq!(text(&o).lines().count(), 1, "{}", text(&o));
    }
    assert!(!dir.path().join("new.md").exists());
    // Only the two runs with a usable key reached the server, and each sent it.
    let reqs = fx.take();
    assert_eq!(reqs.len(), 2);
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some(format!("Bearer {KEY}").as_str())));
}
