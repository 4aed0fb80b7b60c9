//! `path:line:col: severity[code]: message`, 1-based, then a summary line per file.

use std::fmt::Write;

use super::FileReport;
use crate::findings::Severity;
use crate::position::Encoding;

pub fn render(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.analysis.findings {
            let p = r.position(f.range.start, Encoding::Utf32);
            let _ = writeln!(
                out,
                "{}:{}:{}: {}[{}]: {}",
                r.path,
                p.line + 1,
                p.character + 1,
                f.severity.as_str(),
                f.code.as_str(),
                f.message
            );
        }
        let _ = writeln!(out, "{}", summary_line(r));
    }
    out
}

pub fn summary_line(r: &FileReport) -> String {
    let a = &r.analysis;
    let s = &a.summary;
    let count = |sev: Severity| a.findings.iter().filter(|f| f.severity == sev).count();
    let mut line = format!(
        "{}: {} tokens, {} placed ({:.0}%), trace {} ({})",
        r.path,
        s.tokens,
        a.alignment.aligned,
        a.alignment.coverage() * 100.0,
        r.trace_path,
        r.trace.format
    );
    if let Some(ppl) = s.perplexity {
        let _ = write!(line, "; perplexity {ppl:.2}");
    }
    if let Some(ms) = s.mean_surprisal_bits {
        let _ = write!(line, ", mean surprisal {ms:.2} bits");
    }
    if let Some(e) = s.mean_entropy_bits {
        let _ = write!(line, ", mean entropy {:.2}–{:.2} bits", e.low, e.high);
    }
    if s.sentinel_tokens > 0 {
        let _ = write!(
            line,
            ", {} below the listed alternatives",
            s.sentinel_tokens
        );
    }
    let n = a.findings.len();
    let _ = write!(
        line,
        "; {n} finding{} ({} errors, {} warnings, {} information, {} hints)",
        if n == 1 { "" } else { "s" },
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Information),
        count(Severity::Hint)
    );
    line
}
