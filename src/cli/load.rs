//! Reading a document, finding and reading its trace, loading settings, and analysing:
//! everything check and show share. Errors are one line that names the file.

use std::path::Path;

use hedge::analysis::{analyze, read_and_analyze};
use hedge::config::Config;
use hedge::report::FileReport;
use hedge::source::{inline, sidecar};
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

/// Is this a saved response or log that can be its own document?
fn is_response_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "jsonl")
    )
}

/// Read and analyse one document (several reports for a log with several messages). `Err` is
/// the message to print after `hedge: `.
pub fn analyse_file(doc_path: &Path, args: &TraceArgs) -> Result<Vec<FileReport>, String> {
    super::local::require(args.local_model.as_deref())?;
    let shown = doc_path.display().to_string();
    let cfg = config_for(doc_path, args)?;
    let bytes = std::fs::read(doc_path).map_err(|e| format!("{shown}: cannot be read: {e}"))?;
    let doc = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown}: is not UTF-8 text (byte {} is invalid)",
            e.utf8_error().valid_up_to()
        )
    })?;
    let options = ReadOptions {
        include_prompt: args.include_prompt,
        map_large_files: true,
    };
    let sidecar = sidecar::find(doc_path);
    if args.trace.is_none() && sidecar.is_none() && is_response_file(doc_path) {
        let messages = inline::messages(&doc, &options).map_err(|e| format!("{shown}: {e}"))?;
        let mut out = Vec::new();
        for m in messages {
            let analysis =
                inline::analyze_message(&m, &cfg).map_err(|e| format!("{shown}: {e}"))?;
            out.push(FileReport::new(
                shown.clone(),
                shown.clone(),
                doc.clone(),
                m.trace,
                analysis,
            ));
        }
        return Ok(out);
    }
    if let (None, None, Some(model)) = (&args.trace, &sidecar, &args.local_model) {
        let trace = super::local::score(model, &doc, None)
            .map_err(|e| format!("{shown}: {e}"))?
            .trace;
        let trace_shown = format!("scored locally with {}", model.display());
        let analysis = analyze(&doc, &trace, &cfg).map_err(|e| format!("{trace_shown}: {e}"))?;
        return Ok(vec![FileReport::new(
            shown,
            trace_shown,
            doc,
            trace,
            analysis,
        )]);
    }
    let trace_path = match (&args.trace, sidecar) {
        (Some(t), _) => t.clone(),
        (None, Some(s)) => {
            sidecar::check_confined(&s)
                .map_err(|e| format!("{}: cannot be read: {e}", s.display()))?;
            s
        }
        (None, None) => {
            let names: Vec<String> = sidecar::candidates(doc_path)
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            return Err(format!(
                "{shown}: no trace found: expected {} beside it, or pass --trace FILE",
                names.join(" or ")
            ));
        }
    };
    let trace_shown = trace_path.display().to_string();
    let (trace, analysis) = read_and_analyze(&doc, &cfg, || {
        read_trace_file_with(
            &trace_path,
            args.trace_format,
            args.max_trace_bytes,
            &options,
        )
    })
    .map_err(|e| format!("{trace_shown}: {e}"))?;
    let analysis = analysis.map_err(|e| format!("{trace_shown}: {e}"))?;
    Ok(vec![FileReport::new(
        shown,
        trace_shown,
        doc,
        trace,
        analysis,
    )])
}
