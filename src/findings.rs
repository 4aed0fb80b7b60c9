//! Findings: which spans a reviewer should look at, how serious, and a message in plain words.

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::measure::{Interval, TokenMeasures};
use crate::spans::{self, PlacedTokens, Span, SpanKind, SpanStats};
use crate::trace::Trace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A citation (reference, DOI, author–year) the model was unsure of: often fabricated.
    UncertainCitation,
    /// A number, name, title or word the model gave a low probability as written.
    LowProbability,
    /// The model did not pick its own first choice here (sampling rolled the dice).
    OffGreedy,
    /// The model was spread over many continuations where this claim starts.
    HighEntropy,
    /// A whole sentence with high perplexity.
    UncertainSentence,
}

impl Code {
    pub const ALL: [Code; 5] = [
        Code::UncertainCitation,
        Code::LowProbability,
        Code::OffGreedy,
        Code::HighEntropy,
        Code::UncertainSentence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::UncertainCitation => "uncertain-citation",
            Code::LowProbability => "low-probability",
            Code::OffGreedy => "off-greedy",
            Code::HighEntropy => "high-entropy",
            Code::UncertainSentence => "uncertain-sentence",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Code::UncertainCitation => "A citation the model was unsure of; check that it exists.",
            Code::LowProbability => "Text the model gave a low probability as written.",
            Code::OffGreedy => "The model's own first choice was different here.",
            Code::HighEntropy => {
                "The model was spread over many continuations where this claim starts."
            }
            Code::UncertainSentence => "A sentence with high perplexity overall.",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Hint,
    Information,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Hint => "hint",
            Severity::Information => "information",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub range: Range<usize>,
    pub kind: SpanKind,
    pub code: Code,
    pub severity: Severity,
    pub joint_logprob: f64,
    pub min_p: Option<f64>,
    pub max_entropy_bits: Option<Interval>,
    pub message: String,
    /// The token the message is about (the weakest one).
    pub token: Option<usize>,
}

/// Alternatives shown to people skip control and markup tokens.
pub fn is_control_or_markup(text: &str) -> bool {
    let t = text.trim();
    t.is_empty()
        || (t.starts_with('<') && t.ends_with('>'))
        || (t.starts_with("<|") || t.ends_with("|>"))
        || t.chars().all(|c| c.is_control() || c == '\u{FFFD}')
}

/// A probability as people read it: "41%", "3%", "0.4%", "0.04%", "<0.01%", ">99%".
pub fn percent(p: f64) -> String {
    let x = p * 100.0;
    if x >= 99.5 && p < 1.0 {
        ">99%".to_string()
    } else if x >= 0.995 {
        format!("{x:.0}%")
    } else if x >= 0.095 {
        format!("{x:.1}%")
    } else if x >= 0.01 {
        format!("{x:.2}%")
    } else {
        "<0.01%".to_string()
    }
}

fn quoted(s: &str) -> String {
    let s = s.trim();
    let short: String = s.chars().take(60).collect();
    let ell = if s.chars().count() > 60 { "…" } else { "" };
    format!("\"{}{}\"", short.replace('\n', " "), ell)
}

fn entropy_text(e: Interval) -> String {
    if (e.high - e.low) < 0.05 {
        format!("entropy {:.1} bits", e.low)
    } else {
        format!("entropy {:.1}–{:.1} bits", e.low, e.high)
    }
}

/// The model's preferred alternatives at a token, merged by surface text, filtered of markup.
pub fn shown_alternatives(trace: &Trace, i: usize) -> Vec<(String, f64)> {
    let t = &trace.tokens[i];
    let chosen = String::from_utf8_lossy(&t.bytes).trim().to_string();
    let mut out: Vec<(String, f64)> = Vec::new();
    for a in &t.top {
        let text = a.text();
        if is_control_or_markup(&text) {
            continue;
        }
        let key = text.trim().to_string();
        let p = a.logprob.exp();
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 += p,
            None => out.push((key, p)),
        }
    }
    out.retain(|(k, _)| *k != chosen);
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// What a span would read with the model's alternative (given trimmed) in place of one of its
/// tokens: "1867" with "68" for "67" reads "1868", "Smith et al." with "Brown" for "Smith"
/// reads "Brown et al.". When the token is only part of a word (a name cut into pieces), the
/// rest of the word would not have followed, so the piece is shown with "…"; punctuation and
/// other mixed cases show the alternative alone.
pub fn alternative_in_span(
    doc: &str,
    span: &Range<usize>,
    token: &Range<usize>,
    alt: &str,
) -> String {
    let alt = alt.trim();
    let (Some(piece), true) = (doc.get(token.clone()), token.start < token.end) else {
        return alt.to_string();
    };
    let lead = piece.len() - piece.trim_start().len();
    let t = token.start + lead..token.start + lead + piece.trim().len();
    if t.is_empty() || t.start < span.start || t.end > span.end {
        return alt.to_string();
    }
    let tok = &doc[t.clone()];
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let word = |s: &str| !s.is_empty() && s.chars().all(char::is_alphanumeric);
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let cut_end = alnum(doc[t.end..].chars().next());
    let cut_start = alnum(doc[..t.start].chars().next_back());
    let composed = if digits(tok) && digits(alt) {
        format!(
            "{}{}{}",
            &doc[span.start..t.start],
            alt,
            &doc[t.end..span.end]
        )
    } else if word(tok) && word(alt) {
        if cut_start || cut_end {
            return format!("{alt}…");
        }
        format!(
            "{}{}{}",
            &doc[span.start..t.start],
            alt,
            &doc[t.end..span.end]
        )
    } else {
        return alt.to_string();
    };
    if composed.chars().count() > 40 {
        alt.to_string()
    } else {
        composed.trim().to_string()
    }
}

struct Ctx<'a> {
    doc: &'a str,
    trace: &'a Trace,
    ranges: &'a [Option<Range<usize>>],
    m: &'a [TokenMeasures],
    cfg: &'a Config,
}

