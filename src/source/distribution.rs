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
        let (s, t) = exp_sums(logits, max);
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
        // Once k are held, a block with nothing above the k-th is passed over whole (the test
        // is branch-free, so it runs on vector instructions).
        const BLOCK: usize = 32;
        for (b, block) in logits.chunks(BLOCK).enumerate() {
            if best.len() == k && k > 0 {
                let floor = best[k - 1].0;
                if !block.iter().fold(false, |any, &l| any | (l > floor)) {
                    continue;
                }
            }
            for (j, &l) in block.iter().enumerate() {
                if !l.is_finite() || (best.len() == k && l <= best[k - 1].0) {
                    continue;
                }
                let at = best.partition_point(|&(b, _)| b >= l);
                best.insert(at, (l, b * BLOCK + j));
                best.truncate(k);
            }
        }
        best.into_iter()
            .map(|(l, i)| (i, self.logprob(l)))
            .collect()
    }
}

/// Σ e^x and Σ x·e^x over the finite logits, x = logit − `max` (so x ≤ 0). A large vocabulary
/// makes this most of the scorer's own work (262,144 exponentials per token for Gemma 3), so
/// on a CPU with AVX2 and FMA it is done four at a time.
fn exp_sums(logits: &[f32], max: f64) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has both features the function is compiled for (checked just above).
        return unsafe { avx2::exp_sums(logits, max) };
    }
    exp_sums_scalar(logits, max)
}

fn exp_sums_scalar(logits: &[f32], max: f64) -> (f64, f64) {
    let (mut s, mut t) = (0.0f64, 0.0f64);
    for &l in logits {
        let x = l as f64 - max;
        if x.is_finite() {
            let e = x.exp();
            s += e;
            t += x * e;
        }
    }
    (s, t)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Below this, e^x (< 3.3e-308) is left out: against Σ e^x ≥ 1 it is far below one ulp.
    const FLOOR: f64 = -708.0;

    /// [`super::exp_sums`], four lanes at a time. e^x = 2^n · e^r with n = round(x / ln 2) and
    /// |r| ≤ ln 2 / 2; e^r by its Taylor series to degree 12 (truncation below 2e-16 relative),
    /// 2^n built in the exponent bits. Within 1 ulp of `f64::exp` for x in [−708, 0].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn exp_sums(logits: &[f32], max: f64) -> (f64, f64) {
        const TAYLOR: [f64; 13] = [
            1.0,
            1.0,
            1.0 / 2.0,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
            1.0 / 40320.0,
            1.0 / 362880.0,
            1.0 / 3628800.0,
            1.0 / 39916800.0,
            1.0 / 479001600.0,
        ];
        // 1.5 · 2^52: adding it rounds to an integer, which then sits in the low mantissa bits.
        const SHIFT: f64 = 6755399441055744.0;
        const LN2_HI: f64 = 6.931_471_803_691_238e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        let maxv = _mm256_set1_pd(max);
        let floor = _mm256_set1_pd(FLOOR);
        let zero = _mm256_setzero_pd();
        let shift = _mm256_set1_pd(SHIFT);
        let (mut s, mut t) = (zero, zero);
        let mut chunks = logits.chunks_exact(4);
        for c in &mut chunks {
            // SAFETY: `c` holds four f32s.
            let l = unsafe { _mm_loadu_ps(c.as_ptr()) };
            let x = _mm256_sub_pd(_mm256_cvtps_pd(l), maxv);
            // Finite logits have FLOOR < x ≤ 0; NaN, ±∞ and the negligible fail the test.
            let keep = _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GT_OQ>(x, floor),
                _mm256_cmp_pd::<_CMP_LE_OQ>(x, zero),
            );
            let x = _mm256_and_pd(x, keep);
            let big = _mm256_fmadd_pd(x, _mm256_set1_pd(std::f64::consts::LOG2_E), shift);
            let n = _mm256_sub_pd(big, shift);
            let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_HI), x);
            let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_LO), r);
            let mut p = _mm256_set1_pd(TAYLOR[12]);
            for &c in TAYLOR[..12].iter().rev() {
                p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c));
            }
            let bits = _mm256_add_epi64(_mm256_castpd_si256(big), _mm256_set1_epi64x(1023));
            let scale = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(bits));
            let e = _mm256_and_pd(_mm256_mul_pd(p, scale), keep);
            s = _mm256_add_pd(s, e);
            t = _mm256_fmadd_pd(x, e, t);
        }
        let (mut sa, mut ta) = ([0.0f64; 4], [0.0f64; 4]);
        // SAFETY: both arrays hold four f64s.
        unsafe {
            _mm256_storeu_pd(sa.as_mut_ptr(), s);
            _mm256_storeu_pd(ta.as_mut_ptr(), t);
        }
        let (rs, rt) = super::exp_sums_scalar(chunks.remainder(), max);
        (sa.iter().sum::<f64>() + rs, ta.iter().sum::<f64>() + rt)
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

    #[test]
    fn large_rows_agree_with_the_plain_sums() {
        // A Gemma-sized row of logits with the values scoring meets: a wide spread, a few
        // non-finite ones, and one far below the rest.
        let mut rng = crate::test_rng::Xorshift(0x9E37_79B9_7F4A_7C15);
        let mut logits: Vec<f32> = (0..262_147)
            .map(|_| (rng.unit() * 40.0 - 20.0) as f32)
            .collect();
        logits[3] = 31.5;
        logits[10] = f32::NEG_INFINITY;
        logits[11] = f32::NAN;
        logits[12] = -900.0;
        let (s, t) = exp_sums(&logits, 31.5);
        let (s0, t0) = exp_sums_scalar(&logits, 31.5);
        // Added up in a different order: over 262,147 terms the two sums may part by a few
        // hundred ulps (each is within n·ε ≈ 3e-11 of the exact sum).
        assert!(((s - s0) / s0).abs() < 1e-11, "{s} vs {s0}");
        assert!(((t - t0) / t0).abs() < 1e-11, "{t} vs {t0}");
        let d = Distribution::of(&logits);
        let top = d.top(&logits, 20);
        let mut sorted: Vec<(f32, usize)> = logits
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .map(|(i, l)| (l, i))
            .collect();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let want: Vec<usize> = sorted[..20].iter().map(|p| p.1).collect();
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), want);
        assert_eq!(top[0].0, 3);
    }

    #[test]
    fn exponentials_are_within_an_ulp() {
        for i in 0..200_000 {
            let x = -(i as f64) * 0.003_54;
            let (s, _) = exp_sums(&[x as f32, f32::NAN, -1.0, -2.0, -0.5], 0.0);
            let (s0, _) = exp_sums_scalar(&[x as f32, f32::NAN, -1.0, -2.0, -0.5], 0.0);
            assert!(((s - s0) / s0).abs() < 4e-16, "x = {x}: {s} vs {s0}");
        }
    }
}
