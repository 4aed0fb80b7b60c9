//! The official Mu-SHROOM metrics (IoU of hard spans, Spearman correlation of soft spans), and
//! ROC-AUC and average precision of per-character scores against the hard labels.
//!
//! IoU and Cor follow the task's scorer exactly: IoU over sets of character indices (1 when both
//! are empty); Cor builds one vector per side of the answer's length, each soft span writing its
//! probability over `[start, end)` (later spans overwrite earlier ones); when either vector has a
//! single distinct value after rounding to 8 decimals the score is 1 if both do and 0 otherwise,
//! else Spearman's rho with average ranks for ties.

use std::collections::BTreeSet;

use super::reader::SoftSpan;

/// Intersection over union of the character indices covered by two sets of `[start, end)`
/// spans; 1.0 when both cover nothing.
pub fn iou(reference: &[(usize, usize)], predicted: &[(usize, usize)]) -> f64 {
    let set = |spans: &[(usize, usize)]| -> BTreeSet<usize> {
        spans.iter().flat_map(|&(s, e)| s..e).collect()
    };
    let r = set(reference);
    let p = set(predicted);
    if r.is_empty() && p.is_empty() {
        return 1.0;
    }
    let inter = r.intersection(&p).count();
    let union = r.len() + p.len() - inter;
    inter as f64 / union as f64
}

/// The per-character vector of soft spans over an answer of `len` characters (later spans
/// overwrite earlier ones; indices past the end are ignored).
pub fn soft_vector(spans: &[SoftSpan], len: usize) -> Vec<f64> {
    let mut v = vec![0.0; len];
    for s in spans {
        for x in v.iter_mut().take(s.end.min(len)).skip(s.start) {
            *x = s.prob;
        }
    }
    v
}

fn distinct_rounded(v: &[f64]) -> usize {
    v.iter()
        .map(|x| (x * 1e8).round() as i64)
        .collect::<BTreeSet<i64>>()
        .len()
}

/// The official Cor of one record.
pub fn cor(reference: &[SoftSpan], predicted: &[SoftSpan], len: usize) -> f64 {
    cor_vectors(&soft_vector(reference, len), &soft_vector(predicted, len))
}

/// Cor of two per-character vectors of the same length.
pub fn cor_vectors(reference: &[f64], predicted: &[f64]) -> f64 {
    let (dr, dp) = (distinct_rounded(reference), distinct_rounded(predicted));
    if dr <= 1 || dp <= 1 {
        return if dr == dp { 1.0 } else { 0.0 };
    }
    spearman(reference, predicted)
}

/// Ranks 1..=n with ties given the average of the ranks they span.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson correlation; NaN when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Spearman's rho: Pearson correlation of the average ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&average_ranks(a), &average_ranks(b))
}

/// ROC-AUC of `scores` (higher = more likely positive) against `labels`, ties counted half
/// (Mann–Whitney U). `None` without both classes.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let ranks = average_ranks(scores);
    let sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l)
        .map(|(r, _)| r)
        .sum();
    let (pos, neg) = (pos as f64, neg as f64);
    Some((sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Average precision (the area under the precision–recall curve as scikit-learn's
/// `average_precision_score` computes it: Σ (R_k − R_{k−1}) P_k over distinct thresholds,
/// tied scores taken together). `None` without a positive.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|&&l| l).count();
    if pos == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut ap, mut prev_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            tp += labels[idx[j]] as usize;
            seen += 1;
            j += 1;
        }
        let recall = tp as f64 / pos as f64;
        ap += (recall - prev_recall) * (tp as f64 / seen as f64);
        prev_recall = recall;
        i = j;
    }
    Some(ap)
}

/// What a system predicts for one record: hard spans and soft spans, in code points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prediction {
    pub hard: Vec<(usize, usize)>,
    pub soft: Vec<SoftSpan>,
}

impl Prediction {
    /// The whole answer marked, with probability 1 (the task's mark-all baseline).
    pub fn mark_all(len: usize) -> Prediction {
        Prediction {
            hard: vec![(0, len)],
            soft: vec![SoftSpan {
                start: 0,
                end: len,
                prob: 1.0,
            }],
        }
    }

