//! Spans: the pieces of text a reviewer thinks in — words, numbers and dates, names, quoted
//! titles, citations, sentences — and the token measures aggregated over each.

use std::ops::Range;
use std::sync::LazyLock;

use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use crate::measure::{Interval, TokenMeasures};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// Author–year, numbered brackets, reference-list entries, DOI, arXiv id, URL, ISBN.
    Citation,
    /// Numbers, dates and quantities.
    Number,
    /// Runs of capitalised words.
    Name,
    /// A quoted title or phrase.
    Claim,
    Word,
    Sentence,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub kind: SpanKind,
    pub range: Range<usize>,
    /// For a numbered citation like `[3]`: the reference-list entry it points to, whose tokens
    /// count as part of the citation.
    pub linked: Option<Range<usize>>,
}

static CITATION: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // (Smith et al., 2019), (Vaswani et al. 2017; Brown and Lee, 2020a)
        r"\((?:[^()\n]*?\p{Lu}[^()\n]*?)\b(?:1[6-9]|20)\d{2}[a-z]?(?:[^()\n]*)\)",
        // Smith et al. (2019), Smith and Jones (2020)
        r"\b\p{Lu}[\p{L}'’-]+(?:\s+(?:et\s+al\.|and\s+\p{Lu}[\p{L}'’-]+|&\s+\p{Lu}[\p{L}'’-]+))?\s+\((?:1[6-9]|20)\d{2}[a-z]?\)",
        // [3], [1, 4], [2–5]
        r"\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]",
        r"\b10\.\d{4,9}/[^\s<>]+[^\s<>.,;:)\]]",
        r"(?i)\barxiv:\s?\d{4}\.\d{4,5}(?:v\d+)?",
        r"\bhttps?://[^\s<>()\]]+[^\s<>().,;:\]]",
        r"\bISBN(?:-1[03])?:?\s*(?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dX]",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("citation pattern"))
    .collect()
});

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let month = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?";
    Regex::new(&format!(
        r"(?:{month}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{month}\s+\d{{4}}|{month}\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|[$€£]?\d+(?:[.,]\d+)*(?:\s?(?:%|percent|million|billion|thousand|km|kg|m|cm|mm|years?|days?|hours?|people|parameters|tokens))?)"
    ))
    .expect("number pattern")
});

static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\p{Lu}(?:[\p{L}'’-]+|\.)(?:[ \t]+(?:(?:de|van|von|der|di|da|del|la|le|bin|al)[ \t]+)?\p{Lu}(?:[\p{L}'’-]+|\.))*")
        .expect("name pattern")
});

static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""[^"\n]{3,200}"|“[^”\n]{3,200}”|\*[^*\n]{3,200}\*|_[^_\n]{3,200}_"#)
        .expect("quote pattern")
});

static REFERENCES_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    // An ASCII word boundary: with a Unicode one, the fast engines give up at the first
    // non-ASCII character and the slow one reads the rest of the document (20 ms per MB).
    Regex::new(r"(?im)^[#*\s]*(references|bibliography|works cited|sources|citations)(?-u:\b).*$")
        .expect("heading pattern")
});

static REFERENCE_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})[.)]|[-*•])\s+\S").expect("entry pattern")
});

/// Words that start sentences or titles and are not names on their own.
fn is_common_capitalised(w: &str) -> bool {
    const COMMON: &[&str] = &[
        "The", "A", "An", "In", "On", "At", "Of", "For", "This", "That", "These", "Those", "It",
        "He", "She", "They", "We", "I", "His", "Her", "Their", "Our", "As", "By", "With", "From",
        "And", "But", "Or", "If", "When", "While", "However", "Also", "Its", "To", "Is", "Was",
        "There", "Here", "Some", "Many", "Most", "One", "After", "Before", "During", "Since",
    ];
    COMMON.contains(&w.trim_end_matches('.'))
}

