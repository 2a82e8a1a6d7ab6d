//! `srcgit history <path!iid | MR URL>` and `srcgit pairs [--state …]`: what the database
//! remembers, as tables (read only; nothing is asked of GitLab).

use std::path::Path;

use super::{EXIT_USER_ERROR, Stdout, open_store, operator_settings};
use crate::bridge::Output;
use crate::cli::{HistoryArgs, PairFilter, PairsArgs};
use crate::ids::{MrIid, ProjectPath};

/// `group/project!7` or `https://host/group/project/-/merge_requests/7[/…]`.
pub fn parse_mr(text: &str) -> Option<(ProjectPath, MrIid)> {
    let text = text.trim();
    if let Some((_, rest)) = text.split_once("://") {
        let (_, path) = rest.split_once('/')?;
        let (project, tail) = path.split_once("/-/merge_requests/")?;
        let iid = tail.split(['/', '#', '?']).next()?.parse().ok()?;
        return Some((
            ProjectPath(project.trim_matches('/').to_string()),
            MrIid(iid),
        ));
    }
    let (project, iid) = text.rsplit_once('!')?;
    (!project.is_empty()).then_some(())?;
    Some((ProjectPath(project.to_string()), MrIid(iid.parse().ok()?)))
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS` (UTC).
fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// `srcgit history`.
pub fn history(args: &HistoryArgs, config: Option<&Path>) -> u8 {
    let Some((project, iid)) = parse_mr(&args.merge_request) else {
        eprintln!(
            "error: {:?} is not a merge request; give group/project!IID or its web URL",
            args.merge_request
        );
        return EXIT_USER_ERROR;
    };
    let Ok(settings) = operator_settings(config) else {
        return EXIT_USER_ERROR;
    };
    let out = Stdout::masking(&settings);
    let Ok(store) = open_store(&settings, &out) else {
        return 1;
    };
    let (runs, actions) = match (
        store.runs_for(&project, iid),
        store.actions_for(&project, iid),
    ) {
        (Ok(r), Ok(a)) => (r, a),
        (Err(e), _) | (_, Err(e)) => {
            out.error(&crate::error_chain(&e));
            return 1;
        }
    };
    let mut rows: Vec<(i64, String)> = Vec::new();
    for run in &runs {
        let rpms = match (&run.dist_git_project_path, run.dist_git_mr_iid) {
            (Some(p), Some(i)) => format!("{p}!{i}"),
            _ => "-".to_string(),
        };
        let pipelines = run
            .rpms_pipeline_ids
            .iter()
            .map(|p| format!("#{p}"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = format!(
            "sync   job {} (pipeline #{}) {} → {rpms} {}: {}",
            run.job_id,
            run.pipeline_id,
            run.source_sha.short(),
            if pipelines.is_empty() {
                "-".to_string()
            } else {
                pipelines
            },
            run.outcome
        );
        if !run.detail.is_empty() {
            text.push_str(&format!(" ({})", run.detail));
        }
        rows.push((run.started_at, text));
    }
    for action in &actions {
        rows.push((
            action.at,
            format!(
                "sweep  {}!{}: {} [{}]",
                action.dist_git_project_path, action.dist_git_mr_iid, action.action, action.outcome
            ),
        ));
    }
    if rows.is_empty() {
        out.line(&format!(
            "no history for {project}!{iid} in {}",
            settings.database.display()
        ));
        return 0;
    }
    rows.sort_by_key(|(at, _)| *at);
    out.line(&format!("{project}!{iid}"));
    out.line(&format!("{:<19}  {}", "when (UTC)", "what"));
    for (at, text) in rows {
        out.line(&format!("{:<19}  {text}", when(at)));
    }
    0
}

/// `srcgit pairs`.
pub fn pairs(args: &PairsArgs, config: Option<&Path>) -> u8 {
    let Ok(settings) = operator_settings(config) else {
        return EXIT_USER_ERROR;
    };
    let out = Stdout::masking(&settings);
    let Ok(store) = open_store(&settings, &out) else {
        return 1;
    };
    let pairs = match store.pairs(None) {
        Ok(p) => p,
        Err(e) => {
            out.error(&crate::error_chain(&e));
            return 1;
        }
    };
    let rows: Vec<[String; 4]> = pairs
        .into_iter()
        .filter(|p| match args.state {
            PairFilter::Open => p.state == "open",
            PairFilter::Closed => p.state != "open",
            PairFilter::All => true,
        })
        .map(|p| {
            let last = store
                .last_run_for(&p.source_project_path, p.source_mr_iid)
                .ok()
                .flatten()
                .map_or_else(
                    || "-".to_string(),
                    |r| format!("{} ({})", r.outcome, when(r.started_at)),
                );
            let state = match &p.closed_reason {
                Some(reason) => format!("{} ({reason})", p.state),
                None => p.state.clone(),
            };
            [
                format!("{}!{}", p.source_project_path, p.source_mr_iid),
                format!("{}!{}", p.dist_git_project_path, p.dist_git_mr_iid),
                state,
                last,
            ]
        })
        .collect();
    let header = ["source-git MR", "dist-git MR", "state", "last sync"].map(str::to_string);
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    out.line(&line(&header));
    for row in &rows {
        out.line(&line(row));
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_requests_by_reference_or_url() {
        let want = Some((
            ProjectPath("redhat/centos-stream/src/hello".into()),
            MrIid(4),
        ));
        assert_eq!(parse_mr("redhat/centos-stream/src/hello!4"), want);
        assert_eq!(
            parse_mr("https://gitlab.com/redhat/centos-stream/src/hello/-/merge_requests/4"),
            want
        );
        assert_eq!(
            parse_mr(
                "https://gitlab.com/redhat/centos-stream/src/hello/-/merge_requests/4/pipelines"
            ),
            want
        );
        assert_eq!(parse_mr("hello"), None);
        assert_eq!(parse_mr("!4"), None);
        assert_eq!(parse_mr("a/b!x"), None);
    }
}
