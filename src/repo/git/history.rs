//! History walks with git's own ordering, and packit's history linearisation.
//!
//! `git rev-list` (without `--topo-order`) emits commits newest first by committer date,
//! ties in the order they were queued. Which commit is "the newest with a sync trailer"
//! or "the first one to sync" depends on that order on non-linear histories, so it is
//! reproduced here rather than relying on libgit2's unstable time sort.

use std::collections::{BinaryHeap, HashMap, HashSet};

use git2::{Oid, Repository, Sort};

use super::GitError;

/// A queue entry ordered like git's `commit_list_insert_by_date`: newer first, and
/// among equal dates the one queued first.
#[derive(PartialEq, Eq)]
struct Queued {
    time: i64,
    seq: std::cmp::Reverse<u64>,
    oid: Oid,
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, &self.seq).cmp(&(other.time, &other.seq))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Walks from `start` in `git rev-list` order, visiting only commits `keep` accepts, and
/// calls `visit` for each; `visit` returns false to stop.
fn walk(
    repo: &Repository,
    start: Oid,
    keep: impl Fn(Oid) -> bool,
    mut visit: impl FnMut(&git2::Commit<'_>) -> bool,
) -> Result<(), GitError> {
    let mut queue = BinaryHeap::new();
    let mut seen = HashSet::new();
    let mut seq = 0u64;
    let find = |oid| {
        repo.find_commit(oid)
            .map_err(GitError::git2(format!("cannot read commit {oid}")))
    };
    if keep(start) {
        seen.insert(start);
        queue.push(Queued {
            time: find(start)?.time().seconds(),
            seq: std::cmp::Reverse(seq),
            oid: start,
        });
    }
    while let Some(Queued { oid, .. }) = queue.pop() {
        let commit = find(oid)?;
        if !visit(&commit) {
            return Ok(());
        }
        for parent in commit.parent_ids() {
            if keep(parent) && seen.insert(parent) {
                seq += 1;
                let time = find(parent)?.time().seconds();
                queue.push(Queued {
                    time,
                    seq: std::cmp::Reverse(seq),
                    oid: parent,
                });
            }
        }
    }
    Ok(())
}

/// The commits `keep` accepts, reachable from `head`, in `git rev-list` order.
fn ordered(repo: &Repository, head: Oid, keep: impl Fn(Oid) -> bool) -> Result<Vec<Oid>, GitError> {
    let mut out = Vec::new();
    walk(repo, head, keep, |c| {
        out.push(c.id());
        true
    })?;
    Ok(out)
}

/// `base..head` oldest first, parents before children (`--topo-order --reverse`).
fn oldest_first<'r>(
    repo: &'r Repository,
    head: Oid,
    base: Oid,
) -> Result<git2::Revwalk<'r>, GitError> {
    let mut revwalk = repo
        .revwalk()
        .map_err(GitError::git2("cannot walk history"))?;
    revwalk
        .set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .and_then(|()| revwalk.push(head))
        .and_then(|()| revwalk.hide(base))
        .map_err(GitError::git2("cannot walk history"))?;
    Ok(revwalk)
}

/// The commits of `base..head` in `git rev-list` order (newest first).
pub fn date_order_walk(
    repo: &Repository,
    head: Oid,
    base: Option<Oid>,
) -> Result<Vec<Oid>, GitError> {
    let set = range_set(repo, head, base)?;
    ordered(repo, head, |oid| set.contains(&oid))
}

/// Commits reachable from `head` but not from `base` (libgit2 computes the set).
fn range_set(repo: &Repository, head: Oid, base: Option<Oid>) -> Result<HashSet<Oid>, GitError> {
    let mut revwalk = repo
        .revwalk()
        .map_err(GitError::git2("cannot walk history"))?;
    revwalk
        .push(head)
        .map_err(GitError::git2("cannot walk history"))?;
    if let Some(base) = base {
        revwalk
            .hide(base)
            .map_err(GitError::git2("cannot walk history"))?;
    }
    revwalk
        .collect::<Result<HashSet<_>, _>>()
        .map_err(GitError::git2("cannot walk history"))
}

