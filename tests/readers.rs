//! Trace readers and format detection, on captured llama-server responses and hand-made
//! fixtures that follow the documented provider shapes.

use hedge::trace::detect::detect;
use hedge::trace::{native, parse_trace, Token, Trace, TraceFormat};

#[path = "readers/errors.rs"]
mod errors;
mod trace_helpers;

use trace_helpers::{alt, bytes, fixture, flags, logprobs, read};

pub(crate) const FIXTURES: [(&str, TraceFormat); 16] = [
    (
        "completion_grammar_emoji.json",
        TraceFormat::LlamacppCompletion,
    ),
    ("completion_nprobs.json", TraceFormat::LlamacppCompletion),
    ("completion_stream.txt", TraceFormat::LlamacppCompletion),
    ("llamacpp_old.json", TraceFormat::LlamacppCompletion),
    (
        "llamacpp_post_sampling.json",
        TraceFormat::LlamacppCompletion,
    ),
    ("llamacpp_stream.jsonl", TraceFormat::LlamacppCompletion),
    ("native.jsonl", TraceFormat::Native),
    ("openai_chat_emoji.json", TraceFormat::OpenaiChat),
    ("openai_chat_nobytes.json", TraceFormat::OpenaiChat),
    ("openai_chat_refusal.json", TraceFormat::OpenaiChat),
    ("openai_chat_stream.jsonl", TraceFormat::OpenaiChatStream),
    ("openai_legacy.json", TraceFormat::OpenaiCompletions),
    ("v1_chat_grammar_emoji.json", TraceFormat::OpenaiChat),
    ("v1_chat_logprobs.json", TraceFormat::OpenaiChat),
    ("v1_chat_stream.txt", TraceFormat::OpenaiChatStream),
    ("v1_completions_logprobs.json", TraceFormat::OpenaiChat),
];

#[test]
fn detects_every_fixture() {
    for (name, format) in FIXTURES {
        assert_eq!(detect(&fixture(name)), Ok(format), "{name}");
        assert_eq!(read(name).format, format, "{name}");
    }
}

#[test]
fn openai_chat_with_bytes_splits_emoji_and_cjk() {
    let t = read("openai_chat_emoji.json");
    assert_eq!(
        bytes(&t),
        vec![
            b"Here".to_vec(),
            b":\n\n".to_vec(),
            vec![240, 159, 146],
            vec![153],
            b" Blue".to_vec(),
            vec![32, 230, 151],
            vec![165],
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.054242473),
            Some(-0.11313002),
            Some(-0.09048584),
            Some(0.0),
            Some(-0.023958502),
            Some(-1.25),
            None
        ]
    );
    assert_eq!(
        flags(&t, |k| k.sentinel),
        [false, false, false, false, false, false, true]
    );
    assert_eq!(flags(&t, |k| k.merged), [false; 7]);
    assert_eq!(flags(&t, |k| k.lossy), [false; 7]);
    // The −9999 alternative is left out.
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(b"Here", -0.054242473, None),
            alt(b"This", -2.9523525, None)
        ]
    );
    assert_eq!(t.tokens[2].top[1], alt(&[226, 157], -2.5, None));
    assert_eq!(
        String::from_utf8(t.generated_bytes()).unwrap(),
        "Here:\n\n💙 Blue 日"
    );
    assert_eq!(t.stated_text.as_deref(), Some("Here:\n\n💙 Blue 日"));
    assert_eq!(t.stated_token_count, Some(7));
    assert_eq!(t.model.as_deref(), Some("gpt-4o-2024-08-06"));
}

