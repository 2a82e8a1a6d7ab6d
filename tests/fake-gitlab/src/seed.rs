//! Seeding API: plain Rust methods that build the world before (or while) the
//! code under test talks to the fake. Seeding skips HTTP and permission checks
//! but keeps GitLab's invariants (unique paths, MR duplicate rule, …).

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::*;
use crate::mrs::{self, CreateOpts, MrError, NewMr};
use crate::pipelines::{self, NewPipeline};
use crate::projects::{self, ForkError, NewProject};
use crate::server::FakeGitLab;
use crate::specs::*;
use crate::state::{IdKind, State, Token};

fn err<T>(msg: impl Into<String>) -> Result<T, SeedError> {
    Err(SeedError(msg.into()))
}

pub(crate) fn project_id(st: &State, key: &str) -> Result<Id, SeedError> {
    st.find_project(key)
        .map(|p| p.id)
        .ok_or_else(|| SeedError(format!("no project {key:?}")))
}

pub(crate) fn user_id(st: &State, name: &str) -> Result<Id, SeedError> {
    st.find_user_by_name(name)
        .map(|u| u.id)
        .ok_or_else(|| SeedError(format!("no user {name:?}")))
}

/// Creates the group chain for `full_path`; returns the last group's id.
fn ensure_groups(st: &mut State, full_path: &str) -> Result<Id, SeedError> {
    let mut parent: Option<Id> = None;
    let mut path = String::new();
    for seg in full_path.split('/').filter(|s| !s.is_empty()) {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(seg);
        if let Some(n) = st.find_namespace_by_path(&path) {
            parent = Some(n.id);
            continue;
        }
        let id = st.next_id(IdKind::Namespace);
        st.namespaces.insert(
            id,
            Namespace {
                id,
                name: seg.to_string(),
                path: seg.to_string(),
                full_path: path.clone(),
                kind: NamespaceKind::Group,
                parent_id: parent,
                owner_id: None,
                members: BTreeMap::new(),
            },
        );
        parent = Some(id);
    }
    parent.ok_or_else(|| SeedError(format!("empty namespace path {full_path:?}")))
}

