//! The SQLite file — srcgit's cache and history, never its source of truth: source-git MR ↔
//! rpms MR pairs, the statuses each job posted (so the `cleanup` stage, a separate process,
//! and `srcgit reconcile` can finalise any left open), per-pair leases that keep two jobs on
//! one host from converting and pushing the same MR at once, every sync attempt (`runs`),
//! every reconcile action (`actions`) and the sweeps. This module alone owns SQL; the schema
//! is versioned with `PRAGMA user_version` (migration N brings version N to N+1, each in one
//! transaction). The file is opened in WAL mode with a busy timeout, so concurrent jobs on
//! one host share it.
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
    /// `open`, `closed` (the rpms MR), `merged` or `replaced`.
    pub state: String,
    /// Why srcgit closed the rpms MR (`source-closed`, `source-merged`), if it did.
    pub closed_reason: Option<String>,
}

/// One sync attempt: a job that converted a source-git MR head and mirrored its rpms MR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The job (the key: one attempt per job).
    pub job_id: JobId,
    /// The project the job's pipeline runs in.
    pub job_project_id: ProjectId,
    /// The job's pipeline.
    pub pipeline_id: PipelineId,
    /// Source-git project.
    pub source_project_path: ProjectPath,
    /// Source-git MR.
    pub source_mr_iid: MrIid,
    /// The commit the job converted.
    pub source_sha: CommitSha,
    /// rpms project, once known.
    pub dist_git_project_id: Option<ProjectId>,
    /// Its path.
    pub dist_git_project_path: Option<ProjectPath>,
    /// rpms MR, once opened.
    pub dist_git_mr_iid: Option<MrIid>,
    /// dist-git commit pushed.
    pub dist_git_sha: Option<CommitSha>,
    /// rpms pipelines followed, in order.
    pub rpms_pipeline_ids: Vec<PipelineId>,
    /// `running`, `passed`, `failed`, `error`, `canceled`, `handed-over`, `superseded`.
    pub outcome: String,
    /// One sentence about the outcome.
    pub detail: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, once ended.
    pub ended_at: Option<i64>,
}

/// One reconcile action on a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Unix seconds.
    pub at: i64,
    /// Source-git project.
    pub source_project_path: ProjectPath,
    /// Source-git MR.
    pub source_mr_iid: MrIid,
    /// rpms project.
    pub dist_git_project_path: ProjectPath,
    /// rpms MR.
    pub dist_git_mr_iid: MrIid,
    /// What was done (the sentence printed).
    pub action: String,
    /// `done` or `failed: …`.
    pub outcome: String,
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
    r"
ALTER TABLE pairs ADD COLUMN closed_reason TEXT;
CREATE TABLE runs (
    job_id                INTEGER PRIMARY KEY,
    job_project_id        INTEGER NOT NULL,
    pipeline_id           INTEGER NOT NULL,
    source_project_path   TEXT    NOT NULL,
    source_mr_iid         INTEGER NOT NULL,
    source_sha            TEXT    NOT NULL,
    dist_git_project_id   INTEGER,
    dist_git_project_path TEXT,
    dist_git_mr_iid       INTEGER,
    dist_git_sha          TEXT,
    rpms_pipeline_ids     TEXT    NOT NULL DEFAULT '',
    outcome               TEXT    NOT NULL,
    detail                TEXT    NOT NULL DEFAULT '',
    started_at            INTEGER NOT NULL,
    ended_at              INTEGER
);
CREATE INDEX runs_by_source ON runs (source_project_path, source_mr_iid);
CREATE TABLE actions (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    at                    INTEGER NOT NULL,
    source_project_path   TEXT    NOT NULL,
    source_mr_iid         INTEGER NOT NULL,
    dist_git_project_path TEXT    NOT NULL,
    dist_git_mr_iid       INTEGER NOT NULL,
    action                TEXT    NOT NULL,
    outcome               TEXT    NOT NULL
);
CREATE INDEX actions_by_source ON actions (source_project_path, source_mr_iid);
CREATE TABLE sweeps (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    dry_run    INTEGER NOT NULL,
    actions    INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    watermark  TEXT
);
",
    r"
