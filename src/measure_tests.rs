use super::*;
use crate::trace::{Alternative, Token};

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tolerance {tol})");
}

fn alt(text: &str, logprob: f64) -> Alternative {
    Alternative {
        bytes: text.as_bytes().into(),
        logprob,
        id: None,
    }
}

fn token(text: &str, logprob: f64, top: Vec<Alternative>) -> Token {
    Token {
        bytes: text.as_bytes().into(),
        logprob: Some(logprob),
        top,
        ..Token::default()
    }
}

// Reference values from the design notes (to 1e-4 as published).
#[test]
fn softmax_reference() {
    let p = softmax(&[4.2, 2.1, 1.8, 0.5, -0.3]);
    for (got, want) in p.iter().zip([0.8006, 0.0980, 0.0726, 0.0198, 0.0089]) {
        close(*got, want, 1e-4);
    }
}

#[test]
fn entropy_reference() {
    close(entropy_bits(&[0.72, 0.10, 0.08, 0.06, 0.04]), 1.3942, 1e-4);
    close(entropy_bits(&[0.25; 4]), 2.0, 1e-12);
}

#[test]
fn perplexity_reference() {
    let ln = |ps: &[f64]| ps.iter().map(|p| p.ln()).collect::<Vec<_>>();
    close(
        perplexity(&ln(&[0.92, 0.88, 0.91, 0.87, 0.90])).unwrap(),
        1.1163,
        1e-4,
    );
    close(
        perplexity(&ln(&[0.71, 0.43, 0.38, 0.52, 0.29])).unwrap(),
        2.2460,
        1e-4,
    );
    assert_eq!(perplexity(&[]), None);
}

#[test]
fn joint_probability_reference() {
    let joint = |p: f64, n: usize| {
        let ms: Vec<TokenMeasures> = (0..n)
            .map(|_| token_measures(&token("a", p.ln(), vec![]), 100))
            .collect();
        sequence_measures(&ms).joint_logprob.exp()
    };
    close(joint(0.9, 10), 0.3487, 1e-4);
    close(joint(0.8, 20), 0.01153, 1e-5);
    close(joint(0.95, 200) / 3.505e-5, 1.0, 1e-3);
}

// Bounds computed independently in Python with the formulas of the design notes.
#[test]
fn entropy_interval_packs_and_spreads_the_residual() {
    let e = entropy_interval(&[0.5, 0.2, 0.1], 0.1, 997.0);
    close(e.low, 1.9609640474436842, 1e-9);
    close(e.high, 3.7532539863233207, 1e-9);
    let full = entropy_interval(&[0.5, 0.25, 0.25], 0.25, 10.0);
    assert_eq!(
        full,
        Interval {
            low: 1.5,
            high: 1.5
        }
    );
}

#[test]
fn token_with_listed_alternatives() {
    let t = token(
        " Paris",
        -0.4,
        vec![alt(" Paris", -0.4), alt(" Lyon", -1.7), alt(" Nice", -2.9)],
    );
    let m = token_measures(&t, 50_000);
    close(m.p.unwrap(), (-0.4f64).exp(), 1e-15);
    close(m.surprisal_bits.unwrap(), 0.5770780163555854, 1e-12);
    assert_eq!(m.rank, Some(1));
    assert!(!m.off_greedy);
    close(m.margin.unwrap(), 0.48763652198290464, 1e-12);
    close(m.residual_mass.unwrap(), 0.09197320985521873, 1e-12);
    let e = m.entropy_bits.unwrap();
    close(e.low, 1.4711057011733564, 1e-9);
    close(e.high, 2.8173718725928, 1e-9);
    assert_eq!(m.best_other, Some(1));
}

#[test]
fn off_greedy_rank_and_negative_margin() {
    let t = token(
        " 2008",
        -2.0,
        vec![alt(" 2012", -0.9), alt(" 2008", -2.0), alt(" 2010", -2.5)],
    );
    let m = token_measures(&t, 50_000);
    assert_eq!(m.rank, Some(2));
    assert!(m.off_greedy);
    close(m.margin.unwrap(), (-2.0f64).exp() - (-0.9f64).exp(), 1e-12);
    assert_eq!(m.best_other, Some(0));
}

#[test]
fn chosen_outside_the_list_joins_the_known_set() {
    // Legacy shape without the sampled token in the list.
    let t = token(" cat", -3.0, vec![alt(" dog", -0.5), alt(" cow", -1.5)]);
    let m = token_measures(&t, 1000);
    assert_eq!(m.rank, Some(3));
    let known = [(-0.5f64).exp(), (-1.5f64).exp(), (-3.0f64).exp()];
    close(
        m.residual_mass.unwrap(),
        1.0 - known.iter().sum::<f64>(),
        1e-12,
    );
}

#[test]
fn no_alternatives_gives_binary_entropy_below() {
    let m = token_measures(&token("x", -0.2, vec![]), 50_000);
    let e = m.entropy_bits.unwrap();
    close(e.low, 0.6828458257737193, 1e-9);
    close(e.high, 3.5123883689211586, 1e-9);
    assert_eq!(m.rank, None);
    assert_eq!(m.margin, None);
}

#[test]
fn sentinels_are_counted_not_averaged() {
    let mut s = token("x", 0.0, vec![alt("y", -0.1)]);
    s.logprob = None;
    s.sentinel = true;
    let ok = token("z", -1.0, vec![]);
    let ms = vec![token_measures(&s, 100), token_measures(&ok, 100)];
    assert!(ms[0].off_greedy);
    assert_eq!(ms[0].p, None);
    let seq = sequence_measures(&ms);
    assert_eq!(seq.sentinel_tokens, 1);
    assert_eq!(seq.scored_tokens, 1);
    close(seq.joint_logprob, -1.0, 0.0);
    close(seq.perplexity.unwrap(), 1f64.exp(), 1e-12);
    close(seq.mean_surprisal_bits.unwrap(), 1.0 / LN2, 1e-12);
}

#[test]
fn exact_entropy_from_a_full_distribution() {
    let mut t = token("x", -0.1, vec![alt("x", -0.1)]);
    t.entropy_bits = Some(0.75);
    assert_eq!(
        token_measures(&t, 10).entropy_bits,
        Some(Interval {
            low: 0.75,
            high: 0.75
        })
    );
}

/// The interval must contain the true entropy of every distribution consistent with the list.
#[test]
fn interval_contains_the_true_entropy() {
    let mut rng = crate::test_rng::Xorshift(0x2545F4914F6CDD1D);
    let mut next = || rng.unit();
    for _ in 0..200 {
        let v = 200;
        let a = 1.0 + 2.0 * next();
        let logits: Vec<f64> = (0..v)
            .map(|i| -a * ((i + 1) as f64).ln() + next())
            .collect();
        let mut p = softmax(&logits);
        p.sort_by(|x, y| y.total_cmp(x));
        let h = entropy_bits(&p);
        for k in [1usize, 5, 20] {
            let top = &p[..k];
            let e = entropy_interval(top, top[k - 1], (v - k) as f64);
            assert!(
                e.low <= h + 1e-9 && h <= e.high + 1e-9,
                "k={k}: {h} not in {e:?}"
            );
        }
    }
}
