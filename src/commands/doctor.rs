//! `srcgit doctor`: checks a runner host's srcgit set-up before the first job does, one
//! line per check (✓ passed, ⚠ works but needs attention, ✗ failed) and one fix per
//! problem; exit 1 when any check failed.
//!
//! Checks, in order: the settings parse; the token file's mode; the token (`GET /user`:
//! valid, whose; `GET /personal_access_tokens/self`: `api` scope, expiry); each mapping's
//! namespaces exist and the bot is Developer or above there; the fork namespace exists and
//! the bot may create projects in it; `work_dir` is writable with free space; the database
//! opens and its schema version; `git` is on PATH. The judgements are pure functions
//! (tested below); this file's I/O only gathers what they judge. The token is never printed.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::forge::ForgeError;
use crate::forge::gitlab::{AccountInfo, ClientOptions, GitLabForge, TokenInfo};
use crate::settings::{self, Settings};
use crate::store::Store;

/// GitLab's access levels.
const DEVELOPER: u32 = 30;
const MAINTAINER: u32 = 40;
const OWNER: u32 = 50;
/// Warn when the token expires within this many days.
const EXPIRY_WARNING_DAYS: i64 = 30;
/// Fail when `work_dir` has less free space than this.
const MIN_FREE_BYTES: u64 = 1 << 30;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Works, but needs attention soon (does not fail doctor).
    Warn,
    /// Failed: the executor will not work.
    Fail,
}

/// One printed line, with the fix for a warning or failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Passed, warning, failed.
    pub verdict: Verdict,
    /// What was checked, e.g. `token`.
    pub name: String,
    /// What was found.
    pub detail: String,
    /// One command or action that fixes it.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            verdict: Verdict::Pass,
            name: name.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            verdict: Verdict::Warn,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            verdict: Verdict::Fail,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.verdict {
            Verdict::Pass => "✓",
            Verdict::Warn => "⚠",
            Verdict::Fail => "✗",
        };
        write!(f, "{mark} {}: {}", self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n    fix: {fix}")?;
        }
        Ok(())
    }
}

/// Runs every check, prints one line each, returns the exit code (1 if any failed).
pub fn doctor(config: Option<&Path>) -> u8 {
    let path = settings::locate(config);
    let mut failed = false;
    let mut print = |check: Check| {
        failed |= check.verdict == Verdict::Fail;
        println!("{check}");
    };
    match settings::load_for_doctor(&path) {
        Ok(settings) => {
            print(Check::pass(
                "settings",
                format!(
                    "{} parses ({} mapping{})",
                    path.display(),
                    settings.mappings.len(),
                    if settings.mappings.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
            ));
            if let Some(token_file) = token_file_of(&path) {
                print(token_file_mode(&token_file, file_mode(&token_file)));
            }
            for check in gitlab_checks(&settings, &path) {
                print(check);
            }
            print(work_dir(&settings.work_dir));
            print(database(&settings.database));
        }
        Err(e) => print(Check::fail(
            "settings",
            one_line(&crate::error_chain(&e)),
            format!(
                "edit {} (see runner-config/srcgit.toml.example)",
                path.display()
            ),
        )),
    }
    print(git_on_path());
    u8::from(failed)
}

/// toml's multi-line message (with a source excerpt) as one line: the excerpt's frame
/// lines go, the others are joined.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            let frame = l
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
            !l.is_empty() && !frame.starts_with('|')
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// `token_file` as written in the settings (the validated settings keep only the token).
fn token_file_of(settings_path: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(settings_path).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table
        .get("token_file")
        .and_then(|v| v.as_str())
        .map(PathBuf::from)
}

fn file_mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// The token file must not be readable or writable by group or others.
pub fn token_file_mode(path: &Path, mode: Option<u32>) -> Check {
    match mode {
        None => Check::fail(
            "token file",
            format!("{} cannot be read", path.display()),
            format!(
                "install -m 0600 /dev/stdin {} <<< \"$TOKEN\"",
                path.display()
            ),
        ),
        Some(mode) if mode & 0o077 != 0 => Check::fail(
            "token file",
            format!(
                "{} has mode {mode:04o}: others on this host can read the bot's token",
                path.display()
            ),
            format!("chmod 0600 {}", path.display()),
        ),
        Some(mode) => Check::pass("token file", format!("{} mode {mode:04o}", path.display())),
    }
}

fn gitlab_checks(settings: &Settings, settings_path: &Path) -> Vec<Check> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return vec![Check::fail(
                "gitlab",
                format!("cannot start the async runtime: {e}"),
                "check the host's limits on threads and file descriptors",
            )];
        }
    };
    runtime.block_on(gitlab_checks_async(settings, settings_path))
}

