//! OpenAI legacy Completions: parallel arrays `choices[0].logprobs.{tokens, token_logprobs,
//! top_logprobs}` (also vLLM, SGLang, llama-cpp-python, Fireworks with an integer `logprobs`,
//! and Together, which uses these arrays for chat too).
//!
//! Token strings are decoded with the surface helpers (`bytes:\xe2\x80` is two raw bytes).
//! An empty token string stands for bytes the server dropped (llama-cpp-python decodes each
//! token with `errors="ignore"`, vLLM V1 gives `""` for byte-fallback tokens): the token is
//! kept, with no bytes, and marked `lossy`. vLLM's `token_id:N` strings
//! (`return_tokens_as_token_ids`) carry no text: such a token gets the text another part of
//! the response gives for that id, or none (`lossy`).
//!
//! Echo: with `echo` the arrays start with the prompt's tokens. They are the entries beyond
//! `usage.completion_tokens` (without a usage count, everything is taken as output). Together
//! sends the echoed prompt separately, as top-level `prompt[0].logprobs` in the same array
//! shape. `text_offset` is ignored: its unit and origin differ between servers.

use std::collections::HashMap;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::lines::parse_whole;
use super::llamacpp::Entry;
use super::prompt::{count, echoed, join, strip_echo};
use super::surface;
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::OpenaiCompletions;

#[derive(Deserialize)]
#[serde(expecting = "a completion object")]
struct Response {
    choices: Option<Vec<Choice>>,
    model: Option<String>,
    usage: Option<Usage>,
    /// Together with `echo`: `[{text, logprobs}]`.
    prompt: Option<Vec<PromptPart>>,
}

#[derive(Deserialize)]
pub(crate) struct Usage {
    pub completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(expecting = "a prompt object")]
struct PromptPart {
    logprobs: Option<Logprobs>,
}

#[derive(Deserialize)]
#[serde(expecting = "a choice object")]
struct Choice {
    text: Option<String>,
    /// Together's chat responses.
    message: Option<Message>,
    logprobs: Option<Logprobs>,
}

#[derive(Deserialize)]
pub(crate) struct Message {
    pub content: Option<String>,
}

/// The legacy arrays (and, for readers that accept either shape, the chat `content[]`).
#[derive(Deserialize, Default)]
#[serde(expecting = "a logprobs object")]
pub(crate) struct Logprobs {
    pub tokens: Option<Vec<String>>,
    pub token_logprobs: Option<Vec<Option<f64>>>,
    pub top_logprobs: Option<TopList>,
    /// Together and Fireworks add the ids.
    pub token_ids: Option<Vec<i64>>,
    pub content: Option<Vec<Entry>>,
}

/// `top_logprobs`: one entry per token (a dict, or a list of `{token, logprob}`), or `null`.
/// A single dict for the whole response (as one schema writes it) gives nothing per token.
#[derive(Default)]
pub(crate) struct TopList(Vec<Option<TopMap>>);

/// One position's alternatives in the order written.
pub(crate) struct TopMap(Vec<(String, Option<f64>)>);

#[derive(Deserialize)]
struct AltObj {
    token: Option<String>,
    logprob: Option<f64>,
}

