//! `hedge calibrate FILE.jsonl... --model GGUF --out calibration.json`: fit how often a word
//! with a given weakest-token probability is wrong, on human labels.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use hedge::eval::calibration::{self, Calibration};

use super::eval::{score_all, Scored, ScoringArgs};
use super::fail;

#[derive(Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub scoring: ScoringArgs,
    /// Where to write the calibration (a new file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Lower-case pieces of model names the calibration applies to (default: the GGUF file's
    /// name up to its first dot, lower-cased).
    #[arg(long = "match", value_name = "TEXT")]
    pub matches: Vec<String>,
    /// The name of the labelled data, as findings will show it.
    #[arg(long, value_name = "NAME", default_value = "Mu-SHROOM val")]
    pub data: String,
}

/// A word is wrong when more than half of its characters lie inside a hard label.
pub fn word_labels(scored: &[Scored]) -> Vec<(usize, f64, bool)> {
    let mut out = Vec::new();
    for (k, s) in scored.iter().enumerate() {
        let len = s.record.text_len();
        let mut inside = vec![false; len];
        for &(a, b) in &s.record.hard_labels {
            for x in inside.iter_mut().take(b.min(len)).skip(a) {
                *x = true;
            }
        }
        for w in &s.words {
            let n = w.chars.len();
            let hit = w
                .chars
                .clone()
                .filter(|&i| inside.get(i).copied().unwrap_or(false))
                .count();
            out.push((k, w.min_p, 2 * hit > n));
        }
    }
    out
}

pub fn run(a: CalibrateArgs) -> ExitCode {
    if a.out.exists() {
        return fail(format!(
            "{}: already exists; hedge does not overwrite files",
            a.out.display()
        ));
    }
    let scored = match score_all(&a.scoring) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let units = word_labels(&scored);
    let p: Vec<f64> = units.iter().map(|u| u.1).collect();
    let y: Vec<bool> = units.iter().map(|u| u.2).collect();
    let steps = calibration::fit(&p, &y);
    let ece_fit = calibration::ece(&calibration::apply(&steps, &p), &y, 20);
    // Two-fold cross-fitting by record: even records scored by the map of odd ones and back.
    let mut cross = vec![0.0; p.len()];
    for fold in 0..2 {
        let train: Vec<usize> = (0..units.len())
            .filter(|&i| units[i].0 % 2 != fold)
            .collect();
        let tp: Vec<f64> = train.iter().map(|&i| p[i]).collect();
        let ty: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let s = calibration::fit(&tp, &ty);
        for i in (0..units.len()).filter(|&i| units[i].0 % 2 == fold) {
            cross[i] = calibration::apply(&s, &[p[i]])[0];
        }
    }
    let ece_cross = calibration::ece(&cross, &y, 20);
    let raw: Vec<f64> = p.iter().map(|q| 1.0 - q).collect();
    let ece_uncalibrated = calibration::ece(&raw, &y, 20);
    let model = a
        .scoring
        .model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let matches = if a.matches.is_empty() {
        vec![model.split('.').next().unwrap_or(&model).to_lowercase()]
    } else {
        a.matches.iter().map(|m| m.to_lowercase()).collect()
    };
    let matches_arg: String = matches.iter().map(|m| format!(" --match {m}")).collect();
    let files: Vec<String> = a
        .scoring
        .files
        .iter()
        .map(|f| {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let c = Calibration {
        model: model.clone(),
        matches,
        data: a.data.clone(),
        unit: "a word (Unicode word boundaries); wrong when more than half of its characters are inside a hard label".into(),
        n: y.len(),
        wrong: y.iter().filter(|&&w| w).count(),
        steps,
        ece_fit,
        ece_cross,
        ece_uncalibrated,
        command: format!(
            "hedge calibrate {} --model {model} --prompt-format {}{} --data \"{}\" --out …",
            files.join(" "),
            a.scoring.prompt_format_name(),
            matches_arg,
            a.data
        ),
    };
    let text = match serde_json::to_string_pretty(&c) {
        Ok(t) => t + "\n",
        Err(e) => return fail(e),
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&a.out)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        return fail(format!("{}: cannot be written: {e}", a.out.display()));
    }
    println!(
        "{} words ({} wrong, {:.1}%), {} steps; ECE (20 bins): fitted {:.4}, two-fold cross-fitted {:.4}, 1 − p read as a probability {:.4}; wrote {}",
        c.n,
        c.wrong,
        100.0 * c.wrong as f64 / c.n.max(1) as f64,
        c.steps.len(),
        c.ece_fit,
        c.ece_cross,
        c.ece_uncalibrated,
        a.out.display()
    );
    ExitCode::SUCCESS
}