    /// Nothing marked.
    pub fn mark_none() -> Prediction {
        Prediction::default()
    }

    /// Hard spans (runs of characters with score ≥ `threshold`) and soft spans (runs of equal
    /// nonzero score) from per-character scores in 0..=1.
    pub fn from_scores(scores: &[f64], threshold: f64) -> Prediction {
        let mut hard = Vec::new();
        let mut soft: Vec<SoftSpan> = Vec::new();
        let mut i = 0;
        while i < scores.len() {
            let mut j = i;
            while j < scores.len() && scores[j] == scores[i] {
                j += 1;
            }
            if scores[i] > 0.0 {
                soft.push(SoftSpan {
                    start: i,
                    end: j,
                    prob: scores[i],
                });
            }
            i = j;
        }
        let mut i = 0;
        while i < scores.len() {
            if scores[i] >= threshold {
                let mut j = i;
                while j < scores.len() && scores[j] >= threshold {
                    j += 1;
                }
                hard.push((i, j));
                i = j;
            } else {
                i += 1;
            }
        }
        Prediction { hard, soft }
    }
}

/// Mean IoU and Cor over records, and pooled character-level AUCs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    pub records: usize,
    pub iou: f64,
    pub cor: f64,
    /// Character-level ROC-AUC of the score against the hard labels (`None` when the scores
    /// were not given or one class is missing).
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    /// Share of characters inside a hard label (the precision of marking everything).
    pub positive_rate: f64,
}

/// Accumulates records of one group (a language, or all).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    iou: Vec<f64>,
    cor: Vec<f64>,
    scores: Vec<f64>,
    labels: Vec<bool>,
    with_scores: bool,
}

impl Tally {
    /// Add one record: its reference spans, the prediction, and optionally the per-character
    /// scores behind it (for the AUCs).
    pub fn add(
        &mut self,
        hard: &[(usize, usize)],
        soft: &[SoftSpan],
        len: usize,
        pred: &Prediction,
        char_scores: Option<&[f64]>,
    ) -> (f64, f64) {
        let i = iou(hard, &pred.hard);
        let c = cor(soft, &pred.soft, len);
        self.iou.push(i);
        self.cor.push(c);
        let mut label = vec![false; len];
        for &(s, e) in hard {
            for l in label.iter_mut().take(e.min(len)).skip(s) {
                *l = true;
            }
        }
        if let Some(sc) = char_scores {
            self.with_scores = true;
            self.scores.extend_from_slice(&sc[..len.min(sc.len())]);
            label.truncate(sc.len().min(len));
        }
        self.labels.extend(label);
        (i, c)
    }

