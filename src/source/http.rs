//! Scoring existing text over HTTP: the document (after an optional prompt) is sent to a model
//! server as a prompt, and the server's logprobs for the prompt's own tokens become the trace.
//!
//! Which servers can score existing text (they return *prompt* logprobs):
//!
//! | `--server` | request hedge sends | what comes back |
//! |---|---|---|
//! | `vllm` | `POST /v1/completions` with `echo: true, logprobs: 5, prompt_logprobs: 5, max_tokens: 1` | `choices[0].prompt_logprobs` |
//! | `llama-cpp-python` | `POST /v1/completions` with `echo: true, logprobs: 5, max_tokens: 1` (0 would mean "unlimited" there) | echoed legacy arrays |
//! | `tgi` | `POST /generate` with `details`, `decoder_input_details: true`, `max_new_tokens: 1` | `details.prefill` (no alternatives) |
//! | `sglang` | `POST /generate` with `return_logprob`, `logprob_start_len: 0`, `return_text_in_logprobs` | `meta_info.input_token_logprobs` |
//! | `together` | `POST /v1/completions` with `echo: true, logprobs: 5, max_tokens: 1` | `prompt[0].logprobs` |
//! | `fireworks` | `POST /v1/completions` with `echo: true, logprobs: 5, max_tokens: 1` | echoed legacy arrays |
//!
//! Which cannot: llama.cpp's `llama-server` (its `echo` is an error or silently ignored), Ollama
//! and OpenAI Chat Completions (and other chat-only APIs: DeepSeek, Gemini) return logprobs only
//! for text they generate. For those, draft the text with hedge (`hedge draft`, which saves the
//! logprobs as it writes) or save the logprobs when the text is generated. A server that answers
//! without prompt logprobs gets the error "the server at URL did not return prompt logprobs; …".
//!
//! Long documents are scored in chunks (see [`super::chunks`]), each after up to 512 bytes of the
//! text before it as context, and each chunk's tokens are cached on disk, so scoring again after
//! an edit sends only the chunks the edit touched.

use reqwest::Url;
use serde_json::{json, Value};

use super::chunks::{chunk_document, ChunkCache, ChunkOptions};
use super::cut::cut;
use super::transport::{
    parse_url, shown_url, ApiKey, HttpError, HttpErrorKind, HttpOptions, Transport,
};
use crate::trace::{parse_trace_with, ReadOptions, Token, Trace, TraceError, TraceFormat};

/// The servers that can score existing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    Vllm,
    LlamaCppPython,
    Tgi,
    Sglang,
    Together,
    Fireworks,
}

impl ServerKind {
    pub const ALL: [ServerKind; 6] = [
        ServerKind::Vllm,
        ServerKind::LlamaCppPython,
        ServerKind::Tgi,
        ServerKind::Sglang,
        ServerKind::Together,
        ServerKind::Fireworks,
    ];

    /// The name `--server` takes.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Vllm => "vllm",
            ServerKind::LlamaCppPython => "llama-cpp-python",
            ServerKind::Tgi => "tgi",
            ServerKind::Sglang => "sglang",
            ServerKind::Together => "together",
            ServerKind::Fireworks => "fireworks",
        }
    }

    pub fn from_name(name: &str) -> Option<ServerKind> {
        ServerKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Hosted APIs serve many models and need one named.
    pub fn needs_model(self) -> bool {
        matches!(self, ServerKind::Together | ServerKind::Fireworks)
    }

    /// The format the server's answer is read as (and the trace's format).
    pub fn format(self) -> TraceFormat {
        match self {
            ServerKind::Vllm => TraceFormat::VllmPromptLogprobs,
            ServerKind::Tgi => TraceFormat::Tgi,
            ServerKind::Sglang => TraceFormat::Sglang,
            _ => TraceFormat::OpenaiCompletions,
        }
    }

    fn native_generate(self) -> bool {
        matches!(self, ServerKind::Tgi | ServerKind::Sglang)
    }
}

/// Where to send scoring requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: ServerKind,
    /// The request URL (the given endpoint with the kind's path added where missing).
    pub url: Url,
    pub model: Option<String>,
}

impl Endpoint {
    /// `endpoint` is the server's base URL (`http://host:8000` or `http://host:8000/v1`) or the
    /// full request URL. `/v1/completions` is added for the OpenAI-compatible kinds, `/generate`
    /// for TGI and SGLang.
    pub fn new(
        kind: ServerKind,
        endpoint: &str,
        model: Option<String>,
    ) -> Result<Endpoint, HttpError> {
        let mut url = parse_url(endpoint)?;
        if kind.needs_model() && model.is_none() {
            return Err(HttpError::new(
                HttpErrorKind::Usage,
                format!("{} needs a model name (--model)", kind.name()),
            ));
        }
        let path = url.path().trim_end_matches('/').to_string();
        let path = if kind.native_generate() {
            match path.strip_suffix("/v1").unwrap_or(&path) {
                p if p.ends_with("/generate") => p.to_string(),
                p => format!("{p}/generate"),
            }
        } else if path.ends_with("/completions") {
            path
        } else if path.ends_with("/v1") {
            format!("{path}/completions")
        } else {
            format!("{path}/v1/completions")
        };
        url.set_path(&path);
        Ok(Endpoint { kind, url, model })
    }

