#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod bridge;
pub mod cli;
pub mod convert;
pub mod executor;
pub mod forge;
pub mod ids;
pub mod local;
pub mod repo;
pub mod settings;
pub mod store;
pub mod telemetry;

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: cli::Cli) -> u8 {
    match &cli.command {
        cli::Command::Convert(args) => {
            telemetry::init_cli();
            local::convert(args)
        }
        cli::Command::Status(args) => {
            telemetry::init_cli();
            local::status(args)
        }
        cli::Command::Executor(stage) => executor::run(stage, cli.config.as_deref()),
    }
}
