#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod bridge;
pub mod cli;
pub mod commands;
pub mod convert;
pub mod executor;
pub mod forge;
pub mod ids;
pub mod repo;
pub mod settings;
pub mod store;
pub mod telemetry;

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: cli::Cli) -> u8 {
    match &cli.command {
        cli::Command::Convert(args) => {
            telemetry::init_cli();
            commands::convert(args)
        }
        cli::Command::Status(args) => {
            telemetry::init_cli();
            commands::status(args)
        }
        cli::Command::UpdateSourceGit(args) => {
            telemetry::init_cli();
            commands::update_source_git(args)
        }
        cli::Command::Executor(stage) => executor::run(stage, cli.config.as_deref()),
        cli::Command::Reconcile(args) => commands::reconcile(args, cli.config.as_deref()),
        cli::Command::History(args) => commands::history(args, cli.config.as_deref()),
        cli::Command::Pairs(args) => commands::pairs(args, cli.config.as_deref()),
        cli::Command::Cache(cli::CacheCommand::Prune { max_age_days }) => {
            commands::cache_prune(*max_age_days, cli.config.as_deref())
        }
        cli::Command::Doctor => commands::doctor(cli.config.as_deref()),
        cli::Command::GenerateAssets { dir } => commands::generate_assets(dir),
    }
}

/// `err: cause: cause`, skipping causes whose text the parent already shows.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
