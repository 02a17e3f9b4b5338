//! Commands that are not pipeline steps: set-up, status, abort, and the generated docs.

pub mod abort;
pub mod complete;
pub mod demo;
pub mod init;
pub mod list;
pub mod meta;
pub mod propose;
pub mod retro;
pub mod stats;
pub mod status;
