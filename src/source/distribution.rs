//! The next-token distribution of one row of logits, summarised for scoring: its log-partition,
//! its exact entropy, and the most likely tokens. Used by the local scorer (feature `local`);
//! plain Rust, so it is tested without building llama.cpp.

#![cfg_attr(not(feature = "local"), allow(dead_code))]

/// The softmax of one row of logits, summarised: ln p(i) = logit(i) − `log_z`.
pub(crate) struct Distribution {
    pub(crate) log_z: f64,
    pub(crate) entropy_bits: f64,
}

impl Distribution {
    pub(crate) fn of(logits: &[f32]) -> Distribution {
        let max = logits
            .iter()
            .copied()
            .filter(|l| l.is_finite())
            .fold(f32::NEG_INFINITY, f32::max) as f64;
        // s = Σ e^x, t = Σ x e^x with x = logit − max; H = ln s − t / s (nats).
        let (mut s, mut t) = (0.0f64, 0.0f64);
        for &l in logits {
            let x = l as f64 - max;
            if x.is_finite() {
                let e = x.exp();
                s += e;
                t += x * e;
            }
        }
        let ln_s = s.ln();
        let h = (ln_s - t / s).max(0.0);
        Distribution {
            log_z: max + ln_s,
            entropy_bits: h / std::f64::consts::LN_2,
        }
    }

    pub(crate) fn logprob(&self, logit: f32) -> f64 {
        (logit as f64 - self.log_z).min(0.0)
    }

    /// The `k` most likely token ids with their ln p, most likely first (lower id first on ties).
    pub(crate) fn top(&self, logits: &[f32], k: usize) -> Vec<(usize, f64)> {
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        for (i, &l) in logits.iter().enumerate() {
            if !l.is_finite() || (best.len() == k && l <= best[k - 1].0) {
                continue;
            }
            let at = best.partition_point(|&(b, _)| b >= l);
            best.insert(at, (l, i));
            best.truncate(k);
        }
        best.into_iter()
            .map(|(l, i)| (i, self.logprob(l)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_matches_the_definition() {
        let logits = [1.0f32, 2.0, 0.5, -1.0, 2.0];
        let d = Distribution::of(&logits);
        let z: f64 = logits.iter().map(|&l| (l as f64).exp()).sum();
        let p: Vec<f64> = logits.iter().map(|&l| (l as f64).exp() / z).collect();
        let h: f64 = -p.iter().map(|p| p * p.log2()).sum::<f64>();
        assert!((d.entropy_bits - h).abs() < 1e-12);
        assert!((d.logprob(2.0) - p[1].ln()).abs() < 1e-12);
        let top = d.top(&logits, 3);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 4, 0]);
    }
}
