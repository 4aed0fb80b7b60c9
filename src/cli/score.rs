//! `hedge score PATH... --endpoint URL --server KIND`: score existing documents with a server
//! that returns prompt logprobs and write each result as the document's native sidecar.
//! `hedge score PATH... --model GGUF` (no --endpoint) scores them inside hedge instead (feature
//! `local`).
//!
//! A PATH may be a directory: its documents (by extension, hidden entries left out) are scored,
//! those that already have a trace are skipped. Up to `--jobs` documents are sent to the server
//! at once; a document that fails is reported on its own line and the others go on.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use clap::Args;

use hedge::source::chunks::{ChunkCache, ChunkOptions};
use hedge::source::http::{Endpoint, ScoreOptions, ScoreProgress, Scorer, ServerKind};
use hedge::source::sidecar;
use hedge::trace::{native, Trace};

use super::draft::{wait_for, EndpointArgs};
use super::{fail, local};

#[derive(Args)]
pub struct ScoreArgs {
    /// Documents to score, or directories of documents; a named document must have no sidecar
    /// yet (PATH.logprobs.jsonl is written), one found in a directory is skipped if it has one.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// What the endpoint runs: vllm, llama-cpp-python, tgi, sglang, together or fireworks
    /// (llama-server, Ollama and OpenAI chat cannot score existing text).
    #[arg(long, value_name = "KIND", value_parser = parse_kind, requires = "endpoint")]
    pub server: Option<ServerKind>,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// A file holding the prompt the document answered; it is scored as context, not kept.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Ask the server for every chunk instead of reusing cached results.
    #[arg(long)]
    pub no_cache: bool,
    /// The largest chunk sent at once, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ChunkOptions::default().max_bytes)]
    pub chunk_bytes: usize,
    /// Documents scored at the same time (requests in flight to the endpoint).
    #[arg(long, short, value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    /// In directories, score the files with these extensions.
    #[arg(
        long,
        value_name = "EXT,...",
        value_delimiter = ',',
        default_value = "md,markdown,txt,rst,adoc,org,tex"
    )]
    pub ext: Vec<String>,
}

fn parse_kind(s: &str) -> Result<ServerKind, String> {
    ServerKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = ServerKind::ALL.iter().map(|k| k.name()).collect();
        let cannot = match s {
            "llama-server" | "llama.cpp" | "llamacpp" | "ollama" | "openai" => {
                format!("{s} returns logprobs only for text it generates, so it cannot score existing text (use `hedge draft`); ")
            }
            _ => String::new(),
        };
        format!("{cannot}unknown server `{s}`; one of: {}", names.join(", "))
    })
}

/// One document to score.
struct Job {
    path: PathBuf,
    /// Found in a directory (rather than named).
    found: bool,
}

/// What became of the documents.
#[derive(Default)]
struct Tally {
    scored: usize,
    skipped: usize,
    failed: usize,
}

/// The documents named on the command line, directories expanded (sorted, hidden entries and
/// sidecars left out). Documents found in a directory that already have a trace are counted as
/// skipped.
fn collect(paths: &[PathBuf], ext: &[String], tally: &mut Tally) -> Vec<Job> {
    fn walk(dir: &Path, ext: &[String], out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.is_file()
                && !sidecar::is_sidecar(&p)
                && p.extension().is_some_and(|e| {
                    let e = e.to_string_lossy();
                    ext.iter()
                        .any(|x| x.trim_start_matches('.').eq_ignore_ascii_case(&e))
                })
            {
                out.push(p);
            }
        }
    }
    let mut jobs = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, ext, &mut found);
            for f in found {
                if sidecar::find(&f).is_some() {
                    tally.skipped += 1;
                } else {
                    jobs.push(Job {
                        path: f,
                        found: true,
                    });
                }
            }
        } else {
            jobs.push(Job {
                path: p.clone(),
                found: false,
            });
        }
    }
    jobs
}