#[test]
fn openai_chat_without_bytes_decodes_escaped_tokens() {
    let t = read("openai_chat_nobytes.json");
    assert_eq!(
        bytes(&t),
        vec![
            b"Hi".to_vec(),
            vec![32, 240, 159, 146],
            vec![153],
            vec![32, 230, 151],
            vec![165, 0xE6, 0x9C, 0xAC],
            vec![0xEF, 0xBF, 0xBD],
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.5),
            Some(-0.75),
            Some(-0.001),
            Some(-2.0),
            Some(-0.25),
            Some(-3.0)
        ]
    );
    assert_eq!(
        flags(&t, |k| k.lossy),
        [false, false, false, false, false, true]
    );
    assert_eq!(flags(&t, |k| k.merged), [false; 6]);
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b"Hi", -0.5, None), alt(b"Hello", -1.5, None)]
    );
    assert_eq!(
        String::from_utf8(t.generated_bytes()).unwrap(),
        "Hi 💙 日本\u{FFFD}"
    );
    assert_eq!(t.stated_token_count, None);
}

#[test]
fn openai_chat_refusal_tokens_are_used_when_content_is_null() {
    let t = read("openai_chat_refusal.json");
    assert_eq!(bytes(&t), vec![b"I".to_vec(), b"'m sorry".to_vec()]);
    assert_eq!(logprobs(&t), vec![Some(-0.01), Some(-0.2)]);
    assert_eq!(t.stated_text.as_deref(), Some("I'm sorry"));
    assert_eq!(t.stated_token_count, Some(2));
}

#[test]
fn openai_chat_stream_jsonl_concatenates_chunks() {
    let t = read("openai_chat_stream.jsonl");
    assert_eq!(
        bytes(&t),
        vec![
            b"Love".to_vec(),
            vec![32, 240, 159, 146],
            vec![153],
            vec![228, 184],
            vec![173]
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![Some(-1.5), Some(-0.5), Some(-0.0001), Some(-3.5), None]
    );
    assert_eq!(
        flags(&t, |k| k.sentinel),
        [false, false, false, false, true]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b"Love", -1.5, None), alt(b"Like", -1.75, None)]
    );
    assert_eq!(t.stated_text.as_deref(), Some("Love 💙中"));
    assert_eq!(String::from_utf8(t.generated_bytes()).unwrap(), "Love 💙中");
    assert_eq!(t.stated_token_count, Some(5));
    assert_eq!(t.model.as_deref(), Some("gpt-4o-mini"));
}

#[test]
fn llama_server_chat_stream_sse() {
    let t = read("v1_chat_stream.txt");
    assert_eq!(bytes(&t), vec![vec![182]]);
    assert_eq!(logprobs(&t), vec![Some(-0.00660425890237093)]);
    assert_eq!(t.tokens[0].id, Some(185));
    assert_eq!(
        t.tokens[0].top,
        vec![alt(&[182], -0.00660425890237093, Some(185))]
    );
    assert_eq!(t.stated_text.as_deref(), Some("\u{FFFD}"));
    assert_eq!(t.stated_token_count, None);
    assert_eq!(t.model.as_deref(), Some("tiny.gguf"));
}

#[test]
fn llama_server_chat_keeps_raw_bytes_and_ids() {
    let t = read("v1_chat_logprobs.json");
    assert_eq!(bytes(&t), vec![vec![182], vec![32, 81], vec![132]]);
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.009743619710206985),
            Some(-0.04900535196065903),
            Some(-0.006989050190895796)
        ]
    );
    assert_eq!(
        t.tokens.iter().map(|k| k.id).collect::<Vec<_>>(),
        [Some(185), Some(364), Some(135)]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(&[182], -0.009743619710206985, Some(185)),
            alt(&[50], -4.767525672912598, Some(387))
        ]
    );
    assert_eq!(flags(&t, |k| k.merged), [false; 3]);
    assert_eq!(flags(&t, |k| k.lossy), [false; 3]);
    assert_eq!(t.stated_text.as_deref(), Some("\u{FFFD} Q\u{FFFD}"));
    assert_eq!(t.stated_token_count, Some(3));
}

#[test]
fn llama_server_chat_drops_the_eos_entry() {
    let t = read("v1_chat_grammar_emoji.json");
    assert_eq!(bytes(&t), vec![vec![240, 159, 152, 138], vec![33]]);
    assert_eq!(
        logprobs(&t),
        vec![Some(-12.90136432647705), Some(-39.83261489868164)]
    );
    // Four byte tokens arrived as one entry, but nothing in this response shows which entry
    // (no same-id alternative, valid UTF-8): only the count tells.
    assert_eq!(flags(&t, |k| k.merged), [false, false]);
    assert_eq!(t.stated_token_count, Some(6));
    assert_eq!(t.stated_text.as_deref(), Some("😊!"));
}

