//! The invariants the fuzz targets check. Also compiled into `tests/fuzz_regressions.rs`, which
//! runs them over the fixtures and over every input a fuzzer once failed on, on stable Rust.

use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{Position as LspPosition, Range as LspRange};
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use hedge::align::{align, Alignment};
use hedge::analysis::{analyze, Analysis, AnalysisError};
use hedge::config::Config;
use hedge::position::{Encoding, LineIndex, Position};
use hedge::server::documents::{Document, Live};
use hedge::server::position as lsp;
use hedge::source::inline;
use hedge::trace::{
    is_sentinel, native, parse_trace, parse_trace_with, ReadOptions, Token, Trace, TraceFormat,
};

pub const ENCODINGS: [Encoding; 3] = [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32];

/// Short pieces of text that make interesting documents when strung together: repeated words
/// (alignment anchors), every kind of line break, multi-byte and combining characters, and
/// U+2028 (not a line break for LSP).
pub const VOCAB: [&str; 20] = [
    "the",
    " ",
    "\n",
    "\r\n",
    "\r",
    "é",
    "💙",
    "日本",
    "e\u{301}",
    "1903",
    ",",
    "x",
    "\t",
    "\u{2028}",
    "Ω",
    "Curie",
    "\n\n",
    "  ",
    "(Smith 2019)",
    "\u{a0}",
];

