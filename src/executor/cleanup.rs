//! `cleanup_exec`: runs after every job (and after every failed prepare attempt). It sets
//! any status the job left `pending`/`running` to `canceled` (the run stage may have been
//! killed) — unless the job handed them over to `srcgit reconcile` because the downstream
//! pipeline outlived it — and removes the job's work directory. Then it prunes the host's
//! git cache (projects unused for `cache_max_age_days`, generations replaced after damage).
//! Its exit code never changes the job's result, and its output goes to the runner's own log.

use std::path::Path;
use std::time::SystemTime;

use super::StageError;
use super::session::{Session, runtime};
use crate::bridge;
use crate::executor::job::RunnerEnv;
use crate::repo::cache::Cache;

pub(super) fn run(config: Option<&Path>, runner: &RunnerEnv) -> Result<(), StageError> {
    let session = Session::load(config, runner)?;
    let store = session.store()?;
    let job_id = session.job.identity.job_id;
    let open = store
        .open_statuses(job_id)
        .map_err(|e| StageError::system(e.to_string()))?;
    let handed_over = store
        .run(job_id)
        .map_err(|e| StageError::system(e.to_string()))?
        .is_some_and(|r| r.outcome == "handed-over");
    if !open.is_empty() && !handed_over {
        let rt = runtime()?;
        rt.block_on(async {
            let forge = session.forge().await?;
            bridge::cancel_open_statuses(&forge, &store, job_id, &session.log)
                .await
                .map_err(|e| session.classify(&e))
        })?;
    }
    let job_dir = session.settings.work_dir.join(format!("job-{job_id}"));
    if job_dir.exists() {
        std::fs::remove_dir_all(&job_dir)
            .map_err(|e| StageError::system(format!("cannot remove {}: {e}", job_dir.display())))?;
    }
    // A cache that cannot be pruned now is pruned by a later job; it never fails this one.
    if let Err(e) = Cache::in_work_dir(&session.settings.work_dir)
        .prune(session.settings.cache_max_age, SystemTime::now())
    {
        tracing::warn!(error = %crate::error_chain(&e), "cannot prune the git cache");
    }
    Ok(())
}
