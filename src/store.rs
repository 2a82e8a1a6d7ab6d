//! The SQLite file: source-git MR ↔ rpms MR pairs, the statuses each job posted (so
//! the `cleanup` stage, a separate process, can finalise any left open), and per-pair
//! leases that keep two jobs on one host from converting and pushing the same MR at once.
//! This module alone owns SQL; the schema is versioned with `PRAGMA user_version`
//! (migration N brings version N to N+1). The file is opened in WAL mode with a busy
//! timeout, so concurrent jobs on one host share it.
//! May import `ids` only (an edge).
//!
//! Calls are short local transactions; the async workflow makes them between awaits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::ids::CommitState;
use crate::ids::{CommitSha, JobId, MrIid, PipelineId, ProjectId, ProjectPath};

/// Ids are stored as SQLite INTEGERs (i64); GitLab ids fit.
macro_rules! sql_id {
    ($($t:ty),*) => {$(
        impl rusqlite::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                let value = i64::try_from(self.0).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                Ok(value.into())
            }
        }

        impl rusqlite::types::FromSql for $t {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let raw = value.as_i64()?;
                u64::try_from(raw).map(Self).map_err(|_| rusqlite::types::FromSqlError::OutOfRange(raw))
            }
        }
    )*};
}

sql_id!(ProjectId, MrIid, PipelineId, JobId);

/// A source-git MR and the rpms MR srcgit opened for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Source-git target project.
    pub source_project_id: ProjectId,
    /// Its path.
    pub source_project_path: ProjectPath,
    /// Source-git MR.
    pub source_mr_iid: MrIid,
    /// rpms project.
    pub dist_git_project_id: ProjectId,
    /// Its path.
    pub dist_git_project_path: ProjectPath,
    /// rpms MR.
    pub dist_git_mr_iid: MrIid,
    /// The bot's fork.
    pub fork_project_id: ProjectId,
    /// Branch in the fork.
    pub fork_branch: String,
    /// Source-git commit last converted.
    pub source_sha: CommitSha,
    /// dist-git commit pushed for it.
    pub dist_git_sha: CommitSha,
    /// `open` or `closed`.
    pub state: String,
}

/// A status a job posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedStatus {
    /// Job that posted it.
    pub job_id: JobId,
    /// Project it was posted to.
    pub project_id: ProjectId,
    /// Commit.
    pub sha: CommitSha,
    /// Pipeline it is attached to.
    pub pipeline_id: Option<PipelineId>,
    /// `ref` it was posted with.
    pub git_ref: Option<String>,
    /// Name.
    pub name: String,
    /// Last state posted.
    pub state: CommitState,
    /// Link.
    pub target_url: Option<String>,
}

/// Database trouble.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be opened or created.
    #[error("cannot open the database {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("database query failed")]
    Query(#[from] rusqlite::Error),
    /// The file was written by a newer srcgit.
    #[error("the database {path} has schema version {found}, newer than this srcgit ({supported})")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
}

/// Schema migrations; entry N brings the schema from version N to N+1.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE pairs (
    source_project_id     INTEGER NOT NULL,
    source_project_path   TEXT    NOT NULL,
    source_mr_iid         INTEGER NOT NULL,
    dist_git_project_id   INTEGER NOT NULL,
    dist_git_project_path TEXT    NOT NULL,
    dist_git_mr_iid       INTEGER NOT NULL,
    fork_project_id       INTEGER NOT NULL,
    fork_branch           TEXT    NOT NULL,
    source_sha            TEXT    NOT NULL,
    dist_git_sha          TEXT    NOT NULL,
    state                 TEXT    NOT NULL DEFAULT 'open',
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (source_project_id, source_mr_iid),
    UNIQUE (dist_git_project_id, dist_git_mr_iid)
);
CREATE TABLE posted_statuses (
    job_id      INTEGER NOT NULL,
    project_id  INTEGER NOT NULL,
    sha         TEXT    NOT NULL,
    pipeline_id INTEGER,
    name        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    target_url  TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (job_id, name)
);
",
    r"
