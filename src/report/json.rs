//! The JSON report: a stable contract (documented in the README); fields may be added.

use serde::Serialize;

use super::FileReport;
use crate::measure::Interval;
use crate::position::{Encoding, Position};

#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub files: Vec<JsonFile<'a>>,
}

#[derive(Serialize)]
pub struct JsonFile<'a> {
    pub path: &'a str,
    pub trace: &'a str,
    pub trace_format: &'static str,
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<JsonToken>>,
    pub findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
pub struct Summary {
    pub tokens: usize,
    pub aligned_tokens: usize,
    pub coverage: f64,
    pub joint_logprob: f64,
    pub perplexity: Option<f64>,
    pub mean_surprisal_bits: Option<f64>,
    pub mean_entropy_bits: Option<Interval>,
    pub sentinel_tokens: usize,
    pub lossy_tokens: usize,
    pub merged_tokens: usize,
    pub vocab_size: u64,
}

#[derive(Serialize)]
pub struct JsonToken {
    pub text: String,
    pub byte_range: Option<[usize; 2]>,
    pub logprob: Option<f64>,
    pub p: Option<f64>,
    pub surprisal_bits: Option<f64>,
    pub entropy_bits: Option<Interval>,
    pub rank: Option<u32>,
    pub residual_mass: Option<f64>,
    pub sentinel: bool,
    pub merged: bool,
    pub top: Vec<JsonAlternative>,
}

#[derive(Serialize)]
pub struct JsonAlternative {
    pub text: String,
    pub logprob: f64,
}

#[derive(Serialize)]
pub struct JsonRange {
    pub start: Position,
    pub end: Position,
}

#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub range: JsonRange,
    pub byte_range: [usize; 2],
    pub text: &'a str,
    pub kind: crate::spans::SpanKind,
    pub code: crate::findings::Code,
    pub severity: crate::findings::Severity,
    pub joint_logprob: f64,
    pub min_p: Option<f64>,
    pub max_entropy_bits: Option<Interval>,
    pub message: &'a str,
}

pub fn file(r: &FileReport, with_tokens: bool) -> JsonFile<'_> {
    let a = &r.analysis;
    let s = &a.summary;
    let summary = Summary {
        tokens: s.tokens,
        aligned_tokens: a.alignment.aligned,
        coverage: a.alignment.coverage(),
        joint_logprob: s.joint_logprob,
        perplexity: s.perplexity,
        mean_surprisal_bits: s.mean_surprisal_bits,
        mean_entropy_bits: s.mean_entropy_bits,
        sentinel_tokens: s.sentinel_tokens,
        lossy_tokens: a.lossy_tokens,
        merged_tokens: a.merged_tokens,
        vocab_size: a.vocab_size,
    };
    let tokens = with_tokens.then(|| {
        r.trace
            .tokens
            .iter()
            .zip(&a.measures)
            .zip(&a.alignment.ranges)
            .map(|((t, m), range)| JsonToken {
                text: t.text(),
                byte_range: range.clone().map(|r| [r.start, r.end]),
                logprob: m.logprob,
                p: m.p,
                surprisal_bits: m.surprisal_bits,
                entropy_bits: m.entropy_bits,
                rank: m.rank,
                residual_mass: m.residual_mass,
                sentinel: t.sentinel,
                merged: t.merged,
                top: t
                    .top
                    .iter()
                    .map(|alt| JsonAlternative {
                        text: alt.text(),
                        logprob: alt.logprob,
                    })
                    .collect(),
            })
            .collect()
    });
    let findings = a
        .findings
        .iter()
        .map(|f| JsonFinding {
            range: JsonRange {
                start: r.position(f.range.start, Encoding::Utf16),
                end: r.position(f.range.end, Encoding::Utf16),
            },
            byte_range: [f.range.start, f.range.end],
            text: &r.doc[f.range.clone()],
            kind: f.kind,
            code: f.code,
            severity: f.severity,
            joint_logprob: f.joint_logprob,
            min_p: f.min_p,
            max_entropy_bits: f.max_entropy_bits,
            message: &f.message,
        })
        .collect();
    JsonFile {
        path: &r.path,
        trace: &r.trace_path,
        trace_format: r.trace.format.name(),
        summary,
        tokens,
        findings,
    }
}

pub fn render(reports: &[FileReport], with_tokens: bool) -> String {
    let mut out = Vec::new();
    write(reports, with_tokens, &mut out).expect("report serialises");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// [`render`] written straight to `out`: a large report (10 MB for a 250,000-token trace) is
/// never held in memory whole. Fails only when `out` does.
pub fn write(
    reports: &[FileReport],
    with_tokens: bool,
    out: impl std::io::Write,
) -> std::io::Result<()> {
    let report = JsonReport {
        files: reports.iter().map(|r| file(r, with_tokens)).collect(),
    };
    serde_json::to_writer_pretty(out, &report).map_err(std::io::Error::from)
}
