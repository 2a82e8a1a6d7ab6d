//! What the user sees in the GitLab job log. In the executor stages srcgit's stdout *is*
//! the job log, so every line meant for users goes through `JobLog`, which replaces
//! secrets (the bot token, masked CI variables) before anything is written. Operator
//! diagnostics go through `tracing` to the log file instead.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Writes masked lines to the job log (stdout, or a buffer in tests).
#[derive(Clone)]
pub struct JobLog {
    secrets: Arc<Vec<String>>,
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for JobLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobLog")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// How secrets show up in the log.
pub const MASK: &str = crate::telemetry::MASK;

impl JobLog {
    /// A log on stdout that masks `secrets`.
    pub fn stdout(secrets: Vec<String>) -> JobLog {
        JobLog::with_sink(secrets, Box::new(std::io::stdout()))
    }

    /// A log into any writer.
    pub fn with_sink(mut secrets: Vec<String>, sink: Box<dyn Write + Send>) -> JobLog {
        secrets.retain(|s| !s.is_empty());
        // longest first, so a secret that contains another is masked whole
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        JobLog {
            secrets: Arc::new(secrets),
            sink: Arc::new(Mutex::new(sink)),
        }
    }

    /// Replaces every secret in `text` (and every GitLab-token-shaped word), with the
    /// same masking as the operator log ([`crate::telemetry::mask`]).
    pub fn mask(&self, text: &str) -> String {
        crate::telemetry::mask(text, &self.secrets)
    }

    /// Writes one line.
    pub fn line(&self, text: impl AsRef<str>) {
        let masked = self.mask(text.as_ref());
        if let Ok(mut sink) = self.sink.lock() {
            // A broken job log must not abort the job; the exit code still reports it.
            let _ = writeln!(sink, "{masked}");
            let _ = sink.flush();
        }
    }

    /// Opens a collapsible section (GitLab's `section_start` marker), folded when
    /// `collapsed`.
    pub fn section_start(&self, id: &str, title: &str, collapsed: bool) {
        self.line(format!(
            "\x1b[0Ksection_start:{}:{id}[collapsed={collapsed}]\r\x1b[0K\x1b[36;1m{title}\x1b[0m",
            now()
        ));
    }

    /// Closes a section.
    pub fn section_end(&self, id: &str) {
        self.line(format!("\x1b[0Ksection_end:{}:{id}\r\x1b[0K", now()));
    }
}

impl crate::bridge::Output for JobLog {
    fn line(&self, text: &str) {
        JobLog::line(self, text);
    }

    fn section_start(&self, id: &str, title: &str, collapsed: bool) {
        JobLog::section_start(self, id, title, collapsed);
    }

    fn section_end(&self, id: &str) {
        JobLog::section_end(self, id);
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn secrets_never_reach_the_sink() {
        let buf = Buffer::default();
        let log = JobLog::with_sink(
            vec![
                "glpat-secret".into(),
                "glpat-secret-long".into(),
                String::new(),
            ],
            Box::new(buf.clone()),
        );
        log.line("token glpat-secret-long and glpat-secret in http://oauth2:glpat-secret@host");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "token [MASKED] and [MASKED] in http://oauth2:[MASKED]@host\n"
        );
    }
}
