//! The executor's settings: a TOML file (`--config`, else `$SRCGIT_CONFIG`, else
//! `/etc/srcgit/config.toml`) read into `RawSettings` and validated into `Settings`.
//!
//! Unknown keys and invalid values are refused at start with the key named. The token is
//! read from `token_file` and never appears in `Debug` output or logs. May import `ids` only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

/// Where settings are looked for when neither `--config` nor `$SRCGIT_CONFIG` is set.
pub const DEFAULT_PATH: &str = "/etc/srcgit/config.toml";

/// The file as written (see `runner-config/srcgit.toml.example`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    gitlab_url: String,
    token_file: PathBuf,
    database: PathBuf,
    work_dir: PathBuf,
    fork_namespace: String,
    #[serde(default)]
    log_file: Option<PathBuf>,
    #[serde(default = "default_cache_max_age_days")]
    cache_max_age_days: u32,
    #[serde(default)]
    mapping: Vec<RawMapping>,
    #[serde(default)]
    poll: RawPoll,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    reconcile: RawReconcile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReconcile {
    #[serde(default)]
    on_source_merged: OnSourceMerged,
}

/// What `srcgit reconcile` does to an open rpms MR whose source-git MR was merged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnSourceMerged {
    /// One note on the rpms MR; a dist-git maintainer decides.
    #[default]
    Comment,
    /// Close the rpms MR, with a note.
    Close,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    source_git: String,
    dist_git: String,
    #[serde(default = "default_branches")]
    branches: String,
}

fn default_cache_max_age_days() -> u32 {
    14
}

fn default_branches() -> String {
    ".*".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    #[serde(default = "default_interval")]
    interval_seconds: f64,
    #[serde(default = "default_timeout")]
    timeout_seconds: f64,
}

impl Default for RawPoll {
    fn default() -> Self {
        RawPoll {
            interval_seconds: default_interval(),
            timeout_seconds: default_timeout(),
        }
    }
}

fn default_interval() -> f64 {
    30.0
}

fn default_timeout() -> f64 {
    21_600.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default = "default_request_timeout")]
    request_timeout_seconds: u64,
    #[serde(default = "default_retries")]
    max_retries: u32,
    #[serde(default = "default_max_backoff")]
    max_backoff_seconds: u64,
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            request_timeout_seconds: default_request_timeout(),
            max_retries: default_retries(),
            max_backoff_seconds: default_max_backoff(),
        }
    }
}

fn default_request_timeout() -> u64 {
    30
}

fn default_retries() -> u32 {
    6
}

fn default_max_backoff() -> u64 {
    60
}

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; only for sending it to GitLab.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// One served source-git namespace and its dist-git namespace.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Source-git namespace, e.g. `redhat/centos-stream/src`.
    pub source_git: String,
    /// Dist-git namespace, e.g. `redhat/centos-stream/rpms`.
    pub dist_git: String,
    /// Target branches served.
    pub branches: Regex,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// GitLab base URL, without a trailing slash.
    pub gitlab_url: String,
    /// The bot account's token (api scope).
    pub token: Secret,
    /// SQLite file with the MR pairs.
    pub database: PathBuf,
    /// Where job work trees live.
    pub work_dir: PathBuf,
    /// Namespace of the bot's forks of rpms projects.
    pub fork_namespace: String,
    /// `cache_max_age_days`: the git cache of a project no job used for this long is
    /// removed by `srcgit cache prune` and the cleanup stage.
    pub cache_max_age: Duration,
    /// Operator log file (JSON lines); `None`: warnings only, on stderr.
    pub log_file: Option<PathBuf>,
    /// Served namespaces.
    pub mappings: Vec<Mapping>,
    /// Time between two polls of the downstream pipeline.
    pub poll_interval: Duration,
    /// Give up waiting for the downstream pipeline after this long.
    pub poll_timeout: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Attempts for a request that failed with a retriable error.
    pub max_retries: u32,
    /// Cap of the retry backoff.
    pub max_backoff: Duration,
    /// `[reconcile] on_source_merged`.
    pub on_source_merged: OnSourceMerged,
}

