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
#[derive(Debug)]
pub struct Template {
    pub diagnostic: Diagnostic,
    /// The diagnostic's JSON after its range (`,"severity":…}`), so that publishing after a
    /// keystroke writes text instead of building and freeing a JSON tree per diagnostic.
    tail: String,
}

impl Template {
    pub fn new(text: &str, trace: &crate::trace::Trace, f: &Finding) -> Template {
        let alternatives: Vec<_> = f
            .token
            .map(|i| shown_alternatives(trace, i))
            .unwrap_or_default()
            .into_iter()
            .take(5)
            .map(|(text, p)| json!({"text": text, "p": p}))
            .collect();
        let diagnostic = Diagnostic {
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
        };
        // A diagnostic serializes its range first: keep what follows it.
        let whole = serde_json::to_string(&diagnostic).expect("a diagnostic serializes");
        let head = format!(
            "{{\"range\":{},",
            serde_json::to_string(&diagnostic.range).expect("a range serializes")
        );
        let tail = whole
            .strip_prefix(&head)
            .map(|rest| format!(",{rest}"))
            .expect("a diagnostic's JSON starts with its range");
        Template { diagnostic, tail }
    }

    /// The text it was made for (what dismissals are keyed by).
    pub fn text(&self) -> &str {
        self.diagnostic
            .data
            .as_ref()
            .and_then(|v| v["text"].as_str())
            .unwrap_or("")
    }
}

/// One diagnostic to publish: built for this publication, or a finding's template placed at
/// its range.
pub enum Shown<'a> {
    Built(Box<Diagnostic>),
    Placed(Range, &'a Template),
}

impl Shown<'_> {
    pub fn into_diagnostic(self) -> Diagnostic {
        match self {
            Shown::Built(d) => *d,
            Shown::Placed(range, t) => Diagnostic {
                range,
                ..t.diagnostic.clone()
            },
        }
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Shown::Built(d) => {
                out.push_str(&serde_json::to_string(d).expect("a diagnostic serializes"))
            }
            Shown::Placed(r, t) => {
                use std::fmt::Write;
                let _ = write!(
                    out,
                    "{{\"range\":{{\"start\":{{\"line\":{},\"character\":{}}},\"end\":{{\"line\":{},\"character\":{}}}}}",
                    r.start.line, r.start.character, r.end.line, r.end.character
                );
                out.push_str(&t.tail);
            }
        }
    }
}

/// The whole `textDocument/publishDiagnostics` notification, as JSON text.
fn publication(uri: &Uri, version: Option<i32>, shown: &[Shown<'_>]) -> String {
    let mut out = String::with_capacity(256 + shown.len() * 512);
    out.push_str(r#"{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":"#);
    out.push_str(&serde_json::to_string(uri).expect("a URI serializes"));
    out.push_str(r#","diagnostics":["#);
    for (i, d) in shown.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        d.write_json(&mut out);
    }
    out.push(']');
    if let Some(v) = version {
        out.push_str(&format!(r#","version":{v}"#));
    }
    out.push_str("}}");
    out
}

/// The diagnostics a document should show now.
pub fn diagnostics<'a>(state: &State, uri: &Uri, doc: &'a Document) -> Vec<Shown<'a>> {
    let enc = state.encoding();
    match &doc.status {
        TraceStatus::Pending | TraceStatus::Ready => {}
        TraceStatus::None => {
            if state.settings().note_missing_trace {
                return vec![Shown::Built(Box::new(Diagnostic {
                    range: top_line(doc, enc),
                    severity: Some(DiagnosticSeverity::INFORMATION),
                    code: Some(NumberOrString::String("no-trace".into())),
                    source: Some(SOURCE.into()),
                    message: "hedge: no logprobs for this document (save the model's response as a sidecar beside it, e.g. NAME.logprobs.json)".into(),
                    ..Diagnostic::default()
                }))];
            }
            return Vec::new();
        }
        TraceStatus::Error { code, message } => {
            return vec![Shown::Built(Box::new(Diagnostic {
                range: top_line(doc, enc),
                severity: Some(DiagnosticSeverity::WARNING),
                code: Some(NumberOrString::String(code.to_string())),
                source: Some(SOURCE.into()),
                message: message.clone(),
                ..Diagnostic::default()
            }))]
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
                    live.templates[live.finding_ids[i]].text(),
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
        out.push(Shown::Built(Box::new(Diagnostic {
            range: top_line(doc, enc),
            severity: Some(DiagnosticSeverity::INFORMATION),
            code: Some(NumberOrString::String("diagnostics-limit".into())),
            source: Some(SOURCE.into()),
            message: format!(
                "hedge: showing the {max} most severe and least likely of {total} findings (raise hedge.maxDiagnostics, 0 for all)"
            ),
            ..Diagnostic::default()
        })));
    }
    let known = live.lsp_encoding == Some(enc) && live.lsp.len() == live.findings.len();
    out.extend(standing.into_iter().map(|i| {
        let cached = if known { live.lsp[i] } else { None };
        Shown::Placed(
            cached.unwrap_or_else(|| position::range(&doc.rope, &live.findings[i].range, enc)),
            &live.templates[live.finding_ids[i]],
        )
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
    let outbox = state.outbox.get();
    // With an outbox the publication is queued while the document is still held, so that
    // publications leave in the order of the versions they show.
    let typed = state.docs.get_mut(uri).and_then(|mut d| {
        d.place_findings(enc);
        let shown = diagnostics(state, uri, &d);
        match outbox {
            Some(outbox) => {
                outbox.send(publication(uri, Some(d.version), &shown));
                None
            }
            None => Some((
                shown.into_iter().map(Shown::into_diagnostic).collect(),
                d.version,
            )),
        }
    });
    if let Some((diags, version)) = typed {
        client
            .publish_diagnostics(uri.clone(), diags, Some(version))
            .await;
    }
}

/// Clear a closed document's diagnostics, in order with its earlier publications.
pub async fn clear(client: &Client, state: &State, uri: Uri) {
    match state.outbox.get() {
        Some(outbox) => {
            outbox.send(publication(&uri, None, &[]));
        }
        None => client.publish_diagnostics(uri, Vec::new(), None).await,
    }
}
