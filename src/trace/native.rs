//! hedge's own trace format: JSONL, one header line, then one line per generated token.
//!
//! ```text
//! {"hedge":"trace","version":1,"model":"llama-3-8b","vocab_size":128256,"text":"Paris is","token_count":3}
//! {"text":"Paris","logprob":-0.012,"id":60704,"top":[{"text":"Paris","logprob":-0.012,"id":60704},{"text":"London","logprob":-4.9}]}
//! {"text":" is","logprob":-0.3,"entropy_bits":1.23,"top":[]}
//! {"text":"�","bytes":[226,128],"logprob":null,"sentinel":true,"top":[]}
//! ```
//!
//! Header (line 1), an object with:
//! * `"hedge": "trace"` (required) and `"version": 1` (this is version 1; a missing version
//!   is read as 1, a higher one is refused);
//! * optional `"model"` (string), `"vocab_size"` (integer), `"text"` (the generated text as
//!   the source stated it) and `"token_count"` (how many tokens the source says it generated;
//!   more than the token lines means entries were merged or dropped), and `"prompt_tokens"`
//!   (how many of the first token lines are prompt tokens a provider scored rather than
//!   generated tokens; they are read only when the prompt is asked for).
//!
//! Token lines, one JSON object per line, in generation order:
//! * `"text"`: the token's text. `"bytes"`: its exact bytes as an array of integers 0..=255;
//!   when present, `bytes` wins over `text` (use it for a token that ends or starts inside a
//!   UTF-8 character; `text` is then only for people reading the file). One of the two is
//!   required. The concatenation of all tokens' bytes is the generated text.
//! * `"logprob"`: ln p of the token, or `null` when unknown. −9999 and below are read as
//!   sentinels ("below the listed alternatives"), like the provider formats.
//! * optional `"id"` (token id), `"sentinel"` (true: the source gave a "not in the top-k"
//!   marker instead of a value), `"merged"` (true: the entry carries the bytes of several
//!   tokens but the logprob of the last one only), `"lossy"` (true: the bytes were
//!   reconstructed from a lossy surface form), `"entropy_bits"` (the exact entropy of the full
//!   next-token distribution in bits, for a local model).
//! * optional `"top"`: the alternatives, most likely first, each `{"text", "bytes"?,
//!   "logprob", "id"?}` with the same `text`/`bytes` rule; alternatives with a `null` or
//!   sentinel logprob are skipped.
//!
//! Blank lines are ignored. [`write`] writes `bytes` only for tokens whose bytes are not valid
//! UTF-8 on their own, and writes numbers so that reading the file gives back the same trace.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::lines::{parse_record, records};
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::Native;
const VERSION: u64 = 1;

#[derive(Deserialize)]
#[serde(expecting = "the header object")]
struct Header {
    hedge: Option<String>,
    version: Option<u64>,
    model: Option<String>,
    vocab_size: Option<u32>,
    text: Option<String>,
    token_count: Option<u64>,
    prompt_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(expecting = "a token object")]
struct TokenLine {
    text: Option<String>,
    bytes: Option<Vec<u8>>,
    logprob: Option<f64>,
    id: Option<u32>,
    #[serde(default)]
    sentinel: bool,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    lossy: bool,
    entropy_bits: Option<f64>,
    #[serde(default)]
    top: Vec<AltLine>,
}

