//! One job at a time per MR pair on one host: a lease row in the shared SQLite file,
//! taken before fetch/convert/push and given back after the rpms MR step, so a second
//! job for the same MR (a fast second push, a rerun) waits for the first and then finds
//! its work done. The lease expires, and a holder whose process is gone loses it at
//! once, so a killed job never blocks the next one for long. It is an optimisation on
//! one host only: correctness across hosts comes from the push lease and GitLab itself.

use std::time::{Duration, Instant};

use super::{BridgeError, Context, VerifiedMr};
use crate::forge::Forge;
use crate::store::{LeaseHolder, Store};

/// How long a lease lasts without renewal (the holder renews it between steps).
pub(super) const LEASE_TTL: Duration = Duration::from_secs(600);
/// The longest a job waits for another one's lease before giving up (system failure).
const MAX_WAIT: Duration = Duration::from_secs(1800);

/// A held lease, given back on drop.
pub(super) struct PairLease<'s> {
    store: &'s Store,
    key: String,
    me: LeaseHolder,
}

impl PairLease<'_> {
    /// Extends the lease before a long step.
    pub(super) fn renew(&self) -> Result<(), BridgeError> {
        if !self.store.renew_lease(&self.key, &self.me, LEASE_TTL)? {
            tracing::warn!(key = %self.key, "the pair lease was taken over; continuing (the push lease guards the branch)");
        }
        Ok(())
    }
}

impl Drop for PairLease<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.release_lease(&self.key, &self.me) {
            tracing::warn!(key = %self.key, error = %e, "cannot release the pair lease");
        }
    }
}

/// The lease key of a source-git MR.
fn key(mr: &VerifiedMr) -> String {
    format!("pair:{}!{}", mr.target.id, mr.mr.iid)
}

/// This host's name (for telling local holders from remote ones).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Whether `holder` is a process of this host that no longer runs.
fn is_dead(holder: &LeaseHolder, host: &str) -> bool {
    holder.host == host
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{}", holder.pid)).exists()
}

/// Waits for, then takes, the pair's lease.
pub(super) async fn acquire<'a, F: Forge>(
    ctx: &Context<'a, F>,
    mr: &VerifiedMr,
) -> Result<PairLease<'a>, BridgeError> {
    let host = host_name();
    let me = LeaseHolder {
        holder: format!("job {}", ctx.job.job_id),
        pid: std::process::id(),
        host: host.clone(),
    };
    let key = key(mr);
    let started = Instant::now();
    let mut told = false;
    let mut delay = Duration::from_millis(100);
    loop {
        match ctx
            .store
            .acquire_lease(&key, &me, LEASE_TTL, |h| is_dead(h, &host))?
        {
            None => {
                if told {
                    ctx.out.line(&format!(
                        "srcgit: the other job is done with the merge request after {:.0?}; going on",
                        started.elapsed()
                    ));
                }
                return Ok(PairLease {
                    store: ctx.store,
                    key,
                    me,
                });
            }
            Some(other) => {
                if !told {
                    ctx.out.line(&format!(
                        "srcgit: {} is converting this merge request on this host; waiting for it to push and update the dist-git merge request",
                        other.holder
                    ));
                    told = true;
                }
                if started.elapsed() > MAX_WAIT {
                    return Err(BridgeError::Host(format!(
                        "{} held the lease on this merge request for more than {MAX_WAIT:?}",
                        other.holder
                    )));
                }
            }
        }
        ctx.check_canceled()?;
        let mut cancel = ctx.cancel.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = cancel.wait_for(|c| *c) => return Err(BridgeError::Canceled),
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_holders_without_a_process_are_dead() {
        let me = LeaseHolder {
            holder: "job 1".into(),
            pid: std::process::id(),
            host: "here".into(),
        };
        assert!(!is_dead(&me, "here"), "this process runs");
        let gone = LeaseHolder {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(is_dead(&gone, "here"));
        assert!(
            !is_dead(&gone, "elsewhere"),
            "another host's process is not ours to judge"
        );
    }
}
