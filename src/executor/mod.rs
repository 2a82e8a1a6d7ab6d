//! gitlab-runner's custom-executor contract, and only that: the stages it calls (`config`,
//! `prepare`, `run <script> <stage>`, `cleanup`; one file per stage), the job from
//! `JOB_RESPONSE_FILE` ([`job`]), the masked job log ([`joblog`]) and the exit codes.
//!
//! May import `bridge` (which does the work), `forge::gitlab` (to build the client),
//! `store`, `settings`, `telemetry` and `ids`. Nothing imports `executor` but `lib.rs`.

mod cleanup;
mod config;
pub mod job;
pub mod joblog;
mod prepare;
mod run;
mod session;

use std::path::Path;

use crate::cli::ExecutorCommand;
use crate::executor::job::{JobError, RunnerEnv};
use crate::settings::{self, Settings, SettingsError};

/// How a stage failed, in the runner's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The change under test is at fault (`BUILD_FAILURE_EXIT_CODE`).
    Build,
    /// Infrastructure is at fault; the runner may retry (`SYSTEM_FAILURE_EXIT_CODE`).
    System,
    /// The downstream pipeline outlived the job, which handed its statuses over to
    /// `srcgit reconcile`: a build failure whose `BUILD_EXIT_CODE_FILE` says 75, so the
    /// template's `allow_failure: exit_codes: [75]` lets the mirrored statuses decide.
    HandedOver,
}

/// A failed stage: its class and the one sentence the user sees.
#[derive(Debug)]
pub struct StageError {
    /// Build or system.
    pub failure: Failure,
    /// What went wrong (already masked).
    pub message: String,
}

impl StageError {
    fn system(message: impl Into<String>) -> StageError {
        StageError {
            failure: Failure::System,
            message: message.into(),
        }
    }
}

impl From<SettingsError> for StageError {
    fn from(e: SettingsError) -> Self {
        StageError::system(crate::error_chain(&e))
    }
}

impl From<JobError> for StageError {
    fn from(e: JobError) -> Self {
        StageError::system(crate::error_chain(&e))
    }
}

fn load_settings(config: Option<&Path>) -> Result<Settings, StageError> {
    Ok(settings::load(&settings::locate(config))?)
}

/// Runs one stage and returns the process exit code.
pub fn run(command: &ExecutorCommand, config: Option<&Path>) -> u8 {
    let runner = RunnerEnv::from_env();
    let result = match command {
        ExecutorCommand::Config => config::run(config),
        ExecutorCommand::Prepare => prepare::run(config, &runner),
        ExecutorCommand::Run { script: _, stage } => run::run(config, &runner, stage),
        ExecutorCommand::Cleanup => cleanup::run(config, &runner),
    };
    match result {
        Ok(()) => 0,
        Err(err) => exit_code(&err, &runner),
    }
}

/// Prints the failure and picks the runner's exit code (writing `BUILD_EXIT_CODE_FILE`
/// for build failures so `allow_failure:exit_codes` sees the real code).
fn exit_code(err: &StageError, runner: &RunnerEnv) -> u8 {
    // Messages built before the token is known (settings, job file) are masked too.
    let err = &StageError {
        failure: err.failure,
        message: crate::telemetry::mask(&err.message, &[]),
    };
    match err.failure {
        Failure::Build | Failure::HandedOver => {
            eprintln!("srcgit: ERROR: {}", err.message);
            let code = match err.failure {
                Failure::HandedOver => crate::bridge::HANDED_OVER_EXIT_CODE,
                _ => runner.build_failure,
            };
            if let Some(path) = &runner.build_exit_code_file
                && let Err(e) = std::fs::write(path, format!("{code}\n"))
            {
                eprintln!(
                    "srcgit: cannot write BUILD_EXIT_CODE_FILE {}: {e}",
                    path.display()
                );
                return runner.system_failure;
            }
            runner.build_failure
        }
        Failure::System => {
            eprintln!("srcgit: ERROR (system failure): {}", err.message);
            runner.system_failure
        }
    }
}
