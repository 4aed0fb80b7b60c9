//! How fast general-purpose JSON parsers read a benchmark sidecar into what hedge needs, next
//! to hedge's own reader: is a faster JSON library the way to a faster `hedge check`?
//! Each parser reads the file already in memory RUNS times (default 5); printed are the median
//! wall and CPU time of one parse. Each parse gets its own copy of the file, made before the
//! clock starts (simd-json rewrites its input in place).

use serde::Deserialize;
use std::borrow::Cow;
use std::time::Instant;

// What a typed reader of a Chat Completions response keeps: the fields hedge's measures and
// messages use, strings borrowed from the input where no escape forces a copy.
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
struct Entry<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    logprob: f64,
    bytes: Option<Vec<u8>>,
    #[serde(borrow)]
    top_logprobs: Vec<Alternative<'a>>,
}
#[derive(Deserialize)]
struct Alternative<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    logprob: f64,
    bytes: Option<Vec<u8>>,
}

/// Tokens and alternatives read, and the sum of their ln p: the same for every parser.
fn tally(r: &Response) -> (usize, usize, f64) {
    let content = &r.choices[0].logprobs.content;
    let alternatives = content.iter().map(|e| e.top_logprobs.len()).sum();
    let sum = content
        .iter()
        .map(|e| {
            let _ = (&e.token, &e.bytes);
            e.logprob
                + e.top_logprobs
                    .iter()
                    .map(|a| {
                        let _ = (&a.token, &a.bytes);
                        a.logprob
                    })
                    .sum::<f64>()
        })
        .sum();
    (content.len(), alternatives, sum)
}

/// User + system CPU time of this process so far.
fn cpu_s() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
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
    type Parse<'p> = &'p mut dyn FnMut(&mut [u8]) -> (usize, usize, f64);
    // `prepare` makes the parser's input, untimed.
    let time = |name: &str, prepare: &mut dyn FnMut() -> Vec<u8>, parse: Parse| {
        let (mut wall, mut cpu, mut seen) = (Vec::new(), Vec::new(), (0, 0, 0.0));
        for _ in 0..runs {
            let mut input = prepare();
            let (t, c) = (Instant::now(), cpu_s());
            seen = parse(&mut input);
            wall.push(t.elapsed().as_secs_f64());
            cpu.push(cpu_s() - c);
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
    // Inputs are copies made before the clock starts, so every parser starts alike.
    let mut copy = || data.clone();
    time("hedge::trace::parse_trace", &mut copy, &mut |input| {
        let trace = hedge::trace::parse_trace(input, None).expect("hedge reads the sidecar");
        let alternatives = trace.tokens.iter().map(|t| t.top.len()).sum();
        let sum = trace
            .tokens
            .iter()
            .map(|t| t.logprob.unwrap_or(0.0) + t.top.iter().map(|a| a.logprob).sum::<f64>())
            .sum();
        (trace.tokens.len(), alternatives, sum)
    });
    time("serde_json (typed)", &mut copy, &mut |input| {
        tally(&serde_json::from_slice(input).expect("serde_json reads the sidecar"))
    });
    time("sonic-rs (typed)", &mut copy, &mut |input| {
        tally(&sonic_rs::from_slice(input).expect("sonic-rs reads the sidecar"))
    });
    time("simd-json (typed)", &mut copy, &mut |input| {
        tally(&simd_json::serde::from_slice(input).expect("simd-json reads the sidecar"))
    });
}
