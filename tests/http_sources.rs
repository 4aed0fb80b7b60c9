//! Scoring existing text over HTTP, against a stand-in server on 127.0.0.1 that answers in each
//! scoring server's documented shape: exact chunking, context cut off, caching, the CLI's
//! `score` and `draft`. Faults are in http_faults.rs.

mod http_fixture;

use serde_json::{json, Value};

use hedge::analysis::analyze;
use hedge::config::Config;
use hedge::source::chunks::{chunk_document, ChunkOptions};
use hedge::source::http::{Endpoint, Scorer, ServerKind};
use http_fixture::scoring::{fixture_for, hedge, options, score, scorer, text, CHUNKS};
use http_fixture::{json_reply, lp, sent_text, serve, tokenize};

fn document() -> String {
    [
        "# Notes\n\n",
        "Marie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie and Henri Becquerel.\n\n",
        "She won a second Nobel Prize, in Chemistry, in 1911, for radium and polonium.\n\n",
        "Her notebooks are still radioactive and are kept in lead boxes in Paris. Readers sign a waiver. \
         The laboratory she founded became the Curie Institute, which still studies cancer today. \
         Her daughter Irene also won a Nobel Prize, in 1935, with her husband Frederic Joliot.\n\n",
        "The end.\n",
    ]
    .concat()
}

#[test]
fn the_document_is_chunked_at_paragraphs() {
    let doc = document();
    let chunks = chunk_document(&doc, &CHUNKS);
    let pieces: Vec<&str> = chunks.iter().map(|c| &doc[c.range.clone()]).collect();
    assert_eq!(
        pieces,
        [
            "# Notes\n\nMarie Curie won the Nobel Prize in Physics in 1903 with Pierre Curie and Henri Becquerel.\n\n",
            "She won a second Nobel Prize, in Chemistry, in 1911, for radium and polonium.\n\n",
            "Her notebooks are still radioactive and are kept in lead boxes in Paris. Readers sign a waiver. \
             The laboratory she founded became the Curie Institute, which still studies cancer today.",
            " Her daughter Irene also won a Nobel Prize, in 1935, with her husband Frederic Joliot.\n\n",
            "The end.\n",
        ]
    );
    let contexts: Vec<&str> = chunks.iter().map(|c| &doc[c.context.clone()]).collect();
    assert_eq!(
        contexts,
        [
            "",
            "Pierre Curie and Henri Becquerel.\n\n",
            "in 1911, for radium and polonium.\n\n",
            "which still studies cancer today.",
            "with her husband Frederic Joliot.\n\n"
        ]
    );
}

#[tokio::test]
async fn every_scoring_server_gives_the_documents_tokens_exactly() {
    let doc = document();
    let chunks = chunk_document(&doc, &CHUNKS);
    for kind in ServerKind::ALL {
        let fx = fixture_for(kind);
        let s = scorer(kind, &fx.base, None, None);
        let scored = score(&s, &doc)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert_eq!(
            (scored.chunks, scored.requests, scored.cached),
            (5, 5, 0),
            "{}",
            kind.name()
        );
        // Each request sent the chunk after its context, with the kind's prompt-scoring knobs.
        let reqs = fx.take();
        for (req, ch) in reqs.iter().zip(&chunks) {
            let want = format!("{}{}", &doc[ch.context.clone()], &doc[ch.range.clone()]);
            assert_eq!(sent_text(&req.body), want, "{}", kind.name());
            let knob = match kind {
                ServerKind::Tgi => &req.body["parameters"]["decoder_input_details"],
                ServerKind::Sglang => &req.body["return_logprob"],
                _ => &req.body["echo"],
            };
            assert_eq!(knob, &json!(true), "{}", kind.name());
        }
        // The tokens are the document's, in order, each with the stand-in model's ln p; only
        // the document's very first token has none (nothing came before it).
        let t = &scored.trace;
        assert_eq!(t.generated_bytes(), doc.as_bytes(), "{}", kind.name());
        let want: Vec<Vec<u8>> = chunks
            .iter()
            .flat_map(|c| tokenize(&doc[c.range.clone()]))
            .collect();
        let got: Vec<Vec<u8>> = t.tokens.iter().map(|t| t.bytes.to_vec()).collect();
        assert_eq!(got, want, "{}", kind.name());
        let first_unscored = matches!(
            kind,
            ServerKind::LlamaCppPython | ServerKind::Sglang | ServerKind::Together
        );
        for (i, tok) in t.tokens.iter().enumerate() {
            let expect = (i > 0 || !first_unscored).then(|| lp(&tok.bytes));
            assert_eq!(
                tok.logprob,
                expect,
                "{} token {i} {:?}",
                kind.name(),
                tok.text()
            );
        }
        let a = analyze(&doc, t, &Config::default()).unwrap();
        assert_eq!(a.alignment.coverage(), 1.0, "{}", kind.name());
    }
}

