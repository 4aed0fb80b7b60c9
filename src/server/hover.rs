//! Hover: the tokens under the cursor's word or claim, in plain words first, then a table.

use std::fmt::Write;
use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use crate::findings::{percent, shown_alternatives};
use crate::measure::{perplexity, Interval};
use crate::spans::overlaps;

use super::documents::Document;

fn word_at(text: &str, offset: usize) -> Option<Range<usize>> {
    text.split_word_bound_indices()
        .map(|(i, w)| (i..i + w.len(), w))
        .find(|(r, w)| {
            r.start <= offset
                && offset < r.end.max(r.start + 1)
                && w.chars().any(|c| c.is_alphanumeric())
        })
        .map(|(r, _)| r)
}

fn sentence_at(text: &str, offset: usize) -> Option<Range<usize>> {
    text.split_sentence_bound_indices()
        .map(|(i, s)| i..i + s.trim_end().len())
        .find(|r| r.start <= offset && offset <= r.end)
}

fn md_code(s: &str) -> String {
    let s = s.replace('\n', "↵").replace('`', "ˋ").replace('|', "¦");
    if s.trim().is_empty() || s != s.trim() {
        format!("`{}`", s.replace(' ', "␣"))
    } else {
        format!("`{s}`")
    }
}

fn entropy(e: Option<Interval>) -> String {
    match e {
        Some(e) if (e.high - e.low) < 0.005 => format!("{:.2}", e.low),
        Some(e) => format!("{:.2}–{:.2}", e.low, e.high),
        None => "–".into(),
    }
}

/// Markdown for the hover at byte `offset`, or `None` where nothing was analysed.
pub fn hover_markdown(doc: &Document, offset: usize) -> Option<(String, Range<usize>)> {
    let live = doc.live.as_ref()?;
    let text = doc.text();
    // A finding under the cursor is the unit; otherwise the word.
    let span = live
        .findings
        .iter()
        .filter(|f| f.range.start <= offset && offset < f.range.end)
        .min_by_key(|f| f.range.len())
        .map(|f| f.range.clone())
        .or_else(|| word_at(&text, offset))?;
    let tokens: Vec<usize> = live
        .tokens
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().is_some_and(|r| overlaps(r, &span)))
        .map(|(i, _)| i)
        .collect();
    if tokens.is_empty() {
        return None;
    }
    let m = &live.analysis.measures;
    let trace = &live.trace;
    let shown = text[span.clone()].trim();
    let joint: f64 = tokens.iter().filter_map(|&i| m[i].logprob).sum();
    let weakest = tokens
        .iter()
        .copied()
        .min_by(|&a, &b| m[a].p.unwrap_or(0.0).total_cmp(&m[b].p.unwrap_or(0.0)))?;

    let mut out = String::new();
    let _ = write!(
        out,
        "The model gave **{}** {}",
        shown.replace('*', "\\*"),
        percent(joint.exp())
    );
    if let Some((alt, p)) = shown_alternatives(trace, weakest).first() {
        let alt = match &live.tokens[weakest] {
            Some(tr) => crate::findings::alternative_in_span(&text, &span, tr, alt),
            None => alt.clone(),
        };
        if m[weakest].off_greedy {
            let _ = write!(out, " and preferred “{alt}” ({})", percent(*p));
        } else {
            let _ = write!(out, "; its next choice was “{alt}” ({})", percent(*p));
        }
    }
    out.push_str(".\n\n");
    let weakest_p = m[weakest].p.unwrap_or(0.0);
    match trace
        .model
        .as_deref()
        .and_then(crate::eval::calibration::for_model)
    {
        Some(c) => {
            if let Some((p, n)) = c.p_wrong(weakest_p) {
                let _ = write!(
                    out,
                    "≈{:.0}% of spans like this were wrong ({}, n={n}; calibrated for {}).\n\n",
                    p * 100.0,
                    c.data,
                    c.model
                );
            }
        }
        None => {
            let ps: Vec<f64> = m.iter().filter_map(|t| t.p).collect();
            let share = crate::eval::calibration::weaker_than(weakest_p, &ps);
            let _ = write!(
                out,
                "Its weakest token is less likely than {:.0}% of this document's tokens (a rank within the document, not a chance of being wrong: hedge has no calibration for this model).\n\n",
                share * 100.0
            );
        }
    }
    out.push_str(
        "| token | p | surprisal (bits) | entropy (bits) | rank |\n|---|---|---|---|---|\n",
    );
    for &i in &tokens {
        let t = &m[i];
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md_code(&trace.tokens[i].text()),
            t.p.map(percent).unwrap_or_else(|| "below list".into()),
            t.surprisal_bits
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "–".into()),
            entropy(t.entropy_bits),
            t.rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into()),
        );
    }
    let alts = shown_alternatives(trace, weakest);
    if !alts.is_empty() {
        let list: Vec<String> = alts
            .iter()
            .take(5)
            .map(|(a, p)| format!("{} {}", md_code(a), percent(*p)))
            .collect();
        let _ = write!(
            out,
            "\nAlternatives at {}: {}\n",
            md_code(&trace.tokens[weakest].text()),
            list.join(" · ")
        );
    }
    let _ = write!(
        out,
        "\nJoint probability of the span: {} (ln p {:.2})",
        percent(joint.exp()),
        joint
    );
    if let Some(sentence) = sentence_at(&text, offset) {
        let lps: Vec<f64> = live
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, r)| r.as_ref().is_some_and(|r| overlaps(r, &sentence)))
            .filter_map(|(i, _)| m[i].logprob)
            .collect();
        if let Some(ppl) = perplexity(&lps) {
            let _ = write!(out, " · sentence perplexity {ppl:.2}");
        }
    }
    out.push('\n');
    Some((out, span))
}
