//! `srcgit generate-assets DIR` (hidden): the man pages and shell completions that
//! `dist/install.sh` installs, generated from the clap definition so they never drift
//! from `--help`.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes `DIR/man/srcgit.1`, one `srcgit-<sub>.1` per visible sub-command, and
/// `DIR/completions/{srcgit.bash,_srcgit,srcgit.fish}`; returns the exit code.
pub fn generate_assets(dir: &Path) -> u8 {
    match write_assets(dir) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot write the assets into {}: {e}", dir.display());
            super::EXIT_INTERNAL_ERROR
        }
    }
}

fn write_assets(dir: &Path) -> std::io::Result<()> {
    let man = dir.join("man");
    std::fs::create_dir_all(&man)?;
    let cmd = Cli::command();
    // man pages for `srcgit` and each visible sub-command (`srcgit-convert.1`, …)
    clap_mangen::generate_to(cmd.clone(), &man)?;
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "srcgit", &completions)?;
    }
    Ok(())
}
