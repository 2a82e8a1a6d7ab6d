//! Pipelines: creation from a [`CiDefinition`], progression over virtual time,
//! GitLab's composite status, retry and cancel.

use crate::clock::Timestamp;
use crate::model::*;
use crate::state::{IdKind, State};

/// Stage index GitLab gives the `external` stage of commit statuses.
pub(crate) const EXTERNAL_STAGE_IDX: u32 = 1_000_000;

/// Inputs for a new pipeline.
pub(crate) struct NewPipeline {
    pub project_id: Id,
    pub sha: String,
    pub ref_name: String,
    pub source: &'static str,
    pub user_id: Id,
    pub merge_request_id: Option<Id>,
    pub event_type: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sym {
    S(JobStatus),
    SuccessWithWarnings,
    Ignored,
}

/// `Gitlab::Ci::Status::Composite#status`: the status of a set of jobs given
/// `(status, allow_failure)` pairs. Returns the status and whether there are
/// warnings (allowed failures); `None` for an empty set.
pub(crate) fn composite<I>(items: I) -> Option<(JobStatus, bool)>
where
    I: IntoIterator<Item = (JobStatus, bool)>,
{
    use JobStatus::*;
    let mut set: Vec<Sym> = Vec::new();
    for (status, allow_failure) in items {
        let sym = if allow_failure && matches!(status, Failed | Canceled) {
            Sym::SuccessWithWarnings
        } else if allow_failure && status == Manual {
            Sym::Ignored
        } else {
            Sym::S(status)
        };
        if !set.contains(&sym) {
            set.push(sym);
        }
    }
    if set.is_empty() {
        return None;
    }
    let warnings = set.contains(&Sym::SuccessWithWarnings);
    let only_of = |names: &[Sym]| {
        let m = names.iter().filter(|n| set.contains(n)).count();
        m > 0 && m == set.len()
    };
    let any_of = |names: &[JobStatus]| names.iter().any(|n| set.contains(&Sym::S(*n)));
    let (sww, ign) = (Sym::SuccessWithWarnings, Sym::Ignored);
    let s = if only_of(&[Sym::S(Skipped), ign]) {
        Skipped
    } else if only_of(&[Sym::S(Success), Sym::S(Skipped), sww, ign]) {
        Success
    } else if only_of(&[Sym::S(Created), sww, ign]) {
        Created
    } else if only_of(&[Sym::S(Preparing), sww, ign]) {
        Preparing
    } else if only_of(&[Sym::S(Canceled), Sym::S(Success), Sym::S(Skipped), sww, ign]) {
        Canceled
    } else if only_of(&[Sym::S(Pending), Sym::S(Created), Sym::S(Skipped), sww, ign]) {
        Pending
    } else if any_of(&[Running, Pending]) {
        Running
    } else if any_of(&[WaitingForResource]) {
        WaitingForResource
    } else if any_of(&[Manual]) {
        Manual
    } else if any_of(&[Scheduled]) {
        Scheduled
    } else if any_of(&[Preparing]) {
        Preparing
    } else if any_of(&[Created]) {
        Running
    } else if any_of(&[Canceling]) {
        Canceling
    } else {
        Failed
    };
    Some((s, warnings))
}

/// Creates a job record (shared by pipeline creation and retries).
pub(crate) fn new_build(st: &mut State, pipeline: &Pipeline, plan: &CiJob, stage_idx: u32) -> Job {
    let id = st.next_id(IdKind::Job);
    Job {
        id,
        pipeline_id: pipeline.id,
        project_id: pipeline.project_id,
        name: plan.name.clone(),
        stage: plan.stage.clone(),
        stage_idx,
        kind: JobKind::Build,
        status: JobStatus::Created,
        allow_failure: plan.allow_failure,
        retried: false,
        ref_name: pipeline.ref_name.clone(),
        user_id: pipeline.user_id,
        created_at: st.now(),
        queued_at: None,
        started_at: None,
        finished_at: None,
        failure_reason: None,
        description: None,
        target_url: None,
        coverage: None,
        trace: plan.trace.clone(),
        token: st.new_secret("glcbt-"),
        plan: Some(plan.clone()),
    }
}

/// Creates a pipeline with the jobs of `ci` and processes it once.
pub(crate) fn create_pipeline(st: &mut State, np: NewPipeline, ci: &CiDefinition) -> Id {
    let id = st.next_id(IdKind::Pipeline);
    let iid = st.next_pipeline_iid(np.project_id);
    let now = st.now();
    let pipeline = Pipeline {
        id,
        iid,
        project_id: np.project_id,
        sha: np.sha.clone(),
        ref_name: np.ref_name,
        source: np.source.to_string(),
        status: JobStatus::Created,
        warnings: false,
        merge_request_id: np.merge_request_id,
        merge_request_event_type: np.event_type.map(str::to_string),
        user_id: np.user_id,
        before_sha: BLANK_SHA.to_string(),
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
    };
    // GitLab keeps every pipeline's commit reachable through a persistent ref;
    // the runner fetches it (`+<sha>:refs/pipelines/<id>`).
    if let Err(e) = st
        .git
        .set_ref(np.project_id, &format!("refs/pipelines/{id}"), &np.sha)
    {
        eprintln!("fake-gitlab: cannot create refs/pipelines/{id}: {e}");
    }
    let stages = ci.stage_order();
    for plan in &ci.jobs {
        let idx = stages.iter().position(|s| *s == plan.stage).unwrap_or(0) as u32;
        let job = new_build(st, &pipeline, plan, idx);
        st.insert_job(job);
    }
    st.pipelines.insert(id, pipeline);
    process_pipeline(st, id);
    id
}

fn latest_builds(st: &State, pipeline: Id) -> Vec<Id> {
    st.pipeline_jobs(pipeline)
        .filter(|j| !j.retried && j.kind == JobKind::Build)
        .map(|j| j.id)
        .collect()
}

/// Moves the jobs of a pipeline along (stage gating, queue, run, finish) up to
/// the current virtual time, then recomputes the pipeline status.
pub(crate) fn process_pipeline(st: &mut State, pid: Id) {
    let now = st.now();
    let Some(created_at) = st.pipelines.get(&pid).map(|p| p.created_at) else {
        return;
    };
    let mut changed = false;
    for _ in 0..64 {
        let mut step = false;
        let ids = latest_builds(st, pid);
        let mut stage_idxs: Vec<u32> = ids
            .iter()
            .filter_map(|i| st.jobs.get(i))
            .map(|j| j.stage_idx)
            .collect();
        stage_idxs.sort_unstable();
        stage_idxs.dedup();
        for idx in stage_idxs {
            let prior: Vec<&Job> = ids
                .iter()
                .filter_map(|i| st.jobs.get(i))
                .filter(|j| j.stage_idx < idx)
                .collect();
            // Optional manual jobs (allow_failure) do not block later stages.
            if !prior.iter().all(|j| {
                j.status.is_completed() || (j.status == JobStatus::Manual && j.allow_failure)
            }) {
                break;
            }
            let prior_status = composite(prior.iter().map(|j| (j.status, j.allow_failure)))
                .map(|(s, _)| s)
                .unwrap_or(JobStatus::Success);
            let ready_at = prior
                .iter()
                .filter_map(|j| j.finished_at)
                .max()
                .unwrap_or(created_at);
            let run = matches!(prior_status, JobStatus::Success | JobStatus::Skipped);
            for id in &ids {
                let Some(j) = st.jobs.get_mut(id) else {
                    continue;
                };
                if j.stage_idx != idx || j.status != JobStatus::Created {
                    continue;
                }
                if run && j.plan.as_ref().is_some_and(|p| p.manual) {
                    j.status = JobStatus::Manual;
                } else if run {
                    j.status = JobStatus::Pending;
                    j.queued_at = Some(ready_at.max(j.created_at));
                } else {
                    j.status = JobStatus::Skipped;
                }
                step = true;
            }
        }
        for id in &ids {
            let Some(j) = st.jobs.get_mut(id) else {
                continue;
            };
            let Some(plan) = j.plan.clone() else { continue };
            if j.status == JobStatus::Pending {
                let start = j.queued_at.unwrap_or(now).after(plan.queue);
                if start <= now {
                    j.status = JobStatus::Running;
                    j.started_at = Some(start);
                    step = true;
                }
            }
            if j.status == JobStatus::Running && plan.outcome != Outcome::External {
                let end = j.started_at.unwrap_or(now).after(plan.duration);
                if end <= now {
                    finish(j, plan.outcome == Outcome::Success, end);
                    step = true;
                }
            }
        }
        changed |= step;
        if !step {
            break;
        }
    }
    refresh_status(st, pid, changed);
}

fn finish(j: &mut Job, success: bool, at: Timestamp) {
    if success {
        j.status = JobStatus::Success;
    } else {
        j.status = JobStatus::Failed;
        j.failure_reason = Some("script_failure".into());
    }
    j.finished_at = Some(at);
}

/// Recomputes a pipeline's status from its latest jobs and external statuses.
pub(crate) fn refresh_status(st: &mut State, pid: Id, touched: bool) {
    let now = st.now();
    let latest: Vec<&Job> = st.pipeline_jobs(pid).filter(|j| !j.retried).collect();
    let comp = composite(latest.iter().map(|j| (j.status, j.allow_failure)));
    let started = latest.iter().filter_map(|j| j.started_at).min();
    let finished = latest.iter().filter_map(|j| j.finished_at).max();
    let Some(p) = st.pipelines.get_mut(&pid) else {
        return;
    };
    let before = (p.status, p.warnings);
    if let Some((s, w)) = comp {
        p.status = s;
        p.warnings = w;
    }
    if p.started_at.is_none() || started.is_some_and(|s| Some(s) < p.started_at) {
        p.started_at = started;
    }
    p.finished_at = if p.status.is_completed() {
        finished.or(Some(now))
    } else {
        None
    };
    if touched || before != (p.status, p.warnings) {
        p.updated_at = now;
    }
}

/// Processes every pipeline that can still change.
pub(crate) fn process_all(st: &mut State) {
    let mut active: Vec<Id> = st
        .jobs
        .values()
        .filter(|j| !j.retried && j.kind == JobKind::Build && !j.status.is_completed())
        .map(|j| j.pipeline_id)
        .collect();
    active.sort_unstable();
    active.dedup();
    for pid in active {
        process_pipeline(st, pid);
    }
}

/// Retries a build: the old job is hidden (`retried`), a new one with a new id
/// takes its place, and skipped jobs of later stages are reset to `created`.
fn clone_for_retry(st: &mut State, job_id: Id) -> Option<Id> {
    let old = st.jobs.get(&job_id)?.clone();
    let pipeline = st.pipelines.get(&old.pipeline_id)?.clone();
    let plan = st
        .projects
        .get(&old.project_id)
        .and_then(|p| p.ci.as_ref())
        .and_then(|ci| ci.jobs.iter().find(|j| j.name == old.name).cloned())
        .or(old.plan.clone())?;
    let mut new = new_build(st, &pipeline, &plan, old.stage_idx);
    new.user_id = old.user_id;
    if let Some(o) = st.jobs.get_mut(&job_id) {
        o.retried = true;
    }
    let id = new.id;
    st.insert_job(new);
    Some(id)
}

fn reset_skipped_after(st: &mut State, pid: Id, stage_idx: u32) {
    for id in st.job_ids(pid) {
        let Some(j) = st.jobs.get_mut(&id) else {
            continue;
        };
        if !j.retried
            && j.kind == JobKind::Build
            && j.stage_idx > stage_idx
            && j.status == JobStatus::Skipped
        {
            j.status = JobStatus::Created;
            j.finished_at = None;
        }
    }
}

/// `POST /pipelines/:id/retry`: retries failed and canceled builds. Returns
/// whether anything was retried.
pub(crate) fn retry_pipeline(st: &mut State, pid: Id) -> bool {
    let retryable: Vec<(Id, u32)> = st
        .pipeline_jobs(pid)
        .filter(|j| {
            !j.retried
                && j.kind == JobKind::Build
                && matches!(j.status, JobStatus::Failed | JobStatus::Canceled)
        })
        .map(|j| (j.id, j.stage_idx))
        .collect();
    let Some(min_stage) = retryable.iter().map(|(_, s)| *s).min() else {
        return false;
    };
    for (id, _) in &retryable {
        clone_for_retry(st, *id);
    }
    reset_skipped_after(st, pid, min_stage);
    process_pipeline(st, pid);
    true
}

/// `POST /jobs/:id/retry`: returns the new job's id, or `None` if the job is
/// not a finished build.
pub(crate) fn retry_job(st: &mut State, job_id: Id) -> Option<Id> {
    let j = st.jobs.get(&job_id)?;
    if j.kind != JobKind::Build
        || !matches!(
            j.status,
            JobStatus::Success | JobStatus::Failed | JobStatus::Canceled
        )
    {
        return None;
    }
    let (pid, stage) = (j.pipeline_id, j.stage_idx);
    let new = clone_for_retry(st, job_id)?;
    reset_skipped_after(st, pid, stage);
    process_pipeline(st, pid);
    Some(new)
}

fn cancel_job_in_place(j: &mut Job, now: Timestamp) -> bool {
    use JobStatus::*;
    if matches!(
        j.status,
        Created
            | WaitingForResource
            | Preparing
            | Pending
            | Running
            | Manual
            | Scheduled
            | Canceling
    ) {
        j.status = Canceled;
        j.finished_at = Some(now);
        true
    } else {
        false
    }
}

/// `POST /pipelines/:id/cancel`: cancels every unfinished job (builds and
/// external statuses).
pub(crate) fn cancel_pipeline(st: &mut State, pid: Id) {
    let now = st.now();
    for id in st.job_ids(pid) {
        if let Some(j) = st.jobs.get_mut(&id).filter(|j| !j.retried) {
            cancel_job_in_place(j, now);
        }
    }
    refresh_status(st, pid, true);
}

/// `POST /jobs/:id/cancel`.
pub(crate) fn cancel_job(st: &mut State, job_id: Id) {
    let now = st.now();
    let Some(pid) = st.jobs.get_mut(&job_id).map(|j| {
        cancel_job_in_place(j, now);
        j.pipeline_id
    }) else {
        return;
    };
    process_pipeline(st, pid);
}

/// Test control: force a job into `status` (with plausible timestamps) and let
/// the pipeline continue from there.
pub(crate) fn force_status(st: &mut State, job_id: Id, status: JobStatus) -> Option<()> {
    let now = st.now();
    let j = st.jobs.get_mut(&job_id)?;
    j.status = status;
    if matches!(status, JobStatus::Pending | JobStatus::Running) || status.is_completed() {
        j.queued_at.get_or_insert(now);
    }
    if status == JobStatus::Running || matches!(status, JobStatus::Success | JobStatus::Failed) {
        j.started_at.get_or_insert(now);
    }
    j.finished_at = status.is_completed().then_some(now);
    j.failure_reason = (status == JobStatus::Failed).then(|| "script_failure".to_string());
    if status == JobStatus::Running {
        // Keep it running until told otherwise.
        if let Some(plan) = j.plan.as_mut() {
            plan.outcome = Outcome::External;
        }
    }
    let pid = j.pipeline_id;
    process_pipeline(st, pid);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn composite_matches_gitlab() {
        assert_eq!(composite([]), None);
        assert_eq!(composite([(Success, false)]), Some((Success, false)));
        assert_eq!(
            composite([(Success, false), (Failed, true)]),
            Some((Success, true))
        );
        assert_eq!(
            composite([(Success, false), (Failed, false)]),
            Some((Failed, false))
        );
        assert_eq!(
            composite([(Success, false), (Running, false)]),
            Some((Running, false))
        );
        assert_eq!(
            composite([(Success, false), (Created, false)]),
            Some((Running, false))
        );
        assert_eq!(
            composite([(Pending, false), (Created, false)]),
            Some((Pending, false))
        );
        assert_eq!(composite([(Skipped, false)]), Some((Skipped, false)));
        assert_eq!(
            composite([(Canceled, false), (Success, false)]),
            Some((Canceled, false))
        );
        assert_eq!(
            composite([(Failed, false), (Canceled, false)]),
            Some((Failed, false))
        );
        assert_eq!(
            composite([(Failed, false), (Running, false)]),
            Some((Running, false))
        );
    }
}
