//! `hotfix start`: which tag it branches from, `--from`, `--not-code`, and every refusal leaving
//! the repository untouched.

use crate::support::{Env, Repo, start_args};

/// A repository whose tags would mislead a text sort, a date sort or a lax parser.
fn tricky_tags(env: &Env) -> Repo {
    let repo = env.repo("app");
    repo.commit_file("app.txt", "1.0\n", "release 1.0");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.commit_file("app.txt", "1.10\n", "release 1.10");
    repo.git(&["tag", "-a", "v1.10.0", "-m", "v1.10.0"]);
    // v1.9.0 is tagged later and sorts after v1.10.0 as text
    repo.commit_file("app.txt", "1.9\n", "release 1.9 (a maintenance line)");
    repo.git(&["tag", "v1.9.0"]);
    repo.commit_file("app.txt", "2.0-rc1\n", "release candidate");
    repo.git(&["tag", "-a", "v2.0.0-rc1", "-m", "rc"]);
    repo.commit_file("app.txt", "junk\n", "experiments");
    repo.git(&["tag", "vfoo"]);
    repo.git(&["tag", "nightly"]);
    repo.git(&["tag", "v1.5.0.1"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo
}

#[test]
fn branches_from_the_newest_stable_tag_by_semver() {
    let env = Env::new();
    let repo = tricky_tags(&env);
    let run = repo.start("login-500").ok();
    assert!(run.stderr.contains("v1.10.0"), "{}", run.stderr);
    assert_eq!(repo.branch(), "hotfix/login-500");
    assert_eq!(repo.head(), repo.rev("v1.10.0^{commit}"));
    let entry = repo.state_entry("hotfix/login-500").unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.10.0"));
    assert_eq!(
        entry["base_commit"].as_str(),
        Some(repo.rev("v1.10.0^{commit}").as_str())
    );
    assert_eq!(entry["return_to"].as_str(), Some("develop"));
    assert_eq!(entry["phase"].as_str(), Some("open"));
    assert_eq!(entry["severity"].as_str(), Some("revenue-loss"));
    assert_eq!(entry["summary"].as_str(), Some("Checkout returns 500"));
    assert_eq!(entry["reproduced"].as_bool(), Some(true));
    assert_eq!(entry["author_email"].as_str(), Some("ann@example.com"));
}

#[test]
fn lightweight_tag_newest_among_annotated_ones() {
    let env = Env::new();
    // released_repo: v1.0.0 annotated, v1.1.0 lightweight
    let repo = env.released_repo();
    repo.git(&["tag", "-a", "v1.0.1", "-m", "v1.0.1", "v1.0.0"]);
    repo.start("login-500").ok();
    assert_eq!(repo.head(), repo.rev("v1.1.0"));
    assert_eq!(
        repo.state_entry("hotfix/login-500").unwrap()["base_tag"].as_str(),
        Some("v1.1.0")
    );
}

#[test]
fn custom_tag_pattern() {
    let env = Env::new();
    let repo = env.repo("app");
    repo.commit_file(
        "hotfix.toml",
        "[release]\ntag_pattern = \"release-*\"\ntag_format = \"release-{version}\"\n",
        "hotfix policy",
    );
    repo.commit_file("app.txt", "1\n", "one");
    repo.git(&["tag", "release-1.2.0"]);
    repo.commit_file("app.txt", "0.9\n", "backport");
    repo.git(&["tag", "release-0.9.0"]);
    repo.git(&["tag", "release-2.0.0-beta"]);
    // matches the default pattern, not this one
    repo.git(&["tag", "v9.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo.start("fix").ok();
    assert_eq!(repo.head(), repo.rev("release-1.2.0"));
    assert_eq!(
        repo.state_entry("hotfix/fix").unwrap()["base_tag"].as_str(),
        Some("release-1.2.0")
    );
}

#[test]
fn only_pre_releases_and_junk_means_no_base() {
    let env = Env::new();
    let repo = env.repo("app");
    repo.commit_file("app.txt", "1\n", "one");
    repo.git(&["tag", "v1.0.0-rc1"]);
    repo.git(&["tag", "vfoo"]);
    repo.git(&["tag", "v1.5.0.1"]);
    repo.refused(
        &start_args("x", &[]),
        2,
        "no stable release tag matches `v*`",
    );
}

#[test]
fn no_tags_at_all() {
    let env = Env::new();
    let repo = env.repo("app");
    repo.commit_file("app.txt", "1\n", "one");
    let run = repo.refused(&start_args("x", &[]), 2, "no stable release tag matches");
    assert!(run.stderr.contains("--from"), "{}", run.stderr);
}

#[test]
fn from_a_tag() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.hotfix(&start_args("old", &["--from", "v1.0.0"])).ok();
    assert_eq!(repo.head(), repo.rev("v1.0.0^{commit}"));
    let entry = repo.state_entry("hotfix/old").unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.0.0"));
    assert_eq!(
        entry["base_commit"].as_str(),
        Some(repo.rev("v1.0.0^{commit}").as_str())
    );
}

#[test]
fn from_a_commit_id() {
    let env = Env::new();
    let repo = env.released_repo();
    let commit = repo.rev("v1.0.0^{commit}");
    repo.hotfix(&start_args("sha", &["--from", &commit])).ok();
    assert_eq!(repo.branch(), "hotfix/sha");
    assert_eq!(repo.head(), commit);
    let entry = repo.state_entry("hotfix/sha").unwrap();
    assert!(entry.get("base_tag").is_none(), "{entry:?}");
    assert_eq!(entry["base_commit"].as_str(), Some(commit.as_str()));
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    assert!(status["hotfix"]["base_tag"].is_null());
}

#[test]
fn from_a_bad_revision() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(
        &start_args("x", &["--from", "v7.7.7"]),
        2,
        "`v7.7.7` is not a tag or revision",
    );
}

#[test]
fn dirty_tree_is_refused() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.write("app.txt", "half-done edit\n");
    repo.refused(&start_args("x", &[]), 2, "uncommitted changes (app.txt)");
    assert_eq!(repo.read("app.txt"), "half-done edit\n");
}

#[test]
fn staged_change_is_refused() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.write("new.txt", "staged\n");
    repo.git(&["add", "new.txt"]);
    repo.refused(&start_args("x", &[]), 2, "uncommitted changes (new.txt)");
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), "new.txt\n");
}

