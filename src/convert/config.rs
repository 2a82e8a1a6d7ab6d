//! The `.distro/source-git.yaml` model: packit's package-config keys that source-git
//! uses, their defaults, and validation with the line of the offending key.
//!
//! Keys packit knows but srcgit does not use (`jobs`, `notifications`, …) are accepted and
//! ignored, so an existing packit config keeps working; a key packit does not know is
//! refused, because it is almost always a typo. Pure: the caller reads the file.

use super::sync::SyncItem;
use super::yaml::{self, Node, Value};

/// Where the config lives in a source-git repository.
pub const CONFIG_PATH: &str = ".distro/source-git.yaml";

/// The settings of one package, with packit's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageConfig {
    /// `downstream_package_name`: the dist-git spec is `<name>.spec`.
    pub downstream_package_name: String,
    /// `upstream_ref`: patches are generated from `upstream_ref..HEAD`.
    pub upstream_ref: Option<String>,
    /// `specfile_path` (default `<name>.spec`).
    pub specfile_path: String,
    /// `files_to_sync`, or packit's default pair when empty.
    pub files_to_sync: Vec<SyncItem>,
    /// Whether `files_to_sync` was given (its `src` entries are then excluded from patches).
    pub files_to_sync_explicit: bool,
    /// `patch_generation_ignore_paths`.
    pub patch_generation_ignore_paths: Vec<String>,
    /// `patch_generation_patch_id_digits` (default 4).
    pub patch_id_digits: u32,
}

/// A broken `source-git.yaml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid YAML.
    #[error("{CONFIG_PATH} is not valid YAML")]
    Yaml(#[source] yaml::YamlError),
    /// Empty, or not a mapping.
    #[error("{CONFIG_PATH} must be a mapping of keys to values")]
    NotAMapping,
    /// A required key is missing.
    #[error("{CONFIG_PATH}: the key {0} is required")]
    Missing(&'static str),
    /// A key packit does not know.
    #[error("{CONFIG_PATH} line {line}: unknown key {key:?}{hint}")]
    UnknownKey {
        /// The key.
        key: String,
        /// Its line.
        line: usize,
        /// ", did you mean …?" or empty.
        hint: String,
    },
    /// A value of the wrong type or out of range.
    #[error("{CONFIG_PATH} line {line}: {key} must be {expected}")]
    Invalid {
        /// The key.
        key: String,
        /// Its line.
        line: usize,
        /// What it must be.
        expected: String,
    },
    /// A setting srcgit refuses on purpose.
    #[error("{CONFIG_PATH} line {line}: {reason}")]
    Unsupported {
        /// Its line.
        line: usize,
        /// Why and what to do.
        reason: String,
    },
    /// `packages:` names no package that matches the dist-git directory.
    #[error(
        "{CONFIG_PATH}: none of the packages {names:?} is named {wanted:?} like the dist-git directory"
    )]
    NoSuchPackage {
        /// The package names in the config.
        names: Vec<String>,
        /// The dist-git directory name.
        wanted: String,
    },
}

/// Every key of packit's `CommonConfigSchema` and `PackageConfigSchema` (packit 1.17).
const KNOWN_KEYS: &[&str] = &[
    "config_file_path",
    "specfile_path",
    "downstream_package_name",
    "upstream_project_url",
    "upstream_package_name",
    "paths",
    "upstream_ref",
    "upstream_tag_template",
    "archive_root_dir_template",
    "dist_git_url",
    "dist_git_base_url",
    "dist_git_namespace",
    "allowed_gpg_keys",
    "spec_source_id",
    "files_to_sync",
    "synced_files",
    "actions",
    "create_pr",
    "sync_changelog",
    "create_sync_note",
    "patch_generation_ignore_paths",
    "patch_generation_patch_id_digits",
    "notifications",
    "copy_upstream_release_description",
    "sources",
    "merge_pr_in_ci",
    "srpm_build_deps",
    "identifier",
    "packit_instances",
    "issue_repository",
    "release_suffix",
    "version_suffix",
    "update_release",
    "preserve_spec",
    "upstream_tag_include",
    "upstream_tag_exclude",
    "prerelease_suffix_pattern",
    "prerelease_suffix_macro",
    "upload_sources",
    "test_command",
    "require",
    "status_name_template",
    "sync_test_job_statuses_with_builds",
    "targets",
    "timeout",
    "owner",
    "project",
    "dist_git_branches",
    "branch",
    "scratch",
    "list_on_homepage",
    "preserve_project",
    "use_internal_tf",
    "additional_packages",
    "additional_repos",
    "bootstrap",
    "fmf_url",
    "fmf_ref",
    "fmf_path",
    "env",
    "enable_net",
    "allowed_pr_authors",
    "allowed_committers",
    "allowed_builders",
    "tmt_plan",
    "tf_post_install_script",
    "tf_extra_params",
    "bodhi_extra_params",
    "module_hotfixes",
    "image_distribution",
    "image_request",
    "image_customizations",
    "copr_chroot",
    "pkg_tool",
    "sig",
    "version_update_mask",
    "version_update_specifiers",
    "parse_time_macros",
    "osh_diff_scan_after_copr_build",
    "csmock_args",
    "osh_options",
    "use_target_repo_for_fmf_url",
    "clone_repos_before_run_condition",
    "skip_missing_branched_composes",
    "jobs",
    "packages",
    "_",
];

