//! A model-server stand-in on 127.0.0.1 for the HTTP tests: it answers scoring requests in each
//! server's documented response shape (see shared/reference/logprob-formats.md), records every
//! request, and injects faults (bad statuses, cut-off bodies, slow answers, redirects).

#![allow(dead_code)]

pub mod scoring;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Req {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
pub enum Reply {
    /// Status, extra headers, body.
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// Declare `declared` bytes of body, send `body`, close.
    Truncated(usize, Vec<u8>),
    /// Wait, then answer.
    Slow(Duration, Box<Reply>),
    /// Headers, then one byte of body every `Duration`, never finishing in time.
    Drip(Duration, usize),
    /// A body sent with chunked encoding (no Content-Length).
    Chunked(Vec<u8>),
    /// A body of `n` spaces, streamed in 64 KiB pieces (never held in memory), with its
    /// Content-Length declared or chunked.
    Huge(usize, bool),
}

pub fn json_reply(status: u16, v: &Value) -> Reply {
    Reply::Full(status, vec![], serde_json::to_vec(v).unwrap())
}

pub type Handler = dyn Fn(&Req, usize) -> Reply + Send + Sync;

pub struct Fixture {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Req>>>,
    /// Connections that ended in an error while the reply was being read or written: for a
    /// dripping reply, the client hung up.
    pub broken: Arc<AtomicUsize>,
}

impl Fixture {
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn broken(&self) -> usize {
        self.broken.load(Ordering::SeqCst)
    }

