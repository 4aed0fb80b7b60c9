//! `hedge show`: the document with each token coloured by how likely the model found it.

use super::FileReport;

/// Probability buckets, most likely first: (lower bound of p, ANSI colour, plain marker, label).
pub const BUCKETS: [(f64, &str, (&str, &str), &str); 4] = [
    (0.5, "\x1b[32m", ("", ""), "p ≥ 50%"),
    (0.1, "\x1b[33m", ("", ""), "10–50%"),
    (0.01, "\x1b[31m", ("[", "]"), "1–10%"),
    (
        0.0,
        "\x1b[1;35m",
        ("[[", "]]"),
        "< 1% or below the listed alternatives",
    ),
];

fn bucket(p: Option<f64>, sentinel: bool) -> Option<usize> {
    if sentinel {
        return Some(3);
    }
    let p = p?;
    BUCKETS.iter().position(|(lo, ..)| p >= *lo)
}

/// The document with tokens marked. With `color`, ANSI colours; without, low-probability
/// tokens are wrapped in `[…]` (1–10%) and `[[…]]` (< 1%) so the output survives a pipe.
pub fn render(r: &FileReport, color: bool) -> String {
    let doc = &r.doc;
    let mut placed: Vec<(std::ops::Range<usize>, Option<usize>)> = r
        .analysis
        .alignment
        .ranges
        .iter()
        .zip(&r.analysis.measures)
        .filter_map(|(range, m)| range.clone().map(|rg| (rg, bucket(m.p, m.sentinel))))
        .collect();
    placed.sort_by_key(|(rg, _)| rg.start);
    let mut out = String::with_capacity(doc.len() * 2);
    let mut at = 0;
    for (rg, b) in placed {
        if rg.start < at {
            continue; // the second half of a split character shares the first one's range
        }
        out.push_str(&doc[at..rg.start]);
        let text = &doc[rg.clone()];
        match (b, color) {
            (Some(b), true) => {
                out.push_str(BUCKETS[b].1);
                out.push_str(text);
                out.push_str("\x1b[0m");
            }
            (Some(b), false) => {
                let (open, close) = BUCKETS[b].2;
                out.push_str(open);
                out.push_str(text);
                out.push_str(close);
            }
            (None, _) => out.push_str(text),
        }
        at = rg.end;
    }
    out.push_str(&doc[at..]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&legend(color));
    out
}

pub fn legend(color: bool) -> String {
    let mut parts = Vec::new();
    for (_, ansi, (open, close), label) in BUCKETS {
        if color {
            parts.push(format!("{ansi}■\x1b[0m {label}"));
        } else if !open.is_empty() {
            parts.push(format!("{open}text{close} {label}"));
        }
    }
    let head = if color {
        "token probability:"
    } else {
        "marked tokens:"
    };
    format!("{head} {}\n", parts.join("   "))
}
