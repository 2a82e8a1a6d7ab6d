mod common;

use common::*;
use fake_gitlab::*;
use serde_json::json;

struct Ctx {
    w: World,
    job: SeededJob,
    sha: String,
}

/// The source-git MR with its srcgit pipeline running in the parent project.
fn ctx() -> Ctx {
    let w = world(Clock::manual());
    w.gl.add_group_member(
        "redhat/centos-stream/src",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    let mr = source_git_mr(&w);
    let job =
        w.gl.create_srcgit_pipeline(
            &mr,
            SrcgitJob {
                location: PipelineLocation::Target,
                user: Some("srcgit-bot".into()),
                ..SrcgitJob::default()
            },
        )
        .unwrap();
    Ctx {
        sha: mr.sha.clone(),
        w,
        job,
    }
}

async fn post_status(c: &Ctx, pairs: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let pid = c.job.pipeline_id.to_string();
    let mut all: Vec<(&str, &str)> = vec![("pipeline_id", pid.as_str())];
    all.extend_from_slice(pairs);
    json(
        post(
            &c.w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/statuses/{}?", c.job.project_id, c.sha),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&all)),
    )
    .await
}

fn transition_error(event: &str, from: &str) -> serde_json::Value {
    json!({"message": format!(
        "Cannot transition status via :{event} from :{from} (Reason(s): Status cannot transition via \"{event}\")"
    )})
}

#[tokio::test]
async fn status_state_machine() {
    let c = ctx();
    let name = [("name", "rpms/rpmbuild")];
    // created → pending
    let (s, b) = post_status(
        &c,
        &[
            name[0],
            ("state", "pending"),
            ("target_url", "https://example.com/1"),
        ],
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["pipeline_id"], c.job.pipeline_id);
    assert_eq!(
        b["ref"], "refs/merge-requests/1/head",
        "ref omitted → taken from the pipeline"
    );
    assert_eq!(b["author"]["username"], "srcgit-bot");
    assert_eq!(b["allow_failure"], false);
    let first_id = b["id"].clone();
    // pending twice → 400
    let (s, b) = post_status(&c, &[name[0], ("state", "pending")]).await;
    assert_eq!((s, b), (400, transition_error("enqueue", "pending")));
    // pending → running (same job)
    let (s, b) = post_status(&c, &[name[0], ("state", "running")]).await;
    assert_eq!(
        (s, b["id"].clone(), b["status"].clone()),
        (201, first_id.clone(), json!("running"))
    );
    assert_eq!(
        b["target_url"], "https://example.com/1",
        "unspecified fields are kept"
    );
    // running twice, pending after running, skipped after running → 400
    let (s, b) = post_status(&c, &[name[0], ("state", "running")]).await;
    assert_eq!((s, b), (400, transition_error("run", "running")));
    let (s, b) = post_status(&c, &[name[0], ("state", "pending")]).await;
    assert_eq!((s, b), (400, transition_error("enqueue", "running")));
    let (s, b) = post_status(&c, &[name[0], ("state", "skipped")]).await;
    assert_eq!((s, b), (400, transition_error("skip", "running")));
    // the pipeline stays running while the external status runs, even after the CI job ends
    c.w.gl
        .set_job_status(c.job.job_id, JobStatus::Success)
        .unwrap();
    assert_eq!(
        c.w.gl.pipeline(c.job.pipeline_id).unwrap().status,
        JobStatus::Running
    );
    // running → failed finishes the same job
    let (s, b) = post_status(
        &c,
        &[
            name[0],
            ("state", "failed"),
            ("description", "rpmbuild failed"),
        ],
    )
    .await;
    assert_eq!(
        (s, b["id"].clone(), b["status"].clone()),
        (201, first_id.clone(), json!("failed"))
    );
    assert_eq!(
        c.w.gl.pipeline(c.job.pipeline_id).unwrap().status,
        JobStatus::Failed
    );
    // after a final state: a new job; the old one is retried and hidden
    let (s, b) = post_status(&c, &[name[0], ("state", "running")]).await;
    assert_eq!(s, 201);
    assert_ne!(b["id"], first_id);
    assert_eq!(
        c.w.gl.pipeline(c.job.pipeline_id).unwrap().status,
        JobStatus::Running
    );
    let (s, b) = post_status(&c, &[name[0], ("state", "success")]).await;
    assert_eq!((s, b["status"].clone()), (201, json!("success")));
    assert_eq!(
        c.w.gl.pipeline(c.job.pipeline_id).unwrap().status,
        JobStatus::Success
    );
    let all = c.w.gl.statuses(&c.job.project_id.to_string(), &c.sha);
    assert_eq!(all.len(), 2);
    assert!(all[0].retried && !all[1].retried);

    // listing: latest only unless all=true; filters by name and pipeline_id
    let path = format!(
        "/projects/{}/repository/commits/{}/statuses",
        c.job.project_id, c.sha
    );
    let (_, list) = json(get(
        &c.w.gl,
        BOT_TOKEN,
        &format!("{path}?name=rpms%2Frpmbuild"),
    ))
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = json(get(
        &c.w.gl,
        BOT_TOKEN,
        &format!(
            "{path}?name=rpms%2Frpmbuild&all=true&pipeline_id={}",
            c.job.pipeline_id
        ),
    ))
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, list) = json(get(&c.w.gl, BOT_TOKEN, &format!("{path}?all=true"))).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "the CI job is listed too"
    );
}

