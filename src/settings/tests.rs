use super::*;

fn write_token(dir: &Path) -> PathBuf {
    let token = dir.join("token");
    std::fs::write(&token, "glpat-abcdef\n").unwrap();
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    token
}

fn settings_text(token: &Path, extra: &str) -> String {
    format!(
        r#"gitlab_url = "https://gitlab.example.com/"
token_file = "{}"
database = "/var/lib/srcgit/srcgit.sqlite"
work_dir = "/var/lib/srcgit/work"
fork_namespace = "srcgit-bot"
{extra}
[[mapping]]
source_git = "redhat/centos-stream/src"
dist_git = "redhat/centos-stream/rpms"
branches = '^c\d+s$'

[poll]
interval_seconds = 5
timeout_seconds = 60
"#,
        token.display()
    )
}

#[test]
fn valid_settings_load() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    let s = parse(&settings_text(&token, ""), Path::new("x.toml")).unwrap();
    assert_eq!(s.gitlab_url, "https://gitlab.example.com");
    assert_eq!(s.token.expose(), "glpat-abcdef");
    assert!(!format!("{s:?}").contains("glpat"));
    assert!(s.mappings[0].branches.is_match("c10s"));
    assert!(!s.mappings[0].branches.is_match("rhel-10"));
    assert_eq!(s.poll_interval, Duration::from_secs(5));
}

#[test]
fn unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    let err = parse(
        &settings_text(&token, "fork_namspace = \"x\""),
        Path::new("x.toml"),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("fork_namspace"), "{text}");
}

#[test]
fn invalid_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    let bad_regex = settings_text(&token, "").replace(r"^c\d+s$", "(");
    let err = parse(&bad_regex, Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("mapping[0].branches"), "{err}");
    let bad_interval =
        settings_text(&token, "").replace("interval_seconds = 5", "interval_seconds = 0");
    let err = parse(&bad_interval, Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("poll.interval_seconds"), "{err}");
    let fractional =
        settings_text(&token, "").replace("interval_seconds = 5", "interval_seconds = 0.25");
    assert_eq!(
        parse(&fractional, Path::new("x.toml"))
            .unwrap()
            .poll_interval,
        Duration::from_millis(250)
    );
    let bad_ns = settings_text(&token, "").replace("\"srcgit-bot\"", "\"../x\"");
    let err = parse(&bad_ns, Path::new("x.toml")).unwrap_err().to_string();
    assert!(err.contains("fork_namespace"), "{err}");
    let missing_token = settings_text(Path::new("/nonexistent/token"), "");
    let err = parse(&missing_token, Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("token_file"), "{err}");
}

#[test]
fn mapping_lookup_is_by_exact_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    let s = parse(&settings_text(&token, ""), Path::new("x.toml")).unwrap();
    let p = |s: &str| crate::ids::ProjectPath(s.to_string());
    assert!(
        s.mapping_for(&p("redhat/centos-stream/src/quill"))
            .is_some()
    );
    assert!(
        s.mapping_for(&p("redhat/centos-stream/src-evil/quill"))
            .is_none()
    );
    assert!(
        s.mapping_for(&p("redhat/centos-stream/src/sub/quill"))
            .is_none()
    );
}

#[test]
fn a_misplaced_token_line_is_never_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    for extra in [
        "[http]\ntoken = \"glpat-SECRETSECRET\"",
        "token = \"glpat-SECRETSECRET\"",
        "fork_namespace = \"glpat-SECRETSECRET\"",
        "token = glpat-SECRETSECRET",
    ] {
        let text = settings_text(&token, extra);
        let err = parse(&text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(!err.contains("SECRETSECRET"), "{extra}: {err}");
        assert!(err.contains("line "), "{extra}: {err}");
    }
    let text = settings_text(&token, "[http]\ntoken = \"glpat-SECRETSECRET\"");
    let err = parse(&text, Path::new("x.toml")).unwrap_err().to_string();
    assert!(err.contains("token"), "{err}");
}

#[test]
fn numbers_must_be_finite_and_sane() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    for (value, key) in [
        ("inf", "poll.timeout_seconds"),
        ("nan", "poll.timeout_seconds"),
        ("1e300", "poll.timeout_seconds"),
        ("-5", "poll.timeout_seconds"),
    ] {
        let text = settings_text(&token, "").replace(
            "timeout_seconds = 60",
            &format!("timeout_seconds = {value}"),
        );
        let err = parse(&text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains(key), "{value}: {err}");
    }
    for (value, key) in [
        ("nan", "poll.interval_seconds"),
        ("inf", "poll.interval_seconds"),
    ] {
        let text = settings_text(&token, "").replace(
            "interval_seconds = 5",
            &format!("interval_seconds = {value}"),
        );
        let err = parse(&text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains(key), "{value}: {err}");
    }
    for (extra, key) in [
        (
            "[http]\nrequest_timeout_seconds = 18446744073709551615",
            "http.request_timeout_seconds",
        ),
        (
            "[http]\nmax_backoff_seconds = 18446744073709551615",
            "http.max_backoff_seconds",
        ),
        ("[http]\nmax_retries = 4000000000", "http.max_retries"),
    ] {
        let text =
            settings_text(&token, "").replace("[[mapping]]", &format!("{extra}\n[[mapping]]"));
        let err = parse(&text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains(key), "{extra}: {err}");
    }
}

#[test]
fn the_token_file_must_be_private_and_ours() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    for mode in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = parse(&settings_text(&token, ""), Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{mode:o}: {err}");
    }
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o400)).unwrap();
    parse(&settings_text(&token, ""), Path::new("x.toml")).unwrap();
    std::os::unix::fs::chown(&token, Some(rustix::process::geteuid().as_raw() + 1), None).unwrap();
    let err = parse(&settings_text(&token, ""), Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("owned by"), "{err}");
}

#[test]
fn a_token_that_cannot_be_a_header_and_a_url_with_credentials_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    std::fs::write(&token, "glpat-ab\u{7f}cd\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = parse(&settings_text(&token, ""), Path::new("x.toml")).unwrap_err();
    assert!(err.to_string().contains("token_file"), "{err}");
    let token = write_token(dir.path());
    let text = settings_text(&token, "").replace(
        "https://gitlab.example.com/",
        "https://bot:glpat-xyz@gitlab.example.com/",
    );
    let err = parse(&text, Path::new("x.toml")).unwrap_err().to_string();
    assert!(
        err.contains("gitlab_url") && !err.contains("glpat-xyz"),
        "{err}"
    );
}

#[test]
fn cache_max_age_defaults_to_two_weeks_and_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let token = write_token(dir.path());
    let s = parse(&settings_text(&token, ""), Path::new("x.toml")).unwrap();
    assert_eq!(s.cache_max_age, Duration::from_secs(14 * 86_400));
    let s = parse(
        &settings_text(&token, "cache_max_age_days = 3"),
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(s.cache_max_age, Duration::from_secs(3 * 86_400));
    let err = parse(
        &settings_text(&token, "cache_max_age_days = 0"),
        Path::new("x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("cache_max_age_days"), "{err}");
}
