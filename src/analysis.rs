//! One document and its trace through the whole engine: align, measure, find.

use crate::align::Alignment;
use crate::align_lossy::align_tokens;
use crate::config::Config;
use crate::findings::{self, Finding};
use crate::measure::{self, SequenceMeasures, TokenMeasures, DEFAULT_VOCAB_SIZE};
use crate::spans::Span;
use crate::trace::Trace;

#[derive(Debug, Clone)]
pub struct Analysis {
    pub alignment: Alignment,
    pub measures: Vec<TokenMeasures>,
    pub summary: SequenceMeasures,
    pub findings: Vec<Finding>,
    /// Tokens whose bytes the provider gave in a lossy form (U+FFFD, dropped partial bytes)
    /// and that could not be placed on the document's characters.
    pub lossy_tokens: usize,
    /// Entries that stand for several tokens but carry the last one's logprob only.
    pub merged_tokens: usize,
    pub vocab_size: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error(
        "trace does not match this document: only {found} of {total} tokens ({pct}%) were found in the text (at least {min}% needed); is it the trace of another file?",
        pct = (coverage * 100.0).round(), min = (min * 100.0).round()
    )]
    LowCoverage {
        found: usize,
        total: usize,
        coverage: f64,
        min: f64,
    },
    #[error("the trace has no usable logprobs: {reason}")]
    NoData { reason: String },
}

/// Analyse `doc` with `trace`. Fails only when the trace does not belong to the document.
pub fn analyze(doc: &str, trace: &Trace, cfg: &Config) -> Result<Analysis, AnalysisError> {
    with_spans_alongside(doc, |spans| analyze_with(doc, trace, cfg, spans))
}

/// Get the trace of `doc` from `read` (reading and parsing a file) and analyse the two; a
/// large document's spans are found while the trace is read, when a core would be idle.
pub fn read_and_analyze<E>(
    doc: &str,
    cfg: &Config,
    read: impl FnOnce() -> Result<Trace, E>,
) -> Result<(Trace, Result<Analysis, AnalysisError>), E> {
    with_spans_alongside(doc, |spans| {
        let trace = read()?;
        let analysis = analyze_with(doc, &trace, cfg, spans);
        Ok((trace, analysis))
    })
}

/// Run `work`, given a way to get the spans of the whole of `doc`. Finding the spans of a large
/// document takes as long as aligning and measuring it, and needs only the text: it is done
/// on a second thread from the start of `work`; a small document's spans are left to it.
fn with_spans_alongside<R>(
    doc: &str,
    work: impl FnOnce(Box<dyn FnOnce() -> Option<Vec<Span>> + '_>) -> R,
) -> R {
    if doc.len() < PARALLEL_SPANS_BYTES {
        return work(Box::new(|| None));
    }
    std::thread::scope(|s| {
        let spans = s.spawn(|| crate::spans::segment(doc, 0..doc.len()));
        work(Box::new(move || spans.join().ok()))
    })
}

/// Documents at least this large find their spans on a second thread.
const PARALLEL_SPANS_BYTES: usize = 64 * 1024;

fn analyze_with(
    doc: &str,
    trace: &Trace,
    cfg: &Config,
    whole_spans: impl FnOnce() -> Option<Vec<Span>>,
) -> Result<Analysis, AnalysisError> {
    // Exact bytes first; tokens with lossy bytes are then placed by their text where the
    // characters between their exact neighbours fit.
    let placed = align_tokens(&trace.tokens, doc);
    let alignment = placed.alignment;
    if alignment.coverage() < cfg.min_coverage {
        return Err(AnalysisError::LowCoverage {
            found: alignment.aligned,
            total: alignment.total,
            coverage: alignment.coverage(),
            min: cfg.min_coverage,
        });
    }
    let vocab_size = cfg
        .vocab_size
        .or(trace.vocab_size.map(u64::from))
        .unwrap_or(DEFAULT_VOCAB_SIZE);
    let measures = measure::measure_tokens(trace, vocab_size);
    let summary = measure::sequence_measures(&measures);
    if summary.scored_tokens == 0 {
        let reason = if summary.sentinel_tokens > 0 {
            format!(
                "all {} tokens carry a placeholder (such as -9999) instead of a value",
                summary.tokens
            )
        } else {
            format!("none of its {} tokens has a logprob", summary.tokens)
        };
        return Err(AnalysisError::NoData { reason });
    }
    let all_certain = measures.iter().all(|m| {
        m.logprob == Some(0.0)
            && m.rank.is_none_or(|r| r == 1)
            && m.residual_mass.is_none_or(|r| r == 0.0)
    });
    if measures.len() > 1 && all_certain && trace.tokens.iter().all(|t| t.top.len() <= 1) {
        // Some providers return 0 for every token when logprobs are not really supported.
        return Err(AnalysisError::NoData {
            reason: format!("every one of its {} tokens has logprob 0 (p = 100%), which no model produces; the provider probably does not support logprobs", summary.tokens),
        });
    }
    let findings =
        findings::find_with(doc, trace, &alignment.ranges, &measures, cfg, whole_spans());
    Ok(Analysis {
        lossy_tokens: placed.unrecovered_lossy,
        merged_tokens: trace.tokens.iter().filter(|t| t.merged).count(),
        alignment,
        measures,
        summary,
        findings,
        vocab_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_found_alongside_give_the_same_findings() {
        let sentence = "In 1867 Marie Curie met Smith et al. (2019) in Paris, and 42% agreed. ";
        let doc = sentence.repeat(1200);
        assert!(doc.len() >= PARALLEL_SPANS_BYTES);
        let trace = Trace::of_words(&doc);
        let cfg = Config::default();
        let alongside = analyze(&doc, &trace, &cfg).unwrap();
        let after = analyze_with(&doc, &trace, &cfg, || None).unwrap();
        assert!(
            alongside.findings.len() > 1000,
            "{}",
            alongside.findings.len()
        );
        assert_eq!(alongside.findings, after.findings);
        let (read, while_read) =
            read_and_analyze(&doc, &cfg, || Ok::<_, ()>(trace.clone())).unwrap();
        assert_eq!(read, trace);
        assert_eq!(while_read.unwrap().findings, after.findings);
        assert_eq!(
            read_and_analyze(&doc, &cfg, || Err::<Trace, _>("unreadable")).unwrap_err(),
            "unreadable"
        );
    }
}