fn invalid(key: &str, node: &Node, expected: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        line: node.line,
        expected: expected.to_string(),
    }
}

fn string(key: &str, node: &Node) -> Result<String, ConfigError> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        _ => Err(invalid(
            key,
            node,
            &format!("text (quote it: {key}: '…'), not {}", node.type_name()),
        )),
    }
}

fn opt_string(key: &str, node: Option<&Node>) -> Result<Option<String>, ConfigError> {
    match node {
        None => Ok(None),
        Some(n) if matches!(n.value, Value::Null) => Ok(None),
        Some(n) => string(key, n).map(Some),
    }
}

fn string_list(key: &str, node: Option<&Node>) -> Result<Vec<String>, ConfigError> {
    match node.map(|n| (n, &n.value)) {
        None | Some((_, Value::Null)) => Ok(Vec::new()),
        Some((_, Value::Seq(items))) => items.iter().map(|i| string(key, i)).collect(),
        Some((n, _)) => Err(invalid(key, n, "a list of text values")),
    }
}

fn boolean(key: &str, node: Option<&Node>, default: bool) -> Result<bool, ConfigError> {
    match node.map(|n| (n, &n.value)) {
        None | Some((_, Value::Null)) => Ok(default),
        Some((_, Value::Bool(b))) => Ok(*b),
        Some((n, _)) => Err(invalid(key, n, "true or false")),
    }
}

fn entries(node: &Node) -> &[(Node, Node)] {
    match &node.value {
        Value::Map(m) => m,
        _ => &[],
    }
}

fn lookup<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    map.iter()
        .rev()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// One `files_to_sync` entry: `"path"` or `{src, dest, mkpath, delete, filters}`.
fn sync_item(node: &Node) -> Result<SyncItem, ConfigError> {
    const KEY: &str = "files_to_sync";
    match &node.value {
        Value::Str(s) => Ok(SyncItem {
            src: vec![s.clone()],
            dest: s.clone(),
            mkpath: false,
            delete: false,
            filters: Vec::new(),
        }),
        Value::Map(map) => {
            for (k, _) in map {
                let name = k.as_str().unwrap_or_default();
                if !["src", "dest", "mkpath", "delete", "filters"].contains(&name) {
                    return Err(invalid(
                        KEY,
                        k,
                        "an entry with only src, dest, mkpath, delete and filters",
                    ));
                }
            }
            let src = match lookup(map, "src") {
                Some(n) if matches!(n.value, Value::Str(_)) => vec![string(KEY, n)?],
                Some(
                    n @ Node {
                        value: Value::Seq(_),
                        ..
                    },
                ) => string_list(KEY, Some(n))?,
                _ => {
                    return Err(invalid(
                        KEY,
                        node,
                        "an entry with a src path or list of paths",
                    ));
                }
            };
            let dest = lookup(map, "dest")
                .map(|n| string(KEY, n))
                .transpose()?
                .ok_or_else(|| invalid(KEY, node, "an entry with a dest path"))?;
            Ok(SyncItem {
                src,
                dest,
                mkpath: boolean(KEY, lookup(map, "mkpath"), false)?,
                delete: boolean(KEY, lookup(map, "delete"), false)?,
                filters: string_list(KEY, lookup(map, "filters"))?,
            })
        }
        _ => Err(invalid(KEY, node, "a list of paths or {src, dest} entries")),
    }
}

