//! `srcgit convert`: source-git → dist-git (`packit source-git update-dist-git`).

use std::io::Read;

use super::{EXIT_USER_ERROR, init_git_offline, report};
use crate::cli::ConvertArgs;
use crate::repo::git::{GitCli, GitEnv};
use crate::repo::update_dist_git::{self, UpdateOptions, UpdateOutcome};

fn read_message(args: &ConvertArgs) -> Result<Option<String>, String> {
    let Some(path) = &args.file else {
        return Ok(args.message.clone());
    };
    let mut text = String::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    result.map_err(|e| {
        format!(
            "cannot read the commit message from {}: {e}",
            path.display()
        )
    })?;
    Ok(Some(text))
}

/// `srcgit convert`.
pub fn convert(args: &ConvertArgs) -> u8 {
    init_git_offline();
    let message = match read_message(args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USER_ERROR;
        }
    };
    let opts = UpdateOptions {
        source_git: args.source_git.clone(),
        dist_git: args.dist_git.clone(),
        upstream_ref: args.upstream_ref.clone(),
        message,
        force: args.force,
        git: GitCli::new(GitEnv::Inherit),
        identity: None,
        display_paths: Some((
            args.source_git.display().to_string(),
            args.dist_git.display().to_string(),
        )),
    };
    match update_dist_git::update_dist_git(&opts) {
        Ok(UpdateOutcome::UpToDate(text)) => {
            eprintln!("{text}");
            0
        }
        Ok(UpdateOutcome::Updated(summary)) => {
            print_summary(&args.dist_git.display().to_string(), &summary);
            0
        }
        Err(err) => report(&err),
    }
}

fn print_summary(dist_git: &str, s: &update_dist_git::UpdateSummary) {
    println!(
        "Updated {dist_git}: {} file(s) synced from .distro/, {} removed; {} patch file(s) written, \
         {} kept unchanged; {} Patch tag(s) added.",
        s.files_synced,
        s.files_removed,
        s.patches_new.len(),
        s.patches_unchanged.len(),
        s.tags_added.len()
    );
    for name in &s.patches_new {
        println!("  new      {name}");
    }
    for name in &s.patches_unchanged {
        println!("  kept     {name}");
    }
    if !s.tags_added.is_empty() {
        println!("  tags     {}", s.tags_added.join(", "));
    }
    if let Some(oid) = s.commit {
        println!("Committed {oid}.");
    }
}