#[derive(Deserialize)]
#[serde(expecting = "an alternative object")]
struct AltLine {
    text: Option<String>,
    bytes: Option<Vec<u8>>,
    logprob: Option<f64>,
    id: Option<u32>,
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

fn bytes_of(text: Option<String>, bytes: Option<Vec<u8>>) -> Option<Vec<u8>> {
    bytes.or_else(|| text.map(String::into_bytes))
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    const HEADER: &str = r#"line 1: expected the header {"hedge":"trace","version":1}"#;
    let mut recs = records(data);
    let first = recs.next().ok_or(TraceError::Empty)?;
    let header: Header = match parse_record(&first, FORMAT, "the header", false) {
        Ok(Some(h)) => h,
        Ok(None) | Err(TraceError::Json(_)) => return Err(shape(HEADER.into())),
        Err(e) => return Err(e),
    };
    if header.hedge.as_deref() != Some("trace") {
        return Err(shape(HEADER.into()));
    }
    match header.version {
        None | Some(VERSION) => {}
        Some(v) => {
            return Err(shape(format!(
                "line 1: version {v} is not one this hedge reads (it reads version {VERSION})"
            )))
        }
    }
    let mut tokens = Vec::new();
    for rec in recs {
        let Some(line) = parse_record::<TokenLine>(&rec, FORMAT, "a token object", false)? else {
            continue;
        };
        let Some(bytes) = bytes_of(line.text, line.bytes) else {
            return Err(shape(format!(
                "line {}: the token has neither text nor bytes",
                rec.line
            )));
        };
        let (logprob, sentinel) = classify_logprob(line.logprob);
        let sentinel = sentinel || line.sentinel;
        let top = line
            .top
            .into_iter()
            .filter_map(|a| {
                Some(Alternative {
                    logprob: classify_logprob(a.logprob).0?,
                    bytes: bytes_of(a.text, a.bytes)?.into(),
                    id: a.id,
                })
            })
            .collect();
        tokens.push(Token {
            bytes: bytes.into(),
            logprob: if sentinel { None } else { logprob },
            id: line.id,
            top,
            sentinel,
            merged: line.merged,
            lossy: line.lossy,
            entropy_bits: line.entropy_bits,
        });
    }
    let mut trace = Trace::new(FORMAT, tokens);
    trace.vocab_size = header.vocab_size;
    trace.stated_text = header.text;
    trace.stated_token_count = header.token_count.and_then(|n| usize::try_from(n).ok());
    trace.model = header.model;
    trace.prompt_tokens = header
        .prompt_tokens
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(trace.tokens.len());
    Ok(trace)
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    hedge: &'static str,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vocab_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_count: Option<usize>,
    #[serde(skip_serializing_if = "is_zero")]
    prompt_tokens: usize,
}

#[derive(Serialize)]
struct TokenOut<'a> {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<&'a [u8]>,
    logprob: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "is_false")]
    sentinel: bool,
    #[serde(skip_serializing_if = "is_false")]
    merged: bool,
    #[serde(skip_serializing_if = "is_false")]
    lossy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    entropy_bits: Option<f64>,
    top: Vec<AltOut<'a>>,
}

#[derive(Serialize)]
struct AltOut<'a> {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<&'a [u8]>,
    logprob: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `text` always; `bytes` only when the bytes are not valid UTF-8 on their own.
fn text_and_bytes(b: &[u8]) -> (String, Option<&[u8]>) {
    match std::str::from_utf8(b) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (String::from_utf8_lossy(b).into_owned(), Some(b)),
    }
}

/// Write a trace in hedge's own format (see the module documentation).
pub fn write(trace: &Trace, out: &mut impl Write) -> io::Result<()> {
    let header = HeaderOut {
        hedge: "trace",
        version: VERSION,
        model: trace.model.as_deref(),
        vocab_size: trace.vocab_size,
        text: trace.stated_text.as_deref(),
        token_count: trace.stated_token_count,
        prompt_tokens: trace.prompt_tokens,
    };
    serde_json::to_writer(&mut *out, &header)?;
    out.write_all(b"\n")?;
    for t in &trace.tokens {
        let (text, bytes) = text_and_bytes(&t.bytes);
        let top = t
            .top
            .iter()
            .map(|a| {
                let (text, bytes) = text_and_bytes(&a.bytes);
                AltOut {
                    text,
                    bytes,
                    logprob: a.logprob,
                    id: a.id,
                }
            })
            .collect();
        let line = TokenOut {
            text,
            bytes,
            logprob: t.logprob,
            id: t.id,
            sentinel: t.sentinel,
            merged: t.merged,
            lossy: t.lossy,
            entropy_bits: t.entropy_bits,
            top,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
