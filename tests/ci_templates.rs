//! The CI templates in `gitlab-ci-templates/`, parsed with a YAML library: the components
//! (`templates/*.yml`) declare every input they use and use every input they declare,
//! with keys GitLab accepts; jobs use only job keywords, run only in merge-request or
//! push pipelines, and are never named like srcgit's mirrored `dist-git…` statuses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use yaml_rust2::{Yaml, YamlLoader};

/// GitLab's job keywords (doc/ci/yaml, GitLab 18.x).
const JOB_KEYWORDS: &[&str] = &[
    "after_script",
    "allow_failure",
    "artifacts",
    "before_script",
    "cache",
    "coverage",
    "dast_configuration",
    "dependencies",
    "environment",
    "extends",
    "hooks",
    "identity",
    "id_tokens",
    "image",
    "inherit",
    "interruptible",
    "manual_confirmation",
    "needs",
    "pages",
    "parallel",
    "release",
    "resource_group",
    "retry",
    "rules",
    "run",
    "script",
    "secrets",
    "services",
    "stage",
    "tags",
    "timeout",
    "trigger",
    "variables",
    "when",
];
/// Keys of one `spec:inputs:` entry.
const INPUT_KEYS: &[&str] = &[
    "default",
    "description",
    "options",
    "regex",
    "type",
    "rules",
];
const INPUT_TYPES: &[&str] = &["string", "number", "boolean", "array"];
/// Keys of one rule.
const RULE_KEYS: &[&str] = &[
    "if",
    "changes",
    "exists",
    "when",
    "allow_failure",
    "variables",
    "needs",
    "interruptible",
];
const RETRY_WHEN: &[&str] = &[
    "always",
    "unknown_failure",
    "script_failure",
    "api_failure",
    "stuck_or_timeout_failure",
    "runner_system_failure",
    "runner_unsupported",
    "stale_schedule",
    "job_execution_timeout",
    "archived_failure",
    "unmet_prerequisites",
    "scheduler_failure",
    "data_integrity_failure",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("gitlab-ci-templates")
}

fn key(k: &Yaml) -> String {
    k.as_str()
        .unwrap_or_else(|| panic!("non-string key {k:?}"))
        .to_string()
}

fn inputs_used(text: &str) -> BTreeSet<String> {
    let re = Regex::new(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]").unwrap();
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// Replaces every `$[[ inputs.x ]]` by its default, as GitLab does when the includer
/// passes no inputs.
fn interpolate(text: &str, defaults: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in defaults {
        let re = Regex::new(&format!(r"\$\[\[\s*inputs\.{}\s*\]\]", regex::escape(name))).unwrap();
        out = re.replace_all(&out, regex::NoExpand(value)).into_owned();
    }
    out
}

fn scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("default {other:?} is not a scalar"),
    }
}

/// Checks a component's header and returns the body and the inputs' defaults.
fn check_spec(name: &str, text: &str) -> (String, Vec<(String, String)>) {
    let (header, body) = text
        .split_once("\n---\n")
        .unwrap_or_else(|| panic!("{name}: a component needs `spec:`, then `---`, then jobs"));
    let docs = YamlLoader::load_from_str(header).unwrap_or_else(|e| panic!("{name}: {e}"));
    let spec = docs[0]["spec"]
        .as_hash()
        .unwrap_or_else(|| panic!("{name}: no spec:"));
    let spec_keys: Vec<String> = spec.keys().map(key).collect();
    assert_eq!(spec_keys, ["inputs"], "{name}: spec keys");
    let inputs = docs[0]["spec"]["inputs"]
        .as_hash()
        .expect("spec:inputs: is a map");
    let mut defaults = Vec::new();
    for (input, def) in inputs {
        let input = key(input);
        let def = def
            .as_hash()
            .unwrap_or_else(|| panic!("{name}: input {input} is not a map"));
        for k in def.keys().map(key) {
            assert!(
                INPUT_KEYS.contains(&k.as_str()),
                "{name}: input {input}: unknown key {k}"
            );
        }
        let ty = def
            .get(&Yaml::String("type".into()))
            .map_or("string".to_string(), scalar);
        assert!(
            INPUT_TYPES.contains(&ty.as_str()),
            "{name}: input {input}: type {ty}"
        );
        assert!(
            def.contains_key(&Yaml::String("description".into())),
            "{name}: input {input} has no description"
        );
        let default = def
            .get(&Yaml::String("default".into()))
            .unwrap_or_else(|| panic!("{name}: input {input} has no default"));
        if ty == "boolean" {
            assert!(
                matches!(default, Yaml::Boolean(_)),
                "{name}: {input} default not boolean"
            );
        }
        defaults.push((input, scalar(default)));
    }
    let declared: BTreeSet<String> = defaults.iter().map(|(n, _)| n.clone()).collect();
    let used = inputs_used(body);
    assert_eq!(
        used, declared,
        "{name}: inputs used in the jobs vs declared in spec:inputs:"
    );
    (body.to_string(), defaults)
}

