//! What the prepare, run and cleanup stages share: settings, the job, the job log, the
//! database, the GitLab client, and SIGTERM turned into a cancellation flag.

use std::path::Path;

use tokio::sync::watch;

use super::{Failure, StageError, load_settings};
use crate::bridge::BridgeError;
use crate::executor::job::{self, JobContext, RunnerEnv};
use crate::executor::joblog::JobLog;
use crate::forge::gitlab::GitLabForge;
use crate::settings::Settings;
use crate::store::Store;

/// A stage's inputs.
pub(super) struct Session {
    pub settings: Settings,
    pub job: JobContext,
    pub log: JobLog,
}

impl Session {
    pub fn load(config: Option<&Path>, runner: &RunnerEnv) -> Result<Session, StageError> {
        let settings = load_settings(config)?;
        let job = job::from_env(runner)?;
        let mut secrets = job.masked_values.clone();
        secrets.push(settings.token.expose().to_string());
        crate::telemetry::init(settings.log_file.as_deref(), &secrets);
        let log = JobLog::stdout(secrets);
        Ok(Session { settings, job, log })
    }

    pub fn store(&self) -> Result<Store, StageError> {
        if let Some(dir) = self.settings.database.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StageError::system(format!("cannot create {}: {e}", dir.display())))?;
        }
        Store::open(&self.settings.database).map_err(|e| StageError::system(crate::error_chain(&e)))
    }

    pub async fn forge(&self) -> Result<GitLabForge, StageError> {
        crate::bridge::connect(&self.settings)
            .await
            .map_err(|e| self.classify(&BridgeError::Forge(e)))
    }

    /// A workflow error as a stage error, masked.
    pub fn classify(&self, err: &BridgeError) -> StageError {
        let failure = match err {
            BridgeError::TimedOut(_) => Failure::HandedOver,
            e if e.is_build_failure() => Failure::Build,
            _ => Failure::System,
        };
        StageError {
            failure,
            message: self.log.mask(&crate::error_chain(err)),
        }
    }
}

/// A tokio runtime for one stage.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, StageError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| StageError::system(format!("cannot start the async runtime: {e}")))
}

/// A flag that turns `true` on SIGTERM or SIGINT (the runner cancels a job with SIGTERM
/// to the process group).
pub(super) fn cancellation() -> Result<watch::Receiver<bool>, StageError> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| StageError::system(format!("cannot handle SIGTERM: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| StageError::system(format!("cannot handle SIGINT: {e}")))?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}
