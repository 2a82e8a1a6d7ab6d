//! The command line: `srcgit convert`, `srcgit status`, `srcgit doctor`, the custom-executor
//! stages, and the operator commands `reconcile`, `history` and `pairs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// source-git ⇄ dist-git for Fedora / CentOS Stream packagers, and the GitLab custom
/// executor that runs it in merge-request pipelines.
#[derive(Debug, Parser)]
#[command(name = "srcgit", version, about, max_term_width = 100)]
pub struct Cli {
    /// The executor's settings file (default: $SRCGIT_CONFIG, then /etc/srcgit/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Update a dist-git repository from a source-git repository (`packit source-git
    /// update-dist-git`, byte for byte).
    Convert(ConvertArgs),
    /// Tell whether source-git and dist-git are in sync (`packit source-git status`).
    Status(StatusArgs),
    /// Carry dist-git commits back into source-git's `.distro/`, one source-git commit each
    /// (`packit source-git update-source-git`, with its data-loss bugs fixed).
    UpdateSourceGit(UpdateSourceGitArgs),
    /// GitLab custom executor stages (called by gitlab-runner).
    #[command(subcommand)]
    Executor(ExecutorCommand),
    /// One sweep over every pair: close, reopen and comment as the MRs' states ask, post
    /// the statuses jobs left open, and open or update the "Sync from dist-git" MRs (run by
    /// a systemd timer).
    Reconcile(ReconcileArgs),
    /// Print the sync attempts and reconcile actions of a source-git merge request.
    History(HistoryArgs),
    /// List the stored source-git ↔ dist-git merge request pairs.
    Pairs(PairsArgs),
    /// The runner host's shared git cache (`work_dir/cache/srcgit.git`).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Check this runner host's set-up: settings, token, GitLab permissions, work_dir,
    /// database, git. Prints one line per check and a fix per problem; exits 1 if any
    /// check failed.
    Doctor,
    /// Write the man pages and shell completions into DIR (for packaging).
    #[command(hide = true)]
    GenerateAssets {
        /// Receives `man/*.1` and `completions/{srcgit.bash,_srcgit,srcgit.fish}`.
        dir: PathBuf,
    },
}

/// `srcgit cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove the caches of projects no job used for `cache_max_age_days`, and old cache
    /// generations no job reads any more (a cache in use is left alone).
    Prune {
        /// Remove caches unused for this many days instead of `cache_max_age_days`.
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<u32>,
    },
}

/// Arguments of `srcgit reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Print what would be done; make no change on GitLab.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `srcgit history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The source-git merge request: `group/project!IID` or its web URL.
    #[arg(value_name = "MR")]
    pub merge_request: String,
}

/// Arguments of `srcgit pairs`.
#[derive(Debug, Args)]
pub struct PairsArgs {
    /// Which pairs to list.
    #[arg(long, value_enum, default_value_t = PairFilter::Open)]
    pub state: PairFilter,
}

/// The `--state` of `srcgit pairs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PairFilter {
    /// Pairs whose rpms MR is open.
    Open,
    /// Pairs whose rpms MR is closed or merged.
    Closed,
    /// Every pair.
    All,
}

/// Arguments of `srcgit convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Generate patches from this ref instead of `upstream_ref` of source-git.yaml.
    #[arg(long, value_name = "REF")]
    pub upstream_ref: Option<String>,
    /// Commit the result in dist-git with this message (title, blank line, body).
    #[arg(short = 'm', long, value_name = "MSG", conflicts_with = "file")]
    pub message: Option<String>,
    /// Like -m, reading the message from FILE (`-` for stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Skip the sync-status check (update even if dist-git has unsynced commits).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The source-git repository.
    pub source_git: PathBuf,
    /// The dist-git repository.
    pub dist_git: PathBuf,
}

/// Arguments of `srcgit status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The source-git repository.
    pub source_git: PathBuf,
    /// The dist-git repository.
    pub dist_git: PathBuf,
}

/// Arguments of `srcgit update-source-git` (note the order: dist-git first, like packit).
#[derive(Debug, Args)]
pub struct UpdateSourceGitArgs {
    /// Skip the sync-status check (needs REVISION_RANGE).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The dist-git repository (only read).
    pub dist_git: PathBuf,
    /// The source-git repository (gets one commit per synced dist-git commit).
    pub source_git: PathBuf,
    /// dist-git commits to sync, e.g. `HEAD~2..` (default: those after the last sync).
    pub revision_range: Option<String>,
}

/// The stages gitlab-runner calls (`config_args = ["executor", "config"]`, …).
#[derive(Debug, Subcommand)]
pub enum ExecutorCommand {
    /// Print the executor's JSON configuration for gitlab-runner.
    Config,
    /// Check settings and the job before it runs.
    Prepare,
    /// Run one stage of the job (only `build_script` does work; the script is never run).
    Run {
        /// Path of the script gitlab-runner generated (never executed).
        script: PathBuf,
        /// Stage name, e.g. `build_script`.
        stage: String,
    },
    /// Finalise statuses and remove the job's work files.
    Cleanup,
}
