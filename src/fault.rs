//! Crash points for the fault tests: with `HOTFIX_FAULT=<name>` in the environment the process
//! aborts (as a kill would stop it) when it reaches the point of that name. Nothing else reads
//! the variable.

pub fn point(name: &str) {
    if std::env::var_os("HOTFIX_FAULT").is_some_and(|v| v == name) {
        eprintln!("hotfix: fault injected at {name}");
        std::process::abort();
    }
}
