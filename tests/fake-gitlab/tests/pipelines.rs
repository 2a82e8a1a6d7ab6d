mod common;

use std::time::Duration;

use common::*;
use fake_gitlab::*;
use serde_json::json;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Opens the bot's rpms MR (which starts an MR pipeline in rpms).
fn rpms_mr(w: &World) -> Pipeline {
    w.gl.push_from(BOT_FORK, &w.local, "srcgit-bot").unwrap();
    w.gl.create_merge_request(
        MrSpec::new(BOT_FORK, "fix", RPMS, "c10s", "srcgit-bot").with_ci_pipeline(),
    )
    .unwrap();
    w.gl.pipelines(RPMS).pop().expect("an MR pipeline")
}

async fn pipeline_status(w: &World, id: u64) -> String {
    let (s, p) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/pipelines/{id}", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 200);
    p["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn pipeline_progresses_to_success_in_virtual_time() {
    let w = world(Clock::manual());
    let p = rpms_mr(&w);
    let jobs_path = format!("/projects/{}/pipelines/{}/jobs", enc(RPMS), p.id);
    assert_eq!(pipeline_status(&w, p.id).await, "pending");
    let (_, jobs) = json(get(&w.gl, BOT_TOKEN, &jobs_path)).await;
    let st: Vec<(String, String)> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["name"].as_str().unwrap().into(),
                j["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        st,
        vec![
            ("rpminspect".into(), "created".into()),
            ("rpmbuild".into(), "pending".into())
        ],
        "newest first"
    );
    w.gl.advance(Duration::from_millis(100));
    assert_eq!(pipeline_status(&w, p.id).await, "running");
    w.gl.advance(secs(30));
    let jobs = w.gl.jobs(p.id);
    assert_eq!(jobs[0].status, JobStatus::Success);
    assert_eq!(jobs[1].status, JobStatus::Pending, "next stage queued");
    w.gl.advance(secs(21));
    let (_, full) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/pipelines/{}", enc(RPMS), p.id),
    ))
    .await;
    assert_eq!(full["status"], "success");
    assert_eq!(full["detailed_status"]["group"], "success");
    assert_eq!(full["duration"], 50);
    assert!(full["finished_at"].is_string());
    let (_, job) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/jobs/{}", enc(RPMS), jobs[0].id),
    ))
    .await;
    assert_eq!(job["duration"], 30.0);
    assert_eq!(job["pipeline"]["id"], p.id);
    assert_eq!(
        job["web_url"],
        format!("{}/{}/-/jobs/{}", w.gl.url(), RPMS, jobs[0].id)
    );
}

#[tokio::test]
async fn failing_pipeline_skips_later_stages_then_retry_runs_again() {
    let w = world(Clock::manual());
    w.gl.set_ci(
        RPMS,
        Some(CiDefinition::new(vec![
            CiJob::new("rpmbuild", "build").duration(secs(5)).fails(),
            CiJob::new("lint", "build")
                .duration(secs(1))
                .fails()
                .allow_failure(true),
            CiJob::new("rpminspect", "test").duration(secs(5)),
        ])),
    )
    .unwrap();
    let p = rpms_mr(&w);
    w.gl.advance(secs(10));
    assert_eq!(pipeline_status(&w, p.id).await, "failed");
    let by_name = |name: &str| {
        w.gl.jobs(p.id)
            .into_iter()
            .find(|j| j.name == name && !j.retried)
            .unwrap()
    };
    assert_eq!(by_name("rpminspect").status, JobStatus::Skipped);
    assert_eq!(
        by_name("rpmbuild").failure_reason.as_deref(),
        Some("script_failure")
    );
    let old = by_name("rpmbuild").id;
    let (_, trace) = (
        0,
        client()
            .get(format!(
                "{}/projects/{}/jobs/{old}/trace",
                w.gl.api_url(),
                enc(RPMS)
            ))
            .header("PRIVATE-TOKEN", BOT_TOKEN)
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(trace.headers()["content-type"], "text/plain");
    assert!(trace.text().await.unwrap().contains("ERROR: Job failed"));

    // fix the job, retry: running again, new job ids, old ones hidden
    w.gl.set_ci(RPMS, Some(rpms_ci())).unwrap();
    let (s, r) = json(post(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/pipelines/{}/retry", enc(RPMS), p.id),
    ))
    .await;
    assert_eq!(s, 201);
    assert_eq!(r["id"], p.id, "same pipeline");
    assert!(
        ["pending", "running"].contains(&r["status"].as_str().unwrap()),
        "{r}"
    );
    w.gl.advance(Duration::from_millis(200));
    assert_eq!(pipeline_status(&w, p.id).await, "running");
    let new = by_name("rpmbuild");
    assert_ne!(new.id, old);
    assert_eq!(
        by_name("rpminspect").status,
        JobStatus::Created,
        "skipped job reset"
    );
    let path = format!("/projects/{}/pipelines/{}/jobs", enc(RPMS), p.id);
    let (_, visible) = json(get(&w.gl, BOT_TOKEN, &path)).await;
    let (_, all) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("{path}?include_retried=true"),
    ))
    .await;
    assert_eq!(visible.as_array().unwrap().len(), 3);
    assert_eq!(all.as_array().unwrap().len(), 5, "two retried jobs");
    let (_, failed_only) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("{path}?scope[]=failed&include_retried=true"),
    ))
    .await;
    assert_eq!(failed_only.as_array().unwrap().len(), 2);
    w.gl.advance(secs(60));
    assert_eq!(pipeline_status(&w, p.id).await, "success");
}

