//! `hedge eval FILE.jsonl... --model GGUF`: score Mu-SHROOM answers with the local model and
//! report the task's metrics (IoU, Cor) and character-level AUCs, per language and overall.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use hedge::analysis::analyze;
use hedge::config::Config;
use hedge::eval::metrics::{Prediction, Scores, Tally};
use hedge::eval::predict::{self, Measure, Spread, WordFeatures};
use hedge::eval::reader::{self, Record};
use hedge::trace::{native, Trace};

use super::{fail, local};

/// The measure `hedge eval` predicts with unless told otherwise (chosen on the validation
/// split; see docs/evaluation.md).
pub const DEFAULT_MEASURE: &str = "claim-min-p";
/// Its hard-span threshold: a word is marked when the weakest token of its claim (or of the word
/// itself) has p below 1 − this.
pub const DEFAULT_THRESHOLD: f64 = 0.85;
/// How word scores spread by default.
pub const DEFAULT_SPREAD: &str = "content";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PromptFormat {
    /// `Question: …\nAnswer: ` before the answer.
    Plain,
    /// The ChatML turns SmolLM2 and Qwen are tuned on: `<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n`.
    Chatml,
    /// No context: the answer alone.
    None,
}

impl PromptFormat {
    fn name(self) -> &'static str {
        match self {
            PromptFormat::Plain => "plain",
            PromptFormat::Chatml => "chatml",
            PromptFormat::None => "none",
        }
    }

    fn context(self, question: &str) -> Option<String> {
        match self {
            PromptFormat::Plain => Some(format!("Question: {question}\nAnswer: ")),
            PromptFormat::Chatml => Some(format!(
                "<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
            )),
            PromptFormat::None => None,
        }
    }
}

/// What both `eval` and `calibrate` need: the records and how to score them.
#[derive(Args, Clone)]
pub struct ScoringArgs {
    /// Mu-SHROOM files (JSONL: id, model_input, model_output_text, hard_labels, soft_labels).
    #[arg(required = true, value_name = "FILE.jsonl")]
    pub files: Vec<PathBuf>,
    /// The GGUF model that scores each answer (needs a hedge built with `--features local`).
    #[arg(long, value_name = "GGUF")]
    pub model: PathBuf,
    /// The context the answer is scored after.
    #[arg(long, value_enum, default_value_t = PromptFormat::Chatml)]
    pub prompt_format: PromptFormat,
    /// Keep each record's trace in this directory (native JSONL) and reuse it on the next run.
    #[arg(long, value_name = "DIR")]
    pub traces: Option<PathBuf>,
    /// Only the first N records of each file.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

impl ScoringArgs {
    pub fn prompt_format_name(&self) -> &'static str {
        self.prompt_format.name()
    }
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub scoring: ScoringArgs,
    /// Write the predictions in the task's submission format (JSONL: id, hard_labels,
    /// soft_labels) to this new file.
    #[arg(long, value_name = "OUT.jsonl")]
    pub predictions: Option<PathBuf>,
    /// The per-word measure behind the scores (min-p, joint-p, mean-surprisal, max-entropy,
    /// decision-entropy, off-greedy, excess-surprisal, claim-min-p, findings).
    #[arg(long, default_value = DEFAULT_MEASURE, value_parser = parse_measure)]
    pub measure: Measure,
    /// How word scores spread: word (each its own), content (short lower-case words score 0),
    /// neighbours (each word takes the worst of itself and the words beside it).
    #[arg(long, default_value = DEFAULT_SPREAD, value_parser = parse_spread)]
    pub spread: Spread,
    /// Mark a word as a hard span when its raw score reaches this (min-p: 1 − p; entropies and
    /// surprisals in bits).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Also try every measure at several thresholds and print the results as a Markdown table.
    #[arg(long)]
    pub sweep: bool,
}

fn parse_spread(s: &str) -> Result<Spread, String> {
    Spread::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Spread::ALL.iter().map(|m| m.name()).collect();
        format!("unknown spread `{s}`; one of: {}", names.join(", "))
    })
}

fn parse_measure(s: &str) -> Result<Measure, String> {
    Measure::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
        format!("unknown measure `{s}`; one of: {}", names.join(", "))
    })
}

/// A record with what hedge measured on its answer.
pub struct Scored {
    pub record: Record,
    pub words: Vec<WordFeatures>,
}

fn cache_path(dir: &Path, id: &str, prompt: PromptFormat) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.{}.jsonl", prompt.name()))
}

