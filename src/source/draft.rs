//! Drafting: ask any OpenAI-compatible chat endpoint (OpenAI, llama-server, Ollama, vLLM,
//! DeepSeek, …) for an answer with `logprobs: true, top_logprobs: 20`, and keep the raw response
//! as the answer's sidecar, so the new text is checked at once.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde_json::{json, Value};

use super::sidecar;
use super::transport::{
    parse_url, shown_url, ApiKey, HttpError, HttpErrorKind, HttpOptions, Transport,
};
use crate::trace::{parse_trace, Trace, TraceError};

/// What to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRequest {
    /// The API's base URL (`http://127.0.0.1:8080/v1`, `https://api.openai.com/v1`) or the full
    /// `…/chat/completions` URL.
    pub endpoint: String,
    pub model: Option<String>,
    pub prompt: String,
    pub system: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub seed: Option<u64>,
    /// Alternatives per token (20, OpenAI's maximum, unless a server allows fewer).
    pub top_logprobs: u32,
}

impl DraftRequest {
    pub fn new(endpoint: impl Into<String>, prompt: impl Into<String>) -> DraftRequest {
        DraftRequest {
            endpoint: endpoint.into(),
            model: None,
            prompt: prompt.into(),
            system: None,
            max_tokens: None,
            temperature: None,
            seed: None,
            top_logprobs: 20,
        }
    }

    /// The JSON body sent to `/chat/completions`.
    pub fn body(&self) -> Value {
        let mut messages = Vec::new();
        if let Some(s) = &self.system {
            messages.push(json!({"role": "system", "content": s}));
        }
        messages.push(json!({"role": "user", "content": self.prompt}));
        let mut b =
            json!({"messages": messages, "logprobs": true, "top_logprobs": self.top_logprobs});
        let obj = b.as_object_mut().expect("an object");
        if let Some(m) = &self.model {
            obj.insert("model".into(), json!(m));
        }
        if let Some(n) = self.max_tokens {
            obj.insert("max_tokens".into(), json!(n));
        }
        if let Some(t) = self.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        if let Some(s) = self.seed {
            obj.insert("seed".into(), json!(s));
        }
        b
    }
}

/// The request URL for a chat endpoint: `/chat/completions` is added unless it is there;
/// a bare server address gets `/v1/chat/completions`.
pub fn chat_url(endpoint: &str) -> Result<Url, HttpError> {
    let mut url = parse_url(endpoint)?;
    let path = url.path().trim_end_matches('/').to_string();
    let path = if path.ends_with("/chat/completions") {
        path
    } else if path.is_empty() {
        "/v1/chat/completions".to_string()
    } else {
        format!("{path}/chat/completions")
    };
    url.set_path(&path);
    Ok(url)
}

/// An answer with its logprobs.
#[derive(Debug, Clone)]
pub struct Draft {
    /// `choices[0].message.content`.
    pub text: String,
    /// The response body as received: write it unchanged as the sidecar.
    pub raw: Vec<u8>,
    /// The trace read from `raw`.
    pub trace: Trace,
    /// `choices[0].finish_reason` (`"length"`: cut off by `max_tokens`).
    pub finish_reason: Option<String>,
}