fn check_rules(name: &str, job: &str, rules: &Yaml) {
    let rules = rules
        .as_vec()
        .unwrap_or_else(|| panic!("{name}: {job}: rules is not a list"));
    assert!(!rules.is_empty(), "{name}: {job}: empty rules");
    let source =
        Regex::new(r#"^\$CI_PIPELINE_SOURCE == "(merge_request_event|push)"( && .+)?$"#).unwrap();
    for rule in rules {
        let rule = rule
            .as_hash()
            .unwrap_or_else(|| panic!("{name}: {job}: rule not a map"));
        for k in rule.keys().map(key) {
            assert!(
                RULE_KEYS.contains(&k.as_str()),
                "{name}: {job}: rule key {k}"
            );
        }
        let cond = rule
            .get(&Yaml::String("if".into()))
            .and_then(Yaml::as_str)
            .unwrap_or_else(|| panic!("{name}: {job}: a rule without `if:` runs everywhere"));
        assert!(
            source.is_match(cond),
            "{name}: {job}: rule {cond:?} is not limited to merge_request_event or push"
        );
    }
}

/// Checks the jobs (with inputs already replaced) and returns their names.
fn check_jobs(name: &str, body: &str) -> Vec<String> {
    let docs = YamlLoader::load_from_str(body).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(docs.len(), 1, "{name}: one document of jobs");
    let jobs = docs[0]
        .as_hash()
        .unwrap_or_else(|| panic!("{name}: jobs are not a map"));
    let mut names = Vec::new();
    for (job_name, job) in jobs {
        let job_name = key(job_name);
        assert!(
            !job_name.starts_with('.') && !job_name.starts_with("dist-git"),
            "{name}: job {job_name:?} (hidden jobs and dist-git… names are not allowed)"
        );
        let job = job
            .as_hash()
            .unwrap_or_else(|| panic!("{name}: {job_name} not a map"));
        for k in job.keys().map(key) {
            assert!(
                JOB_KEYWORDS.contains(&k.as_str()),
                "{name}: {job_name}: `{k}` is not a job keyword (global keywords do not belong in a template)"
            );
        }
        let get = |k: &str| job.get(&Yaml::String(k.into()));
        assert!(
            get("script")
                .and_then(Yaml::as_vec)
                .is_some_and(|s| !s.is_empty()),
            "{name}: {job_name}: script"
        );
        assert!(
            get("tags")
                .and_then(Yaml::as_vec)
                .is_some_and(|t| !t.is_empty()),
            "{name}: {job_name}: tags route it to the srcgit runner"
        );
        let group = get("resource_group")
            .and_then(Yaml::as_str)
            .unwrap_or_else(|| panic!("{name}: {job_name}: resource_group"));
        assert!(
            group.contains("$CI_MERGE_REQUEST_IID") || group.contains("$CI_COMMIT_BRANCH"),
            "{name}: {job_name}: resource_group {group:?} is not per MR / branch"
        );
        check_rules(
            name,
            &job_name,
            get("rules").unwrap_or_else(|| panic!("{name}: {job_name}: rules")),
        );
        if let Some(retry) = get("retry") {
            for when in retry["when"].as_vec().into_iter().flatten() {
                let when = when.as_str().unwrap_or_default();
                assert!(
                    RETRY_WHEN.contains(&when),
                    "{name}: {job_name}: retry when {when}"
                );
            }
        }
        if let Some(interruptible) = get("interruptible") {
            assert!(
                matches!(interruptible, Yaml::Boolean(_)),
                "{name}: {job_name}: interruptible"
            );
        }
        names.push(job_name);
    }
    names
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn components_declare_what_they_use_and_use_only_job_keywords() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir().join("templates")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".yml"),
            "templates/{name}: components are templates/<name>.yml"
        );
        let (body, defaults) = check_spec(&name, &read(&format!("templates/{name}")));
        let jobs = check_jobs(&name, &interpolate(&body, &defaults));
        assert!(!jobs.is_empty(), "{name}: no jobs");
        seen.push((name, jobs));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("dist-git.yml".to_string(), vec!["srcgit".to_string()]),
            (
                "source-git.yml".to_string(),
                vec![
                    "srcgit".into(),
                    "srcgit-recreate".into(),
                    "srcgit-retry-failed".into()
                ]
            ),
        ]
    );
}

