//! SGLang's native `/generate` with `return_logprob` (and `return_text_in_logprobs`,
//! `top_logprobs_num`): `meta_info.output_token_logprobs` and, for prompt scoring
//! (`logprob_start_len`), `meta_info.input_token_logprobs`, both lists of
//! `[logprob | null, token_id, text | null]` triples, with `meta_info.output_top_logprobs` /
//! `input_top_logprobs` lists of such triples per position (or `null`). The first input entry's
//! logprob is always `null`. A batch request's list of responses is read for its first one.
//!
//! Texts are each token decoded alone: a token holding part of a character shows `"�"`
//! (`lossy`). Without `return_text_in_logprobs` the texts are `null` and hedge cannot place
//! the tokens, which it says.

use std::fmt;

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::prompt::{count, join};
use super::surface::{self, PieceStyle};
use super::{classify_logprob, Alternative, Token, Trace, TraceError, TraceFormat};

const FORMAT: TraceFormat = TraceFormat::Sglang;

#[derive(Deserialize)]
#[serde(expecting = "an SGLang response object")]
struct Response {
    text: Option<String>,
    meta_info: Option<MetaInfo>,
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "an SGLang response object or a list of them")]
enum Body {
    One(Response),
    Many(Vec<Response>),
}

#[derive(Deserialize)]
#[serde(expecting = "a meta_info object")]
struct MetaInfo {
    completion_tokens: Option<u64>,
    input_token_logprobs: Option<Vec<Triple>>,
    output_token_logprobs: Option<Vec<Triple>>,
    input_top_logprobs: Option<Vec<Option<Vec<Triple>>>>,
    output_top_logprobs: Option<Vec<Option<Vec<Triple>>>>,
}

/// `[logprob | null, token_id, text | null]`.
struct Triple(Option<f64>, Option<i64>, Option<String>);

impl<'de> Deserialize<'de> for Triple {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Triple, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Triple;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [logprob, token_id, text] list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Triple, A::Error> {
                let lp = seq.next_element::<Option<f64>>()?.flatten();
                let id = seq.next_element::<Option<i64>>()?.flatten();
                let text = seq.next_element::<Option<String>>()?.flatten();
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Triple(lp, id, text))
            }
        }
        d.deserialize_seq(V)
    }
}

fn shape(reason: String) -> TraceError {
    FORMAT.shape(reason)
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    let body: Body = serde_json::from_slice(data).map_err(|e| {
        if e.is_data() {
            shape("expected an SGLang response object (text, meta_info)".into())
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
    let meta = resp
        .meta_info
        .ok_or_else(|| shape("meta_info is missing".into()))?;
    let output = meta.output_token_logprobs.ok_or_else(|| {
        shape(
            "meta_info.output_token_logprobs is missing (the request did not set return_logprob)"
                .into(),
        )
    })?;
    let input = meta.input_token_logprobs.unwrap_or_default();
    if output.iter().chain(&input).all(|t| t.2.is_none()) && !output.is_empty() {
        return Err(shape(
            "the logprob entries have no token text (the request did not set return_text_in_logprobs)"
                .into(),
        ));
    }
    let style =
        surface::detect_piece_style(output.iter().chain(&input).filter_map(|t| t.2.as_deref()));
    let tokens = convert_all(output, meta.output_top_logprobs, style);
    let prompt = convert_all(input, meta.input_top_logprobs, style);
    let mut trace = Trace::new(FORMAT, tokens);
    trace.stated_text = resp.text;
    trace.stated_token_count = count(meta.completion_tokens);
    join(&mut trace, prompt);
    Ok(trace)
}

fn convert_all(
    entries: Vec<Triple>,
    tops: Option<Vec<Option<Vec<Triple>>>>,
    style: PieceStyle,
) -> Vec<Token> {
    let mut tops = tops.unwrap_or_default().into_iter();
    entries
        .into_iter()
        .map(|Triple(lp, id, text)| {
            let (bytes, lossy) = match &text {
                Some(t) => surface::token_bytes(t, style),
                None => (Vec::new(), true),
            };
            let (logprob, sentinel) = classify_logprob(lp);
            let mut top: Vec<Alternative> = tops
                .next()
                .flatten()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|Triple(alp, aid, atext)| {
                    Some(Alternative {
                        logprob: classify_logprob(alp).0?,
                        bytes: surface::token_bytes(atext.as_deref()?, style).0.into(),
                        id: aid.and_then(|i| u32::try_from(i).ok()),
                    })
                })
                .collect();
            top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
            Token {
                lossy: lossy || bytes.is_empty(),
                bytes: bytes.into(),
                logprob,
                id: id.and_then(|i| u32::try_from(i).ok()),
                top,
                sentinel,
                ..Token::default()
            }
        })
        .collect()
}
