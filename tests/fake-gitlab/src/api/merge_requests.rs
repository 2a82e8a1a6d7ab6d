//! Merge requests and their pipelines.

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::{
    ApiError, ApiReq, ApiResult, auth, auth_optional, created, ok, paged_json, project_for, render,
    with_state,
};
use crate::model::{AccessLevel, Id, MergeRequest, MrState};
use crate::mrs::{self, CreateOpts, MrError, MrPipelineError, NewMr};
use crate::server::AppState;
use crate::state::State;

pub(crate) fn mr_error(e: MrError) -> ApiError {
    match e {
        MrError::Conflict(msg) => ApiError::message(StatusCode::CONFLICT, json!([msg])),
        MrError::Unprocessable(msgs) => {
            ApiError::message(StatusCode::UNPROCESSABLE_ENTITY, json!(msgs))
        }
        MrError::Forbidden => ApiError::forbidden(),
        MrError::NotFound(what) => ApiError::not_found(what),
        MrError::Invalid(v) => ApiError::message(StatusCode::BAD_REQUEST, v),
    }
}

/// Finds MR `iid` of project `pid` (404 `Not found` otherwise).
pub(crate) fn find_mr(st: &State, pid: Id, iid: &str) -> Result<MergeRequest, ApiError> {
    let iid: u64 = iid.parse().map_err(|_| ApiError::record_not_found())?;
    st.mr_by_iid(pid, iid)
        .cloned()
        .ok_or_else(ApiError::record_not_found)
}

fn sort_key(m: &MergeRequest, order_by: &str) -> (String, Id) {
    match order_by {
        "updated_at" => (format!("{:020}", m.updated_at.millis()), m.id),
        "title" => (m.title.to_lowercase(), m.id),
        _ => (format!("{:020}", m.created_at.millis()), m.id),
    }
}

pub(crate) async fn list(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let p = &req.params;
        let state = p.one_of("state", &["opened", "closed", "locked", "merged", "all"])?;
        let order_by = p
            .one_of(
                "order_by",
                &[
                    "created_at",
                    "updated_at",
                    "title",
                    "merged_at",
                    "label_priority",
                    "milestone_due",
                    "popularity",
                    "priority",
                ],
            )?
            .unwrap_or_else(|| "created_at".into());
        let sort = p
            .one_of("sort", &["asc", "desc"])?
            .unwrap_or_else(|| "desc".into());
        let iids: Vec<u64> = p
            .list("iids")
            .iter()
            .map(|s| s.parse().map_err(|_| ApiError::grape("iids is invalid")))
            .collect::<Result<_, _>>()?;
        let author_id = p.id("author_id")?;
        let author_name = p.string("author_username");
        let labels = p.list("labels");
        let search = p.string("search").map(|s| s.to_lowercase());
        let mut mrs: Vec<MergeRequest> = st
            .mrs
            .values()
            .filter(|m| m.project_id == pid)
            .filter(|m| match state.as_deref() {
                None | Some("all") => true,
                Some(s) => m.state.as_str() == s,
            })
            .filter(|m| p.get("source_branch").is_none_or(|b| m.source_branch == b))
            .filter(|m| p.get("target_branch").is_none_or(|b| m.target_branch == b))
            .filter(|m| iids.is_empty() || iids.contains(&m.iid))
            .filter(|m| author_id.is_none_or(|a| m.author_id == a))
            .filter(|m| {
                author_name.as_ref().is_none_or(|n| {
                    st.users
                        .get(&m.author_id)
                        .is_some_and(|u| u.username.eq_ignore_ascii_case(n))
                })
            })
            .filter(|m| labels.iter().all(|l| m.labels.contains(l)))
            .filter(|m| {
                search.as_ref().is_none_or(|s| {
                    m.title.to_lowercase().contains(s)
                        || m.description
                            .as_deref()
                            .unwrap_or("")
                            .to_lowercase()
                            .contains(s)
                })
            })
            .cloned()
            .collect();
        mrs.sort_by_key(|m| sort_key(m, &order_by));
        if sort == "desc" {
            mrs.reverse();
        }
        paged_json(st, &req, mrs, |m| render::merge_request(st, m, false, user))
    })
    .await
}

