//! `srcgit update-source-git`: dist-git commits → source-git (`packit source-git
//! update-source-git`). packit's log messages go to stderr, a summary to stdout.

use super::{init_git_offline, report_error};
use crate::cli::UpdateSourceGitArgs;
use crate::repo::git::{GitCli, GitEnv};
use crate::repo::update_source_git::{
    self, CommitReport, CommitResult, UsgError, UsgOptions, UsgOutcome, UsgSummary,
};

/// `srcgit update-source-git`.
pub fn update_source_git(args: &UpdateSourceGitArgs) -> u8 {
    init_git_offline();
    let opts = UsgOptions {
        dist_git: args.dist_git.clone(),
        source_git: args.source_git.clone(),
        range: args.revision_range.clone(),
        force: args.force,
        git: GitCli::new(GitEnv::Inherit),
        committer: None,
        display_paths: Some((
            args.source_git.display().to_string(),
            args.dist_git.display().to_string(),
        )),
    };
    match update_source_git::update_source_git(&opts) {
        Ok(UsgOutcome::UpToDate(text)) => {
            eprintln!("{text}");
            0
        }
        Ok(UsgOutcome::Synced(summary)) => {
            print_summary(&args.source_git.display().to_string(), &summary);
            0
        }
        Err(err) => {
            if let UsgError::ApplyFailed { synced, .. }
            | UsgError::RenameSourceMissing { synced, .. } = &err
            {
                for report in synced {
                    log_commit(report);
                }
            }
            report_error(&err, err.is_user_error())
        }
    }
}

/// packit's log lines for one commit, on stderr.
fn log_commit(report: &CommitReport) {
    if report.gitignore_skipped {
        eprintln!(
            "Commit {} contains an inapplicable .gitignore change, skipping this part of the commit.",
            report.dist_git
        );
    }
    if let CommitResult::NoChanges { .. } = report.result {
        eprintln!(
            "Commit {} had no changes to be applied, skipping it.",
            report.dist_git
        );
    }
}

fn print_summary(source_git: &str, summary: &UsgSummary) {
    if let Some(release) = &summary.release_differs {
        eprintln!(
            "Release differs between dist-git and source-git ({} in dist-git and {} in \
             source-git). Trying to continue with the update.",
            release.dist_git, release.source_git
        );
    }
    for report in &summary.commits {
        log_commit(report);
    }
    let synced = summary
        .commits
        .iter()
        .filter(|c| matches!(c.result, CommitResult::Synced(_)))
        .count();
    println!(
        "Updated {source_git} from dist-git {}: {synced} commit(s) synced, {} skipped.",
        summary.range,
        summary.commits.len() - synced
    );
    for report in &summary.commits {
        let short = &report.dist_git.to_string()[..8];
        match report.result {
            CommitResult::Synced(oid) => {
                println!(
                    "  synced   {short} → {}  {}",
                    &oid.to_string()[..8],
                    report.title
                )
            }
            CommitResult::NoChanges { merge: true } => {
                println!("  merge    {short}             {}", report.title)
            }
            CommitResult::NoChanges { merge: false } => {
                println!("  no-op    {short}             {}", report.title)
            }
        }
    }
}
