//! Code actions: take the model's alternative for a word, dismiss a finding, dismiss all in a
//! file. Dismissing never edits the document; it is remembered in the state file.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::json;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Command, TextEdit, Uri, WorkspaceEdit,
};

use crate::findings::shown_alternatives;
use crate::position::Encoding;
use crate::spans::overlaps;

use super::diagnostics::{doc_key, finding_text};
use super::documents::Document;
use super::position;
use super::state::State;

pub const DISMISS: &str = "hedge.dismiss";
pub const DISMISS_ALL: &str = "hedge.dismissAll";
pub const REANALYSE: &str = "hedge.reanalyse";
pub const COMMANDS: [&str; 3] = [DISMISS, DISMISS_ALL, REANALYSE];

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '\'' || c == '’')
}

/// The byte range of token `i` without surrounding whitespace, if it is exactly one word of
/// the document (word characters do not continue on either side).
fn whole_word(text: &str, r: &Range<usize>) -> Option<Range<usize>> {
    let piece = text.get(r.clone())?;
    let lead = piece.len() - piece.trim_start().len();
    let body = piece.trim();
    let w = r.start + lead..r.start + lead + body.len();
    let before = text[..w.start].chars().next_back();
    let after = text[w.end..].chars().next();
    let cont = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    (is_word(body) && !cont(before) && !cont(after)).then_some(w)
}

pub fn actions(
    state: &State,
    uri: &Uri,
    doc: &Document,
    range: Range<usize>,
    enc: Encoding,
) -> Vec<CodeActionOrCommand> {
    let Some(live) = &doc.live else {
        return Vec::new();
    };
    let text = doc.text();
    let key = doc_key(uri, doc);
    let mut out = Vec::new();
    let hit = |r: &Range<usize>| {
        overlaps(r, &range) || (range.is_empty() && r.start <= range.start && range.start <= r.end)
    };
    let mut any = false;
    for f in live.findings.iter().filter(|f| hit(&f.range)) {
        let ftext = finding_text(doc, f);
        if state.dismissals.is_dismissed(&key, f.code.as_str(), &ftext) {
            continue;
        }
        any = true;
        if let Some(i) = f.token {
            if let Some(word) = live.tokens[i].as_ref().and_then(|r| whole_word(&text, r)) {
                for (alt, p) in shown_alternatives(&live.trace, i).into_iter().take(3) {
                    if !is_word(&alt) {
                        continue;
                    }
                    let edit = TextEdit {
                        range: position::range(&doc.rope, &word, enc),
                        new_text: alt.clone(),
                    };
                    out.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title: format!(
                            "Replace “{}” with the model's “{alt}” ({})",
                            &text[word.clone()],
                            crate::findings::percent(p)
                        ),
                        kind: Some(CodeActionKind::QUICKFIX),
                        edit: Some(WorkspaceEdit {
                            changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                            ..WorkspaceEdit::default()
                        }),
                        ..CodeAction::default()
                    }));
                }
            }
        }
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Dismiss this hedge finding ({})", f.code.as_str()),
            kind: Some(CodeActionKind::QUICKFIX),
            command: Some(Command {
                title: "Dismiss".into(),
                command: DISMISS.into(),
                arguments: Some(vec![
                    json!(uri.as_str()),
                    json!(f.code.as_str()),
                    json!(ftext),
                ]),
            }),
            ..CodeAction::default()
        }));
    }
    if any {
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: "Dismiss all hedge findings in this file".into(),
            kind: Some(CodeActionKind::QUICKFIX),
            command: Some(Command {
                title: "Dismiss all".into(),
                command: DISMISS_ALL.into(),
                arguments: Some(vec![json!(uri.as_str())]),
            }),
            ..CodeAction::default()
        }));
    }
    out
}

/// Everything currently shown in a document, as (code, text) pairs to dismiss.
pub fn all_findings(doc: &Document) -> Vec<(String, String)> {
    doc.live
        .as_ref()
        .map(|l| {
            l.findings
                .iter()
                .map(|f| (f.code.as_str().to_string(), finding_text(doc, f)))
                .collect()
        })
        .unwrap_or_default()
}
