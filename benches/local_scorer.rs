//! Local scoring speed (feature `local`). Run:
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=x86-64-v3" CARGO_TARGET_DIR=target-local \
//!   cargo bench --features local --bench local_scorer -- MODEL.gguf [MODEL.gguf ...]
//! ```
//!
//! For each model and for texts of about 200 and 2,000 tokens (the shipped examples, repeated):
//! the first scoring's rate in tokens per second, and a one-word edit in the middle of the text
//! rescored (tokens evaluated again, time). Threads: all cores, or `HEDGE_BENCH_THREADS`.

use std::path::Path;
use std::time::Instant;

use hedge::source::local::{LocalModel, LocalOptions};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn text_of(model: &mut LocalModel, tokens: usize) -> String {
    let mut base = String::new();
    for f in ["examples/literature-review.md", "examples/biography.md"] {
        base.push_str(&std::fs::read_to_string(Path::new(ROOT).join(f)).unwrap());
        base.push('\n');
    }
    let mut text = String::new();
    while model.score(&text, None).map_or(0, |t| t.tokens.len()) < tokens {
        text.push_str(&base);
    }
    // Cut to about `tokens` tokens at a line end.
    let trace = model.score(&text, None).unwrap();
    let bytes: usize = trace.tokens[..tokens].iter().map(|t| t.bytes.len()).sum();
    let end = text[..bytes].rfind('\n').map_or(bytes, |i| i + 1);
    text[..end].to_string()
}

fn main() {
    let models: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if models.is_empty() {
        eprintln!("usage: cargo bench --features local --bench local_scorer -- MODEL.gguf ...");
        return;
    }
    for path in models {
        for n in [200, 2000] {
            let mut probe = LocalModel::load(Path::new(&path)).unwrap();
            let text = text_of(&mut probe, n);
            drop(probe);
            let options = LocalOptions {
                threads: std::env::var("HEDGE_BENCH_THREADS")
                    .ok()
                    .and_then(|t| t.parse().ok()),
                ..LocalOptions::default()
            };
            let mut m = LocalModel::load_with(Path::new(&path), options).unwrap();
            let started = Instant::now();
            let trace = m.score(&text, None).unwrap();
            let first = started.elapsed().as_secs_f64();
            let s1 = m.last_stats();
            // One word in the middle replaced.
            let mid = text.len() / 2;
            let at = mid + text[mid..].find(' ').unwrap() + 1;
            let len = text[at..].find(' ').unwrap();
            let edited = format!("{}zebra{}", &text[..at], &text[at + len..]);
            let started = Instant::now();
            m.score(&edited, None).unwrap();
            let edit = started.elapsed().as_secs_f64();
            let s2 = m.last_stats();
            println!(
                "{}: {} tokens: {:.2} s, {:.0} tokens/s ({} evaluated, {} windows of {}); one-word edit at token ~{}: {} evaluated again, {} reused, {:.3} s",
                m.name(),
                trace.tokens.len(),
                first,
                s1.evaluated_tokens as f64 / first,
                s1.evaluated_tokens,
                s1.windows,
                m.n_ctx(),
                s2.reused_tokens,
                s2.evaluated_tokens,
                s2.reused_tokens,
                edit
            );
        }
    }
}
