//! Merge request notes (comments).

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::merge_requests::find_mr;
use super::{
    ApiError, ApiReq, ApiResult, auth, auth_optional, created, ok, paged_json, project_for, render,
    with_state,
};
use crate::model::{AccessLevel, Id, Note};
use crate::mrs;
use crate::server::AppState;
use crate::state::State;

const MAX_BODY: usize = 1_000_000;

fn too_long() -> ApiError {
    ApiError::message(
        StatusCode::BAD_REQUEST,
        json!({"note": [format!("is too long (maximum is {MAX_BODY} characters)")]}),
    )
}

fn find_note(st: &State, mr_id: Id, note_id: &str) -> Result<Note, ApiError> {
    let nid: Id = note_id.parse().map_err(|_| ApiError::record_not_found())?;
    st.notes
        .get(&nid)
        .filter(|n| n.mr_id == mr_id)
        .cloned()
        .ok_or_else(ApiError::record_not_found)
}

pub(crate) async fn list(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let m = find_mr(st, pid, &iid)?;
        let sort = req
            .params
            .one_of("sort", &["asc", "desc"])?
            .unwrap_or_else(|| "desc".into());
        let order_by = req
            .params
            .one_of("order_by", &["created_at", "updated_at"])?
            .unwrap_or_else(|| "created_at".into());
        let mut notes: Vec<Note> = st
            .notes
            .values()
            .filter(|n| n.mr_id == m.id)
            .cloned()
            .collect();
        notes.sort_by_key(|n| {
            let t = if order_by == "updated_at" {
                n.updated_at
            } else {
                n.created_at
            };
            (t, n.id)
        });
        if sort == "desc" {
            notes.reverse();
        }
        paged_json(st, &req, notes, |n| render::note(st, n))
    })
    .await
}

pub(crate) async fn get_one(
    AxState(app): AxState<AppState>,
    Path((id, iid, note_id)): Path<(String, String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let m = find_mr(st, pid, &iid)?;
        let n = find_note(st, m.id, &note_id)?;
        ok(render::note(st, &n))
    })
    .await
}

pub(crate) async fn create(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let pid = project_for(st, &id, Some(user))?;
        let m = find_mr(st, pid, &iid)?;
        req.params.require(&["body"])?;
        let body = req.params.string("body").unwrap_or_default();
        if body.trim().is_empty() {
            return Err(ApiError::message(
                StatusCode::BAD_REQUEST,
                json!({"note": ["can't be blank"]}),
            ));
        }
        if body.chars().count() > MAX_BODY {
            return Err(too_long());
        }
        let internal = req.params.boolean("internal")?.unwrap_or(false);
        let nid = mrs::add_note(st, m.id, user, body, false, internal);
        let n = st
            .notes
            .get(&nid)
            .cloned()
            .ok_or_else(ApiError::record_not_found)?;
        created(render::note(st, &n))
    })
    .await
}

pub(crate) async fn update(
    AxState(app): AxState<AppState>,
    Path((id, iid, note_id)): Path<(String, String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let pid = project_for(st, &id, Some(user))?;
        let m = find_mr(st, pid, &iid)?;
        let n = find_note(st, m.id, &note_id)?;
        if n.author_id != user || n.system {
            return Err(ApiError::forbidden());
        }
        let Some(body) = req.params.string("body") else {
            return Err(ApiError::grape("body is missing"));
        };
        if body.chars().count() > MAX_BODY {
            return Err(too_long());
        }
        let now = st.now();
        if let Some(nn) = st.notes.get_mut(&n.id) {
            nn.body = body;
            nn.updated_at = now;
        }
        let n = st
            .notes
            .get(&n.id)
            .cloned()
            .ok_or_else(ApiError::record_not_found)?;
        ok(render::note(st, &n))
    })
    .await
}

pub(crate) async fn delete(
    AxState(app): AxState<AppState>,
    Path((id, iid, note_id)): Path<(String, String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let pid = project_for(st, &id, Some(user))?;
        let m = find_mr(st, pid, &iid)?;
        let n = find_note(st, m.id, &note_id)?;
        if n.author_id != user && !st.can(user, pid, AccessLevel::Maintainer) {
            return Err(ApiError::forbidden());
        }
        st.notes.remove(&n.id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}
