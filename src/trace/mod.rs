//! The trace: what a model said about each token it produced, independent of the provider.
//!
//! Every reader turns one provider's JSON into a [`Trace`]. Nothing downstream looks at
//! provider JSON again: alignment, measures and findings only see tokens with bytes, ln p
//! and alternatives.

pub mod detect;
mod fast;
mod file;
pub mod gemini;
pub mod hf_transformers;
mod json_scan;
mod lines;
pub mod llamacpp;
pub mod native;
pub mod ollama;
pub mod openai_chat;
pub mod openai_legacy;
pub mod openai_responses;
mod probe;
mod prompt;
pub mod sglang;
pub mod surface;
pub mod tgi;
pub mod vllm;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The logprob formats hedge reads. The `name` of each is what `--trace-format` takes and what
/// the JSON report prints as `trace_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    /// hedge's own JSONL (header line, then one token per line).
    Native,
    /// OpenAI Chat Completions `choices[].logprobs.content[]` (also llama-server, Ollama and
    /// DeepSeek chat, and llama-server's `/v1/completions`, which uses the same shape).
    OpenaiChat,
    /// A saved stream of `chat.completion.chunk` objects, one per line (JSONL or SSE `data:` lines).
    OpenaiChatStream,
    /// OpenAI legacy Completions: parallel `tokens` / `token_logprobs` / `top_logprobs` arrays.
    OpenaiCompletions,
    /// llama.cpp `/completion` `completion_probabilities[]` (both the current and the old shape,
    /// a whole response or a saved stream).
    LlamacppCompletion,
    /// OpenAI Responses API `output[].content[type=output_text].logprobs[]`, or a saved stream of
    /// its events (`response.output_text.delta` with `logprobs`).
    OpenaiResponses,
    /// vLLM completions or chat with the vLLM-only `prompt_logprobs` (prompt scoring).
    VllmPromptLogprobs,
    /// Ollama's native `/api/generate` and `/api/chat`: top-level `logprobs[]`, whole or streamed.
    Ollama,
    /// Hugging Face TGI `/generate` with `details` (`tokens`, `prefill`, `top_tokens`), or its
    /// saved SSE stream.
    Tgi,
    /// SGLang native `/generate`: `meta_info.{input,output}_token_logprobs` triples.
    Sglang,
    /// Gemini / Vertex AI `candidates[].logprobsResult`, whole or streamed.
    Gemini,
    /// A JSONL (or JSON array) dump of Hugging Face transformers scores, one token per line.
    HfTransformers,
}

impl TraceFormat {
    pub const ALL: [TraceFormat; 12] = [
        TraceFormat::Native,
        TraceFormat::OpenaiChat,
        TraceFormat::OpenaiChatStream,
        TraceFormat::OpenaiCompletions,
        TraceFormat::LlamacppCompletion,
        TraceFormat::OpenaiResponses,
        TraceFormat::VllmPromptLogprobs,
        TraceFormat::Ollama,
        TraceFormat::Tgi,
        TraceFormat::Sglang,
        TraceFormat::Gemini,
        TraceFormat::HfTransformers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Native => "native",
            TraceFormat::OpenaiChat => "openai-chat",
            TraceFormat::OpenaiChatStream => "openai-chat-stream",
            TraceFormat::OpenaiCompletions => "openai-completions",
            TraceFormat::LlamacppCompletion => "llamacpp-completion",
            TraceFormat::OpenaiResponses => "openai-responses",
            TraceFormat::VllmPromptLogprobs => "vllm-prompt-logprobs",
            TraceFormat::Ollama => "ollama",
            TraceFormat::Tgi => "tgi",
            TraceFormat::Sglang => "sglang",
            TraceFormat::Gemini => "gemini",
            TraceFormat::HfTransformers => "hf-transformers",
        }
    }

    /// The error for input that is JSON but not this format's shape.
    pub(crate) fn shape(self, reason: impl Into<String>) -> TraceError {
        TraceError::Shape {
            format: self,
            reason: reason.into(),
        }
    }

    pub fn from_name(name: &str) -> Option<TraceFormat> {
        TraceFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token's bytes: held inline up to 16 bytes (nearly every token), so that reading a trace
/// of a few hundred thousand tokens, each with its alternatives, does not allocate for each.
pub type TokenBytes = smallvec::SmallVec<[u8; 16]>;

/// One alternative the model listed at a position (a `top_logprobs` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// Exact bytes where known, otherwise the UTF-8 of the decoded surface text.
    pub bytes: TokenBytes,
    /// Ln p. Sentinels are kept out of the list by the readers.
    pub logprob: f64,
    pub id: Option<u32>,
}

