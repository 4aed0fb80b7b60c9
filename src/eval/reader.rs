//! Mu-SHROOM records: one JSON object per line with the question, the model's answer and the
//! annotated spans. Offsets are code-point (Python string) offsets into `model_output_text`.

use serde::{Deserialize, Serialize};

/// A soft span: `[start, end)` in code points, `prob` the share of annotators who marked it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct SoftSpan {
    pub start: usize,
    pub end: usize,
    pub prob: f64,
}

/// One labelled (or unlabelled) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub lang: String,
    pub model_input: String,
    pub model_output_text: String,
    /// The answering model's Hugging Face id, when given.
    pub model_id: Option<String>,
    /// `[start, end)` spans in code points; empty when unlabelled.
    pub hard_labels: Vec<(usize, usize)>,
    pub soft_labels: Vec<SoftSpan>,
    /// The record carried labels (`hard_labels` or `soft_labels`).
    pub labelled: bool,
}

impl Record {
    /// Length of the answer in code points (the official `text_len`).
    pub fn text_len(&self) -> usize {
        self.model_output_text.chars().count()
    }
}

#[derive(Deserialize)]
struct Raw {
    id: String,
    #[serde(default)]
    lang: Option<String>,
    model_input: String,
    model_output_text: String,
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    hard_labels: Option<Vec<(usize, usize)>>,
    #[serde(default)]
    soft_labels: Option<Vec<SoftSpan>>,
}

/// Read a JSONL file's text. Blank lines are skipped; an error names the line (1-based).
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let raw: Raw = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let labelled = raw.hard_labels.is_some() || raw.soft_labels.is_some();
        let lang = raw
            .lang
            .unwrap_or_else(|| lang_from_id(&raw.id).unwrap_or_default());
        let n = raw.model_output_text.chars().count();
        let rec = Record {
            id: raw.id,
            lang: lang.to_uppercase(),
            model_input: raw.model_input,
            model_output_text: raw.model_output_text,
            model_id: raw.model_id,
            hard_labels: raw.hard_labels.unwrap_or_default(),
            soft_labels: raw.soft_labels.unwrap_or_default(),
            labelled,
        };
        let bad = rec
            .hard_labels
            .iter()
            .map(|&(s, e)| (s, e))
            .chain(rec.soft_labels.iter().map(|s| (s.start, s.end)))
            .find(|&(s, e)| s > e || e > n);
        if let Some((s, e)) = bad {
            return Err(format!(
                "line {}: span [{s}, {e}) is outside the {n}-character answer of {}",
                i + 1,
                rec.id
            ));
        }
        out.push(rec);
    }
    Ok(out)
}

/// `val-en-1` → `en`.
fn lang_from_id(id: &str) -> Option<String> {
    id.split('-').nth(1).map(str::to_string)
}

/// Read a Mu-SHROOM JSONL file. Errors name the file.
pub fn read(path: &std::path::Path) -> Result<Vec<Record>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_code_point_offsets() {
        let line = r#"{"id":"val-sv-3","model_input":"Q?","model_output_text":"Åre är här.","model_id":"m","soft_labels":[{"start":0,"prob":0.6,"end":3}],"hard_labels":[[0,3]]}"#;
        let recs = parse(&format!("{line}\n\n")).unwrap();
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.lang, "SV");
        assert_eq!(r.text_len(), 11);
        assert_eq!(r.hard_labels, vec![(0, 3)]);
        assert_eq!(
            r.soft_labels,
            vec![SoftSpan {
                start: 0,
                end: 3,
                prob: 0.6
            }]
        );
        assert!(r.labelled);
    }

    #[test]
    fn spans_past_the_text_are_refused() {
        let line = r#"{"id":"x","lang":"EN","model_input":"Q","model_output_text":"abc","hard_labels":[[1,4]]}"#;
        assert_eq!(
            parse(line).unwrap_err(),
            "line 1: span [1, 4) is outside the 3-character answer of x"
        );
    }
}