#[test]
fn not_a_repository() {
    let env = Env::new();
    let plain = env.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let repo = env.released_repo();
    let run = repo.refused(
        &["-C", plain.to_str().unwrap(), "start", "x"],
        2,
        "not a git repository",
    );
    assert!(
        run.stderr.contains(plain.to_str().unwrap()),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(&plain).unwrap().count(), 0);
}

#[test]
fn detached_head() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.git(&["switch", "-q", "--detach", "v1.0.0"]);
    repo.refused(&start_args("x", &[]), 2, "HEAD is detached");
}

#[test]
fn branch_already_exists() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.git(&["branch", "hotfix/x", "v1.0.0"]);
    repo.refused(
        &start_args("x", &[]),
        2,
        "a branch named hotfix/x already exists",
    );
}

#[test]
fn hotfix_already_in_progress() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("x").ok();
    repo.git(&["switch", "-q", "develop"]);
    repo.refused(&start_args("x", &[]), 2, "hotfix/x is already in progress");
}

#[test]
fn invalid_names() {
    let env = Env::new();
    let repo = env.released_repo();
    for name in ["bad..name", "with space", "", "ends.lock", "x~1"] {
        repo.refused(&start_args(name, &[]), 2, "cannot name a hotfix");
    }
}

#[test]
fn unknown_severity() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(
        &[
            "start",
            "x",
            "--severity",
            "slow-page",
            "--reproduced",
            "--summary",
            "s",
        ],
        2,
        "`slow-page` is not a severity criterion",
    );
}

#[test]
fn missing_severity_without_a_terminal() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(
        &["start", "x", "--reproduced", "--summary", "s"],
        2,
        "pass --severity",
    );
}