#[tokio::test]
async fn status_validations_and_lookups() {
    let c = ctx();
    // invalid state value / missing state
    let (s, b) = post_status(&c, &[("state", "error")]).await;
    assert_eq!(
        (s, b),
        (400, json!({"error": "state does not have a valid value"}))
    );
    let (s, b) = post_status(&c, &[("name", "x")]).await;
    assert_eq!((s, b), (400, json!({"error": "state is missing"})));
    // name of the CI job in the same pipeline
    let (s, b) = post_status(&c, &[("state", "running"), ("name", "dist-git")]).await;
    assert_eq!(
        (s, b),
        (
            400,
            json!({"message": {"name": ["has already been taken"]}})
        )
    );
    // too long target_url / description
    let long = format!("https://example.com/{}", "a".repeat(250));
    let (s, b) = post_status(&c, &[("state", "running"), ("target_url", &long)]).await;
    assert_eq!(s, 400);
    assert_eq!(
        b["message"]["target_url"],
        json!(["is too long (maximum is 255 characters)"])
    );
    let (s, b) = post_status(
        &c,
        &[("state", "running"), ("description", &"d".repeat(256))],
    )
    .await;
    assert_eq!(s, 400);
    assert!(b["message"]["description"].is_array());
    // pipeline_id with a mismatching ref → 404
    let (s, b) = post_status(&c, &[("state", "running"), ("ref", "fix")]).await;
    assert_eq!(
        (s, b),
        (
            404,
            json!({"message": "404 Pipeline for pipeline_id, sha and ref Not Found"})
        )
    );
    // unknown sha → 404 Commit Not Found
    let (s, b) = json(
        post(
            &c.w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/statuses/{}", c.job.project_id, "1".repeat(40)),
        )
        .json(&json!({"state": "running"})),
    )
    .await;
    assert_eq!((s, b), (404, json!({"message": "404 Commit Not Found"})));
    // no permission (contributor is Reporter on src) → 403
    let (s, _) = json(
        post(
            &c.w.gl,
            CONTRIB_TOKEN,
            &format!("/projects/{}/statuses/{}", c.job.project_id, c.sha),
        )
        .json(&json!({"state": "running"})),
    )
    .await;
    assert_eq!(s, 403);
    // without pipeline_id and with a branch ref: a new `external` pipeline on that ref
    let (s, b) = json(
        post(
            &c.w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/statuses/{}", c.job.project_id, c.sha),
        )
        .json(&json!({"state": "success", "ref": "fix", "context": "ext"})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let p = c.w.gl.pipeline(b["pipeline_id"].as_u64().unwrap()).unwrap();
    assert_eq!(
        (p.source.as_str(), p.ref_name.as_str()),
        ("external", "fix")
    );
    assert_eq!(b["name"], "ext");
}

#[tokio::test]
async fn injected_409_on_status_post() {
    let c = ctx();
    let h =
        c.w.gl
            .inject(Rule::new("POST", r"/statuses/[0-9a-f]{40}$").status_conflict());
    let (s, b) = post_status(&c, &[("state", "running"), ("name", "x")]).await;
    assert_eq!(
        (s, b),
        (
            409,
            json!({"message": "Another update to this commit status is in progress"})
        )
    );
    assert_eq!(c.w.gl.rule_hits(h), 1);
    assert!(
        c.w.gl
            .statuses(&c.job.project_id.to_string(), &c.sha)
            .is_empty(),
        "nothing was applied"
    );
    let (s, _) = post_status(&c, &[("state", "running"), ("name", "x")]).await;
    assert_eq!(s, 201, "the rule only applied once");
    let log = c.w.gl.requests_matching("POST", "/statuses/");
    assert_eq!(log.len(), 2);
    assert!(log[0].injected && !log[1].injected);
}

/// A contributor's MR whose head commit exists only in the fork and, in the target, only
/// under `refs/merge-requests/<iid>/head` (no branch of the target holds it).
fn fork_only_mr(w: &World) -> MergeRequest {
    let clone = w.tmp.path().join("contrib");
    git(
        w.tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "fix",
            &w.gl.authenticated_clone_url(FORK, CONTRIB_TOKEN).unwrap(),
            &clone.display().to_string(),
        ],
    );
    std::fs::write(clone.join("NEWS"), "only in the fork\n").unwrap();
    git(&clone, &["add", "NEWS"]);
    git(&clone, &["commit", "-q", "-m", "Only in the fork"]);
    git(
        &clone,
        &["push", "-q", "origin", "HEAD:refs/heads/only-in-fork"],
    );
    w.gl.create_merge_request(
        MrSpec::new(FORK, "only-in-fork", SRC, "c10s", "contributor").title("t"),
    )
    .unwrap()
}

#[tokio::test]
async fn status_ref_resolution_follows_gitlab_for_a_sha_only_the_mr_ref_holds() {
    let w = world(Clock::manual());
    w.gl.add_group_member(
        "redhat/centos-stream/src",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    let mr = fork_only_mr(&w);
    let path = format!("/projects/{}/statuses/{}", enc(SRC), mr.sha);
    // no pipeline of the target at that sha, no branch containing it, no ref → 404
    let (s, b) =
        json(post(&w.gl, BOT_TOKEN, &path).json(&json!({"state": "running", "name": "x"}))).await;
    assert_eq!(
        (s, b),
        (
            404,
            json!({"message": "404 References for commit Not Found"})
        )
    );
    assert!(
        w.gl.statuses(SRC, &mr.sha).is_empty(),
        "nothing was created"
    );
    // with the MR ref → a new external pipeline on that ref
    let mr_ref = format!("refs/merge-requests/{}/head", mr.iid);
    let (s, b) = json(
        post(&w.gl, BOT_TOKEN, &path)
            .json(&json!({"state": "running", "name": "x", "ref": mr_ref})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["ref"], mr_ref);
    let p = w.gl.pipeline(b["pipeline_id"].as_u64().unwrap()).unwrap();
    assert_eq!(
        (p.source.as_str(), p.ref_name.as_str()),
        ("external", mr_ref.as_str())
    );
    // the pipeline now holds the sha: the ref is taken from it when omitted
    let (s, b) =
        json(post(&w.gl, BOT_TOKEN, &path).json(&json!({"state": "success", "name": "x"}))).await;
    assert_eq!(
        (s, b["ref"].clone(), b["pipeline_id"].clone()),
        (201, json!(mr_ref), json!(p.id))
    );
    // the bot is a stranger in the contributor's fork: 404 for a private fork
    let (s, _) = json(
        post(
            &w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/statuses/{}", enc(FORK), mr.sha),
        )
        .json(&json!({"state": "running", "name": "x"})),
    )
    .await;
    assert!(s == 403 || s == 404, "{s}");
}
