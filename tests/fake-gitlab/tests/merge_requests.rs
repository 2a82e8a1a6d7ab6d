mod common;

use common::*;
use fake_gitlab::*;
use serde_json::json;

/// srcgit's flow: push to the bot fork, then POST to the fork with target_project_id.
async fn create_rpms_mr(w: &World, branch: &str) -> (u16, serde_json::Value) {
    let rpms_id = w.gl.project(RPMS).unwrap().id.to_string();
    json(
        post(
            &w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/merge_requests?", enc(BOT_FORK)),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("source_branch", branch),
            ("target_branch", "c10s"),
            ("title", "Update to fix"),
            ("target_project_id", &rpms_id),
        ])),
    )
    .await
}

#[tokio::test]
async fn duplicate_mr_is_409_and_same_branch_is_422() {
    let w = world(Clock::manual());
    w.gl.push_from(BOT_FORK, &w.local, "srcgit-bot").unwrap();
    let (s, mr) = create_rpms_mr(&w, "fix").await;
    assert_eq!(s, 201, "{mr}");
    assert_eq!(mr["iid"], 1);
    assert_eq!(mr["project_id"], w.gl.project(RPMS).unwrap().id);
    assert_eq!(mr["source_project_id"], w.gl.project(BOT_FORK).unwrap().id);
    assert_eq!(mr["target_project_id"], mr["project_id"]);
    assert_eq!(mr["state"], "opened");
    assert_eq!(mr["sha"], w.gl.branch_head(BOT_FORK, "fix").unwrap());
    assert_eq!(mr["changes_count"], "1");

    let (s, body) = create_rpms_mr(&w, "fix").await;
    assert_eq!(s, 409);
    assert_eq!(
        body,
        json!({"message": ["Another open merge request already exists for this source branch: !1"]})
    );
    assert_eq!(
        w.gl.merge_requests(RPMS).len(),
        1,
        "no duplicate MR was created"
    );

    // source == target (same project, same branch)
    let (s, body) = json(
        post(
            &w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/merge_requests", enc(RPMS)),
        )
        .json(&json!({"source_branch": "c10s", "target_branch": "c10s", "title": "x"})),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(
        body,
        json!({"message": ["You must select different branches"]})
    );

    // missing params → Grape error
    let (s, body) = json(post(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        body,
        json!({"error": "source_branch is missing, target_branch is missing, title is missing"})
    );

    // closing frees the slot; reopening the old one then conflicts
    let (s, _) = json(
        put(
            &w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/merge_requests/1", enc(RPMS)),
        )
        .body(form(&[("state_event", "close")]))
        .header("content-type", "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(s, 200);
    let (s, mr2) = create_rpms_mr(&w, "fix").await;
    assert_eq!((s, mr2["iid"].clone()), (201, json!(2)));
    let (s, body) = json(
        put(
            &w.gl,
            BOT_TOKEN,
            &format!("/projects/{}/merge_requests/1", enc(RPMS)),
        )
        .json(&json!({"state_event": "reopen"})),
    )
    .await;
    assert_eq!(s, 409, "{body}");
}

#[tokio::test]
async fn mr_create_starts_pipeline_in_target_and_get_shows_head_pipeline() {
    let w = world(Clock::manual());
    w.gl.push_from(BOT_FORK, &w.local, "srcgit-bot").unwrap();
    let (s, created) = create_rpms_mr(&w, "fix").await;
    assert_eq!(s, 201);
    let pipelines = w.gl.pipelines(RPMS);
    assert_eq!(pipelines.len(), 1);
    let p = &pipelines[0];
    assert_eq!(p.source, "merge_request_event");
    assert_eq!(p.ref_name, "refs/merge-requests/1/head");
    assert_eq!(p.sha, created["sha"].as_str().unwrap());

    let (s, mr) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests/1", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(mr["head_pipeline"]["id"], p.id);
    assert_eq!(mr["head_pipeline"]["project_id"], p.project_id);
    assert_eq!(mr["head_pipeline"]["detailed_status"]["group"], "pending");
    assert_eq!(mr["diff_refs"]["head_sha"], mr["sha"]);
    assert_eq!(
        mr["diff_refs"]["base_sha"],
        w.gl.branch_head(RPMS, "c10s").unwrap()
    );
    assert!(
        mr["web_url"]
            .as_str()
            .unwrap()
            .ends_with("/redhat/centos-stream/rpms/foo/-/merge_requests/1")
    );

    // list: no head_pipeline, filters work
    let (s, list) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests?state=opened&source_branch=fix&author_username=srcgit-bot&iids[]=1", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("head_pipeline").is_none());
    let (_, list) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests?state=closed", enc(RPMS)),
    ))
    .await;
    assert_eq!(list, json!([]));
    let (s, body) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests?state=bogus", enc(RPMS)),
    ))
    .await;
    assert_eq!(
        (s, body),
        (400, json!({"error": "state does not have a valid value"}))
    );

    // MR pipelines: POST creates another (200, full), list is newest first
    let (s, np) = json(post(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests/1/pipelines", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(np["source"], "merge_request_event");
    assert!(np["detailed_status"].is_object());
    let (_, list) = json(get(
        &w.gl,
        BOT_TOKEN,
        &format!("/projects/{}/merge_requests/1/pipelines", enc(RPMS)),
    ))
    .await;
    let ids: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![np["id"].as_u64().unwrap(), p.id]);

    // a user without rights anywhere cannot create one
    let (s, _) = json(post(
        &w.gl,
        CONTRIB_TOKEN,
        &format!("/projects/{}/merge_requests/1/pipelines", enc(RPMS)),
    ))
    .await;
    assert_eq!(s, 405);
}

#[tokio::test]
async fn mr_update_and_notes() {
    let w = world(Clock::manual());
    let mr = source_git_mr(&w);
    let path = format!("/projects/{}/merge_requests/{}", enc(SRC), mr.iid);
    let (s, body) = json(put(&w.gl, CONTRIB_TOKEN, &path)).await;
    assert_eq!(s, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .ends_with("at least one parameter must be provided")
    );
    let (s, body) = json(
        put(&w.gl, CONTRIB_TOKEN, &path).json(&json!({"title": "Draft: new", "description": "d2"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (body["title"].clone(), body["draft"].clone()),
        (json!("Draft: new"), json!(true))
    );
    let (s, _) = json(put(&w.gl, OUTSIDER_TOKEN, &path).json(&json!({"title": "x"}))).await;
    assert_eq!(s, 404, "private project is invisible to outsiders");

    let (s, note) = json(
        post(&w.gl, BOT_TOKEN, &format!("{path}/notes"))
            .json(&json!({"body": "<!-- srcgit -->\nhello"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(note["noteable_type"], "MergeRequest");
    assert_eq!(note["noteable_iid"], mr.iid);
    assert_eq!(note["author"]["username"], "srcgit-bot");
    let nid = note["id"].as_u64().unwrap();
    let (s, upd) = json(
        put(&w.gl, BOT_TOKEN, &format!("{path}/notes/{nid}")).json(&json!({"body": "updated"})),
    )
    .await;
    assert_eq!((s, upd["body"].clone()), (200, json!("updated")));
    let (s, _) = json(
        put(&w.gl, CONTRIB_TOKEN, &format!("{path}/notes/{nid}")).json(&json!({"body": "hijack"})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, list) = json(get(&w.gl, BOT_TOKEN, &format!("{path}/notes?sort=asc"))).await;
    assert_eq!(s, 200);
    let bodies: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert!(bodies.contains(&"updated"), "{bodies:?}");
    assert!(
        bodies.iter().any(|b| b.starts_with("changed title from")),
        "system notes are generated"
    );
    let (s, _) = json(get(&w.gl, BOT_TOKEN, &format!("{path}/notes/999999"))).await;
    assert_eq!(s, 404);
}
