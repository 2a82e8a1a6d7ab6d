//! Plain data types of the fake's world. State accessors on
//! [`FakeGitLab`](crate::FakeGitLab) return clones of these.

use std::collections::BTreeMap;

pub use crate::ci::*;
use crate::clock::Timestamp;

/// Numeric id of any object (users, projects, MRs, pipelines, jobs, …).
pub type Id = u64;

/// GitLab access levels (numeric values as in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessLevel {
    /// 10
    Guest = 10,
    /// 20
    Reporter = 20,
    /// 30: push to unprotected branches, create pipelines, post commit statuses.
    Developer = 30,
    /// 40
    Maintainer = 40,
    /// 50
    Owner = 50,
}

impl AccessLevel {
    /// The numeric value GitLab uses (`10`, `20`, …).
    pub fn value(self) -> u32 {
        self as u32
    }
}

/// Project visibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Only members can see it (GitLab's default for new projects).
    #[default]
    Private,
    /// Any authenticated user can read it.
    Internal,
    /// Anyone, even anonymous, can read it (and clone it).
    Public,
}

impl Visibility {
    /// `private` / `internal` / `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }
}

/// A user account.
#[derive(Clone, Debug)]
pub struct User {
    /// User id.
    pub id: Id,
    /// Login name; also the path of the user's personal namespace.
    pub username: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Whether the account is a bot (service account / project bot).
    pub bot: bool,
    /// Instance administrator.
    pub admin: bool,
    /// Id of the personal namespace.
    pub namespace_id: Id,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Whether a namespace is a group or a user's personal namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceKind {
    /// A group or subgroup.
    Group,
    /// A user's personal namespace.
    User,
}

/// A group or personal namespace.
#[derive(Clone, Debug)]
pub struct Namespace {
    /// Namespace id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Last path component.
    pub path: String,
    /// Full path (`redhat/centos-stream/rpms`).
    pub full_path: String,
    /// Group or user.
    pub kind: NamespaceKind,
    /// Parent group for subgroups.
    pub parent_id: Option<Id>,
    /// Owner of a personal namespace.
    pub owner_id: Option<Id>,
    /// Direct members (inherited by subgroups and projects).
    pub members: BTreeMap<Id, AccessLevel>,
}

/// Fork import progress (`import_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportStatus {
    /// Not imported (plain project).
    None,
    /// Fork requested.
    Scheduled,
    /// Fork being copied.
    Started,
    /// Fork ready.
    Finished,
}

impl ImportStatus {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::None => "none",
            ImportStatus::Scheduled => "scheduled",
            ImportStatus::Started => "started",
            ImportStatus::Finished => "finished",
        }
    }
}

/// A project variable exposed to CI jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiVariable {
    /// Variable name.
    pub key: String,
    /// Value.
    pub value: String,
    /// Masked in job logs.
    pub masked: bool,
    /// File-type variable.
    pub file: bool,
}

/// A project with its git repository.
#[derive(Clone, Debug)]
pub struct Project {
    /// Project id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Last path component.
    pub path: String,
    /// Full path (`redhat/centos-stream/rpms/foo`).
    pub path_with_namespace: String,
    /// Owning namespace.
    pub namespace_id: Id,
    /// Default branch (`None` for an empty repository).
    pub default_branch: Option<String>,
    /// Visibility.
    pub visibility: Visibility,
    /// Description.
    pub description: Option<String>,
    /// Parent project for forks.
    pub forked_from_id: Option<Id>,
    /// Fork import progress.
    pub import_status: ImportStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// Creator.
    pub creator_id: Id,
    /// Direct members.
    pub members: BTreeMap<Id, AccessLevel>,
    /// Jobs an MR pipeline in this project gets (`None`: no CI configured).
    pub ci: Option<CiDefinition>,
    /// Project-level CI/CD variables.
    pub ci_variables: Vec<CiVariable>,
    /// `ci_allow_fork_pipelines_to_run_in_parent_project`.
    pub allow_fork_pipelines_in_parent: bool,
    /// Virtual time at which a scheduled fork import finishes.
    pub import_finishes_at: Option<Timestamp>,
    /// `last_activity_at`: creation, then pushes, at most once an hour (see `activity.rs`).
    pub last_activity_at: Timestamp,
}

/// Merge request state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MrState {
    /// `opened`
    Opened,
    /// `closed`
    Closed,
    /// `merged`
    Merged,
    /// `locked`
    Locked,
}

impl MrState {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            MrState::Opened => "opened",
            MrState::Closed => "closed",
            MrState::Merged => "merged",
            MrState::Locked => "locked",
        }
    }
}

/// A merge request. It lives in its target project (`project_id`).
#[derive(Clone, Debug)]
pub struct MergeRequest {
    /// Instance-wide id.
    pub id: Id,
    /// Per-target-project number (`!iid`).
    pub iid: u64,
    /// Target project.
    pub project_id: Id,
    /// Source project (a fork for fork MRs).
    pub source_project_id: Id,
    /// Source branch.
    pub source_branch: String,
    /// Target branch.
    pub target_branch: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Author.
    pub author_id: Id,
    /// State.
    pub state: MrState,
    /// Head commit (`sha`, `diff_refs.head_sha`).
    pub sha: String,
    /// Every head the MR had, oldest first.
    pub sha_history: Vec<String>,
    /// Merge base with the target branch.
    pub base_sha: Option<String>,
    /// Target branch head when the current diff was computed.
    pub start_sha: Option<String>,
    /// Id of the current diff version.
    pub diff_id: Id,
    /// Number of changed files.
    pub changes_count: usize,
    /// Labels.
    pub labels: Vec<String>,
    /// Draft flag.
    pub draft: bool,
    /// Squash on merge.
    pub squash: bool,
    /// `allow_collaboration`.
    pub allow_collaboration: bool,
    /// `should_remove_source_branch`.
    pub remove_source_branch: Option<bool>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
    /// When closed.
    pub closed_at: Option<Timestamp>,
    /// Who closed it.
    pub closed_by_id: Option<Id>,
}

/// A note (comment) on a merge request.
#[derive(Clone, Debug)]
pub struct Note {
    /// Note id.
    pub id: Id,
    /// Target project of the MR.
    pub project_id: Id,
    /// The MR's id.
    pub mr_id: Id,
    /// The MR's iid.
    pub mr_iid: u64,
    /// Author.
    pub author_id: Id,
    /// Markdown body.
    pub body: String,
    /// System note (generated by the fake on pushes, title changes, close/reopen).
    pub system: bool,
    /// Internal note.
    pub internal: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}