#[test]
fn the_source_git_component_has_the_documented_inputs() {
    let (_, defaults) = check_spec("source-git.yml", &read("templates/source-git.yml"));
    let names: Vec<&str> = defaults.iter().map(|(n, _)| n.as_str()).collect();
    for input in [
        "runner_tag",
        "stage",
        "job_name",
        "timeout",
        "resource_group",
        "interruptible",
    ] {
        assert!(names.contains(&input), "source-git.yml lacks input {input}");
    }
    let (body, _) = check_spec("source-git.yml", &read("templates/source-git.yml"));
    // the manual jobs are optional and never block the pipeline
    let body = interpolate(&body, &defaults);
    let jobs = &YamlLoader::load_from_str(&body).unwrap()[0];
    for manual in ["srcgit-recreate", "srcgit-retry-failed"] {
        let rule = &jobs[manual]["rules"][0];
        assert_eq!(rule["when"].as_str(), Some("manual"), "{manual}");
        assert_eq!(rule["allow_failure"].as_bool(), Some(true), "{manual}");
    }
    assert_eq!(
        jobs["srcgit"]["allow_failure"]["exit_codes"][0].as_i64(),
        Some(75)
    );
}

#[test]
fn the_classic_includes_are_plain_jobs() {
    for (name, jobs) in [
        (
            "srcgit.yml",
            &["srcgit", "srcgit-recreate", "srcgit-retry-failed"][..],
        ),
        ("srcgit-dist-git.yml", &["srcgit"][..]),
    ] {
        let text = read(name);
        assert!(
            inputs_used(&text).is_empty(),
            "{name}: a classic include takes no inputs"
        );
        let mut found = check_jobs(name, &text);
        found.sort();
        assert_eq!(found, jobs, "{name}");
    }
}

#[test]
fn a_template_that_breaks_the_rules_is_caught() {
    // the checks above can fail: a job named like a status, an undeclared input, a rule
    // for every pipeline source
    let bad = [
        "spec:\n  inputs:\n    stage:\n      description: s\n      default: test\n---\n\"dist-git\":\n  stage: $[[ inputs.stage ]]\n",
        "spec:\n  inputs:\n    stage:\n      description: s\n      default: test\n---\nx:\n  stage: $[[ inputs.stagee ]]\n",
    ];
    for text in bad {
        let result = std::panic::catch_unwind(|| {
            let (body, defaults) = check_spec("bad.yml", text);
            check_jobs("bad.yml", &interpolate(&body, &defaults));
        });
        assert!(result.is_err(), "not caught:\n{text}");
    }
    let everywhere = "x:\n  script: [a]\n  tags: [t]\n  resource_group: r-$CI_MERGE_REQUEST_IID\n  rules:\n    - when: always\n";
    assert!(std::panic::catch_unwind(|| check_jobs("bad.yml", everywhere)).is_err());
}
