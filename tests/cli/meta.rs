//! Shell completions, the man page, and the binary run by git as `git hotfix`.

use std::path::Path;
use std::process::Command;

use crate::support::{Env, Run, hotfix_cmd, pin};

fn hotfix(dir: &Path, args: &[&str]) -> Run {
    Run::new(hotfix_cmd(dir).args(args).output().unwrap())
}

#[test]
fn completions_generate_for_every_shell() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = hotfix(env.path(), &["completions", shell]).ok();
        for word in [
            "merge-back",
            "verify-merged",
            "demo",
            "severity",
            "via-branch",
        ] {
            assert!(
                run.stdout.contains(word),
                "{shell} completions lack {word:?}"
            );
        }
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
    }
}

#[test]
fn bash_completions_are_valid_bash() {
    let env = Env::new();
    let script = env.path().join("hotfix.bash");
    let run = hotfix(env.path(), &["completions", "bash"]).ok();
    std::fs::write(&script, &run.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn completions_for_an_unknown_shell_are_a_usage_error() {
    let env = Env::new();
    hotfix(env.path(), &["completions", "tcsh"]).fails(2, "invalid value 'tcsh'");
}

#[test]
fn man_page_is_roff_for_section_1() {
    let env = Env::new();
    // outside any repository: the man page needs none
    let run = hotfix(env.path(), &["man"]).ok();
    assert!(
        run.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &run.stdout[..80]
    );
    assert!(run.stdout.contains("\n.TH hotfix 1 "), "{}", run.stdout);
    // every command's own flags are on the one page
    assert!(
        run.stdout.contains(".SS \"hotfix start\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--reproduced"), "{}", run.stdout);
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
        ".SH \"COMMANDS IN DETAIL\"",
    ] {
        assert!(
            run.stdout.contains(section),
            "no {section}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("hotfix\\-verify\\-merged"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\\-\\-non\\-interactive"),
        "{}",
        run.stdout
    );
}

/// A folder holding the built binary under the name `git-hotfix`, as the README says to
/// install it, and a PATH with that folder first.
fn git_hotfix_on_path(env: &Env) -> std::ffi::OsString {
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("hotfix"),
        bin.join("git-hotfix"),
    )
    .unwrap();
    std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap()
}

fn git_hotfix(dir: &Path, path: &std::ffi::OsStr, args: &[&str]) -> Run {
    let mut cmd = Command::new("git");
    pin(&mut cmd, dir);
    cmd.env("PATH", path)
        .current_dir(dir)
        .arg("hotfix")
        .args(args);
    Run::new(cmd.output().unwrap())
}

#[test]
fn git_runs_it_as_git_hotfix() {
    let env = Env::new();
    let path = git_hotfix_on_path(&env);
    let repo = env.released_repo();

    // a whole step through git: start makes the branch, status reports it like `hotfix status`
    git_hotfix(
        &repo.path,
        &path,
        &[
            "start",
            "login-500",
            "--severity",
            "revenue-loss",
            "--reproduced",
            "--summary",
            "Login returns 500",
        ],
    )
    .ok();
    assert_eq!(repo.branch(), "hotfix/login-500");
    let through_git = git_hotfix(&repo.path, &path, &["status"]).ok();
    assert!(
        through_git
            .stdout
            .starts_with("hotfix/login-500: Login returns 500\n"),
        "{}",
        through_git.stdout
    );
    let direct = repo.hotfix(&["status"]).ok();
    assert_eq!(through_git.stdout, direct.stdout);

    // git's own -C reaches it too
    let from_outside = git_hotfix(
        env.path(),
        &path,
        &["-C", repo.path.to_str().unwrap(), "status", "--json"],
    )
    .ok();
    assert_eq!(from_outside.json()["hotfix"]["branch"], "hotfix/login-500");
}

#[test]
fn run_as_git_hotfix_its_usage_says_git_hotfix() {
    let env = Env::new();
    let path = git_hotfix_on_path(&env);
    let help = git_hotfix(env.path(), &path, &["start", "-h"]).ok();
    assert!(
        help.stdout
            .contains("Usage: git hotfix start [OPTIONS] <NAME>"),
        "{}",
        help.stdout
    );
    let wrong = git_hotfix(env.path(), &path, &["strat"]).code(2);
    assert!(
        wrong
            .stderr
            .contains("Usage: git hotfix [OPTIONS] <COMMAND>"),
        "{}",
        wrong.stderr
    );
    // run under its own name, it is plain `hotfix`
    let plain = hotfix(env.path(), &["start", "-h"]).ok();
    assert!(
        plain
            .stdout
            .contains("Usage: hotfix start [OPTIONS] <NAME>"),
        "{}",
        plain.stdout
    );
}
