//! Calibration: how often a word with a given weakest-token probability was wrong according to
//! human labels, as an isotonic (pool-adjacent-violators) step function, with the counts behind
//! each step and the expected calibration error.
//!
//! hedge ships the fit for SmolLM2-135M-Instruct on the Mu-SHROOM validation split
//! (`calibration/smollm2-135m.json`). A trace whose model name matches it gets "≈X% of spans like
//! this were wrong"; any other model gets no such number (a probability computed by one model
//! says nothing about how often another model's low-probability words are wrong).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// A step of the map backed by fewer units than this is not shown as a share.
pub const MIN_COUNT: usize = 20;

/// One step of the isotonic map: words whose weakest p lies in `[p_low, p_high]` were wrong
/// `p_wrong` of the time, over `n` words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub p_low: f64,
    pub p_high: f64,
    pub p_wrong: f64,
    pub n: usize,
}

/// A fitted calibration, as stored in a calibration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The scoring model it was fitted with.
    pub model: String,
    /// Lower-case pieces of a model name (a trace's `model`, a GGUF file name) that select this
    /// calibration; one must occur in the name.
    pub matches: Vec<String>,
    /// Where the labels came from, as shown to users ("Mu-SHROOM val").
    pub data: String,
    /// What a unit is and when it counts as wrong.
    pub unit: String,
    /// How many units the fit saw, and how many of them were wrong.
    pub n: usize,
    pub wrong: usize,
    /// The isotonic map from the weakest token's p (descending p = ascending risk).
    pub steps: Vec<Step>,
    /// Expected calibration error (20 equal-width bins) of the map on the data it was fitted on.
    pub ece_fit: f64,
    /// ECE with two-fold cross-fitting (each half of the records scored by the map fitted on
    /// the other half): the honest figure.
    pub ece_cross: f64,
    /// ECE of reading 1 − p as the probability of being wrong, without calibration.
    pub ece_uncalibrated: f64,
    /// The command that produced the file.
    pub command: String,
}

impl Calibration {
    /// Does this calibration apply to a model of this name?
    pub fn applies_to(&self, model: &str) -> bool {
        let m = model.to_lowercase();
        self.matches.iter().any(|k| m.contains(k.as_str()))
    }

    /// The share of units like this (weakest p = `p`) that were wrong, and the count behind
    /// it; `None` when fewer than [`MIN_COUNT`] units stand behind that step.
    pub fn p_wrong(&self, p: f64) -> Option<(f64, usize)> {
        predict(&self.steps, p)
            .filter(|s| s.n >= MIN_COUNT)
            .map(|s| (s.p_wrong, s.n))
    }
}

/// The step for weakest p `p`: the one whose range holds it; between two steps, the one with
/// the higher p (the lower risk, so a gap never inflates the number); above every step, the
/// first.
fn predict(steps: &[Step], p: f64) -> Option<&Step> {
    // Steps are ordered by ascending risk = descending p.
    steps
        .iter()
        .find(|s| p >= s.p_low && p <= s.p_high)
        .or_else(|| steps.iter().rev().find(|s| s.p_low > p))
        .or_else(|| steps.first())
}

/// Fit the isotonic map: `p[i]` the weakest p of unit i, `wrong[i]` its label. The share wrong
/// is non-increasing in p.
pub fn fit(p: &[f64], wrong: &[bool]) -> Vec<Step> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    // Ascending risk: descending p.
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    struct Block {
        hi: f64,
        lo: f64,
        sum: f64,
        n: usize,
    }
    let mut blocks: Vec<Block> = Vec::new();
    for &i in &idx {
        let y = wrong[i] as u8 as f64;
        match blocks.last_mut() {
            Some(b) if b.lo == p[i] => {
                b.sum += y;
                b.n += 1;
            }
            _ => blocks.push(Block {
                hi: p[i],
                lo: p[i],
                sum: y,
                n: 1,
            }),
        }
        while blocks.len() >= 2 {
            let k = blocks.len();
            let (a, b) = (&blocks[k - 2], &blocks[k - 1]);
            if a.sum / a.n as f64 >= b.sum / b.n as f64 {
                let b = blocks.pop().expect("two blocks");
                let a = blocks.last_mut().expect("two blocks");
                a.lo = b.lo;
                a.sum += b.sum;
                a.n += b.n;
            } else {
                break;
            }
        }
    }
    blocks
        .into_iter()
        .map(|b| Step {
            p_low: b.lo,
            p_high: b.hi,
            p_wrong: b.sum / b.n as f64,
            n: b.n,
        })
        .collect()
}

