//! `srcgit status`: whether source-git and dist-git are in sync (`packit source-git status`).

use super::{init_git_offline, report};
use crate::cli::StatusArgs;
use crate::repo::git::Repo;
use crate::repo::sync_status;
use crate::repo::update_dist_git::UpdateError;

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