#[test]
fn llama_server_v1_completions_uses_the_chat_shape() {
    let t = read("v1_completions_logprobs.json");
    assert_eq!(bytes(&t), vec![vec![56], vec![245, 144, 32, 89]]);
    assert_eq!(
        logprobs(&t),
        vec![Some(-0.12788939476013184), Some(-7.36740548745729e-05)]
    );
    assert_eq!(flags(&t, |k| k.merged), [false, true]);
    assert_eq!(t.stated_text.as_deref(), Some("8\u{FFFD}\u{FFFD} Y"));
    assert_eq!(t.stated_token_count, Some(4));
}

#[test]
fn llamacpp_completion_marks_merged_entries_by_same_id_alternative() {
    let t = read("completion_nprobs.json");
    assert_eq!(
        bytes(&t),
        vec![
            vec![56],
            vec![245, 144, 32, 89],
            vec![87],
            vec![78],
            vec![234, 145, 61],
            vec![74],
            vec![32, 79],
            vec![33]
        ]
    );
    assert_eq!(
        flags(&t, |k| k.merged),
        [false, true, false, false, true, false, false, false]
    );
    assert_eq!(t.tokens[1].logprob, Some(-7.36740548745729e-05));
    assert_eq!(t.tokens[1].id, Some(380));
    assert_eq!(t.tokens[4].logprob, Some(-0.004055247642099857));
    // The chosen token is not among the two alternatives here.
    assert_eq!(
        t.tokens[6].top,
        vec![
            alt(b"e", -1.1951087713241577, Some(288)),
            alt(b"+", -1.6720795631408691, Some(46))
        ]
    );
    assert_eq!(t.stated_token_count, Some(12));
    assert_eq!(
        t.stated_text.as_deref(),
        Some("8\u{FFFD}\u{FFFD} YWN\u{FFFD}=J O!")
    );
    assert_eq!(t.model.as_deref(), Some("tiny.gguf"));
}

#[test]
fn llamacpp_completion_marks_merged_entries_by_token_ids() {
    let t = read("completion_grammar_emoji.json");
    assert_eq!(
        bytes(&t),
        vec![
            b" ".to_vec(),
            b"c".to_vec(),
            b"a".to_vec(),
            b"f".to_vec(),
            "é".as_bytes().to_vec(),
            b" ".to_vec()
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-31.515804290771484),
            Some(-45.50490188598633),
            Some(-29.648868560791016),
            Some(-12.09434700012207),
            Some(-59.85215759277344),
            Some(-40.4375)
        ]
    );
    // `tokens` lists 198 (<0xC3>) before 172 (<0xA9>): é carries two tokens.
    assert_eq!(
        flags(&t, |k| k.merged),
        [false, false, false, false, true, false]
    );
    assert_eq!(t.tokens[4].id, Some(172));
    assert_eq!(
        t.tokens[4].top,
        vec![alt(b" N", -0.0013960206415504217, Some(358))]
    );
    assert_eq!(t.stated_text.as_deref(), Some(" café \u{FFFD}"));
    assert_eq!(t.stated_token_count, Some(8));
}

#[test]
fn llamacpp_stream_sse_with_a_cut_off_last_line() {
    // The capture ends in the middle of the final chunk; the complete chunks are read.
    let t = read("completion_stream.txt");
    assert_eq!(bytes(&t), vec![vec![56]]);
    assert_eq!(logprobs(&t), vec![Some(-0.12788960337638855)]);
    assert_eq!(t.stated_text.as_deref(), Some("8"));
    assert_eq!(t.stated_token_count, Some(1));
}

