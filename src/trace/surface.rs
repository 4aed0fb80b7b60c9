//! Turning the many ways providers write a token's text back into its exact bytes.
//!
//! Providers that cannot put raw bytes in a JSON string escape them (`"\\xf0\\x9f\\x92"`,
//! `"bytes:\\xe2\\x80"`), write the tokenizer's own pieces (`Ġthe`, `▁the`, `<0xE2>`), or
//! replace what they cannot decode with U+FFFD. Each function here undoes one of those.

/// How the token strings of a trace spell spaces and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceStyle {
    /// Decoded text (what almost every API returns).
    Text,
    /// GPT-2 byte-level BPE pieces: every byte is mapped to a printable character (`Ġ` = space).
    Gpt2Bytes,
    /// SentencePiece pieces: `▁` is a space, `<0xNN>` a raw byte.
    SentencePiece,
}

/// Decide how a whole trace's token strings are spelled. Pieces are only assumed when many
/// tokens carry the marker and no token has a plain space, so ordinary text that happens to
/// contain `Ġ` or `▁` is left alone.
pub fn detect_piece_style<'a>(tokens: impl IntoIterator<Item = &'a str>) -> PieceStyle {
    let (mut n, mut gpt2, mut sp, mut spaces) = (0usize, 0usize, 0usize, 0usize);
    for t in tokens {
        n += 1;
        if t.contains(' ') {
            spaces += 1;
        }
        if t.starts_with('Ġ') || t.starts_with('Ċ') {
            gpt2 += 1;
        }
        if t.starts_with('▁') {
            sp += 1;
        }
    }
    if n == 0 || spaces > 0 {
        return PieceStyle::Text;
    }
    // A real piece sequence of English-like text has a marker on a good share of its tokens.
    let enough = |k: usize| k * 5 >= n && k >= 2 || (n <= 3 && k >= 1);
    if enough(gpt2) && gpt2 >= sp {
        PieceStyle::Gpt2Bytes
    } else if enough(sp) {
        PieceStyle::SentencePiece
    } else {
        PieceStyle::Text
    }
}

/// The bytes a token string stands for, given the trace's piece style.
/// Returns the bytes and whether they had to be guessed from a lossy form (U+FFFD).
pub fn token_bytes(s: &str, style: PieceStyle) -> (Vec<u8>, bool) {
    if let Some(b) = byte_token(s) {
        return (vec![b], false);
    }
    let bytes = match style {
        PieceStyle::Gpt2Bytes => match gpt2_piece_bytes(s) {
            Some(b) => b,
            None => unescape_bytes(s),
        },
        PieceStyle::SentencePiece => unescape_bytes(&s.replace('▁', " ")),
        PieceStyle::Text => unescape_bytes(s),
    };
    let lossy = s.contains('\u{FFFD}');
    (bytes, lossy)
}

