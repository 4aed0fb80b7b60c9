//! The small probes format detection builds: each records a few keys and values of a JSON
//! document and skips everything else with [`IgnoredAny`], so sniffing a 100 MB response costs
//! one parse and almost no memory.

use std::fmt;

use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub(super) enum Top {
    Object(ObjProbe),
    /// An array, with its first element's probe when that is an object.
    Array(Option<ObjProbe>),
    /// What the document is when it is not an object ("an array", "a number").
    Other(&'static str),
}

#[derive(Default)]
pub(super) struct ObjProbe {
    pub(super) keys: Vec<String>,
    pub(super) choices_present: bool,
    /// The first element of `choices`.
    pub(super) choice: Option<ChoiceProbe>,
    /// The string values of the top-level `type` and `object` keys.
    pub(super) kind: Option<String>,
    pub(super) object: Option<String>,
    /// A non-null top-level `prompt_logprobs` (vLLM chat).
    pub(super) prompt_logprobs: bool,
}

impl ObjProbe {
    pub(super) fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

#[derive(Default)]
pub(super) struct ChoiceProbe {
    pub(super) message: bool,
    pub(super) delta: bool,
    pub(super) text: bool,
    pub(super) logprobs: LogprobsProbe,
    /// A non-null `prompt_logprobs` (vLLM completions).
    pub(super) prompt_logprobs: bool,
}

/// Which keys of `choices[0].logprobs` hold something other than `null`.
#[derive(Default)]
pub(super) struct LogprobsProbe {
    pub(super) content: bool,
    pub(super) refusal: bool,
    pub(super) tokens: bool,
    pub(super) token_logprobs: bool,
}

/// The first element of `choices`, when it is an array.
struct ChoicesProbe(Option<ChoiceProbe>);

/// `true` unless the value is `null`.
struct NonNull(bool);

pub(super) fn probe(json: &[u8]) -> Result<Top, serde_json::Error> {
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
        let first = seq.next_element_seed(Seed(TopVisitor))?;
        drain_seq(seq)?;
        Ok(Top::Array(match first {
            Some(Top::Object(p)) => Some(p),
            _ => None,
        }))
    },
    |map| {
        let mut p = ObjProbe::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "choices" => {
                    p.choices_present = true;
                    p.choice = with(&mut map, ChoicesVisitor)?.0;
                }
                "type" => p.kind = with(&mut map, StrVisitor)?.0,
                "object" => p.object = with(&mut map, StrVisitor)?.0,
                "prompt_logprobs" => p.prompt_logprobs = with(&mut map, NonNullVisitor)?.0,
                _ => drop(map.next_value::<IgnoredAny>()?),
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
                "prompt_logprobs" => c.prompt_logprobs = with(&mut map, NonNullVisitor)?.0,
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

/// A string value (a short one is all a probe needs); `None` for anything else.
struct StrValue(Option<String>);

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = StrValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<StrValue, E> {
        Ok(StrValue(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<StrValue, E> {
        Ok(StrValue(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<StrValue, E> {
        Ok(StrValue(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<StrValue, E> {
        Ok(StrValue(None))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrValue, E> {
        Ok(StrValue((v.len() <= 200).then(|| v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<StrValue, E> {
        Ok(StrValue(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StrValue, A::Error> {
        drain_seq(seq)?;
        Ok(StrValue(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrValue, A::Error> {
        drain_map(map)?;
        Ok(StrValue(None))
    }
}
