//! `config_exec`: prints the executor's JSON for gitlab-runner on stdout — and nothing
//! else, because one stray byte there breaks the runner's parser. Diagnostics go to
//! stderr (the job log).

use std::path::Path;

use serde::Serialize;

use super::{StageError, load_settings};

#[derive(Debug, Serialize)]
struct Driver {
    name: &'static str,
    version: &'static str,
}

/// gitlab-runner's `ConfigExecOutput` (the keys srcgit sets).
#[derive(Debug, Serialize)]
struct ConfigOutput {
    builds_dir: String,
    cache_dir: String,
    builds_dir_is_shared: bool,
    driver: Driver,
}

pub(super) fn run(config: Option<&Path>) -> Result<(), StageError> {
    let settings = load_settings(config)?;
    let output = ConfigOutput {
        builds_dir: settings.work_dir.join("builds").display().to_string(),
        cache_dir: settings.work_dir.join("cache").display().to_string(),
        builds_dir_is_shared: false,
        driver: Driver {
            name: "srcgit",
            version: env!("CARGO_PKG_VERSION"),
        },
    };
    let json = serde_json::to_string(&output)
        .map_err(|e| StageError::system(format!("cannot render the config JSON: {e}")))?;
    println!("{json}");
    Ok(())
}
