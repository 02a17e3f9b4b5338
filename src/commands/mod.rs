//! Commands that are not pipeline steps: set-up, status, abort, and the generated docs.

pub mod abort;
pub mod init;
pub mod meta;
pub mod status;
