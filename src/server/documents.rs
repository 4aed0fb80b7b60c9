//! Open documents: their text, version, and the analysis that follows the text as it is edited.
//!
//! Edits are applied synchronously in the notification handler (see server/mod.rs for why).
//! Each edit also shifts every placed token and finding: ranges after the edit move, ranges
//! that touch the edited text are dropped at once, so no squiggle ever sits on changed text.
//! A full re-alignment follows after a pause.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use ropey::Rope;
use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::analysis::Analysis;
use crate::findings::Finding;
use crate::position::Encoding;
use crate::trace::Trace;

use super::position::offset;

/// What the server knows about a document's trace.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceStatus {
    /// Not looked for yet.
    Pending,
    /// No sidecar, and nothing else configured.
    None,
    /// The trace could not be used; the message is shown as one diagnostic at the top.
    Error {
        code: &'static str,
        message: String,
    },
    Ready,
}

/// The result of the engine on one version of a document, with ranges kept current.
#[derive(Debug, Clone)]
pub struct Live {
    pub trace: Arc<Trace>,
    pub analysis: Arc<Analysis>,
    /// Token ranges in the current text (shifted by every edit since the analysis).
    pub tokens: Vec<Option<Range<usize>>>,
    /// The findings still standing, with ranges in the current text…
    pub findings: Vec<Finding>,
    /// …each one's index into `templates` (the analysis's findings, in order).
    pub finding_ids: Vec<usize>,
    /// The diagnostic of each of the analysis's findings, but for its range.
    pub templates: Arc<Vec<tower_lsp_server::ls_types::Diagnostic>>,
}

impl Live {
    pub fn new(trace: Arc<Trace>, analysis: Arc<Analysis>, text: &str) -> Live {
        let templates = analysis
            .findings
            .iter()
            .map(|f| super::diagnostics::template(text, &trace, f))
            .collect();
        Live {
            tokens: analysis.alignment.ranges.clone(),
            findings: analysis.findings.clone(),
            finding_ids: (0..analysis.findings.len()).collect(),
            templates: Arc::new(templates),
            trace,
            analysis,
        }
    }
}

#[derive(Debug)]
pub struct Document {
    pub rope: Rope,
    pub version: i32,
    pub language_id: String,
    pub path: Option<PathBuf>,
    pub status: TraceStatus,
    pub live: Option<Live>,
    /// The sidecar the trace came from.
    pub trace_path: Option<PathBuf>,
}

impl Document {
    pub fn new(text: &str, version: i32, language_id: String, path: Option<PathBuf>) -> Document {
        Document {
            rope: Rope::from_str(text),
            version,
            language_id,
            path,
            status: TraceStatus::Pending,
            live: None,
            trace_path: None,
        }
    }

    /// Apply one content change and shift the analysis. Positions are clamped to the text, so
    /// an out-of-range change cannot panic.
    pub fn apply(&mut self, change: &TextDocumentContentChangeEvent, enc: Encoding) {
        let (start, end) = match change.range {
            Some(r) => {
                let s = offset(&self.rope, r.start, enc);
                let e = offset(&self.rope, r.end, enc);
                (s.min(e), s.max(e))
            }
            None => (0, self.rope.len_bytes()),
        };
        let cs = self.rope.byte_to_char(start);
        let ce = self.rope.byte_to_char(end);
        self.rope.remove(cs..ce);
        self.rope.insert(cs, &change.text);
        if change.range.is_none() {
            // A full replacement: nothing of the old placement can be trusted.
            if let Some(live) = &mut self.live {
                live.tokens.iter_mut().for_each(|t| *t = None);
                live.findings.clear();
                live.finding_ids.clear();
            }
            return;
        }
        if let Some(live) = &mut self.live {
            let inserted = change.text.len();
            for t in live.tokens.iter_mut() {
                *t = t.take().and_then(|r| shift(r, start, end, inserted));
            }
            let mut kept_ids = Vec::with_capacity(live.finding_ids.len());
            let mut kept = Vec::with_capacity(live.findings.len());
            for (mut f, id) in live.findings.drain(..).zip(live.finding_ids.drain(..)) {
                if let Some(r) = shift(f.range.clone(), start, end, inserted) {
                    f.range = r;
                    kept.push(f);
                    kept_ids.push(id);
                }
            }
            live.findings = kept;
            live.finding_ids = kept_ids;
        }
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }
}

/// Where a range goes when bytes `start..end` are replaced by `inserted` bytes: unchanged
/// before, moved after, dropped when it overlaps the edit (or the edit is strictly inside it).
pub fn shift(r: Range<usize>, start: usize, end: usize, inserted: usize) -> Option<Range<usize>> {
    if r.end <= start {
        Some(r)
    } else if r.start >= end {
        let delta = inserted as isize - (end - start) as isize;
        let s = (r.start as isize + delta) as usize;
        let e = (r.end as isize + delta) as usize;
        Some(s..e)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range as LspRange};

    #[test]
    fn shifting_rules() {
        // "abc def ghi": replace "def" (4..7) with "XY".
        assert_eq!(shift(0..3, 4, 7, 2), Some(0..3));
        assert_eq!(shift(8..11, 4, 7, 2), Some(7..10));
        assert_eq!(shift(4..7, 4, 7, 2), None);
        assert_eq!(shift(3..5, 4, 7, 2), None);
        // Typing right after a word keeps it; typing inside it drops it.
        assert_eq!(shift(0..3, 3, 3, 1), Some(0..3));
        assert_eq!(shift(0..3, 1, 1, 1), None);
        // Typing right before a word moves it.
        assert_eq!(shift(4..7, 4, 4, 1), Some(5..8));
    }

    #[test]
    fn incremental_changes_in_any_chunking_give_the_same_text() {
        let mut d = Document::new("hello 💙 world\nline two", 1, "markdown".into(), None);
        let change = |sl, sc, el, ec, text: &str| TextDocumentContentChangeEvent {
            range: Some(LspRange::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.to_string(),
        };
        d.apply(&change(0, 9, 0, 14, "there"), Encoding::Utf16);
        assert_eq!(d.text(), "hello 💙 there\nline two");
        d.apply(&change(0, 14, 1, 4, ","), Encoding::Utf16);
        assert_eq!(d.text(), "hello 💙 there, two");
        // Out-of-range positions are clamped, not a panic.
        d.apply(&change(7, 0, 9, 9, "!"), Encoding::Utf16);
        assert_eq!(d.text(), "hello 💙 there, two!");
    }
}
