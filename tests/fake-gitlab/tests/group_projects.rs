//! `GET /groups/:id/projects` by `last_activity_at`, and how pushes move it: at most once
//! an hour per project, like GitLab's `Event#reset_project_activity`.

mod common;

use std::time::Duration;

use common::*;
use fake_gitlab::*;

fn names(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["path_with_namespace"].as_str().unwrap().to_string())
        .collect()
}

fn activity(w: &World, path: &str) -> Timestamp {
    w.gl.project(path).unwrap().last_activity_at
}

#[tokio::test]
async fn pushes_move_last_activity_at_at_most_once_an_hour() {
    let w = world(Clock::manual());
    let created = activity(&w, RPMS);
    w.gl.advance(Duration::from_secs(2 * 3600));
    w.gl.push_from(RPMS, &w.local, "srcgit-bot").unwrap(); // nothing new: no activity
    assert_eq!(activity(&w, RPMS), created);
    let dir = w.local.clone();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(&dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.org")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.org")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    run(&["commit", "-q", "--allow-empty", "-m", "one"]);
    w.gl.push_from(RPMS, &w.local, "srcgit-bot").unwrap();
    let first = activity(&w, RPMS);
    assert!(first > created);
    // a second push 30 minutes later does not move it
    w.gl.advance(Duration::from_secs(1800));
    run(&["commit", "-q", "--allow-empty", "-m", "two"]);
    w.gl.push_from(RPMS, &w.local, "srcgit-bot").unwrap();
    assert_eq!(activity(&w, RPMS), first);
    // one more an hour after the first does
    w.gl.advance(Duration::from_secs(1800));
    run(&["commit", "-q", "--allow-empty", "-m", "three"]);
    w.gl.push_from(RPMS, &w.local, "srcgit-bot").unwrap();
    assert!(activity(&w, RPMS) > first);
    let (_, project) = json(get(&w.gl, BOT_TOKEN, &format!("/projects/{}", enc(RPMS)))).await;
    assert_eq!(
        project["last_activity_at"].as_str().unwrap(),
        activity(&w, RPMS).to_iso8601()
    );
}

#[tokio::test]
async fn group_projects_by_last_activity_with_pagination_and_subgroups() {
    let w = world(Clock::manual());
    w.gl.add_project(ProjectSpec::new("redhat/centos-stream/rpms/bar"))
        .unwrap();
    w.gl.add_project(ProjectSpec::new("redhat/centos-stream/rpms/deep/baz"))
        .unwrap();
    w.gl.age_project_activity(RPMS, Duration::from_secs(86_400))
        .unwrap();
    let group = enc("redhat/centos-stream/rpms");
    let (s, list) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/groups/{group}/projects?order_by=last_activity_at&sort=desc"),
    ))
    .await;
    assert_eq!(s, 200);
    // direct projects only by default; the newest activity first (ties: newest id first)
    assert_eq!(names(&list), ["redhat/centos-stream/rpms/bar", RPMS]);
    let (_, list) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!(
            "/groups/{group}/projects?order_by=last_activity_at&sort=asc&include_subgroups=true&per_page=2&page=1"
        ),
    ))
    .await;
    assert_eq!(names(&list), [RPMS, "redhat/centos-stream/rpms/bar"]);
    let (_, list) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!(
            "/groups/{group}/projects?order_by=last_activity_at&sort=asc&include_subgroups=true&per_page=2&page=2"
        ),
    ))
    .await;
    assert_eq!(names(&list), ["redhat/centos-stream/rpms/deep/baz"]);
    let (s, _) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/groups/{group}/projects?order_by=stars"),
    ))
    .await;
    assert_eq!(s, 400);
    let (s, _) = json(get(&w.gl, BOT_TOKEN, "/groups/nope/projects")).await;
    assert_eq!(s, 404);
}
