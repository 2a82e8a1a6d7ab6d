//! Pipelines and jobs.

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use super::{
    ApiError, ApiReq, ApiResult, auth, auth_optional, created, ok, paged_json, project_for, render,
    with_state,
};
use crate::model::{AccessLevel, Id, Job, JobKind, JobStatus, Pipeline};
use crate::pipelines as engine;
use crate::server::AppState;
use crate::state::State;

fn find_pipeline(st: &State, project: Id, pid: &str) -> Result<Pipeline, ApiError> {
    let id: Id = pid.parse().map_err(|_| ApiError::record_not_found())?;
    st.pipelines
        .get(&id)
        .filter(|p| p.project_id == project)
        .cloned()
        .ok_or_else(ApiError::record_not_found)
}

fn find_build(st: &State, project: Id, job_id: &str) -> Result<Job, ApiError> {
    let id: Id = job_id.parse().map_err(|_| ApiError::record_not_found())?;
    st.jobs
        .get(&id)
        .filter(|j| j.project_id == project && j.kind == JobKind::Build)
        .cloned()
        .ok_or_else(ApiError::record_not_found)
}

const STATUSES: &[&str] = &[
    "created",
    "waiting_for_resource",
    "preparing",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
];

pub(crate) async fn list(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let p = &req.params;
        let scope = p.one_of(
            "scope",
            &["running", "pending", "finished", "branches", "tags"],
        )?;
        let status = p.one_of("status", STATUSES)?;
        let order_by = p
            .one_of(
                "order_by",
                &["id", "status", "ref", "updated_at", "user_id"],
            )?
            .unwrap_or_else(|| "id".into());
        let sort = p
            .one_of("sort", &["asc", "desc"])?
            .unwrap_or_else(|| "desc".into());
        let username = p.string("username");
        let mut v: Vec<Pipeline> = st
            .pipelines
            .values()
            .filter(|pl| pl.project_id == pid)
            .filter(|pl| match scope.as_deref() {
                Some("running") => pl.status == JobStatus::Running,
                Some("pending") => pl.status == JobStatus::Pending,
                Some("finished") => pl.status.is_completed(),
                Some("tags") => false,
                _ => true,
            })
            .filter(|pl| status.as_deref().is_none_or(|s| pl.status.as_str() == s))
            .filter(|pl| p.get("source").is_none_or(|s| pl.source == s))
            .filter(|pl| p.get("ref").is_none_or(|r| pl.ref_name == r))
            .filter(|pl| p.get("sha").is_none_or(|s| pl.sha == s))
            .filter(|pl| {
                username
                    .as_ref()
                    .is_none_or(|u| st.users.get(&pl.user_id).is_some_and(|x| x.username == *u))
            })
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            let k = match order_by.as_str() {
                "status" => a.status.as_str().cmp(b.status.as_str()),
                "ref" => a.ref_name.cmp(&b.ref_name),
                "updated_at" => a.updated_at.cmp(&b.updated_at),
                "user_id" => a.user_id.cmp(&b.user_id),
                _ => a.id.cmp(&b.id),
            };
            k.then(a.id.cmp(&b.id))
        });
        if sort == "desc" {
            v.reverse();
        }
        paged_json(st, &req, v, |pl| render::pipeline_basic(st, pl))
    })
    .await
}

pub(crate) async fn get_one(
    AxState(app): AxState<AppState>,
    Path((id, pid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let project = project_for(st, &id, user)?;
        let p = find_pipeline(st, project, &pid)?;
        ok(render::pipeline(st, &p))
    })
    .await
}

pub(crate) async fn jobs(
    AxState(app): AxState<AppState>,
    Path((id, pid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let project = project_for(st, &id, user)?;
        let p = find_pipeline(st, project, &pid)?;
        let scopes = req.params.list("scope");
        if scopes.iter().any(|s| !STATUSES.contains(&s.as_str())) {
            return Err(ApiError::grape("scope does not have a valid value"));
        }
        let include_retried = req.params.boolean("include_retried")?.unwrap_or(false);
        let mut v: Vec<Job> = st
            .pipeline_jobs(p.id)
            .filter(|j| j.kind == JobKind::Build)
            .filter(|j| include_retried || !j.retried)
            .filter(|j| scopes.is_empty() || scopes.iter().any(|s| s == j.status.as_str()))
            .cloned()
            .collect();
        v.sort_by_key(|j| std::cmp::Reverse(j.id));
        paged_json(st, &req, v, |j| render::job(st, j))
    })
    .await
}

