//! The conversion core: packit's source-git → dist-git rules as pure functions.
//!
//! Nothing under `convert/` touches the file system, runs processes or talks to the
//! network; `repo/` does the I/O and passes data in. May import std and its parsing
//! crates (yaml-rust2, regex); never another module of srcgit.

pub mod config;
pub mod mail;
pub mod patch_id;
pub mod patches;
pub mod pytext;
pub mod spec;
pub mod stream;
pub mod sync;
pub mod trailers;
pub mod update_source_git;
pub mod yaml;
