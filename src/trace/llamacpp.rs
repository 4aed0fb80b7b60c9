//! llama.cpp `llama-server` `/completion`: `completion_probabilities[]`, a whole response or a
//! saved stream of response chunks (JSONL or SSE `data:` lines).
//!
//! Entries come in three shapes: the current `{id, token, bytes, logprob, top_logprobs}`, the
//! same with `post_sampling_probs` (`prob` and `top_probs`, linear), and the old
//! `{content, probs: [{tok_str, prob}]}` (linear, before late 2024). The current entry shape is
//! also what llama-server puts in `choices[].logprobs.content[]`, so the chat reader converts
//! its entries here too.
//!
//! llama-server holds back tokens that end mid-character and sends them merged into the next
//! entry, with that entry's id and logprob only; [`tokens_from_batches`] marks such entries
//! `merged` wherever the response shows it.

use std::collections::HashMap;

use serde::Deserialize;

use super::detect::is_stream;
use super::lines::{parse_record, parse_whole, records};
use super::surface::{self, PieceStyle};
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::LlamacppCompletion;

#[derive(Deserialize)]
#[serde(expecting = "a llama.cpp /completion response object")]
struct Response {
    completion_probabilities: Option<Vec<Entry>>,
    content: Option<String>,
    tokens_predicted: Option<u64>,
    model: Option<String>,
    /// The generated token ids (`return_tokens: true`; empty otherwise).
    tokens: Option<Vec<i64>>,
}

/// One token entry, in any of the shapes llama.cpp and the OpenAI-style APIs use.
#[derive(Deserialize)]
#[serde(expecting = "a token object")]
pub(crate) struct Entry {
    #[serde(alias = "token_id")]
    id: Option<i64>,
    token: Option<String>,
    bytes: Option<Vec<u8>>,
    logprob: Option<f64>,
    /// `post_sampling_probs`: a linear probability instead of `logprob`.
    prob: Option<f64>,
    top_logprobs: Option<Vec<AltEntry>>,
    top_probs: Option<Vec<AltEntry>>,
    /// Old llama.cpp shape: the token's text and a list of linear probabilities.
    content: Option<String>,
    probs: Option<Vec<OldProb>>,
    /// Fireworks' per-entry offset: only its presence is used (it marks echo-capable output).
    pub(crate) text_offset: Option<serde::de::IgnoredAny>,
}

impl Entry {
    /// Neither a logprob nor a probability (the first token of an echoed prompt).
    pub(crate) fn unscored(&self) -> bool {
        self.logprob.is_none() && self.prob.is_none() && self.probs.is_none()
    }
}

#[derive(Deserialize)]
#[serde(expecting = "an alternative token object")]
struct AltEntry {
    #[serde(alias = "token_id")]
    id: Option<i64>,
    token: Option<String>,
    bytes: Option<Vec<u8>>,
    logprob: Option<f64>,
    prob: Option<f64>,
}

#[derive(Deserialize)]
#[serde(expecting = "an object with tok_str and prob")]
struct OldProb {
    tok_str: Option<String>,
    prob: Option<f64>,
}

/// The entries of one response or stream chunk.
pub(crate) struct Batch {
    /// Where the entries are, for errors (`choices[0].logprobs.content`, `line 4: ...`).
    pub label: String,
    pub entries: Vec<Entry>,
    /// Entries known to carry held-back tokens, by index (from the response's token ids).
    pub merged: Vec<bool>,
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    if is_stream(data) {
        return read_stream(data);
    }
    let resp: Response = parse_whole(data, FORMAT)?;
    let Some(entries) = resp.completion_probabilities else {
        return Err(shape(
            "completion_probabilities is missing (the request did not set n_probs)".into(),
        ));
    };
    let merged = match &resp.tokens {
        Some(ids) if !ids.is_empty() => merged_by_ids(&entry_ids(&entries), ids),
        _ => Vec::new(),
    };
    let batch = Batch {
        label: "completion_probabilities".into(),
        entries,
        merged,
    };
    let mut trace = Trace::new(FORMAT, tokens_from_batches(vec![batch]).map_err(shape)?);
    trace.stated_text = resp.content;
    trace.stated_token_count = resp.tokens_predicted.and_then(|n| usize::try_from(n).ok());
    trace.model = resp.model;
    Ok(trace)
}