impl Ctx<'_> {
    fn message(&self, span: &Span, st: &SpanStats) -> String {
        let text = quoted(&self.doc[span.range.clone()]);
        let mut parts = Vec::new();
        let joint = st.joint_logprob.exp();
        let single = st.tokens.len() == 1;
        if st.sentinels > 0 && st.min_p.is_none() {
            parts.push(format!("{text}: below every alternative the model listed"));
        } else {
            parts.push(format!("{text}: {} likely as written", percent(joint)));
        }
        if let Some(w) = st.weakest {
            let tm = &self.m[w];
            if !single {
                let tok = quoted(&self.trace.tokens[w].text());
                match tm.p {
                    Some(p) => parts.push(format!("weakest token {tok} at {}", percent(p))),
                    None => parts.push(format!("token {tok} was below the listed alternatives")),
                }
            }
            if let Some((alt, p)) = shown_alternatives(self.trace, w).into_iter().next() {
                let verb = if tm.off_greedy {
                    "preferred"
                } else {
                    "next choice was"
                };
                let alt = match &self.ranges[w] {
                    Some(tr) => alternative_in_span(self.doc, &span.range, tr, &alt),
                    None => alt,
                };
                parts.push(format!(
                    "the model {verb} {} ({})",
                    quoted(&alt),
                    percent(p)
                ));
            }
        }
        if let Some((_, e)) = st.max_entropy {
            parts.push(entropy_text(e));
        }
        parts.join("; ")
    }

    fn finding(
        &self,
        span: &Span,
        st: &SpanStats,
        code: Code,
        severity: Severity,
    ) -> Option<Finding> {
        if !self.cfg.enabled(code) {
            return None;
        }
        Some(Finding {
            range: span.range.clone(),
            kind: span.kind,
            code,
            severity: self.cfg.severity.get(&code).copied().unwrap_or(severity),
            joint_logprob: st.joint_logprob,
            min_p: st.min_p,
            max_entropy_bits: st.max_entropy.map(|(_, e)| e),
            message: self.message(span, st),
            token: st.weakest,
        })
    }

    /// The weakest p of a span, counting a below-the-list sentinel as 0.
    fn weakest_p(st: &SpanStats) -> Option<f64> {
        if st.sentinels > 0 {
            Some(0.0)
        } else {
            st.min_p
        }
    }

    fn judge_claim(&self, span: &Span, st: &SpanStats) -> Option<Finding> {
        let t = &self.cfg.thresholds;
        let weakest = Self::weakest_p(st)?;
        if span.kind == SpanKind::Citation {
            let shaky = weakest < t.citation_p
                || st
                    .decision_entropy
                    .is_some_and(|e| e.low > t.decision_entropy_bits);
            return shaky
                .then(|| self.finding(span, st, Code::UncertainCitation, Severity::Warning))
                .flatten();
        }
        if weakest < t.claim_p {
            let sev = if weakest < t.claim_warning_p {
                Severity::Warning
            } else {
                Severity::Information
            };
            return self.finding(span, st, Code::LowProbability, sev);
        }
        if let Some(w) = st.weakest {
            let gap = self.m[w].margin.map(|m| -m).unwrap_or(0.0);
            if self.m[w].off_greedy && gap >= t.off_greedy_gap {
                return self.finding(span, st, Code::OffGreedy, Severity::Information);
            }
        }
        if st
            .decision_entropy
            .is_some_and(|e| e.low > t.decision_entropy_bits)
        {
            return self.finding(span, st, Code::HighEntropy, Severity::Information);
        }
        None
    }

    fn judge_word(&self, span: &Span, st: &SpanStats) -> Option<Finding> {
        let t = &self.cfg.thresholds;
        let weakest = Self::weakest_p(st)?;
        if weakest < t.word_p {
            let sev = if weakest < t.word_warning_p {
                Severity::Warning
            } else {
                Severity::Information
            };
            return self.finding(span, st, Code::LowProbability, sev);
        }
        None
    }

    fn judge_sentence(&self, span: &Span, st: &SpanStats) -> Option<Finding> {
        let (sum, scored) = st
            .tokens
            .iter()
            .filter_map(|&i| self.m[i].logprob)
            .fold((0.0, 0usize), |(sum, n), lp| (sum + lp, n + 1));
        if scored < 3 {
            return None;
        }
        // The perplexity of those tokens, as `measure::perplexity` gives it.
        let ppl = (-sum / scored as f64).exp();
        if ppl <= self.cfg.thresholds.sentence_perplexity {
            return None;
        }
        let mut f = self.finding(span, st, Code::UncertainSentence, Severity::Hint)?;
        f.message = format!(
            "{}: perplexity {:.1} over {} tokens (the model was often unsure in this sentence)",
            quoted(&self.doc[span.range.clone()]),
            ppl,
            scored
        );
        Some(f)
    }
}