/// Unusable settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("cannot read the settings file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown key / wrong type.
    #[error("settings file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message (names the key and line).
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("settings file {path}: {key} {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The token file is unusable.
    #[error("settings file {path}: token_file {token_file} {problem}")]
    Token {
        /// The settings file.
        path: PathBuf,
        /// The token file.
        token_file: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

/// Which settings file to use: `--config`, else `$SRCGIT_CONFIG`, else the default.
pub fn locate(cli: Option<&Path>) -> PathBuf {
    cli.map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("SRCGIT_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

fn namespace(path: &Path, key: &str, value: &str) -> Result<String, SettingsError> {
    let trimmed = value.trim_matches('/');
    let valid = !trimmed.is_empty()
        && trimmed.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if !valid {
        return Err(SettingsError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            problem: format!("{value:?} is not a GitLab namespace path"),
        });
    }
    Ok(trimmed.to_string())
}

/// Reads and validates the settings file at `path`.
pub fn load(path: &Path) -> Result<Settings, SettingsError> {
    let text = read_capped(path).map_err(|source| SettingsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Longest settings file srcgit reads.
const SETTINGS_LIMIT: u64 = 1 << 20;

fn read_capped(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    file.take(SETTINGS_LIMIT + 1).read_to_string(&mut text)?;
    if text.len() as u64 > SETTINGS_LIMIT {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "larger than 1 MiB",
        ));
    }
    Ok(text)
}

/// Validates settings text (`path` only names the file in messages).
pub fn parse(text: &str, path: &Path) -> Result<Settings, SettingsError> {
    parse_with(text, path, TokenFileCheck::Strict)
}

/// Whether the token file's owner and mode are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFileCheck {
    /// Owned by the runner's user, mode 0600 or 0400 (every command that uses the token).
    Strict,
    /// Not checked here: `srcgit doctor` reports the mode itself, with the fix.
    Report,
}

/// [`load`], with the token file's owner and mode left to the caller (`srcgit doctor`).
pub fn load_for_doctor(path: &Path) -> Result<Settings, SettingsError> {
    let text = read_capped(path).map_err(|source| SettingsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_with(&text, path, TokenFileCheck::Report)
}

fn parse_with(text: &str, path: &Path, check: TokenFileCheck) -> Result<Settings, SettingsError> {
    let raw: RawSettings = toml::from_str(text).map_err(|e| SettingsError::Parse {
        path: path.to_path_buf(),
        message: toml_message(text, &e),
    })?;
    let invalid = |key: &str, problem: String| SettingsError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem,
    };
    let url = raw.gitlab_url.trim_end_matches('/').to_string();
    let parsed = url::Url::parse(&url).ok();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
        || parsed.is_none()
    {
        return Err(invalid(
            "gitlab_url",
            "must be an http:// or https:// URL".to_string(),
        ));
    }
    if parsed.is_some_and(|u| !u.username().is_empty() || u.password().is_some()) {
        return Err(invalid(
            "gitlab_url",
            "must not carry credentials (user:password@): the token is read from token_file"
                .to_string(),
        ));
    }
    if raw.mapping.is_empty() {
        return Err(invalid(
            "mapping",
            "needs at least one [[mapping]] table".to_string(),
        ));
    }
    let mut mappings = Vec::new();
    for (i, m) in raw.mapping.iter().enumerate() {
        let key = |k: &str| format!("mapping[{i}].{k}");
        let branches = Regex::new(&m.branches)
            .map_err(|e| invalid(&key("branches"), format!("is not a valid regex: {e}")))?;
        mappings.push(Mapping {
            source_git: namespace(path, &key("source_git"), &m.source_git)?,
            dist_git: namespace(path, &key("dist_git"), &m.dist_git)?,
            branches,
        });
    }
    seconds(
        path,
        "poll.interval_seconds",
        raw.poll.interval_seconds,
        MAX_INTERVAL,
    )?;
    seconds(
        path,
        "poll.timeout_seconds",
        raw.poll.timeout_seconds,
        MAX_TIMEOUT,
    )?;
    if raw.poll.timeout_seconds < raw.poll.interval_seconds {
        return Err(invalid(
            "poll.timeout_seconds",
            "must not be shorter than poll.interval_seconds".to_string(),
        ));
    }
    in_range(
        path,
        "http.request_timeout_seconds",
        raw.http.request_timeout_seconds,
        1..=MAX_REQUEST_TIMEOUT,
    )?;
    in_range(
        path,
        "http.max_retries",
        u64::from(raw.http.max_retries),
        0..=MAX_RETRIES,
    )?;
    in_range(
        path,
        "http.max_backoff_seconds",
        raw.http.max_backoff_seconds,
        0..=MAX_INTERVAL as u64,
    )?;
    in_range(
        path,
        "cache_max_age_days",
        u64::from(raw.cache_max_age_days),
        1..=3650,
    )?;
    let token = read_token(path, &raw.token_file, check)?;
    Ok(Settings {
        gitlab_url: url,
        token,
        database: raw.database,
        work_dir: raw.work_dir,
        fork_namespace: namespace(path, "fork_namespace", &raw.fork_namespace)?,
        cache_max_age: Duration::from_secs(u64::from(raw.cache_max_age_days) * 86_400),
        log_file: raw.log_file,
        mappings,
        poll_interval: Duration::from_secs_f64(raw.poll.interval_seconds),
        poll_timeout: Duration::from_secs_f64(raw.poll.timeout_seconds),
        request_timeout: Duration::from_secs(raw.http.request_timeout_seconds),
        max_retries: raw.http.max_retries,
        max_backoff: Duration::from_secs(raw.http.max_backoff_seconds.max(1)),
        on_source_merged: raw.reconcile.on_source_merged,
    })
}

/// Longest poll interval and backoff cap (one day).
const MAX_INTERVAL: f64 = 86_400.0;
/// Longest wait for a downstream pipeline (30 days).
const MAX_TIMEOUT: f64 = 2_592_000.0;
/// Longest per-request timeout (one hour).
const MAX_REQUEST_TIMEOUT: u64 = 3_600;
/// Most retries of one request.
const MAX_RETRIES: u64 = 100;

/// A number of seconds: finite, above zero, at most `max`.
fn seconds(path: &Path, key: &str, value: f64, max: f64) -> Result<(), SettingsError> {
    if value.is_finite() && value > 0.0 && value <= max {
        return Ok(());
    }
    Err(SettingsError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem: format!("must be a number of seconds above 0 and at most {max}"),
    })
}

fn in_range(
    path: &Path,
    key: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<(), SettingsError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(SettingsError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem: format!("must be from {} to {}", range.start(), range.end()),
    })
}

