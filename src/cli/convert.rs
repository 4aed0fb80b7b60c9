//! `hedge convert`: any supported trace as hedge's native JSONL.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::ExitCode;

use hedge::trace::{native, read_trace_file_with, ReadOptions, DEFAULT_MAX_TRACE_BYTES};

use super::{fail, ConvertArgs};

pub fn run(args: ConvertArgs) -> ExitCode {
    let shown = args.trace.display().to_string();
    let options = ReadOptions {
        include_prompt: args.include_prompt,
        map_large_files: true,
    };
    let trace = match read_trace_file_with(
        &args.trace,
        args.trace_format,
        DEFAULT_MAX_TRACE_BYTES,
        &options,
    ) {
        Ok(t) => t,
        Err(e) => return fail(format!("{shown}: {e}")),
    };
    let mut buf = Vec::new();
    if let Err(e) = native::write(&trace, &mut buf) {
        return fail(format!("{shown}: {e}"));
    }
    let written = match &args.output {
        // create_new: never overwrite a file the user already has.
        Some(path) => OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| f.write_all(&buf))
            .map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(&buf)
            .map_err(|e| e.to_string()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
