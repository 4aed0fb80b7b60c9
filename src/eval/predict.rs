//! From an analysed answer to per-word features, per-character scores and predicted spans.
//!
//! Every word of the answer (Unicode word boundaries, as hedge's spans cut them) gets the
//! measures of the tokens under it. A [`Measure`] turns a word's features into a raw score
//! (higher = more likely wrong) and a soft score in 0..=1 (monotone in the raw one). Characters
//! of a word take its score; the characters between two words (spaces, punctuation) take the
//! lower of their neighbours' scores, so a flagged phrase stays one span and a flagged word does
//! not spread onto the text around it.

use std::ops::Range;

use crate::analysis::Analysis;
use crate::findings::Code;
use crate::spans::{self, PlacedTokens, SpanKind};

use super::metrics::Prediction;

/// What hedge measured on one word.
#[derive(Debug, Clone, PartialEq)]
pub struct WordFeatures {
    /// The word's characters (code-point offsets into the answer).
    pub chars: Range<usize>,
    /// `Word`, or the kind of the smallest claim (number, name, citation, quoted title) that
    /// contains the word.
    pub kind: SpanKind,
    /// The lowest p of the word's tokens (0 for a below-the-list sentinel, 1 when none has a
    /// value).
    pub min_p: f64,
    /// Σ ln p of the word's tokens.
    pub joint_logprob: f64,
    /// Mean surprisal of the word's tokens in bits.
    pub mean_surprisal_bits: f64,
    /// The highest entropy (lower end) at any of the word's tokens, in bits.
    pub max_entropy_bits: f64,
    /// The entropy at the word's first token, in bits.
    pub decision_entropy_bits: f64,
    /// The largest p(model's first choice) − p(chosen) over the word's off-greedy tokens; 0 when
    /// every token was the model's first choice.
    pub off_greedy_gap: f64,
    /// The largest surprisal − entropy (bits) over the word's tokens: how much more surprising
    /// the token was than the model expected its draw to be.
    pub excess_surprisal_bits: f64,
    /// The lowest p over the smallest claim containing the word (the word's own when none).
    pub claim_min_p: f64,
    /// The weakest p of a hedge finding (other than `uncertain-sentence`) that covers the word.
    pub finding_min_p: Option<f64>,
    /// A short lower-case word (at most 3 letters, all lower-case, no digit): "the", "in",
    /// "von", "est"; in scripts without case no word is one.
    pub short_lowercase: bool,
}

/// How word scores are spread before they become character scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Each word keeps its own score.
    Word,
    /// Short lower-case words score 0 (function words are rarely what is wrong).
    Content,
    /// Each word takes the highest score of itself and its neighbours (one word either side).
    Neighbours,
}

impl Spread {
    pub const ALL: [Spread; 3] = [Spread::Word, Spread::Content, Spread::Neighbours];

