//! The fuzz targets' invariants (fuzz/src/checks.rs), run on stable Rust by `cargo test`: over
//! every fixture, over the inputs a fuzzer once failed on (fuzz/regressions/), and over
//! pseudo-random documents, tokens and edits from a fixed seed.

#[allow(dead_code)]
#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::Path;

use checks::{alignment, edits, positions, snap, spell, trace_bytes, Edit, ENCODINGS};

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// A small deterministic generator (64-bit LCG), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn readers_keep_their_invariants_on_every_fixture() {
    let mut n = 0;
    for dir in [
        "tests/fixtures/traces",
        "tests/fixtures/docs",
        "tests/fixtures/malformed",
    ] {
        for p in files(dir) {
            if matches!(p.extension().and_then(|e| e.to_str()), Some("py" | "rs")) {
                continue;
            }
            trace_bytes(&std::fs::read(&p).unwrap());
            n += 1;
        }
    }
    assert!(n >= 100, "{n} fixtures");
}

#[test]
fn inputs_fuzzers_failed_on() {
    // Reader inputs are kept as files (none so far); the others are spelled out here.
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/trace_readers")
        .is_dir()
    {
        for p in files("fuzz/regressions/trace_readers") {
            trace_bytes(&std::fs::read(&p).unwrap());
        }
    }
    // A UTF-8 position inside a character: the CLI's converter rounded up, the server's down.
    positions("日本日本", &[], &[(0, 1), (0, 4), (0, 5)]);
    positions("a💙b", &[], &[(0, 2), (0, 3)]);
    // A token ending inside U+2028 (whitespace), placed on a differently spaced run.
    let tokens = vec![b"x".to_vec(), b"\r\n\n\xe2".to_vec(), b"\x80\xa8y".to_vec()];
    alignment(&tokens, "x\r\n\n  y");
}

#[test]
fn positions_round_trip_in_the_fixture_documents() {
    for p in files("tests/fixtures/docs") {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        positions(
            &text,
            &[0, 1, 7, 100_000],
            &[(0, 0), (1, 3), (2, 999), (63, 1)],
        );
    }
    let mut r = Rng(7);
    for _ in 0..300 {
        let n = r.below(40);
        let text = spell(&r.bytes(n));
        let probes: Vec<(u32, u32)> = (0..8)
            .map(|_| (r.below(8) as u32, r.below(40) as u32))
            .collect();
        positions(&text, &[text.len() + 3], &probes);
    }
}

#[test]
fn alignment_places_tokens_only_on_their_own_text() {
    let mut r = Rng(11);
    for _ in 0..300 {
        let n = r.below(60);
        let generated = spell(&r.bytes(n));
        let g = generated.as_bytes();
        let mut tokens = Vec::new();
        let mut at = 0;
        while at < g.len() {
            let end = (at + 1 + r.below(8)).min(g.len());
            tokens.push(g[at..end].to_vec());
            at = end;
        }
        let mut edited = generated.clone();
        for _ in 0..r.below(4) {
            let s = snap(&edited, r.below(edited.len() + 1));
            let e = snap(&edited, s + r.below(10)).max(s);
            let n = r.below(4);
            edited.replace_range(s..e, &spell(&r.bytes(n)));
        }
        let (b, a) = (r.below(6), r.below(6));
        let doc = format!("{}{edited}{}", spell(&r.bytes(b)), spell(&r.bytes(a)));
        alignment(&tokens, &doc);
    }
}

#[test]
fn edits_in_any_chunking_give_the_same_text() {
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs/review.md"),
    )
    .unwrap();
    let mut r = Rng(23);
    for round in 0..120 {
        let text = if round == 0 {
            fixture.clone()
        } else {
            let n = r.below(50);
            spell(&r.bytes(n))
        };
        let cuts: Vec<usize> = (0..40).map(|_| 1 + r.below(6)).collect();
        let logprobs = r.bytes(40);
        let list: Vec<Edit> = (0..1 + r.below(12))
            .map(|_| Edit {
                at: r.below(text.len() + 20),
                len: r.below(12),
                text: {
                    let n = r.below(5);
                    spell(&r.bytes(n))
                },
                pieces: r.below(5),
            })
            .collect();
        edits(&text, &cuts, &logprobs, &list, ENCODINGS[round % 3]);
    }
}