/// `git rev-list --max-count=1 --grep=<re> <head>`: the first commit in walk order whose
/// message matches.
pub fn first_matching_commit(
    repo: &Repository,
    head: Oid,
    matches: impl Fn(&[u8]) -> bool,
) -> Result<Option<Oid>, GitError> {
    let mut found = None;
    walk(
        repo,
        head,
        |_| true,
        |c| {
            if matches(c.message_bytes()) {
                found = Some(c.id());
                return false;
            }
            true
        },
    )?;
    Ok(found)
}

/// `git rev-list --ancestry-path <from>..<head>` in git's order (newest first).
pub fn ancestry_path(repo: &Repository, from: Oid, head: Oid) -> Result<Vec<Oid>, GitError> {
    let mut on_path = HashSet::new();
    for oid in oldest_first(repo, head, from)? {
        let oid = oid.map_err(GitError::git2("cannot walk history"))?;
        let commit = repo
            .find_commit(oid)
            .map_err(GitError::git2("cannot read commit"))?;
        if commit
            .parent_ids()
            .any(|p| p == from || on_path.contains(&p))
        {
            on_path.insert(oid);
        }
    }
    ordered(repo, head, |oid| on_path.contains(&oid))
}

/// packit's `are_child_commits_contained`: every commit of `base..head` has only parents
/// that are `base` or in the range.
fn contained(repo: &Repository, base: Oid, range: &HashSet<Oid>) -> Result<bool, GitError> {
    for &oid in range {
        let commit = repo
            .find_commit(oid)
            .map_err(GitError::git2("cannot read commit"))?;
        if commit
            .parent_ids()
            .any(|p| p != base && !range.contains(&p))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// git's `strbuf_addstr_without_crud`, which `git commit-tree` applies to identities
/// taken from the environment (as `git filter-branch` passes them).
fn without_crud(s: &str) -> &str {
    let crud = |c: char| {
        (c as u32) <= 32 || matches!(c, '.' | ',' | ':' | ';' | '<' | '>' | '"' | '\\' | '\'')
    };
    s.trim_matches(crud)
}

fn rewrite_signature(sig: &git2::Signature<'_>) -> Result<git2::Signature<'static>, GitError> {
    let name = String::from_utf8_lossy(sig.name_bytes()).into_owned();
    let email = String::from_utf8_lossy(sig.email_bytes()).into_owned();
    git2::Signature::new(without_crud(&name), without_crud(&email), &sig.when()).map_err(
        GitError::git2(format!("cannot rewrite identity {name} <{email}>")),
    )
}

/// packit's history linearisation (`git filter-branch --parent-filter 'cut -f 2,3 -d " "'
/// <base>..HEAD`): when some commit of the range has a parent outside it, every commit is
/// re-created with only its first parent. Returns the rewritten head, or `None` when the
/// history is already contained. Only objects are written, no branch.
pub fn linearized_head(repo: &Repository, base: Oid, head: Oid) -> Result<Option<Oid>, GitError> {
    let range = range_set(repo, head, Some(base))?;
    if contained(repo, base, &range)? {
        return Ok(None);
    }
    let mut rewritten: HashMap<Oid, Oid> = HashMap::new();
    for oid in oldest_first(repo, head, base)? {
        let oid = oid.map_err(GitError::git2("cannot walk history"))?;
        let commit = repo
            .find_commit(oid)
            .map_err(GitError::git2("cannot read commit"))?;
        let parents: Vec<git2::Commit<'_>> = commit
            .parent_ids()
            .take(1)
            .map(|p| repo.find_commit(*rewritten.get(&p).unwrap_or(&p)))
            .collect::<Result<_, _>>()
            .map_err(GitError::git2("cannot read commit"))?;
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let message = String::from_utf8_lossy(commit.message_raw_bytes()).into_owned();
        let tree = commit.tree().map_err(GitError::git2("cannot read tree"))?;
        let new = repo
            .commit(
                None,
                &rewrite_signature(&commit.author())?,
                &rewrite_signature(&commit.committer())?,
                &message,
                &tree,
                &parent_refs,
            )
            .map_err(GitError::git2("cannot write a linearised commit"))?;
        rewritten.insert(oid, new);
    }
    Ok(rewritten.get(&head).copied())
}

#[cfg(test)]
mod tests {
    use super::without_crud;

    #[test]
    fn crud_is_stripped_like_git() {
        assert_eq!(without_crud("  John Smith Jr. "), "John Smith Jr");
        assert_eq!(without_crud("<a@b>"), "a@b");
        assert_eq!(without_crud("Ann"), "Ann");
    }
}
