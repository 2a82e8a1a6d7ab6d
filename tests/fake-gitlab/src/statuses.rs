//! `POST /projects/:id/statuses/:sha`, following GitLab's
//! `Ci::CreateCommitStatusService` and the `CommitStatus` state machine.
//!
//! Transition table (the job is either the matched `running`/`pending` external
//! job of the same name+ref+user in the pipeline, or a new one in `created`):
//!
//! | posted \ job is | created (new) | pending | running |
//! |---|---|---|---|
//! | `pending`  | → pending | 400 `:enqueue from :pending` | 400 `:enqueue from :running` |
//! | `running`  | → running | → running | 400 `:run from :running` |
//! | `success`  | → success | → success | → success |
//! | `failed`   | → failed  | → failed  | → failed |
//! | `canceled` | → canceled | → canceled | → canceled |
//! | `skipped`  | → skipped | → skipped | 400 `:skip from :running` |
//!
//! A finished job is never matched, so anything posted after a final state
//! creates a new job and the old one becomes `retried` (hidden).

use serde_json::{Value, json};

use crate::model::*;
use crate::pipelines::{self, EXTERNAL_STAGE_IDX, NewPipeline};
use crate::state::{IdKind, State};

/// Parsed request parameters.
pub(crate) struct StatusParams {
    pub state: String,
    pub name: Option<String>,
    pub ref_name: Option<String>,
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub coverage: Option<f64>,
    pub pipeline_id: Option<Id>,
}

/// Failure, already shaped as GitLab answers it.
#[derive(Debug)]
pub(crate) enum StatusError {
    /// 404 `{"message": "404 <thing> Not Found"}`.
    NotFound(&'static str),
    /// 400 with this `message` value.
    BadRequest(Value),
    /// 403.
    Forbidden,
}

/// Applies a posted state to a job in `current` state; `Err(event)` names the
/// state-machine event that cannot fire.
pub(crate) fn transition(
    current: JobStatus,
    posted: &str,
) -> Result<JobStatus, (&'static str, JobStatus)> {
    use JobStatus::*;
    let from = |allowed: &[JobStatus], to: JobStatus, event: &'static str| {
        if allowed.contains(&current) {
            Ok(to)
        } else {
            Err((event, current))
        }
    };
    match posted {
        "pending" => from(&[Created, Skipped, Manual, Scheduled], Pending, "enqueue"),
        "running" => {
            // `job.enqueue` (non-bang: silently does nothing when invalid), then `job.run!`.
            let after_enqueue = if current == Created { Pending } else { current };
            if after_enqueue == Pending {
                Ok(Running)
            } else {
                Err(("run", after_enqueue))
            }
        }
        "success" => from(
            &[Created, WaitingForResource, Preparing, Pending, Running],
            Success,
            "success",
        ),
        "failed" => from(
            &[
                Created,
                WaitingForResource,
                Preparing,
                Pending,
                Running,
                Scheduled,
            ],
            Failed,
            "drop",
        ),
        "canceled" => from(
            &[
                Created,
                WaitingForResource,
                Preparing,
                Pending,
                Running,
                Manual,
                Scheduled,
            ],
            Canceled,
            "cancel",
        ),
        "skipped" => from(
            &[Created, WaitingForResource, Preparing, Pending],
            Skipped,
            "skip",
        ),
        _ => Err(("invalid", current)),
    }
}

fn transition_message(event: &str, from: JobStatus) -> String {
    format!(
        "Cannot transition status via :{event} from :{} (Reason(s): Status cannot transition via \"{event}\")",
        from.as_str()
    )
}

fn valid_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains(char::is_whitespace)
    })
}

