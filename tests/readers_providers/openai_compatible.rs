//! OpenAI Responses, vLLM, llama-cpp-python, Together, Fireworks and DeepSeek.

use hedge::trace::detect::detect;
use hedge::trace::{parse_trace, parse_trace_with, TraceError, TraceFormat};

use super::*;

// ----- OpenAI Responses -----

#[test]
fn openai_responses_whole() {
    let t = read("openai_responses.json");
    assert_eq!(
        bytes(&t),
        vec![
            s("Sure"),
            s("!"),
            vec![32, 240, 159, 146],
            vec![153],
            s(" 日"),
            s("本")
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.31),
            Some(-0.02),
            Some(-0.5),
            Some(-0.001),
            Some(-1.25),
            None
        ]
    );
    assert_eq!(
        flags(&t, |k| k.sentinel),
        [false, false, false, false, false, true]
    );
    assert_eq!(flags(&t, |k| k.lossy), [false; 6]);
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b"Sure", -0.31, None), alt(b"Yes", -1.5, None)]
    );
    assert_eq!(
        String::from_utf8(t.generated_bytes()).unwrap(),
        "Sure! 💙 日本"
    );
    assert_eq!(t.stated_text.as_deref(), Some("Sure! 💙 日本"));
    assert_eq!(t.stated_token_count, Some(6));
    assert_eq!(t.model.as_deref(), Some("gpt-4.1-2025-04-14"));
}

#[test]
fn openai_responses_stream_decodes_escaped_tokens() {
    let t = read("openai_responses_stream.txt");
    assert_eq!(
        bytes(&t),
        vec![
            s("Love"),
            vec![32, 240, 159, 146],
            vec![153],
            vec![32, 228, 184],
            vec![173]
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-1.5),
            Some(-0.5),
            Some(-0.0001),
            Some(-3.5),
            Some(-0.25)
        ]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b"Love", -1.5, None), alt(b"Like", -1.75, None)]
    );
    assert_eq!(
        String::from_utf8(t.generated_bytes()).unwrap(),
        "Love 💙 中"
    );
    assert_eq!(t.stated_text.as_deref(), Some("Love 💙 中"));
    assert_eq!(t.stated_token_count, Some(5));
    assert_eq!(t.model.as_deref(), Some("gpt-4o-mini"));
}

#[test]
fn openai_responses_without_logprobs_says_what_to_ask_for() {
    let whole = br#"{"object":"response","output":[{"type":"message","content":[{"type":"output_text","text":"hi","logprobs":[]}]}]}"#;
    let e = parse_trace(whole, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "does not match the openai-responses format: output[].content[].logprobs is missing or empty (the request did not include \"message.output_text.logprobs\" (or asked for no logprobs))"
    );
    // A stream whose deltas have no logprobs falls back to the completed response.
    let stream = concat!(
        "{\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n",
        "{\"type\":\"response.completed\",\"response\":{\"model\":\"m\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi\",\"logprobs\":[{\"token\":\"Hi\",\"bytes\":[72,105],\"logprob\":-0.5,\"top_logprobs\":[]}]}]}]}}\n",
    );
    let t = parse_trace(stream.as_bytes(), None).unwrap();
    assert_eq!(t.format, TraceFormat::OpenaiResponses);
    assert_eq!(bytes(&t), vec![s("Hi")]);
    assert_eq!(t.model.as_deref(), Some("m"));
}

// ----- vLLM prompt_logprobs -----

