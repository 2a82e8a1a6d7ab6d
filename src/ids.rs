//! Shared vocabulary of every layer: newtypes for GitLab identifiers, so a project id is
//! never passed where an MR iid is expected (the id/iid mix-up is a classic GitLab bug),
//! and GitLab's status words ([`CiStatus`], [`CommitState`]). Imports nothing of the crate.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A project's numeric id.
    ProjectId
);
id_type!(
    /// A merge request's per-project number (`iid`, the `!N` in the UI).
    MrIid
);
id_type!(
    /// A pipeline's instance-wide id.
    PipelineId
);
id_type!(
    /// A CI job's instance-wide id.
    JobId
);

/// A project's full path, e.g. `redhat/centos-stream/src/quill`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectPath(pub String);

impl ProjectPath {
    /// The last component: the project's own name (`quill`).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Everything before the last `/` (`redhat/centos-stream/src`).
    pub fn namespace(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(ns, _)| ns)
    }

    /// Whether the project sits directly in namespace `ns`.
    pub fn is_in(&self, ns: &str) -> bool {
        self.namespace() == ns.trim_end_matches('/')
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full 40-hex commit sha.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitSha(pub String);

impl CommitSha {
    /// Parses a full hex sha (lower-cased).
    pub fn parse(s: &str) -> Option<CommitSha> {
        (s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| CommitSha(s.to_ascii_lowercase()))
    }

    /// The first 8 characters.
    pub fn short(&self) -> &str {
        &self.0[..8.min(self.0.len())]
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_path_parts() {
        let p = ProjectPath("redhat/centos-stream/src/quill".into());
        assert_eq!(p.name(), "quill");
        assert_eq!(p.namespace(), "redhat/centos-stream/src");
        assert!(p.is_in("redhat/centos-stream/src"));
        assert!(p.is_in("redhat/centos-stream/src/"));
        assert!(!p.is_in("redhat/centos-stream"));
        assert!(!p.is_in("redhat/centos-stream/sr"));
    }

    #[test]
    fn shas_are_validated() {
        assert!(CommitSha::parse("1971dad92d7de641ef737f6e1b275e5c6d056d65").is_some());
        assert!(CommitSha::parse("1971dad9").is_none());
        assert!(CommitSha::parse("zz71dad92d7de641ef737f6e1b275e5c6d056d65").is_none());
    }
}

/// A pipeline or job status as GitLab reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiStatus {
    /// Not yet processed.
    Created,
    /// Waiting for a resource group.
    WaitingForResource,
    /// Preparing the environment.
    Preparing,
    /// Queued for a runner.
    Pending,
    /// Running.
    Running,
    /// Finished successfully.
    Success,
    /// Finished with a failure.
    Failed,
    /// Being canceled.
    Canceling,
    /// Canceled.
    Canceled,
    /// Skipped.
    Skipped,
    /// Waiting for someone to start it.
    Manual,
    /// Scheduled for later.
    Scheduled,
    /// Waiting for an external callback.
    WaitingForCallback,
    /// A status this srcgit does not know (newer GitLab).
    #[serde(other)]
    Unknown,
}

impl CiStatus {
    /// Whether a *pipeline* in this status has reached its verdict.
    pub fn pipeline_finished(self) -> bool {
        match self {
            CiStatus::Success | CiStatus::Failed | CiStatus::Canceled | CiStatus::Skipped => true,
            CiStatus::Created
            | CiStatus::WaitingForResource
            | CiStatus::Preparing
            | CiStatus::Pending
            | CiStatus::Running
            | CiStatus::Canceling
            | CiStatus::Manual
            | CiStatus::Scheduled
            | CiStatus::WaitingForCallback
            | CiStatus::Unknown => false,
        }
    }

    /// The word GitLab uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CiStatus::Created => "created",
            CiStatus::WaitingForResource => "waiting_for_resource",
            CiStatus::Preparing => "preparing",
            CiStatus::Pending => "pending",
            CiStatus::Running => "running",
            CiStatus::Success => "success",
            CiStatus::Failed => "failed",
            CiStatus::Canceling => "canceling",
            CiStatus::Canceled => "canceled",
            CiStatus::Skipped => "skipped",
            CiStatus::Manual => "manual",
            CiStatus::Scheduled => "scheduled",
            CiStatus::WaitingForCallback => "waiting_for_callback",
            CiStatus::Unknown => "unknown",
        }
    }
}

/// The `state` of an external commit status (`POST /projects/:id/statuses/:sha`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitState {
    /// `pending`
    Pending,
    /// `running`
    Running,
    /// `success`
    Success,
    /// `failed`
    Failed,
    /// `canceled`
    Canceled,
    /// `skipped`
    Skipped,
}

impl CommitState {
    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitState::Pending => "pending",
            CommitState::Running => "running",
            CommitState::Success => "success",
            CommitState::Failed => "failed",
            CommitState::Canceled => "canceled",
            CommitState::Skipped => "skipped",
        }
    }

    /// Parses the API value.
    pub fn parse(s: &str) -> Option<CommitState> {
        Some(match s {
            "pending" => CommitState::Pending,
            "running" => CommitState::Running,
            "success" => CommitState::Success,
            "failed" => CommitState::Failed,
            "canceled" => CommitState::Canceled,
            "skipped" => CommitState::Skipped,
            _ => return None,
        })
    }

    /// Final states end an external job; a later post starts a new one.
    pub fn is_final(self) -> bool {
        !matches!(self, CommitState::Pending | CommitState::Running)
    }
}