    pub fn name(self) -> &'static str {
        match self {
            Spread::Word => "word",
            Spread::Content => "content",
            Spread::Neighbours => "neighbours",
        }
    }

    pub fn from_name(s: &str) -> Option<Spread> {
        Spread::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// The raw score of every word under `measure` and `spread`.
pub fn word_scores(words: &[WordFeatures], measure: Measure, spread: Spread) -> Vec<f64> {
    let raw: Vec<f64> = words.iter().map(|w| measure.raw(w)).collect();
    match spread {
        Spread::Word => raw,
        Spread::Content => words
            .iter()
            .zip(&raw)
            .map(|(w, &r)| if w.short_lowercase { r.min(0.0) } else { r })
            .collect(),
        Spread::Neighbours => (0..raw.len())
            .map(|k| {
                raw[k.saturating_sub(1)..(k + 2).min(raw.len())]
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect(),
    }
}

/// How a word's features become its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// 1 − the lowest p of the word's tokens.
    MinP,
    /// 1 − the joint p of the word's tokens.
    Joint,
    /// The mean surprisal of the word's tokens (soft: 1 − 2^−bits).
    MeanSurprisal,
    /// The highest entropy at any of the word's tokens (soft: h / (1 + h)).
    MaxEntropy,
    /// The entropy at the word's first token (soft: h / (1 + h)).
    DecisionEntropy,
    /// p(first choice) − p(chosen) at the word's off-greedy tokens.
    OffGreedy,
    /// Surprisal minus entropy (soft: logistic).
    ExcessSurprisal,
    /// 1 − the lowest p over the claim (name, number, citation) the word is part of.
    ClaimMinP,
    /// hedge's own findings with its default thresholds: 1 − the finding's weakest p, 0 where
    /// there is no finding.
    Findings,
}

impl Measure {
    pub const ALL: [Measure; 9] = [
        Measure::MinP,
        Measure::Joint,
        Measure::MeanSurprisal,
        Measure::MaxEntropy,
        Measure::DecisionEntropy,
        Measure::OffGreedy,
        Measure::ExcessSurprisal,
        Measure::ClaimMinP,
        Measure::Findings,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::MinP => "min-p",
            Measure::Joint => "joint-p",
            Measure::MeanSurprisal => "mean-surprisal",
            Measure::MaxEntropy => "max-entropy",
            Measure::DecisionEntropy => "decision-entropy",
            Measure::OffGreedy => "off-greedy",
            Measure::ExcessSurprisal => "excess-surprisal",
            Measure::ClaimMinP => "claim-min-p",
            Measure::Findings => "findings",
        }
    }

    pub fn from_name(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The raw score (higher = more likely wrong), in the measure's own units.
    pub fn raw(self, w: &WordFeatures) -> f64 {
        match self {
            Measure::MinP => 1.0 - w.min_p,
            Measure::Joint => 1.0 - w.joint_logprob.exp(),
            Measure::MeanSurprisal => w.mean_surprisal_bits,
            Measure::MaxEntropy => w.max_entropy_bits,
            Measure::DecisionEntropy => w.decision_entropy_bits,
            Measure::OffGreedy => w.off_greedy_gap,
            Measure::ExcessSurprisal => w.excess_surprisal_bits,
            Measure::ClaimMinP => 1.0 - w.claim_min_p,
            Measure::Findings => w.finding_min_p.map(|p| 1.0 - p).unwrap_or(0.0),
        }
    }

    /// The raw score mapped monotonically into 0..=1 (the soft label's probability).
    pub fn soft(self, raw: f64) -> f64 {
        let v = match self {
            Measure::MeanSurprisal => 1.0 - (-raw).exp2(),
            Measure::MaxEntropy | Measure::DecisionEntropy => raw / (1.0 + raw),
            Measure::ExcessSurprisal => 1.0 / (1.0 + (-raw).exp()),
            _ => raw,
        };
        v.clamp(0.0, 1.0)
    }

    /// The unit a raw threshold is given in.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::MeanSurprisal
            | Measure::MaxEntropy
            | Measure::DecisionEntropy
            | Measure::ExcessSurprisal => "bits",
            _ => "",
        }
    }
}

/// Code-point index of every byte offset of `s` (and of `s.len()`).
fn char_index(s: &str) -> Vec<usize> {
    let mut at = vec![0; s.len() + 1];
    let mut c = 0;
    for (b, ch) in s.char_indices() {
        for k in 0..ch.len_utf8() {
            at[b + k] = c;
        }
        c += 1;
    }
    at[s.len()] = c;
    at
}

