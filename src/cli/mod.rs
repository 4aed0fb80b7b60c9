//! Command-line interface: argument definitions and dispatch.

mod calibrate;
mod check;
mod convert;
mod draft;
mod eval;
mod load;
mod local;
mod score;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use hedge::trace::TraceFormat;

/// Shows where a language model was guessing: reads the per-token logprobs saved with
/// model-generated text and points at the words, numbers, names and citations the model was
/// unsure of.
#[derive(Parser)]
#[command(name = "hedge", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit status of `check`: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or input error.\nSettings: hedge.toml (nearest in the document's directory or above) or --config; see the README."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Report uncertain spans of documents as lines, JSON or SARIF.
    Check(CheckArgs),
    /// Print a document with each token coloured by its probability.
    Show(ShowArgs),
    /// Convert a trace in any supported format to hedge's native JSONL.
    Convert(ConvertArgs),
    /// Ask a chat endpoint for an answer with logprobs; write it to a new file and its sidecar.
    Draft(draft::DraftArgs),
    /// Score an existing document with a server that returns prompt logprobs; write its sidecar.
    Score(score::ScoreArgs),
    /// Run the language server on standard input and output (for editors).
    Lsp(LspArgs),
    /// Score Mu-SHROOM answers with a local model and report IoU, Cor and AUCs against their labels.
    Eval(eval::EvalArgs),
    /// Fit how often words of a given probability are wrong, on Mu-SHROOM labels.
    Calibrate(calibrate::CalibrateArgs),
}

/// How to find and read a document's trace (shared by check and show).
#[derive(Args, Clone)]
pub struct TraceArgs {
    /// The trace file (default: the sidecar DOC.logprobs.json, then DOC.logprobs.jsonl).
    /// Only with a single document.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Read the trace as this format instead of detecting it from its shape.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub trace_format: Option<TraceFormat>,
    /// Vocabulary size used for the entropy upper bound (default: from the trace, else 262144).
    #[arg(long, value_name = "N")]
    pub vocab_size: Option<u64>,
    /// Settings file (default: the nearest hedge.toml in the document's directory or above).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any hedge.toml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Include the prompt's tokens (echo, prompt_logprobs, prefill) in the trace; by default
    /// the document is only the generated output.
    #[arg(long)]
    pub include_prompt: bool,
    /// Refuse trace files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = hedge::trace::DEFAULT_MAX_TRACE_BYTES)]
    pub max_trace_bytes: u64,
    /// Score a document that has no trace with this GGUF model, inside hedge (needs a hedge
    /// built with `--features local`).
    #[arg(long = "model", value_name = "GGUF")]
    pub local_model: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Documents to check (each needs a sidecar, or pass --trace for one document).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub trace: TraceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    /// Add per-token records to the JSON output.
    #[arg(long)]
    pub tokens: bool,
    /// Exit with 1 when a finding has this severity or a higher one.
    #[arg(long, value_enum, default_value_t = FailOn::Warning, value_name = "SEVERITY")]
    pub fail_on: FailOn,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The document to show.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    #[command(flatten)]
    pub trace: TraceArgs,
    /// Colour the output: auto = when stdout is a terminal and NO_COLOR is not set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Args)]
pub struct ConvertArgs {
    /// The trace file to convert.
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
    /// Target format (only `native` for now).
    #[arg(long, value_enum, default_value_t = ConvertTarget::Native)]
    pub to: ConvertTarget,
    /// Read the input as this format instead of detecting it.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub trace_format: Option<TraceFormat>,
    /// Keep the prompt's tokens (echo, prompt_logprobs, prefill).
    #[arg(long)]
    pub include_prompt: bool,
    /// Write here instead of standard output (refuses to overwrite an existing file).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct LspArgs {
    /// Score documents that have no trace with this server (vllm, llama-cpp-python, tgi,
    /// sglang, together, fireworks). Like the settings' `scoring`, but from the command line.
    #[arg(long, value_name = "KIND", requires = "endpoint")]
    pub server: Option<String>,
    /// The scoring server's URL.
    #[arg(long, value_name = "URL", requires = "server")]
    pub endpoint: Option<String>,
    /// The model name the scoring server expects.
    #[arg(long, value_name = "NAME", requires = "server")]
    pub model: Option<String>,
    /// The environment variable that holds the scoring server's API key.
    #[arg(long, value_name = "VAR", requires = "server")]
    pub api_key_env: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Information,
    Hint,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ConvertTarget {
    Native,
}

fn parse_format(s: &str) -> Result<TraceFormat, String> {
    TraceFormat::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
        format!("unknown trace format `{s}`; one of: {}", names.join(", "))
    })
}

/// Print one error line and return the input-error status.
pub fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("hedge: {msg}");
    ExitCode::from(2)
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Show(a) => show::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Draft(a) => draft::run(a),
        Command::Score(a) => score::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Lsp(a) => {
            let scoring = match (a.server, a.endpoint) {
                (Some(server), Some(endpoint)) => Some(hedge::server::settings::Scoring {
                    server,
                    endpoint,
                    model: a.model,
                    api_key_env: a.api_key_env,
                }),
                _ => None,
            };
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(format!("cannot start the server: {e}")),
            };
            rt.block_on(hedge::server::run_stdio(scoring));
            ExitCode::SUCCESS
        }
    }
}