async fn gitlab_checks_async(settings: &Settings, settings_path: &Path) -> Vec<Check> {
    let opts = ClientOptions {
        base_url: settings.gitlab_url.clone(),
        token: settings.token.expose().to_string(),
        request_timeout: settings.request_timeout,
        // doctor is interactive: answer fast rather than ride out an outage
        max_retries: settings.max_retries.min(2),
        max_backoff: settings.max_backoff.min(std::time::Duration::from_secs(5)),
    };
    let forge = match GitLabForge::connect(opts).await {
        Ok(forge) => forge,
        Err(e) => return vec![connect_failure(&e, settings, settings_path)],
    };
    let mut checks = Vec::new();
    let account = match forge.account().await {
        Ok(account) => account,
        Err(e) => return vec![connect_failure(&e, settings, settings_path)],
    };
    checks.push(Check::pass(
        "token",
        format!(
            "valid, user @{} (id {}) on {}",
            account.username, account.id, settings.gitlab_url
        ),
    ));
    let today = chrono::Utc::now().date_naive();
    checks.extend(match forge.token_info().await {
        Ok(info) => token_checks(&info, today),
        Err(e) => vec![Check::fail(
            "token scope",
            e.to_string(),
            "give the bot a personal access token with scope api",
        )],
    });
    for (i, mapping) in settings.mappings.iter().enumerate() {
        for (key, namespace) in [
            ("source_git", &mapping.source_git),
            ("dist_git", &mapping.dist_git),
        ] {
            let name = format!("mapping[{i}].{key}");
            checks.push(match member_check(&forge, &account, namespace).await {
                Ok(found) => membership(&name, namespace, &account.username, found, settings_path),
                Err(e) => Check::fail(name, e.to_string(), "check that GitLab is reachable"),
            });
        }
    }
    checks.push(
        fork_namespace_check(&forge, &account, &settings.fork_namespace, settings_path).await,
    );
    checks
}

fn connect_failure(err: &ForgeError, settings: &Settings, settings_path: &Path) -> Check {
    match err {
        ForgeError::Forbidden { .. } | ForgeError::Unauthorized { .. } => Check::fail(
            "token",
            format!("{} refused the token ({err})", settings.gitlab_url),
            "create a personal access token with scope api for the bot and write it to the \
             token_file (mode 0600)",
        ),
        _ => Check::fail(
            "token",
            format!("cannot check the token: {err}"),
            format!(
                "check gitlab_url in {} and that this host reaches it",
                settings_path.display()
            ),
        ),
    }
}

/// Scope and expiry of the token.
pub fn token_checks(info: &TokenInfo, today: NaiveDate) -> Vec<Check> {
    let rotate = "create a new token for the bot (scope api), write it to the token_file";
    let scope = if info.scopes.iter().any(|s| s == "api") {
        Check::pass("token scope", format!("{:?} has scope api", info.name))
    } else {
        Check::fail(
            "token scope",
            format!(
                "{:?} has scopes [{}], srcgit needs api",
                info.name,
                info.scopes.join(", ")
            ),
            rotate,
        )
    };
    let expiry = match info
        .expires_at
        .as_deref()
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
    {
        None => Check::pass("token expiry", "never expires"),
        Some(Err(_)) => Check::warn(
            "token expiry",
            format!("unreadable expiry date {:?}", info.expires_at),
            "check the token's expiry in GitLab (User settings → Access tokens)",
        ),
        Some(Ok(date)) => {
            let days = (date - today).num_days();
            if days < 0 || !info.active {
                Check::fail("token expiry", format!("expired on {date}"), rotate)
            } else if days <= EXPIRY_WARNING_DAYS {
                Check::warn(
                    "token expiry",
                    format!(
                        "expires on {date}, in {days} day{}",
                        if days == 1 { "" } else { "s" }
                    ),
                    rotate,
                )
            } else {
                Check::pass("token expiry", format!("expires on {date}, in {days} days"))
            }
        }
    };
    vec![scope, expiry]
}