/// The features of every word of `doc` (the answer), from its analysis.
pub fn word_features(doc: &str, analysis: &Analysis) -> Vec<WordFeatures> {
    let ranges = &analysis.alignment.ranges;
    let m = &analysis.measures;
    let placed = PlacedTokens::new(ranges);
    let segs = spans::segment(doc, 0..doc.len());
    let claims: Vec<&spans::Span> = segs
        .iter()
        .filter(|s| !matches!(s.kind, SpanKind::Word | SpanKind::Sentence))
        .collect();
    let findings: Vec<(Range<usize>, f64)> = analysis
        .findings
        .iter()
        .filter(|f| f.code != Code::UncertainSentence)
        .map(|f| (f.range.clone(), f.min_p.unwrap_or(0.0)))
        .collect();
    let at = char_index(doc);
    let mut out = Vec::new();
    for w in segs.iter().filter(|s| s.kind == SpanKind::Word) {
        let st = spans::span_stats(w, &placed, m);
        if st.tokens.is_empty() {
            continue;
        }
        let min_p = if st.sentinels > 0 {
            0.0
        } else {
            st.min_p.unwrap_or(1.0)
        };
        let lps: Vec<f64> = st.tokens.iter().filter_map(|&i| m[i].logprob).collect();
        let mean_surprisal_bits = if lps.is_empty() {
            0.0
        } else {
            -lps.iter().sum::<f64>() / lps.len() as f64 / std::f64::consts::LN_2
        };
        let mut gap: f64 = 0.0;
        let mut excess = f64::NEG_INFINITY;
        for &i in &st.tokens {
            let t = &m[i];
            if t.off_greedy {
                gap = gap.max(t.margin.map(|x| -x).unwrap_or(0.0));
            }
            if let (Some(s), Some(e)) = (t.surprisal_bits, t.entropy_bits) {
                excess = excess.max(s - e.low);
            }
        }
        let claim = claims
            .iter()
            .filter(|c| c.range.start <= w.range.start && w.range.end <= c.range.end)
            .min_by_key(|c| c.range.len());
        let claim_min_p = match claim {
            Some(c) => {
                let cs = spans::span_stats(c, &placed, m);
                if cs.sentinels > 0 {
                    0.0
                } else {
                    cs.min_p.unwrap_or(min_p)
                }
            }
            None => min_p,
        };
        let finding_min_p = findings
            .iter()
            .filter(|(r, _)| spans::overlaps(r, &w.range))
            .map(|(_, p)| *p)
            .reduce(f64::min);
        out.push(WordFeatures {
            chars: at[w.range.start]..at[w.range.end],
            kind: claim.map(|c| c.kind).unwrap_or(SpanKind::Word),
            min_p,
            joint_logprob: st.joint_logprob,
            mean_surprisal_bits,
            max_entropy_bits: st.max_entropy.map(|(_, e)| e.low).unwrap_or(0.0),
            decision_entropy_bits: st.decision_entropy.map(|e| e.low).unwrap_or(0.0),
            off_greedy_gap: gap.max(0.0),
            excess_surprisal_bits: if excess.is_finite() { excess } else { 0.0 },
            claim_min_p,
            finding_min_p,
            short_lowercase: {
                let t = &doc[w.range.clone()];
                t.chars().count() <= 3 && t.chars().all(char::is_lowercase)
            },
        });
    }
    out
}

/// Per-character soft scores of an answer of `len` characters, from raw word scores.
pub fn char_scores(words: &[WordFeatures], raw: &[f64], len: usize, measure: Measure) -> Vec<f64> {
    let mut v = vec![0.0; len];
    let soft: Vec<f64> = raw.iter().map(|&r| measure.soft(r)).collect();
    for (k, w) in words.iter().enumerate() {
        for x in v.iter_mut().take(w.chars.end.min(len)).skip(w.chars.start) {
            *x = soft[k];
        }
        if let Some(next) = words.get(k + 1) {
            let between = soft[k].min(soft[k + 1]);
            for x in v
                .iter_mut()
                .take(next.chars.start.min(len))
                .skip(w.chars.end)
            {
                *x = between;
            }
        }
    }
    v
}

