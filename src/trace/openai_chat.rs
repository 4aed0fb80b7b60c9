//! OpenAI Chat Completions: `choices[0].logprobs.content[]` (or `.refusal[]` when the model
//! refused), as a whole response or a saved stream of `chat.completion.chunk` objects.
//!
//! The same shape comes from llama-server (with an extra `id`, and for `/v1/completions`
//! too), Ollama's and DeepSeek's OpenAI-style endpoints, and vLLM chat. Entries are converted
//! by the llama.cpp reader's entry code, which also marks llama-server's merged entries.

use serde::Deserialize;

use super::lines::{parse_record, parse_whole, records};
use super::llamacpp::{tokens_from_batches, Batch, Entry};
use super::prompt::{echoed, join, strip_echo};
use super::{Token, Trace, TraceError, TraceFormat};

#[derive(Deserialize)]
#[serde(expecting = "a chat completion object")]
struct Response {
    choices: Option<Vec<Choice>>,
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(expecting = "a choice object")]
struct Choice {
    index: Option<u64>,
    message: Option<Message>,
    delta: Option<Message>,
    /// `/v1/completions` responses in the chat shape (llama-server, Ollama).
    text: Option<String>,
    logprobs: Option<Logprobs>,
}

#[derive(Deserialize)]
#[serde(expecting = "a message object")]
struct Message {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "a logprobs object")]
struct Logprobs {
    content: Option<Vec<Entry>>,
    refusal: Option<Vec<Entry>>,
}

pub fn read(data: &[u8]) -> Result<Trace, TraceError> {
    let format = TraceFormat::OpenaiChat;
    let shape = |reason: &str| TraceError::Shape {
        format,
        reason: reason.to_string(),
    };
    let resp: Response = parse_whole(data, format)?;
    let choices = resp.choices.ok_or_else(|| shape("choices is missing"))?;
    let choice = choices
        .into_iter()
        .next()
        .ok_or_else(|| shape("choices is empty"))?;
    let logprobs = choice.logprobs.ok_or_else(|| {
        shape("choices[0].logprobs is missing (the request did not ask for logprobs)")
    })?;
    let message = choice.message.or(choice.delta);
    let (entries, refused) = match (logprobs.content, logprobs.refusal) {
        (Some(c), _) if !c.is_empty() => (c, false),
        (_, Some(r)) if !r.is_empty() => (r, true),
        (Some(c), _) => (c, false),
        (None, _) => return Err(shape("choices[0].logprobs.content is missing")),
    };
    let label = if refused { "refusal" } else { "content" };
    // Fireworks `echo` / `echo_last`: the prompt's entries come first (with `text_offset`s).
    let echo_marked = entries
        .first()
        .is_some_and(|e| e.text_offset.is_some() || e.unscored());
    let completion = completion_tokens(resp.usage);
    let echo = if echo_marked && !refused {
        echoed(entries.len(), completion)
    } else {
        0
    };
    let batch = Batch {
        label: format!("choices[0].logprobs.{label}"),
        entries,
        merged: Vec::new(),
    };
    let mut tokens = tokens_from_batches(vec![batch]).map_err(|r| shape(&r))?;
    let prompt: Vec<Token> = tokens.drain(..echo.min(tokens.len())).collect();
    let mut trace = Trace::new(format, tokens);
    let text = match (message, refused) {
        (Some(m), true) => m.refusal,
        (Some(m), false) => m.content.or(choice.text),
        (None, _) => choice.text,
    };
    trace.stated_text = strip_echo(text, &prompt);
    trace.stated_token_count = completion;
    trace.model = resp.model;
    join(&mut trace, prompt);
    Ok(trace)
}

/// A saved stream: the `logprobs.content` of every chunk's first choice, in order.
pub fn read_stream(data: &[u8]) -> Result<Trace, TraceError> {
    let format = TraceFormat::OpenaiChatStream;
    let (mut content, mut refusal) = (Vec::new(), Vec::new());
    let (mut text, mut refusal_text) = (None::<String>, None::<String>);
    let (mut model, mut count, mut seen, mut any_logprobs) = (None, None, false, false);
    for rec in records(data) {
        let Some(chunk) = parse_record::<Response>(&rec, format, "a chunk object", seen)? else {
            continue;
        };
        seen = true;
        model = model.or(chunk.model);
        count = completion_tokens(chunk.usage).or(count);
        // With n > 1 each chunk carries the choices it has news for; follow choice 0.
        let choices = chunk.choices.unwrap_or_default();
        let Some(choice) = choices.into_iter().find(|c| c.index.unwrap_or(0) == 0) else {
            continue;
        };
        if choice.message.is_some() && choice.delta.is_none() {
            return Err(TraceError::Shape {
                format,
                reason: format!(
                    "line {}: a whole chat completion, not a stream chunk (one response per file)",
                    rec.line
                ),
            });
        }
        if let Some(d) = choice.delta {
            append(&mut text, d.content);
            append(&mut refusal_text, d.refusal);
        }
        append(&mut text, choice.text);
        if let Some(lp) = choice.logprobs {
            any_logprobs = true;
            let label = |k: &str| format!("line {}: choices[0].logprobs.{k}", rec.line);
            for (entries, key, out) in [
                (lp.content, "content", &mut content),
                (lp.refusal, "refusal", &mut refusal),
            ] {
                if let Some(entries) = entries.filter(|e| !e.is_empty()) {
                    out.push(Batch {
                        label: label(key),
                        entries,
                        merged: Vec::new(),
                    });
                }
            }
        }
    }
    if seen && !any_logprobs {
        return Err(TraceError::Shape {
            format,
            reason: "no chunk has choices[0].logprobs (the request did not ask for logprobs)"
                .into(),
        });
    }
    let refused = content.is_empty() && !refusal.is_empty();
    let batches = if refused { refusal } else { content };
    let tokens =
        tokens_from_batches(batches).map_err(|reason| TraceError::Shape { format, reason })?;
    let mut trace = Trace::new(format, tokens);
    trace.stated_text = if refused { refusal_text } else { text };
    trace.stated_token_count = count;
    trace.model = model;
    Ok(trace)
}

fn append(acc: &mut Option<String>, piece: Option<String>) {
    if let Some(p) = piece {
        acc.get_or_insert_with(String::new).push_str(&p);
    }
}

fn completion_tokens(usage: Option<Usage>) -> Option<usize> {
    usage
        .and_then(|u| u.completion_tokens)
        .and_then(|n| usize::try_from(n).ok())
}
