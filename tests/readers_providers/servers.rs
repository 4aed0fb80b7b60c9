//! Ollama, TGI, SGLang, Gemini and transformers dumps.

use hedge::trace::detect::detect;
use hedge::trace::{parse_trace, TraceFormat};

use super::*;

// ----- Ollama -----

#[test]
fn ollama_generate_marks_replacement_bytes_lossy() {
    let t = read("ollama_generate.json");
    assert_eq!(
        bytes(&t),
        vec![
            s("Hi"),
            s(" "),
            FFFD.to_vec(),
            FFFD.to_vec(),
            FFFD.to_vec(),
            FFFD.to_vec(),
            s(" 日"),
            s("本")
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.1),
            Some(-0.3),
            Some(-0.026083292439579964),
            Some(-0.00008320288907270879),
            Some(-0.4043496251106262),
            Some(-0.02215679921209812),
            Some(-1.5),
            Some(-0.5)
        ]
    );
    assert_eq!(
        flags(&t, |k| k.lossy),
        [false, false, true, true, true, true, false, false]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b"Hi", -0.1, None), alt(b"Hello", -2.5, None)]
    );
    assert_eq!(t.stated_text.as_deref(), Some("Hi 😊 日本"));
    assert_eq!(t.stated_token_count, Some(8));
    assert_eq!(t.model.as_deref(), Some("ministral-3:8b"));
}

#[test]
fn ollama_chat_stream_concatenates_chunks() {
    let t = read("ollama_chat_stream.jsonl");
    assert_eq!(
        bytes(&t),
        vec![s("中"), s("文"), s(" "), FFFD.to_vec(), FFFD.to_vec()]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.7),
            Some(-0.125),
            Some(-0.2),
            Some(-0.3),
            Some(-0.01)
        ]
    );
    assert_eq!(flags(&t, |k| k.lossy), [false, false, false, true, true]);
    assert_eq!(
        t.tokens[1].top,
        vec![
            alt("文".as_bytes(), -0.125, None),
            alt("国".as_bytes(), -2.5, None)
        ]
    );
    assert_eq!(t.stated_text.as_deref(), Some("中文 💙"));
    assert_eq!(t.stated_token_count, Some(5));
    assert_eq!(t.model.as_deref(), Some("qwen3:0.6b"));
}

// ----- TGI -----

#[test]
fn tgi_details_with_prefill_and_top_tokens() {
    let t = read("tgi_generate.json");
    // 💙 arrives with its last byte token; the three before it have "" (kept, lossy).
    assert_eq!(
        bytes(&t),
        vec![
            s(" Blue"),
            s(" "),
            vec![],
            vec![],
            vec![],
            s("💙"),
            s(" 日")
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.75),
            Some(-0.6),
            Some(-0.5),
            Some(-0.1),
            Some(-0.02),
            Some(-0.001),
            Some(-1.25)
        ]
    );
    assert_eq!(
        flags(&t, |k| k.lossy),
        [false, false, true, true, true, false, false]
    );
    assert_eq!(
        ids(&t),
        vec![
            Some(4031),
            Some(29871),
            Some(243),
            Some(162),
            Some(149),
            Some(156),
            Some(29871)
        ]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(b" Blue", -0.75, Some(4031)),
            alt(b" Red", -1.0, Some(4122))
        ]
    );
    assert_eq!(
        t.tokens[6].top,
        vec![
            alt(" 日".as_bytes(), -1.25, Some(29871)),
            alt(b"\n", -2.0, Some(13))
        ]
    );
    // The special </s> is not part of the text.
    assert_eq!(
        String::from_utf8(t.generated_bytes()).unwrap(),
        " Blue 💙 日"
    );
    assert_eq!(t.stated_text.as_deref(), Some(" Blue 💙 日"));
    assert_eq!(t.stated_token_count, Some(8));

    let all = read_all("tgi_generate.json");
    assert_eq!(all.prompt_tokens, 6);
    assert_eq!(
        bytes(&all)[..6],
        [
            s("<s>"),
            s("What"),
            FFFD.to_vec(),
            FFFD.to_vec(),
            FFFD.to_vec(),
            s("?")
        ]
    );
    assert_eq!(
        logprobs(&all)[..6],
        [
            None,
            Some(-8.5),
            Some(-4.0),
            Some(-0.5),
            Some(-0.01),
            Some(-2.0)
        ]
    );
    assert_eq!(
        flags(&all, |k| k.lossy)[..6],
        [false, false, true, true, true, false]
    );
}

