//! Alignment: where each token of a trace sits in the document.
//!
//! The generated text may sit inside a longer document and may have been edited since. The rule
//! is: a token keeps its exact range when the text under it is unchanged, and gets no range
//! otherwise. A token is never placed on text it did not produce.
//!
//! The fast path finds the generated text verbatim. Otherwise both texts are cut into units
//! (words, single punctuation marks, whitespace runs, single CJK characters), matched through
//! anchors that occur once in each (n-grams of units, as in patience diff, so a 1 MB document
//! stays near-linear), and the gaps between anchors are diffed with `similar`.

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp};

/// Where each token landed.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Per token, its byte range in the document (widened to whole characters), or `None` when
    /// the text under it was edited or never found.
    pub ranges: Vec<Option<Range<usize>>>,
    /// Tokens with at least one byte (the ones coverage is counted over).
    pub total: usize,
    /// Of those, the tokens that got a range.
    pub aligned: usize,
    /// Where the generated text starts when it was found verbatim.
    pub verbatim_at: Option<usize>,
}

impl Alignment {
    /// Aligned / total, 0..=1 (1 for a trace with no visible tokens).
    pub fn coverage(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.aligned as f64 / self.total as f64
        }
    }
}

/// Align tokens (given as their bytes, in order) to a document.
pub fn align<'a>(tokens: impl IntoIterator<Item = &'a [u8]>, doc: &str) -> Alignment {
    let mut generated = Vec::new();
    let mut bounds = Vec::new();
    for t in tokens {
        let start = generated.len();
        generated.extend_from_slice(t);
        bounds.push(start..generated.len());
    }
    let total = bounds.iter().filter(|r| !r.is_empty()).count();
    let doc_bytes = doc.as_bytes();

    if !generated.is_empty() {
        if let Some(at) = memchr::memmem::find(doc_bytes, &generated) {
            let ranges: Vec<_> = bounds
                .iter()
                .map(|r| (!r.is_empty()).then(|| widen(doc, at + r.start, at + r.end)))
                .collect();
            return Alignment {
                ranges,
                total,
                aligned: total,
                verbatim_at: Some(at),
            };
        }
    }

    let g_units = units(&generated);
    let d_units = units(doc_bytes);
    let matched = match_units(&g_units, &d_units);

    let mut ranges = Vec::with_capacity(bounds.len());
    let mut aligned = 0;
    for r in &bounds {
        let range = if r.is_empty() {
            None
        } else {
            map_token(r, &generated, &g_units, doc_bytes, &d_units, &matched)
                .map(|(s, e)| widen(doc, s, e))
        };
        aligned += range.is_some() as usize;
        ranges.push(range);
    }
    Alignment {
        ranges,
        total,
        aligned,
        verbatim_at: None,
    }
}

/// Widen a byte range to whole characters: a token holding only part of an emoji marks the
/// whole emoji.
pub(crate) fn widen(doc: &str, mut start: usize, mut end: usize) -> Range<usize> {
    end = end.min(doc.len());
    start = start.min(end);
    while !doc.is_char_boundary(start) {
        start -= 1;
    }
    while !doc.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Word,
    Other,
}

#[derive(Debug, Clone)]
struct Unit {
    start: usize,
    end: usize,
    class: Class,
    /// Equal keys mean "the same text"; every whitespace run shares one key so reflowed text
    /// (a space become a newline) still matches.
    key: u64,
}

const SPACE_KEY: u64 = 0x9E37_79B9_7F4A_7C15;

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// Cut bytes (which may hold invalid UTF-8) into alignment units.
fn units(bytes: &[u8]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(bytes.len() / 3 + 1);
    let mut i = 0;
    while i < bytes.len() {
        let (class, len) = classify_at(bytes, i);
        let start = i;
        i += len;
        if class != Class::Other {
            while i < bytes.len() {
                let (c, l) = classify_at(bytes, i);
                if c != class {
                    break;
                }
                i += l;
            }
        }
        let key = if class == Class::Space {
            SPACE_KEY
        } else {
            fnv(&bytes[start..i])
        };
        out.push(Unit {
            start,
            end: i,
            class,
            key,
        });
    }
    out
}

