//! The fake's world: every object, id counters, lookups and permission checks.
//! One `State` sits behind one mutex; all mutations happen under it.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::clock::{Clock, Timestamp};
use crate::git::Git;
use crate::model::*;

/// A personal access token.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub value: String,
    pub user_id: Id,
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD`, shown by `GET /personal_access_tokens/self` only.
    pub expires_at: Option<String>,
}

/// Work the fake does later in virtual time.
#[derive(Clone, Debug)]
pub(crate) enum Scheduled {
    /// Create an MR pipeline (GitLab creates them asynchronously).
    MrPipeline {
        mr_id: Id,
        user_id: Id,
        at: Timestamp,
    },
}

/// Tunables copied from [`Options`](crate::Options).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub fork_import_delay: Duration,
    pub mr_pipeline_delay: Duration,
    pub server_version: String,
}

/// Id ranges are disjoint per object type so that mixing up, say, a pipeline id
/// and a job id in a client yields a 404 instead of silently working.
const ID_BASES: [(IdKind, u64); 7] = [
    (IdKind::User, 1),
    (IdKind::Namespace, 100),
    (IdKind::Project, 1000),
    (IdKind::Mr, 5000),
    (IdKind::Note, 9000),
    (IdKind::Pipeline, 20000),
    (IdKind::Job, 300_000),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum IdKind {
    User,
    Namespace,
    Project,
    Mr,
    Note,
    Pipeline,
    Job,
}

pub(crate) struct State {
    pub clock: Clock,
    pub git: Git,
    pub base_url: String,
    pub settings: Settings,
    counters: BTreeMap<IdKind, u64>,
    pub users: BTreeMap<Id, User>,
    pub tokens: Vec<Token>,
    pub namespaces: BTreeMap<Id, Namespace>,
    pub projects: BTreeMap<Id, Project>,
    pub mrs: BTreeMap<Id, MergeRequest>,
    pub notes: BTreeMap<Id, Note>,
    pub pipelines: BTreeMap<Id, Pipeline>,
    pub jobs: BTreeMap<Id, Job>,
    /// pipeline id → ids of its jobs (builds and external statuses), ascending.
    job_index: BTreeMap<Id, Vec<Id>>,
    pub scheduled: Vec<Scheduled>,
    pub mr_iids: BTreeMap<Id, u64>,
    pub pipeline_iids: BTreeMap<Id, u64>,
    pub diff_ids: u64,
}

impl State {
    pub(crate) fn new(clock: Clock, git: Git, base_url: String, settings: Settings) -> Self {
        State {
            clock,
            git,
            base_url,
            settings,
            counters: ID_BASES.iter().copied().collect(),
            users: BTreeMap::new(),
            tokens: Vec::new(),
            namespaces: BTreeMap::new(),
            projects: BTreeMap::new(),
            mrs: BTreeMap::new(),
            notes: BTreeMap::new(),
            pipelines: BTreeMap::new(),
            jobs: BTreeMap::new(),
            job_index: BTreeMap::new(),
            scheduled: Vec::new(),
            mr_iids: BTreeMap::new(),
            pipeline_iids: BTreeMap::new(),
            diff_ids: 70000,
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn next_id(&mut self, kind: IdKind) -> Id {
        let c = self.counters.entry(kind).or_insert(1);
        let id = *c;
        *c += 1;
        id
    }

    pub(crate) fn next_mr_iid(&mut self, project: Id) -> u64 {
        let c = self.mr_iids.entry(project).or_insert(0);
        *c += 1;
        *c
    }

    pub(crate) fn next_pipeline_iid(&mut self, project: Id) -> u64 {
        let c = self.pipeline_iids.entry(project).or_insert(0);
        *c += 1;
        *c
    }

    pub(crate) fn next_diff_id(&mut self) -> Id {
        self.diff_ids += 1;
        self.diff_ids
    }

    /// A fresh unguessable-enough token string.
    pub(crate) fn new_secret(&self, prefix: &str) -> String {
        let s = std::collections::hash_map::RandomState::new();
        let mut h1 = s.build_hasher();
        h1.write_i64(self.now().millis());
        h1.write_usize(self.jobs.len());
        let mut h2 = s.build_hasher();
        h2.write_u64(h1.finish());
        format!("{prefix}{:016x}{:04x}", h1.finish(), h2.finish() & 0xffff)
    }

    // ---------- lookups ----------

    /// Finds a project by numeric id or (already percent-decoded) full path.
    pub(crate) fn find_project(&self, key: &str) -> Option<&Project> {
        if let Ok(id) = key.parse::<Id>() {
            return self.projects.get(&id);
        }
        let key = key.trim_matches('/');
        self.projects
            .values()
            .find(|p| p.path_with_namespace.eq_ignore_ascii_case(key))
    }

    pub(crate) fn find_namespace_by_path(&self, full_path: &str) -> Option<&Namespace> {
        let full_path = full_path.trim_matches('/');
        self.namespaces
            .values()
            .find(|n| n.full_path.eq_ignore_ascii_case(full_path))
    }

    pub(crate) fn find_user_by_name(&self, username: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub(crate) fn token(&self, value: &str) -> Option<&Token> {
        if value.is_empty() {
            return None;
        }
        self.tokens.iter().find(|t| t.value == value)
    }

    /// The job owning a CI job token, if that job is still pending or running.
    pub(crate) fn job_by_token(&self, value: &str) -> Option<&Job> {
        if value.is_empty() {
            return None;
        }
        self.jobs
            .values()
            .find(|j| j.token == value && j.status.is_active())
    }

    /// Every secret a client might send (for log redaction).
    pub(crate) fn all_secrets(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tokens.iter().map(|t| t.value.clone()).collect();
        v.extend(
            self.jobs
                .values()
                .filter(|j| !j.token.is_empty())
                .map(|j| j.token.clone()),
        );
        v
    }

    pub(crate) fn mr_by_iid(&self, project: Id, iid: u64) -> Option<&MergeRequest> {
        self.mrs
            .values()
            .find(|m| m.project_id == project && m.iid == iid)
    }

    /// Jobs and external statuses of a pipeline, by id.
    pub(crate) fn pipeline_jobs(&self, pipeline: Id) -> impl Iterator<Item = &Job> {
        self.job_ids(pipeline)
            .into_iter()
            .filter_map(move |id| self.jobs.get(&id))
    }

    /// Ids of a pipeline's jobs, ascending.
    pub(crate) fn job_ids(&self, pipeline: Id) -> Vec<Id> {
        self.job_index.get(&pipeline).cloned().unwrap_or_default()
    }

    /// Stores a new job (keeps the pipeline index).
    pub(crate) fn insert_job(&mut self, job: Job) {
        let ids = self.job_index.entry(job.pipeline_id).or_default();
        ids.push(job.id);
        ids.sort_unstable();
        self.jobs.insert(job.id, job);
    }

    // ---------- permissions ----------

    pub(crate) fn namespace_chain(&self, mut ns: Option<Id>) -> Vec<&Namespace> {
        let mut out = Vec::new();
        while let Some(id) = ns {
            match self.namespaces.get(&id) {
                Some(n) if out.len() < 32 => {
                    out.push(n);
                    ns = n.parent_id;
                }
                _ => break,
            }
        }
        out
    }

    /// Highest access of `user` to namespace `ns` (direct or inherited).
    pub(crate) fn namespace_access(&self, user: Id, ns: Id) -> Option<AccessLevel> {
        if self.users.get(&user).is_some_and(|u| u.admin) {
            return Some(AccessLevel::Owner);
        }
        self.namespace_chain(Some(ns))
            .into_iter()
            .filter_map(|n| {
                if n.owner_id == Some(user) {
                    Some(AccessLevel::Owner)
                } else {
                    n.members.get(&user).copied()
                }
            })
            .max()
    }

    /// Highest access of `user` to `project` (project, group chain, owner).
    pub(crate) fn access_level(&self, user: Id, project: Id) -> Option<AccessLevel> {
        let p = self.projects.get(&project)?;
        let direct = p.members.get(&user).copied();
        let inherited = self.namespace_access(user, p.namespace_id);
        direct.max(inherited)
    }

    /// At least `level` in `project`.
    pub(crate) fn can(&self, user: Id, project: Id, level: AccessLevel) -> bool {
        self.access_level(user, project).is_some_and(|l| l >= level)
    }

    /// Whether `user` (or anonymous) may see the project.
    pub(crate) fn can_read(&self, user: Option<Id>, project: Id) -> bool {
        let Some(p) = self.projects.get(&project) else {
            return false;
        };
        match (p.visibility, user) {
            (Visibility::Public, _) => true,
            (Visibility::Internal, Some(_)) => true,
            (_, Some(u)) => self.access_level(u, project).is_some(),
            (_, None) => false,
        }
    }

    /// Whether `user` may create projects in namespace `ns`.
    pub(crate) fn can_create_in_namespace(&self, user: Id, ns: Id) -> bool {
        let Some(n) = self.namespaces.get(&ns) else {
            return false;
        };
        match n.kind {
            NamespaceKind::User => {
                n.owner_id == Some(user) || self.users.get(&user).is_some_and(|u| u.admin)
            }
            NamespaceKind::Group => self
                .namespace_access(user, ns)
                .is_some_and(|l| l >= AccessLevel::Developer),
        }
    }

    // ---------- urls ----------

    pub(crate) fn project_url(&self, project: Id) -> String {
        match self.projects.get(&project) {
            Some(p) => format!("{}/{}", self.base_url, p.path_with_namespace),
            None => self.base_url.clone(),
        }
    }

    pub(crate) fn project_path(&self, project: Id) -> String {
        self.projects
            .get(&project)
            .map(|p| p.path_with_namespace.clone())
            .unwrap_or_default()
    }

    pub(crate) fn user_url(&self, user: Id) -> String {
        match self.users.get(&user) {
            Some(u) => format!("{}/{}", self.base_url, u.username),
            None => self.base_url.clone(),
        }
    }

    pub(crate) fn pipeline_url(&self, p: &Pipeline) -> String {
        format!("{}/-/pipelines/{}", self.project_url(p.project_id), p.id)
    }

    pub(crate) fn job_url(&self, j: &Job) -> String {
        format!("{}/-/jobs/{}", self.project_url(j.project_id), j.id)
    }

    pub(crate) fn mr_url(&self, m: &MergeRequest) -> String {
        format!(
            "{}/-/merge_requests/{}",
            self.project_url(m.project_id),
            m.iid
        )
    }

    /// `host:port` of the base URL.
    pub(crate) fn host_port(&self) -> &str {
        self.base_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.base_url)
    }
}
