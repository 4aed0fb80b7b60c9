//! An editor's day in fast-forward, for the load and soak tests: many documents with sidecars
//! open at once, random edits across them, hovers and semantic-token requests in between.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use hedge::position::{Encoding, LineIndex};

use crate::common::{file_uri, Client};

/// A small deterministic generator (64-bit LCG), so a run can be repeated.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One open document as the editor sees it.
pub struct Doc {
    pub uri: String,
    pub text: String,
    pub original_len: usize,
    pub version: i64,
}

/// Request latencies of one run.
#[derive(Default)]
pub struct Latencies {
    pub hover: Vec<Duration>,
    pub tokens: Vec<Duration>,
}

/// The value at quantile `q` (0..=1) of `v`, in milliseconds.
pub fn quantile_ms(v: &[Duration], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort();
    let i = ((s.len() as f64 - 1.0) * q).round() as usize;
    s[i].as_secs_f64() * 1000.0
}

/// (current, peak) resident memory of this process in KiB, from /proc (0 where there is none).
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A folder with `n` documents, each a copy of a fixture document with its sidecar.
pub fn documents(n: usize) -> (tempfile::TempDir, Vec<(std::path::PathBuf, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs");
    let mut out = Vec::new();
    for i in 0..n {
        let name = ["curie.md", "review.md"][i % 2];
        let path = dir.path().join(format!("doc{i:02}-{name}"));
        std::fs::copy(src.join(name), &path).unwrap();
        let mut side = path.as_os_str().to_owned();
        side.push(".logprobs.json");
        std::fs::copy(src.join(format!("{name}.logprobs.json")), side).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        out.push((path, text));
    }
    (dir, out)
}

/// Start a server, open every document, and wait for each one's first diagnostics.
pub async fn open_all(
    files: &[(std::path::PathBuf, String)],
    state_dir: &std::path::Path,
) -> (Client, Vec<Doc>) {
    let mut c = Client::start(Some(state_dir.join("dismissed.json")));
    c.initialize(json!({}), json!({"heatmap": true})).await;
    let mut docs = Vec::new();
    for (path, text) in files {
        let uri = file_uri(path);
        c.open(&uri, text).await;
        docs.push(Doc {
            uri,
            text: text.clone(),
            original_len: text.len(),
            version: 1,
        });
    }
    for d in &docs {
        let diags = c.diagnostics_for_version(&d.uri, 1).await;
        assert!(
            !diags["diagnostics"].as_array().unwrap().is_empty(),
            "{diags}"
        );
    }
    c.notifications.clear();
    (c, docs)
}

fn inside_crlf(text: &str, o: usize) -> bool {
    let b = text.as_bytes();
    o > 0 && o < b.len() && b[o - 1] == b'\r' && b[o] == b'\n'
}

/// A random character boundary of `text` (never between the `\r` and `\n` of a CRLF).
fn boundary(rng: &mut Rng, text: &str) -> usize {
    let mut o = rng.below(text.len() + 1);
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    if inside_crlf(text, o) {
        o -= 1;
    }
    o
}

fn lsp_pos(text: &str, o: usize) -> Value {
    let p = LineIndex::new(text).position(text, o, Encoding::Utf16);
    json!({"line": p.line, "character": p.character})
}

/// `edits` random edits across `docs` (an insertion, or a deletion once a document has grown),
/// with a hover after every 10th and a semantic-token request after every 25th. Documents stay
/// near their original size, so memory has no reason to grow.
pub async fn edit(c: &mut Client, docs: &mut [Doc], rng: &mut Rng, edits: usize) -> Latencies {
    const WORDS: [&str; 6] = [" lorem", "x", " 1903", " 日本", " 💙", "\n"];
    let mut lat = Latencies::default();
    for n in 1..=edits {
        let d = &mut docs[rng.below(docs.len())];
        let s = boundary(rng, &d.text);
        let (e, insert) = if d.text.len() > d.original_len + 200 || rng.below(3) == 0 {
            let mut e = (s + 1 + rng.below(8)).min(d.text.len());
            while !d.text.is_char_boundary(e) {
                e += 1;
            }
            if inside_crlf(&d.text, e) {
                e += 1;
            }
            (e, "")
        } else {
            (s, WORDS[rng.below(WORDS.len())])
        };
        let range = json!({"start": lsp_pos(&d.text, s), "end": lsp_pos(&d.text, e)});
        d.text.replace_range(s..e, insert);
        d.version += 1;
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": d.uri, "version": d.version},
                   "contentChanges": [{"range": range, "text": insert}]}),
        )
        .await;
        if n % 10 == 0 {
            let d = &docs[rng.below(docs.len())];
            let o = boundary(rng, &d.text);
            let params = json!({"textDocument": {"uri": d.uri}, "position": lsp_pos(&d.text, o)});
            let t = Instant::now();
            let r = c.request("textDocument/hover", params).await;
            lat.hover.push(t.elapsed());
            assert!(r.get("result").is_some(), "{r}");
        }
        if n % 25 == 0 {
            let d = &docs[rng.below(docs.len())];
            let t = Instant::now();
            let r = c
                .request(
                    "textDocument/semanticTokens/full",
                    json!({"textDocument": {"uri": d.uri}}),
                )
                .await;
            lat.tokens.push(t.elapsed());
            assert!(r["result"]["data"].is_array(), "{r}");
            // Notifications are not kept: the client would grow, not the server.
            c.notifications.clear();
        }
    }
    lat
}

/// Every document's text in the server equals the editor's, and once the edits stop each one
/// is re-analysed: its tokens are where an analysis from scratch of the final text puts them.
pub async fn settle(c: &mut Client, docs: &[Doc]) {
    for d in docs {
        let uri: tower_lsp_server::ls_types::Uri = d.uri.parse().unwrap();
        let text = c.state.docs.get(&uri).map(|doc| doc.text());
        assert_eq!(text.as_deref(), Some(d.text.as_str()), "{}", d.uri);
        let trace = hedge::trace::read_trace_file(
            std::path::Path::new(&format!("{}.logprobs.json", &d.uri["file://".len()..])),
            None,
            1 << 30,
        )
        .unwrap();
        let fresh = hedge::analysis::analyze(&d.text, &trace, &Default::default())
            .map(|a| a.alignment.ranges)
            .ok();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = c
                .state
                .docs
                .get(&uri)
                .and_then(|doc| doc.live.as_ref().map(|l| l.tokens.clone()));
            if now == fresh {
                break;
            }
            assert!(Instant::now() < deadline, "{} not re-analysed", d.uri);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    c.notifications.clear();
}
