//! Fetching and pushing over HTTP(S) with git2. The bot token is handed to libgit2 only
//! through the credentials callback, never in a URL, so it cannot leak into a log line.

use git2::{Cred, FetchOptions, PushOptions, RemoteCallbacks, Repository};

use super::GitError;

/// HTTP Basic credentials for GitLab: any user name with a personal access token.
#[derive(Clone)]
pub struct Credentials {
    token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([REDACTED])")
    }
}

impl Credentials {
    /// Credentials from a token.
    pub fn token(token: &str) -> Credentials {
        Credentials {
            token: token.to_string(),
        }
    }

    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        let mut attempts = 0;
        callbacks.credentials(move |_url, _user, _allowed| {
            attempts += 1;
            if attempts > 2 {
                return Err(git2::Error::from_str(
                    "authentication failed: the bot token was refused",
                ));
            }
            Cred::userpass_plaintext("oauth2", &self.token)
        });
        callbacks
    }
}

/// `git fetch <url> <refspecs>` into `repo`.
pub fn fetch(
    repo: &Repository,
    url: &str,
    refspecs: &[String],
    credentials: &Credentials,
) -> Result<(), GitError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(GitError::git2(format!("invalid remote URL {url}")))?;
    let mut options = FetchOptions::new();
    options.remote_callbacks(credentials.callbacks());
    options.download_tags(git2::AutotagOption::None);
    remote
        .fetch(refspecs, Some(&mut options), None)
        .map_err(GitError::git2(format!(
            "cannot fetch {} from {url}",
            refspecs.join(" ")
        )))
}

/// [`fetch`] that also reports how many bytes came over the wire, and hands back
/// libgit2's own error so the caller can tell a network failure (`ErrorClass::Net`,
/// `Http`, `Ssl`) from a broken local repository.
pub fn fetch_counted(
    repo: &Repository,
    url: &str,
    refspecs: &[String],
    credentials: &Credentials,
) -> Result<u64, git2::Error> {
    let mut remote = repo.remote_anonymous(url)?;
    let received = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let seen = received.clone();
    let mut callbacks = credentials.callbacks();
    callbacks.transfer_progress(move |progress| {
        seen.set(progress.received_bytes() as u64);
        true
    });
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks);
    options.download_tags(git2::AutotagOption::None);
    remote.fetch(refspecs, Some(&mut options), None)?;
    Ok(received.get())
}

/// Force-pushes `local_ref` to `remote_ref` at `url`.
pub fn force_push(
    repo: &Repository,
    url: &str,
    local_ref: &str,
    remote_ref: &str,
    credentials: &Credentials,
) -> Result<(), GitError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(GitError::git2(format!("invalid remote URL {url}")))?;
    let refspec = format!("+{local_ref}:{remote_ref}");
    if let Some(message) = push_refspec(&mut remote, url, &refspec, credentials)? {
        return Err(GitError::Command {
            args: format!("push {refspec}"),
            dir: repo.path().to_path_buf(),
            stderr: format!("the push was rejected ({message})"),
        });
    }
    Ok(())
}

/// What a push with an expected old value did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeasePush {
    /// The remote ref held the expected value and now holds ours.
    Pushed,
    /// The remote ref did not hold the expected value, or the server refused the
    /// update (its message, if any: e.g. a lost ref-lock race): nothing was changed.
    Stale(Option<String>),
}

/// Pushes `local_ref` to `remote_ref` at `url` only if the remote ref still holds
/// `expected` (`None`: does not exist) — git's `--force-with-lease=<ref>:<expected>`.
/// The advertisement of the push connection is compared with `expected`, and the same
/// advertised value goes out as the old value of the update, which the server checks
/// under its ref lock: a push that races in between is rejected, not overwritten.
pub fn push_with_lease(
    repo: &Repository,
    url: &str,
    local_ref: &str,
    remote_ref: &str,
    expected: Option<git2::Oid>,
    credentials: &Credentials,
) -> Result<LeasePush, GitError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(GitError::git2(format!("invalid remote URL {url}")))?;
    let mut connection = remote
        .connect_auth(git2::Direction::Push, Some(credentials.callbacks()), None)
        .map_err(GitError::git2(format!(
            "cannot connect to {url} for a push"
        )))?;
    let advertised = connection
        .list()
        .map_err(GitError::git2(format!("cannot list the refs of {url}")))?
        .iter()
        .find(|head| head.name() == remote_ref)
        .map(git2::RemoteHead::oid);
    if advertised != expected {
        return Ok(LeasePush::Stale(None));
    }
    let refspec = format!("+{local_ref}:{remote_ref}");
    Ok(
        match push_refspec(connection.remote(), url, &refspec, credentials)? {
            Some(message) => LeasePush::Stale(Some(message)),
            None => LeasePush::Pushed,
        },
    )
}

/// Pushes `refspec`; `Some` with the server's message when it refused the update.
fn push_refspec(
    remote: &mut git2::Remote<'_>,
    url: &str,
    refspec: &str,
    credentials: &Credentials,
) -> Result<Option<String>, GitError> {
    let mut callbacks = credentials.callbacks();
    let rejected = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
    let rejected_in_cb = rejected.clone();
    callbacks.push_update_reference(move |refname, status| {
        if let Some(message) = status {
            *rejected_in_cb.borrow_mut() = Some(format!("{refname}: {message}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    remote
        .push(&[refspec], Some(&mut options))
        .map_err(GitError::git2(format!("cannot push to {url}")))?;
    Ok(rejected.borrow_mut().take())
}

/// The value of `remote_ref` at `url` (`git ls-remote <url> <ref>`); `None` when absent.
pub fn remote_ref(
    repo: &Repository,
    url: &str,
    remote_ref: &str,
    credentials: &Credentials,
) -> Result<Option<git2::Oid>, GitError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(GitError::git2(format!("invalid remote URL {url}")))?;
    let connection = remote
        .connect_auth(git2::Direction::Fetch, Some(credentials.callbacks()), None)
        .map_err(GitError::git2(format!("cannot connect to {url}")))?;
    Ok(connection
        .list()
        .map_err(GitError::git2(format!("cannot list the refs of {url}")))?
        .iter()
        .find(|head| head.name() == remote_ref)
        .map(git2::RemoteHead::oid))
}
