//! JSON entities, field for field as GitLab's API entities (see the contract
//! doc §3 and the Kitware `gitlab` crate's captured fixtures).

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::git::CommitInfo;
use crate::model::*;
use crate::mrs;
use crate::state::State;

pub(crate) use super::render_ci::{commit_status, job, pipeline, pipeline_basic};

pub(crate) fn ts(t: Option<Timestamp>) -> Value {
    t.map(|t| json!(t.to_iso8601())).unwrap_or(Value::Null)
}

/// `UserBasic`.
pub(crate) fn user(st: &State, id: Id) -> Value {
    match st.users.get(&id) {
        Some(u) => json!({
            "id": u.id,
            "username": u.username,
            "name": u.name,
            "state": "active",
            "locked": false,
            "avatar_url": null,
            "web_url": st.user_url(u.id),
        }),
        None => Value::Null,
    }
}

/// `GET /user` (current user, full entity).
pub(crate) fn current_user(st: &State, id: Id) -> Value {
    let Some(u) = st.users.get(&id) else {
        return Value::Null;
    };
    let mut v = user(st, id);
    if let Value::Object(m) = &mut v {
        let extra = json!({
            "created_at": u.created_at.to_iso8601(),
            "bio": "",
            "location": "",
            "public_email": null,
            "skype": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "website_url": "",
            "organization": "",
            "job_title": "",
            "pronouns": null,
            "bot": u.bot,
            "work_information": null,
            "local_time": null,
            "last_sign_in_at": null,
            "confirmed_at": u.created_at.to_iso8601(),
            "last_activity_on": st.now().date(),
            "email": u.email,
            "theme_id": 1,
            "color_scheme_id": 1,
            "projects_limit": 100000,
            "current_sign_in_at": null,
            "identities": [],
            "can_create_group": true,
            "can_create_project": true,
            "two_factor_enabled": false,
            "external": false,
            "private_profile": false,
            "commit_email": u.email,
            "is_admin": u.admin,
        });
        if let Value::Object(e) = extra {
            m.extend(e);
        }
    }
    v
}

pub(crate) fn namespace(st: &State, id: Id) -> Value {
    match st.namespaces.get(&id) {
        Some(n) => json!({
            "id": n.id,
            "name": n.name,
            "path": n.path,
            "kind": match n.kind { NamespaceKind::Group => "group", NamespaceKind::User => "user" },
            "full_path": n.full_path,
            "parent_id": n.parent_id,
            "avatar_url": null,
            "web_url": match n.kind {
                NamespaceKind::Group => format!("{}/groups/{}", st.base_url, n.full_path),
                NamespaceKind::User => format!("{}/{}", st.base_url, n.full_path),
            },
        }),
        None => Value::Null,
    }
}

fn project_min(st: &State, p: &Project) -> Value {
    let ns_name = st
        .namespaces
        .get(&p.namespace_id)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    json!({
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": format!("{ns_name} / {}", p.name),
        "path": p.path,
        "path_with_namespace": p.path_with_namespace,
        "created_at": p.created_at.to_iso8601(),
        "default_branch": p.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": format!("git@{}:{}.git", st.host_port().split(':').next().unwrap_or("localhost"), p.path_with_namespace),
        "http_url_to_repo": format!("{}/{}.git", st.base_url, p.path_with_namespace),
        "web_url": st.project_url(p.id),
        "readme_url": null,
        "avatar_url": null,
        "forks_count": st.projects.values().filter(|q| q.forked_from_id == Some(p.id)).count(),
        "star_count": 0,
        "last_activity_at": p.last_activity_at.to_iso8601(),
        "namespace": namespace(st, p.namespace_id),
    })
}