/// `<0xE2>`: a SentencePiece byte-fallback token standing for one raw byte.
pub fn byte_token(s: &str) -> Option<u8> {
    let hex = s.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// Undo `\xNN` escapes of non-ASCII bytes and a leading `bytes:` marker.
///
/// OpenAI and DeepSeek write a partial UTF-8 token as the escaped text `\xf0\x9f\x92`; the legacy
/// Completions API writes `bytes:\xe2\x80`. Only escapes of bytes ≥ 0x80 are undone: `\x41` in a
/// token of source code is text the model wrote, not an escape.
pub fn unescape_bytes(s: &str) -> Vec<u8> {
    let s = s.strip_prefix("bytes:").unwrap_or(s);
    let b = s.as_bytes();
    if memchr::memmem::find(b, b"\\x").is_none() {
        return b.to_vec();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b.get(i + 1) == Some(&b'x') {
            if let Some(v) = hex_byte(b.get(i + 2..i + 4)) {
                if v >= 0x80 {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_byte(h: Option<&[u8]>) -> Option<u8> {
    let h = h?;
    let s = std::str::from_utf8(h).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(s, 16).ok()
}

/// GPT-2's byte-to-unicode table, inverted: the printable character that stands for each byte.
fn gpt2_char_to_byte(c: char) -> Option<u8> {
    let cp = c as u32;
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    if printable(cp) {
        return Some(cp as u8);
    }
    // The other 68 bytes were shifted to 256.. in byte order.
    if (256..256 + 68).contains(&cp) {
        let k = cp - 256;
        let mut seen = 0;
        for b in 0u32..256 {
            if !printable(b) {
                if seen == k {
                    return Some(b as u8);
                }
                seen += 1;
            }
        }
    }
    None
}

/// The bytes of a GPT-2 byte-level piece (`Ġthe` → ` the`), or `None` if a character is not
/// in the table (then the string is not such a piece).
pub fn gpt2_piece_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(gpt2_char_to_byte).collect()
}

/// A token from its surface text, ln p and id, with alternatives given the same way (the shape
/// of TGI, Gemini and other readers that have no `bytes`). Alternatives without text or with a
/// sentinel value are left out; the rest are sorted most likely first.
pub(crate) fn text_token<'a>(
    text: Option<&str>,
    logprob: Option<f64>,
    id: Option<i64>,
    alternatives: impl IntoIterator<Item = (Option<&'a str>, Option<f64>, Option<i64>)>,
    style: PieceStyle,
) -> super::Token {
    let id_of = |i: Option<i64>| i.and_then(|i| u32::try_from(i).ok());
    let (bytes, lossy) = token_bytes(text.unwrap_or_default(), style);
    let (logprob, sentinel) = super::classify_logprob(logprob);
    let mut top: Vec<super::Alternative> = alternatives
        .into_iter()
        .filter_map(|(t, lp, i)| {
            Some(super::Alternative {
                logprob: super::classify_logprob(lp).0?,
                bytes: token_bytes(t?, style).0.into(),
                id: id_of(i),
            })
        })
        .collect();
    top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    super::Token {
        lossy: lossy || bytes.is_empty(),
        bytes: bytes.into(),
        logprob,
        id: id_of(id),
        top,
        sentinel,
        ..super::Token::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_partial_utf8_becomes_bytes() {
        assert_eq!(unescape_bytes("\\xf0\\x9f\\x92"), vec![0xF0, 0x9F, 0x92]);
        assert_eq!(unescape_bytes("bytes:\\xe2\\x80"), vec![0xE2, 0x80]);
        assert_eq!(unescape_bytes("a\\x41b"), b"a\\x41b".to_vec());
        assert_eq!(unescape_bytes("plain"), b"plain".to_vec());
        assert_eq!(unescape_bytes("\\x"), b"\\x".to_vec());
        assert_eq!(unescape_bytes("\\xZZ"), b"\\xZZ".to_vec());
    }

    #[test]
    fn byte_tokens_and_pieces() {
        assert_eq!(byte_token("<0xE2>"), Some(0xE2));
        assert_eq!(byte_token("<0xE>"), None);
        assert_eq!(gpt2_piece_bytes("Ġthe"), Some(b" the".to_vec()));
        assert_eq!(gpt2_piece_bytes("Ċ"), Some(b"\n".to_vec()));
        // "é" in GPT-2 pieces is the two characters Ã© (bytes C3 A9).
        assert_eq!(gpt2_piece_bytes("Ã©"), Some("é".as_bytes().to_vec()));
        assert_eq!(
            token_bytes("▁Paris", PieceStyle::SentencePiece).0,
            b" Paris".to_vec()
        );
        assert_eq!(
            token_bytes("<0xF0>", PieceStyle::SentencePiece).0,
            vec![0xF0]
        );
        assert_eq!(
            token_bytes("\u{FFFD}", PieceStyle::Text),
            ("\u{FFFD}".as_bytes().to_vec(), true)
        );
    }

    #[test]
    fn piece_style_needs_evidence() {
        assert_eq!(
            detect_piece_style(["Ġthe", "Ġcat", "Ġsat"]),
            PieceStyle::Gpt2Bytes
        );
        assert_eq!(
            detect_piece_style(["▁the", "▁cat", "s"]),
            PieceStyle::SentencePiece
        );
        assert_eq!(detect_piece_style([" the", "Ġ", " cat"]), PieceStyle::Text);
        assert_eq!(detect_piece_style(["The", " cat"]), PieceStyle::Text);
    }
}