/// The class and byte length of the character at `i`. Ideographs and other characters of
/// scripts written without spaces are units of their own (class Other), so an edit inside a
/// Chinese sentence does not unalign the whole sentence.
fn classify_at(bytes: &[u8], i: usize) -> (Class, usize) {
    let b = bytes[i];
    if b < 0x80 {
        let class = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => Class::Space,
            b if b.is_ascii_alphanumeric() => Class::Word,
            _ => Class::Other,
        };
        return (class, 1);
    }
    let len = match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (Class::Other, 1),
    };
    let Some(ch) = bytes
        .get(i..i + len)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.chars().next())
    else {
        return (Class::Other, 1);
    };
    let class = if ch.is_whitespace() {
        Class::Space
    } else if ch.is_alphanumeric() && (ch as u32) < 0x2E80 {
        Class::Word
    } else {
        Class::Other
    };
    (class, len)
}

/// Length in units of the n-grams used as anchors: long enough to be unique in a document,
/// short enough that a 10% edit rate leaves most of them intact.
const ANCHOR_N: usize = 6;
/// A run of matched units shorter than this (in non-space units) between two edits is dropped:
/// a lone "the" matched between two rewritten passages is more likely chance than the same text.
const MIN_ISLAND_WORDS: usize = 3;
/// Time allowed to diff the gaps between anchors before falling back to "changed".
const GAP_DEADLINE: Duration = Duration::from_millis(300);

/// For each generated unit, the document unit it matches.
fn match_units(gu: &[Unit], du: &[Unit]) -> Vec<Option<usize>> {
    let mut matched = vec![None; gu.len()];
    let gk: Vec<u64> = gu.iter().map(|u| u.key).collect();
    let dk: Vec<u64> = du.iter().map(|u| u.key).collect();

    let anchors = unique_anchor_chain(&gk, &dk);
    let deadline = Instant::now() + GAP_DEADLINE;
    // Walk the anchors in order, extending each to a maximal run and diffing the gaps.
    let (mut gi, mut di) = (0usize, 0usize);
    for (ga, da) in anchors
        .into_iter()
        .chain(std::iter::once((gk.len(), dk.len())))
    {
        if ga < gi || da < di {
            continue; // already covered by the previous run's extension
        }
        diff_gap(&gk, &dk, gi..ga, di..da, deadline, &mut matched);
        let (mut ge, mut de) = (ga, da);
        while ge < gk.len() && de < dk.len() && gk[ge] == dk[de] {
            matched[ge] = Some(de);
            ge += 1;
            de += 1;
        }
        gi = ge;
        di = de;
    }
    drop_islands(gu, &mut matched);
    matched
}

/// Positions (g, d) of n-grams that occur exactly once in each text, kept in an order that is
/// increasing in both (longest increasing subsequence, as patience diff does).
fn unique_anchor_chain(gk: &[u64], dk: &[u64]) -> Vec<(usize, usize)> {
    let grams = |k: &[u64]| -> HashMap<u64, (u32, usize)> {
        let mut m: HashMap<u64, (u32, usize)> = HashMap::with_capacity(k.len());
        for (i, w) in k.windows(ANCHOR_N).enumerate() {
            let h = w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
                (h ^ x).wrapping_mul(0x100_0000_01B3)
            });
            let e = m.entry(h).or_insert((0, i));
            e.0 += 1;
        }
        m
    };
    if gk.len() < ANCHOR_N || dk.len() < ANCHOR_N {
        return Vec::new();
    }
    let gm = grams(gk);
    let dm = grams(dk);
    let mut pairs: Vec<(usize, usize)> = gm
        .iter()
        .filter(|(_, (c, _))| *c == 1)
        .filter_map(|(h, (_, gi))| match dm.get(h) {
            Some((1, di)) if gk[*gi..*gi + ANCHOR_N] == dk[*di..*di + ANCHOR_N] => Some((*gi, *di)),
            _ => None,
        })
        .collect();
    pairs.sort_unstable();
    longest_increasing_by_d(&pairs)
}

