//! Ollama's native API (`/api/generate`, `/api/chat`, v0.12.11 and later) with
//! `"logprobs": true, "top_logprobs": N`: a top-level `logprobs[]` of `{token, logprob, bytes,
//! top_logprobs}` in the final object, or in each line of a saved NDJSON stream.
//!
//! Ollama derives `bytes` from the token string, so a token that holds part of a character
//! arrives as `"�"` with `bytes` `[239,191,189]`: its real bytes are lost. Such tokens are kept
//! (one entry per token) and marked `lossy`. (Ollama's OpenAI-style `/v1` endpoints use the
//! chat shape and are read as `openai-chat`.)

use serde::Deserialize;

use super::detect::is_stream;
use super::lines::{parse_record, parse_whole, records};
use super::llamacpp::{tokens_from_batches, Batch, Entry};
use super::prompt::count;
use super::{Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::Ollama;
const NOT_ASKED: &str = "the request did not set \"logprobs\": true";

#[derive(Deserialize)]
#[serde(expecting = "an Ollama response object")]
struct Response {
    model: Option<String>,
    /// `/api/generate`.
    response: Option<String>,
    /// `/api/chat`.
    message: Option<Message>,
    logprobs: Option<Vec<Entry>>,
    eval_count: Option<u64>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    let mut chunks = Vec::new();
    if is_stream(data) {
        let mut seen = false;
        for rec in records(data) {
            let what = "a response object";
            if let Some(r) = parse_record::<Response>(&rec, FORMAT, what, seen)? {
                seen = true;
                chunks.push((format!("line {}: logprobs", rec.line), r));
            }
        }
    } else {
        chunks.push(("logprobs".to_string(), parse_whole(data, FORMAT)?));
    }
    let (mut batches, mut text, mut model, mut evals) = (Vec::new(), None, None, None);
    for (label, r) in chunks {
        let piece = r.response.or(r.message.and_then(|m| m.content));
        if let Some(p) = piece {
            text.get_or_insert_with(String::new).push_str(&p);
        }
        model = model.or(r.model);
        evals = r.eval_count.or(evals);
        if let Some(entries) = r.logprobs.filter(|e| !e.is_empty()) {
            batches.push(Batch {
                label,
                entries,
                merged: Vec::new(),
            });
        }
    }
    if batches.is_empty() {
        return Err(shape(format!("logprobs is missing or empty ({NOT_ASKED})")));
    }
    let mut trace = Trace::new(FORMAT, tokens_from_batches(batches).map_err(shape)?);
    trace.stated_text = text;
    trace.stated_token_count = count(evals);
    trace.model = model;
    Ok(trace)
}