fn check_known_keys(map: &[(Node, Node)]) -> Result<(), ConfigError> {
    for (k, _) in map {
        let Some(key) = k.as_str() else {
            return Err(invalid("a key", k, "text"));
        };
        if !KNOWN_KEYS.contains(&key) {
            let hint = KNOWN_KEYS
                .iter()
                .find(|known| edit_distance(known, key) <= 2)
                .map_or(String::new(), |known| format!(", did you mean {known}?"));
            return Err(ConfigError::UnknownKey {
                key: key.to_string(),
                line: k.line,
                hint,
            });
        }
    }
    Ok(())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Refuses settings srcgit does not implement on purpose.
fn check_unsupported(map: &[(Node, Node)]) -> Result<(), ConfigError> {
    if let Some(actions) = lookup(map, "actions").filter(|n| !entries(n).is_empty()) {
        return Err(ConfigError::Unsupported {
            line: actions.line,
            reason: "actions are not supported: srcgit never runs commands from source-git.yaml \
                     (they would run on the CI host); remove the actions key"
                .to_string(),
        });
    }
    match lookup(map, "sync_changelog") {
        Some(n) if matches!(n.value, Value::Bool(true)) => Ok(()),
        Some(n) if !matches!(n.value, Value::Bool(_)) => {
            Err(invalid("sync_changelog", n, "true or false"))
        }
        found => Err(ConfigError::Unsupported {
            line: found.map_or(1, |n| n.line),
            reason: "sync_changelog must be true: srcgit copies the .distro spec as it is \
                     (packit's rewrite of all sections but %changelog is not supported)"
                .to_string(),
        }),
    }
}

/// The package's own mapping: the whole file, or one entry of `packages:` merged over the
/// top-level keys (packit's monorepo configs).
fn select_package(
    root: &[(Node, Node)],
    dist_git_dir_name: &str,
) -> Result<Vec<(Node, Node)>, ConfigError> {
    let Some(packages) = lookup(root, "packages") else {
        return Ok(root.to_vec());
    };
    let list = entries(packages);
    if list.is_empty() {
        return Err(invalid(
            "packages",
            packages,
            "a mapping of package names to settings",
        ));
    }
    let name_of = |(k, v): &(Node, Node)| {
        lookup(entries(v), "downstream_package_name")
            .and_then(Node::as_str)
            .or(k.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let chosen = list
        .iter()
        .find(|entry| name_of(entry) == dist_git_dir_name)
        .or_else(|| (list.len() == 1).then(|| &list[0]))
        .ok_or_else(|| ConfigError::NoSuchPackage {
            names: list.iter().map(name_of).collect(),
            wanted: dist_git_dir_name.to_string(),
        })?;
    check_known_keys(entries(&chosen.1))?;
    let mut merged: Vec<(Node, Node)> = root
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), Some("packages" | "jobs")))
        .cloned()
        .collect();
    merged.extend(entries(&chosen.1).iter().cloned());
    if lookup(&merged, "downstream_package_name").is_none() {
        let name = Node {
            value: Value::Str(name_of(chosen)),
            line: chosen.0.line,
            col: chosen.0.col,
            timestamp: false,
        };
        let key = Node {
            value: Value::Str("downstream_package_name".into()),
            line: chosen.0.line,
            col: chosen.0.col,
            timestamp: false,
        };
        merged.push((key, name));
    }
    Ok(merged)
}