fn read_stream(data: &[u8]) -> Result<Trace, TraceError> {
    let (mut batches, mut text, mut model) = (Vec::new(), String::new(), None);
    let (mut predicted, mut seen, mut any_probs) = (None::<u64>, false, false);
    for rec in records(data) {
        let Some(chunk) = parse_record::<Response>(&rec, FORMAT, "a response object", seen)? else {
            continue;
        };
        seen = true;
        text.push_str(chunk.content.as_deref().unwrap_or(""));
        model = model.or(chunk.model);
        if let Some(entries) = chunk.completion_probabilities {
            any_probs = true;
            let mut merged = match &chunk.tokens {
                Some(ids) if !ids.is_empty() => merged_by_ids(&entry_ids(&entries), ids),
                _ => Vec::new(),
            };
            // `tokens_predicted` counts every token, so a jump larger than the chunk's entries
            // means tokens were held back and arrive merged into its first entry.
            if let (Some(now), false) = (chunk.tokens_predicted, entries.is_empty()) {
                let before = predicted.unwrap_or(0);
                if now.saturating_sub(before) > entries.len() as u64 {
                    merged.resize(merged.len().max(1), false);
                    merged[0] = true;
                }
            }
            let label = format!("line {}: completion_probabilities", rec.line);
            batches.push(Batch {
                label,
                entries,
                merged,
            });
        }
        predicted = chunk.tokens_predicted.or(predicted);
    }
    if seen && !any_probs {
        return Err(shape(
            "no chunk has completion_probabilities (the request did not set n_probs)".into(),
        ));
    }
    let mut trace = Trace::new(FORMAT, tokens_from_batches(batches).map_err(shape)?);
    trace.stated_text = seen.then_some(text);
    trace.stated_token_count = predicted.and_then(|n| usize::try_from(n).ok());
    trace.model = model;
    Ok(trace)
}