#[test]
fn llamacpp_stream_jsonl_marks_merged_by_tokens_predicted() {
    let t = read("llamacpp_stream.jsonl");
    assert_eq!(bytes(&t), vec!["中".as_bytes().to_vec(), b"!".to_vec()]);
    assert_eq!(logprobs(&t), vec![Some(-0.75), None]);
    assert_eq!(flags(&t, |k| k.merged), [true, false]);
    assert_eq!(flags(&t, |k| k.sentinel), [false, true]);
    // The float-minimum alternative is left out.
    assert_eq!(t.tokens[1].top, vec![alt(b"A", -0.25, Some(90))]);
    assert_eq!(t.stated_text.as_deref(), Some("中!"));
    assert_eq!(t.stated_token_count, Some(4));
    assert_eq!(t.model.as_deref(), Some("tiny.gguf"));
}

#[test]
fn llamacpp_post_sampling_probs_are_linear() {
    let t = read("llamacpp_post_sampling.json");
    assert_eq!(
        bytes(&t),
        vec![b"Yes".to_vec(), b" ".to_vec(), "日".as_bytes().to_vec()]
    );
    assert_eq!(logprobs(&t), vec![Some(0.5f64.ln()), Some(0.0), None]);
    assert_eq!(flags(&t, |k| k.sentinel), [false, false, true]);
    assert_eq!(flags(&t, |k| k.merged), [false, false, true]);
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(b"Yes", 0.5f64.ln(), Some(9454)),
            alt(b"No", 0.25f64.ln(), Some(2753))
        ]
    );
    assert_eq!(t.tokens[2].top, vec![alt(&[165], 0.125f64.ln(), Some(245))]);
}

#[test]
fn llamacpp_old_shape() {
    let t = read("llamacpp_old.json");
    assert_eq!(
        bytes(&t),
        vec![b" to".to_vec(), vec![0xE2], vec![0x80], vec![0x99]]
    );
    assert_eq!(
        logprobs(&t),
        vec![Some(0.5f64.ln()), Some(0.125f64.ln()), Some(0.0), None]
    );
    assert_eq!(flags(&t, |k| k.sentinel), [false; 4]);
    assert_eq!(
        t.tokens[1].top,
        vec![
            alt(&[0xE2], 0.125f64.ln(), None),
            alt(b"'", 0.0625f64.ln(), None)
        ]
    );
    assert_eq!(t.tokens[3].top, vec![alt(b"x", 0.75f64.ln(), None)]);
    assert_eq!(String::from_utf8(t.generated_bytes()).unwrap(), " to’");
    assert_eq!(t.stated_token_count, Some(4));
}

#[test]
fn openai_legacy_completions() {
    let t = read("openai_legacy.json");
    assert_eq!(
        bytes(&t),
        vec![
            b"Hello".to_vec(),
            b" world".to_vec(),
            vec![0xE2, 0x80],
            vec![0x99],
            b"s".to_vec(),
            b" ".to_vec(),
            vec![0xE4, 0xB8],
            vec![0xAD]
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            None,
            Some(-4.1),
            Some(-0.5),
            Some(-0.0002),
            Some(-0.125),
            Some(-1.0),
            Some(-2.25),
            None
        ]
    );
    assert_eq!(
        flags(&t, |k| k.sentinel),
        [false, false, false, false, false, false, false, true]
    );
    assert!(t.tokens[0].top.is_empty());
    // Sorted by logprob, most likely first.
    assert_eq!(
        t.tokens[1].top,
        vec![
            alt(b" you", -1.9, None),
            alt(b" there", -2.3, None),
            alt(b" world", -4.1, None)
        ]
    );
    assert_eq!(
        t.tokens[2].top,
        vec![alt(&[0xE2, 0x80], -0.5, None), alt(b"'", -1.0, None)]
    );
    assert_eq!(t.tokens[5].top, vec![alt(b" ", -1.0, None)]);
    assert_eq!(
        String::from_utf8(t.generated_bytes()).unwrap(),
        "Hello world’s 中"
    );
    assert_eq!(t.stated_text.as_deref(), Some("Hello world’s 中"));
    assert_eq!(t.stated_token_count, Some(8));
    assert_eq!(t.model.as_deref(), Some("gpt-3.5-turbo-instruct"));
}