fn model_name(model: &Path) -> String {
    model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn trace_for(a: &ScoringArgs, rec: &Record) -> Result<Trace, String> {
    let cache = a
        .traces
        .as_ref()
        .map(|d| cache_path(d, &rec.id, a.prompt_format));
    if let Some(p) = &cache {
        if let Ok(bytes) = std::fs::read(p) {
            if let Ok(t) = native::read(&bytes) {
                let same_model = t
                    .model
                    .as_deref()
                    .is_some_and(|m| m.ends_with(&model_name(&a.model)));
                if same_model && t.generated_bytes() == rec.model_output_text.as_bytes() {
                    return Ok(t);
                }
            }
        }
    }
    let context = a.prompt_format.context(&rec.model_input);
    let scored = local::score(&a.model, &rec.model_output_text, context.as_deref())?;
    if let Some(p) = &cache {
        let mut buf = Vec::new();
        native::write(&scored.trace, &mut buf).map_err(|e| e.to_string())?;
        std::fs::write(p, buf).map_err(|e| format!("{}: cannot be written: {e}", p.display()))?;
    }
    Ok(scored.trace)
}

/// Read every file, score every answer, and measure its words. Progress goes to stderr.
pub fn score_all(a: &ScoringArgs) -> Result<Vec<Scored>, String> {
    if !cfg!(feature = "local") {
        return Err(local::NOT_BUILT.into());
    }
    let mut records = Vec::new();
    for f in &a.files {
        let mut r = reader::read(f)?;
        if let Some(n) = a.limit {
            r.truncate(n);
        }
        records.extend(r);
    }
    if records.is_empty() {
        return Err("the files hold no records".into());
    }
    if let Some(d) = &a.traces {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let cfg = Config::default();
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let n = records.len();
    let mut out = Vec::with_capacity(n);
    for (k, rec) in records.into_iter().enumerate() {
        let line = format!(
            "hedge: scoring {}/{n} ({}) with {}",
            k + 1,
            rec.id,
            model_name(&a.model)
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else if k % 25 == 0 || k + 1 == n {
            eprintln!("{line}");
        }
        let words = if rec.model_output_text.is_empty() {
            Vec::new()
        } else {
            let trace = trace_for(a, &rec).map_err(|e| format!("{}: {e}", rec.id))?;
            match analyze(&rec.model_output_text, &trace, &cfg) {
                Ok(an) => predict::word_features(&rec.model_output_text, &an),
                Err(e) => return Err(format!("{}: {e}", rec.id)),
            }
        };
        out.push(Scored { record: rec, words });
    }
    if tty {
        eprintln!();
    }
    eprintln!(
        "hedge: scored {n} answers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// Per-language and overall scores of one way of predicting.
pub struct Results {
    pub by_lang: BTreeMap<String, Scores>,
    pub all: Scores,
}

fn tally_by(
    scored: &[Scored],
    mut predict: impl FnMut(&Scored) -> (Prediction, Option<Vec<f64>>),
) -> Results {
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    for s in scored {
        let r = &s.record;
        let (pred, scores) = predict(s);
        let len = r.text_len();
        for t in [by_lang.entry(r.lang.clone()).or_default(), &mut all] {
            t.add(
                &r.hard_labels,
                &r.soft_labels,
                len,
                &pred,
                scores.as_deref(),
            );
        }
    }
    Results {
        by_lang: by_lang.into_iter().map(|(k, t)| (k, t.scores())).collect(),
        all: all.scores(),
    }
}

fn evaluate(scored: &[Scored], measure: Measure, spread: Spread, threshold: f64) -> Results {
    tally_by(scored, |s| {
        let (p, c) = predict::predict(&s.words, s.record.text_len(), measure, spread, threshold);
        (p, Some(c))
    })
}

fn f3(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())
}

fn print_report(res: &Results, mark_all: &Results, mark_none: &Results, title: &str) {
    println!("{title}");
    println!(
        "{:<5} {:>7} {:>7} {:>7} {:>8} {:>7} {:>13} {:>13} {:>14} {:>14}",
        "lang",
        "records",
        "IoU",
        "Cor",
        "ROC-AUC",
        "PR-AUC",
        "mark-all IoU",
        "mark-all Cor",
        "mark-none IoU",
        "mark-none Cor"
    );
    let rows = res
        .by_lang
        .iter()
        .map(|(k, v)| (k.as_str(), v, &mark_all.by_lang[k], &mark_none.by_lang[k]))
        .chain(std::iter::once((
            "all",
            &res.all,
            &mark_all.all,
            &mark_none.all,
        )));
    for (lang, s, ma, mn) in rows {
        println!(
            "{:<5} {:>7} {:>7.3} {:>7.3} {:>8} {:>7} {:>13.3} {:>13.3} {:>14.3} {:>14.3}",
            lang,
            s.records,
            s.iou,
            s.cor,
            f3(s.roc_auc),
            f3(s.pr_auc),
            ma.iou,
            ma.cor,
            mn.iou,
            mn.cor
        );
    }
}

/// The raw score of `measure` at which a share `flagged` of all words is marked.
fn quantile_threshold(
    scored: &[Scored],
    measure: Measure,
    spread: Spread,
    flagged: f64,
) -> Option<f64> {
    let mut v: Vec<f64> = scored
        .iter()
        .flat_map(|s| predict::word_scores(&s.words, measure, spread))
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| b.total_cmp(a));
    let k = ((v.len() as f64 * flagged).ceil() as usize).clamp(1, v.len());
    Some(v[k - 1])
}

fn sweep(scored: &[Scored]) {
    let langs: Vec<String> = {
        let mut l: Vec<String> = scored.iter().map(|s| s.record.lang.clone()).collect();
        l.sort();
        l.dedup();
        l
    };
    let en = langs.iter().any(|l| l == "EN");
    println!();
    println!("| measure | spread | threshold | words marked | EN IoU | EN Cor | EN ROC-AUC | EN PR-AUC | all IoU | all Cor | all ROC-AUC | all PR-AUC |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let total_words: usize = scored.iter().map(|s| s.words.len()).sum();
    for m in Measure::ALL {
        for sp in Spread::ALL {
            if m == Measure::Findings && sp != Spread::Word {
                continue;
            }
            sweep_one(scored, m, sp, en, total_words);
        }
    }
}

fn sweep_one(scored: &[Scored], m: Measure, sp: Spread, en: bool, total_words: usize) {
    let mut ts: Vec<f64> = if m == Measure::Findings {
        vec![1e-9]
    } else {
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
            .iter()
            .filter_map(|&f| quantile_threshold(scored, m, sp, f))
            .collect()
    };
    ts.dedup();
    for t in ts {
        let marked = scored
            .iter()
            .flat_map(|s| predict::word_scores(&s.words, m, sp))
            .filter(|&r| r >= t)
            .count();
        let r = evaluate(scored, m, sp, t);
        let e = en.then(|| r.by_lang["EN"]);
        println!(
            "| {} | {} | {} | {:.0}% | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} |",
            m.name(),
            sp.name(),
            format_threshold(m, t),
            100.0 * marked as f64 / total_words.max(1) as f64,
            f3(e.map(|e| e.iou)),
            f3(e.map(|e| e.cor)),
            f3(e.and_then(|e| e.roc_auc)),
            f3(e.and_then(|e| e.pr_auc)),
            r.all.iou,
            r.all.cor,
            f3(r.all.roc_auc),
            f3(r.all.pr_auc),
        );
    }
}

fn format_threshold(m: Measure, t: f64) -> String {
    match m {
        Measure::Findings => "hedge's findings".into(),
        Measure::MinP | Measure::ClaimMinP => format!("p < {:.3}", 1.0 - t),
        Measure::Joint => format!("joint p < {:.3}", 1.0 - t),
        Measure::OffGreedy => format!("gap ≥ {t:.3}"),
        _ => format!("≥ {t:.2} {}", m.unit()),
    }
}

fn write_predictions(
    path: &Path,
    scored: &[Scored],
    measure: Measure,
    spread: Spread,
    threshold: f64,
) -> Result<(), String> {
    let mut buf = Vec::new();
    for s in scored {
        let (p, _) = predict::predict(&s.words, s.record.text_len(), measure, spread, threshold);
        let soft: Vec<serde_json::Value> = p
            .soft
            .iter()
            .map(|x| serde_json::json!({"start": x.start, "end": x.end, "prob": x.prob}))
            .collect();
        let line = serde_json::json!({
            "id": s.record.id,
            "lang": s.record.lang,
            "hard_labels": p.hard,
            "soft_labels": soft,
        });
        serde_json::to_writer(&mut buf, &line).map_err(|e| e.to_string())?;
        buf.push(b'\n');
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(&buf))
        .map_err(|e| format!("{}: cannot be written: {e}", path.display()))
}

pub fn run(a: EvalArgs) -> ExitCode {
    if let Some(p) = &a.predictions {
        if p.exists() {
            return fail(format!(
                "{}: already exists; hedge does not overwrite files",
                p.display()
            ));
        }
    }
    let scored = match score_all(&a.scoring) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let unlabelled = scored.iter().filter(|s| !s.record.labelled).count();
    if unlabelled > 0 {
        eprintln!("hedge: warning: {unlabelled} records have no labels; they count as having no wrong span");
    }
    let res = evaluate(&scored, a.measure, a.spread, a.threshold);
    let mark_all = tally_by(&scored, |s| {
        (Prediction::mark_all(s.record.text_len()), None)
    });
    let mark_none = tally_by(&scored, |_| (Prediction::mark_none(), None));
    print_report(
        &res,
        &mark_all,
        &mark_none,
        &format!(
            "{} ({} context), measure {} ({} spread) at {}; AUCs over characters against the hard labels",
            model_name(&a.scoring.model),
            a.scoring.prompt_format.name(),
            a.measure.name(),
            a.spread.name(),
            format_threshold(a.measure, a.threshold)
        ),
    );
    if a.sweep {
        sweep(&scored);
    }
    if let Some(p) = &a.predictions {
        if let Err(e) = write_predictions(p, &scored, a.measure, a.spread, a.threshold) {
            return fail(e);
        }
        eprintln!(
            "hedge: wrote {} predictions to {}",
            scored.len(),
            p.display()
        );
    }
    ExitCode::SUCCESS
}
