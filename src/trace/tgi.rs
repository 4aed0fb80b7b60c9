//! Hugging Face Text Generation Inference `/generate` with `"details": true`:
//! `details.tokens[]` (`{id, text, logprob, special}`), `details.top_tokens[][]` (with
//! `top_n_tokens`) and, with `decoder_input_details`, the prompt's `details.prefill[]`
//! (`{id, text, logprob}`, the first `logprob` `null`). Also a saved SSE stream of
//! `/generate_stream` events (`{"token": {...}, "top_tokens": [...]}`), and the one-element
//! array that TGI's `/` route returns.
//!
//! Generated text is decoded incrementally: a token that leaves a character unfinished has
//! `text` `""`, and the whole character arrives with the next token. Such tokens are kept,
//! empty and `lossy` (their logprob is real; their bytes are in the next token). Special tokens
//! (`special: true`, such as `</s>`) are not in `generated_text` and are left out. Prefill
//! texts are each token decoded alone, so a byte-fallback piece shows `"�"` (`lossy`).

use serde::Deserialize;

use super::lines::{parse_record, records};
use super::prompt::{count, join};
use super::surface::{self, PieceStyle};
use super::{Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::Tgi;

#[derive(Deserialize)]
#[serde(expecting = "a TGI response object")]
struct Response {
    generated_text: Option<String>,
    details: Option<Details>,
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a TGI response object or a list of them")]
enum Body {
    One(Response),
    Many(Vec<Response>),
}

#[derive(Deserialize)]
#[serde(expecting = "a details object")]
struct Details {
    generated_tokens: Option<u64>,
    prefill: Option<Vec<TgiToken>>,
    tokens: Option<Vec<TgiToken>>,
    top_tokens: Option<Vec<Option<Vec<TgiToken>>>>,
}

#[derive(Deserialize)]
#[serde(expecting = "a token object")]
struct TgiToken {
    id: Option<i64>,
    text: Option<String>,
    logprob: Option<f64>,
    #[serde(default)]
    special: bool,
}

#[derive(Deserialize)]
#[serde(expecting = "a stream event object")]
struct Event {
    token: Option<TgiToken>,
    top_tokens: Option<Vec<TgiToken>>,
    generated_text: Option<String>,
    details: Option<Details>,
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    if super::detect::is_stream(data) {
        return read_stream(data);
    }
    let body: Body = serde_json::from_slice(data).map_err(|e| {
        if e.is_data() {
            shape("expected a TGI response object (generated_text, details)".into())
        } else {
            TraceError::Json(e.to_string())
        }
    })?;
    let resp = match body {
        Body::One(r) => r,
        Body::Many(v) => v
            .into_iter()
            .next()
            .ok_or_else(|| shape("the response list is empty".into()))?,
    };
    let details = resp.details.ok_or_else(|| {
        shape("details is missing (the request did not set \"details\": true)".into())
    })?;
    let generated = details
        .tokens
        .ok_or_else(|| shape("details.tokens is missing".into()))?;
    let tops = details.top_tokens.unwrap_or_default();
    let prefill = details.prefill.unwrap_or_default();
    let style = style_of(prefill.iter().chain(&generated));
    let mut tops = tops.into_iter();
    let tokens = generated
        .into_iter()
        .map(|t| (t, tops.next().flatten().unwrap_or_default()))
        .filter(|(t, _)| !t.special)
        .map(|(t, top)| convert(t, top, style))
        .collect();
    let prompt = prefill
        .into_iter()
        .map(|t| convert(t, Vec::new(), style))
        .collect();
    let mut trace = Trace::new(FORMAT, tokens);
    trace.stated_text = resp.generated_text;
    trace.stated_token_count = count(details.generated_tokens);
    join(&mut trace, prompt);
    Ok(trace)
}

fn read_stream(data: &[u8]) -> Result<Trace, TraceError> {
    let (mut events, mut seen) = (Vec::new(), false);
    let (mut text, mut stated) = (None, None);
    for rec in records(data) {
        let Some(ev) = parse_record::<Event>(&rec, FORMAT, "a stream event object", seen)? else {
            continue;
        };
        seen = true;
        text = ev.generated_text.or(text);
        stated = ev.details.and_then(|d| d.generated_tokens).or(stated);
        if let Some(t) = ev.token.filter(|t| !t.special) {
            events.push((t, ev.top_tokens.unwrap_or_default()));
        }
    }
    if seen && events.is_empty() {
        return Err(shape("no event has a token".into()));
    }
    let style = style_of(events.iter().map(|(t, _)| t));
    let tokens = events
        .into_iter()
        .map(|(t, top)| convert(t, top, style))
        .collect();
    let mut trace = Trace::new(FORMAT, tokens);
    trace.stated_text = text;
    trace.stated_token_count = count(stated);
    Ok(trace)
}

fn style_of<'a>(tokens: impl Iterator<Item = &'a TgiToken>) -> PieceStyle {
    surface::detect_piece_style(tokens.filter_map(|t| t.text.as_deref()))
}

fn convert(t: TgiToken, top: Vec<TgiToken>, style: PieceStyle) -> Token {
    let alternatives = top.iter().map(|a| (a.text.as_deref(), a.logprob, a.id));
    surface::text_token(t.text.as_deref(), t.logprob, t.id, alternatives, style)
}
