//! `hedge draft`: ask a chat endpoint for an answer with logprobs, write it to a new file and
//! its raw response beside it as the sidecar. Also the endpoint options and the waiting
//! indicator that `hedge score` shares.

use std::future::Future;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use hedge::source::draft::{check_new, draft, write_new, DraftRequest};
use hedge::source::transport::{ApiKey, HttpOptions};

use super::fail;

/// Where to send requests, and how (shared by draft and score).
#[derive(Args, Clone)]
pub struct EndpointArgs {
    /// The server's address, such as http://127.0.0.1:8080/v1 (hedge connects nowhere else).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The model name to send (needed by hosted APIs). `hedge score` without --endpoint: the
    /// GGUF file to score with inside hedge (feature `local`).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The environment variable that holds the API key, such as OPENAI_API_KEY (the key itself
    /// is never taken on the command line, and never printed).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Seconds to wait for each request.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    pub timeout: f64,
    /// Times to repeat a request after 429, 500, 502, 503, 504 or a dropped connection.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
}

impl EndpointArgs {
    pub fn http_options(&self) -> Result<HttpOptions, String> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err("--timeout must be a positive number of seconds".into());
        }
        let timeout = Duration::from_secs_f64(self.timeout);
        let defaults = HttpOptions::default();
        Ok(HttpOptions {
            timeout,
            connect_timeout: defaults.connect_timeout.min(timeout),
            retries: self.retries,
            ..defaults
        })
    }

    pub fn key(&self) -> Result<Option<ApiKey>, String> {
        match &self.api_key_env {
            Some(var) => ApiKey::from_env(var).map(Some).map_err(|e| e.message),
            None => Ok(None),
        }
    }
}

#[derive(Args)]
#[command(mut_arg("endpoint", |a| a.required(true)))]
pub struct DraftArgs {
    /// The prompt; `-` reads it from standard input.
    #[arg(value_name = "PROMPT")]
    pub prompt: String,
    /// The new document to write (its sidecar FILE.logprobs.json is written beside it); an
    /// existing file is never overwritten.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// A system message sent before the prompt.
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// The most tokens to generate.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_tokens: u32,
    /// Sampling temperature (default: the server's).
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
    /// Sampling seed, for servers that honour one.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// Run a future to completion on a fresh runtime, showing `status()` after a spinner on
/// stderr while it runs, when stderr is a terminal.
pub fn wait_for<T>(
    label: &str,
    status: Arc<Mutex<String>>,
    fut: impl Future<Output = T>,
) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let done = Arc::new(AtomicBool::new(false));
    let spinner = std::io::stderr().is_terminal().then(|| {
        let (done, label) = (done.clone(), label.to_string());
        std::thread::spawn(move || {
            let frames = ['|', '/', '-', '\\'];
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                let s = status.lock().map(|s| s.clone()).unwrap_or_default();
                eprint!("\r\x1b[2Khedge: {label} {s} {}", frames[i % frames.len()]);
                let _ = std::io::stderr().flush();
                i += 1;
                std::thread::sleep(Duration::from_millis(120));
            }
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        })
    });
    let out = rt.block_on(fut);
    done.store(true, Ordering::Relaxed);
    if let Some(h) = spinner {
        let _ = h.join();
    }
    Ok(out)
}

pub fn run(a: DraftArgs) -> ExitCode {
    let prompt = if a.prompt == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            return fail(format!("cannot read the prompt from standard input: {e}"));
        }
        s
    } else {
        a.prompt.clone()
    };
    if prompt.trim().is_empty() {
        return fail("the prompt is empty");
    }
    if let Err(e) = check_new(&a.output) {
        return fail(e);
    }
    let (http, key) = match (a.endpoint.http_options(), a.endpoint.key()) {
        (Ok(h), Ok(k)) => (h, k),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let Some(url) = a.endpoint.endpoint.clone() else {
        return fail("--endpoint URL is required");
    };
    let mut req = DraftRequest::new(url, prompt);
    req.model = a.endpoint.model.clone();
    req.system = a.system.clone();
    req.max_tokens = Some(a.max_tokens);
    req.temperature = a.temperature;
    req.seed = a.seed;
    let status = Arc::new(Mutex::new(String::new()));
    let got = match wait_for("waiting for the model", status, draft(&req, key, &http)) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let d = match got {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let side = match write_new(&a.output, &d) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let cut = if d.finish_reason.as_deref() == Some("length") {
        " (stopped at --max-tokens)"
    } else {
        ""
    };
    eprintln!(
        "hedge: wrote {} ({} tokens{cut}) and its logprobs {}; run `hedge check {}`",
        a.output.display(),
        d.trace.tokens.len(),
        side.display(),
        a.output.display()
    );
    ExitCode::SUCCESS
}
