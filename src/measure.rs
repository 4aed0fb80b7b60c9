//! The maths: per-token and per-sequence measures from natural-log probabilities.
//!
//! Inputs are ln p (every provider uses natural logs). Surprisal and entropy are reported in
//! bits. Entropy from a top-k list is an interval, because the probability mass outside the list
//! could be packed into a few tokens or spread over the whole vocabulary.

use rayon::prelude::*;

use crate::trace::{Token, Trace};

const LN2: f64 = std::f64::consts::LN_2;

/// Vocabulary size assumed for the entropy upper bound when neither the trace nor the user
/// gives one: 2^18 = 262,144, the largest vocabulary in common use (Gemma 3). A larger V only
/// widens the upper bound, so the interval stays a true bound for every smaller vocabulary.
pub const DEFAULT_VOCAB_SIZE: u64 = 262_144;

/// Residual mass above which the listed alternatives hide too much to trust the entropy.
pub const WIDE_RESIDUAL: f64 = 0.05;

/// Entropy in bits, as a closed interval. `low == high` when the full distribution was known.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// What hedge knows about one token's position.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenMeasures {
    /// p of the chosen token; `None` when unknown (null or sentinel).
    pub p: Option<f64>,
    pub logprob: Option<f64>,
    pub surprisal_bits: Option<f64>,
    /// 1 = the model's own first choice. `None` when no alternatives were listed or the value
    /// was a sentinel (then the token is known to be below every listed alternative).
    pub rank: Option<u32>,
    /// The token was not the model's first choice (rank > 1, or a sentinel below the list).
    pub off_greedy: bool,
    /// p(chosen) − p(best other listed alternative); `None` without alternatives.
    pub margin: Option<f64>,
    /// Probability mass outside the known set (listed alternatives plus the chosen token).
    pub residual_mass: Option<f64>,
    pub entropy_bits: Option<Interval>,
    /// The best other alternative (index into `Token::top`), for "the model preferred …".
    pub best_other: Option<usize>,
    pub sentinel: bool,
}

/// Whole-trace figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceMeasures {
    pub tokens: usize,
    /// Tokens with a known logprob (the ones the figures below are over).
    pub scored_tokens: usize,
    pub joint_logprob: f64,
    pub perplexity: Option<f64>,
    pub mean_surprisal_bits: Option<f64>,
    pub mean_entropy_bits: Option<Interval>,
    pub sentinel_tokens: usize,
}

/// Shannon entropy in bits of a probability vector (terms with p = 0 contribute 0).
pub fn entropy_bits(ps: &[f64]) -> f64 {
    ps.iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| -p * p.log2())
        .sum()
}

/// Softmax of raw logits, computed stably.
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Perplexity from ln p values: exp(−mean ln p).
pub fn perplexity(logprobs: &[f64]) -> Option<f64> {
    if logprobs.is_empty() {
        return None;
    }
    Some((-logprobs.iter().sum::<f64>() / logprobs.len() as f64).exp())
}

/// The entropy interval of a distribution known only on a set K of tokens.
///
/// `known` are the probabilities of K (listed alternatives plus the chosen token, each once),
/// `cap` the most any unseen token can have (the smallest listed alternative's p, or 1 when
/// nothing else was listed), `unseen` = V − |K|. Lower bound: the residual packed into as few
/// tokens of probability `cap` as possible (the exact infimum); upper bound: the residual spread
/// evenly over every unseen token.
pub fn entropy_interval(known: &[f64], cap: f64, unseen: f64) -> Interval {
    let h_k = entropy_bits(known);
    let r = (1.0 - known.iter().sum::<f64>()).max(0.0);
    if r <= 1e-12 {
        return Interval {
            low: h_k,
            high: h_k,
        };
    }
    let cap = cap.clamp(f64::MIN_POSITIVE, 1.0);
    let m = (r / cap).floor();
    let rho = (r - m * cap).max(0.0);
    let packed = if m > 0.0 { -m * cap * cap.log2() } else { 0.0 };
    let rest = if rho > 0.0 { -rho * rho.log2() } else { 0.0 };
    let low = h_k + packed + rest;
    let high = if unseen >= 1.0 {
        h_k + r * (unseen / r).log2()
    } else {
        low
    };
    Interval {
        low,
        high: high.max(low),
    }
}

