//! The local CLI commands `srcgit convert` and `srcgit status`: argument handling,
//! what the user sees, and packit's exit codes (0 success, 2 an error the user can fix,
//! 4 an internal error).

use std::io::Read;

use crate::cli::{ConvertArgs, StatusArgs};
use crate::repo::git::{GitCli, GitEnv, Repo};
use crate::repo::sync_status;
use crate::repo::update_dist_git::{self, UpdateError, UpdateOptions, UpdateOutcome};

/// Exit code for errors the user can act on (packit's `PackitException`).
pub const EXIT_USER_ERROR: u8 = 2;
/// Exit code for everything else (packit's "unexpected exception").
pub const EXIT_INTERNAL_ERROR: u8 = 4;

/// Initialises libgit2 for a run that never uses the network.
///
/// libgit2 (linked with OpenSSL for the executor's HTTPS fetches) parses the whole system
/// CA bundle when it initialises — about 20 ms, most of a small conversion. The local
/// commands never open a TLS connection, so libgit2 is pointed at an empty bundle while it
/// initialises, and the environment is restored before anything else runs (git children
/// see the user's environment untouched).
fn init_git_offline() {
    const VAR: &str = "SSL_CERT_FILE";
    let previous = std::env::var_os(VAR);
    // SAFETY: called at the start of a local command, before srcgit starts any thread.
    unsafe { std::env::set_var(VAR, "/dev/null") };
    // any git2 call runs libgit2's one-time initialisation
    let _ = git2::Config::new();
    match previous {
        // SAFETY: as above, still single-threaded.
        Some(value) => unsafe { std::env::set_var(VAR, value) },
        None => unsafe { std::env::remove_var(VAR) },
    }
}

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

/// Prints an error with its causes on one line, ripgrep-style, and picks the exit code.
fn report(err: &UpdateError) -> u8 {
    eprintln!("error: {}", error_chain(err));
    if err.is_user_error() {
        EXIT_USER_ERROR
    } else {
        EXIT_INTERNAL_ERROR
    }
}

/// `err: cause: cause`, skipping causes whose text the parent already shows.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `srcgit status`.
pub fn status(args: &StatusArgs) -> u8 {
    init_git_offline();
    let result = (|| -> Result<String, UpdateError> {
        let sg = Repo::open(&args.source_git)?;
        let dg = Repo::open(&args.dist_git)?;
        let (sg_head, dg_head) = (sg.head()?, dg.head()?);
        let status = sync_status::sync_status(&sg, sg_head, &dg, dg_head)?;
        let counts = sync_status::Counts {
            source_git: match status.source_git_start {
                Some(start) => sync_status::commits_from(&sg, start, sg_head)?,
                None => 0,
            },
            dist_git: match status.dist_git_start {
                Some(start) => sync_status::commits_from(&dg, start, dg_head)?,
                None => 0,
            },
        };
        Ok(sync_status::describe(
            &status,
            counts,
            &args.source_git.display().to_string(),
            &args.dist_git.display().to_string(),
        ))
    })();
    match result {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(err) => report(&err),
    }
}
