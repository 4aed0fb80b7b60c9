//! Findings carry calibrated odds only when the shipped calibration applies to the trace's
//! model (SmolLM2-135M); the same trace under another model name gets none.

use hedge::analysis::analyze;
use hedge::config::Config;
use hedge::trace::{Alternative, Token, Trace, TraceFormat};

fn tok(text: &str, p: f64, alt: Option<(&str, f64)>) -> Token {
    Token {
        bytes: text.as_bytes().into(),
        logprob: Some(p.ln()),
        top: alt
            .into_iter()
            .map(|(a, q)| Alternative {
                bytes: a.as_bytes().into(),
                logprob: q.ln(),
                id: None,
            })
            .collect(),
        ..Token::default()
    }
}

fn messages(model: &str) -> Vec<String> {
    let doc = "Curie was born in 1867 in Warsaw.";
    let mut trace = Trace::new(
        TraceFormat::Native,
        vec![
            tok("Curie", 0.9, None),
            tok(" was", 0.95, None),
            tok(" born", 0.9, None),
            tok(" in", 0.9, None),
            tok(" 1867", 0.05, Some((" 1868", 0.4))),
            tok(" in", 0.9, None),
            tok(" Warsaw", 0.2, Some((" Paris", 0.5))),
            tok(".", 0.99, None),
        ],
    );
    trace.model = Some(model.to_string());
    let a = analyze(doc, &trace, &Config::default()).unwrap();
    a.findings.into_iter().map(|f| f.message).collect()
}

#[test]
fn calibrated_odds_for_smollm2_only() {
    assert_eq!(
        messages("/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        [
            "\"1867\": 5% likely as written; the model preferred \"1868\" (40%); \
             entropy 1.7–11.1 bits; ≈30% of spans like this were wrong (Mu-SHROOM val, English, n=698)",
            "\"Warsaw\": 20% likely as written; the model preferred \"Paris\" (50%); \
             entropy 1.5–6.9 bits; ≈20% of spans like this were wrong (Mu-SHROOM val, English, n=260)",
        ]
    );
    assert_eq!(
        messages("gpt-4o-mini"),
        [
            "\"1867\": 5% likely as written; the model preferred \"1868\" (40%); entropy 1.7–11.1 bits",
            "\"Warsaw\": 20% likely as written; the model preferred \"Paris\" (50%); entropy 1.5–6.9 bits",
        ]
    );
}
