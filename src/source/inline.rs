//! A saved response or chat log as its own document: findings land inside the JSON string of the
//! message content, mapped through JSON escapes (`\n`, `\"`, `\uXXXX`, surrogate pairs).
//!
//! The file is scanned once for string literals, each decoded with a map from every decoded
//! byte back to where its escape starts in the file. The message is the literal (or, for a
//! stream, the run of `content`/`text`/`delta` literals) whose decoded text is the generated
//! text of the trace read from the same file.

use std::ops::Range;

use crate::analysis::{analyze, Analysis, AnalysisError};
use crate::config::Config;
use crate::trace::{parse_trace_with, ReadOptions, Trace, TraceError};

/// One decoded JSON string literal.
#[derive(Debug, Clone)]
struct Literal {
    /// The object key this string is the value of, if any.
    key: Option<String>,
    text: String,
    /// For each byte of `text`, the file offset of the escape or character it came from, plus
    /// one entry for the end (the closing quote).
    map: Vec<usize>,
}

/// One message found in the file, with its trace and its place in the file.
pub struct InlineMessage {
    pub content: String,
    /// content byte offset → file byte offset (`content.len() + 1` entries).
    pub map: Vec<usize>,
    pub trace: Trace,
}

fn hex4(b: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(b.get(..4)?).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Every string literal of a JSON text, decoded, with its byte map.
fn literals(file: &str, base: usize) -> Vec<Literal> {
    let b = file.as_bytes();
    let mut out: Vec<Literal> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let mut text = Vec::new();
        let mut map = Vec::new();
        let mut j = i + 1;
        while j < b.len() && b[j] != b'"' {
            let at = base + j;
            if b[j] == b'\\' && j + 1 < b.len() {
                let (ch, len): (Option<char>, usize) = match b[j + 1] {
                    b'n' => (Some('\n'), 2),
                    b't' => (Some('\t'), 2),
                    b'r' => (Some('\r'), 2),
                    b'b' => (Some('\u{8}'), 2),
                    b'f' => (Some('\u{c}'), 2),
                    b'u' => match hex4(&b[j + 2..]) {
                        Some(hi @ 0xD800..=0xDBFF) => {
                            let lo = (b.get(j + 6..j + 8) == Some(b"\\u"))
                                .then(|| hex4(&b[j + 8..]))
                                .flatten();
                            match lo {
                                Some(lo @ 0xDC00..=0xDFFF) => (
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                                    12,
                                ),
                                _ => (Some('\u{FFFD}'), 6),
                            }
                        }
                        Some(cp) => (Some(char::from_u32(cp).unwrap_or('\u{FFFD}')), 6),
                        None => (None, 2),
                    },
                    other => (Some(other as char), 2),
                };
                if let Some(ch) = ch {
                    let mut buf = [0u8; 4];
                    let enc = ch.encode_utf8(&mut buf);
                    text.extend_from_slice(enc.as_bytes());
                    map.extend(std::iter::repeat_n(at, enc.len()));
                }
                j += len;
            } else {
                text.push(b[j]);
                map.push(at);
                j += 1;
            }
        }
        map.push(base + j);
        // The key: this literal is a key if a ':' follows; a value's key is the last key seen.
        let mut k = j + 1;
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        if b.get(k) == Some(&b':') {
            out.push(Literal {
                key: Some(text),
                text: String::new(),
                map: Vec::new(),
            });
            out.last_mut().expect("pushed").map.clear();
        } else {
            let key = out
                .last()
                .filter(|l| l.map.is_empty())
                .and_then(|l| l.key.clone());
            out.push(Literal { key, text, map });
        }
        i = j + 1;
    }
    out.retain(|l| !l.map.is_empty());
    out
}

/// The generated text a trace states, or else its tokens' bytes.
fn generated(trace: &Trace) -> String {
    trace
        .stated_text
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(&trace.generated_bytes()).into_owned())
}

