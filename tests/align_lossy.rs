//! Lossy traces (U+FFFD tokens, dropped partial bytes) still land on the right characters.

use std::ops::Range;

use hedge::align::align;
use hedge::align_lossy::{align_lossy, align_tokens};
use hedge::trace::{parse_trace, Token, Trace};

fn fixture(name: &str) -> Trace {
    let path = format!(
        "{}/tests/fixtures/traces/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_trace(&std::fs::read(&path).unwrap(), None).unwrap()
}

fn tok(bytes: &[u8], lossy: bool) -> Token {
    Token {
        bytes: bytes.into(),
        lossy,
        logprob: Some(-1.0),
        ..Token::default()
    }
}

/// The text under each range.
fn texts<'a>(doc: &'a str, ranges: &[Option<Range<usize>>]) -> Vec<Option<&'a str>> {
    ranges.iter().map(|r| r.clone().map(|r| &doc[r])).collect()
}

#[test]
fn ollama_replacement_tokens_land_on_the_emoji() {
    let t = fixture("ollama_generate.json");
    let doc = "Notes first.\nHi 😊 日本\nMore notes.";
    let a = align_tokens(&t.tokens, doc);
    assert_eq!(
        texts(doc, &a.alignment.ranges),
        [
            Some("Hi"),
            Some(" "),
            Some("😊"),
            Some("😊"),
            Some("😊"),
            Some("😊"),
            Some(" 日"),
            Some("本")
        ]
    );
    assert_eq!(a.recovered, 4);
    assert_eq!(a.unrecovered_lossy, 0);
    assert_eq!((a.alignment.aligned, a.alignment.total), (8, 8));
    // The byte alignment alone cannot place them.
    let plain = align(t.tokens.iter().map(|t| t.bytes.as_slice()), doc);
    assert_eq!(plain.ranges[2..6], [None, None, None, None]);
}

#[test]
fn vllm_replacement_after_a_space() {
    let t = fixture("vllm_echo_prompt_logprobs.json");
    let doc = "Hello 日 is 💙!";
    assert_eq!(
        texts(doc, &align_lossy(&t.tokens, doc)),
        [Some(" is"), Some(" 💙"), Some("💙"), Some("!")]
    );
}

#[test]
fn llama_cpp_python_dropped_bytes_fill_the_gap() {
    let t = fixture("llama_cpp_python_echo.json");
    let doc = "Say 日 💙 ok";
    let a = align_tokens(&t.tokens, doc);
    assert_eq!(
        texts(doc, &a.alignment.ranges),
        [Some(" "), Some("💙"), Some(" ok")]
    );
    assert_eq!(a.unrecovered_lossy, 0);
}

#[test]
fn tgi_empty_tokens_mark_the_character_that_follows() {
    let t = fixture("tgi_generate.json");
    let doc = " Blue 💙 日";
    let a = align_tokens(&t.tokens, doc);
    assert_eq!(
        texts(doc, &a.alignment.ranges),
        [
            Some(" Blue"),
            Some(" "),
            Some("💙"),
            Some("💙"),
            Some("💙"),
            Some("💙"),
            Some(" 日")
        ]
    );
    assert_eq!(a.recovered, 3);
    let t = fixture("tgi_stream.txt");
    assert_eq!(
        texts("中文", &align_lossy(&t.tokens, "中文")),
        [Some("中"), Some("文"), Some("文"), Some("文")]
    );
}

#[test]
fn sglang_and_transformers_replacement_tokens() {
    let t = fixture("sglang_generate.json");
    let doc = "The capital of 日本? Tokyo 🗼東京.";
    assert_eq!(
        texts(doc, &align_lossy(&t.tokens, doc)),
        [
            Some(" Tokyo"),
            Some(" "),
            Some("🗼"),
            Some("🗼"),
            Some("東京")
        ]
    );
    let t = fixture("hf_transformers_decoded.json");
    let doc = " the 💙 中";
    assert_eq!(
        texts(doc, &align_lossy(&t.tokens, doc)),
        [Some(" the"), Some(" 💙"), Some("💙"), Some(" 中")]
    );
}

#[test]
fn edited_text_is_not_claimed() {
    // The emoji was replaced by ASCII text: the lossy tokens stay unplaced.
    let t = fixture("ollama_generate.json");
    let doc = "Hi :) 日本";
    let a = align_tokens(&t.tokens, doc);
    assert_eq!(a.alignment.ranges[2..6], [None, None, None, None]);
    assert_eq!(a.unrecovered_lossy, 4);
    assert_eq!((a.alignment.aligned, a.alignment.total), (4, 8));
    // One replacement token cannot stand for five characters.
    let tokens = [
        tok(b"Hi", false),
        tok(b" ", false),
        tok("\u{FFFD}".as_bytes(), true),
        tok(b" there", false),
    ];
    let doc = "Hi \u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9} there";
    assert_eq!(
        texts(doc, &align_lossy(&tokens, doc)),
        [Some("Hi"), Some(" "), None, Some(" there")]
    );
}

#[test]
fn runs_at_either_end_and_without_neighbours() {
    let r = "\u{FFFD}".as_bytes();
    // Leading: a token whose bytes were dropped, before " ok".
    let tokens = [tok(b"", true), tok(b" ok", false)];
    assert_eq!(
        texts("💙 ok", &align_lossy(&tokens, "💙 ok")),
        [Some("💙"), Some(" ok")]
    );
    // Trailing: two replacement tokens after the last exact one.
    let tokens = [tok(b"ok ", false), tok(r, true), tok(r, true)];
    let doc = "ok 日 and more";
    assert_eq!(
        texts(doc, &align_lossy(&tokens, doc)),
        [Some("ok "), Some("日"), Some("日")]
    );
    // Nothing exact at all: the first place the pattern fits.
    let tokens = [tok(r, true), tok(r, true), tok(r, true), tok(r, true)];
    let doc = "say 😊";
    assert_eq!(
        texts(doc, &align_lossy(&tokens, doc)),
        [Some("😊"), Some("😊"), Some("😊"), Some("😊")]
    );
}

#[test]
fn exact_traces_get_the_byte_alignment_unchanged() {
    let t = fixture("openai_responses.json");
    let doc = "x Sure! 💙 日本 y";
    let a = align_tokens(&t.tokens, doc);
    assert_eq!(
        a.alignment,
        align(t.tokens.iter().map(|t| t.bytes.as_slice()), doc)
    );
    assert_eq!((a.recovered, a.unrecovered_lossy), (0, 0));
    // A document that itself holds U+FFFD (llama.cpp's content) matches byte for byte.
    let t = fixture("ollama_generate.json");
    let doc = "Hi \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD} 日本";
    let a = align_tokens(&t.tokens, doc);
    assert_eq!(a.alignment.aligned, 8);
    assert_eq!(a.recovered, 0);
}