/// Ask for a draft. Cancel by dropping the future.
pub async fn draft(
    req: &DraftRequest,
    key: Option<ApiKey>,
    http: &HttpOptions,
) -> Result<Draft, HttpError> {
    let url = chat_url(&req.endpoint)?;
    let shown = shown_url(&url);
    let transport = Transport::new(http, key)?;
    let raw = transport.post_json(&url, &req.body()).await?;
    let v: Value = serde_json::from_slice(&raw).map_err(|e| {
        HttpError::new(
            HttpErrorKind::Body,
            format!("the server at {shown} sent a response that is not JSON ({e})"),
        )
    })?;
    let choice = &v["choices"][0];
    let Some(text) = choice["message"]["content"].as_str() else {
        let keys = match v.as_object() {
            Some(o) => o.keys().cloned().collect::<Vec<_>>().join(", "),
            None => "none".into(),
        };
        return Err(HttpError::new(
            HttpErrorKind::Shape,
            format!("the server at {shown} answered without choices[0].message.content (top-level keys: {keys}); is it an OpenAI-compatible chat endpoint?"),
        ));
    };
    if choice.get("logprobs").is_none_or(Value::is_null) {
        return Err(HttpError::new(
            HttpErrorKind::Shape,
            format!("the server at {shown} answered without logprobs; this model or server cannot draft with logprobs"),
        ));
    }
    let trace = parse_trace(&raw, None).map_err(|e| {
        let why = match e {
            TraceError::Unrecognised(_) | TraceError::Empty => "it sent none".to_string(),
            other => other.to_string(),
        };
        HttpError::new(
            HttpErrorKind::Shape,
            format!("the server at {shown} answered without usable logprobs ({why}); this model or server cannot draft with logprobs"),
        )
    })?;
    Ok(Draft {
        text: text.to_string(),
        finish_reason: choice["finish_reason"].as_str().map(String::from),
        raw,
        trace,
    })
}

/// The sidecar a draft of `doc` is written to: `DOC.logprobs.json`.
pub fn sidecar_path(doc: &Path) -> PathBuf {
    sidecar::candidates(doc).swap_remove(0)
}

/// Refuse when `doc` or any sidecar of it exists (check before asking the server).
pub fn check_new(doc: &Path) -> Result<(), String> {
    for p in std::iter::once(doc.to_path_buf()).chain(sidecar::candidates(doc)) {
        if p.exists() {
            return Err(format!(
                "{}: already exists; hedge does not overwrite files",
                p.display()
            ));
        }
    }
    Ok(())
}

/// Write a draft as a new document and its sidecar, refusing to overwrite either. Returns the
/// sidecar's path.
pub fn write_new(doc: &Path, draft: &Draft) -> Result<PathBuf, String> {
    check_new(doc)?;
    let side = sidecar_path(doc);
    write_file(doc, draft.text.as_bytes())?;
    if let Err(e) = write_file(&side, &draft.raw) {
        let _ = std::fs::remove_file(doc);
        return Err(e);
    }
    Ok(side)
}

/// Write a draft's raw response as the sidecar of an existing document (the answer went into
/// the document itself), refusing to overwrite any file. Returns the sidecar's path.
pub fn write_sidecar(doc: &Path, raw: &[u8]) -> Result<PathBuf, String> {
    if let Some(existing) = sidecar::find(doc) {
        return Err(format!(
            "{}: already exists; hedge does not overwrite files",
            existing.display()
        ));
    }
    let side = sidecar_path(doc);
    write_file(&side, raw)?;
    Ok(side)
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), String> {
    let shown = path.display();
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{shown}: already exists; hedge does not overwrite files")
            }
            _ => format!("{shown}: cannot be created: {e}"),
        })?;
    f.write_all(data)
        .map_err(|e| format!("{shown}: cannot be written: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_urls() {
        let u = |e: &str| chat_url(e).unwrap().to_string();
        assert_eq!(
            u("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            u("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            u("http://h/v1/chat/completions/"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            u("http://localhost:11434/v1/"),
            "http://localhost:11434/v1/chat/completions"
        );
    }

    #[test]
    fn body_has_logprobs_and_options() {
        let mut r = DraftRequest::new("http://h/v1", "Hi");
        r.system = Some("Be brief.".into());
        r.seed = Some(7);
        r.max_tokens = Some(64);
        let b = r.body();
        assert_eq!(b["logprobs"], true);
        assert_eq!(b["top_logprobs"], 20);
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["messages"][1]["content"], "Hi");
        assert_eq!(
            (b["seed"].as_u64(), b["max_tokens"].as_u64()),
            (Some(7), Some(64))
        );
        assert!(b.get("temperature").is_none() && b.get("model").is_none());
    }
}
