//! The rules of `update-source-git` (dist-git → source-git, §3 of the format doc) that
//! need no I/O: reading git's list of changed files, refusing commits that touch `sources`
//! or a `*.patch` file, pairing the changes with the sections of the commit's diff, the
//! source-git commit message, and which dist-git paths may be written under `.distro/`.
//!
//! The repository side lives in `repo::update_source_git`.

use crate::convert::{pytext, trailers};

/// The trailer that marks a source-git commit made from a dist-git commit.
pub const FROM_DIST_GIT: &str = "From-dist-git-commit";

/// The dist-git file that lists the lookaside sources.
const SOURCES_FILE: &str = "sources";

/// One changed file of a dist-git commit, as `git diff-tree -r -M --name-status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// `A`: a new file.
    Added(String),
    /// `M`: new content and/or a new mode.
    Modified(String),
    /// `T`: the type changed (file ↔ symlink ↔ submodule).
    TypeChanged(String),
    /// `D`: the file is gone.
    Deleted(String),
    /// `R<score>`: moved, maybe with edits.
    Renamed {
        /// The old path.
        from: String,
        /// The new path.
        to: String,
    },
}

impl FileChange {
    /// The path before the change (`a_path`), if the file existed before.
    pub fn old_path(&self) -> Option<&str> {
        match self {
            FileChange::Added(_) => None,
            FileChange::Modified(p) | FileChange::TypeChanged(p) | FileChange::Deleted(p) => {
                Some(p)
            }
            FileChange::Renamed { from, .. } => Some(from),
        }
    }

    /// The path after the change (`b_path`), if the file exists after it.
    pub fn new_path(&self) -> Option<&str> {
        match self {
            FileChange::Deleted(_) => None,
            FileChange::Added(p) | FileChange::Modified(p) | FileChange::TypeChanged(p) => Some(p),
            FileChange::Renamed { to, .. } => Some(to),
        }
    }

    /// How many `diff --git` sections git prints for this change: a type change is printed
    /// as a deletion followed by a creation, everything else as one section.
    pub fn sections(&self) -> usize {
        match self {
            FileChange::TypeChanged(_) => 2,
            _ => 1,
        }
    }

    fn paths(&self) -> impl Iterator<Item = &str> {
        self.old_path().into_iter().chain(self.new_path())
    }
}

/// git printed something `parse_name_status` does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeListError {
    /// A status letter other than A, M, T, D, R.
    #[error("unexpected change status {0:?} in `git diff-tree --name-status` output")]
    Status(String),
    /// A record ends early.
    #[error("truncated `git diff-tree --name-status -z` output")]
    Truncated,
    /// A path that is not UTF-8.
    #[error("a changed path is not UTF-8: {0:?}")]
    NotUtf8(String),
}

/// Parses `git diff-tree -r -M --name-status -z` output: `STATUS\0PATH\0` records, renames
/// as `R<score>\0OLD\0NEW\0`.
pub fn parse_name_status(raw: &[u8]) -> Result<Vec<FileChange>, ChangeListError> {
    let mut fields = raw.split(|&b| b == 0);
    let mut out = Vec::new();
    while let Some(status) = fields.next() {
        if status.is_empty() {
            // the final terminator
            continue;
        }
        let change = match status[0] {
            b'A' => FileChange::Added(next_path(&mut fields)?),
            b'M' => FileChange::Modified(next_path(&mut fields)?),
            b'T' => FileChange::TypeChanged(next_path(&mut fields)?),
            b'D' => FileChange::Deleted(next_path(&mut fields)?),
            b'R' => FileChange::Renamed {
                from: next_path(&mut fields)?,
                to: next_path(&mut fields)?,
            },
            _ => {
                return Err(ChangeListError::Status(
                    String::from_utf8_lossy(status).into_owned(),
                ));
            }
        };
        out.push(change);
    }
    Ok(out)
}

fn next_path<'a>(fields: &mut impl Iterator<Item = &'a [u8]>) -> Result<String, ChangeListError> {
    let field = fields.next().ok_or(ChangeListError::Truncated)?;
    if field.is_empty() {
        return Err(ChangeListError::Truncated);
    }
    String::from_utf8(field.to_vec())
        .map_err(|_| ChangeListError::NotUtf8(String::from_utf8_lossy(field).into_owned()))
}

/// Why a dist-git commit cannot be synced to source-git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// It changes the `sources` file (a new upstream release: use update-dist-git's flow).
    Sources,
    /// It changes a `*.patch` file (patches come from source-git commits).
    Patch(String),
}

/// packit's check of one commit: the first changed file (in git's order) that is `sources`
/// or ends with `.patch`, on either side of the change.
pub fn refusal(changes: &[FileChange]) -> Option<RefusalReason> {
    changes.iter().find_map(|change| {
        if change.paths().any(|p| p == SOURCES_FILE) {
            return Some(RefusalReason::Sources);
        }
        change
            .paths()
            .find(|p| p.ends_with(".patch"))
            .map(|p| RefusalReason::Patch(p.to_string()))
    })
}

/// Splits `git diff-tree -p` output into its per-file sections, each starting with its
/// `diff --git ` line. Content lines always start with ` `, `+`, `-`, `\` or a base85 length
/// letter followed by no space, so only headers match.
pub fn split_sections(patch: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in patch.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"diff --git ") {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(patch.len());
            &patch[start..end]
        })
        .collect()
}

/// Whether a dist-git path can be written as `.distro/<path>`: relative, no empty, `.` or
/// `..` component, and no `.git` component (git itself refuses to check those out).
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.eq_ignore_ascii_case(".git"))
}

