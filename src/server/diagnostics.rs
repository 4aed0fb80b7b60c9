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
    let key = doc_key(uri, doc);
    live.findings
        .iter()
        .zip(&live.finding_ids)
        .map(|(f, &id)| (f, &live.templates[id]))
        .filter(|(f, t)| {
            !state
                .dismissals
                .is_dismissed(&key, f.code.as_str(), template_text(t))
        })
        .map(|(f, t)| Diagnostic {
            range: position::range(&doc.rope, &f.range, enc),
            ..t.clone()
        })
        .collect()
}

/// Publish the current diagnostics of a document (nothing before `initialized`).
pub async fn publish(client: &Client, state: &State, uri: &Uri) {
    if !state.is_initialized() {
        return;
    }
    let Some((diags, version)) = state
        .docs
        .get(uri)
        .map(|d| (diagnostics(state, uri, &d), d.version))
    else {
        return;
    };
    client
        .publish_diagnostics(uri.clone(), diags, Some(version))
        .await;
}