/// Cut the part `region` of a document into spans. Claims (citations, numbers, names, quoted
/// titles) may overlap words and sentences; among claims, a citation wins over what it contains.
pub fn segment(doc: &str, region: Range<usize>) -> Vec<Span> {
    let region = region.start.min(doc.len())..region.end.min(doc.len());
    let mut start = region.start;
    while !doc.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = region.end;
    while !doc.is_char_boundary(end) {
        end += 1;
    }
    let text = &doc[start..end];
    let at = |r: Range<usize>| r.start + start..r.end + start;

    let mut claims: Vec<Span> = Vec::new();
    let entries = reference_entries(doc, start..end);
    for (_, r) in &entries {
        claims.push(Span {
            kind: SpanKind::Citation,
            range: r.clone(),
            linked: None,
        });
    }
    for re in CITATION.iter() {
        for m in re.find_iter(text) {
            let range = at(m.range());
            if claims
                .iter()
                .any(|c| c.kind == SpanKind::Citation && contains(&c.range, &range))
            {
                continue;
            }
            let linked = bracket_number(m.as_str()).and_then(|n| {
                entries
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, r)| r.clone())
            });
            claims.push(Span {
                kind: SpanKind::Citation,
                range,
                linked,
            });
        }
    }
    let citations = RangeSet::new(claims.iter().map(|c| c.range.clone()));
    let mut others = Vec::new();
    for m in QUOTED.find_iter(text) {
        if m.as_str().split_whitespace().count() >= 2 {
            others.push(Span {
                kind: SpanKind::Claim,
                range: at(m.range()),
                linked: None,
            });
        }
    }
    for m in NUMBER.find_iter(text) {
        if m.as_str().chars().any(|c| c.is_ascii_digit()) && is_word_edge(text, m.range()) {
            others.push(Span {
                kind: SpanKind::Number,
                range: at(m.range()),
                linked: None,
            });
        }
    }
    for m in NAME.find_iter(text) {
        let s = m.as_str().trim_end_matches('.');
        let words: Vec<&str> = s.split_whitespace().collect();
        let single_common =
            words.len() == 1 && (is_common_capitalised(words[0]) || words[0].len() < 2);
        let leading_common = words.len() > 1 && is_common_capitalised(words[0]);
        if single_common || s.len() < 2 {
            continue;
        }
        let mut r = at(m.start()..m.start() + s.len());
        if leading_common {
            // "The Transformer" → "Transformer"
            r.start += words[0].len();
            while doc
                .as_bytes()
                .get(r.start)
                .is_some_and(|b| b.is_ascii_whitespace())
            {
                r.start += 1;
            }
        }
        others.push(Span {
            kind: SpanKind::Name,
            range: r,
            linked: None,
        });
    }
    others.retain(|s| !citations.overlaps(&s.range));
    claims.extend(others);

    claims.extend(words_and_sentences(text, start, LINES_PER_PART_BYTES));
    claims.sort_by_key(|s| (s.range.start, s.kind));
    claims.dedup_by(|a, b| a.range == b.range && a.kind == b.kind);
    claims
}

/// Text longer than this has its words and sentences found in parts of whole lines, on every
/// thread of the pool (smaller in tests, so they can try it on small inputs).
const LINES_PER_PART_BYTES: usize = if cfg!(test) { 2 << 10 } else { 128 << 10 };

/// The words (with a letter or digit) and sentences (with their trailing spaces trimmed) of
/// `text`, which starts at `offset` in the document: words first, then sentences. A long text is
/// cut into parts of about `part_bytes` just after a line feed, where Unicode's word and
/// sentence rules always break (UAX #29, WB3a and SB4), so the parts give what one pass gives.
fn words_and_sentences(text: &str, offset: usize, part_bytes: usize) -> Vec<Span> {
    let span = |kind, i: usize, len: usize| Span {
        kind,
        range: offset + i..offset + i + len,
        linked: None,
    };
    let part = |from: usize, to: usize| {
        let (mut words, mut sentences) = (Vec::new(), Vec::new());
        let mut sentence = |at: usize, s: &str| {
            let trimmed = s.trim_end();
            if trimmed.chars().any(|c| c.is_alphanumeric()) {
                sentences.push(span(SpanKind::Sentence, at, trimmed.len()));
            }
        };
        let mut line_start = from;
        for line in text[from..to].split_inclusive('\n') {
            // The ASCII-only path of `unicode_word_indices` gives the same words as the
            // general rules (its tests and ours check that) at a fraction of the cost, and
            // `ascii_sentences` the same sentences; both are for all-ASCII strings only, so
            // each line is given on its own.
            if line.is_ascii() {
                for (i, w) in line.unicode_word_indices() {
                    words.push(span(SpanKind::Word, line_start + i, w.len()));
                }
                for (i, s) in crate::ascii_sentences::sentence_bound_indices(line) {
                    sentence(line_start + i, s);
                }
            } else {
                for (i, w) in line.split_word_bound_indices() {
                    if w.chars().any(|c| c.is_alphanumeric()) {
                        words.push(span(SpanKind::Word, line_start + i, w.len()));
                    }
                }
                for (i, s) in line.split_sentence_bound_indices() {
                    sentence(line_start + i, s);
                }
            }
            line_start += line.len();
        }
        (words, sentences)
    };
    let mut cuts = vec![0];
    while let Some(&last) = cuts.last().filter(|&&c| c < text.len()) {
        let goal = last + part_bytes;
        let next = match text.as_bytes().get(goal..) {
            Some(rest) => memchr::memchr(b'\n', rest).map_or(text.len(), |k| goal + k + 1),
            None => text.len(),
        };
        cuts.push(next);
    }
    let parts: Vec<(Vec<Span>, Vec<Span>)> = if cuts.len() > 2 {
        cuts.par_windows(2).map(|w| part(w[0], w[1])).collect()
    } else {
        vec![part(0, text.len())]
    };
    let (words, sentences): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    words.into_iter().chain(sentences).flatten().collect()
}