#[test]
fn tgi_stream_and_list_response() {
    let t = read("tgi_stream.txt");
    assert_eq!(bytes(&t), vec![s("中"), vec![], vec![], s("文")]);
    assert_eq!(
        logprobs(&t),
        vec![Some(-0.5), Some(-0.2), Some(-0.1), Some(-0.05)]
    );
    assert_eq!(flags(&t, |k| k.lossy), [false, true, true, false]);
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt("中".as_bytes(), -0.5, Some(30275)),
            alt("日".as_bytes(), -1.5, Some(30287))
        ]
    );
    assert_eq!(t.stated_text.as_deref(), Some("中文"));
    assert_eq!(t.stated_token_count, Some(5));
    // TGI's `/` route answers with a one-element list.
    let list = br#"[{"generated_text":" Is","details":{"finish_reason":"length","generated_tokens":1,"seed":null,
        "tokens":[{"id":1317,"text":" Is","logprob":-1.1894531,"special":false}]}}]"#;
    assert_eq!(detect(list), Ok(TraceFormat::Tgi));
    let t = parse_trace(list, None).unwrap();
    assert_eq!(bytes(&t), vec![s(" Is")]);
    assert_eq!(logprobs(&t), vec![Some(-1.1894531)]);
    let (_, r) = shape_reason(parse_trace(br#"{"generated_text":"x"}"#, None));
    assert_eq!(
        r,
        "details is missing (the request did not set \"details\": true)"
    );
}

// ----- SGLang -----

#[test]
fn sglang_triples_with_input_and_output() {
    let t = read("sglang_generate.json");
    assert_eq!(
        bytes(&t),
        vec![s(" Tokyo"), s(" "), FFFD.to_vec(), FFFD.to_vec(), s("東京")]
    );
    assert_eq!(
        logprobs(&t),
        vec![Some(-0.31), Some(-0.9), Some(-0.5), Some(-0.01), Some(-1.5)]
    );
    assert_eq!(flags(&t, |k| k.lossy), [false, false, true, true, false]);
    assert_eq!(
        ids(&t),
        vec![Some(26194), Some(220), Some(9468), Some(120), Some(100391)]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(b" Tokyo", -0.31, Some(26194)),
            alt(b" the", -2.1, Some(279))
        ]
    );
    assert!(t.tokens[1].top.is_empty());
    assert_eq!(
        t.tokens[4].top,
        vec![
            alt("東京".as_bytes(), -1.5, Some(100391)),
            alt(b"\n", -1.6, Some(198))
        ]
    );
    assert_eq!(t.stated_text.as_deref(), Some(" Tokyo 🗼東京"));
    assert_eq!(t.stated_token_count, Some(5));

    let all = read_all("sglang_generate.json");
    assert_eq!(all.prompt_tokens, 5);
    assert_eq!(
        bytes(&all)[..5],
        [s("The"), s(" capital"), s(" of"), s(" "), s("日本")]
    );
    assert_eq!(
        logprobs(&all)[..5],
        [None, Some(-9.41), Some(-1.02), Some(-3.5), Some(-6.0)]
    );
    assert_eq!(
        all.tokens[1].top,
        vec![
            alt(b" is", -2.0, Some(374)),
            alt(b" capital", -9.41, Some(6722))
        ]
    );
}

#[test]
fn sglang_without_token_text_says_so() {
    let no_text = br#"{"text":"Paris","meta_info":{"output_token_logprobs":[[-0.31,12095,null]]}}"#;
    let (f, r) = shape_reason(parse_trace(no_text, None));
    assert_eq!(f, TraceFormat::Sglang);
    assert_eq!(
        r,
        "the logprob entries have no token text (the request did not set return_text_in_logprobs)"
    );
}

// ----- Gemini -----

#[test]
fn gemini_chosen_and_top_candidates() {
    let t = read("gemini.json");
    assert_eq!(bytes(&t), vec![s("Neutral"), s(" "), s("😊"), s(" 中")]);
    assert_eq!(
        logprobs(&t),
        vec![Some(-0.0214), Some(-0.5), Some(-0.25), Some(-1.5)]
    );
    assert_eq!(
        ids(&t),
        vec![Some(12345), Some(235248), Some(241847), Some(235248)]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![
            alt(b"Neutral", -0.0214, Some(12345)),
            alt(b"Positive", -4.8219, Some(23456)),
            alt(b"Negative", -5.6293, Some(34567))
        ]
    );
    assert_eq!(
        t.tokens[2].top,
        vec![
            alt("😊".as_bytes(), -0.25, Some(241847)),
            alt("🙂".as_bytes(), -1.75, Some(243810))
        ]
    );
    assert_eq!(t.stated_text.as_deref(), Some("Neutral 😊 中"));
    assert_eq!(t.stated_token_count, Some(4));
    assert_eq!(t.model.as_deref(), Some("gemini-2.0-flash"));
}

