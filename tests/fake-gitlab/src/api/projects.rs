//! `/user`, `/version`, projects, forks, branches.

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use serde_json::json;

use super::{
    ApiError, ApiReq, ApiResult, auth, auth_optional, created, ok, paged_json, project_for, render,
    with_state,
};
use crate::model::ImportStatus;
use crate::projects::{self as domain, ForkError};
use crate::server::AppState;

pub(crate) async fn current_user(AxState(app): AxState<AppState>, req: ApiReq) -> ApiResult {
    with_state(&app, move |st| {
        let uid = auth(st, &req)?;
        ok(render::current_user(st, uid))
    })
    .await
}

pub(crate) async fn version(AxState(app): AxState<AppState>, req: ApiReq) -> ApiResult {
    with_state(&app, move |st| {
        auth(st, &req)?;
        ok(json!({
            "version": st.settings.server_version,
            "revision": "fakegitlab",
            "kas": {"enabled": false, "externalUrl": null, "version": null},
            "enterprise": false,
        }))
    })
    .await
}

pub(crate) async fn get_project(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        ok(render::project(st, pid, user))
    })
    .await
}

pub(crate) async fn fork(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let parent = project_for(st, &id, Some(user))?;
        let ns = if let Some(v) = req
            .params
            .get("namespace_id")
            .or(req.params.get("namespace"))
        {
            match v.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => Some(
                    st.find_namespace_by_path(v)
                        .map(|n| n.id)
                        .ok_or_else(|| ApiError::not_found("Namespace"))?,
                ),
            }
        } else if let Some(path) = req.params.get("namespace_path") {
            Some(
                st.find_namespace_by_path(path)
                    .map(|n| n.id)
                    .ok_or_else(|| ApiError::not_found("Namespace"))?,
            )
        } else {
            None
        };
        let path = req.params.string("path");
        let name = req.params.string("name");
        match domain::fork(st, parent, user, ns, path, name, false) {
            Ok(new) => created(render::project(st, new, Some(user))),
            Err(ForkError::NotFound(what)) => Err(ApiError::not_found(what)),
            Err(ForkError::Conflict(v)) => Err(ApiError::message(StatusCode::CONFLICT, v)),
            Err(ForkError::Git(e)) => Err(ApiError::internal(e)),
        }
    })
    .await
}

pub(crate) async fn list_forks(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let mut forks: Vec<u64> = st
            .projects
            .values()
            .filter(|p| p.forked_from_id == Some(pid) && st.can_read(user, p.id))
            .filter(|p| {
                req.params.get("owned") != Some("true")
                    || user.is_some_and(|u| st.can(u, p.id, crate::model::AccessLevel::Owner))
            })
            .map(|p| p.id)
            .collect();
        forks.sort_unstable_by(|a, b| b.cmp(a));
        paged_json(st, &req, forks, |f| render::project(st, *f, user))
    })
    .await
}

pub(crate) async fn list_branches(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let search = req.params.string("search");
        let heads: Vec<(String, String)> = st
            .git
            .heads(pid)
            .into_iter()
            .filter(|(name, _)| search.as_ref().is_none_or(|s| name.contains(s.as_str())))
            .collect();
        paged_json(st, &req, heads, |(name, sha)| {
            render::branch(st, pid, name, sha, user)
        })
    })
    .await
}

pub(crate) async fn get_branch(
    AxState(app): AxState<AppState>,
    Path((id, branch)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let importing = st.projects.get(&pid).is_some_and(|p| {
            p.import_status != ImportStatus::Finished && p.import_status != ImportStatus::None
        });
        let sha = st.git.heads(pid).remove(&branch);
        match sha {
            Some(sha) if !importing => ok(render::branch(st, pid, &branch, &sha, user)),
            _ => Err(ApiError::not_found("Branch")),
        }
    })
    .await
}
