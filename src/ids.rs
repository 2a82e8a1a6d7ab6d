//! Newtypes for GitLab identifiers, so a project id is never passed where an MR iid is
//! expected (the id/iid mix-up is a classic GitLab bug).

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