/// Apply a fitted map to weakest p values.
pub fn apply(steps: &[Step], p: &[f64]) -> Vec<f64> {
    p.iter()
        .map(|&x| predict(steps, x).map(|s| s.p_wrong).unwrap_or(0.0))
        .collect()
}

/// Expected calibration error over `bins` equal-width bins of the predicted probability:
/// Σ_b (n_b / N) |mean label_b − mean prediction_b|. A prediction of exactly 1 falls in the
/// last bin.
pub fn ece(predicted: &[f64], wrong: &[bool], bins: usize) -> f64 {
    let mut n = vec![0usize; bins];
    let mut sp = vec![0.0; bins];
    let mut sy = vec![0.0; bins];
    for (&q, &y) in predicted.iter().zip(wrong) {
        let b = ((q * bins as f64).floor() as usize).min(bins - 1);
        n[b] += 1;
        sp[b] += q;
        sy[b] += y as u8 as f64;
    }
    let total = predicted.len() as f64;
    (0..bins)
        .filter(|&b| n[b] > 0)
        .map(|b| (sy[b] - sp[b]).abs() / total)
        .sum()
}

/// The calibrations hedge ships.
pub static BUILTIN: LazyLock<Vec<Calibration>> = LazyLock::new(|| {
    [include_str!("../../calibration/smollm2-135m.json")]
        .iter()
        .map(|s| serde_json::from_str(s).expect("shipped calibration file"))
        .collect()
});

/// The shipped calibration for a model name, if one applies.
pub fn for_model(model: &str) -> Option<&'static Calibration> {
    BUILTIN.iter().find(|c| c.applies_to(model))
}

/// The share of `others` with a higher p than `p` (how much weaker this one is than the rest of
/// the document), in 0..=1.
pub fn weaker_than(p: f64, others: &[f64]) -> f64 {
    if others.is_empty() {
        return 0.0;
    }
    others.iter().filter(|&&q| q > p).count() as f64 / others.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pav_pools_violators() {
        // p:     0.9   0.8   0.7   0.5   0.3   0.1
        // wrong: no    yes   no    no    yes   yes
        let p = [0.9, 0.8, 0.7, 0.5, 0.3, 0.1];
        let w = [false, true, false, false, true, true];
        let s = fit(&p, &w);
        let got: Vec<(f64, f64, f64, usize)> = s
            .iter()
            .map(|s| (s.p_low, s.p_high, s.p_wrong, s.n))
            .collect();
        assert_eq!(
            got,
            vec![
                (0.9, 0.9, 0.0, 1),
                (0.5, 0.8, 1.0 / 3.0, 3),
                (0.1, 0.3, 1.0, 2)
            ]
        );
        assert_eq!(
            apply(&s, &[0.95, 0.6, 0.85, 0.2, 0.0]),
            vec![0.0, 1.0 / 3.0, 0.0, 1.0, 1.0]
        );
    }

    #[test]
    fn ties_form_one_block() {
        let s = fit(&[0.5, 0.5, 0.5, 0.1], &[true, false, false, true]);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].p_wrong, s[0].n), (1.0 / 3.0, 3));
    }

    #[test]
    fn ece_in_twenty_bins() {
        // Bin [0.1, 0.15): predictions 0.1, 0.1, labels 1 of 2 → |0.5 − 0.1| · 2/4;
        // bin [0.95, 1]: predictions 1.0, 0.96, both wrong → |1 − 0.98| · 2/4.
        let e = ece(&[0.1, 0.1, 1.0, 0.96], &[true, false, true, true], 20);
        assert!((e - (0.8 / 4.0 + 0.04 / 4.0)).abs() < 1e-12, "{e}");
        assert_eq!(ece(&[0.25, 0.75], &[false, true], 20), 0.25);
    }

    #[test]
    fn shipped_file_reads_and_matches_smollm2_only() {
        let c = for_model("/x/SmolLM2-135M-Instruct.Q4_1.gguf").expect("shipped");
        assert!(for_model("gpt-4o-mini").is_none());
        assert!(for_model("gemma-3-270m").is_none());
        assert!(c.n > 1000);
        // Non-increasing risk as p rises, steps ordered by descending p.
        for w in c.steps.windows(2) {
            assert!(w[0].p_wrong <= w[1].p_wrong && w[0].p_low >= w[1].p_high);
        }
        assert_eq!(c.steps.iter().map(|s| s.n).sum::<usize>(), c.n);
    }

    #[test]
    fn percentile_within_document() {
        assert_eq!(weaker_than(0.2, &[0.9, 0.5, 0.2, 0.1]), 0.5);
        assert_eq!(weaker_than(0.2, &[]), 0.0);
    }
}
