use super::*;

const INIT: &str = "upstream_project_url: https://example.org/quill.git
upstream_ref: v1.4.0
downstream_package_name: quill
specfile_path: .distro/quill.spec
patch_generation_ignore_paths:
- .distro
patch_generation_patch_id_digits: 1
sync_changelog: true
files_to_sync:
- src: .distro/
  dest: .
  delete: true
  filters:
  - protect .git*
  - protect sources
  - exclude source-git.yaml
  - exclude .gitignore
sources:
- path: quill-1.4.0.tar.gz
  url: https://example.org/quill-1.4.0.tar.gz
";

#[test]
fn the_config_init_writes_parses() {
    let c = parse(INIT, "quill").unwrap();
    assert_eq!(c.downstream_package_name, "quill");
    assert_eq!(c.upstream_ref.as_deref(), Some("v1.4.0"));
    assert_eq!(c.patch_id_digits, 1);
    assert_eq!(c.files_to_sync.len(), 1);
    assert_eq!(c.files_to_sync[0].src, vec![".distro/".to_string()]);
    assert!(c.files_to_sync[0].delete);
    assert_eq!(
        c.patch_excludes(),
        vec![".distro".to_string(), ".distro".to_string()]
    );
    assert_eq!(c.dist_git_spec(), "quill.spec");
}

#[test]
fn defaults_follow_packit() {
    let c = parse(
        "downstream_package_name: quill\nsync_changelog: true\n",
        "quill",
    )
    .unwrap();
    assert_eq!(c.patch_id_digits, 4);
    assert_eq!(c.upstream_ref, None);
    assert_eq!(c.specfile_path, "quill.spec");
    assert_eq!(c.files_to_sync.len(), 2, "spec + source-git.yaml");
    assert!(
        c.patch_excludes().is_empty(),
        "default files_to_sync adds no excludes"
    );
}

#[test]
fn errors_name_the_key_and_line() {
    let missing = parse("upstream_ref: v1\nsync_changelog: true\n", "quill").unwrap_err();
    assert!(
        missing.to_string().contains("downstream_package_name"),
        "{missing}"
    );
    let typo = parse(
        "downstream_package_name: q\nsync_changelog: true\nupstream_rf: v1\n",
        "q",
    )
    .unwrap_err();
    assert_eq!(
        typo.to_string(),
        ".distro/source-git.yaml line 3: unknown key \"upstream_rf\", did you mean upstream_ref?"
    );
    let number = parse(
        "downstream_package_name: q\nsync_changelog: true\nupstream_ref: 1.6\n",
        "q",
    )
    .unwrap_err();
    assert!(
        number
            .to_string()
            .contains("line 3: upstream_ref must be text"),
        "{number}"
    );
    let digits = parse(
        "downstream_package_name: q\nsync_changelog: true\npatch_generation_patch_id_digits: -1\n",
        "q",
    )
    .unwrap_err();
    assert!(digits.to_string().contains("line 3"), "{digits}");
    let syntax = parse("downstream_package_name: q\n  bad: [\n", "q").unwrap_err();
    assert!(matches!(syntax, ConfigError::Yaml(_)));
}

#[test]
fn actions_and_changelog_rewrite_are_refused() {
    let actions = parse(
        "downstream_package_name: q\nsync_changelog: true\nactions:\n  create-patches: make\n",
        "q",
    )
    .unwrap_err();
    assert!(
        actions.to_string().contains("actions are not supported"),
        "{actions}"
    );
    let changelog = parse("downstream_package_name: q\n", "q").unwrap_err();
    assert!(
        changelog
            .to_string()
            .contains("sync_changelog must be true"),
        "{changelog}"
    );
}

#[test]
fn monorepo_configs_pick_the_package_of_the_dist_git_directory() {
    let text = "sync_changelog: true\nupstream_ref: v1\npackages:\n  a:\n    downstream_package_name: alpha\n  b:\n    downstream_package_name: beta\n    upstream_ref: v2\n";
    let beta = parse(text, "beta").unwrap();
    assert_eq!(beta.downstream_package_name, "beta");
    assert_eq!(beta.upstream_ref.as_deref(), Some("v2"));
    assert_eq!(
        parse(text, "alpha").unwrap().upstream_ref.as_deref(),
        Some("v1")
    );
    assert!(matches!(
        parse(text, "gamma"),
        Err(ConfigError::NoSuchPackage { .. })
    ));
}

#[test]
fn string_entries_and_dict_entries_of_files_to_sync() {
    let text = "downstream_package_name: q\nsync_changelog: true\nfiles_to_sync:\n- README\n- src: [a, b]\n  dest: d/\n  mkpath: true\n";
    let c = parse(text, "q").unwrap();
    assert_eq!(c.files_to_sync[0].src, vec!["README".to_string()]);
    assert_eq!(c.files_to_sync[0].dest, "README");
    assert!(c.files_to_sync[1].mkpath);
    assert_eq!(
        c.patch_excludes(),
        vec!["README".to_string(), "a".to_string(), "b".to_string()]
    );
    let bad = parse(
        "downstream_package_name: q\nsync_changelog: true\nfiles_to_sync:\n- src: a\n  dst: b\n",
        "q",
    )
    .unwrap_err();
    assert!(bad.to_string().contains("line 5"), "{bad}");
}

#[test]
fn the_sync_reads_only_the_top_level_entries_its_sources_name() {
    let with = |sources: &str| {
        let text = INIT.replace(
            "files_to_sync:\n- src: .distro/\n",
            &format!("files_to_sync:\n- src: {sources}\n"),
        );
        parse(&text, "quill").unwrap().sync_source_tops()
    };
    assert_eq!(with(".distro/"), Some(vec![".distro".to_string()]));
    assert_eq!(
        with("[./.distro/quill.spec, docs/*.md, .distro/x]"),
        Some(vec![".distro".to_string(), "docs".to_string()])
    );
    for anywhere in [
        "'*.spec'",
        ".",
        "./",
        ".distro/../src",
        "/etc/passwd",
        "'[ab]/x'",
    ] {
        assert_eq!(with(anywhere), None, "{anywhere}");
    }
}
