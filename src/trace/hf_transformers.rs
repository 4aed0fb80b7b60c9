//! A dump of Hugging Face transformers scores: JSONL with one object per token, in order (or
//! the same objects in one JSON array). transformers has no file format of its own; this is
//! the shape hedge accepts.
//!
//! ```text
//! {"model":"gpt2","vocab_size":50257}
//! {"token_id":464,"token":"The","logprob":null,"prompt":true}
//! {"token_id":3139,"token":"Ġcapital","logprob":-7.31,"prompt":true}
//! {"token_id":262,"token":"Ġthe","logprob":-1.414,"top":[{"token_id":262,"token":"Ġthe","logprob":-1.414},{"token_id":257,"token":"Ġa","logprob":-2.1}]}
//! ```
//!
//! * Optional first line: a header with no `logprob` key, holding any of `"model"` (string),
//!   `"vocab_size"` (integer) and `"text"` (the generated text).
//! * Token lines: `"token"` is the token's text, either decoded (`tokenizer.decode([id])`:
//!   `" the"`, `"�"` for part of a character) or the raw piece
//!   (`tokenizer.convert_ids_to_tokens(id)`: `"Ġthe"`, `"▁the"`, `"<0xE2>"`), told apart over
//!   the whole file as for the provider formats. `"bytes"` (integers 0..=255, optional) gives
//!   the exact bytes and wins over `"token"`; one of the two is required.
//!   `"logprob"` is ln p of the token (`null` where nothing was predicted, as for the first
//!   token of a scored text); `"token_id"` (alias `"id"`) is optional.
//! * Optional: `"top"` (alias `"top_logprobs"`): the alternatives, each
//!   `{"token", "bytes"?, "logprob", "token_id"?}`; `"entropy_bits"`: the entropy of the full
//!   next-token distribution in bits (transformers has the whole vocabulary); `"prompt": true`:
//!   a position of the scored input rather than of the output (teacher forcing); such lines
//!   come first and are left out unless the prompt is asked for.
//!
//! Producing it, after `out = model.generate(..., output_scores=True,
//! return_dict_in_generate=True)`: `lp = model.compute_transition_scores(out.sequences,
//! out.scores, normalize_logits=True)` gives `logprob` for each generated id; `out.scores[i]
//! .log_softmax(-1).topk(k)` gives `top`.

use serde::Deserialize;

use super::lines::{parse_record, records, trim};
use super::surface::{self, PieceStyle};
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::HfTransformers;

#[derive(Deserialize)]
#[serde(expecting = "a token object")]
struct Line {
    #[serde(alias = "id")]
    token_id: Option<i64>,
    token: Option<String>,
    bytes: Option<Vec<u8>>,
    /// Absent only on the header line.
    #[serde(default, deserialize_with = "present")]
    logprob: Option<Option<f64>>,
    #[serde(default, alias = "top_logprobs")]
    top: Vec<Alt>,
    entropy_bits: Option<f64>,
    #[serde(default)]
    prompt: bool,
    model: Option<String>,
    vocab_size: Option<u32>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "an alternative object")]
struct Alt {
    #[serde(alias = "id")]
    token_id: Option<i64>,
    token: Option<String>,
    bytes: Option<Vec<u8>>,
    logprob: Option<f64>,
}

/// Tells a `"logprob": null` (present) from no `logprob` key.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    let mut lines: Vec<(String, Line)> = Vec::new();
    if trim(data).first() == Some(&b'[') {
        let all: Vec<Line> = serde_json::from_slice(data).map_err(|e| {
            if e.is_data() {
                shape(format!("expected a list of token objects: {e}"))
            } else {
                TraceError::Json(e.to_string())
            }
        })?;
        lines.extend(
            all.into_iter()
                .enumerate()
                .map(|(i, l)| (format!("[{i}]"), l)),
        );
    } else {
        for rec in records(data) {
            if let Some(l) = parse_record::<Line>(&rec, FORMAT, "a token object", false)? {
                lines.push((format!("line {}", rec.line), l));
            }
        }
    }
    let mut header = None;
    if lines.first().is_some_and(|(_, l)| l.logprob.is_none()) {
        header = Some(lines.remove(0).1);
    }
    let style = surface::detect_piece_style(
        lines
            .iter()
            .filter(|(_, l)| l.bytes.is_none())
            .filter_map(|(_, l)| l.token.as_deref()),
    );
    let (mut tokens, mut prompt) = (Vec::new(), 0);
    for (at, l) in lines {
        if l.logprob.is_none() {
            return Err(shape(format!("{at}: the token has no logprob")));
        }
        if l.prompt {
            if prompt < tokens.len() {
                return Err(shape(format!("{at}: a prompt token after output tokens")));
            }
            prompt += 1;
        }
        let (bytes, lossy) = match (l.bytes, &l.token) {
            (Some(b), _) => (b, false),
            (None, Some(t)) => surface::token_bytes(t, style),
            (None, None) => {
                return Err(shape(format!(
                    "{at}: the token has neither token nor bytes"
                )))
            }
        };
        let (logprob, sentinel) = classify_logprob(l.logprob.flatten());
        tokens.push(Token {
            lossy: lossy || bytes.is_empty(),
            bytes: bytes.into(),
            logprob,
            id: l.token_id.and_then(|i| u32::try_from(i).ok()),
            top: alternatives(l.top, style),
            sentinel,
            entropy_bits: l.entropy_bits,
            ..Token::default()
        });
    }
    let mut trace = Trace::new(FORMAT, tokens);
    trace.prompt_tokens = prompt;
    if let Some(h) = header {
        trace.model = h.model;
        trace.vocab_size = h.vocab_size;
        trace.stated_text = h.text;
    }
    Ok(trace)
}

fn alternatives(alts: Vec<Alt>, style: PieceStyle) -> Vec<Alternative> {
    let mut top: Vec<Alternative> = alts
        .into_iter()
        .filter_map(|a| {
            let bytes = match (a.bytes, a.token) {
                (Some(b), _) => b,
                (None, Some(t)) => surface::token_bytes(&t, style).0,
                (None, None) => return None,
            };
            Some(Alternative {
                bytes: bytes.into(),
                logprob: classify_logprob(a.logprob).0?,
                id: a.token_id.and_then(|i| u32::try_from(i).ok()),
            })
        })
        .collect();
    top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    top
}
