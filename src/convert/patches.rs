//! From the files `git format-patch` wrote to the list of patches dist-git gets: packit's
//! `PatchMetadata` read from git trailers (or, when no commit has one, from legacy YAML in
//! the commit messages), ignored patches dropped, adjacent same-name patches squashed,
//! files renamed to their `Patch-name`.
//!
//! Deliberate fixes of packit bugs (each has a test): an ignored patch leaves no file
//! behind; `No-prefix` works in trailer mode (the caller supplies the `--no-prefix`
//! output); an empty legacy commit does not crash; a `Patch-name` that is not a plain
//! file name is refused instead of writing outside dist-git.
//!
//! Pure: the caller runs git and passes file contents and commits in.

use std::collections::BTreeMap;

use super::yaml::{self, Node, Value};
use super::{mail, pytext, trailers};

/// The trailer tokens that carry patch metadata (packit's `PATCH_META_TRAILER_TOKENS`).
pub const META_TOKENS: [&str; 6] = [
    "Patch-name",
    "Patch-id",
    "Patch-status",
    "Patch-present-in-specfile",
    "Ignore-patch",
    "No-prefix",
];

/// A file written by `git format-patch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The file name git chose, `NNNN-<subject>.patch`.
    pub file_name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A non-merge commit of the patch range, as legacy metadata needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCommit {
    /// Full hex sha.
    pub sha: String,
    /// The whole commit message.
    pub message: String,
    /// Author name and e-mail.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// The commit changes no file compared with its parent.
    pub is_empty: bool,
}

/// Which metadata format the range uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `Patch-*` git trailers (current packit).
    Trailers,
    /// YAML keys in the commit messages (packit before 2022).
    Legacy,
}

/// One patch: packit's `PatchMetadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchMeta {
    /// Final file name in dist-git.
    pub name: String,
    /// The file that holds it now (before renaming).
    pub file: String,
    /// Spec comment text, if the metadata or the message gave one.
    pub description: Option<String>,
    /// `Patch-present-in-specfile` / `present_in_specfile`.
    pub present_in_specfile: bool,
    /// `Ignore-patch` / `ignore`.
    pub ignore: bool,
    /// Legacy `squash_commits`.
    pub squash_commits: bool,
    /// `Patch-id` / `patch_id`.
    pub patch_id: Option<u32>,
    /// `No-prefix` / `no_prefix`.
    pub no_prefix: bool,
    /// Some metadata key was present.
    pub metadata_defined: bool,
    /// Summary and author of the commit (legacy mode only).
    pub commit: Option<CommitSummary>,
    /// The commit sha (legacy mode only).
    pub sha: Option<String>,
}

/// What the legacy default comment shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// First line of the message.
    pub summary: String,
    /// `Name <email>`.
    pub author: String,
}

impl PatchMeta {
    /// The comment packit writes above the spec tag (`specfile_comment`).
    pub fn spec_comment(&self) -> String {
        match (&self.description, &self.commit) {
            (Some(d), _) if !d.is_empty() => d.clone(),
            (_, Some(c)) => format!("{}\nAuthor: {}", c.summary, c.author),
            _ => format!("Patch \"{}\"", self.name),
        }
    }
}

/// The patches dist-git gets: metadata in order, and the final file contents by name.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPlan {
    /// Patches in commit order, after squashing; `name` is the file name in dist-git.
    pub patches: Vec<PatchMeta>,
    /// File name → bytes, for every patch file to write.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// What can be wrong with the patch metadata of a range.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// A trailer value is not valid YAML.
    #[error("commit {subject:?}: trailer {token} is not valid YAML ({source}); quote the value")]
    TrailerYaml {
        /// Subject of the commit.
        subject: String,
        /// The trailer token.
        token: String,
        /// The parser's complaint.
        #[source]
        source: yaml::YamlError,
    },
    /// A metadata value has the wrong type.
    #[error("commit {subject:?}: {key} must be {expected}, not {found}")]
    WrongType {
        /// Subject of the commit.
        subject: String,
        /// The metadata key.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: String,
    },
    /// A `Patch-name` that would write outside dist-git or over a packaging file.
    #[error(
        "commit {subject:?}: Patch-name {name:?} is refused: {problem}; choose a plain file \
         name such as fix-build.patch"
    )]
    BadName {
        /// Subject of the commit.
        subject: String,
        /// The name.
        name: String,
        /// Which rule it breaks.
        problem: &'static str,
    },
    /// Two non-adjacent patches with the same name (packit's message).
    #[error("Non-adjacent patches cannot have the same name: {0}.")]
    NonAdjacentDuplicate(String),
    /// An empty legacy commit marked present_in_specfile without a name (packit's message).
    #[error(
        "Empty commit {0} is referencing a patch which is present in spec file but the name \
         is not defined in the commit metadata - please define it."
    )]
    EmptyCommitWithoutName(String),
}

