//! OpenAI legacy Completions: parallel arrays `choices[0].logprobs.{tokens, token_logprobs,
//! top_logprobs}` (also vLLM, SGLang, llama-cpp-python and Together for `/v1/completions`).
//!
//! Token strings are decoded with the surface helpers (`bytes:\xe2\x80` is two raw bytes).
//! `text_offset` is ignored: its unit and origin differ between servers.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::lines::parse_whole;
use super::surface;
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::OpenaiCompletions;

#[derive(Deserialize)]
#[serde(expecting = "a completion object")]
struct Response {
    choices: Option<Vec<Choice>>,
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(expecting = "a choice object")]
struct Choice {
    text: Option<String>,
    logprobs: Option<Logprobs>,
}

#[derive(Deserialize)]
#[serde(expecting = "a logprobs object")]
struct Logprobs {
    tokens: Option<Vec<String>>,
    token_logprobs: Option<Vec<Option<f64>>>,
    top_logprobs: Option<Vec<Option<TopMap>>>,
    /// Together and Fireworks add the ids.
    token_ids: Option<Vec<i64>>,
}

/// A `top_logprobs` dict in the order written.
struct TopMap(Vec<(String, Option<f64>)>);

impl<'de> Deserialize<'de> for TopMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TopMap, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of token: logprob")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopMap, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = map.next_entry::<String, Option<f64>>()? {
                    v.push(entry);
                }
                Ok(TopMap(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn shape(reason: String) -> TraceError {
    TraceError::Shape {
        format: FORMAT,
        reason,
    }
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    let resp: Response = parse_whole(data, FORMAT)?;
    let choices = resp
        .choices
        .ok_or_else(|| shape("choices is missing".into()))?;
    let choice = choices
        .into_iter()
        .next()
        .ok_or_else(|| shape("choices is empty".into()))?;
    let lp = choice.logprobs.ok_or_else(|| {
        shape("choices[0].logprobs is missing (the request did not ask for logprobs)".into())
    })?;
    let strings = lp
        .tokens
        .ok_or_else(|| shape("choices[0].logprobs.tokens is missing".into()))?;
    let logprobs = lp
        .token_logprobs
        .ok_or_else(|| shape("choices[0].logprobs.token_logprobs is missing".into()))?;
    let tops = lp.top_logprobs.unwrap_or_default();
    let ids = lp.token_ids.unwrap_or_default();
    let n = strings.len();
    for (name, len) in [
        ("token_logprobs", logprobs.len()),
        ("top_logprobs", tops.len()),
        ("token_ids", ids.len()),
    ] {
        if len != n && (len > 0 || name == "token_logprobs") {
            return Err(shape(format!(
                "choices[0].logprobs.tokens has {n} entries but {name} has {len}"
            )));
        }
    }
    let style = surface::detect_piece_style(strings.iter().map(String::as_str));
    let mut tops = tops.into_iter();
    let mut tokens = Vec::with_capacity(n);
    for (i, (s, lp)) in strings.iter().zip(logprobs).enumerate() {
        let (bytes, lossy) = surface::token_bytes(s, style);
        let (logprob, sentinel) = classify_logprob(lp);
        let mut top: Vec<Alternative> = tops
            .next()
            .flatten()
            .map(|m| m.0)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(alt, alp)| {
                Some(Alternative {
                    bytes: surface::token_bytes(&alt, style).0,
                    logprob: classify_logprob(alp).0?,
                    id: None,
                })
            })
            .collect();
        top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
        tokens.push(Token {
            bytes,
            logprob,
            id: ids.get(i).and_then(|&id| u32::try_from(id).ok()),
            top,
            sentinel,
            lossy,
            ..Token::default()
        });
    }
    let mut trace = Trace::new(FORMAT, tokens);
    trace.stated_text = choice.text;
    trace.stated_token_count = resp
        .usage
        .and_then(|u| u.completion_tokens)
        .and_then(|n| usize::try_from(n).ok());
    trace.model = resp.model;
    Ok(trace)
}