#[test]
fn native_reads_the_documented_format() {
    let t = read("native.jsonl");
    assert_eq!(
        bytes(&t),
        vec![
            b"I".to_vec(),
            vec![32, 240, 159],
            vec![146, 153],
            " 日".as_bytes().to_vec()
        ]
    );
    assert_eq!(logprobs(&t), vec![Some(-0.25), Some(-1.0), None, None]);
    assert_eq!(flags(&t, |k| k.sentinel), [false, false, true, true]);
    assert_eq!(flags(&t, |k| k.merged), [false, false, false, true]);
    assert_eq!(flags(&t, |k| k.lossy), [false, false, false, true]);
    assert_eq!(t.tokens[0].id, Some(40));
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b"I", -0.25, Some(40)), alt(b"We", -1.5, None)]
    );
    assert_eq!(t.tokens[1].entropy_bits, Some(2.5));
    assert_eq!(t.tokens[3].top, vec![alt(b"y", -2.0, None)]);
    assert_eq!(String::from_utf8(t.generated_bytes()).unwrap(), "I 💙 日");
    assert_eq!(t.vocab_size, Some(32000));
    assert_eq!(t.stated_text.as_deref(), Some("I 💙 日"));
    assert_eq!(t.stated_token_count, Some(6));
    assert_eq!(t.model.as_deref(), Some("m"));
}

fn round_trip(t: &Trace) -> Trace {
    let mut out = Vec::new();
    native::write(t, &mut out).unwrap();
    parse_trace(&out, None).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out)))
}

#[test]
fn native_write_then_read_round_trips() {
    for (name, _) in FIXTURES {
        let t = read(name);
        let back = round_trip(&t);
        assert_eq!(back.format, TraceFormat::Native);
        assert_eq!(
            Trace {
                format: TraceFormat::Native,
                ..t
            },
            back,
            "{name}"
        );
    }
    let t = Trace {
        format: TraceFormat::Native,
        tokens: vec![
            Token {
                bytes: smallvec::smallvec![0xF0, 0x9F],
                logprob: Some(-1e-300),
                id: Some(u32::MAX),
                top: vec![
                    alt(&[0xF0, 0x9F], -0.1, Some(7)),
                    alt(b"\"\\\n", -3.0, None),
                ],
                entropy_bits: Some(0.123456789012345),
                ..Token::default()
            },
            Token {
                bytes: smallvec::smallvec![0x92, 0x99],
                sentinel: true,
                merged: true,
                lossy: true,
                ..Token::default()
            },
            Token {
                bytes: Default::default(),
                logprob: Some(-0.0),
                ..Token::default()
            },
        ],
        vocab_size: Some(151_936),
        stated_text: Some("💙\u{0}".into()),
        stated_token_count: Some(9),
        model: Some("m\"x".into()),
        prompt_tokens: 0,
    };
    assert_eq!(round_trip(&t), t);
}

#[test]
fn native_writer_output_is_the_documented_one() {
    let mut t = Trace::new(
        TraceFormat::Native,
        vec![
            Token {
                bytes: b"Hi"[..].into(),
                logprob: Some(-0.5),
                top: vec![alt(b"Hi", -0.5, Some(3))],
                ..Token::default()
            },
            Token {
                bytes: smallvec::smallvec![0xE2, 0x80],
                sentinel: true,
                ..Token::default()
            },
        ],
    );
    t.model = Some("m".into());
    let mut out = Vec::new();
    native::write(&t, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        concat!(
            "{\"hedge\":\"trace\",\"version\":1,\"model\":\"m\"}\n",
            "{\"text\":\"Hi\",\"logprob\":-0.5,\"top\":[{\"text\":\"Hi\",\"logprob\":-0.5,\"id\":3}]}\n",
            "{\"text\":\"\u{FFFD}\",\"bytes\":[226,128],\"logprob\":null,\"sentinel\":true,\"top\":[]}\n",
        )
    );
}
