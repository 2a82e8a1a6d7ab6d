//! Following the rpms MR pipeline and mirroring it onto the source-git MR: one status
//! `dist-git` for the pipeline and one `dist-git: <job>` per job, posted only when they
//! change and only with transitions GitLab accepts. This module alone owns time: the poll
//! interval, the overall timeout and the cancellation check.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::naming::{self, PIPELINE_STATUS_NAME};
use super::status;
use super::{BridgeError, Context, JobIdentity, Output, Verdict, VerifiedMr};
use crate::forge::{Forge, ForgeError, Job, Pipeline, Project, StatusUpdate};
use crate::ids::{CiStatus, CommitState};
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId};
use crate::store::{PostedStatus, Store};

/// How long to wait for GitLab to create the MR pipeline of a pushed commit before asking
/// for one explicitly.
const PIPELINE_APPEAR_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a failed job's log shown in the job log.
const TRACE_TAIL_LINES: usize = 50;

/// Where mirrored statuses go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorTarget {
    /// Project.
    pub project: ProjectId,
    /// Commit.
    pub sha: CommitSha,
    /// Pipeline to attach to (`None` when falling back to the MR head in the target).
    pub pipeline: Option<PipelineId>,
    /// `ref` to send: `refs/merge-requests/<iid>/head` on the fallback, where neither a
    /// pipeline nor a branch of the target may hold a contributor's commit (§3.6).
    pub git_ref: Option<String>,
}

impl MirrorTarget {
    /// The job's own pipeline: its project, commit and pipeline id.
    pub fn for_job(job: &JobIdentity) -> MirrorTarget {
        MirrorTarget {
            project: job.project_id,
            sha: job.sha.clone(),
            pipeline: Some(job.pipeline_id),
            git_ref: None,
        }
    }
}

/// The downstream pipeline's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Its jobs.
    pub jobs: Vec<Job>,
    /// Last lines of each failed job's log.
    pub failed_traces: Vec<(String, String)>,
}

impl Report {
    /// The job's verdict: the downstream pipeline's.
    pub fn verdict(&self) -> Verdict {
        match self.pipeline.status {
            CiStatus::Success | CiStatus::Skipped => Verdict::Passed,
            other => {
                let failed: Vec<&str> = self.failed_jobs().map(|j| j.name.as_str()).collect();
                Verdict::Failed(if failed.is_empty() {
                    format!("the dist-git pipeline ended {}", other.as_str())
                } else {
                    format!("the dist-git pipeline failed: {}", failed.join(", "))
                })
            }
        }
    }

    fn failed_jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs
            .iter()
            .filter(|j| j.status == CiStatus::Failed && !j.allow_failure)
    }

    /// The final table, and the log tails of failed jobs.
    pub fn print(&self, log: &dyn Output) {
        log.line(&format!(
            "srcgit: dist-git pipeline {} finished: {}",
            self.pipeline.web_url,
            self.pipeline.status.as_str()
        ));
        let width = self
            .jobs
            .iter()
            .map(|j| j.name.len())
            .max()
            .unwrap_or(3)
            .max(3);
        log.line(&format!(
            "  {:<width$}  {:<10}  {}",
            "job", "result", "link"
        ));
        for job in &self.jobs {
            let result = status::job_description(job.status, job.allow_failure);
            log.line(&format!(
                "  {:<width$}  {:<10}  {}",
                job.name, result, job.web_url
            ));
        }
        for (name, tail) in &self.failed_traces {
            log.section_start(
                &format!(
                    "srcgit_trace_{}",
                    name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                ),
                &format!("last {TRACE_TAIL_LINES} lines of {name}"),
                false,
            );
            for line in tail.lines() {
                log.line(line);
            }
            log.section_end(&format!(
                "srcgit_trace_{}",
                name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            ));
        }
    }
}