    pub fn scores(&self) -> Scores {
        let n = self.iou.len();
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let pos = self.labels.iter().filter(|&&l| l).count();
        Scores {
            records: n,
            iou: mean(&self.iou),
            cor: mean(&self.cor),
            roc_auc: self
                .with_scores
                .then(|| roc_auc(&self.scores, &self.labels))
                .flatten(),
            pr_auc: self
                .with_scores
                .then(|| average_precision(&self.scores, &self.labels))
                .flatten(),
            positive_rate: if self.labels.is_empty() {
                0.0
            } else {
                pos as f64 / self.labels.len() as f64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: usize, end: usize, prob: f64) -> SoftSpan {
        SoftSpan { start, end, prob }
    }

    #[test]
    fn iou_of_character_sets() {
        assert_eq!(iou(&[], &[]), 1.0);
        assert_eq!(iou(&[(0, 4)], &[]), 0.0);
        assert_eq!(iou(&[], &[(2, 3)]), 0.0);
        // {2,3,4,5} ∩ {4,5,6,7,8,9} = {4,5}; union 8 indices.
        assert_eq!(iou(&[(2, 6)], &[(4, 10)]), 0.25);
        // Overlapping spans on one side count each index once.
        assert_eq!(iou(&[(0, 3), (1, 4)], &[(0, 4)]), 1.0);
    }

    #[test]
    fn later_soft_spans_overwrite() {
        let v = soft_vector(&[s(0, 4, 0.5), s(2, 3, 0.9), s(5, 9, 1.0)], 6);
        assert_eq!(v, vec![0.5, 0.5, 0.9, 0.5, 0.0, 1.0]);
    }

    #[test]
    fn cor_constant_vectors() {
        // Reference constant (no labels), prediction constant: 1; prediction varies: 0.
        assert_eq!(cor(&[], &[], 5), 1.0);
        assert_eq!(cor(&[], &[s(0, 5, 1.0)], 5), 1.0);
        assert_eq!(cor(&[], &[s(0, 2, 0.3)], 5), 0.0);
        assert_eq!(cor(&[s(1, 3, 0.6)], &[], 5), 0.0);
        // Differences below 1e-8 do not count as distinct values.
        assert_eq!(cor(&[s(1, 3, 0.6)], &[s(0, 2, 1e-10)], 5), 0.0);
    }

    #[test]
    fn spearman_with_ties() {
        assert_eq!(
            average_ranks(&[0.0, 0.5, 0.0, 1.0]),
            vec![1.5, 3.0, 1.5, 4.0]
        );
        // ref [0, .2, .2, .8, 0], pred [0, 0, .5, .5, .1]:
        // ranks ref [1.5, 3.5, 3.5, 5, 1.5], pred [1.5, 1.5, 4.5, 4.5, 3];
        // rho = 5.25 / sqrt(9 · 9) = 7/12.
        let r = cor(
            &[s(1, 3, 0.2), s(3, 4, 0.8)],
            &[s(2, 4, 0.5), s(4, 5, 0.1)],
            5,
        );
        assert!((r - 7.0 / 12.0).abs() < 1e-15, "{r}");
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[30.0, 20.0, 10.0]), -1.0);
    }

    #[test]
    fn auc_and_average_precision() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.5];
        let labels = [true, false, true, false, true, false];
        // Positive/negative pairs won: 0.9 beats 3, 0.7 beats 2, 0.5 ties one: 5.5 / 9.
        assert_eq!(roc_auc(&scores, &labels), Some(5.5 / 9.0));
        // Thresholds: 0.9 → R 1/3 P 1; 0.7 → R 2/3 P 2/3; 0.5 → R 1 P 1/2.
        let ap = average_precision(&scores, &labels).unwrap();
        assert!(
            (ap - (1.0 / 3.0 + 2.0 / 9.0 + 1.0 / 6.0)).abs() < 1e-15,
            "{ap}"
        );
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(average_precision(&[0.1], &[false]), None);
    }

    #[test]
    fn predictions_from_scores() {
        let p = Prediction::from_scores(&[0.0, 0.9, 0.9, 0.4, 0.95, 0.0], 0.8);
        assert_eq!(p.hard, vec![(1, 3), (4, 5)]);
        assert_eq!(p.soft, vec![s(1, 3, 0.9), s(3, 4, 0.4), s(4, 5, 0.95)]);
        assert_eq!(Prediction::mark_all(7).hard, vec![(0, 7)]);
    }

    #[test]
    fn tally_means_and_pools() {
        let mut t = Tally::default();
        let pred = Prediction::from_scores(&[0.0, 1.0, 1.0, 0.0], 0.5);
        let (i, c) = t.add(
            &[(1, 3)],
            &[s(1, 3, 0.7)],
            4,
            &pred,
            Some(&[0.0, 1.0, 1.0, 0.0]),
        );
        assert_eq!((i, c), (1.0, 1.0));
        t.add(&[], &[], 2, &Prediction::mark_all(2), Some(&[1.0, 1.0]));
        let sc = t.scores();
        assert_eq!(sc.records, 2);
        assert_eq!(sc.iou, 0.5);
        assert_eq!(sc.cor, 1.0);
        // Pooled: positives {1,2} at 1.0; negatives 0,3 at 0.0 and two at 1.0.
        assert_eq!(sc.roc_auc, Some(0.75));
        assert_eq!(sc.positive_rate, 2.0 / 6.0);
    }
}
