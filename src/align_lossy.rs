//! Alignment for traces whose bytes are lossy: tokens that hold `"�"` (U+FFFD, from a
//! provider that decoded a partial character on its own) or that are empty because the
//! provider dropped their partial bytes (llama-cpp-python, vLLM V1, TGI's incremental text).
//!
//! [`crate::align::align`] places every token whose bytes are found; a lossy token's bytes are
//! not the document's, so it stays unplaced, and so may an exact token next to it. Here the
//! tokens between two placed neighbours are matched against the document text between those
//! neighbours: an exact token must match its bytes, each `"�"` stands for 1 to 8 non-ASCII
//! bytes (the bytes of a partial character are never ASCII), and an empty lossy token for 0 to
//! 8. The whole gap must be used up, so a token is never moved onto text it did not produce. A
//! run of tokens before the first (after the last) placed token must end (start) at it. When a
//! run does not fit, up to two placed neighbours on each side are taken into it (a lone space
//! may have been placed on the wrong space). Runs of exact tokens that the byte alignment left
//! unplaced are filled the same way (only where the text is exactly theirs).
//!
//! Where the match leaves an empty token no bytes (its bytes arrived with the next token, as in
//! TGI, or a neighbour took them), it marks the non-ASCII character at that point, or else the
//! one just before it. As in [`crate::align::align`], ranges are widened to whole characters,
//! so every token holding part of a character marks the whole character.

use std::collections::HashMap;
use std::ops::Range;

use crate::align::{align, widen, Alignment};
use crate::trace::Token;

/// The most bytes one `"�"` or one empty lossy token may stand for.
const HOLE_MAX: usize = 8;
/// Runs longer than this (in pattern elements) are not matched against an open-ended stretch.
const OPEN_MAX_ELEMENTS: usize = 256;
/// How many placed neighbours on each side a failed run may take in.
const WIDEN_MAX: usize = 2;
/// A trace with no exactly placed token is searched for only in documents up to this size.
const FLOATING_MAX_DOC: usize = 1 << 20;

/// An alignment with lossy tokens recovered where the text allows.
#[derive(Debug, Clone, PartialEq)]
pub struct LossyAlignment {
    /// Ranges as [`crate::align::align`] gives them, plus the recovered tokens'. `total` counts
    /// the tokens with bytes and the empty lossy tokens (they stand for text too); `aligned`
    /// those of them with a range.
    pub alignment: Alignment,
    /// Tokens placed by the fallback that the byte alignment left unplaced.
    pub recovered: usize,
    /// Lossy tokens that still have no range (the figure for a summary's `lossy_tokens`).
    pub unrecovered_lossy: usize,
}

/// Per token, its byte range in `doc` (see the module documentation), `None` when it could not
/// be placed.
pub fn align_lossy(tokens: &[Token], doc: &str) -> Vec<Option<Range<usize>>> {
    align_tokens(tokens, doc).alignment.ranges
}

/// Whether a token's bytes are not the document's own: flagged lossy, or holding U+FFFD.
pub fn is_lossy(t: &Token) -> bool {
    t.lossy || memchr::memmem::find(&t.bytes, "\u{FFFD}".as_bytes()).is_some()
}