/// Measures of one token. `vocab_size` bounds the number of unseen tokens.
pub fn token_measures(token: &Token, vocab_size: u64) -> TokenMeasures {
    let lp = token.logprob;
    let p = lp.map(f64::exp);
    let chosen_idx = chosen_in_top(token);
    // The best listed alternative that is not the chosen token.
    let best_other = token
        .top
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != chosen_idx)
        .max_by(|a, b| a.1.logprob.total_cmp(&b.1.logprob))
        .map(|(i, _)| i);

    let rank = match (lp, token.top.is_empty()) {
        (Some(lp), false) => {
            let above = token
                .top
                .iter()
                .enumerate()
                .filter(|(i, a)| Some(*i) != chosen_idx && a.logprob > lp)
                .count();
            Some(above as u32 + 1)
        }
        _ => None,
    };
    let off_greedy = rank.is_some_and(|r| r > 1) || (token.sentinel && !token.top.is_empty());

    // The known set K: listed alternatives (each once) plus the chosen token if not listed.
    // Each listed p is computed once, here (on the stack: lists are short).
    let mut known: smallvec::SmallVec<[f64; 24]> =
        token.top.iter().map(|a| a.logprob.exp()).collect();
    let listed = known.len();
    let margin = match (p, best_other) {
        (Some(p), Some(i)) => Some(p - known[i]),
        _ => None,
    };
    if chosen_idx.is_none() {
        if let Some(p) = p {
            known.push(p);
        }
    }
    let residual = if known.is_empty() {
        None
    } else {
        Some((1.0 - known.iter().sum::<f64>()).max(0.0))
    };
    let entropy = if let Some(h) = token.entropy_bits {
        Some(Interval { low: h, high: h })
    } else if known.is_empty() {
        None
    } else {
        let cap = known[..listed]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let cap = if cap.is_finite() { cap } else { 1.0 };
        let unseen = (vocab_size as f64 - known.len() as f64).max(0.0);
        Some(entropy_interval(&known, cap, unseen))
    };

    TokenMeasures {
        p,
        logprob: lp,
        surprisal_bits: lp.map(|l| -l / LN2),
        rank,
        off_greedy,
        margin,
        residual_mass: residual,
        entropy_bits: entropy,
        best_other,
        sentinel: token.sentinel,
    }
}

/// Which listed alternative is the chosen token itself: same id, else same bytes.
fn chosen_in_top(token: &Token) -> Option<usize> {
    if let Some(id) = token.id {
        if let Some(i) = token.top.iter().position(|a| a.id == Some(id)) {
            return Some(i);
        }
        if token.top.iter().any(|a| a.id.is_some()) {
            return None;
        }
    }
    token.top.iter().position(|a| a.bytes == token.bytes)
}

/// Measures of every token of a trace, in order. A long trace is measured on every core: each
/// token's measures depend on that token alone.
pub fn measure_tokens(trace: &Trace, vocab_size: u64) -> Vec<TokenMeasures> {
    if trace.tokens.len() < PARALLEL_TOKENS {
        return trace
            .tokens
            .iter()
            .map(|t| token_measures(t, vocab_size))
            .collect();
    }
    trace
        .tokens
        .par_iter()
        .with_min_len(PARALLEL_TOKENS / 2)
        .map(|t| token_measures(t, vocab_size))
        .collect()
}

/// Traces at least this long are measured in parallel (below it, starting the threads costs
/// more than it saves).
const PARALLEL_TOKENS: usize = 32 * 1024;

/// Whole-sequence figures over the tokens with a known logprob; sentinels are counted, never
/// averaged in as −9999.
pub fn sequence_measures(measures: &[TokenMeasures]) -> SequenceMeasures {
    let lps: Vec<f64> = measures.iter().filter_map(|m| m.logprob).collect();
    let joint: f64 = lps.iter().sum();
    let ents: Vec<Interval> = measures.iter().filter_map(|m| m.entropy_bits).collect();
    let mean_entropy = if ents.is_empty() {
        None
    } else {
        let n = ents.len() as f64;
        Some(Interval {
            low: ents.iter().map(|e| e.low).sum::<f64>() / n,
            high: ents.iter().map(|e| e.high).sum::<f64>() / n,
        })
    };
    SequenceMeasures {
        tokens: measures.len(),
        scored_tokens: lps.len(),
        joint_logprob: joint,
        perplexity: perplexity(&lps),
        mean_surprisal_bits: if lps.is_empty() {
            None
        } else {
            Some(-joint / lps.len() as f64 / LN2)
        },
        mean_entropy_bits: mean_entropy,
        sentinel_tokens: measures.iter().filter(|m| m.sentinel).count(),
    }
}

#[cfg(test)]
#[path = "measure_tests.rs"]
mod tests;