/// Longest subsequence of `pairs` (sorted by g) whose d values increase, in O(n log n).
fn longest_increasing_by_d(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut tails: Vec<usize> = Vec::new(); // index into pairs of the smallest tail per length
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (i, &(_, d)) in pairs.iter().enumerate() {
        let pos = tails.partition_point(|&t| pairs[t].1 < d);
        if pos > 0 {
            prev[i] = Some(tails[pos - 1]);
        }
        if pos == tails.len() {
            tails.push(i);
        } else {
            tails[pos] = i;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out.push(pairs[i]);
        cur = prev[i];
    }
    out.reverse();
    out
}

/// Diff one gap between anchors and record its equal units.
fn diff_gap(
    gk: &[u64],
    dk: &[u64],
    g: Range<usize>,
    d: Range<usize>,
    deadline: Instant,
    matched: &mut [Option<usize>],
) {
    if g.is_empty() || d.is_empty() {
        return;
    }
    let ops = similar::capture_diff_deadline(
        Algorithm::Myers,
        gk,
        g.clone(),
        dk,
        d.clone(),
        Some(deadline),
    );
    for op in ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                matched[old_index + k] = Some(new_index + k);
            }
        }
    }
}

/// Unmatch short runs of matched units that sit between two edits (see MIN_ISLAND_WORDS).
fn drop_islands(gu: &[Unit], matched: &mut [Option<usize>]) {
    let mut i = 0;
    while i < matched.len() {
        if matched[i].is_none() {
            i += 1;
            continue;
        }
        // A run is a stretch of units matched to consecutive document units.
        let start = i;
        while i + 1 < matched.len()
            && matches!((matched[i], matched[i + 1]), (Some(a), Some(b)) if b == a + 1)
        {
            i += 1;
        }
        let end = i + 1;
        i = end;
        let at_edge_before = start == 0 || matched[start - 1].is_some();
        let at_edge_after = end == matched.len() || matched.get(end).is_some_and(|m| m.is_some());
        if at_edge_before || at_edge_after {
            continue;
        }
        let words = gu[start..end]
            .iter()
            .filter(|u| u.class != Class::Space)
            .count();
        if words < MIN_ISLAND_WORDS {
            matched[start..end].iter_mut().for_each(|m| *m = None);
        }
    }
}

/// The document byte range of one token, if every unit it touches is matched in one run.
fn map_token(
    r: &Range<usize>,
    g: &[u8],
    gu: &[Unit],
    d: &[u8],
    du: &[Unit],
    matched: &[Option<usize>],
) -> Option<(usize, usize)> {
    let first = gu.partition_point(|u| u.end <= r.start);
    let last = gu.partition_point(|u| u.end < r.end);
    let (gf, gl) = (gu.get(first)?, gu.get(last)?);
    let df = matched[first]?;
    for (k, m) in matched[first..=last].iter().enumerate() {
        if (*m)? != df + k {
            return None;
        }
    }
    let (uf, ul) = (&du[df], &du[df + (last - first)]);
    // A token that starts or ends inside a unit needs the unit's bytes to be identical (two
    // whitespace runs of different lengths match as units, but not byte for byte).
    let same = |a: &Unit, b: &Unit| g[a.start..a.end] == d[b.start..b.end];
    let start = if r.start == gf.start {
        uf.start
    } else if same(gf, uf) {
        uf.start + (r.start - gf.start)
    } else {
        uf.start.min(uf.end)
    };
    let end = if r.end == gl.end {
        ul.end
    } else if same(gl, ul) {
        ul.start + (r.end - gl.start)
    } else {
        ul.end
    };
    (start < end).then_some((start, end))
}

#[cfg(test)]
#[path = "align_tests.rs"]
mod tests;
