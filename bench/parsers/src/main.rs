//! How fast general-purpose JSON parsers read a benchmark sidecar into what hedge needs, next
//! to hedge's own reader: is a faster JSON library the way to a faster `hedge check`?
//! Each parser reads the file already in memory RUNS times (default 5); printed are the median
//! wall and CPU time of one parse. Each parse gets its own copy of the file, made before the
//! clock starts (simd-json rewrites its input in place).

use serde::Deserialize;
use std::borrow::Cow;
use std::time::Instant;

#[path = "../../../benches/support/mod.rs"]
mod support;

// What a typed reader of a Chat Completions response keeps: the fields hedge's measures and
// messages use, strings borrowed from the input where no escape forces a copy. Text and bytes
// are read for what reading them costs; the tally below needs only the numbers.
#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    choices: Vec<Choice<'a>>,
}
#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    logprobs: Logprobs<'a>,
}
#[derive(Deserialize)]
struct Logprobs<'a> {
    #[serde(borrow)]
    content: Vec<Entry<'a>>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct Entry<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    logprob: f64,
    bytes: Option<Vec<u8>>,
    #[serde(borrow)]
    top_logprobs: Vec<Alternative<'a>>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct Alternative<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    logprob: f64,
    bytes: Option<Vec<u8>>,
}

/// Tokens and alternatives read, and the sum of their ln p: the same for every parser.
type Tally = (usize, usize, f64);

fn tally(r: &Response) -> Tally {
    let content = &r.choices[0].logprobs.content;
    let alternatives = content.iter().map(|e| e.top_logprobs.len()).sum();
    let sum = content
        .iter()
        .map(|e| e.logprob + e.top_logprobs.iter().map(|a| a.logprob).sum::<f64>())
        .sum();
    (content.len(), alternatives, sum)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: hedge-bench-parsers SIDECAR");
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let data = std::fs::read(&path).expect("the sidecar reads");
    let mb = data.len() as f64 / 1e6;
    println!("{path}: {mb:.1} MB, {runs} runs each, median of one parse");
    let time = |name: &str, parse: &mut dyn FnMut(&mut [u8]) -> Tally| {
        let (mut wall, mut cpu, mut seen) = (Vec::new(), Vec::new(), (0, 0, 0.0));
        for _ in 0..runs {
            // Each parse's own copy, made before the clock starts, so every parser starts alike.
            let mut input = data.clone();
            let (t, c) = (Instant::now(), support::cpu_s());
            seen = parse(&mut input);
            wall.push(t.elapsed().as_secs_f64());
            cpu.push(support::cpu_s() - c);
        }
        wall.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let (w, c) = (wall[runs / 2], cpu[runs / 2]);
        println!(
            "  {name:<28} wall {w:.3} s ({:>5.0} MB/s)  CPU {c:.3} s   tokens {} alternatives {} sum ln p {:.6}",
            mb / w,
            seen.0,
            seen.1,
            seen.2
        );
    };
    time("hedge::trace::parse_trace", &mut |input| {
        let trace = hedge::trace::parse_trace(input, None).expect("hedge reads the sidecar");
        let alternatives = trace.tokens.iter().map(|t| t.top.len()).sum();
        let sum = trace
            .tokens
            .iter()
            .map(|t| t.logprob.unwrap_or(0.0) + t.top.iter().map(|a| a.logprob).sum::<f64>())
            .sum();
        (trace.tokens.len(), alternatives, sum)
    });
    time("serde_json (typed)", &mut |input| {
        tally(&serde_json::from_slice(input).expect("serde_json reads the sidecar"))
    });
    time("sonic-rs (typed)", &mut |input| {
        tally(&sonic_rs::from_slice(input).expect("sonic-rs reads the sidecar"))
    });
    time("simd-json (typed)", &mut |input| {
        tally(&simd_json::serde::from_slice(input).expect("simd-json reads the sidecar"))
    });
}