/// The text spelled by vocabulary indices.
pub fn spell(ix: &[u8]) -> String {
    ix.iter()
        .map(|&i| VOCAB[i as usize % VOCAB.len()])
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Trace readers

/// Every reader on `data`: detection (with and without prompt tokens), each format forced, and
/// the saved-response reading of `hedge check response.json`.
pub fn trace_bytes(data: &[u8]) {
    for include_prompt in [false, true] {
        if let Ok(t) = parse_trace_with(
            data,
            None,
            &ReadOptions {
                include_prompt,
                ..ReadOptions::default()
            },
        ) {
            trace(&t, include_prompt);
        }
    }
    for f in TraceFormat::ALL {
        if let Ok(t) = parse_trace(data, Some(f)) {
            assert_eq!(t.format, f);
            trace(&t, false);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        inline_file(text);
    }
}

/// What holds for every trace a reader returns.
pub fn trace(t: &Trace, include_prompt: bool) {
    assert!(
        !t.tokens.is_empty(),
        "a trace read without error has tokens"
    );
    if !include_prompt {
        assert_eq!(
            t.prompt_tokens, 0,
            "prompt tokens are removed unless asked for"
        );
    }
    assert!(t.prompt_tokens <= t.tokens.len());
    for tok in &t.tokens {
        if let Some(lp) = tok.logprob {
            assert!(lp.is_finite() && lp <= 0.0, "logprob {lp} is not ln p");
            assert!(!tok.sentinel, "a sentinel has no value");
        }
        for a in &tok.top {
            assert!(
                a.logprob.is_finite() && !is_sentinel(a.logprob),
                "alternative logprob {}",
                a.logprob
            );
        }
    }
    // hedge's own format gives back the same trace.
    let mut buf = Vec::new();
    native::write(t, &mut buf).expect("writing to memory");
    let back = parse_trace_with(
        &buf,
        Some(TraceFormat::Native),
        &ReadOptions {
            include_prompt: true,
            ..ReadOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("the native form of a trace does not read back: {e}"));
    let expected = Trace {
        format: TraceFormat::Native,
        ..t.clone()
    };
    assert_eq!(back, expected, "native round trip");
    // The whole engine on the generated text itself.
    let generated = t.generated_bytes();
    let doc = String::from_utf8_lossy(&generated).into_owned();
    match analyze(&doc, t, &Config::default()) {
        Ok(a) => {
            analysis(&doc, &t.tokens, &a);
            let lossy = t.tokens.iter().any(hedge::align_lossy::is_lossy);
            if doc.as_bytes() == generated.as_slice() && !lossy {
                assert_eq!(
                    a.alignment.aligned, a.alignment.total,
                    "own text fully placed"
                );
                assert_eq!(a.lossy_tokens, 0);
            }
        }
        Err(AnalysisError::LowCoverage { .. }) => assert!(
            doc.as_bytes() != generated.as_slice()
                || t.tokens.iter().any(hedge::align_lossy::is_lossy),
            "a trace always matches its own text"
        ),
        Err(AnalysisError::NoData { .. }) => {}
    }
}

/// A saved response opened as a document: findings point inside the file.
pub fn inline_file(text: &str) {
    if let Ok((t, a)) = inline::analyze_file(text, &Config::default(), &ReadOptions::default()) {
        assert!(!t.tokens.is_empty());
        assert_eq!(a.alignment.ranges.len(), t.tokens.len());
        for r in a.alignment.ranges.iter().flatten() {
            in_text(text, r);
        }
        for f in &a.findings {
            in_text(text, &f.range);
        }
    }
}

/// A range that slices `text` on character boundaries.
pub fn in_text(text: &str, r: &Range<usize>) {
    assert!(
        r.start <= r.end && r.end <= text.len(),
        "{r:?} outside 0..{}",
        text.len()
    );
    assert!(
        text.is_char_boundary(r.start) && text.is_char_boundary(r.end),
        "{r:?} splits a character"
    );
}

/// What holds for every analysis of `doc`.
pub fn analysis(doc: &str, tokens: &[Token], a: &Analysis) {
    assert_eq!(a.alignment.ranges.len(), tokens.len());
    assert_eq!(a.measures.len(), tokens.len());
    for r in a.alignment.ranges.iter().flatten() {
        in_text(doc, r);
    }
    for m in &a.measures {
        if let Some(p) = m.p {
            assert!((0.0..=1.0).contains(&p), "p = {p}");
        }
        if let Some(e) = m.entropy_bits {
            assert!(
                e.low.is_finite() && e.high.is_finite(),
                "entropy {e:?} is not finite"
            );
            assert!(e.low >= -1e-9 && e.low <= e.high + 1e-9, "entropy {e:?}");
        }
    }
    if let Some(ppl) = a.summary.perplexity {
        assert!(ppl >= 1.0 - 1e-9, "perplexity {ppl}");
    }
    for f in &a.findings {
        in_text(doc, &f.range);
        assert!(f.range.start < f.range.end, "empty finding {f:?}");
        assert!(f.joint_logprob <= 0.0 && !f.joint_logprob.is_nan());
        assert!(!f.message.is_empty() && !f.message.contains('\n'));
        if let Some(i) = f.token {
            assert!(i < tokens.len());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Alignment

/// Text without whitespace: alignment matches whitespace runs by kind, not byte for byte
/// (reflowed text keeps its tokens), so a token's text is compared without it.
fn content(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `tokens` aligned to `doc`. A placed token slices its own text (up to whitespace, and widened
/// to whole characters when it holds part of one); ranges follow the token order; when the
/// generated text is in the document verbatim, every token is placed on exactly its bytes.
pub fn alignment(tokens: &[Vec<u8>], doc: &str) -> Alignment {
    let a = align(tokens.iter().map(|t| t.as_slice()), doc);
    assert_eq!(a.ranges.len(), tokens.len());
    assert_eq!(a.total, tokens.iter().filter(|t| !t.is_empty()).count());
    assert_eq!(a.aligned, a.ranges.iter().filter(|r| r.is_some()).count());
    assert!(a.aligned <= a.total);
    let generated: Vec<u8> = tokens.concat();
    let mut at = 0;
    let mut last_start = 0;
    for (t, r) in tokens.iter().zip(&a.ranges) {
        let here = at;
        at += t.len();
        let Some(r) = r else { continue };
        assert!(!t.is_empty(), "an empty token is never placed");
        in_text(doc, r);
        assert!(r.start < r.end);
        assert!(
            r.start >= last_start,
            "ranges out of order: {r:?} after {last_start}"
        );
        last_start = r.start;
        let slice = &doc[r.clone()];
        match std::str::from_utf8(t) {
            Ok(s) => assert_eq!(
                content(s),
                content(slice),
                "token {s:?} placed on {slice:?} at {r:?}"
            ),
            Err(_) => {
                // Its whole characters, without whitespace, are in the slice.
                let whole: String = content(&String::from_utf8_lossy(t))
                    .chars()
                    .filter(|&c| c != '\u{FFFD}')
                    .collect();
                assert!(
                    content(slice).contains(&whole),
                    "partial token {t:?} placed on {slice:?}"
                );
            }
        }
        if let Some(v) = a.verbatim_at {
            // Exactly its own bytes, widened to whole characters.
            let own = v + here..v + here + t.len();
            assert!(r.start <= own.start && own.end <= r.end, "{r:?} vs {own:?}");
            assert_eq!(&doc.as_bytes()[own], t.as_slice());
        }
    }
    if !generated.is_empty() && memchr_find(doc.as_bytes(), &generated) {
        assert!(a.verbatim_at.is_some());
        assert_eq!(a.aligned, a.total, "verbatim text fully placed");
    }
    a
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Positions

/// Both converters (the CLI's line index and the server's rope) agree on every offset and
/// position, positions round-trip to the offsets they came from, and any position (past the
/// end of a line or of the text, inside a character) maps to a character boundary.
pub fn positions(text: &str, offsets: &[usize], probes: &[(u32, u32)]) {
    let rope = Rope::from_str(text);
    let ix = LineIndex::new(text);
    assert_eq!(ix.line_count(), rope.len_lines(), "line count of {text:?}");
    let every: Vec<usize> = if text.len() <= 2048 {
        (0..=text.len()).collect()
    } else {
        offsets.iter().map(|o| o % (text.len() + 1)).collect()
    };
    for &o in every.iter().chain(offsets) {
        for enc in ENCODINGS {
            let p = ix.position(text, o, enc);
            let q = lsp::position(&rope, o, enc);
            assert_eq!(
                (p.line, p.character),
                (q.line, q.character),
                "offset {o} {enc:?}"
            );
            let boundary = o <= text.len() && text.is_char_boundary(o);
            if boundary && !inside_crlf(text, o) {
                assert_eq!(
                    ix.offset(text, p, enc),
                    o,
                    "round trip of {o} via {p:?} {enc:?}"
                );
                assert_eq!(
                    lsp::offset(&rope, q, enc),
                    o,
                    "rope round trip of {o} {enc:?}"
                );
            }
        }
    }
    for &(line, character) in probes {
        for enc in ENCODINGS {
            let p = Position { line, character };
            let a = ix.offset(text, p, enc);
            let b = lsp::offset(&rope, LspPosition::new(line, character), enc);
            assert!(a <= text.len() && text.is_char_boundary(a));
            assert_eq!(a, b, "position {p:?} {enc:?} in {text:?}");
        }
    }
}

/// Between the `\r` and `\n` of a CRLF: no position points there.
pub fn inside_crlf(text: &str, o: usize) -> bool {
    let b = text.as_bytes();
    o > 0 && o < b.len() && b[o - 1] == b'\r' && b[o] == b'\n'
}

// ---------------------------------------------------------------------------------------------
// Incremental edits

/// One edit, as byte offsets into the text current when it is applied (snapped to positions
/// an editor can name), and how many pieces the chunked client splits it into.
#[derive(Debug, Clone)]
pub struct Edit {
    pub at: usize,
    pub len: usize,
    pub text: String,
    pub pieces: usize,
}

/// A byte offset an LSP position can name: on a character boundary, not inside a CRLF.
pub fn snap(text: &str, o: usize) -> usize {
    let mut o = o.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    if inside_crlf(text, o) {
        o -= 1;
    }
    o
}

fn change(
    rope: &Rope,
    s: usize,
    e: usize,
    text: &str,
    enc: Encoding,
) -> TextDocumentContentChangeEvent {
    TextDocumentContentChangeEvent {
        range: Some(LspRange::new(
            lsp::position(rope, s, enc),
            lsp::position(rope, e, enc),
        )),
        range_length: None,
        text: text.to_string(),
    }
}

/// Character boundaries of `s` that cut it into about `n` pieces.
fn cuts(s: &str, n: usize) -> Vec<usize> {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).skip(1).collect();
    if n <= 1 || bounds.is_empty() {
        return Vec::new();
    }
    let step = bounds.len().div_ceil(n - 1).max(1);
    bounds.into_iter().step_by(step).collect()
}

/// Apply `edits` to `initial` three ways — one change per edit, each edit cut into pieces
/// (insertions piece by piece, deletions from the end backwards), and full replacements — and
/// compare with plain string splicing after every edit. A trace of the initial text, placed
/// token by token, is shifted along: every token and finding still standing slices exactly the
/// bytes it had.
pub fn edits(initial: &str, token_cuts: &[usize], logprobs: &[u8], edits: &[Edit], enc: Encoding) {
    let mut model = initial.to_string();
    let mut one = Document::new(initial, 1, "markdown".into(), None);
    let mut chunked = Document::new(initial, 1, "markdown".into(), None);
    let mut full = Document::new(initial, 1, "markdown".into(), None);
    let mut chunked_valid = true;

    // A trace whose tokens are the initial text cut at `token_cuts`.
    let original = live_for(initial, token_cuts, logprobs);
    let (orig_tokens, orig_findings) = match &original {
        Some(l) => (
            l.tokens.clone(),
            l.analysis
                .findings
                .iter()
                .map(|f| f.range.clone())
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    one.live = original;

    for e in edits {
        let s = snap(&model, e.at);
        let end = snap(&model, s.saturating_add(e.len));
        let end = end.max(s);
        // One change.
        one.apply(&change(&one.rope, s, end, &e.text, enc), enc);
        // In pieces: insert at the end of the range (last piece first), then delete backwards.
        if chunked_valid {
            let ins = cuts(&e.text, e.pieces);
            let mut bounds = vec![0];
            bounds.extend(&ins);
            bounds.push(e.text.len());
            let mut cur = model.clone();
            for w in bounds.windows(2).rev() {
                let piece = &e.text[w[0]..w[1]];
                if piece.is_empty() {
                    continue;
                }
                if inside_crlf(&cur, end) {
                    chunked_valid = false;
                    break;
                }
                chunked.apply(&change(&chunked.rope, end, end, piece, enc), enc);
                cur.replace_range(end..end, piece);
            }
            let del = &model[s..end];
            let mut dbounds = vec![0];
            dbounds.extend(cuts(del, e.pieces));
            dbounds.push(del.len());
            for w in dbounds.windows(2).rev() {
                let (a, b) = (s + w[0], s + w[1]);
                if a == b {
                    continue;
                }
                if !chunked_valid || inside_crlf(&cur, a) || inside_crlf(&cur, b) {
                    chunked_valid = false;
                    break;
                }
                chunked.apply(&change(&chunked.rope, a, b, "", enc), enc);
                cur.replace_range(a..b, "");
            }
        }
        model.replace_range(s..end, &e.text);
        full.apply(
            &TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: model.clone(),
            },
            enc,
        );
        assert_eq!(one.text(), model, "one change per edit");
        assert_eq!(full.text(), model, "full replacement");
        if chunked_valid {
            assert_eq!(chunked.text(), model, "edit applied in pieces");
        }
        // Every token and finding still standing slices the bytes it had.
        if let Some(live) = &one.live {
            let bytes = |r: &Range<usize>| -> Vec<u8> {
                let (a, b) = (one.rope.byte_to_char(r.start), one.rope.byte_to_char(r.end));
                one.rope.slice(a..b).to_string().into_bytes()
            };
            for (now, was) in live.tokens.iter().zip(&orig_tokens) {
                if let (Some(now), Some(was)) = (now, was) {
                    assert!(now.end <= model.len());
                    assert_eq!(bytes(now), initial.as_bytes()[was.clone()].to_vec());
                }
            }
            for (f, id) in live.findings.iter().zip(&live.finding_ids) {
                let was: &Range<usize> = &orig_findings[*id];
                assert!(f.range.end <= model.len());
                assert_eq!(bytes(&f.range), initial.as_bytes()[was.clone()].to_vec());
            }
        }
    }
}

/// The analysis of `text` with a trace that is `text` cut at `cuts` (byte lengths), each token
/// with ln p from `logprobs` and one alternative.
fn live_for(text: &str, cuts: &[usize], logprobs: &[u8]) -> Option<Live> {
    if text.is_empty() {
        return None;
    }
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < b.len() {
        let n = cuts.get(i).copied().unwrap_or(4).clamp(1, 16);
        let end = (at + n).min(b.len());
        let lp = -(logprobs.get(i).copied().unwrap_or(8) as f64) / 16.0;
        tokens.push(Token {
            bytes: b[at..end].into(),
            logprob: Some(lp),
            top: vec![hedge::trace::Alternative {
                bytes: b"the"[..].into(),
                logprob: (-0.05f64).max(lp + 0.5).min(0.0),
                id: None,
            }],
            ..Token::default()
        });
        at = end;
        i += 1;
    }
    let trace = Trace::new(TraceFormat::Native, tokens);
    let a = analyze(text, &trace, &Config::default()).ok()?;
    analysis(text, &trace.tokens, &a);
    Some(Live::new(
        std::sync::Arc::new(trace),
        std::sync::Arc::new(a),
        text,
    ))
}

/// A URI for the LSP target's documents.
pub fn uri(n: u8) -> Uri {
    let s = match n % 4 {
        0 => "file:///fuzz/a.md",
        1 => "file:///fuzz/b.json",
        2 => "untitled:Untitled-1",
        _ => "file:///fuzz/c%20d.txt",
    };
    s.parse().expect("a valid URI")
}