/// The prediction for one answer: hard spans where the raw score reaches `threshold` (in the
/// measure's units), soft spans from the per-character scores.
pub fn predict(
    words: &[WordFeatures],
    len: usize,
    measure: Measure,
    spread: Spread,
    threshold: f64,
) -> (Prediction, Vec<f64>) {
    let raw = word_scores(words, measure, spread);
    let scores = char_scores(words, &raw, len, measure);
    let mut pred = Prediction::from_scores(&scores, measure.soft(threshold));
    if threshold > 0.0 && measure.soft(threshold) <= 0.0 {
        pred.hard.clear();
    }
    (pred, scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::trace::{Alternative, Token, Trace, TraceFormat};

    fn tok(text: &str, p: f64, best: Option<(&str, f64)>) -> Token {
        let mut top = vec![Alternative {
            bytes: text.as_bytes().into(),
            logprob: p.ln(),
            id: None,
        }];
        if let Some((a, q)) = best {
            top.push(Alternative {
                bytes: a.as_bytes().into(),
                logprob: q.ln(),
                id: None,
            });
        }
        Token {
            bytes: text.as_bytes().into(),
            logprob: Some(p.ln()),
            top,
            entropy_bits: Some(1.0),
            ..Token::default()
        }
    }

    #[test]
    fn words_scores_and_spans() {
        // "Él ganó 1998." — É is two bytes, ó two bytes: code points differ from bytes.
        let doc = "Él ganó 1998.";
        let trace = Trace::new(
            TraceFormat::Native,
            vec![
                tok("Él", 0.9, None),
                tok(" gan", 0.5, None),
                tok("ó", 0.8, None),
                tok(" 19", 0.25, Some(("20", 0.5))),
                tok("98", 0.1, None),
                tok(".", 0.95, None),
            ],
        );
        let a = crate::analysis::analyze(doc, &trace, &Config::default()).unwrap();
        let w = word_features(doc, &a);
        let chars: Vec<Range<usize>> = w.iter().map(|w| w.chars.clone()).collect();
        assert_eq!(chars, vec![0..2, 3..7, 8..12]);
        assert_eq!(w[2].kind, SpanKind::Number);
        assert!((w[1].min_p - 0.5).abs() < 1e-12);
        assert!((w[1].joint_logprob - (0.4f64).ln()).abs() < 1e-12);
        assert!((w[2].off_greedy_gap - 0.25).abs() < 1e-12);
        assert!((w[2].min_p - 0.1).abs() < 1e-12);
        // The number is a hedge finding (p 0.1 < 0.3); the words are not.
        assert_eq!(w[2].finding_min_p.map(|p| (p * 1e9).round()), Some(1e8));
        assert_eq!(w[0].finding_min_p, None);

        let raw = word_scores(&w, Measure::MinP, Spread::Word);
        let s = char_scores(&w, &raw, 13, Measure::MinP);
        let r = |x: f64| (x * 1e9).round() / 1e9;
        let s: Vec<f64> = s.into_iter().map(r).collect();
        assert_eq!(
            s,
            vec![0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9, 0.0]
        );
        let (p, _) = predict(&w, 13, Measure::MinP, Spread::Word, 0.5);
        assert_eq!(p.hard, vec![(3, 12)]);
        let (p, _) = predict(&w, 13, Measure::MinP, Spread::Word, 0.8);
        assert_eq!(p.hard, vec![(8, 12)]);
        let (p, _) = predict(&w, 13, Measure::Findings, Spread::Word, 1e-9);
        assert_eq!(p.hard, vec![(8, 12)]);
        // Neighbours: each word takes the worst of itself and the words beside it.
        let n = word_scores(&w, Measure::MinP, Spread::Neighbours);
        let n: Vec<f64> = n.into_iter().map(r).collect();
        assert_eq!(n, vec![0.5, 0.9, 0.9]);
        assert!(!w[1].short_lowercase);
    }

    #[test]
    fn short_lowercase_words() {
        let doc = "Il est né en 1990 à Paris 的";
        let toks: Vec<Token> = ["Il", " est", " né", " en", " 1990", " à", " Paris", " 的"]
            .iter()
            .map(|t| tok(t, 0.01, None))
            .collect();
        let trace = Trace::new(TraceFormat::Native, toks);
        let a = crate::analysis::analyze(doc, &trace, &Config::default()).unwrap();
        let w = word_features(doc, &a);
        let short: Vec<bool> = w.iter().map(|w| w.short_lowercase).collect();
        assert_eq!(
            short,
            vec![false, true, true, true, false, true, false, false]
        );
        let c = word_scores(&w, Measure::MinP, Spread::Content);
        assert_eq!(c.iter().filter(|&&x| x == 0.0).count(), 4);
    }
}