#[tokio::test]
async fn split_characters_are_placed_through_lossy_tokens() {
    let doc =
        "Emoji 😊 and 日本語 text.\n\nAnother paragraph with more words in it, long enough.\n";
    for kind in ServerKind::ALL {
        let fx = fixture_for(kind);
        let scored = score(&scorer(kind, &fx.base, None, None), doc)
            .await
            .unwrap();
        let a = analyze(doc, &scored.trace, &Config::default()).unwrap();
        assert_eq!(a.alignment.coverage(), 1.0, "{}", kind.name());
        assert_eq!(a.lossy_tokens, 0, "{}", kind.name());
    }
}

#[tokio::test]
async fn the_cache_skips_unchanged_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture_for(ServerKind::Vllm);
    let s = scorer(ServerKind::Vllm, &fx.base, Some(dir.path()), None);
    let doc = document();
    let first = score(&s, &doc).await.unwrap();
    assert_eq!((first.requests, fx.take().len()), (5, 5));

    let again = score(&s, &doc).await.unwrap();
    assert_eq!((again.requests, again.cached, fx.count()), (0, 5, 0));
    assert_eq!(again.trace.tokens, first.trace.tokens);

    // An edit in the middle of the second chunk (outside the next chunk's context).
    let edited = doc.replacen("second Nobel Prize", "second Nobel prize", 1);
    let third = score(&s, &edited).await.unwrap();
    assert_eq!((third.requests, third.cached), (1, 4));
    let reqs = fx.take();
    assert_eq!(reqs.len(), 1);
    assert!(sent_text(&reqs[0].body).contains("second Nobel prize"));
    assert_eq!(third.trace.generated_bytes(), edited.as_bytes());

    // The same text for another model is not taken from the cache.
    let other = Endpoint::new(ServerKind::Vllm, &fx.base, Some("other".into())).unwrap();
    let s2 = Scorer::new(other, None, options(Some(dir.path()))).unwrap();
    assert_eq!(score(&s2, &doc).await.unwrap().requests, 5);
}

#[tokio::test]
async fn a_prompt_is_context_and_not_kept() {
    let fx = fixture_for(ServerKind::Sglang);
    let s = scorer(ServerKind::Sglang, &fx.base, None, None);
    let doc = "Paris is the capital of France.";
    let scored = s
        .score(doc, Some("Q: What is the capital of France?\nA: "), &|_| {})
        .await
        .unwrap();
    assert_eq!(scored.trace.generated_bytes(), doc.as_bytes());
    // With a prompt before it, the document's first token is scored too; the prompt ends in a
    // space, so the token " Paris" starts in it and keeps only "Paris".
    assert_eq!(scored.trace.tokens[0].text(), "Paris");
    assert_eq!(scored.trace.tokens[0].logprob, Some(lp(b" Paris")));
    assert_eq!(
        sent_text(&fx.take()[0].body),
        format!("Q: What is the capital of France?\nA: {doc}")
    );
}

#[test]
fn score_writes_a_sidecar_that_check_reads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.md"), document()).unwrap();
    let fx = fixture_for(ServerKind::Tgi);
    let args = [
        "score",
        "notes.md",
        "--server",
        "tgi",
        "--endpoint",
        &fx.base,
        "--chunk-bytes",
        "240",
    ];
    let o = hedge(&args, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // --chunk-bytes 240: paragraphs under 120 bytes join the next, 120 bytes of context.
    let cli = ChunkOptions {
        min_bytes: 120,
        max_bytes: 240,
        overlap_bytes: 120,
    };
    let doc = document();
    let chunks = chunk_document(&doc, &cli);
    let tokens: usize = chunks
        .iter()
        .map(|c| tokenize(&doc[c.range.clone()]).len())
        .sum();
    assert_eq!((chunks.len(), tokens), (4, 97));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: notes.md: 97 tokens scored in 4 chunks (0 from the cache, 4 requests); wrote notes.md.logprobs.jsonl\n"
    );
    let o = hedge(
        &[
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            "notes.md",
        ],
        dir.path(),
        &[],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["files"][0]["summary"]["coverage"],
        json!(1.0),
        "{}",
        text(&o)
    );
    assert_eq!(v["files"][0]["trace_format"], "native");
    // A second run refuses to overwrite the sidecar.
    let o = hedge(&args, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "hedge: notes.md: already has a trace, notes.md.logprobs.jsonl; hedge does not overwrite files\n");
}

