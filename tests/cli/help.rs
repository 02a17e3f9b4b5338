//! `hotfix --help` as a snapshot: the first thing a user reads.

use crate::support::hotfix_cmd;

#[test]
fn help() {
    let env = crate::support::Env::new();
    let out = crate::support::Run::new(hotfix_cmd(env.path()).arg("--help").output().unwrap());
    insta::assert_snapshot!(format!("exit: {}\n{}", out.code, out.stdout));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}