/// Every non-space character of `span` lies under a placed token.
fn fully_placed(
    doc: &str,
    span: &Range<usize>,
    tokens: &[usize],
    ranges: &[Option<Range<usize>>],
) -> bool {
    let covered = tokens.iter().filter_map(|&i| ranges[i].clone());
    // Tokens in document order (nearly always so) need no sorted copy.
    let in_order = covered
        .clone()
        .zip(covered.clone().skip(1))
        .all(|(a, b)| a.start <= b.start);
    if in_order {
        return covered_but_for_spaces(doc, span, covered);
    }
    let mut sorted: Vec<Range<usize>> = covered.collect();
    sorted.sort_by_key(|r| r.start);
    covered_but_for_spaces(doc, span, sorted.into_iter())
}

/// The ranges `covered`, sorted by start, leave only whitespace of `span` uncovered.
fn covered_but_for_spaces(
    doc: &str,
    span: &Range<usize>,
    covered: impl Iterator<Item = Range<usize>>,
) -> bool {
    let gap_ok = |from: usize, to: usize| {
        doc.get(from..to)
            .is_some_and(|g| g.chars().all(char::is_whitespace))
    };
    let mut at = span.start;
    for r in covered {
        if r.start > at && !gap_ok(at, r.start.min(span.end)) {
            return false;
        }
        at = at.max(r.end);
        if at >= span.end {
            return true;
        }
    }
    gap_ok(at, span.end)
}

/// Findings of a document whose tokens were placed at `ranges`.
pub fn find(
    doc: &str,
    trace: &Trace,
    ranges: &[Option<Range<usize>>],
    measures: &[TokenMeasures],
    cfg: &Config,
) -> Vec<Finding> {
    find_with(doc, trace, ranges, measures, cfg, None)
}

