//! The shipped example, edited as a reviewer would edit it, and pasted into a longer document:
//! untouched tokens keep their exact places, edited text gets no finding.

use std::ops::Range;
use std::path::Path;

use hedge::analysis::analyze;
use hedge::config::Config;
use hedge::trace::{read_trace_file, Trace, DEFAULT_MAX_TRACE_BYTES};

const EXAMPLE: &str = "examples/literature-review.md";

fn example() -> (String, Trace) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join(EXAMPLE)).unwrap();
    let trace = read_trace_file(
        &root.join(format!("{EXAMPLE}.logprobs.json")),
        None,
        DEFAULT_MAX_TRACE_BYTES,
    )
    .unwrap();
    (doc, trace)
}

/// A kept piece of the original: original range and where it starts in the edited text.
struct Kept {
    orig: Range<usize>,
    new_start: usize,
}

/// Edit every 10th word: replace, insert a word before it, or delete it, in turn.
/// Returns the edited text, the kept pieces and the byte ranges of new text in the edited copy.
fn edit(doc: &str) -> (String, Vec<Kept>, Vec<Range<usize>>, usize) {
    let words: Vec<Range<usize>> = doc
        .split_whitespace()
        .map(|w| {
            let start = w.as_ptr() as usize - doc.as_ptr() as usize;
            start..start + w.len()
        })
        .collect();
    let mut out = String::new();
    let mut kept = Vec::new();
    let mut new_text = Vec::new();
    let mut at = 0;
    let mut edits = 0;
    for (k, w) in words.iter().enumerate() {
        if k % 10 != 5 {
            continue;
        }
        edits += 1;
        let keep_to = w.start;
        kept.push(Kept {
            orig: at..keep_to,
            new_start: out.len(),
        });
        out.push_str(&doc[at..keep_to]);
        match (k / 10) % 3 {
            0 => {
                let s = out.len();
                out.push_str("EDITED");
                new_text.push(s..out.len());
                at = w.end;
            }
            1 => {
                let s = out.len();
                out.push_str("INSERTED ");
                new_text.push(s..out.len());
                at = w.start;
            }
            _ => {
                // Delete the word and the space after it.
                at = (w.end + 1).min(doc.len());
            }
        }
    }
    kept.push(Kept {
        orig: at..doc.len(),
        new_start: out.len(),
    });
    out.push_str(&doc[at..]);
    (out, kept, new_text, edits)
}

#[test]
fn ten_percent_of_words_edited() {
    let (doc, trace) = example();
    let cfg = Config::default();
    let original = analyze(&doc, &trace, &cfg).unwrap();
    assert_eq!(
        original.alignment.aligned, original.alignment.total,
        "the example matches its trace"
    );
    let (edited, kept, new_text, edits) = edit(&doc);
    let words = doc.split_whitespace().count();
    assert!(edits * 10 >= words - 10, "{edits} edits for {words} words");

    let a = analyze(&edited, &trace, &cfg).unwrap();
    let mut untouched = 0;
    let mut exact = 0;
    for (i, r) in original.alignment.ranges.iter().enumerate() {
        let Some(r) = r else { continue };
        // Untouched: inside one kept piece, not at its very edge (a word deleted right after
        // would take the token's neighbour with it).
        let expected = kept
            .iter()
            .find(|k| k.orig.start <= r.start && r.end <= k.orig.end)
            .map(|k| r.start - k.orig.start + k.new_start..r.end - k.orig.start + k.new_start);
        if let Some(e) = expected {
            untouched += 1;
            if a.alignment.ranges[i].as_ref() == Some(&e) {
                exact += 1;
            }
        }
    }
    assert!(
        exact * 100 >= untouched * 95,
        "{exact} of {untouched} untouched tokens kept their range"
    );
    // No token is placed on new text, and no finding touches it.
    for r in a.alignment.ranges.iter().flatten() {
        assert!(
            !new_text.iter().any(|n| r.start < n.end && n.start < r.end),
            "token placed on new text at {r:?}"
        );
    }
    for f in &a.findings {
        assert!(
            !new_text
                .iter()
                .any(|n| f.range.start < n.end && n.start < f.range.end),
            "finding {:?} on edited text: {}",
            f.code,
            f.message
        );
    }
    assert!(!a.findings.is_empty());
}

#[test]
fn pasted_into_a_longer_document() {
    let (doc, trace) = example();
    let before = "# My notes\n\nI asked a small model for a review; below is what it wrote.\n\n";
    let after = "\n\n## My comments\n\nCheck every reference before citing it.\n";
    let longer = format!("{before}{doc}{after}");
    let a = analyze(&longer, &trace, &Config::default()).unwrap();
    assert_eq!(a.alignment.verbatim_at, Some(before.len()));
    let alone = analyze(&doc, &trace, &Config::default()).unwrap();
    for (x, y) in alone.alignment.ranges.iter().zip(&a.alignment.ranges) {
        assert_eq!(
            x.clone()
                .map(|r| r.start + before.len()..r.end + before.len()),
            y.clone()
        );
    }
    assert_eq!(alone.findings.len(), a.findings.len());
}
