//! `hedge check`: findings of each document, as lines, JSON or SARIF, and an exit status.

use std::io::Write;
use std::process::ExitCode;

use hedge::findings::Severity;
use hedge::report::{human, json, sarif};

use super::{fail, load, CheckArgs, FailOn, OutputFormat};

fn threshold(f: FailOn) -> Option<Severity> {
    match f {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Information => Some(Severity::Information),
        FailOn::Hint => Some(Severity::Hint),
        FailOn::Never => None,
    }
}

pub fn run(args: CheckArgs) -> ExitCode {
    if args.trace.trace.is_some() && args.paths.len() > 1 {
        return fail("--trace names the trace of one document; give one PATH, or use sidecars");
    }
    let mut reports = Vec::new();
    let mut input_error = false;
    for path in &args.paths {
        match load::analyse_file(path, &args.trace) {
            Ok(r) => reports.extend(r),
            Err(msg) => {
                eprintln!("hedge: {msg}");
                input_error = true;
            }
        }
    }
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = match args.format {
        OutputFormat::Human => stdout.write_all(human::render(&reports).as_bytes()),
        OutputFormat::Json => {
            json::write(&reports, args.tokens, &mut stdout).and_then(|()| stdout.write_all(b"\n"))
        }
        OutputFormat::Sarif => stdout.write_all((sarif::render(&reports) + "\n").as_bytes()),
    };
    if written.and_then(|()| stdout.flush()).is_err() {
        return ExitCode::from(2);
    }
    let failing = threshold(args.fail_on).is_some_and(|min| {
        reports
            .iter()
            .any(|r| r.analysis.findings.iter().any(|f| f.severity >= min))
    });
    // The process ends here: freeing a large trace token by token would only cost time.
    std::mem::forget(reports);
    if input_error {
        ExitCode::from(2)
    } else if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