pub(crate) async fn get_one(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let m = find_mr(st, pid, &iid)?;
        ok(render::merge_request(st, &m, true, user))
    })
    .await
}

pub(crate) async fn create(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let source = project_for(st, &id, Some(user))?;
        let p = &req.params;
        p.require(&["source_branch", "target_branch", "title"])?;
        let target = match p.id("target_project_id")? {
            Some(t) => st
                .projects
                .get(&t)
                .map(|p| p.id)
                .ok_or_else(|| ApiError::not_found("Project"))?,
            None => source,
        };
        let new = NewMr {
            source_project: source,
            source_branch: p.string("source_branch").unwrap_or_default(),
            target_project: target,
            target_branch: p.string("target_branch").unwrap_or_default(),
            title: p.string("title").unwrap_or_default(),
            description: p.string("description"),
            author: user,
            labels: p.list("labels"),
            squash: p.boolean("squash")?.unwrap_or(false),
            remove_source_branch: p.boolean("remove_source_branch")?,
            allow_collaboration: p.boolean("allow_collaboration")?.unwrap_or(false),
        };
        let mr_id = mrs::create_mr(
            st,
            new,
            CreateOpts {
                check_access: true,
                pipeline: true,
            },
        )
        .map_err(mr_error)?;
        let m = st
            .mrs
            .get(&mr_id)
            .cloned()
            .ok_or_else(|| ApiError::internal("MR vanished"))?;
        created(render::merge_request(st, &m, true, Some(user)))
    })
    .await
}

const UPDATABLE: &[&str] = &[
    "add_labels",
    "allow_collaboration",
    "allow_maintainer_to_push",
    "assignee_id",
    "assignee_ids",
    "description",
    "discussion_locked",
    "labels",
    "merge_after",
    "milestone_id",
    "remove_labels",
    "remove_source_branch",
    "reviewer_ids",
    "squash",
    "state_event",
    "target_branch",
    "title",
];

