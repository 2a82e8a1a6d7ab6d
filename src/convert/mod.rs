//! The conversion core: packit's source-git → dist-git rules as pure functions.
//!
//! Nothing under `convert/` touches the file system, runs processes or talks to the
//! network; `update.rs` and `git/` do the I/O and pass data in.

pub mod config;
pub mod mail;
pub mod patch_id;
pub mod patches;
pub mod pytext;
pub mod spec;
pub mod stream;
pub mod sync;
pub mod trailers;
pub mod yaml;