fn local_head_branch(local: &Path) -> Option<String> {
    let out = crate::git::git_command()
        .arg("-C")
        .arg(local)
        .args(["symbolic-ref", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

impl FakeGitLab {
    /// Creates a user (and its personal namespace).
    pub fn add_user(&self, spec: UserSpec) -> Result<User, SeedError> {
        let mut st = self.shared.lock_state();
        if st.find_user_by_name(&spec.username).is_some()
            || st.find_namespace_by_path(&spec.username).is_some()
        {
            return err(format!("user or namespace {:?} exists", spec.username));
        }
        for (t, _) in &spec.tokens {
            if st.token(t).is_some() {
                return err(format!("token for {:?} already in use", spec.username));
            }
        }
        let id = st.next_id(IdKind::User);
        let ns = st.next_id(IdKind::Namespace);
        let now = st.now();
        let user = User {
            id,
            name: spec.name.clone().unwrap_or_else(|| spec.username.clone()),
            email: spec
                .email
                .clone()
                .unwrap_or_else(|| format!("{}@example.com", spec.username)),
            username: spec.username.clone(),
            bot: spec.bot,
            admin: spec.admin,
            namespace_id: ns,
            created_at: now,
        };
        st.namespaces.insert(
            ns,
            Namespace {
                id: ns,
                name: user.name.clone(),
                path: spec.username.clone(),
                full_path: spec.username.clone(),
                kind: NamespaceKind::User,
                parent_id: None,
                owner_id: Some(id),
                members: BTreeMap::new(),
            },
        );
        for (value, scopes) in spec.tokens {
            st.tokens.push(Token {
                value,
                user_id: id,
                scopes,
                expires_at: None,
            });
        }
        st.users.insert(id, user.clone());
        Ok(user)
    }

    /// Adds another token (`scopes` as in [`UserSpec::token_with_scopes`]).
    pub fn add_token(&self, username: &str, token: &str, scopes: &[&str]) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let uid = user_id(&st, username)?;
        if st.token(token).is_some() {
            return err("token already in use");
        }
        st.tokens.push(Token {
            value: token.to_string(),
            user_id: uid,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
        });
        Ok(())
    }

    /// Revokes a token (requests with it get 401 afterwards).
    pub fn revoke_token(&self, token: &str) {
        self.shared.lock_state().tokens.retain(|t| t.value != token);
    }

    /// Creates a group and its missing parents (`redhat/centos-stream/rpms`).
    pub fn add_group(&self, full_path: &str) -> Result<Namespace, SeedError> {
        let mut st = self.shared.lock_state();
        let id = ensure_groups(&mut st, full_path)?;
        st.namespaces
            .get(&id)
            .cloned()
            .ok_or_else(|| SeedError("group vanished".into()))
    }

    /// Gives `username` `level` in a group (inherited by subgroups and projects).
    pub fn add_group_member(
        &self,
        group: &str,
        username: &str,
        level: AccessLevel,
    ) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let uid = user_id(&st, username)?;
        let gid = st
            .find_namespace_by_path(group)
            .filter(|n| n.kind == NamespaceKind::Group)
            .map(|n| n.id)
            .ok_or_else(|| SeedError(format!("no group {group:?}")))?;
        if let Some(g) = st.namespaces.get_mut(&gid) {
            g.members.insert(uid, level);
        }
        Ok(())
    }

    /// Creates a project (and missing groups), optionally seeded from a local repository.
    pub fn add_project(&self, spec: ProjectSpec) -> Result<Project, SeedError> {
        let (ns_path, path) = match spec.full_path.trim_matches('/').rsplit_once('/') {
            Some((n, p)) => (n.to_string(), p.to_string()),
            None => {
                return err(format!(
                    "project path {:?} has no namespace",
                    spec.full_path
                ));
            }
        };
        let mut st = self.shared.lock_state();
        if st.find_project(&spec.full_path).is_some() {
            return err(format!("project {:?} exists", spec.full_path));
        }
        let ns = match st.find_namespace_by_path(&ns_path) {
            Some(n) => n.id,
            None => ensure_groups(&mut st, &ns_path)?,
        };
        let creator = st
            .namespaces
            .get(&ns)
            .and_then(|n| n.owner_id)
            .or_else(|| st.users.keys().next().copied())
            .unwrap_or(0);
        let default_branch = spec
            .default_branch
            .clone()
            .or_else(|| spec.seed_from.as_deref().and_then(local_head_branch))
            .unwrap_or_else(|| "main".into());
        let id = projects::create_project(
            &mut st,
            NewProject {
                namespace_id: ns,
                name: spec.name.clone().unwrap_or_else(|| path.clone()),
                path,
                default_branch: default_branch.clone(),
                visibility: spec.visibility,
                description: spec.description.clone(),
                creator_id: creator,
                forked_from_id: None,
                import_status: ImportStatus::None,
            },
        )
        .map_err(|e| SeedError(e.to_string()))?;
        if let Some(local) = &spec.seed_from {
            st.git
                .fetch_all_from_path(id, local)
                .map_err(|e| SeedError(e.to_string()))?;
        }
        if let Some(p) = st.projects.get_mut(&id) {
            p.ci = spec.ci.clone();
        }
        st.projects
            .get(&id)
            .cloned()
            .ok_or_else(|| SeedError("project vanished".into()))
    }

    /// Gives `username` `level` directly in a project.
    pub fn add_project_member(
        &self,
        project: &str,
        username: &str,
        level: AccessLevel,
    ) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let uid = user_id(&st, username)?;
        let pid = project_id(&st, project)?;
        if let Some(p) = st.projects.get_mut(&pid) {
            p.members.insert(uid, level);
        }
        Ok(())
    }

    /// Pushes all branches and tags of a local repository into a project, as
    /// `pusher`, with GitLab's post-receive effects (MR heads and pipelines).
    pub fn push_from(
        &self,
        project: &str,
        local_repo: impl AsRef<Path>,
        pusher: &str,
    ) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        let uid = user_id(&st, pusher)?;
        let before = st.git.heads(pid);
        st.git
            .fetch_all_from_path(pid, local_repo.as_ref())
            .map_err(|e| SeedError(e.to_string()))?;
        let after = st.git.heads(pid);
        if after != before {
            crate::activity::pushed(&mut st, pid);
        }
        for (branch, new) in &after {
            let old = before.get(branch);
            if old != Some(new) {
                mrs::on_branch_pushed(&mut st, pid, branch, old.map(String::as_str), new, uid);
            }
        }
        Ok(())
    }

    /// Forks `parent` for `username` into `namespace` (default: the user's own),
    /// import already `finished`.
    pub fn fork_project(
        &self,
        parent: &str,
        username: &str,
        namespace: Option<&str>,
    ) -> Result<Project, SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, parent)?;
        let uid = user_id(&st, username)?;
        let ns = match namespace {
            Some(n) => Some(
                st.find_namespace_by_path(n)
                    .map(|n| n.id)
                    .ok_or_else(|| SeedError(format!("no namespace {n:?}")))?,
            ),
            None => None,
        };
        let id = projects::fork(&mut st, pid, uid, ns, None, None, true).map_err(|e| match e {
            ForkError::NotFound(w) => SeedError(format!("fork: {w} not found or not writable")),
            ForkError::Conflict(v) => SeedError(format!("fork: {v}")),
            ForkError::Git(g) => SeedError(g.to_string()),
        })?;
        st.projects
            .get(&id)
            .cloned()
            .ok_or_else(|| SeedError("fork vanished".into()))
    }

    /// Sets the jobs of future MR pipelines in a project (`None`: no CI).
    pub fn set_ci(&self, project: &str, ci: Option<CiDefinition>) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        if let Some(p) = st.projects.get_mut(&pid) {
            p.ci = ci;
        }
        Ok(())
    }

    /// Adds or replaces a project CI/CD variable.
    pub fn set_ci_variable(
        &self,
        project: &str,
        key: &str,
        value: &str,
        masked: bool,
    ) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        if let Some(p) = st.projects.get_mut(&pid) {
            p.ci_variables.retain(|v| v.key != key);
            p.ci_variables.push(CiVariable {
                key: key.into(),
                value: value.into(),
                masked,
                file: false,
            });
        }
        Ok(())
    }

    /// Sets `ci_allow_fork_pipelines_to_run_in_parent_project` (default true).
    pub fn set_allow_fork_pipelines_in_parent(
        &self,
        project: &str,
        allow: bool,
    ) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        if let Some(p) = st.projects.get_mut(&pid) {
            p.allow_fork_pipelines_in_parent = allow;
        }
        Ok(())
    }

    /// Creates a merge request (GitLab's validations apply: 409-style duplicate
    /// and same-branch errors come back as [`SeedError`]).
    pub fn create_merge_request(&self, spec: MrSpec) -> Result<MergeRequest, SeedError> {
        let mut st = self.shared.lock_state();
        let source = project_id(&st, &spec.source_project)?;
        let target = project_id(&st, &spec.target_project)?;
        let author = user_id(&st, &spec.author)?;
        let res = mrs::create_mr(
            &mut st,
            NewMr {
                source_project: source,
                source_branch: spec.source_branch,
                target_project: target,
                target_branch: spec.target_branch,
                title: spec.title,
                description: spec.description,
                author,
                labels: spec.labels,
                squash: false,
                remove_source_branch: None,
                allow_collaboration: false,
            },
            CreateOpts {
                check_access: false,
                pipeline: spec.run_ci,
            },
        );
        let id = res.map_err(|e| match e {
            MrError::Conflict(m) => SeedError(m),
            MrError::Unprocessable(v) => SeedError(v.join("; ")),
            other => SeedError(format!("{other:?}")),
        })?;
        st.mrs
            .get(&id)
            .cloned()
            .ok_or_else(|| SeedError("MR vanished".into()))
    }

    /// Creates the MR pipeline in which the srcgit job runs (`merge_request_event`,
    /// `detached`, ref `refs/merge-requests/<iid>/head`): one CI job that goes
    /// `running` immediately and stays there until
    /// [`FakeGitLab::set_job_status`] — the test plays the runner.
    pub fn create_srcgit_pipeline(
        &self,
        mr: &MergeRequest,
        job: SrcgitJob,
    ) -> Result<SeededJob, SeedError> {
        let mut st = self.shared.lock_state();
        let m = st
            .mrs
            .get(&mr.id)
            .cloned()
            .ok_or_else(|| SeedError(format!("no MR {}", mr.id)))?;
        let user = match &job.user {
            Some(u) => user_id(&st, u)?,
            None => m.author_id,
        };
        let project = match job.location {
            PipelineLocation::Source => m.source_project_id,
            PipelineLocation::Target => m.project_id,
            PipelineLocation::Auto => {
                if st.can(user, m.project_id, AccessLevel::Developer) {
                    m.project_id
                } else {
                    m.source_project_id
                }
            }
        };
        let mut plan = CiJob::new(job.name.clone(), job.stage.clone())
            .outcome(Outcome::External)
            .queue(std::time::Duration::ZERO)
            .trace(format!(
                "Running with fake-gitlab\nsrcgit job {}\n",
                job.name
            ));
        plan.script = job.script.clone();
        plan.variables = job.variables.clone();
        let pipeline_id = pipelines::create_pipeline(
            &mut st,
            NewPipeline {
                project_id: project,
                sha: m.sha.clone(),
                ref_name: mrs::mr_ref(m.iid),
                source: "merge_request_event",
                user_id: user,
                merge_request_id: Some(m.id),
                event_type: Some("detached"),
            },
            &CiDefinition::new(vec![plan]),
        );
        let j = st
            .pipeline_jobs(pipeline_id)
            .next()
            .cloned()
            .ok_or_else(|| SeedError("job vanished".into()))?;
        Ok(SeededJob {
            project_id: project,
            pipeline_id,
            job_id: j.id,
            token: j.token,
        })
    }

    /// Adds a (non-system) note to an MR, as `author`.
    pub fn add_note(
        &self,
        project: &str,
        iid: u64,
        author: &str,
        body: &str,
    ) -> Result<Note, SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        let uid = user_id(&st, author)?;
        let mr = st
            .mr_by_iid(pid, iid)
            .map(|m| m.id)
            .ok_or_else(|| SeedError(format!("no MR !{iid} in {project:?}")))?;
        let id = mrs::add_note(&mut st, mr, uid, body.to_string(), false, false);
        st.notes
            .get(&id)
            .cloned()
            .ok_or_else(|| SeedError("note vanished".into()))
    }

    /// Forces a job (or external status) into `status`, like a runner reporting
    /// it; later stages of its pipeline then proceed.
    pub fn set_job_status(&self, job_id: Id, status: JobStatus) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        pipelines::force_status(&mut st, job_id, status)
            .ok_or_else(|| SeedError(format!("no job {job_id}")))
    }
}
