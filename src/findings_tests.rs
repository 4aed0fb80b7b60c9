use super::*;
use crate::align::align;
use crate::measure::measure_tokens;
use crate::trace::{Alternative, Token, TraceFormat};

fn tok(text: &str, p: f64, alts: &[(&str, f64)]) -> Token {
    Token {
        bytes: text.as_bytes().into(),
        logprob: Some(p.ln()),
        top: alts
            .iter()
            .map(|(t, q)| Alternative {
                bytes: t.as_bytes().into(),
                logprob: q.ln(),
                id: None,
            })
            .collect(),
        ..Token::default()
    }
}

fn run(tokens: Vec<Token>, doc: &str) -> Vec<Finding> {
    let trace = Trace::new(TraceFormat::Native, tokens);
    let a = align(trace.tokens.iter().map(|t| t.bytes.as_slice()), doc);
    let m = measure_tokens(&trace, 50_000);
    find(doc, &trace, &a.ranges, &m, &Config::default())
}

#[test]
fn a_year_the_model_did_not_prefer() {
    let doc = "It was published in 2008.";
    let tokens = vec![
        tok("It", 0.9, &[("It", 0.9)]),
        tok(" was", 0.95, &[(" was", 0.95)]),
        tok(" published", 0.8, &[(" published", 0.8)]),
        tok(" in", 0.9, &[(" in", 0.9)]),
        tok(
            " 2008",
            0.03,
            &[
                (" 2012", 0.41),
                (" 2010", 0.2),
                ("<|im_end|>", 0.1),
                (" 2008", 0.03),
            ],
        ),
        tok(".", 0.9, &[(".", 0.9)]),
    ];
    let f = run(tokens, doc);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(&doc[f[0].range.clone()], "2008");
    assert_eq!(f[0].code, Code::LowProbability);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].kind, SpanKind::Number);
    assert_eq!(
        f[0].message,
        "\"2008\": 3% likely as written; the model preferred \"2012\" (41%); entropy 2.8–6.0 bits"
    );
}

#[test]
fn uncertain_citation_covers_its_parts() {
    let doc = "Shown before (Smith et al., 2019).";
    let tokens = vec![
        tok("Shown", 0.9, &[]),
        tok(" before", 0.9, &[]),
        tok(" (", 0.9, &[]),
        tok("Smith", 0.2, &[("Brown", 0.3), ("Smith", 0.2)]),
        tok(" et", 0.99, &[]),
        tok(" al", 0.99, &[]),
        tok(".,", 0.99, &[]),
        tok(" 2019", 0.4, &[(" 2019", 0.4)]),
        tok(").", 0.9, &[]),
    ];
    let f = run(tokens, doc);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].code, Code::UncertainCitation);
    assert_eq!(&doc[f[0].range.clone()], "(Smith et al., 2019)");
    assert!(f[0].message.starts_with("\"(Smith et al., 2019)\": 6% likely as written; weakest token \"Smith\" at 20%; the model preferred \"(Brown et al., 2019)\" (30%)"), "{}", f[0].message);
}

#[test]
fn confident_text_has_no_findings() {
    let doc = "Paris is the capital of France.";
    let tokens = ["Paris", " is", " the", " capital", " of", " France", "."]
        .iter()
        .map(|t| tok(t, 0.97, &[(t, 0.97), (" x", 0.01)]))
        .collect();
    assert_eq!(run(tokens, doc), vec![]);
}

#[test]
fn percent_formatting() {
    assert_eq!(percent(0.41), "41%");
    assert_eq!(percent(0.03), "3%");
    assert_eq!(percent(0.004), "0.4%");
    assert_eq!(percent(0.0004), "0.04%");
    assert_eq!(percent(0.00001), "<0.01%");
    assert_eq!(percent(0.999), ">99%");
    assert_eq!(percent(1.0), "100%");
}

#[test]
fn markup_alternatives_are_hidden() {
    assert!(is_control_or_markup("<|im_end|>"));
    assert!(is_control_or_markup("<h1>"));
    assert!(!is_control_or_markup("2012"));
}

#[test]
fn a_long_document_judged_in_parts_gives_the_findings_of_one_pass() {
    let sentence = "In 1867 Marie Curie met Smith et al. (2019) in Paris, and 42% agreed [2]. ";
    let mut doc = sentence.repeat(900);
    doc.push_str("\n\nReferences\n[2] A. Smith. A Study. 2019.\n");
    let trace = Trace::of_words(&doc);
    let ranges = align(trace.tokens.iter().map(|t| t.bytes.as_slice()), &doc).ranges;
    let m = measure_tokens(&trace, 50_000);
    let cfg = Config::default();
    let spans = crate::spans::segment(&doc, 0..doc.len());
    let parts = independent_parts(&spans, 1000, 4);
    assert_eq!(parts.len(), 4);
    assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), spans.len());
    for w in parts.windows(2) {
        let reach = w[0].iter().map(|s| s.range.end).max().unwrap();
        assert!(reach <= w[1][0].range.start, "a span crosses a cut");
    }
    let placed = PlacedTokens::new(&ranges);
    let ctx = Ctx {
        doc: &doc,
        trace: &trace,
        ranges: &ranges,
        m: &m,
        cfg: &cfg,
    };
    let mut one_pass = judge_spans(&ctx, &placed, &spans);
    one_pass.sort_by_key(|f| (f.range.start, f.range.end));
    let mut in_parts: Vec<Finding> = parts
        .iter()
        .flat_map(|p| judge_spans(&ctx, &placed, p))
        .collect();
    in_parts.sort_by_key(|f| (f.range.start, f.range.end));
    assert!(in_parts.len() > 1000, "{}", in_parts.len());
    assert!(in_parts.iter().any(|f| f.kind == SpanKind::Sentence));
    assert_eq!(in_parts, one_pass);
    assert_eq!(find(&doc, &trace, &ranges, &m, &cfg), one_pass);
}

#[test]
fn spans_that_reach_across_every_cut_leave_one_part() {
    let span = |r: std::ops::Range<usize>| Span {
        kind: SpanKind::Word,
        range: r,
        linked: None,
    };
    let mut spans = vec![span(0..1000)];
    spans.extend((1..100).map(|i| span(i..i + 1)));
    assert_eq!(independent_parts(&spans, 10, 4).len(), 1);
    spans[0] = span(0..1);
    assert_eq!(
        independent_parts(&spans, 10, 4)
            .iter()
            .map(|p| p.len())
            .collect::<Vec<_>>(),
        vec![25, 25, 25, 25]
    );
}