/// What GitLab says about the bot in a namespace: `None` when the group does not exist
/// (or is invisible to the bot), else the bot's access level (`None`: not a member).
async fn member_check(
    forge: &GitLabForge,
    account: &AccountInfo,
    namespace: &str,
) -> Result<Option<(Option<String>, Option<u32>)>, ForgeError> {
    let Some(group) = forge.group(namespace).await? else {
        return Ok(None);
    };
    let level = forge
        .group_access(&group.id.to_string(), account.id)
        .await?;
    Ok(Some((group.project_creation_level, level)))
}

fn role(level: u32) -> &'static str {
    match level {
        l if l >= OWNER => "Owner",
        l if l >= MAINTAINER => "Maintainer",
        l if l >= DEVELOPER => "Developer",
        l if l >= 20 => "Reporter",
        l if l >= 10 => "Guest",
        _ => "Minimal access",
    }
}

/// The bot must be Developer or above in each mapped namespace.
pub fn membership(
    name: &str,
    namespace: &str,
    bot: &str,
    found: Option<(Option<String>, Option<u32>)>,
    settings_path: &Path,
) -> Check {
    let add = format!(
        "add @{bot} to group {namespace} as Developer (Manage → Members), or \
         `POST /groups/:id/members user_id=… access_level=30`"
    );
    match found {
        None => Check::fail(
            name,
            format!("group {namespace} does not exist or @{bot} cannot see it"),
            format!(
                "correct {name} in {} or create the group and {add}",
                settings_path.display()
            ),
        ),
        Some((_, None)) => Check::fail(name, format!("@{bot} is not a member of {namespace}"), add),
        Some((_, Some(level))) if level < DEVELOPER => Check::fail(
            name,
            format!("@{bot} is only {} in {namespace}", role(level)),
            add,
        ),
        Some((_, Some(level))) => Check::pass(
            name,
            format!("{namespace} exists, @{bot} is {}", role(level)),
        ),
    }
}

async fn fork_namespace_check(
    forge: &GitLabForge,
    account: &AccountInfo,
    namespace: &str,
    settings_path: &Path,
) -> Check {
    if namespace == account.username {
        return personal_fork_namespace(account);
    }
    match member_check(forge, account, namespace).await {
        Ok(found) => group_fork_namespace(namespace, &account.username, found, settings_path),
        Err(e) => Check::fail(
            "fork_namespace",
            e.to_string(),
            "check that GitLab is reachable",
        ),
    }
}

/// The bot's own namespace: it may create projects unless its projects limit forbids it.
pub fn personal_fork_namespace(account: &AccountInfo) -> Check {
    if account.can_create_project {
        Check::pass(
            "fork_namespace",
            format!(
                "{} is @{}'s own namespace, it may create projects there",
                account.username, account.username
            ),
        )
    } else {
        Check::fail(
            "fork_namespace",
            format!(
                "@{} may not create projects (projects limit reached or 0)",
                account.username
            ),
            format!(
                "raise @{}'s projects limit (Admin → Users → Edit)",
                account.username
            ),
        )
    }
}

/// A group as fork namespace: the bot's role must reach the group's project creation level.
pub fn group_fork_namespace(
    namespace: &str,
    bot: &str,
    found: Option<(Option<String>, Option<u32>)>,
    settings_path: &Path,
) -> Check {
    let Some((creation_level, level)) = found else {
        return Check::fail(
            "fork_namespace",
            format!("group {namespace} does not exist or @{bot} cannot see it"),
            format!(
                "create the group, or set fork_namespace = \"{bot}\" in {}",
                settings_path.display()
            ),
        );
    };
    // GitLab's default project_creation_level is `maintainer`.
    let creation_level = creation_level.unwrap_or_else(|| "maintainer".to_string());
    let needed = match creation_level.as_str() {
        "developer" => Some(DEVELOPER),
        "maintainer" => Some(MAINTAINER),
        "owner" | "administrator" => Some(OWNER),
        _ => None,
    };
    let level = level.unwrap_or(0);
    match needed {
        Some(needed) if level >= needed => Check::pass(
            "fork_namespace",
            format!(
                "{namespace} exists, @{bot} is {} (projects may be created by {creation_level}s)",
                role(level)
            ),
        ),
        Some(needed) => Check::fail(
            "fork_namespace",
            format!(
                "@{bot} cannot create projects in {namespace}: it is {} there, {creation_level} needed",
                if level == 0 {
                    "not a member"
                } else {
                    role(level)
                }
            ),
            format!("add @{bot} to {namespace} as {}", role(needed)),
        ),
        None => Check::fail(
            "fork_namespace",
            format!(
                "nobody may create projects in {namespace} (project_creation_level {creation_level})"
            ),
            format!(
                "set the group's \"Roles allowed to create projects\" to Developers, or use fork_namespace = \"{bot}\""
            ),
        ),
    }
}

