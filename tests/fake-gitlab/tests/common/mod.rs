//! Shared fixtures: a small world like srcgit's (bot, contributor, a
//! source-git project with a contributor fork, an rpms project with CI).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fake_gitlab::*;

pub const BOT_TOKEN: &str = "glpat-bot-0000000000000000";
pub const CONTRIB_TOKEN: &str = "glpat-contrib-00000000000";
pub const OUTSIDER_TOKEN: &str = "glpat-outsider-0000000000";
pub const SRC: &str = "redhat/centos-stream/src/foo";
pub const RPMS: &str = "redhat/centos-stream/rpms/foo";
pub const FORK: &str = "contributor/foo";
pub const BOT_FORK: &str = "srcgit-bot/foo";

/// Runs git in `dir` with a fixed identity and no user config.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05+00:00")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05+00:00")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Like [`git`] but returns success instead of asserting.
pub fn git_ok(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A local repository with `c10s` (2 commits) and `fix` (one more commit).
pub fn make_repo(root: &Path) -> PathBuf {
    let dir = root.join("local");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "c10s"]);
    std::fs::write(dir.join("foo.spec"), "Name: foo\nVersion: 1.0\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "Initial import"]);
    std::fs::write(dir.join("README"), "foo\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "Add README"]);
    git(&dir, &["tag", "v1.0"]);
    git(&dir, &["checkout", "-q", "-b", "fix"]);
    std::fs::write(dir.join("fix.patch"), "--- a\n+++ b\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "Fix the thing"]);
    git(&dir, &["checkout", "-q", "c10s"]);
    dir
}

pub fn rpms_ci() -> CiDefinition {
    CiDefinition::new(vec![
        CiJob::new("rpmbuild", "build").duration(Duration::from_secs(30)),
        CiJob::new("rpminspect", "test").duration(Duration::from_secs(20)),
    ])
}

pub struct World {
    pub gl: FakeGitLab,
    pub tmp: tempfile::TempDir,
    pub local: PathBuf,
}

/// The world, with the given clock.
pub fn world(clock: Clock) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let local = make_repo(tmp.path());
    let gl = FakeGitLab::start_blocking(Options {
        clock,
        fork_import_delay: Duration::from_secs(2),
        ..Options::default()
    });
    gl.add_user(
        UserSpec::new("srcgit-bot")
            .name("Srcgit Bot")
            .bot()
            .token(BOT_TOKEN),
    )
    .unwrap();
    gl.add_user(UserSpec::new("contributor").token(CONTRIB_TOKEN))
        .unwrap();
    gl.add_user(UserSpec::new("outsider").token(OUTSIDER_TOKEN))
        .unwrap();
    gl.add_project(ProjectSpec::new(SRC).seed_from(&local))
        .unwrap();
    gl.add_project(ProjectSpec::new(RPMS).seed_from(&local).ci(rpms_ci()))
        .unwrap();
    gl.add_group_member(
        "redhat/centos-stream/src",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    gl.add_group_member(
        "redhat/centos-stream/rpms",
        "srcgit-bot",
        AccessLevel::Developer,
    )
    .unwrap();
    gl.add_project_member(SRC, "contributor", AccessLevel::Reporter)
        .unwrap();
    gl.add_project_member(RPMS, "contributor", AccessLevel::Reporter)
        .unwrap();
    gl.fork_project(SRC, "contributor", None).unwrap();
    gl.fork_project(RPMS, "srcgit-bot", None).unwrap();
    World { gl, tmp, local }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `<api>/<path>` with `PRIVATE-TOKEN`.
pub fn get(gl: &FakeGitLab, token: &str, path: &str) -> reqwest::RequestBuilder {
    client()
        .get(format!("{}{path}", gl.api_url()))
        .header("PRIVATE-TOKEN", token)
}

pub fn post(gl: &FakeGitLab, token: &str, path: &str) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}{path}", gl.api_url()))
        .header("PRIVATE-TOKEN", token)
}

pub fn put(gl: &FakeGitLab, token: &str, path: &str) -> reqwest::RequestBuilder {
    client()
        .put(format!("{}{path}", gl.api_url()))
        .header("PRIVATE-TOKEN", token)
}

/// URL-encodes a project path for `:id`.
pub fn enc(path: &str) -> String {
    path.replace('/', "%2F")
}

/// Form-encodes like the Kitware `gitlab` crate.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlenc(k), urlenc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn json(r: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let resp = r.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Pushes the local `fix` branch to the contributor fork and opens the
/// source-git MR (fork → src, `c10s`).
pub fn source_git_mr(w: &World) -> MergeRequest {
    w.gl.push_from(FORK, &w.local, "contributor").unwrap();
    w.gl.create_merge_request(
        MrSpec::new(FORK, "fix", SRC, "c10s", "contributor")
            .title("Fix the thing")
            .description("Please review"),
    )
    .unwrap()
}