#[test]
fn draft_writes_the_answer_and_its_raw_response() {
    let dir = tempfile::tempdir().unwrap();
    let fx = serve(|req, _| {
        let with = req.body["messages"][0]["content"] != "none";
        json_reply(
            200,
            &http_fixture::chat("Paris is the capital of France.", with),
        )
    });
    let args = [
        "draft",
        "Capital of France?",
        "-o",
        "a.md",
        "--endpoint",
        &format!("{}/v1", fx.base),
        "--seed",
        "3",
        "--model",
        "m",
    ];
    let o = hedge(&args, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.md")).unwrap(),
        "Paris is the capital of France."
    );
    let req = &fx.take()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        (
            req.body["logprobs"].clone(),
            req.body["top_logprobs"].clone(),
            req.body["seed"].clone()
        ),
        (json!(true), json!(20), json!(3))
    );
    let o = hedge(
        &["check", "--format", "json", "--fail-on", "never", "a.md"],
        dir.path(),
        &[],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["summary"]["coverage"], json!(1.0));
    // Never over an existing file, and nothing is asked then.
    let o = hedge(&args, dir.path(), &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: a.md: already exists; hedge does not overwrite files\n"
    );
    assert_eq!(fx.count(), 0);
    // A server that ignores `logprobs` (as Anthropic's compatibility layer does).
    let o = hedge(
        &["draft", "none", "-o", "b.md", "--endpoint", &fx.base],
        dir.path(),
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("hedge: the server at {}/v1/chat/completions answered without logprobs; this model or server cannot draft with logprobs\n", fx.base)
    );
    assert!(!dir.path().join("b.md").exists());
}

/// How the language server uses it: a scorer cloned into a spawned task, progress sent over a
/// channel, the result awaited (or the task aborted when the document changes).
#[tokio::test]
async fn scoring_runs_in_a_spawned_task_with_progress() {
    let fx = fixture_for(ServerKind::Sglang);
    let s = scorer(ServerKind::Sglang, &fx.base, None, None);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let doc = document();
    let task = tokio::spawn(async move {
        let progress = move |p: hedge::source::http::ScoreProgress| {
            let _ = tx.send((p.done, p.total));
        };
        s.score(&doc, None, &progress).await
    });
    let scored = task.await.unwrap().unwrap();
    assert_eq!(scored.chunks, 5);
    let mut seen = Vec::new();
    while let Ok(p) = rx.try_recv() {
        seen.push(p);
    }
    assert_eq!(seen, [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]);
    // A draft, too, can be awaited in a spawned task.
    let req = hedge::source::draft::DraftRequest::new(format!("{}/v1", fx.base), "Hi");
    let http = hedge::source::transport::HttpOptions::default();
    let task = tokio::spawn(async move { hedge::source::draft::draft(&req, None, &http).await });
    let e = task.await.unwrap().unwrap_err();
    assert_eq!(
        e.message,
        format!("the server at {}/v1/chat/completions answered without choices[0].message.content (top-level keys: meta_info, text); is it an OpenAI-compatible chat endpoint?", fx.base)
    );
}

#[tokio::test]
async fn an_unwritable_cache_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let fx = fixture_for(ServerKind::Vllm);
    let s = scorer(ServerKind::Vllm, &fx.base, Some(&not_a_dir), None);
    let scored = score(&s, "Some text.").await.unwrap();
    assert_eq!(scored.trace.generated_bytes(), b"Some text.");
    let e = scored.cache_error.unwrap();
    assert!(
        e.starts_with(&format!(
            "cannot write to the cache {}: ",
            not_a_dir.display()
        )),
        "{e}"
    );
}
