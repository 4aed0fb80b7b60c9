//! Byte offsets ↔ line/character positions.
//!
//! LSP counts characters in UTF-16 code units by default (UTF-8 when negotiated); terminals and
//! SARIF count lines and columns from 1. Lines end at `\n`, `\r\n` or `\r`, as LSP defines them.

use serde::Serialize;

/// The unit a `character` offset counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

/// A 0-based line and character, as in LSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// Line starts of a text, for converting many offsets quickly.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let b = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if b.get(i + 1) == Some(&b'\n') => {
                    starts.push(i + 2);
                    i += 1;
                }
                b'\r' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { starts }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The position of a byte offset (clamped to the text; a mid-character offset counts the
    /// character as not yet reached).
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> Position {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let mut end = offset;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let piece = &text[start..end];
        let character = match enc {
            Encoding::Utf8 => piece.len(),
            // Every character is one UTF-16 unit but those beyond the BMP (4 UTF-8 bytes),
            // which are two; both counts run over bytes, many at a time.
            Encoding::Utf16 => piece.chars().count() + piece.bytes().filter(|&b| b >= 0xF0).count(),
            Encoding::Utf32 => piece.chars().count(),
        };
        Position {
            line: line as u32,
            character: character as u32,
        }
    }

    /// The byte offset of a position; a character past the end of its line means the line's
    /// end, a line past the end means the end of the text, a position inside a character means
    /// its start.
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> usize {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            return text.len();
        }
        let start = self.starts[line];
        let end = self.line_end(text, line);
        let mut units = 0u32;
        for (i, ch) in text[start..end].char_indices() {
            let width = match enc {
                Encoding::Utf8 => ch.len_utf8() as u32,
                Encoding::Utf16 => ch.len_utf16() as u32,
                Encoding::Utf32 => 1,
            };
            // A position inside a character (between the two halves of a surrogate pair, or
            // inside a UTF-8 sequence) means that character's start, as the server reads it.
            if units + width > pos.character {
                return start + i;
            }
            units += width;
        }
        end
    }

    /// End of a line's content (before its line break).
    fn line_end(&self, text: &str, line: usize) -> usize {
        let next = self.starts.get(line + 1).copied().unwrap_or(text.len());
        let b = text.as_bytes();
        let mut end = next;
        if end > self.starts[line] && b.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > self.starts[line] && b.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_columns_count_astral_characters_twice() {
        let text = "aé€😀b𝕏\u{10FFFF}z";
        let idx = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let expected = text[..offset].encode_utf16().count() as u32;
            assert_eq!(
                idx.position(text, offset, Encoding::Utf16),
                pos(0, expected)
            );
        }
        assert_eq!(idx.position(text, text.len(), Encoding::Utf16), pos(0, 11));
    }

    #[test]
    fn utf16_counts_surrogate_pairs() {
        let t = "a💙b\nx";
        let ix = LineIndex::new(t);
        assert_eq!(ix.position(t, 5, Encoding::Utf16), pos(0, 3));
        assert_eq!(ix.position(t, 5, Encoding::Utf8), pos(0, 5));
        assert_eq!(ix.position(t, 5, Encoding::Utf32), pos(0, 2));
        assert_eq!(ix.position(t, 7, Encoding::Utf16), pos(1, 0));
        assert_eq!(ix.offset(t, pos(0, 3), Encoding::Utf16), 5);
        // Inside the surrogate pair: the character is not reached yet.
        assert_eq!(ix.position(t, 3, Encoding::Utf16), pos(0, 1));
        // A position between its halves means the emoji's start, as in the server.
        assert_eq!(ix.offset(t, pos(0, 2), Encoding::Utf16), 1);
        assert_eq!(ix.offset(t, pos(0, 2), Encoding::Utf8), 1);
    }

    #[test]
    fn cjk_and_combining_marks() {
        let t = "日本語 e\u{301}t";
        let ix = LineIndex::new(t);
        assert_eq!(ix.position(t, 9, Encoding::Utf16), pos(0, 3));
        let after_mark = t.find('t').unwrap();
        assert_eq!(ix.position(t, after_mark, Encoding::Utf16), pos(0, 6));
        assert_eq!(ix.offset(t, pos(0, 6), Encoding::Utf16), after_mark);
    }

    #[test]
    fn crlf_and_cr_are_one_break_each() {
        let t = "ab\r\ncd\ref\n";
        let ix = LineIndex::new(t);
        assert_eq!(ix.line_count(), 4);
        assert_eq!(ix.position(t, 4, Encoding::Utf16), pos(1, 0));
        assert_eq!(ix.position(t, 7, Encoding::Utf16), pos(2, 0));
        assert_eq!(ix.offset(t, pos(0, 99), Encoding::Utf16), 2);
        assert_eq!(ix.offset(t, pos(9, 0), Encoding::Utf16), t.len());
    }

    #[test]
    fn offsets_round_trip() {
        let t = "héllo 💙\r\n世界\rz";
        let ix = LineIndex::new(t);
        for (i, _) in t.char_indices() {
            if t.as_bytes()[i] == b'\n' {
                continue; // the \n of \r\n is inside one line break
            }
            for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                let p = ix.position(t, i, enc);
                assert_eq!(ix.offset(t, p, enc), i, "offset {i} via {p:?} {enc:?}");
            }
        }
    }
}
