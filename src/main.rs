//! The `hedge` command: a thin adapter over the engine in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
