//! Reading a document, finding and reading its trace, loading settings, and analysing:
//! everything check and show share. Errors are one line that names the file.

use std::path::Path;

use hedge::analysis::analyze;
use hedge::config::Config;
use hedge::report::FileReport;
use hedge::source::sidecar;
use hedge::trace::{read_trace_file_with, ReadOptions};

use super::TraceArgs;

/// Load settings for a document: --config, else the nearest hedge.toml, else defaults;
/// --vocab-size overrides the file.
pub fn config_for(doc: &Path, args: &TraceArgs) -> Result<Config, String> {
    let mut cfg = if args.no_config {
        Config::default()
    } else if let Some(path) = &args.config {
        Config::load(path)?
    } else {
        let dir = doc
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        match Config::find(&dir) {
            Some(p) => Config::load(&p)?,
            None => Config::default(),
        }
    };
    if let Some(v) = args.vocab_size {
        if v == 0 {
            return Err("--vocab-size must be positive".into());
        }
        cfg.vocab_size = Some(v);
    }
    Ok(cfg)
}

/// Read and analyse one document. `Err` is the message to print after `hedge: `.
pub fn analyse_file(doc_path: &Path, args: &TraceArgs) -> Result<FileReport, String> {
    let shown = doc_path.display().to_string();
    let cfg = config_for(doc_path, args)?;
    let bytes = std::fs::read(doc_path).map_err(|e| format!("{shown}: cannot be read: {e}"))?;
    let doc = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown}: is not UTF-8 text (byte {} is invalid)",
            e.utf8_error().valid_up_to()
        )
    })?;
    let trace_path = match &args.trace {
        Some(t) => t.clone(),
        None => sidecar::find(doc_path).ok_or_else(|| {
            let names: Vec<String> = sidecar::candidates(doc_path)
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            format!(
                "{shown}: no trace found: expected {} beside it, or pass --trace FILE",
                names.join(" or ")
            )
        })?,
    };
    let trace_shown = trace_path.display().to_string();
    let options = ReadOptions {
        include_prompt: args.include_prompt,
    };
    let trace = read_trace_file_with(
        &trace_path,
        args.trace_format,
        args.max_trace_bytes,
        &options,
    )
    .map_err(|e| format!("{trace_shown}: {e}"))?;
    let analysis = analyze(&doc, &trace, &cfg).map_err(|e| format!("{trace_shown}: {e}"))?;
    Ok(FileReport::new(shown, trace_shown, doc, trace, analysis))
}