pub(crate) async fn retry(
    AxState(app): AxState<AppState>,
    Path((id, pid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    // a retry with nothing to retry is a no-op, like GitLab
    let retry = |st: &mut State, pid| {
        engine::retry_pipeline(st, pid);
    };
    pipeline_action(app, id, pid, req, retry, created).await
}

pub(crate) async fn cancel(
    AxState(app): AxState<AppState>,
    Path((id, pid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    pipeline_action(app, id, pid, req, engine::cancel_pipeline, ok).await
}

/// `POST …/pipelines/:pid/{retry,cancel}`: Developer access, then `action`, then the
/// pipeline as it is afterwards (GitLab answers 201 to retry and 200 to cancel).
async fn pipeline_action(
    app: AppState,
    id: String,
    pid: String,
    req: ApiReq,
    action: fn(&mut State, Id),
    respond: fn(serde_json::Value) -> ApiResult,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let project = project_for(st, &id, Some(user))?;
        let p = find_pipeline(st, project, &pid)?;
        if !st.can(user, project, AccessLevel::Developer) {
            return Err(ApiError::forbidden());
        }
        action(st, p.id);
        let p = find_pipeline(st, project, &pid)?;
        respond(render::pipeline(st, &p))
    })
    .await
}

pub(crate) async fn job(
    AxState(app): AxState<AppState>,
    Path((id, job_id)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let project = project_for(st, &id, user)?;
        let j = find_build(st, project, &job_id)?;
        ok(render::job(st, &j))
    })
    .await
}

/// The part of the log a running job has produced so far (whole lines, in
/// proportion to elapsed time); the full log once finished.
fn visible_trace(st: &State, j: &Job) -> String {
    match j.status {
        JobStatus::Created | JobStatus::Pending | JobStatus::Skipped => String::new(),
        s if s.is_completed() => j.trace.clone(),
        _ => {
            let (Some(start), Some(plan)) = (j.started_at, j.plan.as_ref()) else {
                return String::new();
            };
            let total = plan.duration.as_millis().max(1);
            let frac = (st.now().since(start).as_millis().min(total) as f64) / total as f64;
            let lines: Vec<&str> = j.trace.split_inclusive('\n').collect();
            let n = ((lines.len() as f64) * frac).floor() as usize;
            lines[..n.min(lines.len())].concat()
        }
    }
}

pub(crate) async fn trace(
    AxState(app): AxState<AppState>,
    Path((id, job_id)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let project = project_for(st, &id, user)?;
        let j = find_build(st, project, &job_id)?;
        let mut resp = (StatusCode::OK, visible_trace(st, &j)).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Ok(resp)
    })
    .await
}

pub(crate) async fn retry_job(
    AxState(app): AxState<AppState>,
    Path((id, job_id)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let project = project_for(st, &id, Some(user))?;
        let j = find_build(st, project, &job_id)?;
        if !st.can(user, project, AccessLevel::Developer) {
            return Err(ApiError::forbidden());
        }
        let new = engine::retry_job(st, j.id).ok_or_else(|| {
            ApiError::message(
                StatusCode::FORBIDDEN,
                "403 Forbidden - Job is not retryable",
            )
        })?;
        let nj = st
            .jobs
            .get(&new)
            .cloned()
            .ok_or_else(ApiError::record_not_found)?;
        created(render::job(st, &nj))
    })
    .await
}

pub(crate) async fn cancel_job(
    AxState(app): AxState<AppState>,
    Path((id, job_id)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let project = project_for(st, &id, Some(user))?;
        let j = find_build(st, project, &job_id)?;
        if !st.can(user, project, AccessLevel::Developer) {
            return Err(ApiError::forbidden());
        }
        engine::cancel_job(st, j.id);
        let j = find_build(st, project, &job_id)?;
        created(render::job(st, &j))
    })
    .await
}