impl Alternative {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// What is known about one generated token.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Token {
    /// The token's bytes in the generated text. A token may end or start inside a UTF-8
    /// character; the concatenation of all tokens' bytes is the generated text.
    pub bytes: TokenBytes,
    /// Ln p of the chosen token; `None` when the provider gave none (a `null`, the first
    /// prompt token) or gave a sentinel instead of a value (see `sentinel`).
    pub logprob: Option<f64>,
    pub id: Option<u32>,
    /// The listed alternatives, most likely first. May include the chosen token itself.
    pub top: Vec<Alternative>,
    /// The provider said "below the listed top-k" (−9999, ≈ −3.4e38) instead of a value.
    pub sentinel: bool,
    /// The entry carries the bytes of several tokens but the logprob of the last one only
    /// (llama.cpp holds back tokens that end mid-character).
    pub merged: bool,
    /// The bytes were reconstructed from a lossy surface form (U+FFFD, dropped partial bytes).
    pub lossy: bool,
    /// The exact entropy of the full next-token distribution in bits, when the source had it
    /// (a local model); otherwise the measures give an interval from `top`.
    pub entropy_bits: Option<f64>,
}

impl Token {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A sequence of tokens with whatever the provider said about the whole generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub format: TraceFormat,
    pub tokens: Vec<Token>,
    /// Vocabulary size when the source states it (native header, local model).
    pub vocab_size: Option<u32>,
    /// The generated text as the response states it (`message.content`), when present.
    pub stated_text: Option<String>,
    /// How many tokens the provider says it generated (`usage.completion_tokens`,
    /// `tokens_predicted`); more than `tokens.len()` means entries were merged or dropped.
    pub stated_token_count: Option<usize>,
    pub model: Option<String>,
    /// How many of the leading `tokens` are prompt tokens the provider scored (echo,
    /// `prompt_logprobs`, TGI `prefill`, SGLang `input_token_logprobs`) rather than generated
    /// ones; the output's tokens follow them. The readers count them here, and
    /// [`parse_trace_with`] removes them (leaving 0) unless [`ReadOptions::include_prompt`] is
    /// set. `stated_text` and `stated_token_count` always describe the output only.
    pub prompt_tokens: usize,
}

impl Trace {
    pub fn new(format: TraceFormat, tokens: Vec<Token>) -> Trace {
        Trace {
            format,
            tokens,
            vocab_size: None,
            stated_text: None,
            stated_token_count: None,
            model: None,
            prompt_tokens: 0,
        }
    }

    /// For tests: a trace of `doc` cut after each space, with logprobs cycling over
    /// 0, −0.7, …, −8.4.
    #[cfg(test)]
    pub(crate) fn of_words(doc: &str) -> Trace {
        let tokens = doc
            .split_inclusive(' ')
            .enumerate()
            .map(|(i, w)| Token {
                bytes: w.as_bytes().into(),
                logprob: Some(-((i % 13) as f64) * 0.7),
                ..Token::default()
            })
            .collect();
        Trace::new(TraceFormat::Native, tokens)
    }

    /// The generated text: all tokens' bytes in order.
    pub fn generated_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.tokens.iter().map(|t| t.bytes.len()).sum());
        for t in &self.tokens {
            out.extend_from_slice(&t.bytes);
        }
        out
    }
}

/// Why a trace could not be read. Messages are shown to users as-is after the file name.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TraceError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("unrecognised logprob format (top-level keys: {0}); pass --trace-format to force one")]
    Unrecognised(String),
    #[error("does not match the {format} format: {reason}")]
    Shape { format: TraceFormat, reason: String },
    #[error("the trace has no tokens")]
    Empty,
    #[error(
        "the trace scores only the prompt ({0} tokens) and has no generated tokens; read it with --include-prompt"
    )]
    OnlyPrompt(usize),
    #[error("is an empty file")]
    EmptyFile,
    #[error("is not UTF-8 text (byte {0} is invalid)")]
    NotUtf8(usize),
    #[error(
        "is {size} bytes, over the {limit}-byte limit for traces (raise it with --max-trace-bytes)"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("cannot be read: {0}")]
    Io(String),
}

/// The largest trace file hedge reads by default: far above any real response, low enough that
/// a wrong file (a video, a disk image) is refused at once instead of filling memory.
pub const DEFAULT_MAX_TRACE_BYTES: u64 = 512 * 1024 * 1024;

/// How to read a trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Keep the prompt tokens of a prompt-scoring trace (echo, `prompt_logprobs`, `prefill`,
    /// `input_token_logprobs`) in front of the output tokens, counted by
    /// [`Trace::prompt_tokens`]. Off by default: the document is the output.
    pub include_prompt: bool,
    /// Map a large trace file instead of reading it: faster, for a short-lived process (the
    /// CLI). If another program cuts the file short meanwhile, the process ends with an error
    /// line and exit status 2, so a long-lived one (the language server) leaves this off.
    pub map_large_files: bool,
}

