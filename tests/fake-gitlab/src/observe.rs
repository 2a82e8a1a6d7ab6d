//! State accessors and injection management for tests. Everything returns
//! clones; nothing here goes through HTTP or appears in the request log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use regex::Regex;

use crate::inject::{LoggedRequest, Rule, RuleEntry, RuleHandle};
use crate::model::*;
use crate::mrs;
use crate::server::FakeGitLab;

impl FakeGitLab {
    // ---------- injection ----------

    /// Installs a failure-injection rule (rules are tried in insertion order).
    pub fn inject(&self, rule: Rule) -> RuleHandle {
        let id = self.shared.next_rule.fetch_add(1, Ordering::Relaxed);
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RuleEntry::new(id, rule));
        RuleHandle(id)
    }

    /// How many requests a rule has answered (or delayed).
    pub fn rule_hits(&self, h: RuleHandle) -> usize {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|e| e.id == h.0)
            .map(|e| e.hits)
            .unwrap_or(0)
    }

    /// Removes a rule.
    pub fn remove_rule(&self, h: RuleHandle) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|e| e.id != h.0);
    }

    /// Removes every rule.
    pub fn clear_rules(&self) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    // ---------- request log ----------

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The requests from number `seq` on (cheap to poll: only those are copied).
    pub fn requests_since(&self, seq: u64) -> Vec<LoggedRequest> {
        let log = self.shared.log.lock().unwrap_or_else(|p| p.into_inner());
        let start = log.partition_point(|r| r.seq < seq);
        log[start..].to_vec()
    }

    /// Requests with this method (`"*"` for any) whose raw or decoded path
    /// matches `path_regex`. Panics on an invalid regex.
    pub fn requests_matching(&self, method: &str, path_regex: &str) -> Vec<LoggedRequest> {
        let re =
            Regex::new(path_regex).unwrap_or_else(|e| panic!("invalid regex {path_regex:?}: {e}"));
        self.requests()
            .into_iter()
            .filter(|r| method == "*" || r.method.eq_ignore_ascii_case(method))
            .filter(|r| {
                re.is_match(&r.path)
                    || re.is_match(
                        &percent_encoding::percent_decode_str(&r.path).decode_utf8_lossy(),
                    )
            })
            .collect()
    }

    /// API requests (`/api/…`) that arrived in `[from, to)`, measured as
    /// wall-clock time since the server started ([`LoggedRequest::elapsed`]).
    pub fn api_requests_between(&self, from: Duration, to: Duration) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/") && r.elapsed >= from && r.elapsed < to)
            .collect()
    }

    /// Requests no route matched (they got 404 `{"message":"404 Not Found"}`).
    pub fn unmatched_requests(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.unmatched)
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    // ---------- state ----------

    fn pid(&self, project: &str) -> Option<Id> {
        self.shared.lock_state().find_project(project).map(|p| p.id)
    }

    /// All users.
    pub fn users(&self) -> Vec<User> {
        self.shared.lock_state().users.values().cloned().collect()
    }

    /// A user by username.
    pub fn user(&self, username: &str) -> Option<User> {
        self.shared
            .lock_state()
            .find_user_by_name(username)
            .cloned()
    }

    /// All projects.
    pub fn projects(&self) -> Vec<Project> {
        self.shared
            .lock_state()
            .projects
            .values()
            .cloned()
            .collect()
    }

    /// A project by full path or numeric id.
    pub fn project(&self, project: &str) -> Option<Project> {
        self.shared.lock_state().find_project(project).cloned()
    }

    /// Direct forks of a project.
    pub fn forks(&self, project: &str) -> Vec<Project> {
        let Some(pid) = self.pid(project) else {
            return Vec::new();
        };
        let st = self.shared.lock_state();
        st.projects
            .values()
            .filter(|p| p.forked_from_id == Some(pid))
            .cloned()
            .collect()
    }

    /// Path of a project's bare repository on disk (read it with `git --git-dir`).
    pub fn repo_path(&self, project: &str) -> Option<PathBuf> {
        let st = self.shared.lock_state();
        st.find_project(project).map(|p| st.git.repo_path(p.id))
    }

    /// `http://127.0.0.1:PORT/<path>.git`.
    pub fn clone_url(&self, project: &str) -> Option<String> {
        self.project(project)
            .map(|p| format!("{}/{}.git", self.url(), p.path_with_namespace))
    }

    /// Clone URL with `user:token@` credentials.
    pub fn authenticated_clone_url(&self, project: &str, token: &str) -> Option<String> {
        self.project(project).map(|p| {
            format!(
                "http://oauth2:{token}@{}/{}.git",
                self.url().trim_start_matches("http://"),
                p.path_with_namespace
            )
        })
    }

    /// Branch name → head sha.
    pub fn branches(&self, project: &str) -> BTreeMap<String, String> {
        let st = self.shared.lock_state();
        st.find_project(project)
            .map(|p| st.git.heads(p.id))
            .unwrap_or_default()
    }

    /// Head sha of a branch.
    pub fn branch_head(&self, project: &str, branch: &str) -> Option<String> {
        self.branches(project).remove(branch)
    }

    /// MRs whose target is `project`, by iid.
    pub fn merge_requests(&self, project: &str) -> Vec<MergeRequest> {
        let Some(pid) = self.pid(project) else {
            return Vec::new();
        };
        let st = self.shared.lock_state();
        let mut v: Vec<MergeRequest> = st
            .mrs
            .values()
            .filter(|m| m.project_id == pid)
            .cloned()
            .collect();
        v.sort_by_key(|m| m.iid);
        v
    }

    /// One MR.
    pub fn merge_request(&self, project: &str, iid: u64) -> Option<MergeRequest> {
        let pid = self.pid(project)?;
        self.shared.lock_state().mr_by_iid(pid, iid).cloned()
    }

    /// Notes of an MR, oldest first (system notes included).
    pub fn notes(&self, project: &str, iid: u64) -> Vec<Note> {
        let Some(m) = self.merge_request(project, iid) else {
            return Vec::new();
        };
        let st = self.shared.lock_state();
        st.notes
            .values()
            .filter(|n| n.mr_id == m.id)
            .cloned()
            .collect()
    }

    /// The MR's head pipeline, as GitLab would pick it.
    pub fn head_pipeline(&self, project: &str, iid: u64) -> Option<Pipeline> {
        let m = self.merge_request(project, iid)?;
        let st = self.shared.lock_state();
        mrs::head_pipeline(&st, &m).and_then(|id| st.pipelines.get(&id).cloned())
    }

    /// Pipelines of a project, oldest first.
    pub fn pipelines(&self, project: &str) -> Vec<Pipeline> {
        let Some(pid) = self.pid(project) else {
            return Vec::new();
        };
        let st = self.shared.lock_state();
        st.pipelines
            .values()
            .filter(|p| p.project_id == pid)
            .cloned()
            .collect()
    }

    /// One pipeline.
    pub fn pipeline(&self, id: Id) -> Option<Pipeline> {
        self.shared.lock_state().pipelines.get(&id).cloned()
    }

    /// Every member of a pipeline (builds and external statuses, retried
    /// ones included), by id.
    pub fn jobs(&self, pipeline: Id) -> Vec<Job> {
        self.shared
            .lock_state()
            .pipeline_jobs(pipeline)
            .cloned()
            .collect()
    }

    /// One job or external status.
    pub fn job(&self, id: Id) -> Option<Job> {
        self.shared.lock_state().jobs.get(&id).cloned()
    }

    /// External commit statuses on `sha` in `project` (retried ones included), by id.
    pub fn statuses(&self, project: &str, sha: &str) -> Vec<Job> {
        let Some(pid) = self.pid(project) else {
            return Vec::new();
        };
        let st = self.shared.lock_state();
        st.jobs
            .values()
            .filter(|j| j.kind == JobKind::External && j.project_id == pid)
            .filter(|j| {
                st.pipelines
                    .get(&j.pipeline_id)
                    .is_some_and(|p| p.sha == sha)
            })
            .cloned()
            .collect()
    }

    /// Polls `cond` (processing the world each time) until it holds or
    /// `timeout` (wall-clock) passes; returns whether it held.
    pub fn wait_until(&self, timeout: Duration, mut cond: impl FnMut(&FakeGitLab) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            self.process();
            if cond(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