/// [`find`], given the spans of the whole document when they are already known
/// (`spans::segment(doc, 0..doc.len())`); they are used when the tokens cover the whole text.
pub fn find_with(
    doc: &str,
    trace: &Trace,
    ranges: &[Option<Range<usize>>],
    measures: &[TokenMeasures],
    cfg: &Config,
    whole: Option<Vec<Span>>,
) -> Vec<Finding> {
    let placed = PlacedTokens::new(ranges);
    let Some(extent) = placed.extent() else {
        return Vec::new();
    };
    let ctx = Ctx {
        doc,
        trace,
        ranges,
        m: measures,
        cfg,
    };
    let spans = match whole {
        Some(spans) if extent == (0..doc.len()) => spans,
        _ => spans::segment(doc, extent),
    };
    // A span is judged on its own tokens, and skipped only when it overlaps an earlier
    // finding; parts of the document that no span crosses are judged independently, so a long
    // document is judged on every core.
    let parts = independent_parts(&spans, PARALLEL_SPANS, rayon::current_num_threads());
    let mut out: Vec<Finding> = if parts.len() > 1 {
        parts
            .into_par_iter()
            .map(|part| judge_spans(&ctx, &placed, part))
            .flatten()
            .collect()
    } else {
        judge_spans(&ctx, &placed, &spans)
    };
    out.sort_by_key(|f| (f.range.start, f.range.end));
    if let Some(c) = trace
        .model
        .as_deref()
        .and_then(crate::eval::calibration::for_model)
    {
        for f in out.iter_mut().filter(|f| f.code != Code::UncertainSentence) {
            f.message
                .push_str(&calibrated_odds(c, f.min_p.unwrap_or(0.0)));
        }
    }
    out
}

/// Spans (sorted by start) at least this many to a part before a document is judged in parts.
const PARALLEL_SPANS: usize = 16 * 1024;

/// Cut `spans` (sorted by start) into at most `n` runs of at least `min` spans each, only
/// where no span of a run reaches into the next one.
fn independent_parts(spans: &[Span], min: usize, n: usize) -> Vec<&[Span]> {
    let n = n.min(spans.len() / min.max(1)).max(1);
    let mut parts = Vec::with_capacity(n);
    let (mut from, mut end) = (0, 0);
    for (i, s) in spans.iter().enumerate() {
        let goal = spans.len() * (parts.len() + 1) / n;
        if parts.len() + 1 < n && i >= goal && i > from && s.range.start >= end {
            parts.push(&spans[from..i]);
            from = i;
        }
        end = end.max(s.range.end);
    }
    parts.push(&spans[from..]);
    parts
}

/// Findings of `spans` in the order they are judged: claims first, then words outside flagged
/// claims, then sentences.
fn judge_spans(ctx: &Ctx<'_>, placed: &PlacedTokens, spans: &[Span]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut taken: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let rank = |k: SpanKind| match k {
        SpanKind::Citation => 0,
        SpanKind::Number | SpanKind::Name | SpanKind::Claim => 1,
        SpanKind::Word => 2,
        SpanKind::Sentence => 3,
    };
    let mut ordered: Vec<&Span> = spans.iter().collect();
    ordered.sort_by_key(|s| (rank(s.kind), s.range.start));
    // Where the last span of each rank was found among the tokens: the next one is near.
    let mut near = [0; 4];
    for span in ordered {
        // Claims and words never overlap an earlier claim or word finding (those are kept
        // disjoint, so the nearest one starting before this span's end decides).
        let is_sentence = span.kind == SpanKind::Sentence;
        if !is_sentence
            && taken
                .range(..span.range.end)
                .next_back()
                .is_some_and(|(_, &end)| end > span.range.start)
        {
            continue;
        }
        let near = &mut near[rank(span.kind)];
        let st = spans::span_stats_near(span, placed, ctx.m, near);
        // A span with text no token produced (edited since) is not judged: its probabilities
        // would describe other text.
        if st.tokens.is_empty() || !fully_placed(ctx.doc, &span.range, &st.tokens, ctx.ranges) {
            continue;
        }
        let f = match span.kind {
            SpanKind::Citation | SpanKind::Number | SpanKind::Name | SpanKind::Claim => {
                ctx.judge_claim(span, &st)
            }
            SpanKind::Word => ctx.judge_word(span, &st),
            SpanKind::Sentence => ctx.judge_sentence(span, &st),
        };
        if let (Some(f), false) = (&f, is_sentence) {
            taken.insert(f.range.start, f.range.end);
        }
        out.extend(f);
    }
    out
}

/// "; ≈22% of spans like this were wrong (Mu-SHROOM val, n=260)": how often words whose weakest
/// token had this p were wrong in the labelled data the calibration was fitted on.
pub fn calibrated_odds(c: &crate::eval::calibration::Calibration, min_p: f64) -> String {
    match c.p_wrong(min_p) {
        Some((p, n)) => format!(
            "; ≈{:.0}% of spans like this were wrong ({}, n={n})",
            p * 100.0,
            c.data
        ),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
