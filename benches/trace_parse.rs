//! Sidecar parse rate (run: `cargo bench --bench trace_parse`): reading a saved response into a
//! trace, without the file read, over the benchmark's sidecars (`python3 bench/make_trace.py`,
//! and `--top 20` into `bench/out/top20/`). Prints the best and the median of RUNS (default 5)
//! parses of each, in MB/s of JSON, and the parse's CPU time (steadier on a busy machine).

use std::time::Instant;

mod support;

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let dir = std::env::var("HEDGE_BENCH_DIR").unwrap_or_else(|_| "bench/out".into());
    let mut any = false;
    for sidecar in [
        format!("{dir}/doc.md.logprobs.json"),
        format!("{dir}/top20/doc.md.logprobs.json"),
    ] {
        let Ok(data) = std::fs::read(&sidecar) else {
            continue;
        };
        any = true;
        let mb = data.len() as f64 / 1e6;
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        let mut tokens = 0;
        for _ in 0..runs {
            let (t, c) = (Instant::now(), support::cpu_s());
            let trace = hedge::trace::parse_trace(&data, None).expect("the sidecar parses");
            wall.push(t.elapsed().as_secs_f64());
            cpu.push(support::cpu_s() - c);
            tokens = trace.tokens.len();
            drop(trace);
        }
        wall.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let (best, median) = (wall[0], wall[wall.len() / 2]);
        println!(
            "{sidecar}: {mb:.1} MB, {tokens} tokens: best {:.3} s ({:.0} MB/s), median {:.3} s ({:.0} MB/s), median CPU {:.3} s",
            best,
            mb / best,
            median,
            mb / median,
            cpu[cpu.len() / 2]
        );
    }
    if !any {
        eprintln!("no sidecar in {dir}: run `python3 bench/make_trace.py` first");
        std::process::exit(2);
    }
}