/// Ranges, for asking whether any of them overlaps a given one in O(log n).
struct RangeSet {
    /// Sorted by start.
    ranges: Vec<Range<usize>>,
    /// `reach[i]`: the largest end among `ranges[..=i]`.
    reach: Vec<usize>,
}

impl RangeSet {
    fn new(ranges: impl IntoIterator<Item = Range<usize>>) -> RangeSet {
        let mut ranges: Vec<Range<usize>> = ranges.into_iter().collect();
        ranges.sort_by_key(|r| r.start);
        let reach = ranges
            .iter()
            .scan(0, |end, r| {
                *end = r.end.max(*end);
                Some(*end)
            })
            .collect();
        RangeSet { ranges, reach }
    }

    fn overlaps(&self, r: &Range<usize>) -> bool {
        // Among the ranges that start before `r` ends, one reaches past its start.
        let before_end = self.ranges.partition_point(|c| c.start < r.end);
        before_end > 0 && self.reach[before_end - 1] > r.start
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

pub fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn is_word_edge(text: &str, r: Range<usize>) -> bool {
    let before = text[..r.start].chars().next_back();
    let after = text[r.end..].chars().next();
    !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
}

fn bracket_number(s: &str) -> Option<u32> {
    s.strip_prefix('[')?.strip_suffix(']')?.trim().parse().ok()
}

/// Lines of a reference list: every non-empty line after a "References" heading, or lines
/// numbered `[n]` anywhere. Returns (number, range) with number 0 for unnumbered entries.
fn reference_entries(doc: &str, region: Range<usize>) -> Vec<(u32, Range<usize>)> {
    let heading = REFERENCES_HEADING
        .find_iter(doc)
        .filter(|m| m.as_str().len() < 60)
        .last()
        .map(|m| m.end());
    let mut out = Vec::new();
    let mut offset = 0;
    for line in doc.split_inclusive('\n') {
        let r = offset..offset + line.trim_end().len();
        offset += line.len();
        if r.is_empty() || !overlaps(&r, &region) {
            continue;
        }
        // The match test alone runs on the fast engines; most lines are not entries.
        let caps = if REFERENCE_ENTRY.is_match(line) {
            REFERENCE_ENTRY.captures(line)
        } else {
            None
        };
        let number = caps
            .as_ref()
            .and_then(|c| c.get(1).or(c.get(2)))
            .and_then(|m| m.as_str().parse().ok());
        let after_heading = heading.is_some_and(|h| r.start >= h);
        let bracketed = line.trim_start().starts_with('[') && number.is_some();
        if (after_heading && (caps.is_some() || line.chars().any(|c| c.is_ascii_digit())))
            || bracketed
        {
            let lead = line.len() - line.trim_start().len();
            out.push((number.unwrap_or(0), r.start + lead..r.end));
        }
    }
    out
}

/// Measures aggregated over the tokens that overlap a span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanStats {
    /// Indices of the overlapping tokens, in order.
    pub tokens: Vec<usize>,
    /// Σ ln p over overlapping tokens with a known value (chain rule).
    pub joint_logprob: f64,
    pub min_p: Option<f64>,
    /// The token with the lowest p (or the first below-the-list sentinel).
    pub weakest: Option<usize>,
    /// The token whose entropy interval has the highest lower end.
    pub max_entropy: Option<(usize, Interval)>,
    /// Entropy at the first token of the span: where the model decided what comes.
    pub decision_entropy: Option<Interval>,
    pub off_greedy: usize,
    pub sentinels: usize,
}

/// Tokens placed in the document, sorted by start, for fast span lookups.
pub struct PlacedTokens {
    placed: Vec<(Range<usize>, usize)>,
}

impl PlacedTokens {
    pub fn new(ranges: &[Option<Range<usize>>]) -> PlacedTokens {
        let mut placed: Vec<(Range<usize>, usize)> = ranges
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.clone().map(|r| (r, i)))
            .collect();
        placed.sort_by_key(|(r, i)| (r.start, *i));
        PlacedTokens { placed }
    }

