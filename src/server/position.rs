//! LSP positions ↔ byte offsets of a rope, in the encoding negotiated with the client.
//!
//! Ropey is built with `cr_lines` only, so its lines break exactly where LSP's do (`\n`, `\r\n`,
//! `\r`), not at U+2028 or U+0085.

use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{Position, PositionEncodingKind};

use crate::position::Encoding;

pub fn encoding_of(kind: &PositionEncodingKind) -> Encoding {
    if *kind == PositionEncodingKind::UTF8 {
        Encoding::Utf8
    } else if *kind == PositionEncodingKind::UTF32 {
        Encoding::Utf32
    } else {
        Encoding::Utf16
    }
}

pub fn kind_of(enc: Encoding) -> PositionEncodingKind {
    match enc {
        Encoding::Utf8 => PositionEncodingKind::UTF8,
        Encoding::Utf16 => PositionEncodingKind::UTF16,
        Encoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

/// Units of `enc` from the start of the line to char index `c`.
fn units_between(rope: &Rope, line_start: usize, c: usize, enc: Encoding) -> usize {
    match enc {
        Encoding::Utf8 => rope.char_to_byte(c) - rope.char_to_byte(line_start),
        Encoding::Utf16 => rope.char_to_utf16_cu(c) - rope.char_to_utf16_cu(line_start),
        Encoding::Utf32 => c - line_start,
    }
}

/// The position of a byte offset (clamped; a mid-character offset rounds down).
pub fn position(rope: &Rope, byte: usize, enc: Encoding) -> Position {
    let byte = byte.min(rope.len_bytes());
    let c = rope.byte_to_char(byte);
    let line = rope.char_to_line(c);
    let start = rope.line_to_char(line);
    Position::new(line as u32, units_between(rope, start, c, enc) as u32)
}

pub fn range(rope: &Rope, r: &Range<usize>, enc: Encoding) -> tower_lsp_server::ls_types::Range {
    tower_lsp_server::ls_types::Range::new(position(rope, r.start, enc), position(rope, r.end, enc))
}

/// The byte offset of a position. A line past the end means the end of the text; a character
/// past the end of its line means the end of that line (before its line break), as LSP says.
pub fn offset(rope: &Rope, pos: Position, enc: Encoding) -> usize {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_bytes();
    }
    let start = rope.line_to_char(line);
    let slice = rope.line(line);
    // Content of the line without its break.
    let mut len = slice.len_chars();
    while len > 0 && matches!(slice.char(len - 1), '\n' | '\r') {
        len -= 1;
    }
    let want = pos.character as usize;
    let c = match enc {
        Encoding::Utf32 => start + want.min(len),
        Encoding::Utf16 => {
            let base = rope.char_to_utf16_cu(start);
            let end_cu = rope.char_to_utf16_cu(start + len) - base;
            let c = rope.utf16_cu_to_char(base + want.min(end_cu));
            c.max(start)
        }
        Encoding::Utf8 => {
            let base = rope.char_to_byte(start);
            let end_b = rope.char_to_byte(start + len) - base;
            rope.byte_to_char(base + want.min(end_b))
        }
    };
    rope.char_to_byte(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_utf8_and_line_breaks() {
        let rope = Rope::from_str("a💙b\r\n日本\rx\u{2028}y");
        assert_eq!(position(&rope, 5, Encoding::Utf16), Position::new(0, 3));
        assert_eq!(position(&rope, 5, Encoding::Utf8), Position::new(0, 5));
        assert_eq!(offset(&rope, Position::new(0, 3), Encoding::Utf16), 5);
        assert_eq!(offset(&rope, Position::new(1, 1), Encoding::Utf16), 11);
        assert_eq!(offset(&rope, Position::new(1, 3), Encoding::Utf8), 11);
        // Inside a character (UTF-8 unit 1 of 日): rounds down to its start.
        assert_eq!(offset(&rope, Position::new(1, 1), Encoding::Utf8), 8);
        // U+2028 is not a line break for LSP.
        assert_eq!(rope.len_lines(), 3);
        assert_eq!(
            position(&rope, rope.len_bytes(), Encoding::Utf16),
            Position::new(2, 3)
        );
        // Past the end of a line: the line's end; past the last line: the text's end.
        assert_eq!(offset(&rope, Position::new(0, 99), Encoding::Utf16), 6);
        assert_eq!(
            offset(&rope, Position::new(9, 0), Encoding::Utf16),
            rope.len_bytes()
        );
    }

    #[test]
    fn round_trip_every_char_boundary() {
        let text = "héllo 💙\r\n世界\rz e\u{301}";
        let rope = Rope::from_str(text);
        for (i, _) in text.char_indices() {
            if text.as_bytes()[i] == b'\n' {
                continue;
            }
            for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                let p = position(&rope, i, enc);
                assert_eq!(offset(&rope, p, enc), i, "{i} {enc:?}");
            }
        }
    }
}