#[tokio::test]
async fn pipelines_progress_in_accelerated_wall_clock_time() {
    let w = world(Clock::accelerated(200.0));
    w.gl.set_ci(
        RPMS,
        Some(CiDefinition::new(vec![
            CiJob::new("rpmbuild", "build").duration(secs(20)),
        ])),
    )
    .unwrap();
    let ok = rpms_mr(&w);
    w.gl.set_ci(
        RPMS,
        Some(CiDefinition::new(vec![
            CiJob::new("rpmbuild", "build").duration(secs(20)).fails(),
        ])),
    )
    .unwrap();
    let (s, bad) = json(post(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests/1/pipelines", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 200);
    let bad = bad["id"].as_u64().unwrap();
    assert!(w.gl.wait_until(secs(5), |gl| {
        gl.pipeline(ok.id).unwrap().status == JobStatus::Success
            && gl.pipeline(bad).unwrap().status == JobStatus::Failed
    }));
    // the MR's head pipeline is the newest MR pipeline at the head sha
    let (_, mr) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests/1", enc(RPMS)),
    ))
    .await;
    assert_eq!(mr["head_pipeline"]["id"], bad);
    assert_eq!(mr["head_pipeline"]["status"], "failed");
}

#[tokio::test]
async fn cancel_is_always_200_and_trace_grows() {
    let w = world(Clock::manual());
    w.gl.set_ci(
        RPMS,
        Some(CiDefinition::new(vec![
            CiJob::new("rpmbuild", "build")
                .duration(secs(10))
                .queue(Duration::ZERO)
                .trace("line 1\nline 2\nline 3\nline 4\n"),
        ])),
    )
    .unwrap();
    let p = rpms_mr(&w);
    let job = w.gl.jobs(p.id)[0].id;
    let trace = || async {
        client()
            .get(format!(
                "{}/projects/{}/jobs/{job}/trace",
                w.gl.api_url(),
                enc(RPMS)
            ))
            .header("PRIVATE-TOKEN", BOT_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    w.gl.advance(secs(5));
    assert_eq!(trace().await, "line 1\nline 2\n");
    let path = format!("/projects/{}/pipelines/{}/cancel", enc(RPMS), p.id);
    let (s, b) = json(post(&w.gl, BOT_TOKEN, &path)).await;
    assert_eq!((s, b["status"].clone()), (200, json!("canceled")));
    let (s, _) = json(post(&w.gl, BOT_TOKEN, &path)).await;
    assert_eq!(s, 200, "cancel of a finished pipeline is still 200");
    let (s, _) = json(post(&w.gl, CONTRIB_TOKEN, &path)).await;
    assert_eq!(s, 403);
    // single-job retry
    let (s, nj) = json(post(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/jobs/{job}/retry", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 201);
    assert_ne!(nj["id"], job);
    assert_eq!(w.gl.pipeline(p.id).unwrap().status, JobStatus::Running);
}

#[tokio::test]
async fn job_response_and_custom_env_describe_the_srcgit_job() {
    let w = world(Clock::manual());
    let mr = source_git_mr(&w);
    let job =
        w.gl.create_srcgit_pipeline(
            &mr,
            SrcgitJob {
                variables: vec![("SOURCEGIT_RPMS_PROJECT".into(), RPMS.into())],
                ..SrcgitJob::default()
            },
        )
        .unwrap();
    let fork = w.gl.project(FORK).unwrap();
    let src = w.gl.project(SRC).unwrap();
    assert_eq!(
        job.project_id, fork.id,
        "fork MR pipelines run in the fork by default"
    );
    assert_eq!(w.gl.job(job.job_id).unwrap().status, JobStatus::Running);
    let r = w.gl.job_response(job.job_id);
    assert_eq!(r["id"], job.job_id);
    assert_eq!(r["token"], job.token);
    assert_eq!(r["job_info"]["name"], "dist-git");
    assert_eq!(r["job_info"]["stage"], "test");
    assert_eq!(r["job_info"]["pipeline_id"], job.pipeline_id);
    assert_eq!(r["job_info"]["project_full_path"], FORK);
    assert_eq!(r["git_info"]["ref"], "refs/merge-requests/1/head");
    assert_eq!(r["git_info"]["sha"], mr.sha);
    assert_eq!(
        r["git_info"]["refspecs"],
        json!([format!("+{}:refs/pipelines/{}", mr.sha, job.pipeline_id)])
    );
    let vars: std::collections::HashMap<String, String> = r["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["key"].as_str().unwrap().into(),
                v["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(vars["CI_PIPELINE_SOURCE"], "merge_request_event");
    assert_eq!(vars["CI_MERGE_REQUEST_EVENT_TYPE"], "detached");
    assert_eq!(vars["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"], "");
    assert_eq!(vars["CI_MERGE_REQUEST_PROJECT_ID"], src.id.to_string());
    assert_eq!(
        vars["CI_MERGE_REQUEST_SOURCE_PROJECT_ID"],
        fork.id.to_string()
    );
    assert_eq!(vars["CI_PROJECT_ID"], fork.id.to_string());
    assert_eq!(vars["CI_COMMIT_REF_NAME"], "fix");
    assert_eq!(vars["CI_COMMIT_SHA"], mr.sha);
    assert_eq!(vars["CI_MERGE_REQUEST_IID"], "1");
    assert_eq!(vars["CI_MERGE_REQUEST_TITLE"], "Fix the thing");
    assert_eq!(vars["CI_SERVER_URL"], w.gl.url());
    assert_eq!(vars["SOURCEGIT_RPMS_PROJECT"], RPMS);
    assert!(!vars.contains_key("CI_COMMIT_BRANCH"));
    let token_var = r["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "CI_JOB_TOKEN")
        .unwrap();
    assert_eq!(token_var["masked"], true);

    let env: std::collections::HashMap<String, String> =
        w.gl.custom_env(job.job_id).into_iter().collect();
    assert_eq!(env["CUSTOM_ENV_CI_JOB_ID"], job.job_id.to_string());
    assert_eq!(env["CUSTOM_ENV_CI_PROJECT_DIR"], format!("/builds/{FORK}"));
    assert_eq!(env["CUSTOM_ENV_CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"], "fix");

    // the job token clones the pipeline project over HTTP while the job runs
    let dst = w.tmp.path().join("job-clone");
    let url = r["git_info"]["repo_url"].as_str().unwrap();
    assert!(git_ok(
        w.tmp.path(),
        &["clone", "-q", url, dst.to_str().unwrap()]
    ));
    w.gl.set_job_status(job.job_id, JobStatus::Success).unwrap();
    assert_eq!(
        w.gl.pipeline(job.pipeline_id).unwrap().status,
        JobStatus::Success
    );
}

#[tokio::test]
async fn manual_jobs_do_not_block_and_can_be_played() {
    let w = world(Clock::manual());
    w.gl.set_ci(
        RPMS,
        Some(CiDefinition::new(vec![
            CiJob::new("deploy", "build").manual().duration(secs(3)),
            CiJob::new("rpminspect", "test").duration(secs(2)),
        ])),
    )
    .unwrap();
    let p = rpms_mr(&w);
    w.gl.advance(secs(5));
    let jobs = w.gl.jobs(p.id);
    assert_eq!(jobs[0].status, JobStatus::Manual);
    assert_eq!(jobs[1].status, JobStatus::Success);
    assert_eq!(pipeline_status(&w, p.id).await, "success");
    w.gl.set_job_status(jobs[0].id, JobStatus::Pending).unwrap();
    assert_eq!(pipeline_status(&w, p.id).await, "running");
    w.gl.advance(secs(5));
    assert_eq!(w.gl.job(jobs[0].id).unwrap().status, JobStatus::Success);
}

#[tokio::test]
async fn mr_pipelines_can_appear_asynchronously() {
    let tmp = tempfile::tempdir().unwrap();
    let local = make_repo(tmp.path());
    let clock = Clock::manual();
    let gl = FakeGitLab::start(Options {
        clock: clock.clone(),
        mr_pipeline_delay: secs(2),
        ..Options::default()
    })
    .await;
    gl.add_user(UserSpec::new("srcgit-bot").token(BOT_TOKEN))
        .unwrap();
    gl.add_project(ProjectSpec::new(RPMS).seed_from(&local).ci(rpms_ci()))
        .unwrap();
    gl.add_group_member(
        "redhat/centos-stream/rpms",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    let (s, mr) = json(
        post(
            &gl,
            BOT_TOKEN,
            &format!("/projects/{}/merge_requests", enc(RPMS)),
        )
        .json(&json!({"source_branch": "fix", "target_branch": "c10s", "title": "t"})),
    )
    .await;
    assert_eq!(s, 201);
    assert!(mr["head_pipeline"].is_null(), "no pipeline yet");
    gl.advance(secs(2));
    let (_, mr) = json(get(
        &gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests/1", enc(RPMS)),
    ))
    .await;
    assert_eq!(mr["head_pipeline"]["source"], "merge_request_event");
}