    /// The byte range covered by placed tokens (None if none was placed).
    pub fn extent(&self) -> Option<Range<usize>> {
        let start = self.placed.first()?.0.start;
        let end = self.placed.iter().map(|(r, _)| r.end).max()?;
        Some(start..end)
    }

    /// Indices of tokens overlapping `r`, in document order.
    pub fn overlapping(&self, r: &Range<usize>) -> impl Iterator<Item = usize> + '_ {
        self.overlapping_near(r, &mut 0)
    }

    /// [`overlapping`](Self::overlapping), searching from `near`, the place of a previous
    /// lookup, which it updates: spans visited in document order are found in a few steps
    /// instead of a binary search over every token (whose steps miss the cache).
    pub fn overlapping_near(
        &self,
        r: &Range<usize>,
        near: &mut usize,
    ) -> impl Iterator<Item = usize> + '_ {
        // Ends are non-decreasing in practice; search a little earlier to be safe with the
        // shared ranges of split characters.
        let first = gallop(&self.placed, *near, |(t, _)| t.end <= r.start);
        *near = first;
        let first = first.saturating_sub(4);
        let r = r.clone();
        self.placed[first..]
            .iter()
            .take_while(move |(t, _)| t.start < r.end)
            .filter(move |(t, _)| t.end > r.start && t.start < r.end)
            .map(|(_, i)| *i)
    }
}

/// `slice.partition_point(pred)`, found by steps that double outward from `near`: a few
/// steps when the answer is close to it.
fn gallop<T>(slice: &[T], near: usize, pred: impl Fn(&T) -> bool) -> usize {
    let near = near.min(slice.len());
    if near < slice.len() && pred(&slice[near]) {
        // The answer is after `near`.
        let (mut lo, mut step) = (near + 1, 1);
        while lo + step <= slice.len() && pred(&slice[lo + step - 1]) {
            lo += step;
            step *= 2;
        }
        let hi = (lo + step).min(slice.len());
        lo + slice[lo..hi].partition_point(pred)
    } else {
        // The answer is at or before `near`.
        let (mut hi, mut step) = (near, 1);
        while hi >= step && !pred(&slice[hi - step]) {
            hi -= step;
            step *= 2;
        }
        let lo = hi.saturating_sub(step);
        lo + slice[lo..hi].partition_point(pred)
    }
}

pub fn span_stats(span: &Span, placed: &PlacedTokens, m: &[TokenMeasures]) -> SpanStats {
    span_stats_near(span, placed, m, &mut 0)
}

/// [`span_stats`], looking the tokens up from `near` (see [`PlacedTokens::overlapping_near`]).
pub fn span_stats_near(
    span: &Span,
    placed: &PlacedTokens,
    m: &[TokenMeasures],
    near: &mut usize,
) -> SpanStats {
    let mut tokens: Vec<usize> = placed.overlapping_near(&span.range, near).collect();
    if let Some(l) = &span.linked {
        tokens.extend(placed.overlapping(l));
    }
    tokens.sort_unstable();
    tokens.dedup();
    let mut st = SpanStats {
        tokens: Vec::new(),
        joint_logprob: 0.0,
        min_p: None,
        weakest: None,
        max_entropy: None,
        decision_entropy: None,
        off_greedy: 0,
        sentinels: 0,
    };
    for (k, &i) in tokens.iter().enumerate() {
        let t = &m[i];
        if let Some(lp) = t.logprob {
            st.joint_logprob += lp;
        }
        if t.sentinel {
            st.sentinels += 1;
            if st.sentinels == 1 && st.min_p.is_none() {
                st.weakest = Some(i);
            }
        }
        if let Some(p) = t.p {
            if st.min_p.is_none_or(|q| p < q) {
                st.min_p = Some(p);
                if st.sentinels == 0 {
                    st.weakest = Some(i);
                }
            }
        }
        if let Some(e) = t.entropy_bits {
            if st.max_entropy.is_none_or(|(_, b)| e.low > b.low) {
                st.max_entropy = Some((i, e));
            }
            if k == 0 {
                st.decision_entropy = Some(e);
            }
        }
        st.off_greedy += t.off_greedy as usize;
    }
    st.tokens = tokens;
    st
}

#[cfg(test)]
#[path = "spans_tests.rs"]
mod tests;