    /// The request body that scores `text` as a prompt.
    pub fn request_body(&self, text: &str, top: u32) -> Value {
        let mut body = match self.kind {
            ServerKind::Tgi => json!({"inputs": text, "parameters": {
                "max_new_tokens": 1, "details": true, "decoder_input_details": true,
                "top_n_tokens": top.min(5), "do_sample": false}}),
            ServerKind::Sglang => json!({"text": text,
                "sampling_params": {"max_new_tokens": 1, "temperature": 0},
                "return_logprob": true, "logprob_start_len": 0, "top_logprobs_num": top,
                "return_text_in_logprobs": true}),
            ServerKind::Vllm => json!({"prompt": text, "max_tokens": 1, "temperature": 0,
                "echo": true, "logprobs": top, "prompt_logprobs": top}),
            ServerKind::Fireworks => json!({"prompt": text, "max_tokens": 1, "temperature": 0,
                "echo": true, "logprobs": top.min(5)}),
            ServerKind::LlamaCppPython | ServerKind::Together => json!({"prompt": text,
                "max_tokens": 1, "temperature": 0, "echo": true, "logprobs": top.min(20)}),
        };
        if let (Some(m), Some(obj)) = (&self.model, body.as_object_mut()) {
            if !self.kind.native_generate() {
                obj.insert("model".into(), Value::String(m.clone()));
            }
        }
        body
    }
}

/// How to score: chunk sizes, HTTP limits, the cache, and how many alternatives to ask for.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    pub chunks: ChunkOptions,
    pub http: HttpOptions,
    /// `None`: no cache (every chunk is requested).
    pub cache: Option<ChunkCache>,
    pub top_logprobs: u32,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            chunks: ChunkOptions::default(),
            http: HttpOptions::default(),
            cache: ChunkCache::default_dir().map(ChunkCache::new),
            top_logprobs: 5,
        }
    }
}

/// Progress of one document: chunks done (from the cache or the server) out of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreProgress {
    pub done: usize,
    pub total: usize,
    pub cached: usize,
}

/// A scored document.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The document's tokens only (no prompt, no generated token), ready for
    /// [`crate::analysis::analyze`] or [`crate::trace::native::write`].
    pub trace: Trace,
    pub chunks: usize,
    /// Chunks taken from the cache.
    pub cached: usize,
    /// HTTP requests that succeeded (one per chunk not in the cache).
    pub requests: usize,
    /// Why results could not be cached (scoring still succeeded), to show as a warning.
    pub cache_error: Option<String>,
}

/// A configured scoring client; cheap to clone, so one can be kept per settings change and
/// cloned into each background task.
#[derive(Clone)]
pub struct Scorer {
    endpoint: Endpoint,
    transport: Transport,
    options: ScoreOptions,
}

