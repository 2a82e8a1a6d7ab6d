//! The `srcgit` binary: parses the command line, runs it, and is the only place that
//! ends the process with an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match srcgit::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help / --version print and exit 0; usage errors exit 2.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    ExitCode::from(srcgit::run(cli))
}