impl<'de> Deserialize<'de> for TopList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TopList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of token: logprob objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopList, A::Error> {
                let mut v = Vec::new();
                while let Some(m) = seq.next_element::<Option<TopMap>>()? {
                    v.push(m);
                }
                Ok(TopList(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopList, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TopList::default())
            }
        }
        d.deserialize_any(V)
    }
}

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
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopMap, A::Error> {
                let mut v = Vec::new();
                while let Some(a) = seq.next_element::<AltObj>()? {
                    if let Some(t) = a.token {
                        v.push((t, a.logprob));
                    }
                }
                Ok(TopMap(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
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
    let no_ids = HashMap::new();
    let mut tokens = tokens_from_arrays(lp, "choices[0].logprobs", &no_ids).map_err(shape)?;
    let completion = count(resp.usage.and_then(|u| u.completion_tokens));
    // An echoed prompt starts with a token nothing was predicted for.
    let starts_unscored = tokens
        .first()
        .is_some_and(|t| t.logprob.is_none() && !t.sentinel);
    let echo = if starts_unscored {
        echoed(tokens.len(), completion)
    } else {
        0
    };
    let mut prompt: Vec<Token> = tokens.drain(..echo).collect();
    let text = choice.text.or(choice.message.and_then(|m| m.content));
    let text = strip_echo(text, &prompt);
    if let Some(lp) = resp.prompt.and_then(|p| p.into_iter().next()?.logprobs) {
        let mut together = tokens_from_arrays(lp, "prompt[0].logprobs", &no_ids).map_err(shape)?;
        together.append(&mut prompt);
        prompt = together;
    }
    let mut trace = Trace::new(FORMAT, tokens);
    trace.stated_text = text;
    trace.stated_token_count = completion;
    trace.model = resp.model;
    join(&mut trace, prompt);
    Ok(trace)
}

/// A token string's bytes, whether they are lossy, and the id a `token_id:N` string names.
type Decode<'a> = dyn Fn(&str) -> (Vec<u8>, bool, Option<u32>) + 'a;

/// `token_id:123` → 123.
fn token_id_string(s: &str) -> Option<u32> {
    s.strip_prefix("token_id:")?.parse().ok()
}

/// Convert the parallel arrays under `label` into tokens. `id_text` gives the bytes of ids
/// whose token string is only `token_id:N`.
pub(crate) fn tokens_from_arrays(
    lp: Logprobs,
    label: &str,
    id_text: &HashMap<u32, Vec<u8>>,
) -> Result<Vec<Token>, String> {
    let strings = lp
        .tokens
        .ok_or_else(|| format!("{label}.tokens is missing"))?;
    let logprobs = lp
        .token_logprobs
        .ok_or_else(|| format!("{label}.token_logprobs is missing"))?;
    let tops = lp.top_logprobs.unwrap_or_default().0;
    let ids = lp.token_ids.unwrap_or_default();
    let n = strings.len();
    for (name, len) in [
        ("token_logprobs", logprobs.len()),
        ("top_logprobs", tops.len()),
        ("token_ids", ids.len()),
    ] {
        if len != n && (len > 0 || name == "token_logprobs") {
            return Err(format!(
                "{label}.tokens has {n} entries but {name} has {len}"
            ));
        }
    }
    let texts = strings.iter().filter(|s| token_id_string(s).is_none());
    let style = surface::detect_piece_style(texts.map(String::as_str));
    let decode = |s: &str| -> (Vec<u8>, bool, Option<u32>) {
        match token_id_string(s) {
            Some(id) => match id_text.get(&id) {
                Some(b) => (b.clone(), b.is_empty(), Some(id)),
                None => (Vec::new(), true, Some(id)),
            },
            None => {
                let (b, lossy) = surface::token_bytes(s, style);
                (b, lossy || s.is_empty(), None)
            }
        }
    };
    if n > 0 && strings.iter().all(|s| decode(s).0.is_empty()) {
        if let Some(s) = strings.iter().find(|s| token_id_string(s).is_some()) {
            return Err(format!(
                "{label}.tokens gives token ids only (such as {s:?}, from return_tokens_as_token_ids), not their text"
            ));
        }
    }
    let mut tops = tops.into_iter();
    let mut tokens = Vec::with_capacity(n);
    for (i, (s, lp)) in strings.iter().zip(logprobs).enumerate() {
        let (bytes, lossy, string_id) = decode(s);
        let (logprob, sentinel) = classify_logprob(lp);
        let listed = tops.next().flatten().map(|m| m.0).unwrap_or_default();
        tokens.push(Token {
            bytes: bytes.into(),
            logprob,
            id: ids
                .get(i)
                .and_then(|&id| u32::try_from(id).ok())
                .or(string_id),
            top: alternatives(listed, &decode),
            sentinel,
            lossy,
            ..Token::default()
        });
    }
    Ok(tokens)
}

fn alternatives(listed: Vec<(String, Option<f64>)>, decode: &Decode<'_>) -> Vec<Alternative> {
    let mut top: Vec<Alternative> = listed
        .into_iter()
        .filter_map(|(alt, alp)| {
            let (bytes, _, id) = decode(&alt);
            Some(Alternative {
                bytes: bytes.into(),
                logprob: classify_logprob(alp).0?,
                id,
            })
        })
        .collect();
    top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    top
}
