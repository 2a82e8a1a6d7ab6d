//! packit's sync status between a source-git and a dist-git repository (§4.2 of the
//! format doc): the newest commit pair linked by `From-dist-git-commit` /
//! `From-source-git-commit` trailers, and which side has commits after it.
//!
//! The texts are packit's, word for word, because `srcgit status` must print what
//! `packit source-git status` prints.

use git2::Oid;

use crate::repo::git::{self, GitError, Repo};

/// Trailer in source-git commits that came from dist-git.
pub const FROM_DIST_GIT: &str = "From-dist-git-commit";
/// Trailer in dist-git commits that came from source-git.
pub const FROM_SOURCE_GIT: &str = "From-source-git-commit";

/// Where each repository's unsynced commits start, if it has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStatus {
    /// First source-git commit not yet in dist-git.
    pub source_git_start: Option<Oid>,
    /// First dist-git commit not yet in source-git.
    pub dist_git_start: Option<Oid>,
}

/// Why the sync status cannot be determined.
#[derive(Debug, thiserror::Error)]
pub enum SyncStatusError {
    /// Neither repository has a sync trailer.
    #[error("No git commits with trailers to mark synchronization points were found.")]
    NoTrailers,
    /// A trailer names a commit the other repository does not have.
    #[error("Commit '{sha}' referenced in {token} git trailer does not exist in {repo}.")]
    MissingCommit {
        /// The referenced sha.
        sha: String,
        /// The trailer token.
        token: &'static str,
        /// `source-git` or `dist-git`.
        repo: &'static str,
    },
    /// git trouble.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// The value of the first line `^<token>: (.+)$` in a message (packit's regex).
fn trailer_value(message: &[u8], token: &str) -> Option<String> {
    let prefix = format!("{token}: ");
    message
        .split(|&b| b == b'\n')
        .find_map(|line| {
            line.strip_prefix(prefix.as_bytes())
                .filter(|v| !v.is_empty())
        })
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The newest commit from `head` carrying `token` and the sha its trailer names.
fn newest_pair(repo: &Repo, head: Oid, token: &str) -> Result<Option<(Oid, String)>, GitError> {
    let found =
        git::first_matching_commit(repo.git2(), head, |msg| trailer_value(msg, token).is_some())?;
    Ok(match found {
        Some(oid) => {
            let message = repo.message(oid)?;
            trailer_value(message.as_bytes(), token).map(|value| (oid, value))
        }
        None => None,
    })
}

/// packit's `_get_latest_commit_update_pair` + `sync_status`.
pub fn sync_status(
    source_git: &Repo,
    source_head: Oid,
    dist_git: &Repo,
    dist_head: Oid,
) -> Result<SyncStatus, SyncStatusError> {
    let from_sg = newest_pair(source_git, source_head, FROM_DIST_GIT)?;
    let from_dg = newest_pair(dist_git, dist_head, FROM_SOURCE_GIT)?;
    // Both pairs as (source-git commit, dist-git commit).
    let sg_pair = match from_sg {
        Some((sg, dg_sha)) => {
            let dg = dist_git
                .resolve_commit(&dg_sha)
                .ok_or(SyncStatusError::MissingCommit {
                    sha: dg_sha,
                    token: FROM_DIST_GIT,
                    repo: "dist-git",
                })?;
            Some((sg, dg))
        }
        None => None,
    };
    let dg_pair = match from_dg {
        Some((dg, sg_sha)) => {
            let sg = source_git
                .resolve_commit(&sg_sha)
                .ok_or(SyncStatusError::MissingCommit {
                    sha: sg_sha,
                    token: FROM_SOURCE_GIT,
                    repo: "source-git",
                })?;
            Some((sg, dg))
        }
        None => None,
    };
    let (sg_point, dg_point) = match (sg_pair, dg_pair) {
        (Some(a), Some(b)) => {
            if source_git.is_ancestor(a.0, b.0)? {
                b
            } else {
                a
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(SyncStatusError::NoTrailers),
    };
    Ok(SyncStatus {
        source_git_start: next_commit(source_git, sg_point, source_head)?,
        dist_git_start: next_commit(dist_git, dg_point, dist_head)?,
    })
}

/// packit's `get_next_commit`: the last of `git rev-list --ancestry-path <commit>..HEAD`.
fn next_commit(repo: &Repo, commit: Oid, head: Oid) -> Result<Option<Oid>, GitError> {
    Ok(git::ancestry_path(repo.git2(), commit, head)?
        .last()
        .copied())
}

/// Number of commits in `<start>~..HEAD --ancestry-path` (packit's count).
pub fn commits_from(repo: &Repo, start: Oid, head: Oid) -> Result<usize, GitError> {
    let commit = repo
        .git2()
        .find_commit(start)
        .map_err(GitError::git2(format!("cannot read commit {start}")))?;
    match commit.parent_id(0) {
        Ok(parent) => Ok(git::ancestry_path(repo.git2(), parent, head)?.len()),
        Err(_) => Ok(git::date_order_walk(repo.git2(), head, None)?.len()),
    }
}

/// Counts that the "ahead"/"behind" texts show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Commits from the first unsynced source-git commit to HEAD.
    pub source_git: usize,
    /// Commits from the first unsynced dist-git commit to HEAD.
    pub dist_git: usize,
}

fn short(oid: Oid) -> String {
    oid.to_string()[..8].to_string()
}

/// packit's `sync_status_string`, with the repository arguments as the user typed them.
pub fn describe(status: &SyncStatus, counts: Counts, source_git: &str, dist_git: &str) -> String {
    match (status.source_git_start, status.dist_git_start) {
        (Some(sg), Some(dg)) => format!(
            "'{source_git}' and '{dist_git}' have diverged.\n\
             The first source-git commit to be synced is '{}'.\n\
             The first dist-git commit to be synced is '{}'.\n\
             Sync status needs to be reestablished manually, see\n\
             https://packit.dev/source-git/work-with-source-git/fix-diverged-history\n",
            short(sg),
            short(dg)
        ),
        (Some(sg), None) => format!(
            "'{source_git}' is ahead of '{dist_git}' by {} commits.\n\
             Use \"packit source-git update-dist-git {source_git} {dist_git}\"\n\
             to transform changes from '{source_git}' to '{dist_git}'.\n\
             The first source-git commit to be synced is '{}'.\n",
            counts.source_git,
            short(sg)
        ),
        (None, Some(dg)) => format!(
            "'{source_git}' is behind of '{dist_git}' by {} commits.\n\
             Use \"packit source-git update-source-git {dist_git} {source_git}\n\
             {}~..\" to transform changes from '{dist_git}' to '{source_git}'.\n\
             The first dist-git commit to be synced is '{}'.\n",
            counts.dist_git,
            short(dg),
            short(dg)
        ),
        (None, None) => format!("'{source_git}' is up to date with '{dist_git}'."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_values_follow_packits_regex() {
        assert_eq!(
            trailer_value(b"Init\n\nFrom-dist-git-commit: abc\n", FROM_DIST_GIT).as_deref(),
            Some("abc")
        );
        assert_eq!(
            trailer_value(b"From-dist-git-commit: \n", FROM_DIST_GIT),
            None
        );
        assert_eq!(
            trailer_value(b"x From-dist-git-commit: a\n", FROM_DIST_GIT),
            None
        );
    }

    #[test]
    fn texts_are_packits() {
        let a = Oid::from_str("57cc1ea3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        let b = Oid::from_str("67b10b9bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
        let counts = Counts {
            source_git: 3,
            dist_git: 2,
        };
        let up = SyncStatus {
            source_git_start: None,
            dist_git_start: None,
        };
        assert_eq!(
            describe(&up, counts, "s", "d"),
            "'s' is up to date with 'd'."
        );
        let behind = SyncStatus {
            source_git_start: None,
            dist_git_start: Some(b),
        };
        assert_eq!(
            describe(&behind, counts, "s", "d"),
            "'s' is behind of 'd' by 2 commits.\nUse \"packit source-git update-source-git d s\n\
             67b10b9b~..\" to transform changes from 'd' to 's'.\n\
             The first dist-git commit to be synced is '67b10b9b'.\n"
        );
        let diverged = SyncStatus {
            source_git_start: Some(a),
            dist_git_start: Some(b),
        };
        assert!(describe(&diverged, counts, "s", "d").starts_with("'s' and 'd' have diverged.\n"));
    }
}
