//! Seeding for dist-git push pipelines: the pipeline GitLab creates when someone pushes to
//! a branch of an rpms project whose CI runs the srcgit job (`source: push`, `ref` = the
//! branch, `sha` = its head), and a way to age a project's `last_activity_at`.

use crate::seed::{project_id, user_id};
use std::time::Duration;

use crate::model::*;
use crate::pipelines::{self, NewPipeline};
use crate::server::FakeGitLab;
use crate::specs::*;

impl FakeGitLab {
    /// Creates the push pipeline of `branch` of `project` (at the branch's current head,
    /// triggered by `pusher`) with one srcgit job that goes `running` at once and stays
    /// there until [`FakeGitLab::set_job_status`]. `job.location` is ignored.
    pub fn create_push_pipeline(
        &self,
        project: &str,
        branch: &str,
        pusher: &str,
        job: SrcgitJob,
    ) -> Result<SeededJob, SeedError> {
        let mut st = self.shared.lock_state();
        let pid = project_id(&st, project)?;
        let user = user_id(&st, pusher)?;
        let sha = st
            .git
            .heads(pid)
            .remove(branch)
            .ok_or_else(|| SeedError(format!("no branch {branch:?} in {project:?}")))?;
        let mut plan = CiJob::new(job.name.clone(), job.stage.clone())
            .outcome(Outcome::External)
            .queue(Duration::ZERO)
            .trace(format!(
                "Running with fake-gitlab\nsrcgit job {}\n",
                job.name
            ));
        plan.script = job.script.clone();
        plan.variables = job.variables.clone();
        let pipeline_id = pipelines::create_pipeline(
            &mut st,
            NewPipeline {
                project_id: pid,
                sha,
                ref_name: branch.to_string(),
                source: "push",
                user_id: user,
                merge_request_id: None,
                event_type: None,
            },
            &CiDefinition::new(vec![plan]),
        );
        let j = st
            .pipeline_jobs(pipeline_id)
            .next()
            .cloned()
            .ok_or_else(|| SeedError("job vanished".into()))?;
        Ok(SeededJob {
            project_id: pid,
            pipeline_id,
            job_id: j.id,
            token: j.token,
        })
    }

    /// Sets `last_activity_at` of `project` to `ago` before the virtual now (a project
    /// nobody touched for a while).
    pub fn age_project_activity(&self, project: &str, ago: Duration) -> Result<(), SeedError> {
        let mut st = self.shared.lock_state();
        let now = st.now();
        let at = crate::clock::Timestamp::from_millis(now.millis() - ago.as_millis() as i64);
        let p = st
            .projects
            .values_mut()
            .find(|p| p.path_with_namespace == project)
            .ok_or_else(|| SeedError(format!("no project {project:?}")))?;
        p.last_activity_at = at;
        Ok(())
    }
}
