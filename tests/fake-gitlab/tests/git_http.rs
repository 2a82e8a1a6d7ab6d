mod common;

use std::process::Command;

use common::*;
use fake_gitlab::*;

fn url_with(gl: &FakeGitLab, user: &str, pass: &str, path: &str) -> String {
    format!(
        "http://{user}:{pass}@{}/{path}.git",
        gl.url().trim_start_matches("http://")
    )
}

#[test]
fn clone_needs_the_token_on_private_projects() {
    let w = world(Clock::manual());
    let t = w.tmp.path();
    // without credentials: 401 → git asks for credentials → fails (no prompt)
    let anon = w.gl.clone_url(SRC).unwrap();
    assert!(!git_ok(t, &["clone", "-q", &anon, "anon"]));
    let log = w.gl.requests_matching("GET", "/info/refs");
    assert_eq!(log.last().unwrap().status, 401);
    // wrong token
    assert!(!git_ok(
        t,
        &[
            "clone",
            "-q",
            &url_with(&w.gl, "x", "glpat-wrong", SRC),
            "bad"
        ]
    ));
    // any username + PAT
    assert!(git_ok(
        t,
        &[
            "clone",
            "-q",
            &url_with(&w.gl, "whatever", BOT_TOKEN, SRC),
            "ok"
        ]
    ));
    assert_eq!(
        git(&t.join("ok"), &["rev-parse", "HEAD"]),
        w.gl.branch_head(SRC, "c10s").unwrap()
    );
    assert_eq!(git(&t.join("ok"), &["tag"]), "v1.0");
    // an outsider cannot see it
    assert!(!git_ok(
        t,
        &[
            "clone",
            "-q",
            &url_with(&w.gl, "o", OUTSIDER_TOKEN, SRC),
            "out"
        ]
    ));
    assert_eq!(w.gl.requests().last().unwrap().status, 404);
    // public projects clone anonymously
    w.gl.add_project(
        ProjectSpec::new("pub/lic")
            .visibility(Visibility::Public)
            .seed_from(&w.local),
    )
    .unwrap();
    assert!(git_ok(
        t,
        &["clone", "-q", &w.gl.clone_url("pub/lic").unwrap(), "pub"]
    ));
    // no token ever appears in the log
    assert!(
        w.gl.requests()
            .iter()
            .all(|r| !format!("{r:?}").contains(BOT_TOKEN))
    );
}

#[test]
fn push_permissions() {
    let w = world(Clock::manual());
    let t = w.tmp.path();
    // the contributor (Reporter) cannot push to the parent
    let out = Command::new("git")
        .current_dir(&w.local)
        .args(["push", &url_with(&w.gl, "c", CONTRIB_TOKEN, SRC), "fix:fix"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a read_repository token cannot push either
    w.gl.add_token("contributor", "glpat-ro-000000000000", &["read_repository"])
        .unwrap();
    assert!(!git_ok(
        &w.local,
        &[
            "push",
            &url_with(&w.gl, "c", "glpat-ro-000000000000", FORK),
            "fix:ro"
        ]
    ));
    // but the contributor can push to their fork
    assert!(git_ok(
        &w.local,
        &[
            "push",
            &url_with(&w.gl, "c", CONTRIB_TOKEN, FORK),
            "fix:feature"
        ]
    ));
    assert_eq!(
        w.gl.branch_head(FORK, "feature"),
        Some(git(&w.local, &["rev-parse", "fix"]))
    );
    let _ = t;
}

#[test]
fn push_to_mr_source_branch_updates_mr_and_creates_pipeline() {
    let w = world(Clock::manual());
    let push_url = url_with(&w.gl, "srcgit-bot", BOT_TOKEN, BOT_FORK);
    assert!(git_ok(&w.local, &["push", &push_url, "fix:sourcegit/1"]));
    let mr =
        w.gl.create_merge_request(
            MrSpec::new(BOT_FORK, "sourcegit/1", RPMS, "c10s", "srcgit-bot").with_ci_pipeline(),
        )
        .unwrap();
    let before = w.gl.pipelines(RPMS);
    assert_eq!(before.len(), 1);
    // a new commit, force-pushed like srcgit does
    let local = &w.local;
    git(local, &["checkout", "-q", "-b", "again", "fix"]);
    std::fs::write(local.join("more"), "x\n").unwrap();
    git(local, &["add", "."]);
    git(local, &["commit", "-q", "-m", "More"]);
    let new_sha = git(local, &["rev-parse", "HEAD"]);
    assert!(git_ok(
        local,
        &["push", "--force", &push_url, "again:sourcegit/1"]
    ));
    // GitLab's post-receive effects are visible once `git push` returns
    let m = w.gl.merge_request(RPMS, mr.iid).unwrap();
    assert_eq!(m.sha, new_sha);
    let after = w.gl.pipelines(RPMS);
    assert_eq!(after.len(), 2, "a new MR pipeline in the target project");
    let p = after.last().unwrap();
    assert_eq!(
        (p.sha.as_str(), p.source.as_str()),
        (new_sha.as_str(), "merge_request_event")
    );
    assert_eq!(w.gl.head_pipeline(RPMS, mr.iid).unwrap().id, p.id);
    // the target project has the MR ref and the pipeline's persistent ref
    let repo = w.gl.repo_path(RPMS).unwrap();
    let gd = format!("--git-dir={}", repo.display());
    assert_eq!(
        git(
            w.tmp.path(),
            &[&gd, "rev-parse", "refs/merge-requests/1/head"]
        ),
        new_sha
    );
    assert_eq!(
        git(
            w.tmp.path(),
            &[&gd, "rev-parse", &format!("refs/pipelines/{}", p.id)]
        ),
        new_sha
    );
    let notes = w.gl.notes(RPMS, mr.iid);
    assert!(
        notes
            .iter()
            .any(|n| n.system && n.body.starts_with("added 1 commit"))
    );
}
