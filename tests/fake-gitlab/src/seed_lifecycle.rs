//! What people do to merge requests between srcgit's jobs, for tests: a maintainer merges
//! or closes an MR, a contributor reopens one. Each behaves like the web UI: the state,
//! `closed_by`, `updated_at`, the system note, and for a merge a real merge commit on the
//! target branch (the MR head's tree with the target head and the MR head as parents).

use crate::model::MrState;
use crate::mrs;
use crate::seed::{project_id, user_id};
use crate::server::FakeGitLab;
use crate::specs::SeedError;

impl FakeGitLab {
    /// Merges MR `iid` of `project` as `by` with a merge commit; returns its sha.
    pub fn merge_merge_request(
        &self,
        project: &str,
        iid: u64,
        by: &str,
    ) -> Result<String, SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        let uid = user_id(&st, by)?;
        let m = st
            .mr_by_iid(pid, iid)
            .cloned()
            .filter(|m| m.state == MrState::Opened)
            .ok_or_else(|| SeedError(format!("no open MR !{iid} in {project:?}")))?;
        mrs::sync_head_ref(&mut st, m.id);
        let target = st
            .git
            .heads(pid)
            .remove(&m.target_branch)
            .ok_or_else(|| SeedError(format!("no branch {}", m.target_branch)))?;
        let message = format!(
            "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}\n",
            m.source_branch, m.target_branch, m.title, project, iid
        );
        let repo = st.git.repo_path(pid);
        let out = crate::git::git_command()
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", by)
            .env("GIT_AUTHOR_EMAIL", format!("{by}@example.org"))
            .env("GIT_COMMITTER_NAME", by)
            .env("GIT_COMMITTER_EMAIL", format!("{by}@example.org"))
            .args([
                "commit-tree",
                &format!("{}^{{tree}}", m.sha),
                "-p",
                &target,
                "-p",
                &m.sha,
                "-m",
                &message,
            ])
            .output()
            .map_err(|e| SeedError(format!("cannot run git: {e}")))?;
        if !out.status.success() {
            return Err(SeedError(format!(
                "git commit-tree failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let merge = String::from_utf8_lossy(&out.stdout).trim().to_string();
        st.git
            .set_ref(pid, &format!("refs/heads/{}", m.target_branch), &merge)
            .map_err(|e| SeedError(e.to_string()))?;
        crate::activity::pushed(&mut st, pid);
        let now = st.now();
        if let Some(mm) = st.mrs.get_mut(&m.id) {
            mm.state = MrState::Merged;
            mm.updated_at = now;
        }
        mrs::add_note(&mut st, m.id, uid, "merged".to_string(), true, false);
        Ok(merge)
    }

    /// Closes MR `iid` of `project` as `by` (the web UI's "Close merge request").
    pub fn close_merge_request(&self, project: &str, iid: u64, by: &str) -> Result<(), SeedError> {
        self.set_mr_state(project, iid, by, MrState::Closed)
    }

    /// Reopens MR `iid` of `project` as `by`.
    pub fn reopen_merge_request(&self, project: &str, iid: u64, by: &str) -> Result<(), SeedError> {
        self.set_mr_state(project, iid, by, MrState::Opened)
    }

    fn set_mr_state(
        &self,
        project: &str,
        iid: u64,
        by: &str,
        state: MrState,
    ) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        let uid = user_id(&st, by)?;
        let id = st
            .mr_by_iid(pid, iid)
            .map(|m| m.id)
            .ok_or_else(|| SeedError(format!("no MR !{iid} in {project:?}")))?;
        let now = st.now();
        let Some(mm) = st.mrs.get_mut(&id) else {
            return Err(SeedError("MR vanished".into()));
        };
        let note = match (mm.state, state) {
            (MrState::Opened, MrState::Closed) => {
                mm.closed_at = Some(now);
                mm.closed_by_id = Some(uid);
                "closed"
            }
            (MrState::Closed, MrState::Opened) => {
                mm.closed_at = None;
                mm.closed_by_id = None;
                "reopened"
            }
            (from, to) => {
                return Err(SeedError(format!(
                    "MR !{iid} cannot go from {} to {}",
                    from.as_str(),
                    to.as_str()
                )));
            }
        };
        mm.state = state;
        mm.updated_at = now;
        mrs::add_note(&mut st, id, uid, note.to_string(), true, false);
        if state == MrState::Opened {
            mrs::sync_head_ref(&mut st, id);
        }
        Ok(())
    }
}
