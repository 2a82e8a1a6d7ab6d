//! `srcgit reconcile [--dry-run]`: one sweep (see [`crate::bridge::reconcile`]). Exit 0
//! when every pair was handled, 1 when some pair failed (each named) or GitLab or the
//! database could not be used, 2 for unusable settings.

use std::path::Path;

use super::{EXIT_USER_ERROR, Stdout, open_store, operator_settings};
use crate::bridge;
use crate::cli::ReconcileArgs;

/// Exit code when some pair could not be handled, or GitLab/the database failed.
const EXIT_FAILED: u8 = 1;

/// `srcgit reconcile`.
pub fn reconcile(args: &ReconcileArgs, config: Option<&Path>) -> u8 {
    let settings = match operator_settings(config) {
        Ok(s) => s,
        Err(()) => return EXIT_USER_ERROR,
    };
    let out = Stdout::masking(&settings);
    let Ok(store) = open_store(&settings, &out) else {
        return EXIT_FAILED;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    runtime.block_on(async {
        let forge = match bridge::connect(&settings).await {
            Ok(f) => f,
            Err(e) => {
                out.error(&crate::error_chain(&e));
                return EXIT_FAILED;
            }
        };
        match bridge::reconcile::reconcile(&forge, &settings, &store, &out, args.dry_run).await {
            Ok(report) if report.failures.is_empty() => 0,
            Ok(_) => EXIT_FAILED,
            Err(e) => {
                out.error(&crate::error_chain(&e));
                EXIT_FAILED
            }
        }
    })
}