/// The document's text and the sidecar to write, or why it cannot be scored.
fn prepare(path: &Path) -> Result<(String, PathBuf), String> {
    let shown = path.display().to_string();
    if let Some(s) = sidecar::find(path) {
        return Err(format!(
            "{shown}: already has a trace, {}; hedge does not overwrite files",
            s.display()
        ));
    }
    let out = sidecar::candidates(path).swap_remove(1);
    let text = match std::fs::read(path) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                return Err(format!("{shown}: is not UTF-8 text (byte {at} is invalid)"));
            }
        },
        Err(e) => return Err(format!("{shown}: cannot be read: {e}")),
    };
    if text.trim().is_empty() {
        return Err(format!("{shown}: has no text to score"));
    }
    Ok((text, out))
}

/// Print a line about one document (clearing the waiting indicator's line first).
fn report(line: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("\r\x1b[2Khedge: {line}");
    } else {
        eprintln!("hedge: {line}");
    }
}

/// The exit status and, for several documents, the closing line.
fn finish(tally: &Tally, many: bool) -> ExitCode {
    if many {
        let mut parts = vec![format!(
            "{} document{} scored",
            tally.scored,
            if tally.scored == 1 { "" } else { "s" }
        )];
        if tally.skipped > 0 {
            parts.push(format!(
                "{} skipped (they already have a trace)",
                tally.skipped
            ));
        }
        if tally.failed > 0 {
            parts.push(format!("{} failed", tally.failed));
        }
        eprintln!("hedge: {}", parts.join(", "));
    }
    if tally.failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn run(a: ScoreArgs) -> ExitCode {
    let prompt = match &a.prompt_file {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(s) => Some(s),
            Err(e) => return fail(format!("{}: cannot be read: {e}", p.display())),
        },
        None => None,
    };
    let Some(url) = a.endpoint.endpoint.clone() else {
        return match a.endpoint.model.clone() {
            Some(model) => score_locally(&a, Path::new(&model), prompt.as_deref()),
            None => fail(
                "give --endpoint URL and --server KIND to score with a server, or --model GGUF to score with a local model",
            ),
        };
    };
    let Some(server) = a.server else {
        return fail("--server KIND is required with --endpoint (vllm, llama-cpp-python, tgi, sglang, together or fireworks)");
    };
    if a.chunk_bytes < 64 {
        return fail("--chunk-bytes must be at least 64");
    }
    if a.jobs == 0 {
        return fail("--jobs must be at least 1");
    }
    let (http, key) = match (a.endpoint.http_options(), a.endpoint.key()) {
        (Ok(h), Ok(k)) => (h, k),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let endpoint = match Endpoint::new(server, &url, a.endpoint.model.clone()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let defaults = ChunkOptions::default();
    let options = ScoreOptions {
        chunks: ChunkOptions {
            max_bytes: a.chunk_bytes,
            min_bytes: defaults.min_bytes.min(a.chunk_bytes / 2),
            overlap_bytes: defaults.overlap_bytes.min(a.chunk_bytes / 2),
        },
        http,
        cache: if a.no_cache {
            None
        } else {
            ChunkCache::default_dir().map(ChunkCache::new)
        },
        ..ScoreOptions::default()
    };
    let scorer = match Scorer::new(endpoint, key, options) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut tally = Tally::default();
    let jobs = collect(&a.paths, &a.ext, &mut tally);
    if jobs.is_empty() && tally.skipped == 0 {
        return fail(format!(
            "no documents to score (in directories, files ending in .{})",
            a.ext.join(", .")
        ));
    }
    let many = a.paths.len() > 1 || jobs.iter().any(|j| j.found) || tally.skipped > 0;
    let total = jobs.len();
    let status = Arc::new(Mutex::new(String::new()));
    let label = match (&jobs[..], many) {
        ([one], false) => format!("scoring {}", one.path.display()),
        _ => format!("scoring {total} documents"),
    };
    let queue = Rc::new(RefCell::new(jobs.into_iter().collect::<VecDeque<Job>>()));
    let tally = Rc::new(RefCell::new(tally));
    let done = Rc::new(RefCell::new(0usize));
    let prompt = Rc::new(prompt);
    let local = tokio::task::LocalSet::new();
    for _ in 0..a.jobs.min(total.max(1)) {
        let (queue, tally, done, prompt) =
            (queue.clone(), tally.clone(), done.clone(), prompt.clone());
        let (scorer, status) = (scorer.clone(), status.clone());
        local.spawn_local(async move {
            loop {
                let Some(job) = queue.borrow_mut().pop_front() else {
                    return;
                };
                let result = score_one(&scorer, &job.path, prompt.as_deref(), &status, many).await;
                let finished = {
                    let mut d = done.borrow_mut();
                    *d += 1;
                    *d
                };
                match result {
                    Ok(line) => {
                        tally.borrow_mut().scored += 1;
                        report(&line);
                    }
                    Err(e) => {
                        tally.borrow_mut().failed += 1;
                        report(&e);
                    }
                }
                if many {
                    if let Ok(mut s) = status.lock() {
                        *s = format!("{finished}/{total} done");
                    }
                }
            }
        });
    }
    if let Err(e) = wait_for(&label, status, local) {
        return fail(e);
    }
    let tally = tally.borrow();
    finish(&tally, many)
}

/// Score one document with the server and write its sidecar; the line to report either way.
async fn score_one(
    scorer: &Scorer,
    path: &Path,
    prompt: Option<&str>,
    status: &Arc<Mutex<String>>,
    many: bool,
) -> Result<String, String> {
    let shown = path.display().to_string();
    let (text, out) = prepare(path)?;
    let shared = status.clone();
    let progress = move |p: ScoreProgress| {
        if many {
            return;
        }
        if let Ok(mut s) = shared.lock() {
            *s = format!("chunk {}/{}", (p.done + 1).min(p.total), p.total);
        }
    };
    let scored = scorer
        .score(&text, prompt, &progress)
        .await
        .map_err(|e| format!("{shown}: {e}"))?;
    if let Some(e) = &scored.cache_error {
        report(&format!("warning: {e}"));
    }
    write_sidecar(&scored.trace, &out)?;
    Ok(format!(
        "{shown}: {} tokens scored in {} chunks ({} from the cache, {} requests); wrote {}",
        scored.trace.tokens.len(),
        scored.chunks,
        scored.cached,
        scored.requests,
        out.display()
    ))
}

/// Write a trace as a new native sidecar (never over an existing file).
fn write_sidecar(trace: &Trace, out: &Path) -> Result<(), String> {
    let mut buf = Vec::new();
    native::write(trace, &mut buf)
        .map_err(|e| format!("{}: cannot be written: {e}", out.display()))?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .and_then(|mut f| f.write_all(&buf))
        .map_err(|e| format!("{}: cannot be written: {e}", out.display()))
}

/// `hedge score PATH... --model GGUF`: score inside hedge with the local model, one document
/// after another (the model is loaded once).
fn score_locally(a: &ScoreArgs, model: &Path, prompt: Option<&str>) -> ExitCode {
    if a.server.is_some() {
        return fail("--server goes with --endpoint; a local --model needs neither");
    }
    let mut tally = Tally::default();
    let jobs = collect(&a.paths, &a.ext, &mut tally);
    if jobs.is_empty() && tally.skipped == 0 {
        return fail(format!(
            "no documents to score (in directories, files ending in .{})",
            a.ext.join(", .")
        ));
    }
    let many = a.paths.len() > 1 || jobs.iter().any(|j| j.found) || tally.skipped > 0;
    for job in jobs {
        let shown = job.path.display();
        let (text, out) = match prepare(&job.path) {
            Ok(p) => p,
            Err(e) => {
                tally.failed += 1;
                report(&e);
                continue;
            }
        };
        let scored = match local::score(model, &text, prompt) {
            Ok(s) => s,
            // The model itself failed to load: so would every other document.
            Err(e) if e == local::NOT_BUILT || e.starts_with(&model.display().to_string()) => {
                return fail(e)
            }
            Err(e) => {
                tally.failed += 1;
                report(&format!("{shown}: {e}"));
                continue;
            }
        };
        if let Err(e) = write_sidecar(&scored.trace, &out) {
            tally.failed += 1;
            report(&e);
            continue;
        }
        tally.scored += 1;
        let n = scored.trace.tokens.len();
        report(&format!(
            "{shown}: {n} tokens scored with {} in {:.2} s ({:.0} tokens/s); wrote {}",
            model.display(),
            scored.seconds,
            scored.evaluated_tokens as f64 / scored.seconds.max(1e-9),
            out.display()
        ));
    }
    finish(&tally, many)
}
