//! Splitting a document into chunks for scoring, and the on-disk cache of scored chunks.
//!
//! Chunk ends are chosen by the text itself, so an edit moves no boundary outside the
//! paragraph it touches: a chunk ends after every paragraph (text up to a blank line) of at
//! least [`ChunkOptions::min_bytes`]; shorter paragraphs (headings, list items) join the next
//! one. A chunk never grows past [`ChunkOptions::max_bytes`]: a longer paragraph is cut at a
//! line end, else before the space after a sentence end, else before a space, else at a
//! character boundary. Each chunk is scored after a context of up to
//! [`ChunkOptions::overlap_bytes`] of the text before it (starting at a word), so an edit
//! rescores its own chunk, and the next one too when it falls inside that one's context.

use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::trace::{native, Token, Trace, TraceFormat};

/// Chunk sizes, in bytes of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    pub min_bytes: usize,
    pub max_bytes: usize,
    pub overlap_bytes: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            min_bytes: 512,
            max_bytes: 4096,
            overlap_bytes: 512,
        }
    }
}

/// One chunk: the bytes it scores and the bytes before it sent as context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub context: Range<usize>,
    pub range: Range<usize>,
}

/// Paragraph ends: after each run of line breaks holding at least two `\n`.
fn paragraphs(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            let run = i;
            while i < b.len() && (b[i] == b'\n' || b[i] == b'\r') {
                i += 1;
            }
            if b[run..i].iter().filter(|&&c| c == b'\n').count() >= 2 {
                out.push(start..i);
                start = i;
            }
        } else {
            i += 1;
        }
    }
    if start < b.len() {
        out.push(start..b.len());
    }
    out
}

/// Where to cut `text[range]` so the first piece is at most `max` bytes.
fn cut_point(text: &str, start: usize, max: usize) -> usize {
    let b = text.as_bytes();
    let mut hard = start + max;
    while !text.is_char_boundary(hard) {
        hard -= 1;
    }
    let window = &b[start..hard];
    let floor = max / 4;
    let ok = |i: usize| i > floor;
    if let Some(i) = window
        .iter()
        .rposition(|&c| c == b'\n')
        .map(|i| i + 1)
        .filter(|&i| ok(i))
    {
        return start + i;
    }
    let sentence = (1..window.len())
        .rev()
        .find(|&i| window[i] == b' ' && matches!(window[i - 1], b'.' | b'!' | b'?' | b':' | b';'));
    if let Some(i) = sentence.filter(|&i| ok(i)) {
        return start + i;
    }
    if let Some(i) = window
        .iter()
        .rposition(|c| c.is_ascii_whitespace())
        .filter(|&i| ok(i))
    {
        return start + i;
    }
    if hard > start {
        hard
    } else {
        // A single character longer than `max`: take it whole.
        start + text[start..].chars().next().map_or(1, char::len_utf8)
    }
}

/// Split a document into chunks (see the module documentation).
pub fn chunk_document(text: &str, o: &ChunkOptions) -> Vec<Chunk> {
    let max = o.max_bytes.max(16);
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut cur: Option<usize> = None;
    for p in paragraphs(text) {
        if let Some(s) = cur {
            if p.end - s > max {
                ranges.push(s..p.start);
                cur = None;
            }
        }
        let mut s = cur.unwrap_or(p.start);
        while p.end - s > max {
            let c = cut_point(text, s, max);
            ranges.push(s..c);
            s = c;
        }
        if p.end - p.start >= o.min_bytes || p.end == text.len() {
            ranges.push(s..p.end);
            cur = None;
        } else {
            cur = Some(s);
        }
    }
    if let Some(s) = cur {
        ranges.push(s..text.len());
    }
    ranges
        .into_iter()
        .filter(|r| !r.is_empty())
        .map(|range| Chunk {
            context: context_start(text, range.start, o.overlap_bytes)..range.start,
            range,
        })
        .collect()
}

/// The start of the context before `at`: `overlap` bytes back, moved forward to a word start.
fn context_start(text: &str, at: usize, overlap: usize) -> usize {
    if at == 0 || overlap == 0 {
        return at;
    }
    let mut s = at.saturating_sub(overlap);
    if s == 0 {
        return 0;
    }
    while !text.is_char_boundary(s) {
        s += 1;
    }
    let b = text.as_bytes();
    match b[s..at].iter().position(|c| c.is_ascii_whitespace()) {
        Some(i) => s + i + 1,
        None => s,
    }
}

/// Scored chunks on disk, one native JSONL file per chunk, named by a SHA-256 of what was
/// asked: the server kind, the model (or, without one, the endpoint), the context and the
/// chunk's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkCache {
    dir: PathBuf,
}