/// Python truthiness of a YAML value.
fn truthy(node: Option<&Node>) -> bool {
    match node.map(|n| &n.value) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Int(i)) => *i != 0,
        Some(Value::Float(f)) => *f != 0.0,
        Some(Value::Str(s)) => !s.is_empty(),
        Some(Value::Seq(v)) => !v.is_empty(),
        Some(Value::Map(m)) => !m.is_empty(),
    }
}

fn type_error(subject: &str, key: &str, expected: &'static str, node: &Node) -> PatchError {
    PatchError::WrongType {
        subject: subject.to_string(),
        key: key.to_string(),
        expected,
        found: node.type_name().to_string(),
    }
}

/// An optional string value; `None`/null/empty behave like absent (packit uses `or`).
fn opt_str(subject: &str, key: &str, node: Option<&Node>) -> Result<Option<String>, PatchError> {
    match node {
        None => Ok(None),
        Some(n) => match &n.value {
            Value::Null => Ok(None),
            Value::Str(s) if s.is_empty() => Ok(None),
            Value::Str(s) => Ok(Some(s.clone())),
            _ => Err(type_error(subject, key, "text", n)),
        },
    }
}

fn opt_number(subject: &str, key: &str, node: Option<&Node>) -> Result<Option<u32>, PatchError> {
    match node {
        None => Ok(None),
        Some(n) => match &n.value {
            Value::Null => Ok(None),
            Value::Int(i) => u32::try_from(*i)
                .map(Some)
                .map_err(|_| type_error(subject, key, "a non-negative number", n)),
            _ => Err(type_error(subject, key, "a non-negative number", n)),
        },
    }
}

/// Collects our trailers from `git interpret-trailers --only-trailers` output into one
/// YAML mapping, exactly like packit's `from_patch` loop.
fn trailer_mapping(subject: &str, trailer_text: &str) -> Result<Vec<(Node, Node)>, PatchError> {
    let mut entries = Vec::new();
    let mut pending = String::new();
    let flush = |pending: &mut String, entries: &mut Vec<(Node, Node)>| {
        if pending.is_empty() {
            return Ok(());
        }
        let token = pending.split(": ").next().unwrap_or_default().to_string();
        let loaded = yaml::load(pending).map_err(|source| PatchError::TrailerYaml {
            subject: subject.to_string(),
            token,
            source,
        })?;
        if let Some(Node {
            value: Value::Map(map),
            ..
        }) = loaded
        {
            for (k, v) in map {
                entries.retain(|(old, _): &(Node, Node)| old.as_str() != k.as_str());
                entries.push((k, v));
            }
        }
        pending.clear();
        Ok(())
    };
    for line in pytext::splitlines(trailer_text) {
        let token = line.split(": ").next().unwrap_or_default();
        if !token.is_empty() && !token.starts_with(' ') && !pending.is_empty() {
            flush(&mut pending, &mut entries)?;
        }
        if META_TOKENS.contains(&token) || (token.starts_with(' ') && !pending.is_empty()) {
            pending.push_str(line);
            pending.push('\n');
        }
    }
    flush(&mut pending, &mut entries)?;
    Ok(entries)
}

fn get<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    map.iter()
        .rev()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// packit's `PatchMetadata.from_patch`: metadata of one format-patch file from its trailers.
pub fn from_trailers(file: &Generated) -> Result<PatchMeta, PatchError> {
    let text = String::from_utf8_lossy(&file.bytes);
    let trailer_text = trailers::only_trailers(&text);
    let trailer_text = pytext::strip(&trailer_text);
    let subject = mail::parse(&file.bytes).subject.unwrap_or_default();
    let map = trailer_mapping(&subject, trailer_text)?;
    let status = opt_str(&subject, "Patch-status", get(&map, "Patch-status"))?;
    let description = match status {
        Some(s) => s,
        None => mail::commit_message(&file.bytes, trailer_text),
    };
    Ok(PatchMeta {
        name: opt_str(&subject, "Patch-name", get(&map, "Patch-name"))?
            .unwrap_or_else(|| file.file_name.clone()),
        file: file.file_name.clone(),
        description: Some(pytext::strip(&description).to_string()),
        present_in_specfile: truthy(get(&map, "Patch-present-in-specfile")),
        ignore: truthy(get(&map, "Ignore-patch")),
        squash_commits: false,
        patch_id: opt_number(&subject, "Patch-id", get(&map, "Patch-id"))?,
        no_prefix: truthy(get(&map, "No-prefix")),
        metadata_defined: !map.is_empty(),
        commit: None,
        sha: None,
    })
}

