//! The pure half of the way back: which dist-git commits of a range are sync points or
//! candidates, trailer reading, the branch name, and the "Sync from dist-git" MR text.

use crate::convert::update_source_git::RefusalReason;
use crate::repo::sync_status::{FROM_DIST_GIT, FROM_SOURCE_GIT};

/// Title of the MR in the source-git project.
pub const MR_TITLE: &str = "Sync from dist-git";

/// The source-git branch srcgit pushes the synced commits of dist-git branch `branch` to.
pub fn sync_branch(branch: &str) -> String {
    format!("{branch}-from-dist-git")
}

/// The marker that ties the MR to its dist-git branch.
pub fn marker(rpms_path: &str, branch: &str) -> String {
    format!("<!-- srcgit: dist-git={rpms_path}@{branch} -->")
}

/// The values of every `<token>: <value>` line of a commit message (packit's
/// `^<token>: (.+)$`, as `srcgit status` reads it).
pub fn trailer_values<'m>(message: &'m str, token: &str) -> Vec<&'m str> {
    message
        .lines()
        .filter_map(|line| line.strip_prefix(token)?.strip_prefix(": "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// Whether a dist-git commit came from source-git (our own rpms MRs carry the trailer).
pub fn came_from_source_git(message: &str) -> bool {
    !trailer_values(message, FROM_SOURCE_GIT).is_empty()
}

/// The dist-git commits a source-git commit was synced from.
pub fn synced_from(message: &str) -> Vec<&str> {
    trailer_values(message, FROM_DIST_GIT)
}

/// One dist-git commit after the sync point, as read from git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCommit {
    /// Full sha.
    pub sha: String,
    /// Number of parents.
    pub parents: usize,
    /// Raw message.
    pub message: String,
}

/// What to do with one commit of the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A merge commit: no change of its own (the merged commits are in the range).
    SkipMerge,
    /// It came from source-git (`From-source-git-commit`): never sent back.
    SkipFromSourceGit,
    /// Carry it into `.distro/` (update-source-git decides whether it can).
    Carry,
}

/// The decision for each commit of the range, oldest first.
pub fn plan(commits: &[RangeCommit]) -> Vec<Plan> {
    commits
        .iter()
        .map(|c| {
            if c.parents > 1 {
                Plan::SkipMerge
            } else if came_from_source_git(&c.message) {
                Plan::SkipFromSourceGit
            } else {
                Plan::Carry
            }
        })
        .collect()
}

/// A dist-git commit as the MR lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Full sha.
    pub sha: String,
    /// First line of the message.
    pub subject: String,
    /// Author name.
    pub author: String,
}

/// Why a commit was not carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotCarried {
    /// update-source-git refuses it (`sources` or a patch file changed).
    Refused(RefusalReason),
    /// Its change does not apply to `.distro/` (git's first line of complaint).
    DoesNotApply(String),
    /// Not tried: it comes after a commit that did not apply.
    After(String),
}

/// Everything the MR description says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    /// The rpms project path.
    pub rpms_path: &'a str,
    /// Its web URL (commit links).
    pub rpms_url: &'a str,
    /// The dist-git branch.
    pub branch: &'a str,
    /// The commits carried, oldest first.
    pub synced: Vec<Listed>,
    /// The commits that could not be carried, oldest first.
    pub not_carried: Vec<(Listed, NotCarried)>,
    /// How many commits needed nothing (merges, sync points, no change under `.distro/`).
    pub skipped: usize,
}

fn line(summary: &Summary<'_>, c: &Listed) -> String {
    format!(
        "- [`{}`]({}/-/commit/{}) {} ({})",
        &c.sha[..8.min(c.sha.len())],
        summary.rpms_url,
        c.sha,
        c.subject,
        c.author
    )
}

fn advice(sha: &str, why: &NotCarried) -> String {
    let record = format!(
        "then record it with a source-git commit (it may be empty) carrying the trailer \
         `{FROM_DIST_GIT}: {sha}`, so srcgit stops listing it"
    );
    match why {
        NotCarried::Refused(RefusalReason::Sources) => format!(
            "changes `sources`, i.e. a new upstream release. Update source-git to that release \
             (rebase the downstream commits onto the new upstream tag and update `.distro/`), {record}."
        ),
        NotCarried::Refused(RefusalReason::Patch(path)) => format!(
            "changes the patch file `{path}`. Patches are generated from source-git commits: \
             make the change as a source-git commit, {record}."
        ),
        NotCarried::DoesNotApply(git) => format!(
            "does not apply to `.distro/` ({git}). Make the change in `.distro/` by hand, {record}."
        ),
        NotCarried::After(first) => format!(
            "was not tried: it comes after {first}, which could not be carried. Carry it by hand \
             after that one, {record}."
        ),
    }
}

