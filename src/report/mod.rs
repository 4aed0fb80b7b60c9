//! Output of `hedge check`: the human lines, the JSON contract and SARIF.

pub mod heatmap;
pub mod human;
pub mod json;
pub mod sarif;

use crate::analysis::Analysis;
use crate::position::{Encoding, LineIndex, Position};
use crate::trace::Trace;

/// One analysed document, ready to be reported.
pub struct FileReport {
    pub path: String,
    pub trace_path: String,
    pub doc: String,
    pub trace: Trace,
    pub analysis: Analysis,
    pub lines: LineIndex,
}

impl FileReport {
    pub fn new(
        path: String,
        trace_path: String,
        doc: String,
        trace: Trace,
        analysis: Analysis,
    ) -> FileReport {
        let lines = LineIndex::new(&doc);
        FileReport {
            path,
            trace_path,
            doc,
            trace,
            analysis,
            lines,
        }
    }

    pub fn position(&self, offset: usize, enc: Encoding) -> Position {
        self.lines.position(&self.doc, offset, enc)
    }
}
