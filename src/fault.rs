//! Crash points for the fault tests: with `HOTFIX_FAULT=<name>` in the environment the process
//! aborts (as a kill would stop it) when it reaches the point of that name.
//!
//! Only in builds with the `fault-injection` feature, which only `cargo test` turns on (a self
//! dev-dependency in Cargo.toml). In a `cargo build --release` or `cargo install` binary
//! `point` is empty and nothing reads the variable: nobody can stop a real deploy at a chosen
//! moment (between the tag and the state write, say) by setting it.

#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    if std::env::var_os("HOTFIX_FAULT").is_some_and(|v| v == name) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "hotfix: fault injected at {name}");
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
