//! The bridge: srcgit's own product logic between a source-git MR and its rpms MR —
//! verify the MR, convert and push its head, open or update the paired rpms MR, and mirror
//! the rpms pipeline back as commit statuses.
//!
//! May import `convert`, `repo`, `forge` (the [`Forge`] trait and its types), `store`,
//! `settings` and `ids`; **never** `executor` or `commands`: whoever drives the bridge (the
//! executor's `build_script`, a CLI command, a timer) hands it a [`JobIdentity`] and an
//! [`Output`] of its own. Generic over `F: Forge`; git work runs on blocking threads;
//! cancellation arrives through a `watch` channel.
//!
//! - `verify`: trust only what GitLab confirms about the job's MR claims;
//! - `repos`: fetch, convert and push (the git half);
//! - `lease`: one job per MR pair at a time on one host;
//! - `mr`: the bot fork, the rpms MR and the one comment on the source MR;
//! - `mirror`: follow the rpms pipeline and mirror it as statuses;
//! - [`reconcile`]: the sweep between jobs (closes, reopens, notes, late statuses);
//! - [`sync_back`] (+ `verify_push`): dist-git commits back into a "Sync from dist-git" MR;
//! - [`naming`], [`status`]: the pure names, texts and status mappings.

mod lease;
mod mirror;
mod mr;
pub mod naming;
pub mod reconcile;
mod repos;
pub mod status;
pub mod sync_back;
mod verify;
mod verify_push;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

use crate::forge::{Forge, ForgeError, Project};
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId, ProjectPath};
use crate::repo::git::{GitEnv, GitError};
use crate::repo::update_dist_git::UpdateError;
use crate::settings::Settings;
use crate::store::{Run, Store, StoreError, unix_now};

pub use mirror::{MirrorTarget, Report, cancel_open_statuses};
pub use verify::{VerifiedMr, verify};
pub use verify_push::{VerifiedPush, is_push_pipeline, verify_push};

/// Connects to GitLab with the settings' URL, token and HTTP limits (checks the token).
pub async fn connect(settings: &Settings) -> Result<crate::forge::gitlab::GitLabForge, ForgeError> {
    let opts = crate::forge::gitlab::ClientOptions {
        base_url: settings.gitlab_url.clone(),
        token: settings.token.expose().to_string(),
        request_timeout: settings.request_timeout,
        max_retries: settings.max_retries,
        max_backoff: settings.max_backoff,
    };
    crate::forge::gitlab::GitLabForge::connect(opts).await
}

/// The build exit code of a job that handed its downstream pipeline over to reconcile
/// (`EX_TEMPFAIL`); the CI template lists it under `allow_failure: exit_codes`.
pub const HANDED_OVER_EXIT_CODE: u8 = 75;

/// The job that asks the bridge to act, as verified by whoever runs it (the executor
/// reads it from gitlab-runner's `JOB_RESPONSE_FILE`, never from job variables).
#[derive(Debug, Clone)]
pub struct JobIdentity {
    /// The job (trusted).
    pub job_id: JobId,
    /// The job's name in the pipeline (trusted).
    pub job_name: String,
    /// The pipeline the job runs in (trusted).
    pub pipeline_id: PipelineId,
    /// The project the pipeline runs in (trusted; the fork for fork MR pipelines).
    pub project_id: ProjectId,
    /// Its full path (trusted).
    pub project_path: ProjectPath,
    /// The commit the pipeline runs for (trusted).
    pub sha: CommitSha,
    /// The pipeline ref, e.g. `refs/merge-requests/7/head` (trusted).
    pub git_ref: String,
    /// `CI_PIPELINE_SOURCE` as claimed by the job's variables (checked against the API).
    pub claimed_source: Option<String>,
    /// `CI_MERGE_REQUEST_PROJECT_ID` + `CI_MERGE_REQUEST_IID` as claimed (checked).
    pub claimed_mr: Option<(ProjectId, MrIid)>,
    /// What the job asks for beyond a plain sync (its `SRCGIT_*` variables).
    pub request: JobRequest,
}

