//! Operator diagnostics: `tracing` events go to the log file named in the settings, as
//! JSON lines, filtered by `RUST_LOG` (default `info`). Never to stdout or stderr, which
//! are the job log in executor stages.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; without a log file nothing is recorded.
pub fn init(log_file: Option<&Path>) {
    let Some(path) = log_file else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .try_init();
}
