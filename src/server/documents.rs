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
use tower_lsp_server::ls_types::{Range as LspRange, TextDocumentContentChangeEvent};

use crate::analysis::Analysis;
use crate::findings::Finding;
use crate::position::Encoding;
use crate::trace::Trace;

use super::position::{offset, position, range};

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
    pub templates: Arc<Vec<super::diagnostics::Template>>,
    /// Each of the analysis's findings' place in the order kept under `maxDiagnostics`.
    pub rank: Arc<Vec<u32>>,
    /// Each standing finding's LSP range, in `lsp_encoding`, when known: an edit moves the
    /// ranges after it by whole lines and forgets only those on its own lines, so publishing
    /// after a keystroke converts a few offsets instead of every finding's.
    pub lsp: Vec<Option<LspRange>>,
    pub lsp_encoding: Option<Encoding>,
}

impl Live {
    pub fn new(trace: Arc<Trace>, analysis: Arc<Analysis>, text: &str) -> Live {
        let templates = analysis
            .findings
            .iter()
            .map(|f| super::diagnostics::Template::new(text, &trace, f))
            .collect();
        Live {
            tokens: analysis.alignment.ranges.clone(),
            findings: analysis.findings.clone(),
            finding_ids: (0..analysis.findings.len()).collect(),
            templates: Arc::new(templates),
            rank: Arc::new(super::diagnostics::rank(&analysis.findings)),
            lsp: vec![None; analysis.findings.len()],
            lsp_encoding: None,
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
        let before = self.live.as_ref().map(|_| {
            let (s, e) = (
                position(&self.rope, start, enc),
                position(&self.rope, end, enc),
            );
            (s, e, self.rope.len_lines())
        });
        let cs = self.rope.byte_to_char(start);
        let ce = self.rope.byte_to_char(end);
        self.rope.remove(cs..ce);
        self.rope.insert(cs, &change.text);
        let Some(live) = &mut self.live else {
            return;
        };
        if change.range.is_none() {
            // A full replacement: nothing of the old placement can be trusted.
            live.tokens.iter_mut().for_each(|t| *t = None);
            live.findings.clear();
            live.finding_ids.clear();
            live.lsp.clear();
            return;
        }
        let inserted = change.text.len();
        for t in live.tokens.iter_mut() {
            *t = t.take().and_then(|r| shift(r, start, end, inserted));
        }
        if live.lsp_encoding != Some(enc) {
            live.lsp.iter_mut().for_each(|r| *r = None);
            live.lsp_encoding = Some(enc);
        }
        let (edit_start, edit_end, lines_before) = before.expect("live before the edit");
        // Lines wholly after the edit keep their text; only their numbers move.
        let line_delta = self.rope.len_lines() as i64 - lines_before as i64;
        // In place: a keystroke moves a few numbers of each finding, and drops at most the
        // findings it touches.
        live.lsp.resize(live.findings.len(), None);
        let mut kept = 0;
        for i in 0..live.findings.len() {
            let Some(r) = shift(live.findings[i].range.clone(), start, end, inserted) else {
                continue;
            };
            live.findings[i].range = r;
            live.lsp[i] = live.lsp[i].and_then(|mut l| {
                if l.end <= edit_start {
                    Some(l)
                } else if l.start.line > edit_end.line {
                    l.start.line = (i64::from(l.start.line) + line_delta) as u32;
                    l.end.line = (i64::from(l.end.line) + line_delta) as u32;
                    Some(l)
                } else {
                    None
                }
            });
            if kept != i {
                live.findings.swap(kept, i);
                live.finding_ids.swap(kept, i);
                live.lsp.swap(kept, i);
            }
            kept += 1;
        }
        live.findings.truncate(kept);
        live.finding_ids.truncate(kept);
        live.lsp.truncate(kept);
    }

    /// Fill in the LSP ranges of the standing findings that an edit (or a new analysis) left
    /// unknown.
    pub fn place_findings(&mut self, enc: Encoding) {
        let Some(live) = &mut self.live else {
            return;
        };
        if live.lsp_encoding != Some(enc) || live.lsp.len() != live.findings.len() {
            live.lsp = vec![None; live.findings.len()];
            live.lsp_encoding = Some(enc);
        }
        for (l, f) in live.lsp.iter_mut().zip(&live.findings) {
            if l.is_none() {
                *l = Some(range(&self.rope, &f.range, enc));
            }
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

    /// A document whose every word is a low-probability finding, through the real engine.
    fn analysed(text: &str) -> Document {
        use crate::trace::{Token, Trace, TraceFormat};
        let mut tokens = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let cut = rest[1..].find(' ').map_or(rest.len(), |i| i + 1);
            tokens.push(Token {
                bytes: rest.as_bytes()[..cut].into(),
                logprob: Some(0.0005f64.ln()),
                ..Token::default()
            });
            rest = &rest[cut..];
        }
        let trace = Arc::new(Trace::new(TraceFormat::Native, tokens));
        let cfg = crate::config::Config::default();
        let a = crate::analysis::analyze(text, &trace, &cfg).expect("analysis");
        let mut d = Document::new(text, 1, "markdown".into(), None);
        d.live = Some(Live::new(trace, Arc::new(a), text));
        d
    }

    #[test]
    fn cached_lsp_ranges_match_fresh_ones_after_any_edits() {
        let base = "Alpha beta 💙 gamma\r\ndelta épsilon zeta\rtheta iota\nkappa lambda mu\r\n\r\nnu xi omicron pi rho ";
        let text = &base.repeat(12);
        let inserts = ["\n", "\r", "\r\n", "x", "💙 ", "two\nlines ", ""];
        for enc in [Encoding::Utf16, Encoding::Utf8] {
            let mut d = analysed(text);
            let n = d.live.as_ref().unwrap().findings.len();
            assert!(n >= 150, "{n} findings");
            d.place_findings(enc);
            let mut checked = 0;
            let mut seed = 7u64;
            let mut next = |m: u64| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) % m
            };
            for step in 0..300 {
                let len = d.rope.len_bytes() as u64;
                let a = next(len + 1) as usize;
                let b = (a + next(4) as usize).min(len as usize);
                let (s, e) = (position(&d.rope, a, enc), position(&d.rope, b, enc));
                let ins = inserts[next(inserts.len() as u64) as usize];
                d.apply(
                    &TextDocumentContentChangeEvent {
                        range: Some(LspRange::new(s, e)),
                        range_length: None,
                        text: ins.to_string(),
                    },
                    enc,
                );
                let live = d.live.as_ref().unwrap();
                for (i, f) in live.findings.iter().enumerate() {
                    if let Some(l) = live.lsp[i] {
                        assert_eq!(l, range(&d.rope, &f.range, enc), "step {step}, finding {i}");
                        checked += 1;
                    }
                }
                if step % 3 == 0 {
                    d.place_findings(enc);
                }
            }
            assert!(checked > 10_000, "{checked} cached ranges checked");
        }
    }
}
