//! Diagnostics through `tracing`. Executor stages write them to the log file named in the
//! settings, as JSON lines filtered by `RUST_LOG` (default `info`), never to stdout or
//! stderr while those are the job log. Without a log file they go to stderr only when
//! stderr is journald's stream (a systemd unit such as `srcgit-reconcile.service`, by
//! systemd's `JOURNAL_STREAM` convention: the variable names the device and inode of the
//! stream, and stderr must be that very file, so a job log never qualifies even when a
//! runner started by systemd passes the variable on). The local CLI writes them to stderr,
//! only when `RUST_LOG` is set; closed spans then show how long each phase took.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// How secrets show up in the job log and the operator log.
pub const MASK: &str = "[MASKED]";

/// Prefixes of GitLab tokens (personal, deploy, runner, CI job, trigger, OAuth, feed,
/// incoming-mail, agent, SCIM, feature-flag tokens): a value starting with one is masked
/// even when srcgit does not know it (a token pasted into the wrong setting).
const TOKEN_PREFIXES: &[&str] = &[
    "glpat-",
    "gldt-",
    "glrt-",
    "glcbt-",
    "glptt-",
    "gloas-",
    "glft-",
    "glimt-",
    "glagent-",
    "glsoat-",
    "glffct-",
    "GR1348941",
];

/// `text` with every one of `secrets` (longest first) and every GitLab-token-shaped word
/// replaced by [`MASK`]. The one masking both the job log and the operator log use.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    for prefix in TOKEN_PREFIXES {
        while let Some(at) = out.find(prefix) {
            let end = out[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .map_or(out.len(), |n| at + n);
            out.replace_range(at..end, MASK);
        }
    }
    out
}

/// The operator log (file or journald's stderr), masking each record before it is written.
struct MaskedSink {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
    secrets: Arc<Vec<String>>,
}

/// One record being formatted; masked and written out when dropped.
struct MaskedRecord {
    buf: Vec<u8>,
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
    secrets: Arc<Vec<String>>,
}

impl Write for MaskedRecord {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedRecord {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let masked = mask(&String::from_utf8_lossy(&self.buf), &self.secrets);
        if let Ok(mut sink) = self.sink.lock() {
            let _ = sink.write_all(masked.as_bytes());
            let _ = sink.flush();
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedSink {
    type Writer = MaskedRecord;

    fn make_writer(&'a self) -> MaskedRecord {
        MaskedRecord {
            buf: Vec::new(),
            sink: Arc::clone(&self.sink),
            secrets: Arc::clone(&self.secrets),
        }
    }
}

/// Installs the subscriber once: JSON lines into `log_file`, else into stderr when it is
/// journald's stream, else nothing is recorded. Every record passes [`mask`] with
/// `secrets` before it is written.
pub fn init(log_file: Option<&Path>, secrets: &[String]) {
    let sink: Box<dyn Write + Send> = match log_file {
        None if stderr_is_journal() => Box::new(std::io::stderr()),
        None => return,
        Some(path) => {
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
            Box::new(file)
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(MaskedSink {
            sink: Arc::new(Mutex::new(sink)),
            secrets: Arc::new(secrets.to_vec()),
        })
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
    use tracing_subscriber::fmt::MakeWriter;

    #[test]
    fn mask_hides_known_secrets_and_token_shaped_words() {
        let secrets = vec!["s3cr3t-value".to_string()];
        assert_eq!(
            mask("a s3cr3t-value b glpat-AbC_12-x.y, c", &secrets),
            "a [MASKED] b [MASKED], c"
        );
        assert_eq!(mask("nothing here", &[]), "nothing here");
    }

    #[test]
    fn the_operator_log_writer_masks_each_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let file = std::fs::File::create(&path).unwrap();
        let make = MaskedSink {
            sink: Arc::new(Mutex::new(Box::new(file))),
            secrets: Arc::new(vec!["TOPSECRET".to_string()]),
        };
        {
            let mut w = make.make_writer();
            w.write_all(b"{\"body\":\"TOP").unwrap();
            w.write_all(b"SECRET and glpat-xyz\"}\n").unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"body\":\"[MASKED] and [MASKED]\"}\n");
    }

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
