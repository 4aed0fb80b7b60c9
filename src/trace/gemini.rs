//! Google Gemini (Developer API) and Vertex AI `generateContent` with
//! `generationConfig: {responseLogprobs: true, logprobs: N}`:
//! `candidates[0].logprobsResult.chosenCandidates[]` (`{token, tokenId, logProbability}`, one
//! per decoding step) and `topCandidates[].candidates[]` (the alternatives at each step).
//! Also `streamGenerateContent` saved as SSE / JSONL or as its JSON array of chunks (the
//! chunks' tokens are concatenated), and the Python SDK's snake_case dump
//! (`logprobs_result`, `chosen_candidates`, `log_probability`, `token_id`).
//!
//! How Gemini shows a token that holds part of a character is not documented; a `"�"` in a
//! token marks it `lossy`.

use serde::Deserialize;

use super::detect::is_stream;
use super::lines::{parse_record, records};
use super::prompt::count;
use super::surface::{self, PieceStyle};
use super::{Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::Gemini;

#[derive(Deserialize)]
#[serde(expecting = "a Gemini response object")]
struct Response {
    candidates: Option<Vec<Candidate>>,
    #[serde(rename = "usageMetadata", alias = "usage_metadata")]
    usage: Option<Usage>,
    #[serde(rename = "modelVersion", alias = "model_version")]
    model: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a Gemini response object or a list of them")]
enum Body {
    One(Response),
    Many(Vec<Response>),
}

#[derive(Deserialize)]
struct Usage {
    #[serde(rename = "candidatesTokenCount", alias = "candidates_token_count")]
    candidates: Option<u64>,
}

#[derive(Deserialize)]
#[serde(expecting = "a candidate object")]
struct Candidate {
    content: Option<Content>,
    #[serde(rename = "logprobsResult", alias = "logprobs_result")]
    logprobs: Option<LogprobsResult>,
}

#[derive(Deserialize)]
struct Content {
    parts: Option<Vec<PartText>>,
}

#[derive(Deserialize)]
struct PartText {
    text: Option<String>,
    /// A thinking model's thought summary: not part of the answer.
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(expecting = "a logprobsResult object")]
struct LogprobsResult {
    #[serde(rename = "chosenCandidates", alias = "chosen_candidates")]
    chosen: Option<Vec<Cand>>,
    #[serde(rename = "topCandidates", alias = "top_candidates")]
    top: Option<Vec<Option<TopCandidates>>>,
}

#[derive(Deserialize)]
struct TopCandidates {
    candidates: Option<Vec<Cand>>,
}

#[derive(Deserialize)]
#[serde(expecting = "a token candidate object")]
struct Cand {
    token: Option<String>,
    #[serde(rename = "tokenId", alias = "token_id")]
    id: Option<i64>,
    #[serde(rename = "logProbability", alias = "log_probability")]
    logprob: Option<f64>,
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
                chunks.push(r);
            }
        }
    } else {
        let body: Body = serde_json::from_slice(data).map_err(|e| {
            if e.is_data() {
                shape("expected a Gemini response object (candidates)".into())
            } else {
                TraceError::Json(e.to_string())
            }
        })?;
        match body {
            Body::One(r) => chunks.push(r),
            Body::Many(v) => chunks = v,
        }
    }
    let (mut steps, mut text, mut model, mut stated) = (Vec::new(), None, None, None);
    let mut any_candidate = false;
    for r in chunks {
        model = r.model.or(model);
        stated = r.usage.and_then(|u| u.candidates).or(stated);
        let Some(c) = r.candidates.and_then(|c| c.into_iter().next()) else {
            continue;
        };
        any_candidate = true;
        for p in c.content.and_then(|c| c.parts).unwrap_or_default() {
            if let (Some(t), false) = (p.text, p.thought) {
                text.get_or_insert_with(String::new).push_str(&t);
            }
        }
        let Some(lr) = c.logprobs else { continue };
        let mut tops = lr.top.unwrap_or_default().into_iter();
        for chosen in lr.chosen.unwrap_or_default() {
            let top = tops.next().flatten().and_then(|t| t.candidates);
            steps.push((chosen, top.unwrap_or_default()));
        }
    }
    if !any_candidate {
        return Err(shape("candidates is missing or empty".into()));
    }
    if steps.is_empty() {
        return Err(shape(
            "candidates[0].logprobsResult.chosenCandidates is missing or empty (the request did not set responseLogprobs)".into(),
        ));
    }
    let style = surface::detect_piece_style(steps.iter().filter_map(|(c, _)| c.token.as_deref()));
    let tokens = steps
        .into_iter()
        .map(|(c, top)| convert(c, top, style))
        .collect();
    let mut trace = Trace::new(FORMAT, tokens);
    trace.stated_text = text;
    trace.stated_token_count = count(stated);
    trace.model = model;
    Ok(trace)
}

fn convert(c: Cand, top: Vec<Cand>, style: PieceStyle) -> Token {
    let alternatives = top.iter().map(|a| (a.token.as_deref(), a.logprob, a.id));
    surface::text_token(c.token.as_deref(), c.logprob, c.id, alternatives, style)
}