/// Sleeps, or returns `Canceled` as soon as SIGTERM arrives.
async fn sleep_or_cancel<F: Forge>(
    ctx: &Context<'_, F>,
    duration: Duration,
) -> Result<(), BridgeError> {
    let mut cancel = ctx.cancel.clone();
    if *cancel.borrow() {
        return Err(BridgeError::Canceled);
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => Ok(()),
        _ = cancel.wait_for(|c| *c) => Err(BridgeError::Canceled),
    }
}

/// How often srcgit asks for a new MR pipeline when GitLab's answer was lost and no new
/// pipeline is there.
const PIPELINE_REQUEST_ATTEMPTS: u32 = 4;

/// The rpms MR pipeline to follow: the newest MR pipeline for the pushed commit.
/// `expect_new`: a push or a new MR just made GitLab start one (wait for it to appear).
/// Otherwise (a rerun with nothing new) an unfinished pipeline for the commit — a twin
/// job's — is followed, and only a finished one makes srcgit ask for a new pipeline.
pub async fn downstream_pipeline<F: Forge>(
    ctx: &Context<'_, F>,
    rpms: &Project,
    iid: MrIid,
    dist_git_sha: &CommitSha,
    expect_new: bool,
) -> Result<Pipeline, BridgeError> {
    let follow = |p: Pipeline| {
        ctx.out.line(&format!(
            "srcgit: following dist-git pipeline {}",
            p.web_url
        ));
        Ok(p)
    };
    if expect_new {
        let started = Instant::now();
        let mut delay = Duration::from_millis(250);
        while started.elapsed() < PIPELINE_APPEAR_TIMEOUT {
            let pipelines = ctx.forge.merge_request_pipelines(rpms.id, iid).await?;
            if let Some(p) = newest_for(pipelines, dist_git_sha) {
                return follow(p);
            }
            sleep_or_cancel(ctx, delay).await?;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        ctx.out
            .line("srcgit: GitLab created no pipeline for the pushed commit; asking for one");
    } else {
        let pipelines = ctx.forge.merge_request_pipelines(rpms.id, iid).await?;
        let newest = newest_for(pipelines, dist_git_sha);
        if ctx.job.request.retry_failed
            && let Some(p) = &newest
        {
            return retry_failed_jobs(ctx, p).await.and_then(follow);
        }
        if let Some(p) = newest
            && !p.status.pipeline_finished()
        {
            ctx.out.line(
                "srcgit: nothing new to push, and a dist-git pipeline for this commit is still running",
            );
            return follow(p);
        }
        ctx.out
            .line("srcgit: rerun with nothing new; asking GitLab for a new dist-git pipeline");
    }
    follow(request_pipeline(ctx, rpms, iid, dist_git_sha).await?)
}

/// `SRCGIT_RETRY=failed`: retries the failed (and canceled) jobs of `pipeline` in place,
/// instead of asking for a new pipeline, and returns it to be mirrored again. A pipeline
/// with nothing failed is mirrored as it is.
async fn retry_failed_jobs<F: Forge>(
    ctx: &Context<'_, F>,
    pipeline: &Pipeline,
) -> Result<Pipeline, BridgeError> {
    let jobs = ctx
        .forge
        .pipeline_jobs(pipeline.project_id, pipeline.id)
        .await?;
    let failed: Vec<&str> = jobs
        .iter()
        .filter(|j| matches!(j.status, CiStatus::Failed | CiStatus::Canceled))
        .map(|j| j.name.as_str())
        .collect();
    if failed.is_empty() {
        ctx.out.line(&format!(
            "srcgit: SRCGIT_RETRY=failed, but no job of dist-git pipeline {} failed; mirroring it as it is",
            pipeline.web_url
        ));
        return Ok(pipeline.clone());
    }
    ctx.out.line(&format!(
        "srcgit: SRCGIT_RETRY=failed: retrying {} in dist-git pipeline {}",
        failed.join(", "),
        pipeline.web_url
    ));
    // Retrying is idempotent: a repeat after a lost answer retries nothing new.
    Ok(ctx
        .forge
        .retry_pipeline(pipeline.project_id, pipeline.id)
        .await?)
}

/// The newest MR pipeline for `sha` (the list is MR pipelines first, newest first).
fn newest_for(pipelines: Vec<Pipeline>, sha: &CommitSha) -> Option<Pipeline> {
    pipelines.into_iter().find(|p| p.sha == sha.0)
}

/// Asks GitLab for a new MR pipeline. The client does not repeat this request blindly
/// (a repeat would start a second pipeline): after an unknown outcome, a pipeline for the
/// commit newer than every one seen before the request is GitLab's answer, adopted;
/// only when there is none is the request sent again.
async fn request_pipeline<F: Forge>(
    ctx: &Context<'_, F>,
    rpms: &Project,
    iid: MrIid,
    sha: &CommitSha,
) -> Result<Pipeline, BridgeError> {
    let seen = ctx
        .forge
        .merge_request_pipelines(rpms.id, iid)
        .await?
        .iter()
        .map(|p| p.id)
        .max();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ctx.forge.create_merge_request_pipeline(rpms.id, iid).await {
            Ok(created) => return Ok(created),
            Err(e) if e.outcome_unknown() && attempt < PIPELINE_REQUEST_ATTEMPTS => {
                ctx.out.line(&format!(
                    "srcgit: GitLab's answer to the pipeline request was lost ({e}); looking for the pipeline before asking again"
                ));
                let pipelines = ctx.forge.merge_request_pipelines(rpms.id, iid).await?;
                if let Some(p) = pipelines
                    .into_iter()
                    .filter(|p| seen.is_none_or(|seen| p.id > seen))
                    .find(|p| p.sha == sha.0)
                {
                    return Ok(p);
                }
                sleep_or_cancel(ctx, Duration::from_millis(500 * u64::from(attempt))).await?;
            }
            Err(ForgeError::Rejected {
                status: 400 | 405,
                message,
                ..
            }) => {
                return Err(BridgeError::Build(format!(
                    "GitLab cannot run a merge request pipeline for {}!{iid}: {message}",
                    rpms.path
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What srcgit posted per status name in this job.
struct Mirror<'c, 'a, F: Forge> {
    ctx: &'c Context<'a, F>,
    target: MirrorTarget,
    fallback: Option<MirrorTarget>,
    /// Projects that refused the bot's statuses (403/404), in order.
    refused: Vec<ProjectId>,
    /// Set once every target refused: the job then only follows and reports.
    nowhere: bool,
    /// Status name → (last state posted, its link).
    posted: BTreeMap<String, (CommitState, String)>,
}

impl<F: Forge> Mirror<'_, '_, F> {
    async fn post(
        &mut self,
        name: &str,
        state: CommitState,
        url: &str,
        description: &str,
    ) -> Result<(), BridgeError> {
        let last = self.posted.get(name).map(|(state, _)| *state);
        if self.nowhere || !status::may_post(last, state) {
            return Ok(());
        }
        let update = StatusUpdate {
            state,
            name: name.to_string(),
            target_url: (!url.is_empty()).then(|| naming::truncate(url, 255)),
            description: Some(naming::status_description(description)),
            pipeline_id: self.target.pipeline,
            git_ref: self.target.git_ref.clone(),
        };
        // Recorded before posting: if the process dies right after GitLab took the status,
        // the cleanup stage still knows to finalise it.
        self.record(name, state, url)?;
        let mut attempt = 0;
        loop {
            match self
                .ctx
                .forge
                .post_status(self.target.project, &self.target.sha, &update)
                .await
            {
                Ok(()) => break,
                // already in that state (a previous run, or a racing retry)
                Err(ForgeError::Rejected {
                    status: 400,
                    ref message,
                    ..
                }) if message.contains("Cannot transition status") => {
                    break;
                }
                // "Another update to this commit status is in progress"
                Err(ForgeError::Conflict { .. }) if attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(300 * attempt)).await;
                }
                Err(e @ (ForgeError::Forbidden { .. } | ForgeError::NotFound { .. })) => {
                    self.refused.push(self.target.project);
                    let Some(fallback) = self.fallback.take() else {
                        // Nowhere to post: say so once, keep following the pipeline; the
                        // job's exit status still carries the verdict.
                        self.nowhere = true;
                        self.ctx.store.forget_status(self.ctx.job.job_id, name)?;
                        let places: Vec<String> = self
                            .refused
                            .iter()
                            .map(|p| format!("project {p}"))
                            .collect();
                        self.ctx.out.line(&format!(
                            "srcgit: GitLab lets the bot post commit statuses in neither {} ({e}); \
                             the dist-git result is reported only in this job's log and result",
                            places.join(" nor ")
                        ));
                        return Ok(());
                    };
                    self.ctx.out.line(&format!(
                        "srcgit: cannot post statuses to project {} (no permission); posting them on the \
                         merge request head in project {} instead",
                        self.target.project, fallback.project
                    ));
                    self.target = fallback;
                    return Box::pin(self.post(name, state, url, description)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.posted
            .insert(name.to_string(), (state, url.to_string()));
        Ok(())
    }

    fn record(&self, name: &str, state: CommitState, url: &str) -> Result<(), BridgeError> {
        self.ctx.store.record_status(&PostedStatus {
            job_id: self.ctx.job.job_id,
            project_id: self.target.project,
            sha: self.target.sha.clone(),
            pipeline_id: self.target.pipeline,
            git_ref: self.target.git_ref.clone(),
            name: name.to_string(),
            state,
            target_url: (!url.is_empty()).then(|| url.to_string()),
        })?;
        Ok(())
    }

    async fn sync(&mut self, pipeline: &Pipeline, jobs: &[Job]) -> Result<(), BridgeError> {
        for job in jobs {
            let state = status::job_state(job.status, job.allow_failure);
            let description = status::job_description(job.status, job.allow_failure);
            self.post(
                &naming::job_status_name(&job.name),
                state,
                &job.web_url,
                &description,
            )
            .await?;
        }
        let description = format!(
            "dist-git pipeline #{}: {}",
            pipeline.id,
            pipeline.status.as_str().replace('_', " ")
        );
        self.post(
            PIPELINE_STATUS_NAME,
            status::pipeline_state(pipeline.status),
            &pipeline.web_url,
            &description,
        )
        .await
    }

    /// Sets every status still pending or running to `canceled`.
    async fn cancel_open(&mut self) {
        let open: Vec<(String, String)> = self
            .posted
            .iter()
            .filter(|(_, (state, _))| !state.is_final())
            .map(|(name, (_, url))| (name.clone(), url.clone()))
            .collect();
        for (name, url) in open {
            if let Err(e) = self
                .post(
                    &name,
                    CommitState::Canceled,
                    &url,
                    "canceled with the srcgit job",
                )
                .await
            {
                self.ctx
                    .out
                    .line(&format!("srcgit: could not cancel status {name}: {e}"));
            }
        }
    }
}

/// Polls the downstream pipeline until it finishes, mirroring it onto the source MR.
pub async fn mirror<F: Forge>(
    ctx: &Context<'_, F>,
    mr: &VerifiedMr,
    pipeline: &Pipeline,
    target: MirrorTarget,
) -> Result<Report, BridgeError> {
    let fallback = (target.project != mr.mr.target_project_id).then(|| MirrorTarget {
        project: mr.mr.target_project_id,
        sha: mr.mr.sha.clone().unwrap_or_else(|| target.sha.clone()),
        pipeline: None,
        git_ref: Some(naming::mr_head_ref(mr.mr.iid)),
    });
    let mut mirror = Mirror {
        ctx,
        target,
        fallback,
        refused: Vec::new(),
        nowhere: false,
        posted: BTreeMap::new(),
    };
    let started = Instant::now();
    let result = poll_until_finished(&mut mirror, pipeline, started).await;
    match &result {
        // Handed over: `srcgit reconcile` posts the result when the pipeline finishes.
        Err(BridgeError::TimedOut(_)) => {}
        Err(_) => mirror.cancel_open().await,
        Ok(_) => {}
    }
    result
}

async fn poll_until_finished<F: Forge>(
    mirror: &mut Mirror<'_, '_, F>,
    pipeline: &Pipeline,
    started: Instant,
) -> Result<Report, BridgeError> {
    let ctx = mirror.ctx;
    let mut last_status = None;
    let mut last_line = Instant::now();
    loop {
        let current = ctx.forge.pipeline(pipeline.project_id, pipeline.id).await?;
        let jobs = ctx
            .forge
            .pipeline_jobs(pipeline.project_id, pipeline.id)
            .await?;
        if last_status != Some(current.status) {
            ctx.out.line(&format!(
                "srcgit: dist-git pipeline {} is {}",
                current.web_url,
                current.status.as_str()
            ));
            last_status = Some(current.status);
            last_line = Instant::now();
        } else if last_line.elapsed() >= PROGRESS_EVERY {
            ctx.out.line(&progress_line(&jobs, started.elapsed()));
            last_line = Instant::now();
        }
        mirror.sync(&current, &jobs).await?;
        if current.status.pipeline_finished() {
            let mut failed_traces = Vec::new();
            for job in jobs
                .iter()
                .filter(|j| j.status == CiStatus::Failed && !j.allow_failure)
            {
                let trace = ctx
                    .forge
                    .job_trace(pipeline.project_id, job.id)
                    .await
                    .unwrap_or_default();
                failed_traces.push((job.name.clone(), tail(&trace, TRACE_TAIL_LINES)));
            }
            return Ok(Report {
                pipeline: current,
                jobs,
                failed_traces,
            });
        }
        if started.elapsed() >= ctx.settings.poll_timeout {
            return Err(BridgeError::TimedOut(ctx.settings.poll_timeout));
        }
        sleep_or_cancel(ctx, ctx.settings.poll_interval).await?;
    }
}

/// Sets every status that job `job_id` left `pending`/`running` to `canceled` (the job
/// may have been killed before it could); what cannot be posted is reported and skipped.
pub async fn cancel_open_statuses<F: Forge>(
    forge: &F,
    store: &Store,
    job_id: JobId,
    out: &dyn Output,
) -> Result<(), BridgeError> {
    for status in store.open_statuses(job_id)? {
        let update = StatusUpdate {
            state: CommitState::Canceled,
            name: status.name.clone(),
            target_url: status.target_url.clone().filter(|u| !u.is_empty()),
            description: Some("canceled: the srcgit job ended".to_string()),
            pipeline_id: status.pipeline_id,
            git_ref: status.git_ref.clone(),
        };
        match forge
            .post_status(status.project_id, &status.sha, &update)
            .await
        {
            Ok(()) => {
                let _ = store.record_status(&PostedStatus {
                    state: CommitState::Canceled,
                    ..status
                });
            }
            Err(e) => out.line(&format!(
                "srcgit: cannot cancel status {}: {e}",
                status.name
            )),
        }
    }
    Ok(())
}

/// A line at least this often while a long downstream pipeline runs, so the job log shows
/// the job is alive.
const PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// `srcgit: still running: 3/7 jobs done, 41 min`.
fn progress_line(jobs: &[Job], elapsed: Duration) -> String {
    let done = jobs.iter().filter(|j| j.status.pipeline_finished()).count();
    format!(
        "srcgit: dist-git pipeline still running: {done}/{} jobs done, {} min",
        jobs.len(),
        elapsed.as_secs() / 60
    )
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_finished_jobs_and_whole_minutes() {
        let job = |status| Job {
            id: crate::ids::JobId(1),
            name: "j".into(),
            stage: "s".into(),
            status,
            allow_failure: false,
            web_url: String::new(),
        };
        let jobs = [
            job(CiStatus::Success),
            job(CiStatus::Failed),
            job(CiStatus::Skipped),
            job(CiStatus::Running),
            job(CiStatus::Pending),
            job(CiStatus::Manual),
            job(CiStatus::Created),
        ];
        assert_eq!(
            progress_line(&jobs, Duration::from_secs(41 * 60 + 59)),
            "srcgit: dist-git pipeline still running: 3/7 jobs done, 41 min"
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }
}
