//! SARIF 2.1.0: one run, one rule per finding code, 1-based regions (columns in UTF-16 code
//! units, SARIF's default `columnKind`). The log is checked against serde-sarif's types before
//! it is printed, so a shape mistake fails here rather than in the consumer.

use serde_json::{json, Value};

use super::FileReport;
use crate::findings::{Code, Severity};
use crate::position::Encoding;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Information => "note",
        Severity::Hint => "note",
    }
}

pub fn render(reports: &[FileReport]) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": {"text": c.description()},
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.analysis.findings {
            let s = r.position(f.range.start, Encoding::Utf16);
            let e = r.position(f.range.end, Encoding::Utf16);
            let rule_index = Code::ALL.iter().position(|c| *c == f.code).unwrap_or(0);
            results.push(json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&r.path)},
                        "region": {
                            "startLine": s.line + 1,
                            "startColumn": s.character + 1,
                            "endLine": e.line + 1,
                            "endColumn": e.character + 1,
                            "snippet": {"text": &r.doc[f.range.clone()]},
                        }
                    }
                }],
                "properties": {
                    "kind": f.kind,
                    "jointLogprob": f.joint_logprob,
                    "minP": f.min_p,
                    "severity": f.severity.as_str(),
                }
            }));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hedge",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }]
    });
    let typed: serde_sarif::sarif::Sarif =
        serde_json::from_value(log).expect("hedge writes valid SARIF 2.1.0");
    serde_json::to_string_pretty(&typed).expect("SARIF serialises")
}

/// A relative URI for a path as given on the command line (SARIF wants `/` and escapes).
fn uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