impl ChunkCache {
    pub fn new(dir: impl Into<PathBuf>) -> ChunkCache {
        ChunkCache { dir: dir.into() }
    }

    /// `$HEDGE_CACHE_DIR`, else `$XDG_CACHE_HOME/hedge`, else `~/.cache/hedge`.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |n: &str| {
            std::env::var_os(n)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("HEDGE_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("hedge")))
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("hedge")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cache key of one request.
    pub fn key(kind: &str, model_or_endpoint: &str, context: &str, chunk: &str) -> String {
        let mut h = Sha256::new();
        for part in ["hedge-chunk-v1", kind, model_or_endpoint, context, chunk] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join("chunks")
            .join(&key[..2])
            .join(format!("{key}.jsonl"))
    }

    /// The tokens stored for a key; `None` when there are none or the file is unreadable.
    pub fn get(&self, key: &str) -> Option<Vec<Token>> {
        let data = std::fs::read(self.path(key)).ok()?;
        native::read(&data).ok().map(|t| t.tokens)
    }

    /// Store a chunk's tokens (written to a temporary file, then renamed into place).
    pub fn put(&self, key: &str, tokens: &[Token]) -> std::io::Result<()> {
        let path = self.path(key);
        let dir = path.parent().expect("a cache path has a parent");
        std::fs::create_dir_all(dir)?;
        let trace = Trace::new(TraceFormat::Native, tokens.to_vec());
        let mut buf = Vec::new();
        native::write(&trace, &mut buf)?;
        let tmp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &buf)?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(min: usize, max: usize, overlap: usize) -> ChunkOptions {
        ChunkOptions {
            min_bytes: min,
            max_bytes: max,
            overlap_bytes: overlap,
        }
    }

    fn pieces<'a>(text: &'a str, chunks: &[Chunk]) -> Vec<&'a str> {
        chunks.iter().map(|c| &text[c.range.clone()]).collect()
    }

    #[test]
    fn short_paragraphs_join_the_next() {
        let text = "# Title\n\nFirst paragraph is long enough.\n\nShort.\n\nAnother long paragraph here.\n";
        let c = chunk_document(text, &opts(20, 1000, 10));
        assert_eq!(
            pieces(text, &c),
            [
                "# Title\n\nFirst paragraph is long enough.\n\n",
                "Short.\n\nAnother long paragraph here.\n"
            ]
        );
        assert_eq!(c[0].context, 0..0);
        // 10 bytes back is inside "enough.\n\n": the context starts after the next space.
        assert_eq!(&text[c[1].context.clone()], "enough.\n\n");
        let joined: String = pieces(text, &c).concat();
        assert_eq!(joined, text);
    }

    #[test]
    fn long_paragraphs_are_cut_at_sentences_then_spaces() {
        let text = "One two three. Four five six. Seven eight nine ten eleven twelve";
        let c = chunk_document(text, &opts(10, 30, 0));
        assert_eq!(
            pieces(text, &c),
            [
                "One two three. Four five six.",
                " Seven eight nine ten eleven",
                " twelve"
            ]
        );
        let cjk = "日本語のテキスト".repeat(10);
        let c = chunk_document(&cjk, &opts(10, 20, 5));
        assert_eq!(pieces(&cjk, &c).concat(), cjk);
        assert!(c.iter().all(|c| c.range.len() <= 20));
    }

    #[test]
    fn an_edit_moves_no_other_boundary() {
        let para = |w: &str| format!("{} end.\n\n", format!("{w} ").repeat(40));
        let text: String = ["alpha", "beta", "gamma", "delta"].map(para).concat();
        let edited = text.replacen("gamma gamma", "gamma GAMMA gamma", 1);
        let o = opts(100, 4096, 50);
        let (a, b) = (chunk_document(&text, &o), chunk_document(&edited, &o));
        let (pa, pb) = (pieces(&text, &a), pieces(&edited, &b));
        assert_eq!(pa.len(), 4);
        let same = pa.iter().zip(&pb).filter(|(x, y)| x == y).count();
        assert_eq!(same, 3);
    }

    #[test]
    fn cache_round_trip_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::new(dir.path());
        let k = ChunkCache::key("vllm", "m", "ctx", "chunk");
        assert_ne!(k, ChunkCache::key("vllm", "m", "ctxc", "hunk"));
        assert_eq!(cache.get(&k), None);
        let toks = vec![Token {
            bytes: b"Hi"[..].into(),
            logprob: Some(-0.5),
            ..Token::default()
        }];
        cache.put(&k, &toks).unwrap();
        assert_eq!(cache.get(&k), Some(toks));
    }
}
