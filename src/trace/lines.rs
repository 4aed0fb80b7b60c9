//! Line splitting shared by the readers of saved streams (JSONL, or SSE `data:` lines ending
//! in `data: [DONE]`), and the wording of JSON errors.

use serde::de::DeserializeOwned;

use super::{TraceError, TraceFormat};

/// One JSON payload of a saved stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    /// 1-based line number in the data.
    pub line: usize,
    pub json: &'a [u8],
    /// Bytes of the line before `json` (the `data: ` prefix, indentation), for error columns.
    pub col: usize,
    /// The line was an SSE `data:` field.
    pub sse: bool,
    /// The last line of the data, with no newline after it (a capture that may be cut off).
    pub unterminated: bool,
    /// The data after this line.
    pub rest: &'a [u8],
}

/// The JSON payloads of a saved stream, skipping blank lines, `data: [DONE]` and the other SSE
/// fields (`event:`, `id:`, `retry:`, `:` comments).
pub(crate) fn records(data: &[u8]) -> Records<'_> {
    Records {
        rest: data,
        line: 0,
    }
}

pub(crate) struct Records<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        while !self.rest.is_empty() {
            let (raw, rest, terminated) = match memchr::memchr(b'\n', self.rest) {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..], true),
                None => (self.rest, &self.rest[self.rest.len()..], false),
            };
            self.rest = rest;
            self.line += 1;
            let lead = raw.len() - trim_start(raw).len();
            let line = trim(raw);
            let (json, col, sse) = if let Some(p) = line.strip_prefix(b"data:") {
                let payload = trim_start(p);
                (payload, lead + 5 + (p.len() - payload.len()), true)
            } else if line.starts_with(b":")
                || line.starts_with(b"event:")
                || line.starts_with(b"id:")
                || line.starts_with(b"retry:")
            {
                continue;
            } else {
                (line, lead, false)
            };
            if json.is_empty() || json == b"[DONE]" {
                continue;
            }
            return Some(Record {
                line: self.line,
                json,
                col,
                sse,
                unterminated: !terminated,
                rest,
            });
        }
        None
    }
}

/// Parse one stream record. A last line that was cut off mid-object (a capture interrupted
/// while writing) is skipped when `allow_cut` is set and gives `None`.
pub(crate) fn parse_record<T: DeserializeOwned>(
    rec: &Record<'_>,
    format: TraceFormat,
    what: &str,
    allow_cut: bool,
) -> Result<Option<T>, TraceError> {
    match serde_json::from_slice::<T>(rec.json) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_eof() && rec.unterminated && allow_cut => Ok(None),
        Err(e) if e.is_data() => {
            let reason = if rec.json.first() == Some(&b'{') {
                format!(
                    "line {}: {} (column {})",
                    rec.line,
                    message(&e),
                    e.column() + rec.col
                )
            } else {
                format!("line {}: expected {what}", rec.line)
            };
            Err(TraceError::Shape { format, reason })
        }
        Err(e) => Err(json_error(&e, rec.line, rec.col)),
    }
}

/// Parse a whole JSON document into a reader's response type.
pub(crate) fn parse_whole<T: DeserializeOwned>(
    data: &[u8],
    format: TraceFormat,
) -> Result<T, TraceError> {
    serde_json::from_slice::<T>(data).map_err(|e| {
        if !e.is_data() {
            return TraceError::Json(e.to_string());
        }
        let reason = if trim(data).first() == Some(&b'{') {
            e.to_string()
        } else {
            "expected a JSON object at the top level".to_string()
        };
        TraceError::Shape { format, reason }
    })
}

/// A serde error on one line of a stream, with the position in the whole file.
pub(crate) fn json_error(e: &serde_json::Error, line: usize, col: usize) -> TraceError {
    if e.line() == 0 {
        return TraceError::Json(format!("line {line}: {e}"));
    }
    TraceError::Json(format!(
        "{} at line {line} column {}",
        message(e),
        e.column() + col
    ))
}

/// A serde error's message without its " at line L column C" suffix.
fn message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) if e.line() > 0 => s[..i].to_string(),
        _ => s,
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

pub(crate) fn trim(b: &[u8]) -> &[u8] {
    let b = trim_start(b);
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}