#[test]
fn vllm_echo_keeps_prompt_and_output_apart() {
    let t = read("vllm_echo_prompt_logprobs.json");
    assert_eq!(
        bytes(&t),
        vec![
            s(" is"),
            [&[32u8][..], &FFFD].concat(),
            FFFD.to_vec(),
            s("!")
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![Some(-0.75), Some(-0.5), Some(-0.125), None]
    );
    assert_eq!(flags(&t, |k| k.sentinel), [false, false, false, true]);
    assert_eq!(flags(&t, |k| k.lossy), [false, true, true, false]);
    assert_eq!(t.tokens[3].top, vec![alt(b".", -0.1, None)]);
    assert_eq!(t.stated_text.as_deref(), Some(" is 💙!"));
    assert_eq!(t.stated_token_count, Some(4));

    let all = read_all("vllm_echo_prompt_logprobs.json");
    assert_eq!(all.prompt_tokens, 4);
    assert_eq!(all.tokens.len(), 8);
    assert_eq!(all.tokens[4..], t.tokens[..]);
    assert_eq!(bytes(&all)[..4], [s("<s>"), s("Hello"), s(" "), s("日")]);
    assert_eq!(
        logprobs(&all)[..4],
        [None, Some(-7.5), Some(-3.25), Some(-6.0)]
    );
    assert_eq!(
        ids(&all)[..4],
        [Some(1), Some(15043), Some(29871), Some(30325)]
    );
    // The dict holds the prompt's token (rank 120) and the top-1; most likely first.
    assert_eq!(
        all.tokens[1].top,
        vec![alt(b"I", -2.0, Some(306)), alt(b"Hello", -7.5, Some(15043))]
    );
    assert_eq!(all.stated_text, t.stated_text);
}

#[test]
fn vllm_token_id_strings_take_their_text_from_prompt_logprobs() {
    let t = read("vllm_token_ids.json");
    assert_eq!(bytes(&t), vec![s(" world"), vec![]]);
    assert_eq!(logprobs(&t), vec![Some(-0.5), Some(-1.25)]);
    assert_eq!(ids(&t), vec![Some(1917), Some(30)]);
    assert_eq!(flags(&t, |k| k.lossy), [false, true]);
    assert_eq!(
        t.tokens[1].top,
        vec![alt(b"", -1.25, Some(30)), alt(b"Hello", -2.0, Some(9906))]
    );
    assert_eq!(t.stated_text.as_deref(), Some(" world?"));
    let all = read_all("vllm_token_ids.json");
    assert_eq!(all.prompt_tokens, 3);
    // No echo: the first prompt token (null in prompt_logprobs) has no text.
    assert_eq!(bytes(&all)[..3], [vec![], s("Hello"), s(" world")]);
    assert_eq!(flags(&all, |k| k.lossy)[..3], [true, false, false]);
    assert_eq!(ids(&all)[0], Some(128000));
}

#[test]
fn vllm_chat_prompt_logprobs_at_the_top_level() {
    let chat = br#"{"object":"chat.completion","choices":[{"message":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[]}]}}],
        "prompt_logprobs":[null,{"42":{"logprob":-1.0,"rank":1,"decoded_token":"K"}}],"usage":{"completion_tokens":1}}"#;
    assert_eq!(detect(chat), Ok(TraceFormat::VllmPromptLogprobs));
    let t = parse_trace(chat, None).unwrap();
    assert_eq!(bytes(&t), vec![s("Hi")]);
    let all = parse_trace_with(chat, None, &WITH_PROMPT).unwrap();
    assert_eq!(bytes(&all), vec![vec![], s("K"), s("Hi")]);
    assert_eq!(logprobs(&all), vec![None, Some(-1.0), Some(-0.5)]);
    assert_eq!(all.prompt_tokens, 2);
}

#[test]
fn a_prompt_only_trace_asks_for_the_prompt() {
    // vLLM `echo` with `max_tokens: 0`: only the prompt was scored.
    let only = br#"{"choices":[{"text":"Hi there","logprobs":{"tokens":["Hi"," there"],"token_logprobs":[null,-2.0],"top_logprobs":[null,null]},
        "prompt_logprobs":[null,{"1":{"logprob":-2.0,"rank":3,"decoded_token":" there"}}]}],"usage":{"completion_tokens":0}}"#;
    let e = parse_trace(only, None).unwrap_err();
    assert_eq!(e, TraceError::OnlyPrompt(2));
    assert_eq!(
        e.to_string(),
        "the trace scores only the prompt (2 tokens) and has no generated tokens; read it with --include-prompt"
    );
    let all = parse_trace_with(only, None, &WITH_PROMPT).unwrap();
    assert_eq!(bytes(&all), vec![s("Hi"), s(" there")]);
    assert_eq!(all.prompt_tokens, 2);
}

// ----- llama-cpp-python -----

#[test]
fn llama_cpp_python_echo_marks_dropped_bytes_lossy() {
    let t = read("llama_cpp_python_echo.json");
    // " 💙 ok" arrives as " " (the emoji's first bytes dropped), "" and " ok".
    assert_eq!(bytes(&t), vec![s(" "), vec![], s(" ok")]);
    assert_eq!(logprobs(&t), vec![Some(-1.5), Some(-0.01), Some(-0.75)]);
    assert_eq!(flags(&t, |k| k.lossy), [false, true, false]);
    assert_eq!(
        t.tokens[2].top,
        vec![alt(b" ok", -0.75, None), alt(b"!", -1.0, None)]
    );
    // The prompt part of the echoed text cannot be cut off exactly: its bytes were dropped too.
    assert_eq!(t.stated_text, None);
    assert_eq!(t.stated_token_count, Some(3));
    let all = read_all("llama_cpp_python_echo.json");
    assert_eq!(all.prompt_tokens, 3);
    assert_eq!(bytes(&all)[..3], [s("Say"), s(" "), vec![]]);
    assert_eq!(logprobs(&all)[..3], [None, Some(-3.0), Some(-0.25)]);
}

