//! Diagnostics through `tracing`. Executor stages write them to the log file named in the
//! settings, as JSON lines filtered by `RUST_LOG` (default `info`), never to stdout or
//! stderr while those are the job log. Without a log file they go to stderr only when
//! stderr is journald's stream (a systemd unit such as `srcgit-reconcile.service`, by
//! systemd's `JOURNAL_STREAM` convention: the variable names the device and inode of the
//! stream, and stderr must be that very file, so a job log never qualifies even when a
//! runner started by systemd passes the variable on). The local CLI writes them to stderr,
//! only when `RUST_LOG` is set; closed spans then show how long each phase took.

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

/// Installs the subscriber once: JSON lines into `log_file`, else into stderr when it is
/// journald's stream, else nothing is recorded.
pub fn init(log_file: Option<&Path>) {
    let Some(path) = log_file else {
        if stderr_is_journal() {
            let filter =
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
            let _ = tracing_subscriber::fmt()
                .json()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
        }
        return;
    };
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

/// Whether stderr is the journald stream systemd named in `JOURNAL_STREAM`.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    // the file behind descriptor 2 (Linux)
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    is_journal_stream(&value, meta.dev(), meta.ino())
}

/// `JOURNAL_STREAM` is `<device>:<inode>` of the stream, both decimal.
fn is_journal_stream(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.trim().split_once(':') else {
        return false;
    };
    d.parse::<u64>().ok() == Some(dev) && i.parse::<u64>().ok() == Some(ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_name_stderr_itself() {
        assert!(is_journal_stream("8:12345", 8, 12345));
        assert!(is_journal_stream("8:12345\n", 8, 12345));
        // inherited by a child whose stderr is a pipe to gitlab-runner: not the journal
        assert!(!is_journal_stream("8:12345", 12, 99));
        assert!(!is_journal_stream("8:99", 8, 12345));
        assert!(!is_journal_stream("", 8, 12345));
        assert!(!is_journal_stream("garbage", 8, 12345));
    }
}
