//! Merge request lists across projects: `GET /merge_requests` (the user's own, by scope)
//! and `GET /groups/:id/merge_requests` (every project of a group and its subgroups), with
//! GitLab's `state`, `scope`, `updated_after` and ordering rules.

use axum::extract::{Path, State as AxState};

use super::{
    ApiError, ApiReq, ApiResult, Params, auth, auth_optional, paged_json, render, with_state,
};
use crate::clock::Timestamp;
use crate::model::{Id, MergeRequest};
use crate::server::AppState;
use crate::state::State;

/// Parses GitLab's ISO 8601 date-time (`2026-12-07T10:00:00Z`, `…00.123Z`, `…+01:00`) or a
/// plain date, as Grape's `DateTime` coercion accepts them.
fn parse_datetime(text: &str) -> Option<Timestamp> {
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00:00Z"));
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (clock, offset_min) = match time.find(['Z', '+', '-']) {
        Some(i) if &time[i..i + 1] == "Z" => (&time[..i], 0),
        Some(i) => {
            let sign = if &time[i..i + 1] == "-" { -1 } else { 1 };
            let (h, mi) = time[i + 1..]
                .split_once(':')
                .unwrap_or((&time[i + 1..], "0"));
            (
                &time[..i],
                sign * (h.parse::<i64>().ok()? * 60 + mi.parse::<i64>().ok()?),
            )
        }
        None => (time, 0),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (h, mi, s) = (
        t.next()?.ok()?,
        t.next()?.ok()?,
        t.next().unwrap_or(Ok(0)).ok()?,
    );
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    let days = days_from_civil(y, m, day);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
    Some(Timestamp::from_millis(secs * 1000 + ms))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The filters and order every MR list shares.
fn filter_and_sort(
    st: &State,
    p: &Params,
    mut mrs: Vec<MergeRequest>,
) -> Result<Vec<MergeRequest>, ApiError> {
    let state = p.one_of("state", &["opened", "closed", "locked", "merged", "all"])?;
    let order_by = p
        .one_of(
            "order_by",
            &["created_at", "updated_at", "title", "merged_at"],
        )?
        .unwrap_or_else(|| "created_at".into());
    let sort = p
        .one_of("sort", &["asc", "desc"])?
        .unwrap_or_else(|| "desc".into());
    let bound = |key: &str| -> Result<Option<Timestamp>, ApiError> {
        p.get(key)
            .map(|v| parse_datetime(v).ok_or_else(|| ApiError::grape(format!("{key} is invalid"))))
            .transpose()
    };
    let (updated_after, updated_before) = (bound("updated_after")?, bound("updated_before")?);
    mrs.retain(|m| match state.as_deref() {
        None | Some("all") => true,
        Some(s) => m.state.as_str() == s,
    });
    mrs.retain(|m| updated_after.is_none_or(|t| m.updated_at.millis() >= t.millis()));
    mrs.retain(|m| updated_before.is_none_or(|t| m.updated_at.millis() <= t.millis()));
    mrs.sort_by_key(|m| match order_by.as_str() {
        "updated_at" => (m.updated_at.millis(), m.id),
        "title" => (0, m.id),
        _ => (m.created_at.millis(), m.id),
    });
    if order_by == "title" {
        mrs.sort_by_key(|m| m.title.to_lowercase());
    }
    if sort == "desc" {
        mrs.reverse();
    }
    let _ = st;
    Ok(mrs)
}

/// `GET /merge_requests`: by default (`scope=created_by_me`) the MRs the user opened;
/// `assigned_to_me`; `all` (every MR the user can read).
pub(crate) async fn list_mine(AxState(app): AxState<AppState>, req: ApiReq) -> ApiResult {
    with_state(&app, move |st| {
        let user = auth(st, &req)?;
        let scope = req
            .params
            .one_of("scope", &["created_by_me", "assigned_to_me", "all"])?
            .unwrap_or_else(|| "created_by_me".into());
        let mrs: Vec<MergeRequest> = st
            .mrs
            .values()
            .filter(|m| st.can_read(Some(user), m.project_id))
            .filter(|m| match scope.as_str() {
                "created_by_me" => m.author_id == user,
                "assigned_to_me" => false,
                _ => true,
            })
            .cloned()
            .collect();
        let mrs = filter_and_sort(st, &req.params, mrs)?;
        paged_json(st, &req, mrs, |m| {
            render::merge_request(st, m, false, Some(user))
        })
    })
    .await
}

/// `GET /groups/:id/merge_requests`: MRs of the group's projects (and its subgroups' with
/// `include_subgroups=true`, GitLab's default here being all descendants as well).
pub(crate) async fn list_group(
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
        .filter(|ns| ns.kind == crate::model::NamespaceKind::Group)
        .ok_or_else(|| ApiError::not_found("Group"))?;
        let group_id = group.id;
        let descendants = req.params.boolean("include_subgroups")?.unwrap_or(true);
        let in_group = |pid: Id| {
            st.projects.get(&pid).is_some_and(|p| {
                p.namespace_id == group_id
                    || (descendants
                        && st
                            .namespace_chain(Some(p.namespace_id))
                            .iter()
                            .any(|n| n.id == group_id))
            })
        };
        let mrs: Vec<MergeRequest> = st
            .mrs
            .values()
            .filter(|m| in_group(m.project_id) && st.can_read(user, m.project_id))
            .cloned()
            .collect();
        let mrs = filter_and_sort(st, &req.params, mrs)?;
        paged_json(st, &req, mrs, |m| render::merge_request(st, m, false, user))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn gitlab_date_times_parse() {
        let z = parse_datetime("2026-12-07T10:00:00Z").unwrap();
        assert_eq!(z.to_iso8601(), "2026-12-07T10:00:00.000Z");
        assert_eq!(
            parse_datetime("2026-12-07T11:00:00.250+01:00")
                .unwrap()
                .to_iso8601(),
            "2026-12-07T10:00:00.250Z"
        );
        assert_eq!(
            parse_datetime("2026-12-07").unwrap().to_iso8601(),
            "2026-12-07T00:00:00.000Z"
        );
        assert!(parse_datetime("yesterday").is_none());
    }
}
