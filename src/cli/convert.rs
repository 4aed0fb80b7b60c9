//! `hedge convert`: any supported trace as hedge's native JSONL.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::ExitCode;

use hedge::trace::{native, read_trace_file, DEFAULT_MAX_TRACE_BYTES};

use super::{fail, ConvertArgs};

pub fn run(args: ConvertArgs) -> ExitCode {
    let shown = args.trace.display().to_string();
    let trace = match read_trace_file(&args.trace, args.trace_format, DEFAULT_MAX_TRACE_BYTES) {
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
