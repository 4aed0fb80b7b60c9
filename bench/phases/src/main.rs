//! Times each phase of `hedge check --format json DOC` (sidecar DOC.logprobs.json) separately,
//! with the peak and current RSS after each, using hedge's public API the way the CLI does.
//! A diagnostic for bench/run.sh; the figures that count come from the real binary.

use std::path::PathBuf;
use std::time::Instant;

use hedge::config::Config;
use hedge::report::FileReport;

fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

struct Clock {
    t: Instant,
    start: Instant,
}

impl Clock {
    fn lap(&mut self, what: &str) {
        let now = Instant::now();
        let (cur, peak) = rss();
        eprintln!(
            "{:<34} {:>8.3} s   (cumulative {:>7.3} s)   RSS now {:>7.1} MiB, peak {:>7.1} MiB",
            what,
            (now - self.t).as_secs_f64(),
            (now - self.start).as_secs_f64(),
            cur as f64 / 1024.0,
            peak as f64 / 1024.0
        );
        self.t = Instant::now();
    }
}

fn main() {
    let doc_path = PathBuf::from(std::env::args().nth(1).expect("usage: phases DOC"));
    let side = PathBuf::from(format!("{}.logprobs.json", doc_path.display()));
    let mut c = Clock { t: Instant::now(), start: Instant::now() };

    let doc = String::from_utf8(std::fs::read(&doc_path).unwrap()).unwrap();
    let data = std::fs::read(&side).unwrap();
    c.lap("read files");
    let format = hedge::trace::detect::detect(&data).unwrap();
    c.lap(&format!("detect ({})", format.name()));
    let trace = hedge::trace::parse_trace(&data, Some(format)).unwrap();
    c.lap(&format!("parse into Trace ({} tokens)", trace.tokens.len()));
    drop(data);
    c.lap("drop file buffer");

    let cfg = Config::default();
    let alignment = hedge::align::align(trace.tokens.iter().map(|t| t.bytes.as_slice()), &doc);
    c.lap(&format!("align ({} aligned)", alignment.aligned));
    let vocab = trace.vocab_size.map(u64::from).unwrap_or(hedge::measure::DEFAULT_VOCAB_SIZE);
    let measures = hedge::measure::measure_tokens(&trace, vocab);
    let summary = hedge::measure::sequence_measures(&measures);
    c.lap("measure (per token + sequence)");
    let placed = std::hint::black_box(hedge::spans::segment(&doc, 0..doc.len()));
    c.lap(&format!("spans::segment alone ({} spans)", placed.len()));
    drop(placed);
    let findings = hedge::findings::find(&doc, &trace, &alignment.ranges, &measures, &cfg);
    c.lap(&format!("findings::find ({} findings, incl. segment)", findings.len()));

    let analysis = hedge::analysis::analyze(&doc, &trace, &cfg).unwrap();
    c.lap("(analysis::analyze again, whole)");
    drop((alignment, measures, findings, summary));
    let report = FileReport::new(
        doc_path.display().to_string(),
        side.display().to_string(),
        doc,
        trace,
        analysis,
    );
    c.lap("FileReport::new");
    let out = hedge::report::json::render(std::slice::from_ref(&report), false);
    c.lap(&format!("json::render ({} bytes)", out.len()));
}