/// Creates or updates an external status; returns the job id.
pub(crate) fn post_status(
    st: &mut State,
    project: Id,
    user: Id,
    sha_param: &str,
    p: StatusParams,
) -> Result<Id, StatusError> {
    if !st.can(user, project, AccessLevel::Developer) {
        return Err(StatusError::Forbidden);
    }
    let sha = st
        .git
        .resolve_commit(project, sha_param)
        .ok_or(StatusError::NotFound("Commit"))?;
    // first_matching_pipeline: newest pipeline of this project at exactly this sha.
    let first_matching = st
        .pipelines
        .values()
        .rev()
        .filter(|pl| pl.project_id == project && pl.sha == sha)
        .filter(|pl| p.ref_name.as_ref().is_none_or(|r| *r == pl.ref_name))
        .find(|pl| p.pipeline_id.is_none_or(|id| id == pl.id))
        .map(|pl| (pl.id, pl.ref_name.clone()));
    let ref_name = p
        .ref_name
        .clone()
        .or_else(|| first_matching.as_ref().map(|(_, r)| r.clone()))
        .or_else(|| st.git.branches_containing(project, &sha).into_iter().next())
        .ok_or(StatusError::NotFound("References for commit"))?;
    if p.pipeline_id.is_some() && first_matching.is_none() {
        return Err(StatusError::NotFound(
            "Pipeline for pipeline_id, sha and ref",
        ));
    }
    let name = p.name.clone().unwrap_or_else(|| "default".to_string());

    // Validate before touching anything (the service runs in a transaction).
    let mut errors = serde_json::Map::new();
    if name.is_empty() {
        errors.insert("name".into(), json!(["can't be blank"]));
    }
    if let Some(u) = &p.target_url {
        if u.chars().count() > 255 {
            errors.insert(
                "target_url".into(),
                json!(["is too long (maximum is 255 characters)"]),
            );
        } else if !valid_url(u) {
            errors.insert(
                "target_url".into(),
                json!(["is blocked: Only allowed schemes are http, https"]),
            );
        }
    }
    if p.description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 255)
    {
        errors.insert(
            "description".into(),
            json!(["is too long (maximum is 255 characters)"]),
        );
    }
    if let Some((pid, _)) = &first_matching
        && st
            .pipeline_jobs(*pid)
            .any(|j| j.kind == JobKind::Build && j.name == name)
    {
        errors.insert("name".into(), json!(["has already been taken"]));
    }
    if !errors.is_empty() {
        return Err(StatusError::BadRequest(Value::Object(errors)));
    }

    let existing = first_matching.as_ref().and_then(|(pid, _)| {
        st.pipeline_jobs(*pid)
            .find(|j| {
                j.kind == JobKind::External
                    && j.status.is_active()
                    && j.ref_name == ref_name
                    && j.name == name
                    && j.user_id == user
            })
            .map(|j| (j.id, j.status))
    });
    let current = existing.map(|(_, s)| s).unwrap_or(JobStatus::Created);
    let next = transition(current, &p.state)
        .map_err(|(event, from)| StatusError::BadRequest(json!(transition_message(event, from))))?;

    let pipeline_id = match &first_matching {
        Some((pid, _)) => *pid,
        None => pipelines::create_pipeline(
            st,
            NewPipeline {
                project_id: project,
                sha: sha.clone(),
                ref_name: ref_name.clone(),
                source: "external",
                user_id: user,
                merge_request_id: None,
                event_type: None,
            },
            &CiDefinition::default(),
        ),
    };
    let now = st.now();
    let job_id = match existing {
        Some((id, _)) => id,
        None => {
            let id = st.next_id(IdKind::Job);
            st.insert_job(Job {
                id,
                pipeline_id,
                project_id: project,
                name: name.clone(),
                stage: "external".into(),
                stage_idx: EXTERNAL_STAGE_IDX,
                kind: JobKind::External,
                status: JobStatus::Created,
                allow_failure: false,
                retried: false,
                ref_name: ref_name.clone(),
                user_id: user,
                created_at: now,
                queued_at: None,
                started_at: None,
                finished_at: None,
                failure_reason: None,
                description: None,
                target_url: None,
                coverage: None,
                trace: String::new(),
                token: String::new(),
                plan: None,
            });
            id
        }
    };
    if let Some(j) = st.jobs.get_mut(&job_id) {
        if p.target_url.is_some() {
            j.target_url = p.target_url;
        }
        if p.description.is_some() {
            j.description = p.description;
        }
        if p.coverage.is_some() {
            j.coverage = p.coverage;
        }
        if matches!(next, JobStatus::Pending | JobStatus::Running) && j.queued_at.is_none() {
            j.queued_at = Some(now);
        }
        if next == JobStatus::Running {
            j.started_at.get_or_insert(now);
        }
        if matches!(
            next,
            JobStatus::Success | JobStatus::Failed | JobStatus::Canceled
        ) {
            j.finished_at = Some(now);
        }
        if next == JobStatus::Failed {
            j.failure_reason = Some("api_failure".into());
        }
        j.status = next;
    }
    // update_older_statuses_retried!
    for id in st.job_ids(pipeline_id) {
        if let Some(j) = st.jobs.get_mut(&id)
            && j.name == name
            && j.id != job_id
        {
            j.retried = true;
        }
    }
    pipelines::refresh_status(st, pipeline_id, true);
    Ok(job_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn table() {
        assert_eq!(transition(Created, "pending"), Ok(Pending));
        assert_eq!(transition(Created, "running"), Ok(Running));
        assert_eq!(transition(Pending, "running"), Ok(Running));
        assert_eq!(transition(Pending, "pending"), Err(("enqueue", Pending)));
        assert_eq!(transition(Running, "pending"), Err(("enqueue", Running)));
        assert_eq!(transition(Running, "running"), Err(("run", Running)));
        assert_eq!(transition(Running, "skipped"), Err(("skip", Running)));
        assert_eq!(transition(Running, "success"), Ok(Success));
        assert_eq!(transition(Created, "failed"), Ok(Failed));
        assert_eq!(
            transition_message("run", Running),
            "Cannot transition status via :run from :running (Reason(s): Status cannot transition via \"run\")"
        );
    }
}
