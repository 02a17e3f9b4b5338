//! Binary tests: real git repositories in temp dirs, a pinned environment, never a mock of git.

mod standin;
mod support;

mod abort;
mod bypass;
mod checkout;
mod config;
mod demo;
mod deploy;
mod exact_tree;
mod faults;
mod finish;
mod forge;
mod forgery;
mod full_disk;
mod guard;
mod help;
mod hostile;
mod init;
mod learn;
mod list_stats;
mod merge_back;
mod meta;
mod pipeline;
mod pipes;
mod presence;
mod release;
mod retro;
mod review;
mod smoke;
mod start;
mod state;
mod status;
mod team;
mod test_gate;
mod verify_merged;