#[test]
fn missing_reproduced_non_interactive() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(
        &[
            "--non-interactive",
            "start",
            "x",
            "--severity",
            "revenue-loss",
            "--summary",
            "s",
        ],
        2,
        "pass --reproduced",
    );
    // --yes answers confirmations, never the fact of reproduction
    repo.refused(
        &[
            "--yes",
            "start",
            "x",
            "--severity",
            "revenue-loss",
            "--summary",
            "s",
        ],
        2,
        "pass --reproduced",
    );
}

#[test]
fn missing_summary_in_ci() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused_env(
        &["start", "x", "--severity", "revenue-loss", "--reproduced"],
        &[("CI", "1")],
        2,
        "pass --summary",
    );
}

/// The summary is shown on teammates' terminals (`status`, `list`) and kept in the release
/// record: an escape sequence (`ESC[2J` clears the screen) or a bidirectional control is refused.
#[test]
fn a_summary_with_a_control_character_is_refused() {
    let env = Env::new();
    let repo = env.released_repo();
    for summary in ["Fix\u{1b}[2J\u{1b}[Hall good", "Fix \u{202e}tuokcehc"] {
        repo.refused(
            &[
                "start",
                "x",
                "--severity",
                "revenue-loss",
                "--reproduced",
                "--summary",
                summary,
            ],
            2,
            "the summary holds a control character",
        );
    }
}

#[test]
fn empty_summary() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(
        &[
            "start",
            "x",
            "--severity",
            "revenue-loss",
            "--reproduced",
            "--summary",
            "  ",
        ],
        2,
        "the summary is empty",
    );
}

#[test]
fn not_code_records_and_makes_no_branch() {
    let env = Env::new();
    let repo = env.released_repo();
    let branches = repo.branches();
    let head = repo.head();
    let run = repo
        .hotfix(&[
            "start",
            "cache-stale",
            "--not-code",
            "--summary",
            "CDN served a stale page",
            "--severity",
            "core-workflow-blocked",
        ])
        .ok();
    assert!(run.stderr.contains("not a code change"), "{}", run.stderr);
    assert_eq!(repo.branches(), branches);
    assert_eq!(repo.branch(), "develop");
    assert_eq!(repo.head(), head);
    assert!(repo.state().is_none(), "no hotfix is in progress");
    let refs = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/hotfix/not-code/",
    ]);
    let refs: Vec<&str> = refs.lines().collect();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert!(refs[0].starts_with("refs/hotfix/not-code/cache-stale-"));
    let record: serde_json::Value =
        serde_json::from_str(&repo.git(&["cat-file", "blob", refs[0]])).unwrap();
    assert_eq!(record["name"], "cache-stale");
    assert_eq!(record["summary"], "CDN served a stale page");
    assert_eq!(record["severity"], "core-workflow-blocked");
    assert_eq!(record["by_email"], "ann@example.com");
}

#[test]
fn not_code_needs_a_summary_without_a_terminal() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(&["start", "cache", "--not-code"], 2, "pass --summary");
}

#[test]
fn not_code_records_of_the_same_name_are_all_kept() {
    let env = Env::new();
    let repo = env.released_repo();
    for summary in ["first report", "second report", "third report"] {
        repo.hotfix(&["start", "cache", "--not-code", "--summary", summary])
            .ok();
    }
    let refs = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/hotfix/not-code/",
    ]);
    let mut summaries: Vec<String> = refs
        .lines()
        .map(|r| {
            let record: serde_json::Value =
                serde_json::from_str(&repo.git(&["cat-file", "blob", r])).unwrap();
            record["summary"].as_str().unwrap().to_string()
        })
        .collect();
    summaries.sort();
    assert_eq!(summaries, ["first report", "second report", "third report"]);
}

#[test]
fn every_missing_answer_is_named_at_once_without_a_terminal() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(
        &["start", "x"],
        2,
        "pass --severity <criterion>, --reproduced and --summary <text>",
    );
}

#[test]
fn from_accepts_revision_syntax() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.hotfix(&[
        "start",
        "x",
        "--from",
        "develop~1",
        "--severity",
        "revenue-loss",
        "--reproduced",
        "--summary",
        "s",
    ])
    .ok();
    assert_eq!(repo.head(), repo.rev("develop~1"));
}
