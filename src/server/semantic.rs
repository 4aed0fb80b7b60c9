//! Semantic tokens for a GLTR-style heatmap: each token typed by its probability bucket.
//! Off unless the `heatmap` setting is on (then editors colour the custom types).

use ropey::Rope;
use tower_lsp_server::ls_types::{SemanticToken, SemanticTokenType, SemanticTokensLegend};

use crate::position::Encoding;
use crate::report::heatmap::BUCKETS;

use super::documents::Document;
use super::position::position;

/// One custom type per probability bucket, most likely first (same buckets as `hedge show`).
pub const TOKEN_TYPES: [&str; 4] = [
    "hedgeLikely",
    "hedgePlausible",
    "hedgeUnlikely",
    "hedgeRare",
];

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TOKEN_TYPES
            .iter()
            .map(|t| SemanticTokenType::new(t))
            .collect(),
        token_modifiers: vec![],
    }
}

fn bucket(p: Option<f64>, sentinel: bool) -> Option<u32> {
    if sentinel {
        return Some(3);
    }
    let p = p?;
    BUCKETS
        .iter()
        .position(|(lo, ..)| p >= *lo)
        .map(|i| i as u32)
}

fn units(rope: &Rope, start: usize, end: usize, enc: Encoding) -> u32 {
    let (a, b) = (rope.byte_to_char(start), rope.byte_to_char(end));
    (match enc {
        Encoding::Utf8 => end - start,
        Encoding::Utf16 => rope.char_to_utf16_cu(b) - rope.char_to_utf16_cu(a),
        Encoding::Utf32 => b - a,
    }) as u32
}

/// Encoded tokens for bytes `within` (the whole document for `full`). Whitespace is left
/// unpainted, and a token spanning lines is cut at each line break.
pub fn tokens(doc: &Document, within: std::ops::Range<usize>, enc: Encoding) -> Vec<SemanticToken> {
    let Some(live) = &doc.live else {
        return Vec::new();
    };
    let rope = &doc.rope;
    let m = &live.analysis.measures;
    let mut pieces: Vec<(usize, usize, u32)> = Vec::new();
    let mut last_end = 0;
    let mut order: Vec<usize> = (0..live.tokens.len())
        .filter(|&i| live.tokens[i].is_some())
        .collect();
    order.sort_by_key(|&i| live.tokens[i].as_ref().map(|r| r.start));
    for i in order {
        let r = live.tokens[i].clone().expect("filtered");
        if r.start < last_end
            || r.end > rope.len_bytes()
            || r.end <= within.start
            || r.start >= within.end
        {
            continue;
        }
        let Some(b) = bucket(m[i].p, m[i].sentinel) else {
            continue;
        };
        last_end = r.end;
        let (cs, ce) = (rope.byte_to_char(r.start), rope.byte_to_char(r.end));
        let text = rope.slice(cs..ce).to_string();
        // Cut at line breaks and trim whitespace from each piece.
        let mut at = r.start;
        for line in text.split_inclusive(['\n', '\r']) {
            let lead = line.len() - line.trim_start().len();
            let body = line.trim();
            if !body.is_empty() {
                pieces.push((at + lead, at + lead + body.len(), b));
            }
            at += line.len();
        }
    }
    let mut out = Vec::with_capacity(pieces.len());
    let (mut prev_line, mut prev_char) = (0u32, 0u32);
    for (s, e, b) in pieces {
        let p = position(rope, s, enc);
        let delta_line = p.line - prev_line;
        let delta_start = if delta_line == 0 {
            p.character - prev_char
        } else {
            p.character
        };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: units(rope, s, e, enc),
            token_type: b,
            token_modifiers_bitset: 0,
        });
        prev_line = p.line;
        prev_char = p.character;
    }
    out
}
