//! Which reader a trace file needs, decided from the keys it has.
//!
//! Only small probes are built: every value hedge does not look at is skipped with
//! [`IgnoredAny`], so sniffing a 100 MB response costs one parse and almost no memory.

use std::fmt;

use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lines::{json_error, records, trim, Record};
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
            Ok(Top::Other(what)) if first.sse => return Err(TraceError::Unrecognised(what.into())),
            Err(e) if first.sse => return Err(json_error(&e, first.line, first.col)),
            _ => {} // the first line is not a JSON value alone: a pretty-printed document
        }
    }
    match probe(trim(data)).map_err(|e| TraceError::Json(e.to_string()))? {
        Top::Object(p) => classify_whole(&p).ok_or_else(|| unrecognised(&p)),
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
    None
}

fn classify_record(p: &ObjProbe) -> Option<TraceFormat> {
    if p.has("completion_probabilities")
        || (p.has("content") && (p.has("stop") || p.has("tokens_predicted")))
    {
        Some(TraceFormat::LlamacppCompletion)
    } else if p.choices_present {
        Some(TraceFormat::OpenaiChatStream)
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
            Ok(Top::Other(_)) => break,
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

// ----- probes -----

enum Top {
    Object(ObjProbe),
    /// What the document is when it is not an object ("an array", "a number").
    Other(&'static str),
}

#[derive(Default)]
struct ObjProbe {
    keys: Vec<String>,
    choices_present: bool,
    /// The first element of `choices`.
    choice: Option<ChoiceProbe>,
}

impl ObjProbe {
    fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

#[derive(Default)]
struct ChoiceProbe {
    message: bool,
    delta: bool,
    text: bool,
    logprobs: LogprobsProbe,
}

/// Which keys of `choices[0].logprobs` hold something other than `null`.
#[derive(Default)]
struct LogprobsProbe {
    content: bool,
    refusal: bool,
    tokens: bool,
    token_logprobs: bool,
}

/// The first element of `choices`, when it is an array.
struct ChoicesProbe(Option<ChoiceProbe>);

/// `true` unless the value is `null`.
struct NonNull(bool);

fn probe(json: &[u8]) -> Result<Top, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let top = (&mut de).deserialize_any(TopVisitor)?;
    de.end()?;
    Ok(top)
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A probe that accepts any JSON value and never fails on a type: each kind of value maps to
/// an expression (`$f(kind)` for scalars, with kind one of "a boolean", "a number", "a
/// string", "null"), arrays and objects to the given bodies.
macro_rules! probe_type {
    ($ty:ty, $visitor:ident, $f:expr, |$seq:ident| $seq_body:block, |$map:ident| $map_body:block) => {
        struct $visitor;
        impl<'de> Visitor<'de> for $visitor {
            type Value = $ty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<$ty, E> {
                Ok($f("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<$ty, E> {
                Ok($f("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<$ty, E> {
                Ok($f("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<$ty, E> {
                Ok($f("a number"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<$ty, E> {
                Ok($f("a string"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<$ty, E> {
                Ok($f("null"))
            }
            #[allow(unused_mut)]
            fn visit_seq<A: SeqAccess<'de>>(self, mut $seq: A) -> Result<$ty, A::Error> $seq_body
            #[allow(unused_mut)]
            fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<$ty, A::Error> $map_body
        }
    };
}

/// Runs a probe visitor on the next value.
struct Seed<V>(V);

impl<'de, V: Visitor<'de>> de::DeserializeSeed<'de> for Seed<V> {
    type Value = V::Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self.0)
    }
}

fn with<'de, V: Visitor<'de>, A: MapAccess<'de>>(map: &mut A, v: V) -> Result<V::Value, A::Error> {
    map.next_value_seed(Seed(v))
}

probe_type!(
    Top,
    TopVisitor,
    Top::Other,
    |seq| {
        drain_seq(seq)?;
        Ok(Top::Other("an array"))
    },
    |map| {
        let mut p = ObjProbe::default();
        while let Some(key) = map.next_key::<String>()? {
            if key == "choices" {
                p.choices_present = true;
                p.choice = with(&mut map, ChoicesVisitor)?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            p.keys.push(key);
        }
        Ok(Top::Object(p))
    }
);

probe_type!(
    ChoicesProbe,
    ChoicesVisitor,
    |_| ChoicesProbe(None),
    |seq| {
        let first = seq.next_element_seed(Seed(ChoiceVisitor))?;
        drain_seq(seq)?;
        Ok(ChoicesProbe(first))
    },
    |map| {
        drain_map(map)?;
        Ok(ChoicesProbe(None))
    }
);

probe_type!(
    ChoiceProbe,
    ChoiceVisitor,
    |_| ChoiceProbe::default(),
    |seq| {
        drain_seq(seq)?;
        Ok(ChoiceProbe::default())
    },
    |map| {
        let mut c = ChoiceProbe::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "logprobs" => c.logprobs = with(&mut map, LogprobsVisitor)?,
                "message" => c.message = with(&mut map, NonNullVisitor)?.0,
                "delta" => c.delta = with(&mut map, NonNullVisitor)?.0,
                "text" => c.text = with(&mut map, NonNullVisitor)?.0,
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(c)
    }
);

probe_type!(
    LogprobsProbe,
    LogprobsVisitor,
    |_| LogprobsProbe::default(),
    |seq| {
        drain_seq(seq)?;
        Ok(LogprobsProbe::default())
    },
    |map| {
        let mut l = LogprobsProbe::default();
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "content" => &mut l.content,
                "refusal" => &mut l.refusal,
                "tokens" => &mut l.tokens,
                "token_logprobs" => &mut l.token_logprobs,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = with(&mut map, NonNullVisitor)?.0;
        }
        Ok(l)
    }
);

probe_type!(
    NonNull,
    NonNullVisitor,
    |k| NonNull(k != "null"),
    |seq| {
        drain_seq(seq)?;
        Ok(NonNull(true))
    },
    |map| {
        drain_map(map)?;
        Ok(NonNull(true))
    }
);
