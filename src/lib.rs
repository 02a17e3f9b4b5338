//! `hotfix`: make a team's emergency production fix safe.
//!
//! The pipeline — confirm, branch from the production tag, diff-size guard, review, test,
//! deploy, merge back — lives in [`steps`], one module per step. [`git`] wraps every git call,
//! [`state`] keeps the per-repository state file, [`config`] reads `hotfix.toml`, [`ui`] owns
//! output and prompts.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod ctx;
pub mod error;
pub mod fault;
pub mod forge;
pub mod git;
pub mod history;
pub mod learn;
pub mod process;
pub mod record;
pub mod seal;
pub mod signing;
pub mod state;
pub mod steps;
pub mod sync;
pub mod ui;
pub mod version;
pub mod version_files;

pub use app::run;
