//! `hedge score` over many documents and directories against one endpoint (a stand-in vLLM on
//! 127.0.0.1): bounded concurrency, one line per document, a failed document does not stop the
//! others, and the exit status says whether any failed.

mod http_fixture;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_fixture::scoring::{hedge, text};
use http_fixture::{json_reply, sent_text, serve, tokenize, vllm};

fn tree(dir: &std::path::Path) {
    let docs = dir.join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::create_dir_all(docs.join(".hidden")).unwrap();
    std::fs::write(
        docs.join("a.md"),
        "Marie Curie won the Nobel Prize in 1903.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("b.md"),
        "The broken document fails on the server.\n",
    )
    .unwrap();
    std::fs::write(docs.join("sub/c.txt"), "Paris is the capital of France.\n").unwrap();
    std::fs::write(docs.join("sub/d.bin"), "not a document").unwrap();
    std::fs::write(docs.join(".hidden/e.md"), "Hidden.\n").unwrap();
    std::fs::write(docs.join("scored.md"), "Already scored.\n").unwrap();
    std::fs::write(docs.join("scored.md.logprobs.jsonl"), "").unwrap();
    std::fs::write(docs.join("latin1.md"), b"caf\xe9\n").unwrap();
}

fn lines(o: &std::process::Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(String::from)
        .collect();
    let last = v.pop().unwrap();
    v.sort();
    v.push(last);
    v
}

#[test]
fn a_tree_is_scored_and_failures_are_reported_per_document() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let fx = serve(|req, _| {
        let prompt = sent_text(&req.body);
        if prompt.contains("broken") {
            json_reply(
                400,
                &serde_json::json!({"error": {"message": "bad prompt"}}),
            )
        } else {
            json_reply(200, &vllm(&prompt))
        }
    });
    let args = [
        "score",
        "docs",
        "--server",
        "vllm",
        "--endpoint",
        &fx.base,
        "--no-cache",
        "--jobs",
        "2",
    ];
    let o = hedge(&args, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let got = lines(&o);
    let base = &fx.base;
    let ok = |p: &str, doc: &str| {
        format!(
            "hedge: {p}: {} tokens scored in 1 chunks (0 from the cache, 1 requests); wrote {p}.logprobs.jsonl",
            tokenize(doc).len()
        )
    };
    assert_eq!(
        got,
        vec![
            ok("docs/a.md", "Marie Curie won the Nobel Prize in 1903.\n"),
            format!("hedge: docs/b.md: the server at {base}/v1/completions rejected the request: 400 Bad Request: bad prompt"),
            "hedge: docs/latin1.md: is not UTF-8 text (byte 3 is invalid)".to_string(),
            ok("docs/sub/c.txt", "Paris is the capital of France.\n"),
            "hedge: 2 documents scored, 1 skipped (they already have a trace), 2 failed".to_string(),
        ],
        "{}",
        text(&o)
    );
    let docs = dir.path().join("docs");
    assert!(docs.join("a.md.logprobs.jsonl").is_file());
    assert!(docs.join("sub/c.txt.logprobs.jsonl").is_file());
    assert!(!docs.join("b.md.logprobs.jsonl").exists());
    assert!(!docs.join(".hidden/e.md.logprobs.jsonl").exists());
    assert_eq!(
        std::fs::read(docs.join("scored.md.logprobs.jsonl")).unwrap(),
        b""
    );
    // The sidecars are read by check.
    let o = hedge(
        &["check", "--fail-on", "never", "docs/a.md", "docs/sub/c.txt"],
        dir.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Once the broken ones are gone, the same command scores nothing again and succeeds.
    std::fs::remove_file(docs.join("b.md")).unwrap();
    std::fs::remove_file(docs.join("latin1.md")).unwrap();
    let o = hedge(&args, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: 0 documents scored, 3 skipped (they already have a trace)\n"
    );
}

#[test]
fn no_more_than_jobs_documents_are_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for i in 0..6 {
        let name = format!("n{i}.md");
        std::fs::write(
            dir.path().join(&name),
            format!("Document {i} has some words.\n"),
        )
        .unwrap();
        names.push(name);
    }
    let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n2, m2) = (now.clone(), max.clone());
    let fx = serve(move |req, _| {
        let cur = n2.fetch_add(1, Ordering::SeqCst) + 1;
        m2.fetch_max(cur, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        n2.fetch_sub(1, Ordering::SeqCst);
        json_reply(200, &vllm(&sent_text(&req.body)))
    });
    let mut args = vec![
        "score",
        "--server",
        "vllm",
        "--endpoint",
        &fx.base,
        "--no-cache",
        "-j",
        "3",
    ];
    args.extend(names.iter().map(String::as_str));
    let started = std::time::Instant::now();
    let o = hedge(&args, dir.path(), &[]);
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(max.load(Ordering::SeqCst), 3);
    assert_eq!(fx.count(), 6);
    // Two rounds of 300 ms, not six.
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let got = lines(&o);
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(got[6], "hedge: 6 documents scored");
}

#[test]
fn an_empty_selection_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let o = hedge(
        &[
            "score",
            "empty",
            "--server",
            "vllm",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: no documents to score (in directories, files ending in .md, .markdown, .txt, .rst, .adoc, .org, .tex)\n"
    );
}