#[test]
fn llama_cpp_python_chat_keeps_empty_tokens_without_bytes() {
    // The chat shape with `bytes: null`; the partial token's text was dropped to "".
    let chat = br#"{"choices":[{"message":{"content":" \u00e9!"},"logprobs":{"content":[
        {"token":" ","logprob":-0.5,"bytes":null,"top_logprobs":[]},
        {"token":"","logprob":-0.25,"bytes":null,"top_logprobs":[{"token":"","logprob":-0.25,"bytes":null}]},
        {"token":"!","logprob":-1.0,"bytes":null,"top_logprobs":[]}],"refusal":null}}]}"#;
    let t = parse_trace(chat, None).unwrap();
    assert_eq!(t.format, TraceFormat::OpenaiChat);
    assert_eq!(bytes(&t), vec![s(" "), vec![], s("!")]);
    assert_eq!(flags(&t, |k| k.lossy), [false, true, false]);
    assert_eq!(logprobs(&t), vec![Some(-0.5), Some(-0.25), Some(-1.0)]);
}

// ----- Together, Fireworks, DeepSeek -----

#[test]
fn together_chat_arrays_with_echoed_prompt() {
    let t = read("together_echo.json");
    assert_eq!(bytes(&t), vec![s(" 💙"), s(" ok")]);
    assert_eq!(logprobs(&t), vec![Some(-0.375), Some(-2.026558e-6)]);
    assert_eq!(ids(&t), vec![Some(64139), Some(5509)]);
    assert_eq!(t.tokens[0].top, vec![alt(" 💙".as_bytes(), -0.375, None)]);
    assert_eq!(t.stated_text.as_deref(), Some(" 💙 ok"));
    assert_eq!(t.stated_token_count, Some(2));
    let all = read_all("together_echo.json");
    assert_eq!(all.prompt_tokens, 2);
    assert_eq!(bytes(&all)[..2], [s("Hi"), s(" 日")]);
    assert_eq!(logprobs(&all)[..2], [None, Some(-4.5)]);
    assert_eq!(ids(&all)[..2], [Some(13347), Some(45429)]);
}

#[test]
fn fireworks_chat_echo_splits_at_the_completion_count() {
    let t = read("fireworks_echo_chat.json");
    assert_eq!(
        bytes(&t),
        vec![vec![32, 240, 159, 146], vec![153], s(" ok")]
    );
    assert_eq!(logprobs(&t), vec![Some(-0.5), Some(-0.01), Some(-0.25)]);
    assert_eq!(ids(&t), vec![Some(11410), Some(247), Some(5509)]);
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(&[32, 240, 159, 146], -0.5, Some(11410)),
            alt(b" ok", -1.5, Some(5509))
        ]
    );
    assert_eq!(String::from_utf8(t.generated_bytes()).unwrap(), " 💙 ok");
    assert_eq!(t.stated_text.as_deref(), Some(" 💙 ok"));
    let all = read_all("fireworks_echo_chat.json");
    assert_eq!(all.prompt_tokens, 2);
    assert_eq!(bytes(&all)[..2], [s("Hi"), s(" 日")]);
    assert_eq!(logprobs(&all)[..2], [None, Some(-4.5)]);
}

#[test]
fn deepseek_is_the_openai_chat_shape() {
    let t = read("deepseek_chat.json");
    assert_eq!(t.format, TraceFormat::OpenaiChat);
    assert_eq!(
        bytes(&t),
        vec![s("你好"), vec![32, 240, 159, 140], vec![141]]
    );
    assert_eq!(logprobs(&t), vec![Some(-0.05), Some(-0.75), Some(-0.001)]);
    assert_eq!(
        t.tokens[1].top,
        vec![
            alt(&[32, 240, 159, 140], -0.75, None),
            alt(b"!", -1.0, None)
        ]
    );
    assert_eq!(String::from_utf8(t.generated_bytes()).unwrap(), "你好 🌍");
    assert_eq!(t.model.as_deref(), Some("deepseek-chat"));
}
