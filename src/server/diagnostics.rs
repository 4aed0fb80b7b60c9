//! Findings as LSP diagnostics, published with the document's version.

use serde_json::json;
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, Uri,
};
use tower_lsp_server::Client;

use crate::findings::{shown_alternatives, Finding, Severity};
use crate::position::Encoding;

use super::documents::{Document, TraceStatus};
use super::position;
use super::state::State;

pub const SOURCE: &str = "hedge";

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    }
}

/// The key under which dismissals of a document are stored.
pub fn doc_key(uri: &Uri, doc: &Document) -> String {
    doc.path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| uri.as_str().to_string())
}

/// The document text under a finding's current range.
pub fn finding_text(doc: &Document, f: &Finding) -> String {
    let r = &f.range;
    if r.end > doc.rope.len_bytes() {
        return String::new();
    }
    let (s, e) = (doc.rope.byte_to_char(r.start), doc.rope.byte_to_char(r.end));
    doc.rope.slice(s..e).to_string()
}

fn top_line(doc: &Document, enc: Encoding) -> Range {
    let line = doc.rope.line(0).to_string();
    let content = line.trim_end_matches(['\n', '\r']).len();
    Range::new(
        Position::new(0, 0),
        position::position(&doc.rope, content, enc),
    )
}

/// Everything of a finding's diagnostic but its range, built once per analysis (the text under
/// a finding never changes while the finding lives: an edit touching it drops it).
pub fn template(text: &str, trace: &crate::trace::Trace, f: &Finding) -> Diagnostic {
    let alternatives: Vec<_> = f
        .token
        .map(|i| shown_alternatives(trace, i))
        .unwrap_or_default()
        .into_iter()
        .take(5)
        .map(|(text, p)| json!({"text": text, "p": p}))
        .collect();
    Diagnostic {
        severity: Some(severity(f.severity)),
        code: Some(NumberOrString::String(f.code.as_str().to_string())),
        source: Some(SOURCE.to_string()),
        message: f.message.clone(),
        data: Some(json!({
            "kind": f.kind,
            "text": text.get(f.range.clone()).unwrap_or(""),
            "joint_logprob": f.joint_logprob,
            "min_p": f.min_p,
            "alternatives": alternatives,
        })),
        ..Diagnostic::default()
    }
}

/// The text a template was made for (what dismissals are keyed by).
pub fn template_text(d: &Diagnostic) -> &str {
    d.data
        .as_ref()
        .and_then(|v| v["text"].as_str())
        .unwrap_or("")
}

/// The diagnostics a document should show now.
pub fn diagnostics(state: &State, uri: &Uri, doc: &Document) -> Vec<Diagnostic> {
    let enc = state.encoding();
    match &doc.status {
        TraceStatus::Pending | TraceStatus::Ready => {}
        TraceStatus::None => {
            if state.settings().note_missing_trace {
                return vec![Diagnostic {
                    range: top_line(doc, enc),
                    severity: Some(DiagnosticSeverity::INFORMATION),
                    code: Some(NumberOrString::String("no-trace".into())),
                    source: Some(SOURCE.into()),
                    message: "hedge: no logprobs for this document (save the model's response as a sidecar beside it, e.g. NAME.logprobs.json)".into(),
                    ..Diagnostic::default()
                }];
            }
            return Vec::new();
        }
        TraceStatus::Error { code, message } => {
            return vec![Diagnostic {
                range: top_line(doc, enc),
                severity: Some(DiagnosticSeverity::WARNING),
                code: Some(NumberOrString::String(code.to_string())),
                source: Some(SOURCE.into()),
                message: message.clone(),
                ..Diagnostic::default()
            }]
        }
    }
    let Some(live) = &doc.live else {
        return Vec::new();
    };
    let dismissed = state.dismissals.of(&doc_key(uri, doc));
    let mut standing: Vec<usize> = (0..live.findings.len())
        .filter(|&i| {
            dismissed.as_ref().is_none_or(|d| {
                let (code, text) = (
                    live.findings[i].code.as_str(),
                    template_text(&live.templates[live.finding_ids[i]]),
                );
                !d.contains(&(code.to_string(), text.to_string()))
            })
        })
        .collect();
    let total = standing.len();
    let max = state.settings().max_diagnostics;
    let mut out = Vec::with_capacity(total.min(max.max(1)) + 1);
    if max > 0 && total > max {
        // The most severe and least likely first; shown in document order.
        standing.select_nth_unstable_by_key(max - 1, |&i| live.rank[live.finding_ids[i]]);
        standing.truncate(max);
        standing.sort_unstable();
        out.push(Diagnostic {
            range: top_line(doc, enc),
            severity: Some(DiagnosticSeverity::INFORMATION),
            code: Some(NumberOrString::String("diagnostics-limit".into())),
            source: Some(SOURCE.into()),
            message: format!(
                "hedge: showing the {max} most severe and least likely of {total} findings (raise hedge.maxDiagnostics, 0 for all)"
            ),
            ..Diagnostic::default()
        });
    }
    let known = live.lsp_encoding == Some(enc) && live.lsp.len() == live.findings.len();
    out.extend(standing.into_iter().map(|i| {
        let cached = if known { live.lsp[i] } else { None };
        Diagnostic {
            range: cached
                .unwrap_or_else(|| position::range(&doc.rope, &live.findings[i].range, enc)),
            ..live.templates[live.finding_ids[i]].clone()
        }
    }));
    out
}

/// The order in which findings are kept when a document has more than `maxDiagnostics`:
/// by severity, then by the probability of the weakest token, then of the whole span.
pub fn rank(findings: &[Finding]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (&findings[a], &findings[b]);
        fb.severity
            .cmp(&fa.severity)
            .then(fa.min_p.unwrap_or(1.0).total_cmp(&fb.min_p.unwrap_or(1.0)))
            .then(fa.joint_logprob.total_cmp(&fb.joint_logprob))
            .then(a.cmp(&b))
    });
    let mut rank = vec![0u32; findings.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i] = r as u32;
    }
    rank
}

/// Publish the current diagnostics of a document (nothing before `initialized`).
pub async fn publish(client: &Client, state: &State, uri: &Uri) {
    if !state.is_initialized() {
        return;
    }
    let enc = state.encoding();
    let Some((diags, version)) = state.docs.get_mut(uri).map(|mut d| {
        d.place_findings(enc);
        (diagnostics(state, uri, &d), d.version)
    }) else {
        return;
    };
    client
        .publish_diagnostics(uri.clone(), diags, Some(version))
        .await;
}