/// Read a trace from bytes, detecting the format unless one is forced. Prompt tokens are
/// left out (see [`parse_trace_with`]).
pub fn parse_trace(data: &[u8], forced: Option<TraceFormat>) -> Result<Trace, TraceError> {
    parse_trace_with(data, forced, &ReadOptions::default())
}

/// Read a trace from bytes with options, detecting the format unless one is forced.
pub fn parse_trace_with(
    data: &[u8],
    forced: Option<TraceFormat>,
    options: &ReadOptions,
) -> Result<Trace, TraceError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    // Checking a few hundred MB is a visible part of reading them: the SIMD check first, and
    // the standard library's only to say where a bad byte is.
    if simdutf8::basic::from_utf8(data).is_err() {
        let at = std::str::from_utf8(data)
            .err()
            .map_or(0, |e| e.valid_up_to());
        return Err(TraceError::NotUtf8(at));
    }
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(TraceError::EmptyFile);
    }
    // The large traces in practice (chat completions, llama.cpp responses with exact bytes)
    // are read in one pass; everything else, and every error, takes the general path.
    if let Some(trace) = fast::read(data, forced) {
        return finish(trace, options);
    }
    parse_general(data, forced, options)
}

/// Every reader, after format detection (or the forced format).
fn parse_general(
    data: &[u8],
    forced: Option<TraceFormat>,
    options: &ReadOptions,
) -> Result<Trace, TraceError> {
    let format = match forced {
        Some(f) => f,
        None => detect::detect(data)?,
    };
    let trace = match format {
        TraceFormat::Native => native::read(data)?,
        TraceFormat::OpenaiChat => openai_chat::read(data)?,
        TraceFormat::OpenaiChatStream => openai_chat::read_stream(data)?,
        TraceFormat::OpenaiCompletions => openai_legacy::read(data)?,
        TraceFormat::LlamacppCompletion => llamacpp::read(data)?,
        TraceFormat::OpenaiResponses => openai_responses::read(data)?,
        TraceFormat::VllmPromptLogprobs => vllm::read(data)?,
        TraceFormat::Ollama => ollama::read(data)?,
        TraceFormat::Tgi => tgi::read(data)?,
        TraceFormat::Sglang => sglang::read(data)?,
        TraceFormat::Gemini => gemini::read(data)?,
        TraceFormat::HfTransformers => hf_transformers::read(data)?,
    };
    finish(trace, options)
}

/// Drop the prompt's tokens unless asked for, and refuse a trace with no tokens.
fn finish(mut trace: Trace, options: &ReadOptions) -> Result<Trace, TraceError> {
    let prompt = trace.prompt_tokens.min(trace.tokens.len());
    if !options.include_prompt && prompt > 0 {
        trace.tokens.drain(..prompt);
        trace.prompt_tokens = 0;
        if trace.tokens.is_empty() {
            return Err(TraceError::OnlyPrompt(prompt));
        }
    }
    if trace.tokens.is_empty() {
        return Err(TraceError::Empty);
    }
    Ok(trace)
}

/// Read a trace file, refusing files over `max_bytes` before reading them.
pub fn read_trace_file(
    path: &Path,
    forced: Option<TraceFormat>,
    max_bytes: u64,
) -> Result<Trace, TraceError> {
    read_trace_file_with(path, forced, max_bytes, &ReadOptions::default())
}

/// [`read_trace_file`] with options.
pub fn read_trace_file_with(
    path: &Path,
    forced: Option<TraceFormat>,
    max_bytes: u64,
    options: &ReadOptions,
) -> Result<Trace, TraceError> {
    let meta = std::fs::metadata(path).map_err(|e| TraceError::Io(e.to_string()))?;
    if meta.len() > max_bytes {
        return Err(TraceError::TooLarge {
            size: meta.len(),
            limit: max_bytes,
        });
    }
    let data = if options.map_large_files {
        file::map_whole(path)
    } else {
        file::read_whole(path).map(file::Contents::Read)
    }
    .map_err(|e| TraceError::Io(e.to_string()))?;
    let trace = parse_trace_with(&data, forced, options);
    file::release(data);
    trace
}

/// Sentinel detection shared by every reader: −9999 (OpenAI, vLLM) and the float minimum
/// (llama.cpp) are markers, not values; so are NaN and +∞. A positive logprob is clamped to 0
/// by the caller (rounding in some servers gives +1e-7).
pub fn is_sentinel(logprob: f64) -> bool {
    !logprob.is_finite() || logprob <= -9999.0
}

/// Turn a provider logprob into (value, sentinel flag). Tiny positive values from rounding
/// become 0; anything above that is not a log-probability and is treated as unknown.
pub fn classify_logprob(logprob: Option<f64>) -> (Option<f64>, bool) {
    match logprob {
        None => (None, false),
        Some(lp) if is_sentinel(lp) => (None, true),
        Some(lp) if lp > 1e-3 => (None, true),
        Some(lp) => (Some(lp.min(0.0)), false),
    }
}