impl Scorer {
    pub fn new(
        endpoint: Endpoint,
        key: Option<ApiKey>,
        options: ScoreOptions,
    ) -> Result<Scorer, HttpError> {
        let transport = Transport::new(&options.http, key)?;
        Ok(Scorer {
            endpoint,
            transport,
            options,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Score a document, chunk by chunk, after an optional prompt (the text the document
    /// answered; it is scored as context and not kept). Cancel by dropping the future.
    pub async fn score(
        &self,
        text: &str,
        prompt: Option<&str>,
        progress: &(dyn Fn(ScoreProgress) + Send + Sync),
    ) -> Result<Scored, HttpError> {
        let chunks = chunk_document(text, &self.options.chunks);
        let total = chunks.len();
        let (mut tokens, mut cached, mut requests) = (Vec::new(), 0, 0);
        let mut cache_error = None;
        progress(ScoreProgress {
            done: 0,
            total,
            cached: 0,
        });
        let who = self
            .endpoint
            .model
            .clone()
            .unwrap_or_else(|| shown_url(&self.endpoint.url));
        for (i, ch) in chunks.iter().enumerate() {
            let context = format!("{}{}", prompt.unwrap_or(""), &text[ch.context.clone()]);
            let piece = &text[ch.range.clone()];
            let key = ChunkCache::key(self.endpoint.kind.name(), &who, &context, piece);
            let hit = self.options.cache.as_ref().and_then(|c| c.get(&key));
            let got = match hit {
                Some(t) => {
                    cached += 1;
                    t
                }
                None => {
                    let t = self.score_chunk(&context, piece).await?;
                    requests += 1;
                    if let Some(c) = &self.options.cache {
                        if let Err(e) = c.put(&key, &t) {
                            cache_error.get_or_insert_with(|| {
                                format!("cannot write to the cache {}: {e}", c.dir().display())
                            });
                        }
                    }
                    t
                }
            };
            tokens.extend(got);
            progress(ScoreProgress {
                done: i + 1,
                total,
                cached,
            });
        }
        if tokens.is_empty() {
            return Err(HttpError::new(
                HttpErrorKind::Shape,
                "the document has no text to score",
            ));
        }
        let mut trace = Trace::new(self.endpoint.kind.format(), tokens);
        trace.stated_text = Some(text.to_string());
        trace.model = self.endpoint.model.clone();
        Ok(Scored {
            trace,
            chunks: total,
            cached,
            requests,
            cache_error,
        })
    }

    /// Score `context + chunk` and keep the chunk's tokens.
    pub async fn score_chunk(&self, context: &str, chunk: &str) -> Result<Vec<Token>, HttpError> {
        let sent = format!("{context}{chunk}");
        let body = self.endpoint.request_body(&sent, self.options.top_logprobs);
        let raw = self.transport.post_json(&self.endpoint.url, &body).await?;
        let shown = shown_url(&self.endpoint.url);
        let options = ReadOptions {
            include_prompt: true,
            ..ReadOptions::default()
        };
        let trace = match parse_trace_with(&raw, None, &options) {
            Ok(t) => t,
            Err(TraceError::Json(e)) => {
                return Err(HttpError::new(
                    HttpErrorKind::Body,
                    format!("the server at {shown} sent a response that is not JSON ({e})"),
                ))
            }
            Err(TraceError::Unrecognised(keys)) => {
                let why = format!("its answer has no logprobs hedge reads; top-level keys: {keys}");
                return Err(no_prompt_logprobs(&shown, self.endpoint.kind, &why, &raw));
            }
            Err(TraceError::Shape { format, reason }) => {
                let why = format!("it answered in the {format} shape, but {reason}");
                return Err(no_prompt_logprobs(&shown, self.endpoint.kind, &why, &raw));
            }
            Err(_) => {
                let why = "it sent no tokens for the prompt";
                return Err(no_prompt_logprobs(&shown, self.endpoint.kind, why, &raw));
            }
        };
        let walked = match trace.prompt_tokens {
            0 => &trace.tokens[..],
            n => &trace.tokens[..n.min(trace.tokens.len())],
        };
        let c = cut(walked, sent.as_bytes(), context.len());
        if chunk.trim().is_empty() {
            return Ok(c.tokens);
        }
        if c.covered * 2 < chunk.len() || !c.tokens.iter().any(|t| t.logprob.is_some()) {
            let why = format!(
                "it answered in the {} shape with logprobs for {} of the {} bytes to score",
                trace.format,
                c.covered,
                chunk.len()
            );
            return Err(no_prompt_logprobs(&shown, self.endpoint.kind, &why, &raw));
        }
        Ok(c.tokens)
    }
}

/// The error for an answer without usable prompt logprobs.
fn no_prompt_logprobs(shown: &str, kind: ServerKind, why: &str, raw: &[u8]) -> HttpError {
    // llama-server adds `timings` to every answer.
    let llama_server = serde_json::from_slice::<Value>(raw)
        .is_ok_and(|v| v.get("timings").is_some_and(Value::is_object));
    let who = if llama_server {
        "llama-server".to_string()
    } else if why.contains("openai-chat") || why.contains("llamacpp") {
        "llama-server, Ollama and OpenAI chat".to_string()
    } else if why.contains("ollama") {
        "Ollama".to_string()
    } else {
        format!("this server (or it is not {})", kind.name())
    };
    HttpError::new(
        HttpErrorKind::Shape,
        format!("the server at {shown} did not return prompt logprobs ({why}); {who} cannot score existing text"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(kind: ServerKind, e: &str) -> String {
        Endpoint::new(kind, e, Some("m".into()))
            .unwrap()
            .url
            .to_string()
    }

    #[test]
    fn request_urls() {
        use ServerKind::*;
        assert_eq!(url(Vllm, "http://h:8000"), "http://h:8000/v1/completions");
        assert_eq!(
            url(Vllm, "http://h:8000/v1/"),
            "http://h:8000/v1/completions"
        );
        assert_eq!(
            url(LlamaCppPython, "http://h/v1/completions"),
            "http://h/v1/completions"
        );
        assert_eq!(url(Tgi, "http://h:8080"), "http://h:8080/generate");
        assert_eq!(url(Sglang, "http://h:30000/v1"), "http://h:30000/generate");
        assert_eq!(
            url(Fireworks, "https://api.fireworks.ai/inference/v1"),
            "https://api.fireworks.ai/inference/v1/completions"
        );
        let e = Endpoint::new(Together, "https://api.together.xyz/v1", None).unwrap_err();
        assert_eq!(e.message, "together needs a model name (--model)");
    }

    #[test]
    fn bodies_ask_for_prompt_logprobs() {
        let e = Endpoint::new(ServerKind::Sglang, "http://h", Some("m".into())).unwrap();
        let b = e.request_body("Hi", 5);
        assert_eq!(b["logprob_start_len"], 0);
        assert!(b.get("model").is_none());
        let e = Endpoint::new(ServerKind::Vllm, "http://h", Some("m".into())).unwrap();
        let b = e.request_body("Hi", 5);
        assert_eq!(
            (b["prompt_logprobs"].as_u64(), b["model"].as_str()),
            (Some(5), Some("m"))
        );
    }
}