/// `work_dir` (or, while it does not exist yet, the directory srcgit will create it in)
/// must take a file and have free space.
pub fn work_dir(dir: &Path) -> Check {
    let Some(existing) = dir.ancestors().find(|a| a.exists()).filter(|a| a.is_dir()) else {
        return Check::fail(
            "work_dir",
            format!(
                "{} cannot be created: no directory to create it in",
                dir.display()
            ),
            "point work_dir at a directory, e.g. /var/lib/srcgit/work",
        );
    };
    let state = if existing == dir {
        format!("{} writable", dir.display())
    } else {
        format!(
            "{} will be created in {} (writable)",
            dir.display(),
            existing.display()
        )
    };
    if let Err(e) = tempfile::tempfile_in(existing) {
        return Check::fail(
            "work_dir",
            format!("{} is not writable: {e}", existing.display()),
            format!("install -d -o gitlab-runner -m 0750 {}", dir.display()),
        );
    }
    match free_bytes(existing) {
        Some(free) if free < MIN_FREE_BYTES => Check::fail(
            "work_dir",
            format!("{} has only {} free", existing.display(), human(free)),
            format!(
                "free space on the file system of {}, or point work_dir elsewhere",
                existing.display()
            ),
        ),
        Some(free) => Check::pass("work_dir", format!("{state}, {} free", human(free))),
        None => Check::warn(
            "work_dir",
            format!("{state}, free space unknown"),
            format!("check the free space with `df -h {}`", existing.display()),
        ),
    }
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated, `stat` is written by statvfs before it is read.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

fn human(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", b / MIB)
    }
}

/// The database opens (its directory and file are created and migrated on first use,
/// as the executor does).
pub fn database(path: &Path) -> Check {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return Check::fail(
            "database",
            format!("cannot create {}: {e}", dir.display()),
            format!("install -d -o gitlab-runner -m 0750 {}", dir.display()),
        );
    }
    match Store::open(path).and_then(|store| store.schema_version()) {
        Ok(version) => Check::pass(
            "database",
            format!("{} opens, schema version {version}", path.display()),
        ),
        Err(e) => Check::fail(
            "database",
            crate::error_chain(&e),
            format!(
                "check {} (owner gitlab-runner, not written by a newer srcgit)",
                path.display()
            ),
        ),
    }
}