/// Trailer-mode metadata for every generated file, in order.
pub fn trailer_metadata(files: &[Generated]) -> Result<Vec<PatchMeta>, PatchError> {
    files.iter().map(from_trailers).collect()
}

/// Whether trailer mode applies: some patch carries one of the six tokens.
pub fn mode_of(trailer_metas: &[PatchMeta]) -> Mode {
    if trailer_metas.iter().any(|m| m.metadata_defined) {
        Mode::Trailers
    } else {
        Mode::Legacy
    }
}

fn summary_of(commit: &RangeCommit) -> CommitSummary {
    CommitSummary {
        summary: commit
            .message
            .split('\n')
            .next()
            .unwrap_or_default()
            .to_string(),
        author: format!("{} <{}>", commit.author_name, commit.author_email),
    }
}

/// packit's `PatchMetadata.from_commit`: legacy YAML metadata of one commit.
fn from_commit(commit: &RangeCommit, file: Option<&str>) -> Result<PatchMeta, PatchError> {
    let subject = commit
        .message
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let node = yaml::metadata_from_message(&commit.message);
    let map: &[(Node, Node)] = match &node {
        Some(Node {
            value: Value::Map(m),
            ..
        }) => m,
        _ => &[],
    };
    let name = opt_str(&subject, "patch_name", get(map, "patch_name"))?
        .or_else(|| file.map(str::to_string))
        .unwrap_or_default();
    Ok(PatchMeta {
        file: file.map_or_else(|| name.clone(), str::to_string),
        name,
        description: opt_str(&subject, "description", get(map, "description"))?,
        present_in_specfile: truthy(get(map, "present_in_specfile")),
        ignore: truthy(get(map, "ignore")),
        squash_commits: truthy(get(map, "squash_commits")),
        patch_id: opt_number(&subject, "patch_id", get(map, "patch_id"))?,
        no_prefix: truthy(get(map, "no_prefix")),
        metadata_defined: !map.is_empty(),
        commit: Some(summary_of(commit)),
        sha: Some(commit.sha.clone()),
    })
}

/// What legacy mode produced: the patches, and empty files it creates for empty commits.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyPatches {
    /// Patches in commit order (ignored ones already dropped).
    pub patches: Vec<PatchMeta>,
    /// Names of empty files to create (empty commits that are present in the spec).
    pub empty_files: Vec<String>,
}

