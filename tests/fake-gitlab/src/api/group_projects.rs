//! `GET /groups/:id/projects`: the projects of a group (and of its subgroups with
//! `include_subgroups=true`; GitLab's default is `false`), the ones the caller can see,
//! ordered by `order_by` (`id`, `name`, `path`, `created_at` — the default —, `updated_at`,
//! `last_activity_at`) and `sort` (default `desc`), ties broken by id in the same direction
//! as GitLab's `order_id_desc`/`order_id_asc`; offset-paginated.
//!
//! Simplifications: no `search`, `archived`, `visibility`, `with_shared` (shared projects
//! are never listed: the fake has no group sharing) or keyset pagination; `updated_at` is
//! `last_activity_at` (the fake keeps no separate update time).

use std::cmp::Ordering;

use axum::extract::{Path, State as AxState};

use super::{ApiError, ApiReq, ApiResult, auth_optional, paged_json, render, with_state};
use crate::model::{NamespaceKind, Project};
use crate::server::AppState;

pub(crate) async fn list(
    AxState(app): AxState<AppState>,
    Path(id): Path<String>,
    req: ApiReq,
) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth_optional(st, &req)?;
        let group = match id.parse::<u64>() {
            Ok(n) => st.namespaces.get(&n),
            Err(_) => st.find_namespace_by_path(&id),
        }
        .filter(|ns| ns.kind == NamespaceKind::Group)
        .ok_or_else(|| ApiError::not_found("Group"))?;
        let group_id = group.id;
        let descendants = req.params.boolean("include_subgroups")?.unwrap_or(false);
        let order_by = req
            .params
            .one_of(
                "order_by",
                &[
                    "id",
                    "name",
                    "path",
                    "created_at",
                    "updated_at",
                    "last_activity_at",
                ],
            )?
            .unwrap_or_else(|| "created_at".into());
        let desc = req
            .params
            .one_of("sort", &["asc", "desc"])?
            .is_none_or(|s| s == "desc");
        let mut projects: Vec<Project> = st
            .projects
            .values()
            .filter(|p| {
                p.namespace_id == group_id
                    || (descendants
                        && st
                            .namespace_chain(Some(p.namespace_id))
                            .iter()
                            .any(|n| n.id == group_id))
            })
            .filter(|p| st.can_read(user, p.id))
            .cloned()
            .collect();
        let key = |a: &Project, b: &Project| -> Ordering {
            let primary = match order_by.as_str() {
                "id" => Ordering::Equal,
                "name" => a.name.cmp(&b.name),
                "path" => a.path.cmp(&b.path),
                "created_at" => a.created_at.cmp(&b.created_at),
                _ => a.last_activity_at.cmp(&b.last_activity_at),
            };
            primary.then(a.id.cmp(&b.id))
        };
        projects.sort_by(|a, b| if desc { key(b, a) } else { key(a, b) });
        paged_json(st, &req, projects, |p| render::project(st, p.id, user))
    })
    .await
}
