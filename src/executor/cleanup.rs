//! `cleanup_exec`: runs after every job (and after every failed prepare attempt). It sets
//! any status the job left `pending`/`running` to `canceled` (the run stage may have been
//! killed) and removes the job's work directory. Its exit code never changes the job's
//! result, and its output goes to the runner's own log.

use std::path::Path;

use super::StageError;
use super::session::{Session, runtime};
use crate::forge::{Forge, StatusUpdate};
use crate::job::RunnerEnv;
use crate::status::CommitState;

pub(super) fn run(config: Option<&Path>, runner: &RunnerEnv) -> Result<(), StageError> {
    let session = Session::load(config, runner)?;
    let store = session.store()?;
    let open = store
        .open_statuses(session.job.job_id)
        .map_err(|e| StageError::system(e.to_string()))?;
    if !open.is_empty() {
        let rt = runtime()?;
        rt.block_on(async {
            let forge = session.forge().await?;
            for status in open {
                let update = StatusUpdate {
                    state: CommitState::Canceled,
                    name: status.name.clone(),
                    target_url: status.target_url.clone().filter(|u| !u.is_empty()),
                    description: Some("canceled: the srcgit job ended".to_string()),
                    pipeline_id: status.pipeline_id,
                };
                match forge
                    .post_status(status.project_id, &status.sha, &update)
                    .await
                {
                    Ok(()) => {
                        let _ = store.record_status(&crate::store::PostedStatus {
                            state: CommitState::Canceled,
                            ..status
                        });
                    }
                    Err(e) => eprintln!(
                        "srcgit: cannot cancel status {}: {}",
                        status.name,
                        session.log.mask(&e.to_string())
                    ),
                }
            }
            Ok::<(), StageError>(())
        })?;
    }
    let job_dir = session
        .settings
        .work_dir
        .join(format!("job-{}", session.job.job_id));
    if job_dir.exists() {
        std::fs::remove_dir_all(&job_dir)
            .map_err(|e| StageError::system(format!("cannot remove {}: {e}", job_dir.display())))?;
    }
    Ok(())
}