/// packit's `process_patches`: pair commits with generated files by sha and read their
/// legacy metadata. Commits whose changes are all excluded have no file and are skipped.
pub fn legacy_metadata(
    files: &[Generated],
    commits: &[RangeCommit],
) -> Result<LegacyPatches, PatchError> {
    let mut out = LegacyPatches {
        patches: Vec::new(),
        empty_files: Vec::new(),
    };
    for commit in commits {
        if commit.is_empty {
            let meta = from_commit(commit, None)?;
            if !meta.present_in_specfile {
                continue;
            }
            if meta.name.is_empty() {
                return Err(PatchError::EmptyCommitWithoutName(commit.sha.clone()));
            }
            out.empty_files.push(meta.name.clone());
            out.patches.push(meta);
            continue;
        }
        let sha = commit.sha.as_bytes();
        let Some(file) = files.iter().find(|f| contains(&f.bytes, sha)) else {
            continue;
        };
        let meta = from_commit(commit, Some(&file.file_name))?;
        if !meta.ignore {
            out.patches.push(meta);
        }
    }
    Ok(out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// packit's `squash_by_patch_name`: a patch with the same name as the previous one is
/// appended to that one's file.
fn squash_by_name(
    patches: Vec<PatchMeta>,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Vec<PatchMeta>, PatchError> {
    let mut kept: Vec<PatchMeta> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for patch in patches {
        if let Some(last) = kept.last().filter(|last| last.name == patch.name) {
            let bytes = files.remove(&patch.file).unwrap_or_default();
            files
                .entry(last.file.clone())
                .or_default()
                .extend_from_slice(&bytes);
            continue;
        }
        if !seen.insert(patch.name.clone()) {
            return Err(PatchError::NonAdjacentDuplicate(patch.name));
        }
        kept.push(patch);
    }
    Ok(kept)
}

/// packit's deprecated `squash_by_squash_commits` (legacy `squash_commits: true`): working
/// from the newest commit back, commits without metadata are prepended to the next "top"
/// commit's file.
fn squash_by_squash_commits(
    patches: Vec<PatchMeta>,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Vec<PatchMeta> {
    let mut newest_first = patches.into_iter().rev().peekable();
    let mut leading = Vec::new();
    while let Some(patch) = newest_first.next_if(|p| !p.squash_commits) {
        let mut bytes = files.remove(&patch.file).unwrap_or_default();
        bytes.extend_from_slice(&leading);
        leading = bytes;
    }
    let mut kept: Vec<PatchMeta> = Vec::new();
    for patch in newest_first {
        let is_top = patch.squash_commits || patch.present_in_specfile || patch.metadata_defined;
        match kept.last() {
            Some(top) if !is_top => {
                let mut bytes = files.remove(&patch.file).unwrap_or_default();
                bytes.extend_from_slice(files.get(&top.file).map_or(&[][..], Vec::as_slice));
                files.insert(top.file.clone(), bytes);
            }
            _ => {
                if kept.is_empty() && !leading.is_empty() {
                    files
                        .entry(patch.file.clone())
                        .or_default()
                        .extend_from_slice(&leading);
                }
                kept.push(patch);
            }
        }
    }
    kept.reverse();
    kept
}

/// The longest file name srcgit writes (the usual `NAME_MAX` of Linux file systems).
pub const NAME_MAX: usize = 255;

/// Why `name` cannot be a file name in dist-git, or `None` when it can: one path
/// component of letters, digits and `. _ + - , @ = ~ :` (no space, `%`, quote, shell
/// character or control character: the name lands verbatim in a spec tag, which rpm
/// expands and whose file `%patch` hands to the shell), not hidden, at most
/// [`NAME_MAX`] bytes.
pub fn plain_name_problem(name: &str) -> Option<&'static str> {
    const EXTRA: &str = "._+-,@=~:";
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > NAME_MAX {
        Some("it is longer than 255 bytes")
    } else if name.contains('/') || name.contains('\\') {
        Some("it must be a file name, not a path")
    } else if name.starts_with('.') {
        Some("it must not start with '.'")
    } else if name.starts_with('-') || name.starts_with('~') {
        Some("it must not start with '-' or '~'")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || EXTRA.contains(c))
    {
        Some(
            "it may hold only ASCII letters, digits and . _ + - , @ = ~ : \
             (no spaces, '%', quotes, shell or control characters)",
        )
    } else {
        None
    }
}

/// Refuses a `Patch-name` that is not a plain file name (packit would write outside
/// dist-git, over a packaging file, or put spec syntax into the Patch tag).
pub fn check_name(patch: &PatchMeta) -> Result<(), PatchError> {
    let problem = match plain_name_problem(&patch.name) {
        None if patch.name == "sources" => "it is dist-git's lookaside list",
        None => return Ok(()),
        Some(problem) => problem,
    };
    Err(PatchError::BadName {
        subject: patch
            .commit
            .as_ref()
            .map_or_else(|| patch.file.clone(), |c| c.summary.clone()),
        name: patch.name.clone(),
        problem,
    })
}

/// Squashes, validates and renames: the final patch list and file contents.
///
/// `files` holds every generated file by its git name (ignored patches already removed,
/// `No-prefix` ones already replaced by the caller).
pub fn assemble(
    patches: Vec<PatchMeta>,
    mode: Mode,
    mut files: BTreeMap<String, Vec<u8>>,
) -> Result<PatchPlan, PatchError> {
    for patch in &patches {
        check_name(patch)?;
    }
    let squashed = if mode == Mode::Legacy && patches.iter().any(|p| p.squash_commits) {
        squash_by_squash_commits(patches, &mut files)
    } else {
        squash_by_name(patches, &mut files)?
    };
    let mut kept_files = BTreeMap::new();
    let mut renamed = Vec::with_capacity(squashed.len());
    for mut patch in squashed {
        let bytes = files.remove(&patch.file).unwrap_or_default();
        patch.file = patch.name.clone();
        kept_files.insert(patch.name.clone(), bytes);
        renamed.push(patch);
    }
    Ok(PatchPlan {
        patches: renamed,
        files: kept_files,
    })
}

#[cfg(test)]
mod tests;
