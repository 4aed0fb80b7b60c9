//! `hedge show`: the document with a probability heatmap.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use hedge::report::{heatmap, human};

use super::{fail, load, ColorChoice, ShowArgs};

pub fn run(args: ShowArgs) -> ExitCode {
    let reports = match load::analyse_file(&args.path, &args.trace) {
        Ok(r) => r,
        Err(msg) => return fail(msg),
    };
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let mut out = String::new();
    for report in &reports {
        out.push_str(&heatmap::render(report, color));
        out.push_str(&human::summary_line(report));
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