/// The `.distro/` path of a dist-git path.
pub fn distro_path(path: &str) -> String {
    format!(".distro/{path}")
}

/// packit's source-git commit message for a dist-git commit: the title is the message up to
/// its first newline as it is, the body the rest with Python's `strip()`; `<title>\n`, then
/// `\n<body>\n` when there is a body, the `From-dist-git-commit` trailer added by git's
/// rules (`interpret-trailers --if-exists replace`), then `git commit`'s whitespace cleanup.
pub fn commit_message(dist_git_message: &str, dist_git_sha: &str) -> String {
    let (title, rest) = dist_git_message
        .split_once('\n')
        .unwrap_or((dist_git_message, ""));
    let body = pytext::strip(rest);
    let mut text = format!("{title}\n");
    if !body.is_empty() {
        text.push('\n');
        text.push_str(body);
        text.push('\n');
    }
    trailers::stripspace(&trailers::set_trailer(&text, FROM_DIST_GIT, dist_git_sha))
}

/// The first line of a message, for summaries.
pub fn title(message: &str) -> &str {
    message.split('\n').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "82476b459338ebf0ed54e5f9faa2f7f751653f60";

    #[test]
    fn name_status_records() {
        let raw = b"M\0quill.spec\0R087\0rpmlintrc\0quill.rpmlintrc\0D\0plans/smoke.fmf\0A\0a b\0T\0link\0";
        assert_eq!(
            parse_name_status(raw).unwrap(),
            vec![
                FileChange::Modified("quill.spec".into()),
                FileChange::Renamed {
                    from: "rpmlintrc".into(),
                    to: "quill.rpmlintrc".into()
                },
                FileChange::Deleted("plans/smoke.fmf".into()),
                FileChange::Added("a b".into()),
                FileChange::TypeChanged("link".into()),
            ]
        );
        assert_eq!(parse_name_status(b"").unwrap(), vec![]);
        assert_eq!(
            parse_name_status(b"R100\0old\0"),
            Err(ChangeListError::Truncated)
        );
        assert_eq!(
            parse_name_status(b"X\0f\0"),
            Err(ChangeListError::Status("X".into()))
        );
        assert!(matches!(
            parse_name_status(b"A\0\xff\0"),
            Err(ChangeListError::NotUtf8(_))
        ));
    }

    #[test]
    fn sources_and_patches_are_refused_on_either_side() {
        let m = |p: &str| FileChange::Modified(p.into());
        assert_eq!(refusal(&[m("quill.spec"), m("gating.yaml")]), None);
        assert_eq!(
            refusal(&[m("quill.spec"), m("sources")]),
            Some(RefusalReason::Sources)
        );
        assert_eq!(
            refusal(&[FileChange::Added("fix.patch".into()), m("sources")]),
            Some(RefusalReason::Patch("fix.patch".into()))
        );
        let renamed = FileChange::Renamed {
            from: "old.patch".into(),
            to: "old.txt".into(),
        };
        assert_eq!(
            refusal(&[renamed]),
            Some(RefusalReason::Patch("old.patch".into()))
        );
        assert_eq!(
            refusal(&[FileChange::Deleted("sources".into())]),
            Some(RefusalReason::Sources)
        );
        // only the exact top-level name
        assert_eq!(refusal(&[m("doc/sources")]), None);
    }

    #[test]
    fn sections_split_at_diff_headers_only() {
        let patch = b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-diff --git a/y b/y\n+z\ndiff --git a/y b/y\nnew file mode 100644\n";
        let sections = split_sections(patch);
        assert_eq!(sections.len(), 2);
        assert!(sections[0].ends_with(b"+z\n"));
        assert_eq!(sections[1], b"diff --git a/y b/y\nnew file mode 100644\n");
        assert!(split_sections(b"").is_empty());
    }

    #[test]
    fn unsafe_paths_are_recognised() {
        assert!(is_safe_path("plans/ci/smoke.fmf"));
        assert!(is_safe_path(".gitignore"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            ".git/config",
            "a/.GIT/x",
        ] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }

    #[test]
    fn messages_follow_packit() {
        assert_eq!(
            commit_message("Gate on rpminspect too\n", SHA),
            format!("Gate on rpminspect too\n\nFrom-dist-git-commit: {SHA}\n")
        );
        // body right after the title gets a blank line; the first body line loses its
        // indentation, the others keep theirs; trailing spaces and blank lines go
        assert_eq!(
            commit_message("Use %{name}  \n   - one\n    - two\n\n\n", SHA),
            format!("Use %{{name}}\n\n- one\n    - two\n\nFrom-dist-git-commit: {SHA}\n")
        );
        // joins an existing trailer block
        assert_eq!(
            commit_message("Fix\n\nText.\n\nResolves: rhbz#1\n", SHA),
            format!("Fix\n\nText.\n\nResolves: rhbz#1\nFrom-dist-git-commit: {SHA}\n")
        );
        // goes before a `---` line
        assert_eq!(
            commit_message("Rebuild\n\nNo code changes.\n---\nMerged from x\n", SHA),
            format!(
                "Rebuild\n\nNo code changes.\n\nFrom-dist-git-commit: {SHA}\n---\nMerged from x\n"
            )
        );
        // and before trailing comment lines, which stay
        assert_eq!(
            commit_message("Use it\n\nBody.\n#7 on the tracker\n", SHA),
            format!("Use it\n\nBody.\n\nFrom-dist-git-commit: {SHA}\n#7 on the tracker\n")
        );
    }
}
