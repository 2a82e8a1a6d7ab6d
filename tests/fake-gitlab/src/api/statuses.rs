//! Commit statuses (`POST /statuses/:sha`, `GET /repository/commits/:sha/statuses`).

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;

use super::{
    ApiError, ApiReq, ApiResult, auth, created, paged_json, project_for, render, with_state,
};
use crate::model::{Id, Job};
use crate::server::AppState;
use crate::statuses::{self as service, StatusError, StatusParams};

const STATES: &[&str] = &[
    "pending", "running", "success", "failed", "canceled", "skipped",
];

pub(crate) async fn create(
    AxState(app): AxState<AppState>,
    Path((id, sha)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let project = project_for(st, &id, Some(user))?;
        let p = &req.params;
        p.require(&["state"])?;
        let state = p.one_of("state", STATES)?.unwrap_or_default();
        let params = StatusParams {
            state,
            name: p.string("name").or_else(|| p.string("context")),
            ref_name: p.string("ref"),
            target_url: p.string("target_url"),
            description: p.string("description"),
            coverage: p.float("coverage")?,
            pipeline_id: p.id("pipeline_id")?,
        };
        match service::post_status(st, project, user, &sha, params) {
            Ok(job) => {
                let j = st
                    .jobs
                    .get(&job)
                    .cloned()
                    .ok_or_else(ApiError::record_not_found)?;
                created(render::commit_status(st, &j))
            }
            Err(StatusError::NotFound(what)) => Err(ApiError::not_found(what)),
            Err(StatusError::BadRequest(v)) => Err(ApiError::message(StatusCode::BAD_REQUEST, v)),
            Err(StatusError::Forbidden) => Err(ApiError::forbidden()),
        }
    })
    .await
}

pub(crate) async fn list(
    AxState(app): AxState<AppState>,
    Path((id, sha)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let project = project_for(st, &id, Some(user))?;
        let sha = st
            .git
            .resolve_commit(project, &sha)
            .ok_or_else(|| ApiError::not_found("Commit"))?;
        let p = &req.params;
        let pipeline_id = p.id("pipeline_id")?;
        let all = p.boolean("all")?.unwrap_or(false);
        let order_by = p
            .one_of("order_by", &["id", "pipeline_id"])?
            .unwrap_or_else(|| "id".into());
        let sort = p
            .one_of("sort", &["asc", "desc"])?
            .unwrap_or_else(|| "asc".into());
        let pipelines: Vec<Id> = st
            .pipelines
            .values()
            .filter(|pl| pl.project_id == project && pl.sha == sha)
            .filter(|pl| pipeline_id.is_none_or(|id| pl.id == id))
            .map(|pl| pl.id)
            .collect();
        let mut v: Vec<Job> = st
            .jobs
            .values()
            .filter(|j| pipelines.contains(&j.pipeline_id))
            .filter(|j| all || !j.retried)
            .filter(|j| p.get("ref").is_none_or(|r| j.ref_name == r))
            .filter(|j| p.get("stage").is_none_or(|s| j.stage == s))
            .filter(|j| p.get("name").is_none_or(|n| j.name == n))
            .cloned()
            .collect();
        v.sort_by_key(|j| {
            if order_by == "pipeline_id" {
                (j.pipeline_id, j.id)
            } else {
                (j.id, 0)
            }
        });
        if sort == "desc" {
            v.reverse();
        }
        paged_json(st, &req, v, |j| render::commit_status(st, j))
    })
    .await
}