pub(crate) async fn update(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let pid = project_for(st, &id, Some(user))?;
        let m = find_mr(st, pid, &iid)?;
        let p = &req.params;
        if !UPDATABLE
            .iter()
            .any(|k| p.has(k) || p.has(&format!("{k}[]")))
        {
            return Err(ApiError::grape(format!(
                "{} are missing, at least one parameter must be provided",
                UPDATABLE.join(", ")
            )));
        }
        if m.author_id != user && !st.can(user, pid, AccessLevel::Developer) {
            return Err(ApiError::forbidden());
        }
        let state_event = p.one_of("state_event", &["close", "reopen"])?;
        let squash = p.boolean("squash")?;
        let remove_source = p.boolean("remove_source_branch")?;
        let collab = p.boolean("allow_collaboration")?;
        if let Some(tb) = p.get("target_branch")
            && !st.git.heads(pid).contains_key(tb)
        {
            return Err(mr_error(MrError::Unprocessable(vec![format!(
                "Target branch \"{tb}\" does not exist"
            )])));
        }
        if state_event.as_deref() == Some("reopen")
            && m.state == MrState::Closed
            && let Some(other) = mrs::reopen_conflict(st, m.id)
        {
            return Err(mr_error(MrError::Conflict(format!(
                "Another open merge request already exists for this source branch: !{other}"
            ))));
        }
        let now = st.now();
        let mut notes: Vec<String> = Vec::new();
        let Some(mm) = st.mrs.get_mut(&m.id) else {
            return Err(ApiError::record_not_found());
        };
        if let Some(t) = p.string("title").filter(|t| *t != mm.title) {
            if t.trim().is_empty() {
                return Err(mr_error(MrError::Invalid(
                    json!({"title": ["can't be blank"]}),
                )));
            }
            notes.push(format!("changed title from **{}** to **{}**", mm.title, t));
            mm.draft = mrs::is_draft_title(&t);
            mm.title = t;
        }
        if let Some(d) = p
            .string("description")
            .filter(|d| Some(d) != mm.description.as_ref())
        {
            notes.push("changed the description".into());
            mm.description = Some(d);
        }
        if let Some(tb) = p.string("target_branch") {
            mm.target_branch = tb;
        }
        if p.has("labels") || p.has("labels[]") {
            mm.labels = p.list("labels");
        }
        for l in p.list("add_labels") {
            if !mm.labels.contains(&l) {
                mm.labels.push(l);
            }
        }
        let remove = p.list("remove_labels");
        mm.labels.retain(|l| !remove.contains(l));
        if let Some(s) = squash {
            mm.squash = s;
        }
        if remove_source.is_some() {
            mm.remove_source_branch = remove_source;
        }
        if let Some(c) = collab {
            mm.allow_collaboration = c;
        }
        match (state_event.as_deref(), mm.state) {
            (Some("close"), MrState::Opened) => {
                mm.state = MrState::Closed;
                mm.closed_at = Some(now);
                mm.closed_by_id = Some(user);
                notes.push("closed".into());
            }
            (Some("reopen"), MrState::Closed) => {
                mm.state = MrState::Opened;
                mm.closed_at = None;
                mm.closed_by_id = None;
                notes.push("reopened".into());
            }
            _ => {}
        }
        mm.updated_at = now;
        if p.has("target_branch") {
            mrs::sync_head_ref(st, m.id);
        }
        for n in notes {
            mrs::add_note(st, m.id, user, n, true, false);
        }
        let m = st
            .mrs
            .get(&m.id)
            .cloned()
            .ok_or_else(ApiError::record_not_found)?;
        ok(render::merge_request(st, &m, true, Some(user)))
    })
    .await
}

pub(crate) async fn list_pipelines(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let pid = project_for(st, &id, user)?;
        let m = find_mr(st, pid, &iid)?;
        let ids = mrs::mr_pipelines(st, &m);
        paged_json(st, &req, ids, |id| {
            st.pipelines
                .get(id)
                .map(|p| render::pipeline_basic(st, p))
                .unwrap_or_default()
        })
    })
    .await
}

pub(crate) async fn create_pipeline(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let pid = project_for(st, &id, Some(user))?;
        let m = find_mr(st, pid, &iid)?;
        if req.params.boolean("async")? == Some(true) {
            mrs::schedule_mr_pipeline(st, m.id, user);
            return Ok(StatusCode::ACCEPTED.into_response());
        }
        match mrs::create_mr_pipeline(st, m.id, user) {
            Ok(p) => {
                let pl = st
                    .pipelines
                    .get(&p)
                    .ok_or_else(|| ApiError::internal("pipeline vanished"))?;
                ok(render::pipeline(st, pl))
            }
            Err(MrPipelineError::NotAllowed) => Err(ApiError::message(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 Method Not Allowed",
            )),
            Err(MrPipelineError::NoJobs) => Err(ApiError::message(
                StatusCode::BAD_REQUEST,
                json!({"base": ["No stages / jobs for this pipeline."]}),
            )),
        }
    })
    .await
}

pub(crate) async fn delete(
    AxState(app): AxState<AppState>,
    Path((id, iid)): Path<(String, String)>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let pid = project_for(st, &id, Some(user))?;
        let m = find_mr(st, pid, &iid)?;
        if !st.can(user, pid, AccessLevel::Owner) {
            return Err(ApiError::forbidden());
        }
        st.mrs.remove(&m.id);
        st.notes.retain(|_, n| n.mr_id != m.id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}