ALTER TABLE posted_statuses ADD COLUMN git_ref TEXT;
CREATE TABLE leases (
    key        TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    host       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
",
];

/// Who holds a lease: a job, its process and host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Names the job in messages (e.g. `job 123`); also what release and renew match.
    pub holder: String,
    /// Its process.
    pub pid: u32,
    /// Its host name.
    pub host: String,
}

/// The open database.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn expiry(ttl: Duration) -> i64 {
    now().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        let mut store = Store { conn };
        store.migrate(path)?;
        Ok(store)
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store { conn };
        store.migrate(Path::new(":memory:"))?;
        Ok(store)
    }

    fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                supported,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version of the open database (`PRAGMA user_version`; after [`Store::open`]
    /// it equals [`Store::SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The schema version this srcgit writes.
    pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

    /// The pair of a source-git MR.
    pub fn pair_for_source(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> Result<Option<Pair>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT source_project_id, source_project_path, source_mr_iid, dist_git_project_id,
                        dist_git_project_path, dist_git_mr_iid, fork_project_id, fork_branch,
                        source_sha, dist_git_sha, state
                 FROM pairs WHERE source_project_id = ?1 AND source_mr_iid = ?2",
                params![project, iid],
                |r| {
                    Ok(Pair {
                        source_project_id: r.get(0)?,
                        source_project_path: ProjectPath(r.get(1)?),
                        source_mr_iid: r.get(2)?,
                        dist_git_project_id: r.get(3)?,
                        dist_git_project_path: ProjectPath(r.get(4)?),
                        dist_git_mr_iid: r.get(5)?,
                        fork_project_id: r.get(6)?,
                        fork_branch: r.get(7)?,
                        source_sha: CommitSha(r.get(8)?),
                        dist_git_sha: CommitSha(r.get(9)?),
                        state: r.get(10)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records or updates a pair.
    pub fn save_pair(&self, pair: &Pair) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO pairs (source_project_id, source_project_path, source_mr_iid, dist_git_project_id,
                                dist_git_project_path, dist_git_mr_iid, fork_project_id, fork_branch,
                                source_sha, dist_git_sha, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (source_project_id, source_mr_iid) DO UPDATE SET
                source_project_path = excluded.source_project_path,
                dist_git_project_id = excluded.dist_git_project_id,
                dist_git_project_path = excluded.dist_git_project_path,
                dist_git_mr_iid = excluded.dist_git_mr_iid,
                fork_project_id = excluded.fork_project_id,
                fork_branch = excluded.fork_branch,
                source_sha = excluded.source_sha,
                dist_git_sha = excluded.dist_git_sha,
                state = excluded.state,
                updated_at = excluded.updated_at",
            params![
                pair.source_project_id,
                pair.source_project_path.0,
                pair.source_mr_iid,
                pair.dist_git_project_id,
                pair.dist_git_project_path.0,
                pair.dist_git_mr_iid,
                pair.fork_project_id,
                pair.fork_branch,
                pair.source_sha.0,
                pair.dist_git_sha.0,
                pair.state,
                now()
            ],
        )?;
        Ok(())
    }

    /// Takes the lease `key` for `me` until `ttl` from now, unless another holder has it
    /// and it has neither expired nor been declared `dead` (e.g. its process is gone);
    /// returns that holder when the lease is taken. Atomic across processes (an
    /// immediate transaction). Taking a lease one already holds renews it.
    pub fn acquire_lease(
        &self,
        key: &str,
        me: &LeaseHolder,
        ttl: Duration,
        dead: impl Fn(&LeaseHolder) -> bool,
    ) -> Result<Option<LeaseHolder>, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let current = tx
            .query_row(
                "SELECT holder, pid, host, expires_at FROM leases WHERE key = ?1",
                params![key],
                |r| {
                    Ok((
                        LeaseHolder {
                            holder: r.get(0)?,
                            pid: r.get(1)?,
                            host: r.get(2)?,
                        },
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?;
        if let Some((holder, expires_at)) = current
            && holder != *me
            && expires_at > now()
            && !dead(&holder)
        {
            return Ok(Some(holder));
        }
        tx.execute(
            "INSERT INTO leases (key, holder, pid, host, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, pid = excluded.pid,
                host = excluded.host, expires_at = excluded.expires_at",
            params![key, me.holder, me.pid, me.host, expiry(ttl)],
        )?;
        tx.commit()?;
        Ok(None)
    }

    /// Extends `me`'s lease on `key`; `false` when `me` no longer holds it.
    pub fn renew_lease(
        &self,
        key: &str,
        me: &LeaseHolder,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE leases SET expires_at = ?1 WHERE key = ?2 AND holder = ?3 AND pid = ?4 AND host = ?5",
            params![expiry(ttl), key, me.holder, me.pid, me.host],
        )?;
        Ok(changed == 1)
    }

    /// Gives the lease back (nothing happens when `me` does not hold it).
    pub fn release_lease(&self, key: &str, me: &LeaseHolder) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM leases WHERE key = ?1 AND holder = ?2 AND pid = ?3 AND host = ?4",
            params![key, me.holder, me.pid, me.host],
        )?;
        Ok(())
    }

    /// Records the state a job last posted for a status name.
    pub fn record_status(&self, status: &PostedStatus) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO posted_statuses (job_id, project_id, sha, pipeline_id, name, state, target_url, updated_at, git_ref)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (job_id, name) DO UPDATE SET
                project_id = excluded.project_id, sha = excluded.sha, pipeline_id = excluded.pipeline_id,
                state = excluded.state, target_url = excluded.target_url, updated_at = excluded.updated_at,
                git_ref = excluded.git_ref",
            params![
                status.job_id,
                status.project_id,
                status.sha.0,
                status.pipeline_id,
                status.name,
                status.state.as_str(),
                status.target_url,
                now(),
                status.git_ref
            ],
        )?;
        Ok(())
    }

    /// Forgets a status a job meant to post but could not post anywhere.
    pub fn forget_status(&self, job: JobId, name: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM posted_statuses WHERE job_id = ?1 AND name = ?2",
            params![job, name],
        )?;
        Ok(())
    }

    /// Statuses a job posted that are still `pending` or `running`.
    pub fn open_statuses(&self, job: JobId) -> Result<Vec<PostedStatus>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT job_id, project_id, sha, pipeline_id, name, state, target_url, git_ref
             FROM posted_statuses WHERE job_id = ?1 AND state IN ('pending', 'running') ORDER BY name",
        )?;
        let rows = stmt.query_map(params![job], |r| {
            let state: String = r.get(5)?;
            Ok(PostedStatus {
                job_id: r.get(0)?,
                project_id: r.get(1)?,
                sha: CommitSha(r.get(2)?),
                pipeline_id: r.get(3)?,
                name: r.get(4)?,
                state: CommitState::parse(&state).unwrap_or(CommitState::Pending),
                target_url: r.get(6)?,
                git_ref: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> Pair {
        Pair {
            source_project_id: ProjectId(1),
            source_project_path: ProjectPath("src/quill".into()),
            source_mr_iid: MrIid(3),
            dist_git_project_id: ProjectId(2),
            dist_git_project_path: ProjectPath("rpms/quill".into()),
            dist_git_mr_iid: MrIid(5),
            fork_project_id: ProjectId(9),
            fork_branch: "c10s-src-3".into(),
            source_sha: CommitSha("a".repeat(40)),
            dist_git_sha: CommitSha("b".repeat(40)),
            state: "open".into(),
        }
    }

    #[test]
    fn pairs_round_trip_and_update() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.pair_for_source(ProjectId(1), MrIid(3)).unwrap(), None);
        store.save_pair(&pair()).unwrap();
        assert_eq!(
            store.pair_for_source(ProjectId(1), MrIid(3)).unwrap(),
            Some(pair())
        );
        let newer = Pair {
            source_sha: CommitSha("c".repeat(40)),
            ..pair()
        };
        store.save_pair(&newer).unwrap();
        assert_eq!(
            store.pair_for_source(ProjectId(1), MrIid(3)).unwrap(),
            Some(newer)
        );
    }

    #[test]
    fn one_rpms_mr_belongs_to_one_source_mr() {
        let store = Store::in_memory().unwrap();
        store.save_pair(&pair()).unwrap();
        let other = Pair {
            source_mr_iid: MrIid(4),
            ..pair()
        };
        assert!(store.save_pair(&other).is_err());
    }

    #[test]
    fn open_statuses_are_the_unfinished_ones() {
        let store = Store::in_memory().unwrap();
        let status = |name: &str, state| PostedStatus {
            job_id: JobId(7),
            project_id: ProjectId(1),
            sha: CommitSha("a".repeat(40)),
            pipeline_id: Some(PipelineId(70)),
            git_ref: None,
            name: name.into(),
            state,
            target_url: None,
        };
        store
            .record_status(&status("dist-git", CommitState::Running))
            .unwrap();
        store
            .record_status(&status("dist-git: build", CommitState::Pending))
            .unwrap();
        store
            .record_status(&status("dist-git: lint", CommitState::Success))
            .unwrap();
        store
            .record_status(&status("dist-git: build", CommitState::Failed))
            .unwrap();
        let open = store.open_statuses(JobId(7)).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].name, "dist-git");
        assert!(store.open_statuses(JobId(8)).unwrap().is_empty());
    }

    fn holder(name: &str, pid: u32) -> LeaseHolder {
        LeaseHolder {
            holder: name.into(),
            pid,
            host: "h".into(),
        }
    }

    #[test]
    fn a_lease_excludes_others_until_released_expired_or_its_holder_is_dead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let (one, two) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
        let (a, b) = (holder("job 1", 10), holder("job 2", 20));
        let ttl = Duration::from_secs(600);
        let alive = |_: &LeaseHolder| false;
        assert_eq!(one.acquire_lease("k", &a, ttl, alive).unwrap(), None);
        assert_eq!(
            two.acquire_lease("k", &b, ttl, alive).unwrap(),
            Some(a.clone())
        );
        assert_eq!(two.acquire_lease("other", &b, ttl, alive).unwrap(), None);
        assert_eq!(
            one.acquire_lease("k", &a, ttl, alive).unwrap(),
            None,
            "renews"
        );
        assert!(one.renew_lease("k", &a, ttl).unwrap());
        assert!(!two.renew_lease("k", &b, ttl).unwrap());
        two.release_lease("k", &b).unwrap();
        assert_eq!(
            two.acquire_lease("k", &b, ttl, alive).unwrap(),
            Some(a.clone()),
            "only the holder releases"
        );
        // a dead holder's lease is taken over at once
        assert_eq!(
            two.acquire_lease("k", &b, ttl, |h| h.pid == 10).unwrap(),
            None
        );
        assert!(!one.renew_lease("k", &a, ttl).unwrap(), "a lost its lease");
        two.release_lease("k", &b).unwrap();
        // an expired one too
        assert_eq!(
            one.acquire_lease("k", &a, Duration::ZERO, alive).unwrap(),
            None
        );
        assert_eq!(two.acquire_lease("k", &b, ttl, alive).unwrap(), None);
    }

    #[test]
    fn migrations_are_idempotent_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        Store::open(&path).unwrap().save_pair(&pair()).unwrap();
        let again = Store::open(&path).unwrap();
        assert!(
            again
                .pair_for_source(ProjectId(1), MrIid(3))
                .unwrap()
                .is_some()
        );
    }
}
