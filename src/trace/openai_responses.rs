//! OpenAI Responses API: `output[].content[type=output_text].logprobs[]` of a whole response
//! (requested with `include: ["message.output_text.logprobs"]` and `top_logprobs`), or a saved
//! stream of its events (JSONL or SSE), where each `response.output_text.delta` event carries
//! the `logprobs` of its `delta` text.
//!
//! Entries are `{token, bytes, logprob, top_logprobs}` as in Chat Completions and go through the
//! same conversion. The streaming events have no `bytes`: their `token` strings are decoded
//! from their escaped form (`\xf0\x9f\x92`). Every `output_text` part of every `message` item is
//! read, in order; a stream whose deltas carry no logprobs falls back to the `response` of its
//! `response.completed` event.

use serde::Deserialize;

use super::detect::is_stream;
use super::lines::{parse_record, parse_whole, records};
use super::llamacpp::{tokens_from_batches, Batch, Entry};
use super::prompt::count;
use super::{Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::OpenaiResponses;
const NOT_ASKED: &str =
    "the request did not include \"message.output_text.logprobs\" (or asked for no logprobs)";

#[derive(Deserialize)]
#[serde(expecting = "a response object")]
struct Response {
    output: Option<Vec<Item>>,
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(expecting = "an output item")]
struct Item {
    #[serde(rename = "type")]
    kind: Option<String>,
    content: Option<Vec<Part>>,
}

#[derive(Deserialize)]
#[serde(expecting = "a content part")]
struct Part {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    logprobs: Option<Vec<Entry>>,
}

/// Only the event's type, to decide how to read the rest.
#[derive(Deserialize)]
#[serde(expecting = "an event object")]
struct Head {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "a delta event")]
struct Delta {
    delta: Option<String>,
    logprobs: Option<Vec<Entry>>,
}

#[derive(Deserialize)]
#[serde(expecting = "a response event")]
struct Wrapped {
    response: Option<Response>,
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    if is_stream(data) {
        return read_stream(data);
    }
    let resp: Response = parse_whole(data, FORMAT)?;
    from_response(resp, "")
}

/// The trace of a whole response; `at` prefixes error locations (`line 9: response.`).
fn from_response(resp: Response, at: &str) -> Result<Trace, TraceError> {
    let items = resp
        .output
        .ok_or_else(|| shape(format!("{at}output is missing")))?;
    let (mut batches, mut text, mut parts) = (Vec::new(), String::new(), 0);
    for (k, item) in items.into_iter().enumerate() {
        if item.kind.as_deref().is_some_and(|t| t != "message") {
            continue;
        }
        for (j, part) in item.content.unwrap_or_default().into_iter().enumerate() {
            if part.kind.as_deref() != Some("output_text") {
                continue;
            }
            parts += 1;
            text.push_str(part.text.as_deref().unwrap_or(""));
            if let Some(entries) = part.logprobs.filter(|e| !e.is_empty()) {
                batches.push(Batch {
                    label: format!("{at}output[{k}].content[{j}].logprobs"),
                    entries,
                    merged: Vec::new(),
                });
            }
        }
    }
    if parts == 0 {
        return Err(shape(format!("{at}output has no output_text content")));
    }
    if batches.is_empty() {
        return Err(shape(format!(
            "{at}output[].content[].logprobs is missing or empty ({NOT_ASKED})"
        )));
    }
    let mut trace = Trace::new(FORMAT, tokens_from_batches(batches).map_err(shape)?);
    trace.stated_text = Some(text);
    trace.stated_token_count = count(resp.usage.and_then(|u| u.output_tokens));
    trace.model = resp.model;
    Ok(trace)
}

fn read_stream(data: &[u8]) -> Result<Trace, TraceError> {
    let (mut batches, mut text, mut seen) = (Vec::new(), None::<String>, false);
    let mut last: Option<(usize, Response)> = None;
    for rec in records(data) {
        let Some(head) = parse_record::<Head>(&rec, FORMAT, "an event object", seen)? else {
            continue;
        };
        seen = true;
        let kind = head.kind.unwrap_or_default();
        if kind == "response.output_text.delta" {
            let Some(d) = parse_record::<Delta>(&rec, FORMAT, "a delta event", true)? else {
                continue;
            };
            text.get_or_insert_with(String::new)
                .push_str(d.delta.as_deref().unwrap_or(""));
            if let Some(entries) = d.logprobs.filter(|e| !e.is_empty()) {
                batches.push(Batch {
                    label: format!("line {}: logprobs", rec.line),
                    entries,
                    merged: Vec::new(),
                });
            }
        } else if matches!(
            kind.as_str(),
            "response.created" | "response.in_progress" | "response.completed"
        ) || kind == "response.incomplete"
        {
            let w = parse_record::<Wrapped>(&rec, FORMAT, "a response event", true)?;
            if let Some(resp) = w.and_then(|w| w.response) {
                last = Some((rec.line, resp));
            }
        }
    }
    if batches.is_empty() {
        if let Some((line, resp)) = last {
            if resp.output.as_ref().is_some_and(|o| !o.is_empty()) {
                return from_response(resp, &format!("line {line}: response."));
            }
        }
        return Err(shape(format!(
            "no response.output_text.delta event has logprobs ({NOT_ASKED})"
        )));
    }
    let mut trace = Trace::new(FORMAT, tokens_from_batches(batches).map_err(shape)?);
    trace.stated_text = text;
    if let Some((_, resp)) = last {
        trace.stated_token_count = count(resp.usage.and_then(|u| u.output_tokens));
        trace.model = resp.model;
    }
    Ok(trace)
}
