//! Diagnostics through `tracing`. Executor stages write them to the log file named in the
//! settings, as JSON lines filtered by `RUST_LOG` (default `info`), never to stdout or
//! stderr, which are the job log. The local CLI writes them to stderr, only when `RUST_LOG`
//! is set; closed spans then show how long each phase took.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// For the local CLI: with `RUST_LOG` set (e.g. `RUST_LOG=srcgit=debug`), events and span
/// timings go to stderr.
pub fn init_cli() {
    let Ok(filter) = EnvFilter::try_from_default_env() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .try_init();
}

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