/// What a job may ask for with its own variables (set by the CI template's manual jobs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobRequest {
    /// `SRCGIT_RECREATE=1`: replace the rpms MR with a fresh one.
    pub recreate: bool,
    /// `SRCGIT_RETRY=failed`: retry only the failed jobs of the current rpms pipeline.
    pub retry_failed: bool,
}

/// Where the bridge writes what its user reads: the executor's masked job log, or stdout
/// for a command. Lines are complete sentences; implementations mask secrets.
pub trait Output: Send + Sync {
    /// Writes one line.
    fn line(&self, text: &str);
    /// Opens a collapsible section titled `title`, folded when `collapsed`.
    fn section_start(&self, id: &str, title: &str, collapsed: bool) {
        let _ = (id, collapsed);
        self.line(title);
    }
    /// Closes the section `id`.
    fn section_end(&self, id: &str) {
        let _ = id;
    }
}

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
pub enum BridgeError {
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
    /// The downstream pipeline did not finish in time: the job hands its statuses over to
    /// `srcgit reconcile` (exit code [`HANDED_OVER_EXIT_CODE`]).
    #[error(
        "the dist-git pipeline did not finish within {0:?}; its statuses stay open and srcgit reconcile posts the result when it finishes"
    )]
    TimedOut(Duration),
}

impl BridgeError {
    /// Whether this is the user's change (build failure) rather than infrastructure.
    pub fn is_build_failure(&self) -> bool {
        match self {
            BridgeError::Build(_) | BridgeError::Canceled | BridgeError::TimedOut(_) => true,
            BridgeError::Convert(e) => e.is_user_error(),
            BridgeError::Forge(e) => {
                !e.is_retriable()
                    && !matches!(
                        e,
                        ForgeError::Decode { .. } | ForgeError::Unauthorized { .. }
                    )
            }
            BridgeError::Git(_) | BridgeError::Store(_) | BridgeError::Host(_) => false,
        }
    }
}

/// Everything the bridge uses for one job.
pub struct Context<'a, F: Forge> {
    /// GitLab.
    pub forge: &'a F,
    /// Settings.
    pub settings: &'a Settings,
    /// The job.
    pub job: &'a JobIdentity,
    /// What the user reads.
    pub out: Arc<dyn Output>,
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
    /// Whether a new commit just reached the fork branch, pushed by this job or by a
    /// twin (false on a rerun with nothing new).
    new_commit: bool,
}

impl<F: Forge> Context<'_, F> {
    /// `Err(Canceled)` once SIGTERM arrived: checked between the long steps, so a canceled
    /// job does not go on to push or open an MR.
    fn check_canceled(&self) -> Result<(), BridgeError> {
        if *self.cancel.borrow() {
            return Err(BridgeError::Canceled);
        }
        Ok(())
    }
}

/// The MR job: verify, convert, push, open or update the rpms MR, mirror its pipeline.
/// Every attempt is recorded in the run history, with its outcome.
pub async fn mr_job<F: Forge>(ctx: &Context<'_, F>) -> Result<Verdict, BridgeError> {
    let mr = verify(ctx.forge, ctx.settings, ctx.job).await?;
    let mut run = Run {
        job_id: ctx.job.job_id,
        job_project_id: ctx.job.project_id,
        pipeline_id: ctx.job.pipeline_id,
        source_project_path: mr.target.path.clone(),
        source_mr_iid: mr.mr.iid,
        source_sha: ctx.job.sha.clone(),
        dist_git_project_id: Some(mr.rpms.id),
        dist_git_project_path: Some(mr.rpms.path.clone()),
        dist_git_mr_iid: None,
        dist_git_sha: None,
        rpms_pipeline_ids: Vec::new(),
        outcome: "running".to_string(),
        detail: String::new(),
        started_at: unix_now(),
        ended_at: None,
    };
    ctx.store.save_run(&run)?;
    let span = tracing::info_span!(
        "mr_job",
        job.id = %ctx.job.job_id,
        sg.mr = %format!("{}!{}", mr.target.path, mr.mr.iid),
        dg.mr = tracing::field::Empty,
    );
    let result = sync_mr(ctx, &mr, &mut run).instrument(span).await;
    (run.outcome, run.detail) = match &result {
        Ok(Verdict::Passed) => ("passed".to_string(), String::new()),
        Ok(Verdict::Failed(why)) => ("failed".to_string(), why.clone()),
        Err(BridgeError::Canceled) => ("canceled".to_string(), String::new()),
        Err(BridgeError::TimedOut(after)) => (
            "handed-over".to_string(),
            format!("the dist-git pipeline ran longer than {after:?}; reconcile posts its result"),
        ),
        Err(e) if e.is_build_failure() => ("failed".to_string(), e.to_string()),
        Err(e) => ("error".to_string(), e.to_string()),
    };
    run.ended_at = Some(unix_now());
    if let Err(e) = ctx.store.save_run(&run) {
        tracing::warn!(error = %e, "cannot record the end of the run");
    }
    result
}

