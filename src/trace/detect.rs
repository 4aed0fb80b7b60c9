//! Which reader a trace file needs, decided from the keys it has.
//!
//! Only small probes are built: every value hedge does not look at is skipped with
//! [`IgnoredAny`], so sniffing a 100 MB response costs one parse and almost no memory.

use serde::de::IgnoredAny;

use super::lines::{json_error, records, trim, Record};
use super::probe::{probe, ObjProbe, Top};
use super::{TraceError, TraceFormat};

/// Sniff the format of a trace file.
pub fn detect(data: &[u8]) -> Result<TraceFormat, TraceError> {
    let mut recs = records(data);
    let Some(first) = recs.next() else {
        return Err(TraceError::Empty);
    };
    let more = recs.next().is_some();
    if first.sse || more {
        match probe(first.json) {
            Ok(Top::Object(p)) => return classify_stream(first, p),
            Ok(Top::Array(_)) if first.sse => {
                return Err(TraceError::Unrecognised("an array".into()))
            }
            Ok(Top::Other(what)) if first.sse => return Err(TraceError::Unrecognised(what.into())),
            Err(e) if first.sse => return Err(json_error(&e, first.line, first.col)),
            _ => {} // the first line is not a JSON value alone: a pretty-printed document
        }
    }
    match probe(trim(data)).map_err(|e| TraceError::Json(e.to_string()))? {
        Top::Object(p) => classify_whole(&p).ok_or_else(|| unrecognised(&p)),
        Top::Array(Some(p)) => classify_list(&p).ok_or(TraceError::Unrecognised("an array".into())),
        Top::Array(None) => Err(TraceError::Unrecognised("an array".into())),
        Top::Other(what) => Err(TraceError::Unrecognised(what.into())),
    }
}

/// Whether the data is a saved stream (SSE or several JSON objects, one per line) rather
/// than one JSON document.
pub(crate) fn is_stream(data: &[u8]) -> bool {
    let mut recs = records(data);
    match recs.next() {
        Some(first) if first.sse => true,
        Some(first) => {
            recs.next().is_some() && serde_json::from_slice::<IgnoredAny>(first.json).is_ok()
        }
        None => false,
    }
}

fn classify_whole(p: &ObjProbe) -> Option<TraceFormat> {
    if p.has("hedge") {
        return Some(TraceFormat::Native);
    }
    if p.has("completion_probabilities") {
        return Some(TraceFormat::LlamacppCompletion);
    }
    if p.choices_present {
        if p.prompt_logprobs || p.choice.as_ref().is_some_and(|c| c.prompt_logprobs) {
            return Some(TraceFormat::VllmPromptLogprobs);
        }
        let Some(c) = &p.choice else {
            // An empty `choices`: the chat reader says so.
            return Some(TraceFormat::OpenaiChat);
        };
        let lp = &c.logprobs;
        return if lp.content || lp.refusal {
            Some(TraceFormat::OpenaiChat)
        } else if lp.tokens || lp.token_logprobs {
            Some(TraceFormat::OpenaiCompletions)
        } else if c.message || c.delta {
            // A chat response without logprobs: the chat reader explains what is missing.
            Some(TraceFormat::OpenaiChat)
        } else if c.text {
            Some(TraceFormat::OpenaiCompletions)
        } else {
            None
        };
    }
    if p.has("content") && (p.has("tokens_predicted") || p.has("generation_settings")) {
        // A llama.cpp response without `n_probs`: its reader explains what is missing.
        return Some(TraceFormat::LlamacppCompletion);
    }
    if p.has("output") && (p.object.as_deref() == Some("response") || p.has("output_text")) {
        return Some(TraceFormat::OpenaiResponses);
    }
    classify_list(p).or_else(|| classify_record(p))
}

/// The shapes that also come as a list of responses (or of tokens), by their first element.
fn classify_list(p: &ObjProbe) -> Option<TraceFormat> {
    if p.has("meta_info") {
        Some(TraceFormat::Sglang)
    } else if p.has("candidates") {
        Some(TraceFormat::Gemini)
    } else if p.has("generated_text") {
        Some(TraceFormat::Tgi)
    } else if is_hf_token(p) {
        Some(TraceFormat::HfTransformers)
    } else {
        None
    }
}

fn is_hf_token(p: &ObjProbe) -> bool {
    p.has("logprob")
        && ["token_id", "token", "id", "bytes"]
            .iter()
            .any(|k| p.has(k))
}

fn is_ollama(p: &ObjProbe) -> bool {
    (p.has("logprobs") && ["done", "response", "message"].iter().any(|k| p.has(k)))
        || (p.has("done") && p.has("created_at"))
}

fn classify_record(p: &ObjProbe) -> Option<TraceFormat> {
    if p.has("completion_probabilities")
        || (p.has("content") && (p.has("stop") || p.has("tokens_predicted")))
    {
        Some(TraceFormat::LlamacppCompletion)
    } else if p.choices_present {
        Some(TraceFormat::OpenaiChatStream)
    } else if p
        .kind
        .as_deref()
        .is_some_and(|t| t.starts_with("response."))
    {
        Some(TraceFormat::OpenaiResponses)
    } else if p.has("candidates") {
        Some(TraceFormat::Gemini)
    } else if p.has("token") && (p.has("generated_text") || p.has("details")) {
        Some(TraceFormat::Tgi)
    } else if is_ollama(p) {
        Some(TraceFormat::Ollama)
    } else if is_hf_token(p) {
        Some(TraceFormat::HfTransformers)
    } else {
        None
    }
}

/// Decide a stream's format from its first records (a role-only or usage-only chunk may not
/// tell, so look a little further).
fn classify_stream(first: Record<'_>, p: ObjProbe) -> Result<TraceFormat, TraceError> {
    if p.has("hedge") && !first.sse {
        return Ok(TraceFormat::Native);
    }
    if let Some(f) = classify_record(&p) {
        return Ok(f);
    }
    for rec in records(first.rest).take(8) {
        match probe(rec.json) {
            Ok(Top::Object(q)) => {
                if let Some(f) = classify_record(&q) {
                    return Ok(f);
                }
            }
            Ok(Top::Other(_) | Top::Array(_)) => break,
            Err(e) if e.is_eof() && rec.unterminated => break,
            Err(e) => return Err(json_error(&e, first.line + rec.line, rec.col)),
        }
    }
    Err(unrecognised(&p))
}

fn unrecognised(p: &ObjProbe) -> TraceError {
    const SHOWN: usize = 20;
    let mut s = if p.keys.is_empty() {
        "none".to_string()
    } else {
        p.keys
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if p.keys.len() > SHOWN {
        s.push_str(&format!(" and {} more", p.keys.len() - SHOWN));
    }
    TraceError::Unrecognised(s)
}