/// `git` runs (srcgit runs `git format-patch` and `git patch-id`).
pub fn git_on_path() -> Check {
    match std::process::Command::new("git").arg("--version").output() {
        Ok(out) if out.status.success() => Check::pass(
            "git",
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ),
        Ok(out) => Check::fail(
            "git",
            format!(
                "`git --version` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "reinstall git (dnf install git-core)",
        ),
        Err(e) => Check::fail(
            "git",
            format!("git is not on PATH: {e}"),
            "install git (dnf install git-core); 2.47.3 reproduces packit's bytes exactly",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: &[&str], expires_at: Option<&str>) -> TokenInfo {
        TokenInfo {
            name: "srcgit".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: expires_at.map(str::to_string),
            active: true,
        }
    }

    fn verdicts(checks: &[Check]) -> Vec<Verdict> {
        checks.iter().map(|c| c.verdict).collect()
    }

    #[test]
    fn token_scope_and_expiry() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        use Verdict::*;
        assert_eq!(
            verdicts(&token_checks(&token(&["api"], None), today)),
            [Pass, Pass]
        );
        assert_eq!(
            verdicts(&token_checks(
                &token(&["read_api"], Some("2027-01-01")),
                today
            )),
            [Fail, Pass]
        );
        let soon = token_checks(&token(&["api"], Some("2026-03-31")), today);
        assert_eq!(verdicts(&soon), [Pass, Warn]);
        assert_eq!(soon[1].detail, "expires on 2026-03-31, in 30 days");
        assert_eq!(
            verdicts(&token_checks(&token(&["api"], Some("2026-04-01")), today)),
            [Pass, Pass]
        );
        assert_eq!(
            verdicts(&token_checks(&token(&["api"], Some("2026-02-28")), today)),
            [Pass, Fail]
        );
    }

    #[test]
    fn membership_needs_developer() {
        let p = Path::new("/etc/srcgit/config.toml");
        let check = |found| membership("mapping[0].dist_git", "rpms", "bot", found, p).verdict;
        assert_eq!(check(None), Verdict::Fail);
        assert_eq!(check(Some((None, None))), Verdict::Fail);
        assert_eq!(check(Some((None, Some(20)))), Verdict::Fail);
        assert_eq!(check(Some((None, Some(30)))), Verdict::Pass);
        assert_eq!(check(Some((None, Some(50)))), Verdict::Pass);
    }

    #[test]
    fn group_fork_namespace_follows_project_creation_level() {
        let p = Path::new("/etc/srcgit/config.toml");
        let check = |level: Option<&str>, access| {
            group_fork_namespace("forks", "bot", Some((level.map(str::to_string), access)), p)
                .verdict
        };
        assert_eq!(check(Some("developer"), Some(30)), Verdict::Pass);
        assert_eq!(check(Some("maintainer"), Some(30)), Verdict::Fail);
        assert_eq!(check(None, Some(30)), Verdict::Fail);
        assert_eq!(check(None, Some(40)), Verdict::Pass);
        assert_eq!(check(Some("noone"), Some(50)), Verdict::Fail);
        assert_eq!(check(Some("developer"), None), Verdict::Fail);
        assert_eq!(
            group_fork_namespace("forks", "bot", None, p).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn personal_namespace_needs_can_create_project() {
        let mut account = AccountInfo {
            id: 1,
            username: "bot".into(),
            can_create_project: true,
        };
        assert_eq!(personal_fork_namespace(&account).verdict, Verdict::Pass);
        account.can_create_project = false;
        assert_eq!(personal_fork_namespace(&account).verdict, Verdict::Fail);
    }

    #[test]
    fn token_file_must_be_private() {
        let p = Path::new("/etc/srcgit/token");
        assert_eq!(token_file_mode(p, Some(0o600)).verdict, Verdict::Pass);
        assert_eq!(token_file_mode(p, Some(0o400)).verdict, Verdict::Pass);
        let open = token_file_mode(p, Some(0o644));
        assert_eq!(open.verdict, Verdict::Fail);
        assert_eq!(open.fix.as_deref(), Some("chmod 0600 /etc/srcgit/token"));
        assert_eq!(token_file_mode(p, None).verdict, Verdict::Fail);
    }

    #[test]
    fn toml_messages_become_one_line() {
        let text = "settings file x: TOML parse error at line 5, column 1\n  |\n5 | fork = 1\n  | ^^^^\nunknown field `fork`\n";
        assert_eq!(
            one_line(text),
            "settings file x: TOML parse error at line 5, column 1: unknown field `fork`"
        );
    }

    #[test]
    fn lines_show_mark_detail_and_fix() {
        let check = Check::fail("git", "git is not on PATH", "install git");
        assert_eq!(
            check.to_string(),
            "✗ git: git is not on PATH\n    fix: install git"
        );
        assert_eq!(
            Check::pass("git", "git version 2.47.3").to_string(),
            "✓ git: git version 2.47.3"
        );
    }

    #[test]
    fn work_dir_is_checked_where_it_will_be_created() {
        let tmp = tempfile::tempdir().unwrap();
        let here = work_dir(tmp.path());
        assert_eq!(here.verdict, Verdict::Pass, "{here}");
        let later = work_dir(&tmp.path().join("a/b"));
        assert_eq!(later.verdict, Verdict::Pass, "{later}");
        assert!(later.detail.contains("will be created in"), "{later}");
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert_eq!(work_dir(&file.join("work")).verdict, Verdict::Fail);
    }
}
