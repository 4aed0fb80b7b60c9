//! The Mu-SHROOM metrics on the validation files: mark-all and mark-none, and the reference
//! labels shifted by three characters, against the task's scorer (scipy's `spearmanr`)
//! run on the same files. The files live outside the repository (`../shared/data`); without
//! them these tests are skipped with a note.

use std::path::{Path, PathBuf};

use hedge::eval::metrics::{Prediction, Tally};
use hedge::eval::reader::{self, SoftSpan};

fn val_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mu-shroom/val");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: no Mu-SHROOM validation files at {}",
            dir.display()
        );
        None
    }
}

const LANGS: [&str; 10] = ["ar", "de", "en", "es", "fi", "fr", "hi", "it", "sv", "zh"];

/// (records, IoU, Cor) of `predict` per language in LANGS order, then over all records.
fn run(dir: &Path, predict: impl Fn(&reader::Record) -> Prediction) -> Vec<(usize, f64, f64)> {
    let mut all = Tally::default();
    let mut out = Vec::new();
    for lang in LANGS {
        let recs = reader::read(&dir.join(format!("mushroom.{lang}-val.v2.extra.jsonl"))).unwrap();
        let mut t = Tally::default();
        for r in &recs {
            let p = predict(r);
            t.add(&r.hard_labels, &r.soft_labels, r.text_len(), &p, None);
            all.add(&r.hard_labels, &r.soft_labels, r.text_len(), &p, None);
        }
        let s = t.scores();
        out.push((s.records, s.iou, s.cor));
    }
    let s = all.scores();
    out.push((s.records, s.iou, s.cor));
    out
}

fn assert_close(got: &[(usize, f64, f64)], want: &[(usize, f64, f64)]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let name = LANGS.get(i).copied().unwrap_or("all");
        assert_eq!(g.0, w.0, "{name}: records");
        assert!((g.1 - w.1).abs() < 1e-12, "{name}: IoU {} vs {}", g.1, w.1);
        assert!((g.2 - w.2).abs() < 1e-12, "{name}: Cor {} vs {}", g.2, w.2);
    }
}

#[test]
fn mark_all_and_mark_none_on_validation() {
    let Some(dir) = val_dir() else { return };
    let all = run(&dir, |r| Prediction::mark_all(r.text_len()));
    assert_close(
        &all,
        &[
            (50, 0.33540400542553783, 0.0),
            (50, 0.3938477197128708, 0.02),
            (50, 0.2887335007167313, 0.0),
            (50, 0.1388568433412754, 0.04),
            (50, 0.42478627998443685, 0.0),
            (50, 0.3695701966661325, 0.0),
            (50, 0.28165088700676594, 0.0),
            (50, 0.3543753708033773, 0.0),
            (49, 0.5329056927834054, 0.0),
            (50, 0.46041641397307664, 0.0),
            (499, 0.3577042882322587, 0.006012024048096192),
        ],
    );
    let none = run(&dir, |_| Prediction::mark_none());
    assert_close(
        &none,
        &[
            (50, 0.0, 0.0),
            (50, 0.08, 0.02),
            (50, 0.04, 0.0),
            (50, 0.16, 0.04),
            (50, 0.0, 0.0),
            (50, 0.0, 0.0),
            (50, 0.04, 0.0),
            (50, 0.0, 0.0),
            (49, 0.04081632653061224, 0.0),
            (50, 0.06, 0.0),
            (499, 0.04208416833667335, 0.006012024048096192),
        ],
    );
}

#[test]
fn shifted_reference_on_validation() {
    // The reference spans moved three characters right (clamped to the text): exercises
    // partial overlaps and Spearman with many ties on real labels.
    let Some(dir) = val_dir() else { return };
    let got = run(&dir, |r| {
        let n = r.text_len();
        Prediction {
            hard: r
                .hard_labels
                .iter()
                .map(|&(s, e)| ((s + 3).min(n), (e + 3).min(n)))
                .collect(),
            soft: r
                .soft_labels
                .iter()
                .map(|s| SoftSpan {
                    start: (s.start + 3).min(n),
                    end: (s.end + 3).min(n),
                    prob: s.prob,
                })
                .collect(),
        }
    });
    assert_close(
        &got,
        &[
            (50, 0.5738004110878651, 0.6291225657250125),
            (50, 0.6927880002030995, 0.6759489127667667),
            (50, 0.5639816768005173, 0.6672453165814519),
            (50, 0.6365257710010319, 0.7690590959714387),
            (50, 0.7636555169913681, 0.792767822145231),
            (50, 0.7542655228866323, 0.8259670174473682),
            (50, 0.5286908201454629, 0.5450717268967779),
            (50, 0.6015445228195194, 0.6326351109342928),
            (49, 0.7539711377965114, 0.692857599225203),
            (50, 0.6346272056117029, 0.5696188339482168),
            (499, 0.6501774712011804, 0.6800036923504265),
        ],
    );
}
