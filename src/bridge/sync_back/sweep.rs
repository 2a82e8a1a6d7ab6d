//! The sweep's half of the way back (run by `srcgit reconcile`): find the dist-git
//! projects that changed since the previous sweep, cheaply, and sync their served branches.
//!
//! GitLab lists a namespace's projects by `last_activity_at`, newest first; a push moves
//! it, but at most once an hour per project (`Event::RESET_PROJECT_ACTIVITY_INTERVAL`), so
//! a second push within the hour leaves it behind the push. The sweep therefore reads
//! the list only down to the newest `last_activity_at` of the previous complete sweep
//! minus one hour (everything on the first sweep), and compares each served branch head
//! of those projects with the one last handled (the store). Its cost is O(projects active
//! in the last hour or so), not O(projects).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat};

use super::{SyncEnv, Synced, sync_branch};
use crate::bridge::BridgeError;
use crate::forge::Forge;

/// GitLab moves `last_activity_at` at most this often.
pub const ACTIVITY_INTERVAL: Duration = Duration::from_secs(3600);

/// What the sweep's way back did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncBackReport {
    /// Projects examined (active since the previous sweep minus the interval).
    pub projects: usize,
    /// Branches whose head had moved since it was last handled.
    pub branches: usize,
    /// "Sync from dist-git" MRs opened or changed (or, in a dry run, branches to sync).
    pub actions: usize,
    /// What could not be handled, each with the reason.
    pub failures: Vec<String>,
}

fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

/// Where to stop reading the project list: the previous watermark minus the interval.
pub fn list_since(watermark: Option<&str>) -> Option<String> {
    let mark = parse(watermark?)?;
    let since = mark - chrono::Duration::from_std(ACTIVITY_INTERVAL).ok()?;
    Some(
        since
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// The newer of two GitLab times (unparseable ones ignored).
fn newer(current: Option<String>, seen: &str) -> Option<String> {
    match (current.as_deref().and_then(parse), parse(seen)) {
        (Some(a), Some(b)) if b > a => Some(seen.to_string()),
        (None, Some(_)) => Some(seen.to_string()),
        _ => current,
    }
}

/// One pass over every mapping's dist-git namespace.
pub async fn sweep<F: Forge>(
    env: &SyncEnv<'_, F>,
    dry_run: bool,
) -> Result<SyncBackReport, BridgeError> {
    let mut report = SyncBackReport::default();
    for mapping in &env.settings.mappings {
        let key = format!("{}->{}", mapping.dist_git, mapping.source_git);
        let watermark = env.store.sync_back_watermark(&key)?;
        let since = list_since(watermark.as_deref());
        let projects = env
            .forge
            .group_projects_active_since(&mapping.dist_git, since.as_deref())
            .await?;
        let mut newest = watermark.clone();
        let mut complete = true;
        for active in projects {
            let project = &active.project;
            if project.path.0.rsplit_once('/').map(|(ns, _)| ns) != Some(mapping.dist_git.as_str())
            {
                continue;
            }
            newest = newer(newest, &active.last_activity_at);
            report.projects += 1;
            let branches = match env.forge.branches(project.id).await {
                Ok(b) => b,
                Err(e) => {
                    complete = false;
                    fail(env, &mut report, &project.path.0, &e.into());
                    continue;
                }
            };
            for branch in branches
                .iter()
                .filter(|b| mapping.branches.is_match(&b.name))
            {
                let label = format!("{}@{}", project.path, branch.name);
                if dry_run {
                    let stored = env.store.sync_back(project.id, &branch.name)?;
                    if stored.is_none_or(|row| row.dist_git_head != branch.head) {
                        report.branches += 1;
                        report.actions += 1;
                        env.out.line(&format!(
                            "{label}: would sync dist-git head {} back to source-git",
                            branch.head.short()
                        ));
                    }
                    continue;
                }
                match sync_branch(env, mapping, project, &branch.name, &branch.head).await {
                    Ok(Synced::Unchanged) => {}
                    Ok(Synced::Nothing(_)) => report.branches += 1,
                    Ok(Synced::Mr { wrote, .. }) => {
                        report.branches += 1;
                        report.actions += usize::from(wrote);
                    }
                    Err(e) => {
                        report.branches += 1;
                        // a build failure is recorded with its head and waits for a person;
                        // anything else is looked at again by the next sweep
                        complete &= e.is_build_failure();
                        fail(env, &mut report, &label, &e);
                    }
                }
            }
        }
        if !dry_run
            && complete
            && let Some(mark) = &newest
        {
            env.store.set_sync_back_watermark(&key, mark)?;
        }
    }
    env.out.line(&format!(
        "sync from dist-git: {} project(s) active, {} branch(es) moved, {} action(s){}, {} failure(s)",
        report.projects,
        report.branches,
        report.actions,
        if dry_run { " (dry run: nothing written)" } else { "" },
        report.failures.len()
    ));
    Ok(report)
}

fn fail<F: Forge>(env: &SyncEnv<'_, F>, report: &mut SyncBackReport, label: &str, e: &BridgeError) {
    let line = format!("{label}: {}", crate::error_chain(e));
    env.out.line(&line);
    report.failures.push(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_read_down_to_an_hour_before_the_watermark() {
        assert_eq!(list_since(None), None);
        assert_eq!(
            list_since(Some("2026-12-07T10:30:00.250+01:00")).as_deref(),
            Some("2026-12-07T08:30:00.250Z")
        );
        assert_eq!(list_since(Some("yesterday")), None);
    }

    #[test]
    fn the_watermark_only_moves_forward() {
        let mark = newer(None, "2026-12-07T09:00:00Z");
        assert_eq!(mark.as_deref(), Some("2026-12-07T09:00:00Z"));
        let mark = newer(mark, "2026-12-07T08:00:00Z");
        assert_eq!(mark.as_deref(), Some("2026-12-07T09:00:00Z"));
        let mark = newer(mark, "2026-12-07T10:00:00+01:00");
        assert_eq!(
            mark.as_deref(),
            Some("2026-12-07T09:00:00Z"),
            "equal instant"
        );
        assert_eq!(
            newer(mark, "garbage").as_deref(),
            Some("2026-12-07T09:00:00Z")
        );
    }
}