/// The MR description (deterministic: the same commits give the same text).
pub fn description(summary: &Summary<'_>) -> String {
    let mut text = format!(
        "dist-git [{}]({}) branch `{}` has commits that did not come from source-git. srcgit \
         carried them into `.distro/` with `srcgit update-source-git`: one commit each, with the \
         dist-git author and a `{FROM_DIST_GIT}` trailer.\n",
        summary.rpms_path, summary.rpms_url, summary.branch
    );
    if !summary.synced.is_empty() {
        text.push_str("\n### Synced\n\n");
        for c in &summary.synced {
            text.push_str(&line(summary, c));
            text.push('\n');
        }
    }
    if !summary.not_carried.is_empty() {
        text.push_str("\n### Not carried: the packager must act\n\n");
        for (c, why) in &summary.not_carried {
            text.push_str(&format!("{}: {}\n", line(summary, c), advice(&c.sha, why)));
        }
    }
    if summary.skipped > 0 {
        text.push_str(&format!(
            "\n{} more dist-git commit(s) needed nothing: merge commits, commits that came from \
             source-git, or changes outside what `.distro/` holds.\n",
            summary.skipped
        ));
    }
    text.push_str(&format!(
        "\nThis branch is rebuilt on `{}` and force-pushed by srcgit when dist-git moves on: \
         push fixes to dist-git or to `{}`, not here.\n\n{}\n",
        summary.branch,
        summary.branch,
        marker(summary.rpms_path, summary.branch)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(sha: char, parents: usize, message: &str) -> RangeCommit {
        RangeCommit {
            sha: sha.to_string().repeat(40),
            parents,
            message: message.to_string(),
        }
    }

    #[test]
    fn sync_points_and_merges_are_never_sent_back() {
        let commits = [
            commit('a', 1, "Bump release\n"),
            commit(
                'b',
                1,
                "Fix the thing\n\nFrom-source-git-commit: 1234567812345678123456781234567812345678\n",
            ),
            commit('c', 2, "Merge branch 'c10s-src-3' into 'c10s'\n"),
            commit('d', 1, "Mention From-source-git-commit in prose only\n"),
        ];
        assert_eq!(
            plan(&commits),
            [
                Plan::Carry,
                Plan::SkipFromSourceGit,
                Plan::SkipMerge,
                Plan::Carry
            ]
        );
    }

    #[test]
    fn trailers_are_read_like_packit() {
        let msg = "Title\n\nbody\n\nFrom-dist-git-commit: abc\nFrom-dist-git-commit:\nX-From-dist-git-commit: no\n";
        assert_eq!(trailer_values(msg, FROM_DIST_GIT), ["abc"]);
        assert!(synced_from("Title\n").is_empty());
    }

    #[test]
    fn the_description_lists_what_was_synced_and_what_was_not() {
        let listed = |c: char, subject: &str| Listed {
            sha: c.to_string().repeat(40),
            subject: subject.to_string(),
            author: "Ann Example".to_string(),
        };
        let summary = Summary {
            rpms_path: "redhat/centos-stream/rpms/hello",
            rpms_url: "http://gl/redhat/centos-stream/rpms/hello",
            branch: "c10s",
            synced: vec![listed('a', "Bump release")],
            not_carried: vec![
                (
                    listed('b', "Update to 1.1"),
                    NotCarried::Refused(RefusalReason::Sources),
                ),
                (
                    listed('c', "Rebuild"),
                    NotCarried::After("bbbbbbbb".to_string()),
                ),
            ],
            skipped: 1,
        };
        let text = description(&summary);
        assert!(text.contains(
            "- [`aaaaaaaa`](http://gl/redhat/centos-stream/rpms/hello/-/commit/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa) Bump release (Ann Example)\n"
        ), "{text}");
        assert!(
            text.contains(
                "Update to 1.1 (Ann Example): changes `sources`, i.e. a new upstream release"
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!("`From-dist-git-commit: {}`", "b".repeat(40))),
            "{text}"
        );
        assert!(
            text.contains("was not tried: it comes after bbbbbbbb"),
            "{text}"
        );
        assert!(
            text.contains("1 more dist-git commit(s) needed nothing"),
            "{text}"
        );
        assert!(
            text.trim_end()
                .ends_with("<!-- srcgit: dist-git=redhat/centos-stream/rpms/hello@c10s -->"),
            "{text}"
        );
        assert_eq!(text, description(&summary.clone()), "deterministic");
        let only_synced = Summary {
            not_carried: vec![],
            skipped: 0,
            ..summary
        };
        let text = description(&only_synced);
        assert!(
            !text.contains("Not carried") && !text.contains("needed nothing"),
            "{text}"
        );
    }

    #[test]
    fn the_branch_never_matches_the_served_branch() {
        assert_eq!(sync_branch("c10s"), "c10s-from-dist-git");
    }
}
