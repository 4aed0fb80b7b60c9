//! vLLM's `prompt_logprobs` (prompt scoring): `choices[0].prompt_logprobs` on `/v1/completions`
//! (top level on `/v1/chat/completions`), one entry per prompt token: `null` for the first,
//! then a dict keyed by token id (as a string) of `{logprob, rank, decoded_token}` holding the
//! prompt's token (first, or the one named by `prompt_token_ids`) and its top alternatives.
//!
//! The output is read from `choices[0].logprobs`, in the legacy array shape (completions,
//! see [`super::openai_legacy`]) or the chat `content[]` shape. With `echo` the arrays start
//! with the prompt's tokens again; those are dropped in favour of `prompt_logprobs` (the
//! entries beyond `usage.completion_tokens`, or else as many as `prompt_logprobs` has when
//! the first is unscored). The prompt's first token has no dict: its text is taken from the
//! echoed arrays when there are any, otherwise it is an empty `lossy` token.
//!
//! `decoded_token` is `"�"` or `""` for a token holding part of a character (by vLLM version):
//! such tokens are `lossy`. `token_id:N` token strings (`return_tokens_as_token_ids`) get the
//! text `prompt_logprobs` gives for that id. A response without `prompt_logprobs` is read as
//! `openai-completions` or `openai-chat`.

use std::collections::HashMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::lines::parse_whole;
use super::llamacpp::{tokens_from_batches, Batch};
use super::openai_legacy::{tokens_from_arrays, Logprobs, Message, Usage};
use super::prompt::{count, echoed, join, strip_echo};
use super::surface;
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::VllmPromptLogprobs;

#[derive(Deserialize)]
#[serde(expecting = "a completion object")]
struct Response {
    choices: Option<Vec<Choice>>,
    model: Option<String>,
    usage: Option<Usage>,
    /// Chat responses carry these at the top level.
    prompt_logprobs: Option<Vec<Option<PromptMap>>>,
    prompt_token_ids: Option<Vec<i64>>,
}

#[derive(Deserialize)]
#[serde(expecting = "a choice object")]
struct Choice {
    text: Option<String>,
    message: Option<Message>,
    logprobs: Option<Logprobs>,
    prompt_logprobs: Option<Vec<Option<PromptMap>>>,
    prompt_token_ids: Option<Vec<i64>>,
}

#[derive(Deserialize)]
struct PromptLogprob {
    logprob: Option<f64>,
    decoded_token: Option<String>,
}

/// One prompt position's dict, in the order written.
struct PromptMap(Vec<(String, PromptLogprob)>);

impl<'de> Deserialize<'de> for PromptMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PromptMap, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PromptMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of token id: {logprob, rank, decoded_token}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PromptMap, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = map.next_entry::<String, PromptLogprob>()? {
                    v.push(entry);
                }
                Ok(PromptMap(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    let resp: Response = parse_whole(data, FORMAT)?;
    let choice = resp
        .choices
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| shape("choices is missing or empty".into()))?;
    let (positions, ids) = match (choice.prompt_logprobs, resp.prompt_logprobs) {
        (Some(p), _) => (p, choice.prompt_token_ids),
        (None, Some(p)) => (p, resp.prompt_token_ids),
        (None, None) => return Err(shape("prompt_logprobs is missing".into())),
    };
    let ids = ids.unwrap_or_default();
    let id_text = id_texts(&positions);
    let completion = count(resp.usage.and_then(|u| u.completion_tokens));
    let lp = choice.logprobs.unwrap_or_default();
    let mut output = if let Some(entries) = lp.content {
        let batch = Batch {
            label: "choices[0].logprobs.content".into(),
            entries,
            merged: Vec::new(),
        };
        tokens_from_batches(vec![batch]).map_err(shape)?
    } else if lp.tokens.is_some() {
        tokens_from_arrays(lp, "choices[0].logprobs", &id_text).map_err(shape)?
    } else {
        Vec::new()
    };
    let starts_unscored = output.first().is_some_and(|t| t.logprob.is_none());
    let echo = match completion {
        Some(_) => echoed(output.len(), completion),
        None if starts_unscored && output.len() >= positions.len() => positions.len(),
        None => 0,
    };
    let echoed_prompt: Vec<Token> = output.drain(..echo).collect();
    let mut prompt = prompt_tokens(positions, &ids);
    if let (Some(first), Some(echo_first)) = (prompt.first_mut(), echoed_prompt.first()) {
        if first.bytes.is_empty() && !echo_first.bytes.is_empty() {
            first.bytes = echo_first.bytes.clone();
            first.lossy = echo_first.lossy;
        }
    }
    let mut trace = Trace::new(FORMAT, output);
    let text = choice.text.or(choice.message.and_then(|m| m.content));
    trace.stated_text = strip_echo(text, &echoed_prompt);
    trace.stated_token_count = completion;
    trace.model = resp.model;
    join(&mut trace, prompt);
    Ok(trace)
}

/// Every id's decoded text, for `token_id:N` strings.
fn id_texts(positions: &[Option<PromptMap>]) -> HashMap<u32, Vec<u8>> {
    let mut out = HashMap::new();
    for (key, lp) in positions.iter().flatten().flat_map(|m| &m.0) {
        if let (Ok(id), Some(t)) = (key.parse::<u32>(), &lp.decoded_token) {
            out.entry(id).or_insert_with(|| surface::unescape_bytes(t));
        }
    }
    out
}

fn prompt_tokens(positions: Vec<Option<PromptMap>>, ids: &[i64]) -> Vec<Token> {
    let texts: Vec<&str> = positions
        .iter()
        .flatten()
        .flat_map(|m| &m.0)
        .filter_map(|(_, lp)| lp.decoded_token.as_deref())
        .collect();
    let style = surface::detect_piece_style(texts);
    let mut out = Vec::with_capacity(positions.len());
    for (i, pos) in positions.into_iter().enumerate() {
        let want = ids.get(i).map(|id| id.to_string());
        let Some(map) = pos else {
            out.push(Token {
                id: ids.get(i).and_then(|&id| u32::try_from(id).ok()),
                lossy: true,
                ..Token::default()
            });
            continue;
        };
        let chosen = match &want {
            Some(w) => map.0.iter().position(|(k, _)| k == w),
            None => (!map.0.is_empty()).then_some(0),
        };
        let bytes_of = |lp: &PromptLogprob| match lp.decoded_token.as_deref() {
            Some(t) => surface::token_bytes(t, style),
            None => (Vec::new(), true),
        };
        let mut token = Token {
            id: ids.get(i).and_then(|&id| u32::try_from(id).ok()),
            lossy: true,
            ..Token::default()
        };
        if let Some(c) = chosen {
            let (key, lp) = &map.0[c];
            let (bytes, lossy) = bytes_of(lp);
            let (logprob, sentinel) = classify_logprob(lp.logprob);
            token = Token {
                lossy: lossy || bytes.is_empty(),
                bytes: bytes.into(),
                logprob,
                sentinel,
                id: key.parse().ok(),
                ..Token::default()
            };
        }
        let mut top: Vec<Alternative> = map
            .0
            .iter()
            .filter_map(|(key, lp)| {
                Some(Alternative {
                    logprob: classify_logprob(lp.logprob).0?,
                    bytes: bytes_of(lp).0.into(),
                    id: key.parse().ok(),
                })
            })
            .collect();
        top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
        token.top = top;
        out.push(token);
    }
    out
}
