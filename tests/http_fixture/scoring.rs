//! Shared by the HTTP tests: scoring options with short waits, and a stand-in server per kind.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use hedge::source::chunks::{ChunkCache, ChunkOptions};
use hedge::source::http::{Endpoint, ScoreOptions, Scored, Scorer, ServerKind};
use hedge::source::transport::{ApiKey, HttpError, HttpOptions};

use super::{json_reply, sent_text, serve, Fixture};

pub const CHUNKS: ChunkOptions = ChunkOptions {
    min_bytes: 60,
    max_bytes: 240,
    overlap_bytes: 40,
};

pub fn options(cache: Option<&Path>) -> ScoreOptions {
    ScoreOptions {
        chunks: CHUNKS,
        http: HttpOptions {
            timeout: Duration::from_secs(5),
            backoff: Duration::from_millis(10),
            ..HttpOptions::default()
        },
        cache: cache.map(ChunkCache::new),
        top_logprobs: 5,
    }
}

pub fn responder(kind: ServerKind) -> fn(&str) -> Value {
    match kind {
        ServerKind::Vllm => super::vllm,
        ServerKind::LlamaCppPython => super::llama_cpp_python,
        ServerKind::Tgi => super::tgi,
        ServerKind::Sglang => super::sglang,
        ServerKind::Together => super::together,
        ServerKind::Fireworks => super::fireworks,
    }
}

pub fn fixture_for(kind: ServerKind) -> Fixture {
    let answer = responder(kind);
    serve(move |req, _| json_reply(200, &answer(&sent_text(&req.body))))
}

pub fn scorer(kind: ServerKind, base: &str, cache: Option<&Path>, key: Option<ApiKey>) -> Scorer {
    let endpoint = Endpoint::new(kind, base, Some("m".into())).unwrap();
    Scorer::new(endpoint, key, options(cache)).unwrap()
}

pub async fn score(s: &Scorer, text: &str) -> Result<Scored, HttpError> {
    s.score(text, None, &|_| {}).await
}

pub fn hedge(args: &[&str], dir: &Path, envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedge"));
    c.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HEDGE_CACHE_DIR", dir.join("cache"));
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
