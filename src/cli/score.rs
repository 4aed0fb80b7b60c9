//! `hedge score PATH --endpoint URL --server KIND`: score an existing document with a server
//! that returns prompt logprobs and write the result as its native sidecar.
//! `hedge score PATH --model GGUF` (no --endpoint) scores it inside hedge instead (feature
//! `local`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;

use hedge::source::chunks::{ChunkCache, ChunkOptions};
use hedge::source::http::{Endpoint, ScoreOptions, ScoreProgress, Scorer, ServerKind};
use hedge::source::sidecar;
use hedge::trace::{native, Trace};

use super::draft::{wait_for, EndpointArgs};
use super::{fail, local};

#[derive(Args)]
pub struct ScoreArgs {
    /// The document to score; it must have no sidecar yet (PATH.logprobs.jsonl is written).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// What the endpoint runs: vllm, llama-cpp-python, tgi, sglang, together or fireworks
    /// (llama-server, Ollama and OpenAI chat cannot score existing text).
    #[arg(long, value_name = "KIND", value_parser = parse_kind, requires = "endpoint")]
    pub server: Option<ServerKind>,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// A file holding the prompt the document answered; it is scored as context, not kept.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Ask the server for every chunk instead of reusing cached results.
    #[arg(long)]
    pub no_cache: bool,
    /// The largest chunk sent at once, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ChunkOptions::default().max_bytes)]
    pub chunk_bytes: usize,
}

fn parse_kind(s: &str) -> Result<ServerKind, String> {
    ServerKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = ServerKind::ALL.iter().map(|k| k.name()).collect();
        let cannot = match s {
            "llama-server" | "llama.cpp" | "llamacpp" | "ollama" | "openai" => {
                format!("{s} returns logprobs only for text it generates, so it cannot score existing text (use `hedge draft`); ")
            }
            _ => String::new(),
        };
        format!("{cannot}unknown server `{s}`; one of: {}", names.join(", "))
    })
}

pub fn run(a: ScoreArgs) -> ExitCode {
    let shown = a.path.display().to_string();
    if let Some(s) = sidecar::find(&a.path) {
        return fail(format!(
            "{shown}: already has a trace, {}; hedge does not overwrite files",
            s.display()
        ));
    }
    let out = sidecar::candidates(&a.path).swap_remove(1);
    let text = match std::fs::read(&a.path) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                return fail(format!("{shown}: is not UTF-8 text (byte {at} is invalid)"));
            }
        },
        Err(e) => return fail(format!("{shown}: cannot be read: {e}")),
    };
    if text.trim().is_empty() {
        return fail(format!("{shown}: has no text to score"));
    }
    let prompt = match &a.prompt_file {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(s) => Some(s),
            Err(e) => return fail(format!("{}: cannot be read: {e}", p.display())),
        },
        None => None,
    };
    let Some(url) = a.endpoint.endpoint.clone() else {
        return match a.endpoint.model.clone() {
            Some(model) => score_locally(&a, Path::new(&model), &text, prompt.as_deref(), &out),
            None => fail(
                "give --endpoint URL and --server KIND to score with a server, or --model GGUF to score with a local model",
            ),
        };
    };
    let Some(server) = a.server else {
        return fail("--server KIND is required with --endpoint (vllm, llama-cpp-python, tgi, sglang, together or fireworks)");
    };
    if a.chunk_bytes < 64 {
        return fail("--chunk-bytes must be at least 64");
    }
    let (http, key) = match (a.endpoint.http_options(), a.endpoint.key()) {
        (Ok(h), Ok(k)) => (h, k),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let endpoint = match Endpoint::new(server, &url, a.endpoint.model.clone()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let defaults = ChunkOptions::default();
    let options = ScoreOptions {
        chunks: ChunkOptions {
            max_bytes: a.chunk_bytes,
            min_bytes: defaults.min_bytes.min(a.chunk_bytes / 2),
            overlap_bytes: defaults.overlap_bytes.min(a.chunk_bytes / 2),
        },
        http,
        cache: if a.no_cache {
            None
        } else {
            ChunkCache::default_dir().map(ChunkCache::new)
        },
        ..ScoreOptions::default()
    };
    let scorer = match Scorer::new(endpoint, key, options) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let status = Arc::new(Mutex::new(String::new()));
    let shared = status.clone();
    let progress = move |p: ScoreProgress| {
        if let Ok(mut s) = shared.lock() {
            *s = format!("chunk {}/{}", (p.done + 1).min(p.total), p.total);
        }
    };
    let fut = scorer.score(&text, prompt.as_deref(), &progress);
    let scored = match wait_for(&format!("scoring {shown}"), status, fut) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return fail(format!("{shown}: {e}")),
        Err(e) => return fail(e),
    };
    if let Some(e) = &scored.cache_error {
        eprintln!("hedge: warning: {e}");
    }
    if let Err(e) = write_sidecar(&scored.trace, &out) {
        return fail(e);
    }
    eprintln!(
        "hedge: {shown}: {} tokens scored in {} chunks ({} from the cache, {} requests); wrote {}",
        scored.trace.tokens.len(),
        scored.chunks,
        scored.cached,
        scored.requests,
        out.display()
    );
    ExitCode::SUCCESS
}

/// Write a trace as a new native sidecar (never over an existing file).
fn write_sidecar(trace: &Trace, out: &Path) -> Result<(), String> {
    let mut buf = Vec::new();
    native::write(trace, &mut buf)
        .map_err(|e| format!("{}: cannot be written: {e}", out.display()))?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .and_then(|mut f| f.write_all(&buf))
        .map_err(|e| format!("{}: cannot be written: {e}", out.display()))
}

/// `hedge score PATH --model GGUF`: score inside hedge with the local model.
fn score_locally(
    a: &ScoreArgs,
    model: &Path,
    text: &str,
    prompt: Option<&str>,
    out: &Path,
) -> ExitCode {
    let shown = a.path.display();
    if a.server.is_some() {
        return fail("--server goes with --endpoint; a local --model needs neither");
    }
    let scored = match local::score(model, text, prompt) {
        Ok(s) => s,
        Err(e) if e == local::NOT_BUILT => return fail(e),
        Err(e) => return fail(format!("{shown}: {e}")),
    };
    if let Err(e) = write_sidecar(&scored.trace, out) {
        return fail(e);
    }
    let n = scored.trace.tokens.len();
    eprintln!(
        "hedge: {shown}: {n} tokens scored with {} in {:.2} s ({:.0} tokens/s); wrote {}",
        model.display(),
        scored.seconds,
        scored.evaluated_tokens as f64 / scored.seconds.max(1e-9),
        out.display()
    );
    ExitCode::SUCCESS
}