#[test]
fn gemini_streams_sse_and_array_and_snake_case() {
    let t = read("gemini_stream.txt");
    assert_eq!(bytes(&t), vec![s("日本"), s(" 🎌")]);
    assert_eq!(logprobs(&t), vec![Some(-0.75), Some(-2.25)]);
    assert_eq!(t.stated_text.as_deref(), Some("日本 🎌"));
    assert_eq!(t.stated_token_count, Some(2));
    // streamGenerateContent without alt=sse: a JSON array of the same chunks.
    let text = String::from_utf8(fixture("gemini_stream.txt")).unwrap();
    let chunks: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|l| l.starts_with('{'))
        .collect();
    let array = format!("[{}]", chunks.join(",\n"));
    assert_eq!(detect(array.as_bytes()), Ok(TraceFormat::Gemini));
    assert_eq!(parse_trace(array.as_bytes(), None).unwrap(), t);
    // The Python SDK's model_dump() uses snake_case.
    let snake = br#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"logprobs_result":{
        "chosen_candidates":[{"token":"Hi","token_id":5,"log_probability":-0.5}],
        "top_candidates":[{"candidates":[{"token":"Hi","token_id":5,"log_probability":-0.5}]}]}}],
        "model_version":"gemini-2.0-flash"}"#;
    let t = parse_trace(snake, None).unwrap();
    assert_eq!(bytes(&t), vec![s("Hi")]);
    assert_eq!(t.tokens[0].top, vec![alt(b"Hi", -0.5, Some(5))]);
    assert_eq!(t.model.as_deref(), Some("gemini-2.0-flash"));
    let (_, r) = shape_reason(parse_trace(
        br#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"avgLogprobs":-0.1}]}"#,
        None,
    ));
    assert_eq!(r, "candidates[0].logprobsResult.chosenCandidates is missing or empty (the request did not set responseLogprobs)");
}

// ----- transformers dumps -----

#[test]
fn hf_transformers_raw_gpt2_pieces() {
    let t = read("hf_transformers.jsonl");
    assert_eq!(
        bytes(&t),
        vec![
            s(" of"),
            vec![32, 230, 151],
            vec![165],
            vec![32, 240, 159, 146],
            vec![153]
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![
            Some(-0.5),
            Some(-1.75),
            Some(-0.0625),
            Some(-2.5),
            Some(-0.125)
        ]
    );
    assert_eq!(flags(&t, |k| k.lossy), [false; 5]);
    assert_eq!(
        ids(&t),
        vec![Some(286), Some(9273), Some(98), Some(12520), Some(247)]
    );
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b" of", -0.5, Some(286)), alt(b" is", -1.25, Some(318))]
    );
    assert_eq!(t.tokens[0].entropy_bits, Some(2.5));
    assert_eq!(String::from_utf8(t.generated_bytes()).unwrap(), " of 日 💙");
    assert_eq!(t.model.as_deref(), Some("gpt2"));
    assert_eq!(t.vocab_size, Some(50257));
    let all = read_all("hf_transformers.jsonl");
    assert_eq!(all.prompt_tokens, 2);
    assert_eq!(bytes(&all)[..2], [s("The"), s(" capital")]);
    assert_eq!(logprobs(&all)[..2], [None, Some(-7.31)]);
}

#[test]
fn hf_transformers_decoded_array() {
    let t = read("hf_transformers_decoded.json");
    assert_eq!(
        bytes(&t),
        vec![
            s(" the"),
            [&[32u8][..], &FFFD].concat(),
            FFFD.to_vec(),
            s(" 中")
        ]
    );
    assert_eq!(
        logprobs(&t),
        vec![Some(-1.414), Some(-2.5), Some(-0.125), Some(-3.0)]
    );
    assert_eq!(flags(&t, |k| k.lossy), [false, true, true, false]);
    assert_eq!(
        t.tokens[0].top,
        vec![alt(b" the", -1.414, Some(262)), alt(b" a", -1.5, Some(257))]
    );
    // One line alone is detected too.
    let one = br#"{"token_id":262,"token":" the","logprob":-1.414}"#;
    assert_eq!(detect(one), Ok(TraceFormat::HfTransformers));
    let (_, r) = shape_reason(parse_trace(
        b"{\"token\":\"a\",\"logprob\":-1}\n{\"token\":\"b\",\"logprob\":-1,\"prompt\":true}\n",
        None,
    ));
    assert_eq!(r, "line 2: a prompt token after output tokens");
}
