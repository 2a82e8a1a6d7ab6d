//! Conversion I/O on local repositories: reading and writing the source-git and dist-git
//! work trees and their histories around the pure rules of [`crate::convert`].
//!
//! May import `convert`, `ids`, git2 and the file system; knows nothing of GitLab, the
//! executor, the bridge or the database (`forge`, `executor`, `bridge`, `store` are never
//! imported here).
//!
//! - [`boundary`]: the one file-system boundary of both work trees (no link followed,
//!   regular files only, capped reads);
//! - [`transaction`]: staged writes into dist-git, moved into place, rolled back on failure;
//! - [`cache`]: the runner host's shared object cache and the job repositories that
//!   borrow from it (the executor's fetches);
//! - [`git`]: the git boundary (git2 in-process; `git format-patch`/`patch-id` as processes);
//! - [`sync_fs`]: the file-system side of `files_to_sync` (list trees, apply planned ops);
//! - [`sync_status`]: packit's sync status between the two repositories;
//! - [`update_dist_git`]: `srcgit convert`, source-git → dist-git;
//! - [`update_source_git`]: `srcgit update-source-git`, dist-git commits → source-git.

pub mod boundary;
pub mod cache;
pub mod git;
pub mod sync_fs;
pub mod sync_status;
pub mod transaction;
pub mod update_dist_git;
pub mod update_source_git;