/// toml's complaint without the quoted source line (which could hold a secret) and
/// with quoted values left out: the key, the line and what is wrong.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let message = redact_quoted(e.message().trim());
    match line {
        Some(line) => format!("line {line}: {message}"),
        None => message,
    }
}

/// Replaces every double-quoted part of `text` with `"…"` (serde quotes values; keys are
/// quoted with backticks).
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    if inside {
        out.push_str("…\"");
    }
    out.lines().next().unwrap_or_default().to_string()
}

/// Longest token file srcgit reads.
const TOKEN_FILE_LIMIT: u64 = 4096;

fn read_token(
    path: &Path,
    token_file: &Path,
    check: TokenFileCheck,
) -> Result<Secret, SettingsError> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let problem = |problem: String| SettingsError::Token {
        path: path.to_path_buf(),
        token_file: token_file.to_path_buf(),
        problem,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(token_file)
        .map_err(|e| problem(format!("cannot be read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| problem(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(problem("must be a regular file".to_string()));
    }
    let euid = rustix::process::geteuid().as_raw();
    if check == TokenFileCheck::Strict && meta.uid() != euid {
        return Err(problem(format!(
            "must be owned by the user srcgit runs as (uid {euid}, the runner's user), not uid {}: \
             run `chown {euid} {}`",
            meta.uid(),
            token_file.display()
        )));
    }
    let mode = meta.mode() & 0o777;
    if check == TokenFileCheck::Strict && mode != 0o600 && mode != 0o400 {
        return Err(problem(format!(
            "has mode {mode:04o}; it must be readable by its owner only: run `chmod 600 {}`",
            token_file.display()
        )));
    }
    let mut text = String::new();
    file.take(TOKEN_FILE_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|_| problem("must hold one token as text".to_string()))?;
    if text.len() as u64 > TOKEN_FILE_LIMIT {
        return Err(problem("is too large to hold one token".to_string()));
    }
    let token = text.trim();
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(problem(
            "must hold exactly one token of printable ASCII characters (it is sent as an HTTP header)"
                .to_string(),
        ));
    }
    Ok(Secret::new(token))
}

impl Settings {
    /// The mapping whose source-git namespace holds `project_path`, if any.
    pub fn mapping_for(&self, project_path: &crate::ids::ProjectPath) -> Option<&Mapping> {
        self.mappings
            .iter()
            .find(|m| project_path.is_in(&m.source_git))
    }
}

#[cfg(test)]
mod tests;
