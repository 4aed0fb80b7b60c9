//! Local scoring speed (feature `local`), against llama-server's own prompt processing. Run
//! (`bench/local/run.sh` does all of it, models included):
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=x86-64-v3" CARGO_TARGET_DIR=target-local \
//!   cargo bench --features local --bench local_scorer -- MODEL.gguf [MODEL.gguf ...]
//! ```
//!
//! For each model and for texts of about 200 and 2,000 tokens (the shipped examples, repeated):
//! the rate of a first scoring in tokens per second (the median of `HEDGE_BENCH_RUNS`, default
//! 3, each from an empty cache), and a one-word edit in the middle of the text rescored (tokens
//! evaluated again, time). With `HEDGE_BENCH_SERVER_PY` (a Python that has the `xllamacpp`
//! wheel), llama-server is started on 127.0.0.1 with the same model and thread count and given
//! the same text as a prompt with `cache_prompt: false`; its `timings.prompt_per_second` (median
//! of as many runs, each run right after one of hedge's, so that both see the same load) is
//! printed beside hedge's rate, as a ratio. A third line splits scoring's cost: the same text
//! evaluated in hedge's own context with the logits of the last position only (what a server's
//! prompt processing computes) and with the logits of every position (what scoring needs), with
//! nothing derived from them. Threads: all cores, or
//! `HEDGE_BENCH_THREADS`. The load average is printed with each line: the figures mean little
//! on a machine that is busy with something else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hedge::source::local::{LocalModel, LocalOptions};
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn text_of(model: &mut LocalModel, tokens: usize) -> String {
    let mut base = String::new();
    for f in ["examples/literature-review.md", "examples/biography.md"] {
        base.push_str(&std::fs::read_to_string(Path::new(ROOT).join(f)).unwrap());
        base.push('\n');
    }
    let mut text = String::new();
    while model.score(&text, None).map_or(0, |t| t.tokens.len()) < tokens {
        text.push_str(&base);
    }
    // Cut to about `tokens` tokens at a line end.
    let trace = model.score(&text, None).unwrap();
    let bytes: usize = trace.tokens[..tokens].iter().map(|t| t.bytes.len()).sum();
    let end = text[..bytes].rfind('\n').map_or(bytes, |i| i + 1);
    text[..end].to_string()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// A pause before each timed run: the threads of llama.cpp (hedge's and the server's) keep
/// spinning a while after their work, which on a 2-core machine would slow whichever runs next.
fn settle() {
    std::thread::sleep(Duration::from_millis(500));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// llama-server (from the xllamacpp wheel) on 127.0.0.1, killed when dropped.
struct LlamaServer {
    child: Child,
    addr: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LlamaServer {
    fn start(python: &str, model: &str, threads: usize) -> LlamaServer {
        let mut child = Command::new(python)
            .arg(Path::new(ROOT).join("examples/serve.py"))
            .args([model, "0", "4096", &threads.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("LISTEN http://")
            .unwrap_or_else(|| panic!("llama-server said {line:?}"))
            .to_string();
        let server = LlamaServer { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.get("/health").is_none_or(|(code, _)| code != 200) {
            assert!(
                Instant::now() < deadline,
                "llama-server never became healthy"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn exchange(&self, request: &str) -> Option<(u16, Vec<u8>)> {
        let mut s = TcpStream::connect(&self.addr).ok()?;
        s.write_all(request.as_bytes()).ok()?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).ok()?;
        let head_end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&resp[..head_end]);
        let code = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((code, resp[head_end + 4..].to_vec()))
    }

    fn get(&self, path: &str) -> Option<(u16, Vec<u8>)> {
        self.exchange(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    /// Prompt-processing rate for `text` (tokens/s) and the prompt's token count.
    fn prompt_rate(&self, text: &str) -> (f64, u64) {
        let body = json!({"prompt": text, "n_predict": 1, "cache_prompt": false, "temperature": 0})
            .to_string();
        let req = format!(
            "POST /completion HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let (code, body) = self.exchange(&req).expect("llama-server answers");
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        let t = &v["timings"];
        (
            t["prompt_per_second"].as_f64().unwrap(),
            t["prompt_n"].as_u64().unwrap(),
        )
    }
}

fn main() {
    let models: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if models.is_empty() {
        eprintln!("usage: cargo bench --features local --bench local_scorer -- MODEL.gguf ...");
        return;
    }
    let threads = std::env::var("HEDGE_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runs: usize = std::env::var("HEDGE_BENCH_RUNS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(3)
        .max(1);
    let server_py = std::env::var("HEDGE_BENCH_SERVER_PY").ok();
    for path in models {
        let options = LocalOptions {
            threads: Some(threads),
            ..LocalOptions::default()
        };
        let mut m = LocalModel::load_with(Path::new(&path), options).unwrap();
        let texts: Vec<String> = [200, 2000].iter().map(|&n| text_of(&mut m, n)).collect();
        // Both in memory at once, and their runs interleaved, so that a change in the machine's
        // load falls on both alike.
        let server = server_py
            .as_ref()
            .map(|py| LlamaServer::start(py, &path, threads));
        for text in &texts {
            let load_before = loadavg();
            if let Some(s) = &server {
                s.prompt_rate(text); // warm-up
            }
            let (mut rates, mut theirs) = (Vec::new(), Vec::new());
            let mut stats = m.last_stats();
            let (mut n_tokens, mut prompt_n) = (0, 0);
            for _ in 0..runs {
                m.reset();
                settle();
                let started = Instant::now();
                let trace = m.score(text, None).unwrap();
                let secs = started.elapsed().as_secs_f64();
                stats = m.last_stats();
                n_tokens = trace.tokens.len();
                rates.push(stats.evaluated_tokens as f64 / secs);
                if let Some(s) = &server {
                    settle();
                    let (r, pn) = s.prompt_rate(text);
                    theirs.push(r);
                    prompt_n = pn;
                }
            }
            let rate = median(rates.clone());
            // One word in the middle replaced.
            let mid = text.len() / 2;
            let at = mid + text[mid..].find(' ').unwrap() + 1;
            let len = text[at..].find(' ').unwrap();
            let edited = format!("{}zebra{}", &text[..at], &text[at + len..]);
            let started = Instant::now();
            m.score(&edited, None).unwrap();
            let edit = started.elapsed().as_secs_f64();
            let s2 = m.last_stats();
            let list = |v: &[f64]| {
                v.iter()
                    .map(|r| format!("{r:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "{}: {n_tokens} tokens, {threads} threads: hedge {rate:.0} tokens/s (median of {runs}: {}; {} evaluated, {} window(s) of {}); one-word edit at byte {at}: {} tokens evaluated again, {} reused, {edit:.3} s; load average {load_before} → {}",
                m.name(),
                list(&rates),
                stats.evaluated_tokens,
                stats.windows,
                m.n_ctx(),
                s2.evaluated_tokens,
                s2.reused_tokens,
                loadavg()
            );
            // The same evaluation in hedge's own context, with nothing derived from the logits:
            // of the last position only (a server's prompt processing), and of every position
            // (the logits scoring needs).
            let mut evaluation = |every: bool| {
                median(
                    (0..runs)
                        .map(|_| {
                            settle();
                            let (n, secs) = m.time_evaluation(text, every).unwrap();
                            n as f64 / secs
                        })
                        .collect(),
                )
            };
            let (last_only, every) = (evaluation(false), evaluation(true));
            println!(
                "{}: llama.cpp in hedge's context, logits of the last position only {last_only:.0} tokens/s, of every position {every:.0} tokens/s (medians of {runs}); hedge / last-only = {:.2}, every-position / last-only = {:.2}",
                m.name(),
                rate / last_only,
                every / last_only,
            );
            if !theirs.is_empty() {
                let t = median(theirs.clone());
                println!(
                    "{}: {prompt_n} prompt tokens, {threads} threads: llama-server prompt processing {t:.0} tokens/s (median of {runs}: {}); hedge / llama-server = {:.2}",
                    m.name(),
                    list(&theirs),
                    rate / t,
                );
            }
        }
    }
}
