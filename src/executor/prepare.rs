//! `prepare_exec`: checks settings, the database and the merge request before any stage
//! runs, so a job srcgit must not serve fails at once as a build failure (a system failure
//! here would make the runner retry it three times).

use std::path::Path;

use super::StageError;
use super::session::{Session, runtime};
use crate::bridge;
use crate::executor::job::RunnerEnv;

pub(super) fn run(config: Option<&Path>, runner: &RunnerEnv) -> Result<(), StageError> {
    let session = Session::load(config, runner)?;
    session.store()?;
    session.log.line(format!(
        "srcgit {}: job {} of {}",
        env!("CARGO_PKG_VERSION"),
        session.job.identity.job_id,
        session.job.identity.project_path
    ));
    let rt = runtime()?;
    rt.block_on(async {
        let forge = session.forge().await?;
        if bridge::is_push_pipeline(&session.job.identity) {
            let push = bridge::verify_push(&forge, &session.settings, &session.job.identity)
                .await
                .map_err(|e| session.classify(&e))?;
            session.log.line(format!(
                "srcgit: serving the push to {} branch {}: dist-git commits go back to {}",
                push.rpms.path, push.branch, push.mapping.source_git
            ));
            return Ok(());
        }
        let mr = bridge::verify(&forge, &session.settings, &session.job.identity)
            .await
            .map_err(|e| session.classify(&e))?;
        session.log.line(format!(
            "srcgit: serving {}!{} ({} → {}); the dist-git project is {}",
            mr.target.path, mr.mr.iid, mr.mr.source_branch, mr.mr.target_branch, mr.rpms.path
        ));
        Ok(())
    })
}
