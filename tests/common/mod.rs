//! Shared test utilities: the conformance corpus (`corpus`), the fake-GitLab world for
//! the forge tests (`forge_world`) and the executor harness (`executor`).
#![allow(dead_code, unused_imports)]

pub mod corpus;
pub mod executor;
pub mod forge_world;
