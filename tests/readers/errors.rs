//! What the readers say about input they cannot read: unrecognised shapes, truncated JSON, bad
//! stream lines, missing fields; and that no input makes a reader panic.

use hedge::trace::detect::detect;
use hedge::trace::{parse_trace, TraceError, TraceFormat};

use super::trace_helpers::{fixture, shape_reason};
use super::FIXTURES;

#[test]
fn unrecognised_lists_the_top_level_keys() {
    let e = parse_trace(br#"{"foo": 1, "bar": {"choices": []}}"#, None).unwrap_err();
    assert_eq!(e, TraceError::Unrecognised("foo, bar".into()));
    assert_eq!(
        e.to_string(),
        "unrecognised logprob format (top-level keys: foo, bar); pass --trace-format to force one"
    );
    assert_eq!(
        detect(b"[1, 2]"),
        Err(TraceError::Unrecognised("an array".into()))
    );
    assert_eq!(
        detect(b" 42 "),
        Err(TraceError::Unrecognised("a number".into()))
    );
    assert_eq!(detect(b"{}"), Err(TraceError::Unrecognised("none".into())));
    // JSONL whose lines say nothing known.
    assert_eq!(
        detect(b"{\"a\":1}\n{\"b\":2}\n"),
        Err(TraceError::Unrecognised("a".into()))
    );
    assert_eq!(detect(b"  \n"), Err(TraceError::Empty));
}

#[test]
fn truncated_json_is_a_json_error() {
    let data = fixture("v1_chat_logprobs.json");
    let e = parse_trace(&data[..200], None).unwrap_err();
    assert_eq!(
        e,
        TraceError::Json("EOF while parsing a string at line 1 column 200".into())
    );
    let data = fixture("completion_grammar_emoji.json");
    assert!(
        matches!(parse_trace(&data[..500], None), Err(TraceError::Json(m)) if m.contains("EOF while parsing"))
    );
    // Forcing the format gives the same error.
    let data = fixture("openai_legacy.json");
    assert!(matches!(
        parse_trace(&data[..300], Some(TraceFormat::OpenaiCompletions)),
        Err(TraceError::Json(m)) if m.starts_with("EOF while parsing")
    ));
}

#[test]
fn bad_stream_lines_are_reported_with_their_line() {
    let good = fixture("openai_chat_stream.jsonl");
    let text = String::from_utf8(good).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"choices\": [}";
    let e = parse_trace(lines.join("\n").as_bytes(), None).unwrap_err();
    assert_eq!(
        e,
        TraceError::Json("expected value at line 3 column 14".into())
    );
    lines[2] = "7";
    let (f, reason) = shape_reason(parse_trace(lines.join("\n").as_bytes(), None));
    assert_eq!(
        (f, reason.as_str()),
        (
            TraceFormat::OpenaiChatStream,
            "line 3: expected a chunk object"
        )
    );
    // SSE: the column counts the `data: ` prefix.
    let e = parse_trace(
        b"data: {\"choices\":[]}\n\ndata: {\"choices\":x}\n\ndata: [DONE]\n",
        None,
    )
    .unwrap_err();
    assert_eq!(
        e,
        TraceError::Json("expected value at line 3 column 18".into())
    );
}

#[test]
fn wrong_shapes_say_what_is_missing() {
    let no_logprobs = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}"#;
    let (f, r) = shape_reason(parse_trace(no_logprobs, None));
    assert_eq!(f, TraceFormat::OpenaiChat);
    assert_eq!(
        r,
        "choices[0].logprobs is missing (the request did not ask for logprobs)"
    );
    let (_, r) = shape_reason(parse_trace(
        br#"{"choices":[{"logprobs":{"content":null}}]}"#,
        Some(TraceFormat::OpenaiChat),
    ));
    assert_eq!(r, "choices[0].logprobs.content is missing");
    let (_, r) = shape_reason(parse_trace(br#"{"choices":[]}"#, None));
    assert_eq!(r, "choices is empty");
    let (_, r) = shape_reason(parse_trace(
        br#"{"choices":[{"logprobs":{"content":[5]}}]}"#,
        None,
    ));
    assert_eq!(
        r,
        "invalid type: integer `5`, expected a token object at line 1 column 37"
    );
    let (_, r) = shape_reason(parse_trace(
        br#"{"choices":[{"logprobs":{"content":[{"logprob":-1}]}}]}"#,
        None,
    ));
    assert_eq!(
        r,
        "choices[0].logprobs.content[0] has neither token nor bytes"
    );
    let (f, r) = shape_reason(parse_trace(
        &fixture("v1_chat_logprobs.json"),
        Some(TraceFormat::LlamacppCompletion),
    ));
    assert_eq!(f, TraceFormat::LlamacppCompletion);
    assert_eq!(
        r,
        "completion_probabilities is missing (the request did not set n_probs)"
    );
    let (_, r) = shape_reason(parse_trace(b"[1]", Some(TraceFormat::OpenaiCompletions)));
    assert_eq!(r, "expected a JSON object at the top level");
    let legacy = br#"{"choices":[{"logprobs":{"tokens":["a","b"],"token_logprobs":[-1]}}]}"#;
    let (_, r) = shape_reason(parse_trace(legacy, None));
    assert_eq!(
        r,
        "choices[0].logprobs.tokens has 2 entries but token_logprobs has 1"
    );
    let (_, r) = shape_reason(parse_trace(
        &fixture("openai_chat_emoji.json"),
        Some(TraceFormat::Native),
    ));
    assert_eq!(
        r,
        r#"line 1: expected the header {"hedge":"trace","version":1}"#
    );
    let native = b"{\"hedge\":\"trace\",\"version\":1}\n{\"text\":\"a\",\"logprob\":-1}\n5\n";
    let (_, r) = shape_reason(parse_trace(native, None));
    assert_eq!(r, "line 3: expected a token object");
    let (_, r) = shape_reason(parse_trace(b"{\"hedge\":\"trace\",\"version\":2}\n", None));
    assert_eq!(
        r,
        "line 1: version 2 is not one this hedge reads (it reads version 1)"
    );
    let native = b"{\"hedge\":\"trace\"}\n{\"logprob\":-1}\n";
    let (_, r) = shape_reason(parse_trace(native, None));
    assert_eq!(r, "line 2: the token has neither text nor bytes");
    assert_eq!(
        parse_trace(b"{\"hedge\":\"trace\"}\n", None),
        Err(TraceError::Empty)
    );
}

#[test]
fn no_input_makes_a_reader_panic() {
    let mut inputs: Vec<Vec<u8>> = FIXTURES.iter().map(|(n, _)| fixture(n)).collect();
    for extra in [
        &b"{\"choices\":5}"[..],
        b"{\"choices\":[{\"logprobs\":{\"content\":[{\"token\":\"a\",\"bytes\":[300]}]}}]}",
        b"{\"completion_probabilities\":[{\"id\":-1,\"token\":\"\",\"bytes\":[245],\"logprob\":-1e308,\"top_logprobs\":[{\"id\":99999999999,\"bytes\":[]}]}],\"tokens\":[-5]}",
        b"{\"completion_probabilities\":[{\"prob\":2.0,\"token\":\"a\"},{\"prob\":-1,\"token\":\"b\"}]}",
        b"data: [DONE]\n",
        b"data:\n\n: comment\nevent: x\n",
    ] {
        inputs.push(extra.to_vec());
    }
    for data in &inputs {
        for cut in (0..=data.len()).step_by(7) {
            for forced in std::iter::once(None).chain(TraceFormat::ALL.map(Some)) {
                let _ = parse_trace(&data[..cut], forced);
            }
        }
    }
}
