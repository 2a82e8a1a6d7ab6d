//! The local sub-commands, one file each, and what they share: packit's exit codes (0
//! success, 2 an error the user can fix, 4 an internal error), error reporting, and an
//! [`Output`](crate::bridge::Output) on stdout for commands that drive the bridge.
//!
//! May import `repo`, `convert`, `bridge`, `forge`, `store`, `settings` and `ids`; never
//! `executor` (gitlab-runner's stages are dispatched from `lib.rs`).

mod assets;
mod cache;
mod convert;
pub mod doctor;
mod history;
mod reconcile;
mod status;
mod update_source_git;

pub use assets::generate_assets;
pub use cache::cache_prune;
pub use convert::convert;
pub use doctor::doctor;
pub use history::{history, pairs};
pub use reconcile::reconcile;
pub use status::status;
pub use update_source_git::update_source_git;

use crate::repo::update_dist_git::UpdateError;

/// Exit code for errors the user can act on (packit's `PackitException`).
pub const EXIT_USER_ERROR: u8 = 2;
/// Exit code for everything else (packit's "unexpected exception").
pub const EXIT_INTERNAL_ERROR: u8 = 4;

/// Initialises libgit2 for a run that never uses the network.
///
/// libgit2 (linked with OpenSSL for the executor's HTTPS fetches) parses the whole system
/// CA bundle when it initialises — about 20 ms, most of a small conversion. The local
/// commands never open a TLS connection, so libgit2 is pointed at an empty bundle while it
/// initialises, and the environment is restored before anything else runs (git children
/// see the user's environment untouched).
pub(crate) fn init_git_offline() {
    const VAR: &str = "SSL_CERT_FILE";
    let previous = std::env::var_os(VAR);
    // SAFETY: called at the start of a local command, before srcgit starts any thread.
    unsafe { std::env::set_var(VAR, "/dev/null") };
    // any git2 call runs libgit2's one-time initialisation
    let _ = git2::Config::new();
    match previous {
        // SAFETY: as above, still single-threaded.
        Some(value) => unsafe { std::env::set_var(VAR, value) },
        None => unsafe { std::env::remove_var(VAR) },
    }
}

/// Prints an error with its causes on one line, ripgrep-style, and picks the exit code.
pub(crate) fn report(err: &UpdateError) -> u8 {
    report_error(err, err.is_user_error())
}

/// [`report`] for any error, given whether the user can fix it.
pub(crate) fn report_error(err: &dyn std::error::Error, user_error: bool) -> u8 {
    eprintln!("error: {}", crate::error_chain(err));
    if user_error {
        EXIT_USER_ERROR
    } else {
        EXIT_INTERNAL_ERROR
    }
}

/// An [`Output`](crate::bridge::Output) that prints each line on stdout, with the bot
/// token masked.
#[derive(Debug, Clone, Default)]
pub struct Stdout {
    secret: Option<crate::settings::Secret>,
}

impl Stdout {
    /// Stdout masking the token of `settings`.
    pub fn masking(settings: &crate::settings::Settings) -> Stdout {
        Stdout {
            secret: Some(settings.token.clone()),
        }
    }

    fn mask(&self, text: &str) -> String {
        let secrets: Vec<String> = self.secret.iter().map(|s| s.expose().to_string()).collect();
        crate::telemetry::mask(text, &secrets)
    }

    /// Prints an error on stderr, masked.
    pub fn error(&self, text: &str) {
        eprintln!("error: {}", self.mask(text));
    }
}

impl crate::bridge::Output for Stdout {
    fn line(&self, text: &str) {
        println!("{}", self.mask(text));
    }
}

/// The operator commands' settings (`--config`, `$SRCGIT_CONFIG`, the default path), with
/// diagnostics going to the settings' log file; a problem is printed and is `Err`.
pub(crate) fn operator_settings(
    config: Option<&std::path::Path>,
) -> Result<crate::settings::Settings, ()> {
    match crate::settings::load(&crate::settings::locate(config)) {
        Ok(settings) => {
            crate::telemetry::init(
                settings.log_file.as_deref(),
                &[settings.token.expose().to_string()],
            );
            Ok(settings)
        }
        Err(e) => {
            eprintln!("error: {}", crate::error_chain(&e));
            Err(())
        }
    }
}

/// Opens the settings' database (creating its directory); a problem is printed.
pub(crate) fn open_store(
    settings: &crate::settings::Settings,
    out: &Stdout,
) -> Result<crate::store::Store, ()> {
    if let Some(dir) = settings.database.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        out.error(&format!("cannot create {}: {e}", dir.display()));
        return Err(());
    }
    crate::store::Store::open(&settings.database).map_err(|e| out.error(&crate::error_chain(&e)))
}
