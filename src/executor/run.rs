//! `run_exec`: only `build_script` does work — srcgit never executes the job's script
//! text. Every other stage is a no-op that says so in one line.

use std::path::Path;
use std::sync::Arc;

use super::session::{Session, cancellation, runtime};
use super::{Failure, StageError};
use crate::bridge::{self, Context, Verdict};
use crate::executor::job::RunnerEnv;

pub(super) fn run(
    config: Option<&Path>,
    runner: &RunnerEnv,
    stage: &str,
) -> Result<(), StageError> {
    // gitlab-runner translates step_script to build_script for custom executors
    if stage != "build_script" && stage != "step_script" {
        println!("srcgit: nothing to do in stage {stage} (srcgit does not run job scripts)");
        return Ok(());
    }
    let session = Session::load(config, runner)?;
    let store = session.store()?;
    let rt = runtime()?;
    rt.block_on(async {
        let cancel = cancellation()?;
        let forge = session.forge().await?;
        if bridge::is_push_pipeline(&session.job.identity) {
            let env = bridge::sync_back::SyncEnv {
                forge: &forge,
                settings: &session.settings,
                store: &store,
                out: &session.log,
            };
            return bridge::sync_back::push_job(&env, &session.job.identity)
                .await
                .map(|_| ())
                .map_err(|e| session.classify(&e));
        }
        let ctx = Context {
            forge: &forge,
            settings: &session.settings,
            job: &session.job.identity,
            out: Arc::new(session.log.clone()),
            store: &store,
            cancel,
        };
        match bridge::mr_job(&ctx).await {
            Ok(Verdict::Passed) => {
                session.log.line("srcgit: the dist-git pipeline passed");
                Ok(())
            }
            Ok(Verdict::Failed(why)) => Err(StageError {
                failure: Failure::Build,
                message: session.log.mask(&why),
            }),
            Err(e) => Err(session.classify(&e)),
        }
    })
}