/// Parses and validates `source-git.yaml`. `dist_git_dir_name` picks the package of a
/// monorepo config, as packit does.
pub fn parse(text: &str, dist_git_dir_name: &str) -> Result<PackageConfig, ConfigError> {
    let root = yaml::load(text)
        .map_err(ConfigError::Yaml)?
        .ok_or(ConfigError::NotAMapping)?;
    let Value::Map(root_map) = &root.value else {
        return Err(ConfigError::NotAMapping);
    };
    check_known_keys(root_map)?;
    let map = select_package(root_map, dist_git_dir_name)?;
    check_unsupported(&map)?;
    let name = opt_string(
        "downstream_package_name",
        lookup(&map, "downstream_package_name"),
    )?
    .filter(|n| !n.is_empty())
    .ok_or(ConfigError::Missing("downstream_package_name"))?;
    let spec_name = format!("{name}.spec");
    if let Some(problem) = crate::convert::patches::plain_name_problem(&spec_name) {
        let node = lookup(&map, "downstream_package_name").unwrap_or(&root);
        return Err(invalid(
            "downstream_package_name",
            node,
            &format!("a package name ({name:?} is refused: with .spec, {problem})"),
        ));
    }
    let specfile_path = opt_string("specfile_path", lookup(&map, "specfile_path"))?
        .unwrap_or_else(|| format!("{name}.spec"));
    let sync_node = lookup(&map, "files_to_sync").or_else(|| lookup(&map, "synced_files"));
    let explicit: Vec<SyncItem> = match sync_node.map(|n| (n, &n.value)) {
        None | Some((_, Value::Null)) => Vec::new(),
        Some((_, Value::Seq(items))) => items.iter().map(sync_item).collect::<Result<_, _>>()?,
        Some((n, _)) => return Err(invalid("files_to_sync", n, "a list")),
    };
    let files_to_sync_explicit = !explicit.is_empty();
    let files_to_sync = if files_to_sync_explicit {
        explicit
    } else {
        default_sync_items(&specfile_path, &name)
    };
    let digits = match lookup(&map, "patch_generation_patch_id_digits") {
        None => 4,
        Some(n) => match n.value {
            Value::Int(d) if (0..=20).contains(&d) => d as u32,
            _ => {
                return Err(invalid(
                    "patch_generation_patch_id_digits",
                    n,
                    "a number from 0 to 20",
                ));
            }
        },
    };
    Ok(PackageConfig {
        upstream_ref: opt_string("upstream_ref", lookup(&map, "upstream_ref"))?
            .filter(|r| !r.is_empty()),
        specfile_path,
        files_to_sync,
        files_to_sync_explicit,
        patch_generation_ignore_paths: string_list(
            "patch_generation_ignore_paths",
            lookup(&map, "patch_generation_ignore_paths"),
        )?,
        patch_id_digits: digits,
        downstream_package_name: name,
    })
}

/// packit's default when `files_to_sync` is empty: the spec and the config file itself.
fn default_sync_items(specfile_path: &str, name: &str) -> Vec<SyncItem> {
    let item = |src: &str, dest: &str| SyncItem {
        src: vec![src.to_string()],
        dest: dest.to_string(),
        mkpath: false,
        delete: false,
        filters: Vec::new(),
    };
    vec![
        item(specfile_path, &format!("{name}.spec")),
        item("source-git.yaml", "source-git.yaml"),
    ]
}

impl PackageConfig {
    /// The spec file name in dist-git.
    pub fn dist_git_spec(&self) -> String {
        format!("{}.spec", self.downstream_package_name)
    }

    /// The top-level entries of source-git that `files_to_sync` reads, or `None` when a
    /// source may reach further (a pattern in its first component, `..`, an absolute
    /// path, the whole tree).
    pub fn sync_source_tops(&self) -> Option<Vec<String>> {
        let mut tops: Vec<String> = Vec::new();
        for src in self.files_to_sync.iter().flat_map(|item| &item.src) {
            if src.starts_with('/') {
                return None;
            }
            let parts: Vec<&str> = src
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .collect();
            let first = parts.first()?;
            if parts.contains(&"..") || first.contains(['*', '?', '[', '\\']) {
                return None;
            }
            if !tops.iter().any(|t| t == first) {
                tops.push(first.to_string());
            }
        }
        Some(tops)
    }

    /// Pathspec excludes for `git format-patch`: `patch_generation_ignore_paths` plus the
    /// `src` of every explicit `files_to_sync` entry (relative, trailing `/` dropped).
    pub fn patch_excludes(&self) -> Vec<String> {
        let mut out = self.patch_generation_ignore_paths.clone();
        if self.files_to_sync_explicit {
            for item in &self.files_to_sync {
                out.extend(item.src.iter().map(|s| normalize_relative(s)));
            }
        }
        out
    }
}

/// `Path(s).relative_to(root)` after resolving: drops `./` and trailing slashes.
fn normalize_relative(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests;
