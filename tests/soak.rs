//! Soak: edits, hovers and semantic-token requests over 50 open documents for
//! `HEDGE_SOAK_SECS` seconds (10 by default; CI runs 60, the documented long run 600). Memory
//! must level off: the resident size in the last third of the run may not exceed the peak of
//! the first third by more than 25% + 16 MiB.

mod common;
#[path = "common/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use workload::{documents, edit, open_all, quantile_ms, rss_kib, settle, Rng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_levels_off_under_continuous_editing() {
    let secs: u64 = std::env::var("HEDGE_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (dir, files) = documents(50);
    let (mut c, mut docs) = open_all(&files, dir.path()).await;
    let mut rng = Rng(7);
    let start = Instant::now();
    let total = Duration::from_secs(secs);
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let (mut edits, mut hovers) = (0usize, Vec::new());
    while start.elapsed() < total {
        let lat = edit(&mut c, &mut docs, &mut rng, 500).await;
        edits += 500;
        hovers.extend(lat.hover);
        samples.push((start.elapsed(), rss_kib().0));
    }
    settle(&mut c, &docs).await;
    samples.push((start.elapsed(), rss_kib().0));
    let third = start.elapsed() / 3;
    let early = samples
        .iter()
        .filter(|(t, _)| *t <= third)
        .map(|s| s.1)
        .max()
        .unwrap_or(samples[0].1);
    let late = samples
        .iter()
        .filter(|(t, _)| *t >= third * 2)
        .map(|s| s.1)
        .max()
        .unwrap_or(0);
    println!(
        "soak: {} s, {edits} edits, {} hovers (p99 {:.2} ms), {} samples; RSS peak of the first third {} MiB, of the last third {} MiB, growth {:+.1}%",
        start.elapsed().as_secs(),
        hovers.len(),
        quantile_ms(&hovers, 0.99),
        samples.len(),
        early / 1024,
        late / 1024,
        (late as f64 / early.max(1) as f64 - 1.0) * 100.0
    );
    assert!(
        late <= early + early / 4 + 16 * 1024,
        "memory grew from {early} KiB to {late} KiB: {samples:?}"
    );
}