    pub fn take(&self) -> Vec<Req> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

/// Start a server on 127.0.0.1 (a free port); `handler` gets each request and its number.
pub fn serve(handler: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let broken = Arc::new(AtomicUsize::new(0));
    let (reqs, handler): (_, Arc<Handler>) = (requests.clone(), Arc::new(handler));
    let errors = broken.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (reqs, handler, errors) = (reqs.clone(), handler.clone(), errors.clone());
            std::thread::spawn(move || {
                if connection(stream, &reqs, &*handler).is_err() {
                    errors.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    Fixture {
        base,
        requests,
        broken,
    }
}

fn connection(stream: TcpStream, reqs: &Mutex<Vec<Req>>, handler: &Handler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let req = Req {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let n = {
        let mut v = reqs.lock().unwrap();
        v.push(req.clone());
        v.len() - 1
    };
    let reply = handler(&req, n);
    write_reply(stream, reply)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_reply(mut s: TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Full(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            if !body.is_empty() {
                head.push_str("Content-Type: application/json\r\n");
            }
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            s.write_all(head.as_bytes())?;
            s.write_all(&body)?;
        }
        Reply::Truncated(declared, body) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nContent-Type: application/json\r\n\r\n");
            s.write_all(head.as_bytes())?;
            s.write_all(&body)?;
        }
        Reply::Slow(d, inner) => {
            std::thread::sleep(d);
            return write_reply(s, *inner);
        }
        Reply::Drip(every, n) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/json\r\n\r\n"
            );
            s.write_all(head.as_bytes())?;
            for _ in 0..n {
                std::thread::sleep(every);
                s.write_all(b" ")?;
            }
        }
        Reply::Huge(n, declared) => {
            let piece = vec![b' '; 64 * 1024];
            if declared {
                s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/json\r\n\r\n").as_bytes())?;
            } else {
                s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")?;
            }
            let mut left = n;
            while left > 0 {
                let k = left.min(piece.len());
                if !declared {
                    s.write_all(format!("{k:x}\r\n").as_bytes())?;
                }
                s.write_all(&piece[..k])?;
                if !declared {
                    s.write_all(b"\r\n")?;
                }
                left -= k;
            }
            if !declared {
                s.write_all(b"0\r\n\r\n")?;
            }
        }
        Reply::Chunked(body) => {
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")?;
            for piece in body.chunks(64 * 1024) {
                s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                s.write_all(piece)?;
                s.write_all(b"\r\n")?;
            }
            s.write_all(b"0\r\n\r\n")?;
        }
    }
    s.flush()?;
    let _ = s.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// A stand-in tokenizer: a newline run, a space plus a word or one other character, a word, or
/// one character; a 4-byte character (an emoji) is split into byte tokens.
pub fn tokenize(text: &str) -> Vec<Vec<u8>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    let word = |c: char| c.is_alphanumeric() && c.len_utf8() < 4;
    while i < chars.len() {
        let start = i;
        if chars[i] == '\n' {
            while i < chars.len() && chars[i] == '\n' {
                i += 1;
            }
        } else if chars[i] == ' ' && i + 1 < chars.len() && word(chars[i + 1]) {
            i += 1;
            while i < chars.len() && word(chars[i]) {
                i += 1;
            }
        } else if word(chars[i]) {
            while i < chars.len() && word(chars[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
        let s: String = chars[start..i].iter().collect();
        if s.len() == 4 && s.chars().count() == 1 {
            out.extend(s.bytes().map(|b| vec![b]));
        } else {
            out.push(s.into_bytes());
        }
    }
    out
}

/// The stand-in model's ln p for a token: a fixed function of its bytes.
pub fn lp(token: &[u8]) -> f64 {
    let h = token
        .iter()
        .fold(2166136261u32, |h, &b| (h ^ b as u32).wrapping_mul(16777619));
    -f64::from(h % 900 + 10) / 100.0
}

pub fn id(token: &[u8]) -> u32 {
    let h = token
        .iter()
        .fold(5381u32, |h, &b| h.wrapping_mul(33) ^ b as u32);
    100 + h % 40000
}

/// A token's text as the server shows it: `"�"` (or `""` where the server drops partial
/// bytes) for a byte that is not a character alone.
fn shown(t: &[u8], partial: &str) -> String {
    match std::str::from_utf8(t) {
        Ok(s) => s.to_string(),
        Err(_) => partial.to_string(),
    }
}

const GEN: &str = " end";

fn alts(t: &[u8], partial: &str) -> Vec<(String, f64)> {
    vec![
        (shown(t, partial), lp(t)),
        (" the".into(), -0.05),
        ("X".into(), -12.0),
    ]
}

fn legacy(tokens: &[Vec<u8>], partial: &str, first_null: bool) -> Value {
    let texts: Vec<String> = tokens.iter().map(|t| shown(t, partial)).collect();
    let lps: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == 0 && first_null {
                Value::Null
            } else {
                json!(lp(t))
            }
        })
        .collect();
    let tops: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == 0 && first_null {
                return Value::Null;
            }
            Value::Object(
                alts(t, partial)
                    .into_iter()
                    .map(|(k, v)| (k, json!(v)))
                    .collect(),
            )
        })
        .collect();
    json!({"tokens": texts, "token_logprobs": lps, "top_logprobs": tops,
           "token_ids": tokens.iter().map(|t| id(t)).collect::<Vec<_>>()})
}

/// vLLM `/v1/completions` with echo, logprobs and prompt_logprobs (a BOS `<s>` first).
pub fn vllm(prompt: &str) -> Value {
    let mut toks = vec![b"<s>".to_vec()];
    toks.extend(tokenize(prompt));
    let ids: Vec<u32> = toks.iter().map(|t| id(t)).collect();
    let mut plp = vec![Value::Null];
    for t in &toks[1..] {
        let mut m = serde_json::Map::new();
        m.insert(
            id(t).to_string(),
            json!({"logprob": lp(t), "rank": 2, "decoded_token": shown(t, "\u{FFFD}")}),
        );
        m.insert(
            "17".into(),
            json!({"logprob": -0.05, "rank": 1, "decoded_token": " the"}),
        );
        plp.push(Value::Object(m));
    }
    let mut all = toks.clone();
    all.push(GEN.as_bytes().to_vec());
    let mut arrays = legacy(&all, "\u{FFFD}", true);
    arrays.as_object_mut().unwrap().remove("token_ids");
    json!({"id": "cmpl-1", "object": "text_completion", "model": "m",
           "choices": [{"index": 0, "text": format!("{prompt}{GEN}"), "logprobs": arrays,
                        "finish_reason": "length", "prompt_logprobs": plp, "prompt_token_ids": ids}],
           "usage": {"prompt_tokens": toks.len(), "completion_tokens": 1, "total_tokens": toks.len() + 1}})
}

/// llama-cpp-python `/v1/completions` with echo: BOS skipped, the first token unscored, partial
/// bytes dropped (`""`).
pub fn llama_cpp_python(prompt: &str) -> Value {
    let mut toks = tokenize(prompt);
    toks.push(GEN.as_bytes().to_vec());
    let mut arrays = legacy(&toks, "", true);
    arrays.as_object_mut().unwrap().remove("token_ids");
    json!({"id": "cmpl-2", "object": "text_completion", "model": "m",
           "choices": [{"index": 0, "text": format!("{prompt}{GEN}"), "logprobs": arrays, "finish_reason": "length"}],
           "usage": {"prompt_tokens": toks.len() - 1, "completion_tokens": 1, "total_tokens": toks.len()}})
}

/// Fireworks `/v1/completions` with echo and an integer `logprobs`: legacy arrays with ids.
pub fn fireworks(prompt: &str) -> Value {
    let mut toks = vec![b"<|begin_of_text|>".to_vec()];
    toks.extend(tokenize(prompt));
    toks.push(GEN.as_bytes().to_vec());
    json!({"id": "cmpl-3", "object": "text_completion", "model": "m",
           "choices": [{"index": 0, "text": format!("{prompt}{GEN}"), "logprobs": legacy(&toks, "\u{FFFD}", true), "finish_reason": "length"}],
           "usage": {"prompt_tokens": toks.len() - 1, "completion_tokens": 1, "total_tokens": toks.len()}})
}

/// Together: the echoed prompt in top-level `prompt[0].logprobs`.
pub fn together(prompt: &str) -> Value {
    let toks = tokenize(prompt);
    json!({"id": "cmpl-4", "object": "text_completion", "model": "m",
           "prompt": [{"text": prompt, "logprobs": legacy(&toks, "\u{FFFD}", true)}],
           "choices": [{"index": 0, "text": GEN, "logprobs": legacy(&[GEN.as_bytes().to_vec()], "", false), "finish_reason": "length"}],
           "usage": {"prompt_tokens": toks.len(), "completion_tokens": 1, "total_tokens": toks.len() + 1}})
}

/// TGI `/generate` with `decoder_input_details`: prefill texts decoded one token at a time lose
/// their leading space; `<s>` first.
pub fn tgi(inputs: &str) -> Value {
    let mut prefill = vec![json!({"id": 1, "text": "<s>", "logprob": null})];
    for t in tokenize(inputs) {
        let text = shown(&t, "\u{FFFD}");
        let text = text.strip_prefix(' ').unwrap_or(&text).to_string();
        prefill.push(json!({"id": id(&t), "text": text, "logprob": lp(&t)}));
    }
    json!({"generated_text": GEN, "details": {"finish_reason": "length", "generated_tokens": 1, "seed": null,
        "prefill": prefill,
        "tokens": [{"id": 5, "text": GEN, "logprob": -0.5, "special": false}],
        "top_tokens": [[{"id": 5, "text": GEN, "logprob": -0.5, "special": false}]]}})
}

/// SGLang `/generate` with `logprob_start_len: 0` (no BOS: the first token is unscored).
pub fn sglang(text: &str) -> Value {
    let toks = tokenize(text);
    let input: Vec<Value> = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!([
                if i == 0 { Value::Null } else { json!(lp(t)) },
                id(t),
                shown(t, "\u{FFFD}")
            ])
        })
        .collect();
    let tops: Vec<Value> = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == 0 {
                Value::Null
            } else {
                json!([[lp(t), id(t), shown(t, "\u{FFFD}")], [-0.05, 17, " the"]])
            }
        })
        .collect();
    json!({"text": GEN, "meta_info": {"id": "x", "prompt_tokens": toks.len(), "completion_tokens": 1,
        "input_token_logprobs": input, "output_token_logprobs": [[-0.5, 5, GEN]],
        "input_top_logprobs": tops, "output_top_logprobs": [[[-0.5, 5, GEN]]]}})
}

/// The text a scoring request sent, for any kind.
pub fn sent_text(body: &Value) -> String {
    body.get("prompt")
        .or_else(|| body.get("inputs"))
        .or_else(|| body.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An OpenAI chat completion with logprobs for `content` (llama-server adds `timings`).
pub fn chat(content: &str, with_logprobs: bool) -> Value {
    let entries: Vec<Value> = tokenize(content)
        .iter()
        .map(|t| json!({"token": shown(t, "\u{FFFD}"), "bytes": t, "logprob": lp(t),
                         "top_logprobs": [{"token": shown(t, "\u{FFFD}"), "bytes": t, "logprob": lp(t)}]}))
        .collect();
    let mut choice = json!({"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"});
    if with_logprobs {
        choice["logprobs"] = json!({"content": entries});
    }
    json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [choice],
           "usage": {"prompt_tokens": 5, "completion_tokens": entries.len(), "total_tokens": 5 + entries.len()}})
}
