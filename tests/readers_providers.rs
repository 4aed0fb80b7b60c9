//! The provider readers (OpenAI Responses, vLLM prompt logprobs, llama-cpp-python,
//! Ollama, TGI, SGLang, Gemini, Together, Fireworks, DeepSeek, transformers dumps), on fixtures
//! built from each provider's documented shape (`tests/fixtures/traces/make_provider_fixtures.py`).

use hedge::trace::detect::detect;
use hedge::trace::{
    native, parse_trace, parse_trace_with, ReadOptions, Trace, TraceError, TraceFormat,
};

#[path = "readers_providers/openai_compatible.rs"]
mod openai_compatible;
#[path = "readers_providers/servers.rs"]
mod servers;
mod trace_helpers;

use trace_helpers::{alt, bytes, fixture, flags, logprobs, read, shape_reason};

pub(crate) const WITH_PROMPT: ReadOptions = ReadOptions {
    include_prompt: true,
    map_large_files: false,
};

pub(crate) fn read_all(name: &str) -> Trace {
    parse_trace_with(&fixture(name), None, &WITH_PROMPT).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) fn ids(t: &Trace) -> Vec<Option<u32>> {
    t.tokens.iter().map(|t| t.id).collect()
}

pub(crate) fn s(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

pub(crate) const FFFD: [u8; 3] = [0xEF, 0xBF, 0xBD];

pub(crate) const FIXTURES: [(&str, TraceFormat); 17] = [
    ("openai_responses.json", TraceFormat::OpenaiResponses),
    ("openai_responses_stream.txt", TraceFormat::OpenaiResponses),
    (
        "vllm_echo_prompt_logprobs.json",
        TraceFormat::VllmPromptLogprobs,
    ),
    ("vllm_token_ids.json", TraceFormat::VllmPromptLogprobs),
    ("llama_cpp_python_echo.json", TraceFormat::OpenaiCompletions),
    ("ollama_generate.json", TraceFormat::Ollama),
    ("ollama_chat_stream.jsonl", TraceFormat::Ollama),
    ("tgi_generate.json", TraceFormat::Tgi),
    ("tgi_stream.txt", TraceFormat::Tgi),
    ("sglang_generate.json", TraceFormat::Sglang),
    ("gemini.json", TraceFormat::Gemini),
    ("gemini_stream.txt", TraceFormat::Gemini),
    ("together_echo.json", TraceFormat::OpenaiCompletions),
    ("fireworks_echo_chat.json", TraceFormat::OpenaiChat),
    ("deepseek_chat.json", TraceFormat::OpenaiChat),
    ("hf_transformers.jsonl", TraceFormat::HfTransformers),
    ("hf_transformers_decoded.json", TraceFormat::HfTransformers),
];

#[test]
fn detects_every_provider_fixture() {
    for (name, format) in FIXTURES {
        assert_eq!(detect(&fixture(name)), Ok(format), "{name}");
        assert_eq!(read(name).format, format, "{name}");
        assert_eq!(read(name).prompt_tokens, 0, "{name}");
        // Forcing the detected format reads the same trace.
        assert_eq!(parse_trace(&fixture(name), Some(format)), Ok(read(name)));
    }
}

#[test]
fn format_names_are_kebab_case_and_round_trip() {
    let names: Vec<&str> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
    for n in [
        "openai-responses",
        "vllm-prompt-logprobs",
        "ollama",
        "tgi",
        "sglang",
        "gemini",
        "hf-transformers",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    for f in TraceFormat::ALL {
        assert_eq!(TraceFormat::from_name(f.name()), Some(f));
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, format!("\"{}\"", f.name()));
    }
}

#[test]
fn unknown_shapes_still_list_their_keys() {
    let e = parse_trace(br#"{"result": {"tokens": []}, "meta": 1}"#, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unrecognised logprob format (top-level keys: result, meta); pass --trace-format to force one"
    );
    // A key some provider uses is not enough on its own.
    let e = parse_trace(br#"{"output": [], "id": 1}"#, None).unwrap_err();
    assert_eq!(e, TraceError::Unrecognised("output, id".into()));
    assert_eq!(
        detect(br#"[{"x": 1}]"#),
        Err(TraceError::Unrecognised("an array".into()))
    );
    assert_eq!(
        detect(b"{\"type\":\"other\"}\n{\"type\":\"other\"}\n"),
        Err(TraceError::Unrecognised("type".into()))
    );
}

#[test]
fn prompt_traces_round_trip_through_native() {
    for (name, _) in FIXTURES {
        let t = read_all(name);
        let mut out = Vec::new();
        native::write(&t, &mut out).unwrap();
        let back = parse_trace_with(&out, None, &WITH_PROMPT).unwrap();
        assert_eq!(
            Trace {
                format: TraceFormat::Native,
                ..t.clone()
            },
            back,
            "{name}"
        );
        // Read without the prompt, the native file gives the output only.
        let output = parse_trace(&out, None).unwrap();
        assert_eq!(output.tokens, read(name).tokens, "{name}");
        assert_eq!(output.prompt_tokens, 0);
    }
}

#[test]
fn no_provider_input_makes_a_reader_panic() {
    for (name, _) in FIXTURES {
        let data = fixture(name);
        for cut in (0..=data.len()).step_by(11) {
            for forced in std::iter::once(None).chain(TraceFormat::ALL.map(Some)) {
                let _ = parse_trace(&data[..cut], forced);
                let _ = parse_trace_with(&data[..cut], forced, &WITH_PROMPT);
            }
        }
    }
}