/// Full `Project` entity as seen by `viewer`.
pub(crate) fn project(st: &State, id: Id, viewer: Option<Id>) -> Value {
    let Some(p) = st.projects.get(&id) else {
        return Value::Null;
    };
    let mut v = project_min(st, p);
    let empty = st.git.heads(id).is_empty();
    let project_access = viewer
        .and_then(|u| p.members.get(&u))
        .map(|l| json!({"access_level": l.value(), "notification_level": 3}))
        .unwrap_or(Value::Null);
    let group_access = viewer
        .and_then(|u| st.namespace_access(u, p.namespace_id))
        .map(|l| json!({"access_level": l.value(), "notification_level": 3}))
        .unwrap_or(Value::Null);
    let extra = json!({
        "_links": {
            "self": format!("{}/api/v4/projects/{}", st.base_url, id),
            "merge_requests": format!("{}/api/v4/projects/{}/merge_requests", st.base_url, id),
            "repo_branches": format!("{}/api/v4/projects/{}/repository/branches", st.base_url, id),
        },
        "empty_repo": empty,
        "archived": false,
        "visibility": p.visibility.as_str(),
        "owner": null,
        "resolve_outdated_diff_discussions": false,
        "container_registry_enabled": false,
        "issues_enabled": true,
        "merge_requests_enabled": true,
        "wiki_enabled": false,
        "jobs_enabled": true,
        "snippets_enabled": false,
        "can_create_merge_request_in": viewer.is_some_and(|u| st.can_read(Some(u), id)),
        "issues_access_level": "enabled",
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "builds_access_level": "enabled",
        "shared_runners_enabled": true,
        "lfs_enabled": false,
        "creator_id": p.creator_id,
        "import_url": null,
        "import_type": if p.forked_from_id.is_some() { json!("gitlab_project") } else { Value::Null },
        "import_status": p.import_status.as_str(),
        "import_error": null,
        "open_issues_count": 0,
        "ci_default_git_depth": 20,
        "ci_config_path": null,
        "ci_allow_fork_pipelines_to_run_in_parent_project": p.allow_fork_pipelines_in_parent,
        "public_jobs": true,
        "build_timeout": 3600,
        "auto_cancel_pending_pipelines": "enabled",
        "shared_with_groups": [],
        "only_allow_merge_if_pipeline_succeeds": false,
        "allow_merge_on_skipped_pipeline": null,
        "request_access_enabled": false,
        "only_allow_merge_if_all_discussions_are_resolved": false,
        "remove_source_branch_after_merge": true,
        "printing_merge_request_link_enabled": true,
        "merge_method": "merge",
        "squash_option": "default_off",
        "mr_default_target_self": false,
        "forked_from_project": p.forked_from_id
            .and_then(|f| st.projects.get(&f))
            .map(|f| project_min(st, f))
            .unwrap_or(Value::Null),
        "permissions": {"project_access": project_access, "group_access": group_access},
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
        if p.forked_from_id.is_none() {
            m.remove("forked_from_project");
        }
    }
    v
}

/// Commit entity (branches, jobs).
pub(crate) fn commit(st: &State, project: Id, c: &CommitInfo) -> Value {
    json!({
        "id": c.id,
        "short_id": &c.id[..8.min(c.id.len())],
        "created_at": c.committed_date,
        "parent_ids": c.parent_ids,
        "title": c.title(),
        "message": c.message,
        "author_name": c.author_name,
        "author_email": c.author_email,
        "authored_date": c.authored_date,
        "committer_name": c.committer_name,
        "committer_email": c.committer_email,
        "committed_date": c.committed_date,
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("{}/-/commit/{}", st.project_url(project), c.id),
    })
}

pub(crate) fn branch(st: &State, project: Id, name: &str, sha: &str, viewer: Option<Id>) -> Value {
    let p = st.projects.get(&project);
    let default = p.and_then(|p| p.default_branch.as_deref()) == Some(name);
    let merged = !default
        && p.and_then(|p| p.default_branch.as_deref())
            .and_then(|d| st.git.heads(project).remove(d))
            .is_some_and(|d| st.git.is_ancestor(project, sha, &d));
    let level = if default {
        AccessLevel::Maintainer
    } else {
        AccessLevel::Developer
    };
    json!({
        "name": name,
        "commit": st.git.commit_info(project, sha).map(|c| commit(st, project, &c)).unwrap_or(Value::Null),
        "merged": merged,
        "protected": default,
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": viewer.is_some_and(|u| st.can(u, project, level)),
        "default": default,
        "web_url": format!("{}/-/tree/{}", st.project_url(project), name),
    })
}

/// `Note` entity.
pub(crate) fn note(st: &State, n: &Note) -> Value {
    json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "attachment": null,
        "author": user(st, n.author_id),
        "created_at": n.created_at.to_iso8601(),
        "updated_at": n.updated_at.to_iso8601(),
        "system": n.system,
        "noteable_id": n.mr_id,
        "noteable_type": "MergeRequest",
        "project_id": n.project_id,
        "noteable_iid": n.mr_iid,
        "resolvable": false,
        "confidential": n.internal,
        "internal": n.internal,
        "imported": false,
        "imported_from": "none",
        "commands_changes": {},
    })
}