async fn sync_mr<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    run: &mut Run,
) -> Result<Verdict, BridgeError> {
    ctx.out.line(&format!(
        "srcgit: converting {}!{} ({}) for dist-git project {} branch {}",
        mr.target.path, mr.mr.iid, mr.mr.web_url, mr.rpms.path, mr.mr.target_branch
    ));
    let job_dir = ctx
        .settings
        .work_dir
        .join(format!("job-{}", ctx.job.job_id));
    let fork = mr::ensure_fork(ctx, &mr.rpms).await?;
    ctx.check_canceled()?;
    let branch = naming::fork_branch(&mr.mr.target_branch, mr.mr.iid);
    // Push and MR step under the pair's lease; the mirroring runs without it.
    let lease = lease::acquire(ctx, mr).await?;
    ctx.out.section_start(
        "srcgit_convert",
        "srcgit: fetch, convert and push (details)",
        true,
    );
    let pushed = repos::convert_and_push(ctx, mr, &fork, &branch, &job_dir).await;
    ctx.out.section_end("srcgit_convert");
    let Some(pushed) = pushed? else {
        ctx.out.line("srcgit: this merge request changes nothing in dist-git; there is nothing to test downstream.");
        return Ok(Verdict::Passed);
    };
    run.source_sha = pushed.source_sha.clone();
    run.dist_git_sha = Some(pushed.dist_git_sha.clone());
    ctx.check_canceled()?;
    lease.renew()?;
    let rpms_mr = match mr::open_or_update(ctx, mr, &fork, &branch, &pushed).await? {
        mr::MrStep::Ready(rpms_mr) => rpms_mr,
        mr::MrStep::Merged(merged) => {
            run.dist_git_mr_iid = Some(merged.iid);
            ctx.out.line(&format!(
                "srcgit: the dist-git merge request {} was merged, and this merge request has nothing new since; there is nothing to test",
                merged.web_url
            ));
            return Ok(Verdict::Passed);
        }
    };
    drop(lease);
    run.dist_git_mr_iid = Some(rpms_mr.mr.iid);
    tracing::Span::current().record(
        "dg.mr",
        tracing::field::display(format!("{}!{}", mr.rpms.path, rpms_mr.mr.iid)),
    );
    tracing::info!(url = %rpms_mr.mr.web_url, "rpms merge request ready");
    ctx.store.save_run(run)?;
    ctx.out.line(&format!(
        "srcgit: dist-git merge request: {}",
        rpms_mr.mr.web_url
    ));
    let pipeline = mirror::downstream_pipeline(
        ctx,
        &mr.rpms,
        rpms_mr.mr.iid,
        &pushed.dist_git_sha,
        pushed.new_commit || rpms_mr.opened,
    )
    .await?;
    run.rpms_pipeline_ids.push(pipeline.id);
    ctx.store.save_run(run)?;
    let report = mirror::mirror(ctx, mr, &pipeline, MirrorTarget::for_job(ctx.job)).await?;
    report.print(ctx.out.as_ref());
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
