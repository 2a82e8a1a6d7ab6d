//! The `build_script` stage: verify the merge request, convert its head to dist-git,
//! push to the bot's fork, open or update the rpms MR, then mirror the rpms pipeline
//! back onto the source-git MR until it finishes.
//!
//! Generic over `F: Forge`; git work runs on blocking threads; cancellation (SIGTERM)
//! arrives through a `watch` channel.

mod mr;
mod repos;
mod verify;

use std::time::Duration;

use tokio::sync::watch;

use crate::forge::{Forge, ForgeError, Project};
use crate::ids::{CommitSha, MrIid};
use crate::job::JobContext;
use crate::joblog::JobLog;
use crate::poll::{self, MirrorTarget};
use crate::repo::git::{GitEnv, GitError};
use crate::repo::update_dist_git::UpdateError;
use crate::settings::Settings;
use crate::store::{Store, StoreError};

pub use verify::{VerifiedMr, verify};

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The downstream pipeline passed (or there was nothing to test).
    Passed,
    /// The change is wrong or the downstream pipeline failed; the sentence says why.
    Failed(String),
}

/// Why the job could not reach a verdict.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// Something the MR author or the packager must fix (a *build* failure).
    #[error("{0}")]
    Build(String),
    /// The change cannot be converted (a *build* failure).
    #[error(transparent)]
    Convert(#[from] UpdateError),
    /// GitLab trouble that survived retries (a *system* failure unless GitLab refused
    /// something for a reason the user controls).
    #[error(transparent)]
    Forge(#[from] ForgeError),
    /// git trouble (fetch, push).
    #[error(transparent)]
    Git(#[from] GitError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Setup problems on the runner host (a *system* failure).
    #[error("{0}")]
    Host(String),
    /// The job was canceled (SIGTERM).
    #[error("the job was canceled")]
    Canceled,
    /// The downstream pipeline did not finish in time.
    #[error("the dist-git pipeline did not finish within {0:?}")]
    TimedOut(Duration),
}

impl WorkflowError {
    /// Whether this is the user's change (build failure) rather than infrastructure.
    pub fn is_build_failure(&self) -> bool {
        match self {
            WorkflowError::Build(_) | WorkflowError::Canceled => true,
            WorkflowError::Convert(e) => e.is_user_error(),
            WorkflowError::Forge(e) => !e.is_retriable() && !matches!(e, ForgeError::Decode { .. }),
            WorkflowError::Git(_)
            | WorkflowError::Store(_)
            | WorkflowError::Host(_)
            | WorkflowError::TimedOut(_) => false,
        }
    }
}

/// Everything a job's workflow uses.
pub struct Context<'a, F: Forge> {
    /// GitLab.
    pub forge: &'a F,
    /// Settings.
    pub settings: &'a Settings,
    /// The job.
    pub job: &'a JobContext,
    /// The job log.
    pub log: &'a JobLog,
    /// The database.
    pub store: &'a Store,
    /// Becomes `true` on SIGTERM.
    pub cancel: watch::Receiver<bool>,
}

/// What the conversion produced for the rpms side.
#[derive(Debug, Clone)]
struct Pushed {
    /// The source-git commit that was converted.
    source_sha: CommitSha,
    /// The dist-git commit on the fork branch.
    dist_git_sha: CommitSha,
    /// Whether a new commit was pushed (false on a rerun with nothing new).
    new_commit: bool,
}

impl<F: Forge> Context<'_, F> {
    /// `Err(Canceled)` once SIGTERM arrived: checked between the long steps, so a canceled
    /// job does not go on to push or open an MR.
    fn check_canceled(&self) -> Result<(), WorkflowError> {
        if *self.cancel.borrow() {
            return Err(WorkflowError::Canceled);
        }
        Ok(())
    }
}

/// Runs `build_script`.
pub async fn build_script<F: Forge>(ctx: &Context<'_, F>) -> Result<Verdict, WorkflowError> {
    let mr = verify(ctx.forge, ctx.settings, ctx.job).await?;
    ctx.log.line(format!(
        "srcgit: converting {}!{} ({}) for dist-git project {} branch {}",
        mr.target.path, mr.mr.iid, mr.mr.web_url, mr.rpms.path, mr.mr.target_branch
    ));
    let job_dir = ctx
        .settings
        .work_dir
        .join(format!("job-{}", ctx.job.job_id));
    let fork = mr::ensure_fork(ctx, &mr.rpms).await?;
    ctx.check_canceled()?;
    let branch = crate::naming::fork_branch(&mr.mr.target_branch, mr.mr.iid);
    let Some(pushed) = repos::convert_and_push(ctx, &mr, &fork, &branch, &job_dir).await? else {
        ctx.log.line("srcgit: this merge request changes nothing in dist-git; there is nothing to test downstream.");
        return Ok(Verdict::Passed);
    };
    ctx.check_canceled()?;
    let rpms_mr = mr::open_or_update(ctx, &mr, &fork, &branch, &pushed).await?;
    ctx.log.line(format!(
        "srcgit: dist-git merge request: {}",
        rpms_mr.web_url
    ));
    let pipeline = poll::downstream_pipeline(
        ctx,
        &mr.rpms,
        rpms_mr.iid,
        &pushed.dist_git_sha,
        pushed.new_commit,
    )
    .await?;
    let report = poll::mirror(ctx, &mr, &pipeline, MirrorTarget::for_job(ctx.job)).await?;
    report.print(ctx.log);
    Ok(report.verdict())
}

/// The git environment for the job: no host git configuration, a private HOME.
fn git_env(job_dir: &std::path::Path) -> GitEnv {
    GitEnv::Isolated {
        home: job_dir.join("home"),
    }
}

/// Shortcut for an MR reference in messages.
fn mr_ref(project: &Project, iid: MrIid) -> String {
    format!("{}!{iid}", project.path)
}
