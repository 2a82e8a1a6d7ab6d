mod common;

use std::time::Duration;

use common::*;
use fake_gitlab::*;
use serde_json::json;

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("missing header {name}"))
}

#[tokio::test]
async fn user_requires_a_valid_token() {
    let w = world(Clock::manual());
    let r = client()
        .get(format!("{}/user", w.gl.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"message": "401 Unauthorized"})
    );
    let (s, _) = json(get(&w.gl, "glpat-wrong", "/user")).await;
    assert_eq!(s, 401);
    let (s, me) = json(
        client()
            .get(format!("{}/user", w.gl.api_url()))
            .bearer_auth(BOT_TOKEN),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (me["username"].clone(), me["bot"].clone()),
        (json!("srcgit-bot"), json!(true))
    );
    // a read_api token cannot write
    w.gl.add_token("srcgit-bot", "glpat-readonly", &["read_api"])
        .unwrap();
    let (s, b) = json(post(
        &w.gl,
        "glpat-readonly",
        &format!("/projects/{}/fork", enc(SRC)),
    ))
    .await;
    assert_eq!((s, b["error"].clone()), (403, json!("insufficient_scope")));
}

#[tokio::test]
async fn pagination_headers_on_45_items() {
    let w = world(Clock::manual());
    let mr = source_git_mr(&w);
    for i in 0..45 {
        w.gl.add_note(SRC, mr.iid, "srcgit-bot", &format!("note {i}"))
            .unwrap();
    }
    let base = format!("/projects/{}/merge_requests/{}/notes", enc(SRC), mr.iid);
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = get(
            &w.gl,
            BOT_TOKEN,
            &format!("{base}?sort=asc&page={page}&per_page=20"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-page"), page.to_string());
        assert_eq!(header(&r, "x-per-page"), "20");
        assert_eq!(header(&r, "x-total"), "45");
        assert_eq!(header(&r, "x-total-pages"), "3");
        let next = header(&r, "x-next-page");
        let prev = header(&r, "x-prev-page");
        let link = header(&r, "link");
        match page {
            1 => {
                assert_eq!((next.as_str(), prev.as_str()), ("2", ""));
                assert!(link.contains("page=2&per_page=20>; rel=\"next\""), "{link}");
                assert!(!link.contains("rel=\"prev\""));
            }
            2 => assert_eq!((next.as_str(), prev.as_str()), ("3", "1")),
            _ => {
                assert_eq!((next.as_str(), prev.as_str()), ("", "2"));
                assert!(!link.contains("rel=\"next\""), "{link}");
                assert!(link.contains("rel=\"prev\""));
            }
        }
        assert!(
            link.contains("rel=\"first\"") && link.contains("page=3&per_page=20>; rel=\"last\"")
        );
        assert!(
            link.starts_with(&format!("<{}/api/v4/projects/", w.gl.url())),
            "{link}"
        );
        assert!(
            link.contains("sort=asc"),
            "other parameters are kept: {link}"
        );
        let items: Vec<serde_json::Value> = r.json().await.unwrap();
        assert_eq!(items.len(), if page < 3 { 20 } else { 5 });
        seen.extend(
            items
                .into_iter()
                .map(|n| n["body"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen.len(), 45);
    assert_eq!(seen[0], "note 0");
    // per_page is clamped to 100
    let r = get(&w.gl, BOT_TOKEN, &format!("{base}?per_page=500"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-per-page"), "100");
    assert_eq!(header(&r, "x-total-pages"), "1");
    // malformed page → Grape 400
    let (s, b) = json(get(&w.gl, BOT_TOKEN, &format!("{base}?page=abc"))).await;
    assert_eq!((s, b), (400, json!({"error": "page is invalid"})));
}

#[tokio::test]
async fn injected_429_with_retry_after_then_recovery() {
    let w = world(Clock::manual());
    let h = w.gl.inject(
        Rule::new("GET", r"^/api/v4/projects/")
            .rate_limited(1)
            .times(2),
    );
    for _ in 0..2 {
        let r = get(&w.gl, BOT_TOKEN, &format!("/projects/{}", enc(SRC)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(header(&r, "retry-after"), "1");
        assert!(r.headers().contains_key("ratelimit-reset"));
        assert_eq!(r.text().await.unwrap(), "Retry later\n");
    }
    let (s, p) = json(get(&w.gl, BOT_TOKEN, &format!("/projects/{}", enc(SRC)))).await;
    assert_eq!(s, 200);
    assert_eq!(p["path_with_namespace"], SRC);
    assert_eq!(w.gl.rule_hits(h), 2);
    // other canned failures
    w.gl.inject(Rule::new("*", "/user$").internal_error());
    let (s, b) = json(get(&w.gl, BOT_TOKEN, "/user")).await;
    assert_eq!(
        (s, b),
        (500, json!({"message": "500 Internal Server Error"}))
    );
    w.gl.inject(Rule::new("GET", "/user$").bad_gateway());
    let r = get(&w.gl, BOT_TOKEN, "/user").send().await.unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn automatic_rate_limit() {
    let gl = FakeGitLab::start(Options {
        rate_limit: Some((3, Duration::from_secs(60))),
        ..Options::default()
    })
    .await;
    gl.add_user(UserSpec::new("u").token("glpat-u-000000000000"))
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(json(get(&gl, "glpat-u-000000000000", "/user")).await.0);
    }
    assert_eq!(codes, vec![200, 200, 200, 429, 429]);
    assert_eq!(gl.requests().iter().filter(|r| r.rate_limited).count(), 2);
}

#[tokio::test]
async fn projects_forks_branches_and_unknown_routes() {
    let w = world(Clock::manual());
    let (s, p) = json(get(&w.gl, BOT_TOKEN, &format!("/projects/{}", enc(RPMS)))).await;
    assert_eq!(s, 200);
    assert_eq!(p["default_branch"], "c10s");
    assert_eq!(
        p["http_url_to_repo"],
        format!("{}/{}.git", w.gl.url(), RPMS)
    );
    assert_eq!(p["namespace"]["full_path"], "redhat/centos-stream/rpms");
    assert_eq!(p["permissions"]["group_access"]["access_level"], 30);
    let (s, b) = json(get(
        &w.gl,
        OUTSIDER_TOKEN,
        &format!("/projects/{}", enc(RPMS)),
    ))
    .await;
    assert_eq!((s, b), (404, json!({"message": "404 Project Not Found"})));

    // async fork: scheduled → finished in virtual time
    w.gl.add_user(UserSpec::new("newbie").token("glpat-newbie-0000000"))
        .unwrap();
    w.gl.add_project_member(RPMS, "newbie", AccessLevel::Reporter)
        .unwrap();
    let (s, f) = json(post(
        &w.gl,
        "glpat-newbie-0000000",
        &format!("/projects/{}/fork", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["import_status"], "scheduled");
    assert_eq!(f["path_with_namespace"], "newbie/foo");
    assert_eq!(f["forked_from_project"]["id"], p["id"]);
    let fid = f["id"].as_u64().unwrap();
    let (s, _) = json(get(
        &w.gl,
        "glpat-newbie-0000000",
        &format!("/projects/{fid}/repository/branches/c10s"),
    ))
    .await;
    assert_eq!(s, 404, "nothing to see before the import finished");
    w.gl.advance(Duration::from_secs(1));
    let (_, f1) = json(get(
        &w.gl,
        "glpat-newbie-0000000",
        &format!("/projects/{fid}"),
    ))
    .await;
    assert_eq!(f1["import_status"], "started");
    w.gl.advance(Duration::from_secs(2));
    let (_, f2) = json(get(
        &w.gl,
        "glpat-newbie-0000000",
        &format!("/projects/{fid}"),
    ))
    .await;
    assert_eq!(f2["import_status"], "finished");
    let (s, br) = json(get(
        &w.gl,
        "glpat-newbie-0000000",
        &format!("/projects/{fid}/repository/branches/c10s"),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(br["commit"]["id"], w.gl.branch_head(RPMS, "c10s").unwrap());
    assert_eq!(br["commit"]["title"], "Add README");
    assert_eq!(br["default"], true);
    // forking again into the same namespace → 409
    let (s, b) = json(post(
        &w.gl,
        "glpat-newbie-0000000",
        &format!("/projects/{}/fork", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 409);
    assert_eq!(b["message"]["path"], json!(["has already been taken"]));
    let (_, forks) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/forks", enc(RPMS)),
    ))
    .await;
    assert_eq!(
        forks.as_array().unwrap().len(),
        1,
        "the bot only sees forks it can read: {forks}"
    );

    // branches
    let (s, b) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/repository/branches/nope", enc(RPMS)),
    ))
    .await;
    assert_eq!((s, b), (404, json!({"message": "404 Branch Not Found"})));

    // unknown route → 404 Not Found, logged
    let (s, b) = json(get(&w.gl, BOT_TOKEN, "/projects/1/nonsense")).await;
    assert_eq!((s, b), (404, json!({"message": "404 Not Found"})));
    let un = w.gl.unmatched_requests();
    assert_eq!(un.len(), 1);
    assert_eq!(un[0].path, "/api/v4/projects/1/nonsense");
}

#[tokio::test]
async fn request_log_redacts_tokens() {
    let w = world(Clock::manual());
    let _ = json(
        client()
            .post(format!(
                "{}/projects/{}/fork?private_token={BOT_TOKEN}",
                w.gl.api_url(),
                enc(SRC)
            ))
            .body(form(&[
                ("path", &format!("x-{BOT_TOKEN}")),
                ("name", "copy"),
            ]))
            .header("content-type", "application/x-www-form-urlencoded"),
    )
    .await;
    let log = w.gl.requests();
    let r = log.last().unwrap();
    assert_eq!(r.user.as_deref(), Some("srcgit-bot"));
    assert_eq!(r.query.as_deref(), Some("private_token=[REDACTED]"));
    let body = r.body.as_deref().unwrap();
    assert!(
        !body.contains(BOT_TOKEN) && body.contains("[REDACTED]"),
        "{body}"
    );
}

#[tokio::test]
async fn a_lost_answer_does_the_work_and_a_repeat_meets_what_exists() {
    let w = world(Clock::manual());
    let mr = source_git_mr(&w);
    // note: created, but the client sees a 502
    let h = w.gl.inject(Rule::new("POST", r"/notes$").lost_answer());
    let notes_path = format!("/projects/{}/merge_requests/{}/notes", enc(SRC), mr.iid);
    let r = post(&w.gl, BOT_TOKEN, &notes_path)
        .json(&json!({"body": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(w.gl.rule_hits(h), 1);
    assert_eq!(
        w.gl.notes(SRC, mr.iid)
            .iter()
            .filter(|n| n.body == "hello")
            .count(),
        1
    );
    // fork: created, 502; the repeat gets GitLab's 409
    w.gl.add_project_member(RPMS, "outsider", AccessLevel::Reporter)
        .unwrap();
    w.gl.inject(Rule::new("POST", r"/fork$").lost_answer());
    let fork_path = format!("/projects/{}/fork", enc(RPMS));
    let body = json!({"namespace_path": "outsider"});
    let r = post(&w.gl, OUTSIDER_TOKEN, &fork_path)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let fork = w.gl.project("outsider/foo").expect("the fork was created");
    assert_eq!(fork.forked_from_id, Some(w.gl.project(RPMS).unwrap().id));
    let (s, b) = json(post(&w.gl, OUTSIDER_TOKEN, &fork_path).json(&body)).await;
    assert_eq!(
        (s, b),
        (
            409,
            json!({"message": {"name": ["has already been taken"], "path": ["has already been taken"]}})
        )
    );
    // a rule with a probability fires about that often, the others pass
    let h = w.gl.inject(
        Rule::new("GET", r"/user$")
            .internal_error()
            .always()
            .probability(0.5, 3),
    );
    let mut failed = 0;
    for _ in 0..40 {
        let r = get(&w.gl, BOT_TOKEN, "/user").send().await.unwrap();
        if r.status() == 500 {
            failed += 1;
        } else {
            assert_eq!(r.status(), 200);
        }
    }
    assert_eq!(w.gl.rule_hits(h), failed);
    assert!((8..=32).contains(&failed), "{failed}");
}
