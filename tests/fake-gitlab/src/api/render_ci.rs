//! JSON entities of CI objects: pipelines, jobs, commit statuses.

use serde_json::{Value, json};

use super::render::{commit, ts, user};
use crate::model::*;
use crate::state::State;

/// `detailed_status` of a pipeline.
pub(crate) fn detailed_status(st: &State, p: &Pipeline) -> Value {
    let (text, label, group, icon) = match (p.status, p.warnings) {
        (JobStatus::Success, true) => (
            "Warning",
            "passed with warnings",
            "success-with-warnings",
            "status_warning",
        ),
        (JobStatus::Success, false) => ("Passed", "passed", "success", "status_success"),
        (JobStatus::Failed, _) => ("Failed", "failed", "failed", "status_failed"),
        (JobStatus::Running, _) => ("Running", "running", "running", "status_running"),
        (JobStatus::Pending, _) => ("Pending", "pending", "pending", "status_pending"),
        (JobStatus::Canceled, _) => ("Canceled", "canceled", "canceled", "status_canceled"),
        (JobStatus::Canceling, _) => ("Canceling", "canceling", "canceling", "status_canceled"),
        (JobStatus::Skipped, _) => ("Skipped", "skipped", "skipped", "status_skipped"),
        (JobStatus::Manual, _) => (
            "Blocked",
            "waiting for manual action",
            "manual",
            "status_manual",
        ),
        (JobStatus::Scheduled, _) => (
            "Scheduled",
            "waiting for delayed job",
            "scheduled",
            "status_scheduled",
        ),
        (JobStatus::Preparing, _) => ("Preparing", "preparing", "preparing", "status_preparing"),
        (JobStatus::WaitingForResource, _) => (
            "Waiting",
            "waiting for resource",
            "waiting-for-resource",
            "status_pending",
        ),
        (JobStatus::Created, _) => ("Created", "created", "created", "status_created"),
    };
    let path = format!("/{}/-/pipelines/{}", st.project_path(p.project_id), p.id);
    json!({
        "icon": icon,
        "text": text,
        "label": label,
        "group": group,
        "tooltip": label,
        "has_details": true,
        "details_path": path,
        "illustration": null,
        "favicon": format!("/assets/ci_favicons/favicon_{}.png", icon),
    })
}

/// `PipelineBasic`.
pub(crate) fn pipeline_basic(st: &State, p: &Pipeline) -> Value {
    json!({
        "id": p.id,
        "iid": p.iid,
        "project_id": p.project_id,
        "sha": p.sha,
        "ref": p.ref_name,
        "status": p.status.as_str(),
        "source": p.source,
        "created_at": p.created_at.to_iso8601(),
        "updated_at": p.updated_at.to_iso8601(),
        "web_url": st.pipeline_url(p),
    })
}

/// Full `Pipeline` entity.
pub(crate) fn pipeline(st: &State, p: &Pipeline) -> Value {
    let mut v = pipeline_basic(st, p);
    let duration = match (p.started_at, p.finished_at) {
        (Some(s), Some(f)) => json!(f.since(s).as_secs()),
        _ => Value::Null,
    };
    let queued = p
        .started_at
        .map(|s| json!(s.secs_since(p.created_at)))
        .unwrap_or(Value::Null);
    let extra = json!({
        "name": null,
        "before_sha": p.before_sha,
        "tag": false,
        "yaml_errors": null,
        "user": user(st, p.user_id),
        "started_at": ts(p.started_at),
        "finished_at": ts(p.finished_at),
        "committed_at": null,
        "duration": duration,
        "queued_duration": queued,
        "coverage": null,
        "detailed_status": detailed_status(st, p),
        "archived": false,
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

/// `Job` entity (builds).
pub(crate) fn job(st: &State, j: &Job) -> Value {
    let pipeline = st.pipelines.get(&j.pipeline_id);
    let duration = match (j.started_at, j.finished_at) {
        (Some(s), Some(f)) => json!(f.secs_since(s)),
        (Some(s), None) => json!(st.now().secs_since(s)),
        _ => Value::Null,
    };
    let queued = match (j.queued_at, j.started_at) {
        (Some(q), Some(s)) => json!(s.secs_since(q)),
        (Some(q), None) => json!(st.now().secs_since(q)),
        _ => Value::Null,
    };
    let commit_v = pipeline
        .and_then(|p| st.git.commit_info(p.project_id, &p.sha))
        .map(|c| commit(st, j.project_id, &c))
        .unwrap_or(Value::Null);
    let runner = if j.started_at.is_some() {
        json!({"id": 1, "description": "fake-gitlab runner", "ip_address": "127.0.0.1", "active": true,
               "paused": false, "is_shared": true, "runner_type": "instance_type", "name": "gitlab-runner",
               "online": true, "status": "online"})
    } else {
        Value::Null
    };
    json!({
        "id": j.id,
        "status": j.status.as_str(),
        "stage": j.stage,
        "name": j.name,
        "ref": j.ref_name,
        "tag": false,
        "coverage": j.coverage,
        "allow_failure": j.allow_failure,
        "created_at": j.created_at.to_iso8601(),
        "started_at": ts(j.started_at),
        "finished_at": ts(j.finished_at),
        "erased_at": null,
        "duration": duration,
        "queued_duration": queued,
        "user": user(st, j.user_id),
        "commit": commit_v,
        "pipeline": pipeline.map(|p| json!({
            "id": p.id, "iid": p.iid, "project_id": p.project_id, "sha": p.sha, "ref": p.ref_name,
            "status": p.status.as_str(), "source": p.source,
            "created_at": p.created_at.to_iso8601(), "updated_at": p.updated_at.to_iso8601(),
            "web_url": st.pipeline_url(p),
        })).unwrap_or(Value::Null),
        "failure_reason": j.failure_reason,
        "web_url": st.job_url(j),
        "project": {"ci_job_token_scope_enabled": false},
        "artifacts_file": null,
        "artifacts": if j.finished_at.is_some() {
            json!([{"file_type": "trace", "size": j.trace.len(), "filename": "job.log", "file_format": null}])
        } else { json!([]) },
        "artifacts_expire_at": null,
        "archived": false,
        "source": pipeline.map(|p| p.source.clone()),
        "tag_list": [],
        "runner": runner,
        "runner_manager": null,
    })
}

/// `CommitStatus` entity (external statuses and builds in the statuses list).
pub(crate) fn commit_status(st: &State, j: &Job) -> Value {
    let sha = st
        .pipelines
        .get(&j.pipeline_id)
        .map(|p| p.sha.clone())
        .unwrap_or_default();
    json!({
        "id": j.id,
        "sha": sha,
        "ref": j.ref_name,
        "status": j.status.as_str(),
        "name": j.name,
        "target_url": j.target_url,
        "description": j.description,
        "created_at": j.created_at.to_iso8601(),
        "started_at": ts(j.started_at),
        "finished_at": ts(j.finished_at),
        "allow_failure": j.allow_failure,
        "coverage": j.coverage,
        "pipeline_id": j.pipeline_id,
        "author": user(st, j.user_id),
    })
}