/// `MergeRequestBasic` (list items) or full `MergeRequest` (`full = true`).
pub(crate) fn merge_request(st: &State, m: &MergeRequest, full: bool, viewer: Option<Id>) -> Value {
    let target_path = st.project_path(m.project_id);
    let notes = st
        .notes
        .values()
        .filter(|n| n.mr_id == m.id && !n.system)
        .count();
    let closed_by = m.closed_by_id.map(|u| user(st, u)).unwrap_or(Value::Null);
    let detailed = if m.state != MrState::Opened {
        "not_open"
    } else if m.draft {
        "draft_status"
    } else {
        "mergeable"
    };
    let mut v = json!({
        "id": m.id,
        "iid": m.iid,
        "project_id": m.project_id,
        "title": m.title,
        "description": m.description,
        "state": m.state.as_str(),
        "created_at": m.created_at.to_iso8601(),
        "updated_at": m.updated_at.to_iso8601(),
        "merged_by": null,
        "merge_user": null,
        "merged_at": null,
        "merge_after": null,
        "prepared_at": m.created_at.to_iso8601(),
        "closed_by": closed_by,
        "closed_at": ts(m.closed_at),
        "target_branch": m.target_branch,
        "source_branch": m.source_branch,
        "user_notes_count": notes,
        "upvotes": 0,
        "downvotes": 0,
        "author": user(st, m.author_id),
        "assignees": [],
        "assignee": null,
        "reviewers": [],
        "source_project_id": m.source_project_id,
        "target_project_id": m.project_id,
        "labels": m.labels,
        "draft": m.draft,
        "imported": false,
        "imported_from": "none",
        "work_in_progress": m.draft,
        "milestone": null,
        "merge_when_pipeline_succeeds": false,
        "merge_status": "can_be_merged",
        "detailed_merge_status": detailed,
        "sha": m.sha,
        "merge_commit_sha": null,
        "squash_commit_sha": null,
        "discussion_locked": null,
        "should_remove_source_branch": m.remove_source_branch,
        "force_remove_source_branch": m.remove_source_branch.unwrap_or(false),
        "allow_collaboration": m.allow_collaboration,
        "allow_maintainer_to_push": m.allow_collaboration,
        "reference": format!("!{}", m.iid),
        "references": {
            "short": format!("!{}", m.iid),
            "relative": format!("!{}", m.iid),
            "full": format!("{target_path}!{}", m.iid),
        },
        "web_url": st.mr_url(m),
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
        "squash": m.squash,
        "squash_on_merge": m.squash,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": false,
        "blocking_discussions_resolved": true,
    });
    if full && let Value::Object(map) = &mut v {
        {
            let head = mrs::head_pipeline(st, m)
                .and_then(|id| st.pipelines.get(&id))
                .map(|p| {
                    let mut pv = pipeline(st, p);
                    if let Value::Object(pm) = &mut pv {
                        pm.remove("archived");
                    }
                    pv
                });
            let head_basic = mrs::head_pipeline(st, m)
                .and_then(|id| st.pipelines.get(&id))
                .map(|p| pipeline_basic(st, p));
            let started = head.as_ref().and_then(|h| h.get("started_at").cloned());
            let finished = head.as_ref().and_then(|h| h.get("finished_at").cloned());
            let extra = json!({
                "subscribed": false,
                "changes_count": m.changes_count.to_string(),
                "latest_build_started_at": started.unwrap_or(Value::Null),
                "latest_build_finished_at": finished.unwrap_or(Value::Null),
                "first_deployed_to_production_at": null,
                "pipeline": head_basic.unwrap_or(Value::Null),
                "head_pipeline": head.unwrap_or(Value::Null),
                "diff_refs": {
                    "base_sha": m.base_sha,
                    "head_sha": m.sha,
                    "start_sha": m.start_sha,
                },
                "merge_error": null,
                "first_contribution": false,
                "user": {"can_merge": viewer.is_some_and(|u| st.can(u, m.project_id, AccessLevel::Developer))},
            });
            if let Value::Object(e) = extra {
                map.extend(e);
            }
        }
    }
    v
}
