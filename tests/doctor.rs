//! `srcgit doctor` against the fake GitLab: a good set-up and three broken ones, each
//! failing the checks it should, with a fix, and never printing the token.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::executor::*;
use fake_gitlab::AccessLevel;

struct Doctor {
    code: i32,
    stdout: String,
}

impl Doctor {
    /// The line of check `name`, e.g. `✗ token scope: …`.
    fn line(&self, name: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| {
                l.get(4..)
                    .is_some_and(|rest| rest.starts_with(&format!("{name}: ")))
            })
            .unwrap_or_else(|| panic!("no check {name:?} in:\n{}", self.stdout))
    }

    fn assert(&self, name: &str, mark: &str) {
        let line = self.line(name);
        assert!(
            line.starts_with(mark),
            "{name}: expected {mark}, got {line:?}\n{}",
            self.stdout
        );
    }

    fn names(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|l| !l.starts_with(' '))
            .map(|l| {
                l.get(4..)
                    .unwrap_or("")
                    .split(": ")
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }
}

fn doctor(settings: &Path) -> Doctor {
    let out = Command::new(env!("CARGO_BIN_EXE_srcgit"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--config")
        .arg(settings)
        .arg("doctor")
        .output()
        .expect("srcgit runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for secret in [BOT_TOKEN, "glpat-readonly-0123456789"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "token printed"
        );
    }
    Doctor {
        code: out.status.code().unwrap_or(-1),
        stdout,
    }
}

fn token_file(world: &World) -> std::path::PathBuf {
    world.tmp.path().join("token")
}

fn private(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn edit_settings(world: &World, from: &str, to: &str) {
    let text = std::fs::read_to_string(&world.settings).unwrap();
    assert!(text.contains(from), "{from:?} not in the settings");
    std::fs::write(&world.settings, text.replace(from, to)).unwrap();
}

#[test]
fn a_good_setup_passes_every_check() {
    let world = world(WorldOptions::default());
    private(&token_file(&world));
    let d = doctor(&world.settings);
    assert_eq!(d.code, 0, "{}", d.stdout);
    assert_eq!(
        d.names(),
        [
            "settings",
            "token file",
            "token",
            "token scope",
            "token expiry",
            "mapping[0].source_git",
            "mapping[0].dist_git",
            "fork_namespace",
            "work_dir",
            "database",
            "git",
        ],
        "{}",
        d.stdout
    );
    assert!(d.stdout.lines().all(|l| l.starts_with('✓')), "{}", d.stdout);
    assert!(d.line("token").contains("user @srcgit-bot"), "{}", d.stdout);
    assert!(
        d.line("mapping[0].dist_git")
            .contains("@srcgit-bot is Developer")
    );
    assert!(d.line("database").contains("schema version"));
    assert!(d.line("git").contains("git version"));
}

#[test]
fn a_revoked_token_fails_and_skips_the_gitlab_checks() {
    let world = world(WorldOptions::default());
    private(&token_file(&world));
    world.gl.revoke_token(BOT_TOKEN);
    let d = doctor(&world.settings);
    assert_eq!(d.code, 1, "{}", d.stdout);
    d.assert("token", "✗");
    assert!(
        d.stdout.contains("fix: create a personal access token"),
        "{}",
        d.stdout
    );
    assert!(!d.stdout.contains("mapping[0]"), "{}", d.stdout);
    d.assert("work_dir", "✓");
    d.assert("git", "✓");
}

#[test]
fn an_open_token_file_a_read_api_token_and_a_missing_membership_fail() {
    let world = world(WorldOptions::default());
    world
        .gl
        .add_token("srcgit-bot", "glpat-readonly-0123456789", &["read_api"])
        .unwrap();
    std::fs::write(token_file(&world), "glpat-readonly-0123456789\n").unwrap();
    std::fs::set_permissions(token_file(&world), std::fs::Permissions::from_mode(0o644)).unwrap();
    world
        .gl
        .add_group("redhat/centos-stream/rpms-other")
        .unwrap();
    world
        .gl
        .add_group_member(
            "redhat/centos-stream/rpms-other",
            "packager",
            AccessLevel::Developer,
        )
        .unwrap();
    edit_settings(
        &world,
        r#"dist_git = "redhat/centos-stream/rpms""#,
        r#"dist_git = "redhat/centos-stream/rpms-other""#,
    );
    let d = doctor(&world.settings);
    assert_eq!(d.code, 1, "{}", d.stdout);
    d.assert("token file", "✗");
    assert!(d.line("token file").contains("mode 0644"));
    assert!(
        d.stdout
            .contains(&format!("fix: chmod 0600 {}", token_file(&world).display()))
    );
    d.assert("token", "✓");
    d.assert("token scope", "✗");
    d.assert("mapping[0].source_git", "✓");
    d.assert("mapping[0].dist_git", "✗");
    assert!(
        d.line("mapping[0].dist_git").contains("not a member"),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout
            .contains("fix: add @srcgit-bot to group redhat/centos-stream/rpms-other as Developer")
    );
}

#[test]
fn a_missing_namespace_a_weak_fork_group_and_an_expiring_token_are_reported() {
    let world = world(WorldOptions::default());
    private(&token_file(&world));
    let soon = (chrono::Utc::now().date_naive() + chrono::Days::new(10))
        .format("%Y-%m-%d")
        .to_string();
    world.gl.set_token_expiry(BOT_TOKEN, Some(&soon)).unwrap();
    world.gl.add_group("forks").unwrap();
    world
        .gl
        .add_group_member("forks", "srcgit-bot", AccessLevel::Reporter)
        .unwrap();
    edit_settings(
        &world,
        r#"source_git = "redhat/centos-stream/src""#,
        r#"source_git = "redhat/centos-stream/nosuch""#,
    );
    edit_settings(
        &world,
        r#"fork_namespace = "srcgit-bot""#,
        r#"fork_namespace = "forks""#,
    );
    // the database's directory is taken by a file
    std::fs::write(world.tmp.path().join("db"), "").unwrap();
    let d = doctor(&world.settings);
    assert_eq!(d.code, 1, "{}", d.stdout);
    d.assert("token expiry", "⚠");
    assert!(
        d.line("token expiry").contains("in 10 days"),
        "{}",
        d.stdout
    );
    d.assert("mapping[0].source_git", "✗");
    assert!(d.line("mapping[0].source_git").contains("does not exist"));
    d.assert("mapping[0].dist_git", "✓");
    d.assert("fork_namespace", "✗");
    assert!(
        d.line("fork_namespace").contains("it is Reporter there"),
        "{}",
        d.stdout
    );
    d.assert("database", "✗");
    d.assert("git", "✓");
}

#[test]
fn unreadable_settings_fail_with_the_key_named() {
    let world = world(WorldOptions::default());
    edit_settings(&world, "fork_namespace", "fork_namespaces");
    let d = doctor(&world.settings);
    assert_eq!(d.code, 1, "{}", d.stdout);
    d.assert("settings", "✗");
    assert!(
        d.line("settings").contains("fork_namespaces"),
        "{}",
        d.stdout
    );
    d.assert("git", "✓");
}