CREATE TABLE sync_back (
    dist_git_project_id   INTEGER NOT NULL,
    branch                TEXT    NOT NULL,
    dist_git_project_path TEXT    NOT NULL,
    dist_git_head         TEXT    NOT NULL,
    source_git_mr_iid     INTEGER,
    outcome               TEXT    NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (dist_git_project_id, branch)
);
CREATE TABLE sync_back_watermarks (
    namespace TEXT PRIMARY KEY,
    watermark TEXT NOT NULL
);
",
    r"
CREATE TABLE seen_mrs (
    project_id INTEGER NOT NULL,
    mr_iid     INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (project_id, mr_iid)
);
",
];

/// What srcgit last did for one dist-git branch on the way back to source-git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncBack {
    /// The rpms project.
    pub dist_git_project_id: ProjectId,
    /// Its full path.
    pub dist_git_project_path: ProjectPath,
    /// The branch.
    pub branch: String,
    /// The branch head that was handled.
    pub dist_git_head: CommitSha,
    /// The "Sync from dist-git" MR in the source-git project, if one is open.
    pub source_git_mr_iid: Option<MrIid>,
    /// What happened (`synced`, `nothing to sync`, `no source-git project`, …).
    pub outcome: String,
}

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

    /// The `updated_at` of an MR as the last sweep that examined it saw it.
    pub fn seen_updated_at(
        &self,
        project: ProjectId,
        iid: MrIid,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT updated_at FROM seen_mrs WHERE project_id = ?1 AND mr_iid = ?2",
                params![project, iid],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Remembers the `updated_at` a sweep saw for an MR.
    pub fn record_seen(
        &self,
        project: ProjectId,
        iid: MrIid,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO seen_mrs (project_id, mr_iid, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (project_id, mr_iid) DO UPDATE SET updated_at = excluded.updated_at",
            params![project, iid, updated_at],
        )?;
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
                        source_sha, dist_git_sha, state, closed_reason
                 FROM pairs WHERE source_project_id = ?1 AND source_mr_iid = ?2",
                params![project, iid],
                pair_row,
            )
            .optional()?)
    }

    /// Every pair, newest change first; `state` filters on the pair's state.
    pub fn pairs(&self, state: Option<&str>) -> Result<Vec<Pair>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT source_project_id, source_project_path, source_mr_iid, dist_git_project_id,
                    dist_git_project_path, dist_git_mr_iid, fork_project_id, fork_branch,
                    source_sha, dist_git_sha, state, closed_reason
             FROM pairs WHERE ?1 IS NULL OR state = ?1
             ORDER BY updated_at DESC, source_project_path, source_mr_iid",
        )?;
        let rows = stmt.query_map(params![state], pair_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets a pair's state and the reason srcgit closed its rpms MR.
    pub fn set_pair_state(
        &self,
        project: ProjectId,
        iid: MrIid,
        state: &str,
        closed_reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE pairs SET state = ?3, closed_reason = ?4, updated_at = ?5
             WHERE source_project_id = ?1 AND source_mr_iid = ?2",
            params![project, iid, state, closed_reason, now()],
        )?;
        Ok(())
    }

    /// Records a sync attempt, or updates it (keyed by job).
    pub fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let pipelines = run
            .rpms_pipeline_ids
            .iter()
            .map(|p| p.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.conn.execute(
            "INSERT INTO runs (job_id, job_project_id, pipeline_id, source_project_path, source_mr_iid,
                               source_sha, dist_git_project_id, dist_git_project_path, dist_git_mr_iid,
                               dist_git_sha, rpms_pipeline_ids, outcome, detail, started_at, ended_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (job_id) DO UPDATE SET
                source_sha = excluded.source_sha,
                dist_git_project_id = excluded.dist_git_project_id,
                dist_git_project_path = excluded.dist_git_project_path,
                dist_git_mr_iid = excluded.dist_git_mr_iid,
                dist_git_sha = excluded.dist_git_sha,
                rpms_pipeline_ids = excluded.rpms_pipeline_ids,
                outcome = excluded.outcome,
                detail = excluded.detail,
                ended_at = excluded.ended_at",
            params![
                run.job_id,
                run.job_project_id,
                run.pipeline_id,
                run.source_project_path.0,
                run.source_mr_iid,
                run.source_sha.0,
                run.dist_git_project_id,
                run.dist_git_project_path.as_ref().map(|p| p.0.as_str()),
                run.dist_git_mr_iid,
                run.dist_git_sha.as_ref().map(|s| s.0.as_str()),
                pipelines,
                run.outcome,
                run.detail,
                run.started_at,
                run.ended_at,
            ],
        )?;
        Ok(())
    }

    /// The sync attempt of a job.
    pub fn run(&self, job: JobId) -> Result<Option<Run>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE job_id = ?1"),
                params![job],
                run_row,
            )
            .optional()?)
    }

    /// Sync attempts of a source-git MR, oldest first.
    pub fn runs_for(&self, project: &ProjectPath, iid: MrIid) -> Result<Vec<Run>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE source_project_path = ?1 AND source_mr_iid = ?2
             ORDER BY started_at, job_id"
        ))?;
        let rows = stmt.query_map(params![project.0, iid], run_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last sync attempt of a source-git MR.
    pub fn last_run_for(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Option<Run>, StoreError> {
        Ok(self.runs_for(project, iid)?.pop())
    }

    /// Jobs that left statuses `pending`/`running` behind, oldest first.
    pub fn jobs_with_open_statuses(&self) -> Result<Vec<JobId>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT job_id FROM posted_statuses WHERE state IN ('pending', 'running')
             GROUP BY job_id ORDER BY MIN(updated_at), job_id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every status a job posted, by name.
    pub fn statuses_of(&self, job: JobId) -> Result<Vec<PostedStatus>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT job_id, project_id, sha, pipeline_id, name, state, target_url, git_ref
             FROM posted_statuses WHERE job_id = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map(params![job], status_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a reconcile action.
    pub fn record_action(&self, action: &Action) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO actions (at, source_project_path, source_mr_iid, dist_git_project_path,
                                  dist_git_mr_iid, action, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                action.at,
                action.source_project_path.0,
                action.source_mr_iid,
                action.dist_git_project_path.0,
                action.dist_git_mr_iid,
                action.action,
                action.outcome
            ],
        )?;
        Ok(())
    }

    /// Reconcile actions on a source-git MR's pairs, oldest first.
    pub fn actions_for(
        &self,
        project: &ProjectPath,
        iid: MrIid,
    ) -> Result<Vec<Action>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, source_project_path, source_mr_iid, dist_git_project_path, dist_git_mr_iid,
                    action, outcome
             FROM actions WHERE source_project_path = ?1 AND source_mr_iid = ?2 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![project.0, iid], |r| {
            Ok(Action {
                at: r.get(0)?,
                source_project_path: ProjectPath(r.get(1)?),
                source_mr_iid: r.get(2)?,
                dist_git_project_path: ProjectPath(r.get(3)?),
                dist_git_mr_iid: r.get(4)?,
                action: r.get(5)?,
                outcome: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Starts a sweep; returns its id and the watermark (the newest GitLab `updated_at`)
    /// of the last completed real sweep, if any.
    pub fn start_sweep(&self, dry_run: bool) -> Result<(i64, Option<String>), StoreError> {
        let previous: Option<String> = self
            .conn
            .query_row(
                "SELECT watermark FROM sweeps
                 WHERE dry_run = 0 AND ended_at IS NOT NULL AND watermark IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        self.conn.execute(
            "INSERT INTO sweeps (started_at, dry_run) VALUES (?1, ?2)",
            params![now(), dry_run],
        )?;
        Ok((self.conn.last_insert_rowid(), previous))
    }

    /// Ends a sweep with its counts and watermark (`None` after a dry run or when a pair
    /// failed: the next sweep starts again from the last watermark recorded).
    pub fn end_sweep(
        &self,
        id: i64,
        actions: u64,
        failures: u64,
        watermark: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sweeps SET ended_at = ?2, actions = ?3, failures = ?4, watermark = ?5
             WHERE id = ?1",
            params![id, now(), actions as i64, failures as i64, watermark],
        )?;
        Ok(())
    }

    /// What was last done for a dist-git branch.
    pub fn sync_back(
        &self,
        project: ProjectId,
        branch: &str,
    ) -> Result<Option<SyncBack>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT dist_git_project_id, dist_git_project_path, branch, dist_git_head,
                        source_git_mr_iid, outcome
                 FROM sync_back WHERE dist_git_project_id = ?1 AND branch = ?2",
                params![project, branch],
                |r| {
                    Ok(SyncBack {
                        dist_git_project_id: r.get(0)?,
                        dist_git_project_path: ProjectPath(r.get(1)?),
                        branch: r.get(2)?,
                        dist_git_head: CommitSha(r.get(3)?),
                        source_git_mr_iid: r.get(4)?,
                        outcome: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records what was done for a dist-git branch.
    pub fn save_sync_back(&self, row: &SyncBack) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sync_back (dist_git_project_id, branch, dist_git_project_path,
                                    dist_git_head, source_git_mr_iid, outcome, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (dist_git_project_id, branch) DO UPDATE SET
                dist_git_project_path = excluded.dist_git_project_path,
                dist_git_head = excluded.dist_git_head,
                source_git_mr_iid = excluded.source_git_mr_iid,
                outcome = excluded.outcome,
                updated_at = excluded.updated_at",
            params![
                row.dist_git_project_id,
                row.branch,
                row.dist_git_project_path.0,
                row.dist_git_head.0,
                row.source_git_mr_iid,
                row.outcome,
                now()
            ],
        )?;
        Ok(())
    }

    /// The newest `last_activity_at` the previous complete sweep saw in a dist-git
    /// namespace.
    pub fn sync_back_watermark(&self, namespace: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT watermark FROM sync_back_watermarks WHERE namespace = ?1",
                params![namespace],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets the watermark of a dist-git namespace.
    pub fn set_sync_back_watermark(
        &self,
        namespace: &str,
        watermark: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sync_back_watermarks (namespace, watermark) VALUES (?1, ?2)
             ON CONFLICT (namespace) DO UPDATE SET watermark = excluded.watermark",
            params![namespace, watermark],
        )?;
        Ok(())
    }

    /// Records or updates a pair.
    pub fn save_pair(&self, pair: &Pair) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO pairs (source_project_id, source_project_path, source_mr_iid, dist_git_project_id,
                                dist_git_project_path, dist_git_mr_iid, fork_project_id, fork_branch,
                                source_sha, dist_git_sha, state, closed_reason, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
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
                closed_reason = excluded.closed_reason,
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
                pair.closed_reason,
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
        let rows = stmt.query_map(params![job], status_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pair> {
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
        closed_reason: r.get(11)?,
    })
}

fn status_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PostedStatus> {
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
}

const RUN_COLUMNS: &str = "job_id, job_project_id, pipeline_id, source_project_path, source_mr_iid,
    source_sha, dist_git_project_id, dist_git_project_path, dist_git_mr_iid, dist_git_sha,
    rpms_pipeline_ids, outcome, detail, started_at, ended_at";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    let pipelines: String = r.get(10)?;
    Ok(Run {
        job_id: r.get(0)?,
        job_project_id: r.get(1)?,
        pipeline_id: r.get(2)?,
        source_project_path: ProjectPath(r.get(3)?),
        source_mr_iid: r.get(4)?,
        source_sha: CommitSha(r.get(5)?),
        dist_git_project_id: r.get(6)?,
        dist_git_project_path: r.get::<_, Option<String>>(7)?.map(ProjectPath),
        dist_git_mr_iid: r.get(8)?,
        dist_git_sha: r.get::<_, Option<String>>(9)?.map(CommitSha),
        rpms_pipeline_ids: pipelines
            .split(',')
            .filter_map(|p| p.parse().ok().map(PipelineId))
            .collect(),
        outcome: r.get(11)?,
        detail: r.get(12)?,
        started_at: r.get(13)?,
        ended_at: r.get(14)?,
    })
}

/// Unix seconds now (the clock of every stored time).
pub fn unix_now() -> i64 {
    now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_actions_round_trip() {
        let store = Store::in_memory().unwrap();
        let path = ProjectPath("src/quill".into());
        let mut run = Run {
            job_id: JobId(901),
            job_project_id: ProjectId(1),
            pipeline_id: PipelineId(77),
            source_project_path: path.clone(),
            source_mr_iid: MrIid(3),
            source_sha: CommitSha("a".repeat(40)),
            dist_git_project_id: None,
            dist_git_project_path: None,
            dist_git_mr_iid: None,
            dist_git_sha: None,
            rpms_pipeline_ids: vec![],
            outcome: "running".into(),
            detail: String::new(),
            started_at: 100,
            ended_at: None,
        };
        store.save_run(&run).unwrap();
        run.rpms_pipeline_ids = vec![PipelineId(88), PipelineId(89)];
        run.outcome = "passed".into();
        run.ended_at = Some(160);
        store.save_run(&run).unwrap();
        assert_eq!(store.run(JobId(901)).unwrap(), Some(run.clone()));
        assert_eq!(store.runs_for(&path, MrIid(3)).unwrap(), vec![run]);
        let action = Action {
            at: 200,
            source_project_path: path.clone(),
            source_mr_iid: MrIid(3),
            dist_git_project_path: ProjectPath("rpms/quill".into()),
            dist_git_mr_iid: MrIid(5),
            action: "closed the dist-git MR".into(),
            outcome: "done".into(),
        };
        store.record_action(&action).unwrap();
        assert_eq!(store.actions_for(&path, MrIid(3)).unwrap(), vec![action]);
    }

    /// Databases written by earlier srcgit versions (made by their own code, kept under
    /// `tests/data/store/vN.sqlite`) open, migrate in place and keep their rows.
    #[test]
    fn databases_of_every_earlier_version_migrate_and_keep_their_rows() {
        for version in 1..MIGRATIONS.len() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.sqlite");
            std::fs::copy(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("tests/data/store/v{version}.sqlite")),
                &path,
            )
            .unwrap_or_else(|e| panic!("no fixture for schema version {version}: {e}"));
            let raw = Connection::open(&path).unwrap();
            let found: i64 = raw
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(found, version as i64, "fixture v{version}");
            drop(raw);
            let store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), Store::SCHEMA_VERSION);
            let pair = store
                .pair_for_source(ProjectId(11), MrIid(3))
                .unwrap()
                .unwrap();
            assert_eq!(pair.dist_git_mr_iid, MrIid(5), "v{version}");
            assert_eq!(pair.closed_reason, None);
            assert_eq!(store.jobs_with_open_statuses().unwrap(), vec![JobId(901)]);
            assert_eq!(store.statuses_of(JobId(901)).unwrap().len(), 2);
            assert_eq!(store.pairs(Some("open")).unwrap().len(), 1);
            assert!(
                store
                    .runs_for(&pair.source_project_path, MrIid(3))
                    .unwrap()
                    .is_empty()
            );
            drop(store);
            // opening again is a no-op
            assert_eq!(
                Store::open(&path).unwrap().schema_version().unwrap(),
                Store::SCHEMA_VERSION
            );
        }
    }

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
            closed_reason: None,
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