fn entry_ids(entries: &[Entry]) -> Vec<Option<i64>> {
    entries.iter().map(|e| e.id).collect()
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

/// Walk the generated ids alongside the entries: ids skipped before an entry's id were held
/// back and merged into it. Stops at the first entry that cannot be placed.
pub(crate) fn merged_by_ids(entry_ids: &[Option<i64>], generated: &[i64]) -> Vec<bool> {
    let mut flags = vec![false; entry_ids.len()];
    let mut next = 0usize;
    for (flag, &id) in flags.iter_mut().zip(entry_ids) {
        let Some(id) = id else { break };
        let rest = generated.get(next..).unwrap_or(&[]);
        let Some(k) = rest.iter().position(|&g| g == id) else {
            break;
        };
        *flag = k > 0;
        next += k + 1;
    }
    flags
}

/// Convert the entries of all batches into tokens, with one piece style for the whole trace.
/// A last entry with no text at all (an end-of-generation token: `"token":"","bytes":[]`) is
/// dropped; one elsewhere is a token whose bytes were dropped and is kept, empty and `lossy`.
/// The error is a reason for [`TraceError::Shape`].
pub(crate) fn tokens_from_batches(batches: Vec<Batch>) -> Result<Vec<Token>, String> {
    let all = || batches.iter().flat_map(|b| b.entries.iter());
    let style = surface::detect_piece_style(all().filter_map(|e| e.token.as_deref()));
    // Every alternative with exact bytes tells the piece of its id.
    let mut pieces: HashMap<i64, usize> = HashMap::new();
    for e in all() {
        for a in e.top_logprobs.iter().chain(&e.top_probs).flatten() {
            if let (Some(id), Some(b)) = (a.id, &a.bytes) {
                pieces.entry(id).or_insert(b.len());
            }
        }
    }
    let total = all().count();
    let mut tokens = Vec::with_capacity(total);
    let mut seen = 0;
    for batch in batches {
        for (i, e) in batch.entries.into_iter().enumerate() {
            seen += 1;
            let flagged = batch.merged.get(i).copied().unwrap_or(false);
            let piece_len = e.id.and_then(|id| pieces.get(&id).copied());
            let mut t = convert(e, style).map_err(|r| format!("{}[{i}] {r}", batch.label))?;
            if t.bytes.is_empty() && t.lossy && seen == total {
                continue;
            }
            t.merged = flagged
                || match piece_len {
                    Some(len) => t.bytes.len() > len,
                    None => starts_with_held_back(&t.bytes),
                };
            tokens.push(t);
        }
    }
    Ok(tokens)
}

/// A held-back lead byte followed by the next token: the bytes break UTF-8 at a lead byte
/// (or a byte that is never valid) and go on after the broken sequence. One token never
/// looks like that; a token that starts with stray continuation bytes does not count.
pub(crate) fn starts_with_held_back(b: &[u8]) -> bool {
    let Err(e) = std::str::from_utf8(b) else {
        return false;
    };
    let at = e.valid_up_to();
    match e.error_len() {
        Some(n) => b.get(at).is_some_and(|&x| x >= 0xC0) && at + n < b.len(),
        None => false,
    }
}

fn convert(e: Entry, style: PieceStyle) -> Result<Token, String> {
    if e.probs.is_some() || (e.content.is_some() && e.token.is_none() && e.bytes.is_none()) {
        return Ok(convert_old(e));
    }
    let token_empty = e.token.as_deref().is_none_or(str::is_empty);
    let (bytes, lossy) = match (e.bytes, &e.token) {
        (Some(b), _) => {
            let lossy = has_replacement(&b);
            (b, lossy)
        }
        (None, Some(t)) => surface::token_bytes(t, style),
        (None, None) => return Err("has neither token nor bytes".into()),
    };
    // No text at all: an end-of-generation entry (dropped by the caller when it is the last
    // one), or a token whose partial bytes the server dropped (vLLM V1, llama-cpp-python).
    let lossy = lossy || (bytes.is_empty() && token_empty);
    let (logprob, sentinel) = classify_logprob(e.logprob.or(e.prob.map(f64::ln)));
    let alts = e.top_logprobs.into_iter().chain(e.top_probs).flatten();
    let top = alts
        .filter_map(|a| {
            let (lp, _) = classify_logprob(a.logprob.or(a.prob.map(f64::ln)));
            let bytes = match (a.bytes, a.token) {
                (Some(b), _) => b,
                (None, Some(t)) => surface::token_bytes(&t, style).0,
                (None, None) => return None,
            };
            Some(Alternative {
                bytes: bytes.into(),
                logprob: lp?,
                id: a.id.and_then(|i| u32::try_from(i).ok()),
            })
        })
        .collect();
    Ok(Token {
        bytes: bytes.into(),
        logprob,
        id: e.id.and_then(|i| u32::try_from(i).ok()),
        top,
        sentinel,
        lossy,
        ..Token::default()
    })
}

/// Old shape: `content` is the token's text (`byte: \xe2` for a lone byte), and its logprob is
/// the ln of the probability listed for the same string, if it is listed.
fn convert_old(e: Entry) -> Token {
    let content = e.content.unwrap_or_default();
    let probs = e.probs.unwrap_or_default();
    let chosen = probs
        .iter()
        .find(|p| p.tok_str.as_deref() == Some(content.as_str()));
    let (logprob, sentinel) = classify_logprob(chosen.and_then(|p| p.prob).map(f64::ln));
    let top = probs
        .iter()
        .filter_map(|p| {
            let (lp, _) = classify_logprob(p.prob.map(f64::ln));
            Some(Alternative {
                bytes: old_piece_bytes(p.tok_str.as_deref()?).into(),
                logprob: lp?,
                id: None,
            })
        })
        .collect();
    Token {
        bytes: old_piece_bytes(&content).into(),
        logprob,
        top,
        sentinel,
        lossy: content.contains('\u{FFFD}'),
        ..Token::default()
    }
}

fn old_piece_bytes(s: &str) -> Vec<u8> {
    match s.strip_prefix("byte: ") {
        Some(esc) => surface::unescape_bytes(esc),
        None => surface::token_bytes(s, PieceStyle::Text).0,
    }
}

/// The bytes hold U+FFFD: a provider that derived them from a lossy string (vLLM, Ollama).
pub(crate) fn has_replacement(b: &[u8]) -> bool {
    memchr::memmem::find(b, "\u{FFFD}".as_bytes()).is_some()
}