/// Find the message(s) of a saved response (`.json`) or log (`.jsonl`).
pub fn messages(file: &str, options: &ReadOptions) -> Result<Vec<InlineMessage>, TraceError> {
    // A log with one whole response per line: each line is a message.
    let lines: Vec<(usize, &str)> = file
        .split_inclusive('\n')
        .scan(0, |at, l| {
            let start = *at;
            *at += l.len();
            Some((start, l))
        })
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    if lines.len() > 1 {
        let per_line: Option<Vec<InlineMessage>> = lines
            .iter()
            .map(|(start, line)| {
                let trace = parse_trace_with(line.as_bytes(), None, options).ok()?;
                whole_literal(line, *start, trace)
            })
            .collect();
        if let Some(found) = per_line {
            return Ok(found);
        }
    }
    let trace = parse_trace_with(file.as_bytes(), None, options)?;
    let want = generated(&trace);
    let lits = literals(file, 0);
    if let Some(l) = lits.iter().find(|l| l.text == want && !want.is_empty()) {
        return Ok(vec![InlineMessage {
            content: l.text.clone(),
            map: l.map.clone(),
            trace,
        }]);
    }
    // A stream: the message is spread over the chunks' delta strings.
    let parts: Vec<&Literal> = lits
        .iter()
        .filter(|l| {
            matches!(
                l.key.as_deref(),
                Some("content" | "text" | "delta" | "response")
            )
        })
        .collect();
    let joined: String = parts.iter().map(|l| l.text.as_str()).collect();
    if joined == want && !want.is_empty() {
        let mut map = Vec::with_capacity(joined.len() + 1);
        for p in &parts {
            map.extend_from_slice(&p.map[..p.map.len() - 1]);
        }
        map.push(parts.last().map(|p| p.map[p.map.len() - 1]).unwrap_or(0));
        return Ok(vec![InlineMessage {
            content: joined,
            map,
            trace,
        }]);
    }
    Err(TraceError::Shape {
        format: trace.format,
        reason: "the message text was not found as a string in the file".into(),
    })
}

fn whole_literal(line: &str, start: usize, trace: Trace) -> Option<InlineMessage> {
    let want = generated(&trace);
    let lit = literals(line, start)
        .into_iter()
        .find(|l| l.text == want && !want.is_empty())?;
    Some(InlineMessage {
        content: lit.text,
        map: lit.map,
        trace,
    })
}

fn to_file(map: &[usize], r: &Range<usize>) -> Range<usize> {
    let at = |i: usize| map[i.min(map.len() - 1)];
    at(r.start)..at(r.end)
}

/// Analyse a message and move every range from the message text into the file.
pub fn analyze_message(msg: &InlineMessage, cfg: &Config) -> Result<Analysis, AnalysisError> {
    let mut a = analyze(&msg.content, &msg.trace, cfg)?;
    for r in a.alignment.ranges.iter_mut().flatten() {
        *r = to_file(&msg.map, r);
    }
    for f in a.findings.iter_mut() {
        f.range = to_file(&msg.map, &f.range);
    }
    a.alignment.verbatim_at = a
        .alignment
        .verbatim_at
        .map(|v| msg.map[v.min(msg.map.len() - 1)]);
    Ok(a)
}

/// All messages of a file as one trace and one analysis (for the editor, which shows one set
/// of diagnostics per file): tokens, measures and findings of each message one after another.
pub fn analyze_file(
    file: &str,
    cfg: &Config,
    options: &ReadOptions,
) -> Result<(Trace, Analysis), String> {
    let messages = messages(file, options).map_err(|e| e.to_string())?;
    let mut combined: Option<(Trace, Analysis)> = None;
    for m in &messages {
        let a = analyze_message(m, cfg).map_err(|e| e.to_string())?;
        match &mut combined {
            None => combined = Some((m.trace.clone(), a)),
            Some((t, all)) => {
                let offset = t.tokens.len();
                t.tokens.extend(m.trace.tokens.iter().cloned());
                all.alignment.ranges.extend(a.alignment.ranges);
                all.alignment.total += a.alignment.total;
                all.alignment.aligned += a.alignment.aligned;
                all.measures.extend(a.measures);
                all.findings.extend(a.findings.into_iter().map(|mut f| {
                    f.token = f.token.map(|i| i + offset);
                    f
                }));
                all.lossy_tokens += a.lossy_tokens;
                all.merged_tokens += a.merged_tokens;
                all.summary = crate::measure::sequence_measures(&all.measures);
            }
        }
    }
    combined.ok_or_else(|| "no message found".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_map_back_to_the_file() {
        let file = r#"{"a":"x\n\"y\" \u00e9 \ud83d\udc99 z"}"#;
        let lits = literals(file, 0);
        assert_eq!(lits.len(), 1);
        let l = &lits[0];
        assert_eq!(l.key.as_deref(), Some("a"));
        assert_eq!(l.text, "x\n\"y\" é 💙 z");
        let pos = |needle: &str| l.text.find(needle).unwrap();
        assert_eq!(&file[l.map[pos("\"y")]..l.map[pos("\"y") + 1]], "\\\"");
        let e = pos("é");
        assert_eq!(&file[l.map[e]..l.map[e + 2]], "\\u00e9");
        let h = pos("💙");
        assert_eq!(&file[l.map[h]..l.map[h + 4]], "\\ud83d\\udc99");
        assert_eq!(l.map[l.text.len()], file.len() - 2);
    }
}
