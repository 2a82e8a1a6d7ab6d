//! `GET /groups/:id`, `GET /groups/:id/members/all/:user_id` and
//! `GET /personal_access_tokens/self`: what `srcgit doctor` asks about the bot.
//!
//! Simplifications: every group is visible to every authenticated user (GitLab hides
//! private groups from non-members with a 404); `project_creation_level` is
//! `developer`, matching who may fork into a group here.

use axum::extract::{Path, State as AxState};
use serde_json::{Value, json};

use super::{ApiError, ApiReq, ApiResult, auth, ok, render, with_state};
use crate::model::{Id, Namespace, NamespaceKind};
use crate::server::AppState;
use crate::state::State;

fn group_for<'a>(st: &'a State, key: &str) -> Result<&'a Namespace, ApiError> {
    let found = match key.parse::<Id>() {
        Ok(id) => st.namespaces.get(&id),
        Err(_) => st.find_namespace_by_path(key),
    };
    found
        .filter(|n| n.kind == NamespaceKind::Group)
        .ok_or_else(|| ApiError::not_found("Group"))
}

fn render_group(st: &State, n: &Namespace) -> Value {
    json!({
        "id": n.id,
        "name": n.name,
        "path": n.path,
        "full_name": n.full_path.replace('/', " / "),
        "full_path": n.full_path,
        "description": "",
        "visibility": "public",
        "parent_id": n.parent_id,
        "web_url": format!("{}/groups/{}", st.base_url, n.full_path),
        "avatar_url": null,
        "project_creation_level": "developer",
        "subgroup_creation_level": "maintainer",
        "request_access_enabled": true,
        "shared_with_groups": [],
    })
}

pub(crate) async fn get_group(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        auth(st, &req)?;
        let group = group_for(st, &id)?;
        ok(render_group(st, group))
    })
    .await
}

/// A member with inherited membership (`members/all`): the highest level along the
/// group's ancestors; 404 when the user is no member anywhere on the chain.
pub(crate) async fn get_member_all(
    AxState(app): AxState<AppState>,
    Path((id, user_id)): Path<(String, Id)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        auth(st, &req)?;
        let group = group_for(st, &id)?.id;
        let mut level = None;
        let mut next = Some(group);
        while let Some(ns) = next.and_then(|id| st.namespaces.get(&id)) {
            level = level.max(ns.members.get(&user_id).copied());
            next = ns.parent_id;
        }
        let level = level.ok_or_else(ApiError::record_not_found)?;
        let mut member = render::user(st, user_id);
        if let Value::Object(m) = &mut member {
            m.insert("access_level".into(), json!(level.value()));
            m.insert("expires_at".into(), Value::Null);
            m.insert("membership_state".into(), json!("active"));
        }
        ok(member)
    })
    .await
}

pub(crate) async fn token_self(AxState(app): AxState<AppState>, req: ApiReq) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let value = super::request_token(&req.headers, &req.params).unwrap_or_default();
        let (index, token) = st
            .tokens
            .iter()
            .enumerate()
            .find(|(_, t)| t.value == value)
            .ok_or_else(ApiError::unauthorized)?;
        let created = st
            .users
            .get(&user)
            .map(|u| u.created_at.to_iso8601())
            .unwrap_or_default();
        ok(json!({
            "id": index + 1,
            "name": format!("token-{}", index + 1),
            "revoked": false,
            "created_at": created,
            "description": "",
            "scopes": token.scopes,
            "user_id": user,
            "last_used_at": st.now().to_iso8601(),
            "active": true,
            "expires_at": token.expires_at,
        }))
    })
    .await
}