/// Align, then recover lossy tokens. A trace with no lossy token gets exactly
/// [`crate::align::align`]'s result.
pub fn align_tokens(tokens: &[Token], doc: &str) -> LossyAlignment {
    let mut alignment = align(tokens.iter().map(|t| t.bytes.as_slice()), doc);
    if !tokens.iter().any(is_lossy) {
        return LossyAlignment {
            alignment,
            recovered: 0,
            unrecovered_lossy: 0,
        };
    }
    let ranges = &mut alignment.ranges;
    let counts = |t: &Token| !t.bytes.is_empty() || t.lossy;
    let before = ranges.clone();
    let mut i = 0;
    while i < tokens.len() {
        if ranges[i].is_some() || !counts(&tokens[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < tokens.len() && ranges[j].is_none() {
            j += 1;
        }
        // Exact tokens next to lossy ones may be left unplaced too: a run of them is placed
        // where the text between its neighbours is exactly theirs. A short neighbour of a
        // lossy run may have been placed on the wrong one of several equal texts (a lone
        // space): on failure, take a neighbour on each side into the run and retry.
        let widen_max = if tokens[i..j].iter().any(is_lossy) {
            WIDEN_MAX
        } else {
            0
        };
        for level in 0..=widen_max {
            let (a, b) = window(ranges, i, j, level);
            let lo = ranges[..a].iter().rev().flatten().next().map(|r| r.end);
            let hi = ranges[b..].iter().flatten().next().map(|r| r.start);
            if let Some(found) = place(&tokens[a..b], doc, lo, hi) {
                ranges[a..b].clone_from_slice(&found);
                break;
            }
            if a == 0 && b == tokens.len() {
                break;
            }
        }
        i = j;
    }
    let recovered = before
        .iter()
        .zip(ranges.iter())
        .filter(|(b, r)| b.is_none() && r.is_some())
        .count();
    let total = tokens.iter().filter(|t| counts(t)).count();
    let aligned = tokens
        .iter()
        .zip(ranges.iter())
        .filter(|(t, r)| counts(t) && r.is_some())
        .count();
    let unrecovered_lossy = tokens
        .iter()
        .zip(ranges.iter())
        .filter(|(t, r)| is_lossy(t) && r.is_none())
        .count();
    alignment.total = total;
    alignment.aligned = aligned;
    LossyAlignment {
        alignment,
        recovered,
        unrecovered_lossy,
    }
}

/// The run `i..j` widened by `level` placed tokens on each side, with the unplaced tokens
/// beyond them.
fn window(ranges: &[Option<Range<usize>>], i: usize, j: usize, level: usize) -> (usize, usize) {
    let (mut a, mut b) = (i, j);
    for _ in 0..level {
        if a > 0 {
            a -= 1;
            while a > 0 && ranges[a - 1].is_none() {
                a -= 1;
            }
        }
        if b < ranges.len() {
            b += 1;
            while b < ranges.len() && ranges[b].is_none() {
                b += 1;
            }
        }
    }
    (a, b)
}

/// One piece of the pattern a run of tokens makes.
#[derive(Clone, Copy)]
enum Elem<'a> {
    Lit(&'a [u8]),
    /// `min..=HOLE_MAX` non-ASCII bytes.
    Hole(usize),
}

/// Match a run of unplaced tokens between `lo` and `hi` (the neighbours' ends; `None` where
/// the run starts or ends the trace). Returns a range per token, or `None` if no match.
fn place(
    run: &[Token],
    doc: &str,
    lo: Option<usize>,
    hi: Option<usize>,
) -> Option<Vec<Option<Range<usize>>>> {
    let mut elems = Vec::new();
    let mut spans = Vec::with_capacity(run.len());
    for t in run {
        let first = elems.len();
        if is_lossy(t) {
            if t.bytes.is_empty() {
                elems.push(Elem::Hole(0));
            }
            for (lit, hole) in split_fffd(&t.bytes) {
                if !lit.is_empty() {
                    elems.push(Elem::Lit(lit));
                }
                if hole {
                    elems.push(Elem::Hole(1));
                }
            }
        } else if !t.bytes.is_empty() {
            elems.push(Elem::Lit(&t.bytes));
        }
        spans.push(first..elems.len());
    }
    let budget: usize = elems
        .iter()
        .map(|e| match e {
            Elem::Lit(b) => b.len(),
            Elem::Hole(_) => HOLE_MAX,
        })
        .sum();
    let bytes = doc.as_bytes();
    let path = match (lo, hi) {
        (Some(lo), Some(hi)) if lo <= hi => matches(&elems, bytes, lo, hi, true),
        (Some(_), Some(_)) => None,
        _ if elems.len() > OPEN_MAX_ELEMENTS => None,
        (Some(lo), None) => matches(&elems, bytes, lo, (lo + budget).min(bytes.len()), false),
        (None, Some(hi)) => (hi.saturating_sub(budget)..=hi)
            .rev()
            .find_map(|s| matches(&elems, bytes, s, hi, true)),
        (None, None) if bytes.len() <= FLOATING_MAX_DOC => (0..bytes.len())
            .filter(|&s| doc.is_char_boundary(s))
            .find_map(|s| {
                let p = matches(&elems, bytes, s, (s + budget).min(bytes.len()), false)?;
                (p.last() > p.first()).then_some(p)
            }),
        (None, None) => None,
    }?;
    let ranges = run
        .iter()
        .zip(spans)
        .map(|(t, span)| {
            if span.is_empty() {
                return None;
            }
            let (start, end) = (path[span.start], path[span.end]);
            if end > start {
                Some(widen(doc, start, end))
            } else if t.bytes.is_empty() {
                attach(doc, start)
            } else {
                None
            }
        })
        .collect();
    Some(ranges)
}

/// The positions before and after each element of a match of `elems` from `start`, ending at
/// `end` when `exact`, else at the smallest reachable position up to `end`. Holes are filled
/// from the back: a later hole takes as many bytes as it can.
fn matches(
    elems: &[Elem<'_>],
    doc: &[u8],
    start: usize,
    end: usize,
    exact: bool,
) -> Option<Vec<usize>> {
    // reach[i]: positions after the first i elements, each with the position it came from.
    let mut reach: Vec<HashMap<usize, usize>> = Vec::with_capacity(elems.len() + 1);
    reach.push(HashMap::from([(start, start)]));
    for e in elems {
        let mut from: Vec<usize> = reach.last()?.keys().copied().collect();
        from.sort_unstable();
        let mut next = HashMap::new();
        for p in from {
            match *e {
                Elem::Lit(b) => {
                    if p + b.len() <= end && doc[p..].starts_with(b) {
                        next.entry(p + b.len()).or_insert(p);
                    }
                }
                Elem::Hole(min) => {
                    for k in 0..=HOLE_MAX {
                        if p + k > end || (k > 0 && doc[p + k - 1] < 0x80) {
                            break;
                        }
                        if k >= min {
                            next.entry(p + k).or_insert(p);
                        }
                    }
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        reach.push(next);
    }
    let last = reach.last()?;
    let mut at = if exact {
        last.contains_key(&end).then_some(end)?
    } else {
        *last.keys().min()?
    };
    let mut path = vec![at; elems.len() + 1];
    for i in (1..=elems.len()).rev() {
        at = reach[i][&at];
        path[i - 1] = at;
    }
    Some(path)
}

/// The non-ASCII character at `p`, or else the one just before it.
fn attach(doc: &str, p: usize) -> Option<Range<usize>> {
    let b = doc.as_bytes();
    if b.get(p).is_some_and(|&c| c >= 0x80) {
        Some(widen(doc, p, p + 1))
    } else if p > 0 && b.get(p - 1).is_some_and(|&c| c >= 0x80) {
        Some(widen(doc, p - 1, p))
    } else {
        None
    }
}

/// A token's bytes cut at each U+FFFD: the literal pieces, each with whether one follows it.
fn split_fffd(bytes: &[u8]) -> Vec<(&[u8], bool)> {
    const R: &[u8] = "\u{FFFD}".as_bytes();
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(i) = memchr::memmem::find(rest, R) {
        out.push((&rest[..i], true));
        rest = &rest[i + R.len()..];
    }
    out.push((rest, false));
    out
}
