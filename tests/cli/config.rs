//! A config error names the file, line, column and key, and nothing runs.

use crate::support::{Env, Repo, start_args};

/// A released repository with `text` committed as hotfix.toml.
fn with_config(env: &Env, text: &str) -> Repo {
    let repo = env.released_repo();
    repo.commit_file("hotfix.toml", text, "hotfix policy");
    repo
}

#[test]
fn invalid_toml_syntax() {
    let env = Env::new();
    let repo = with_config(&env, "[guard\nmax_files = 5\n");
    let run = repo.refused(&start_args("x", &[]), 2, "hotfix.toml:1:7: ");
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
}

#[test]
fn wrong_type_names_file_line_column_and_key() {
    let env = Env::new();
    let repo = with_config(&env, "[guard]\nmax_files = \"five\"\n");
    let run = repo.refused(&start_args("x", &[]), 2, "hotfix.toml:2:13: ");
    assert!(run.stderr.contains("guard.max_files"), "{}", run.stderr);
    let path = repo.path.join("hotfix.toml");
    assert!(
        run.stderr.contains(path.to_str().unwrap()),
        "names the file: {}",
        run.stderr
    );
}

#[test]
fn unknown_key() {
    let env = Env::new();
    let repo = with_config(&env, "[guard]\nmax_files = 3\nmax_file = 3\n");
    let run = repo.refused(
        &start_args("x", &[]),
        2,
        "hotfix.toml:3:1: unknown field `max_file`",
    );
    assert!(run.stderr.contains("guard.max_file"), "{}", run.stderr);
}

#[test]
fn unknown_section() {
    let env = Env::new();
    let repo = with_config(&env, "[gaurd]\nmax_files = 3\n");
    repo.refused(&start_args("x", &[]), 2, "unknown field `gaurd`");
}

#[test]
fn invalid_values_are_located() {
    let env = Env::new();
    let repo = env.released_repo();
    let cases = [
        (
            "[test]\ntimeout = \"soon\"\n",
            "hotfix.toml:2:11: ",
            "test.timeout",
        ),
        (
            "[review]\napprovals = 0\n",
            "hotfix.toml:2:13: ",
            "review.approvals",
        ),
        (
            "[severity]\ncriteria = []\n",
            "hotfix.toml:2:12: ",
            "severity.criteria",
        ),
        (
            "[release]\ntag_format = \"v\"\n",
            "hotfix.toml:2:14: ",
            "release.tag_format",
        ),
        (
            "[guard]\nflag_patterns = [\"(\"]\n",
            "hotfix.toml:2:17: ",
            "guard.flag_patterns",
        ),
        (
            "[branches]\nprefix = \"a b/\"\n",
            "hotfix.toml:2:10: ",
            "branches.prefix",
        ),
    ];
    for (text, at, key) in cases {
        // left untracked: the working-tree file is the one read, and untracked files keep the tree clean
        repo.write("hotfix.toml", text);
        let run = repo.refused(&start_args("x", &[]), 2, at);
        assert!(run.stderr.contains(key), "{text:?}: {}", run.stderr);
    }
}

#[test]
fn severity_not_in_the_configured_criteria() {
    let env = Env::new();
    let repo = with_config(&env, "[severity]\ncriteria = [\"outage\"]\n");
    let run = repo.refused(
        &start_args("x", &[]),
        2,
        "`revenue-loss` is not a severity criterion of this repository's policy (outage)",
    );
    assert!(run.stderr.contains("normal release"), "{}", run.stderr);
    // the criterion as the policy spells it is accepted, in any case
    repo.hotfix(&[
        "start",
        "x",
        "--severity",
        "OUTAGE",
        "--reproduced",
        "--summary",
        "s",
    ])
    .ok();
    assert_eq!(
        repo.state_entry("hotfix/x").unwrap()["severity"].as_str(),
        Some("outage")
    );
}

#[test]
fn custom_prefix_names_the_branch() {
    let env = Env::new();
    let repo = with_config(&env, "[branches]\nprefix = \"hf-\"\n");
    repo.start("login").ok();
    assert_eq!(repo.branch(), "hf-login");
}

#[test]
fn no_config_file_runs_on_defaults() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("x").ok();
    let policy = &repo.state_entry("hotfix/x").unwrap()["policy"];
    assert_eq!(policy["guard"]["max_files"].as_integer(), Some(5));
    assert_eq!(policy["guard"]["max_lines"].as_integer(), Some(150));
    assert_eq!(policy["release"]["tag_pattern"].as_str(), Some("v*"));
    assert_eq!(policy["branches"]["prefix"].as_str(), Some("hotfix/"));
}
