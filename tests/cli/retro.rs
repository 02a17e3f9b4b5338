//! `hotfix retro`: the post-incident review, stored as refs that travel with push and fetch, and
//! edited by adding a revision.

use crate::list_stats::make_release;
use crate::support::{Env, REVIEWER, Repo};

const ANSWERS: [&str; 6] = [
    "--why",
    "The cart total was never tested with a coupon",
    "--catch",
    "A checkout test with a coupon in CI",
    "--cause",
    "missing-coverage",
];

fn retro_args<'a>(version: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["retro", version];
    args.extend(ANSWERS);
    args.extend(extra);
    args
}

/// A released repository with hotfix releases v1.1.1 and v1.1.2 (the newest) on main.
fn released(env: &Env) -> Repo {
    let repo = env.released_repo();
    repo.git(&["switch", "-q", "main"]);
    make_release(
        env,
        &repo,
        "v1.1.1",
        "2026-02-03T10:00:00Z",
        42,
        "revenue-loss",
        &[],
    );
    make_release(
        env,
        &repo,
        "v1.1.2",
        "2026-03-10T10:00:00Z",
        30,
        "revenue-loss",
        &[],
    );
    repo.git(&["switch", "-q", "develop"]);
    repo
}

fn retro_refs(repo: &Repo) -> Vec<String> {
    repo.git(&["for-each-ref", "--format=%(refname)", "refs/hotfix/retros/"])
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn travels_through_the_remote_and_is_edited_without_force() {
    let env = Env::new();
    let (origin, author) = env.origin_and_clone();
    author.git(&["switch", "-q", "-c", "develop"]);
    make_release(
        &env,
        &author,
        "v1.0.1",
        "2026-02-03T10:00:00Z",
        42,
        "revenue-loss",
        &[],
    );
    author.git(&["push", "-q", "origin", "develop", "--tags"]);

    let run = author.hotfix(&retro_args("v1.0.1", &[])).ok();
    assert!(
        run.stderr
            .contains("Recorded the review of v1.0.1 (cause: missing-coverage)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "The review is only in this clone; share it with `hotfix retro v1.0.1 --push`"
        ),
        "{}",
        run.stderr
    );
    assert!(retro_refs(&origin).is_empty(), "not pushed without --push");
    // --push with nothing to change sends the review already made
    let run = author.hotfix(&["retro", "v1.0.1", "--push"]).ok();
    assert!(
        run.stderr.contains("Pushed the review to origin."),
        "{}",
        run.stderr
    );
    let first = retro_refs(&author);
    assert_eq!(first.len(), 1);
    assert!(
        first[0].starts_with("refs/hotfix/retros/v1.0.1/"),
        "{first:?}"
    );
    assert_eq!(retro_refs(&origin), first, "the review is on the remote");

    // A teammate fetches the refs and reads the same review.
    let rita = env.clone_of(&origin, "rita", REVIEWER);
    assert!(
        retro_refs(&rita).is_empty(),
        "a plain clone does not fetch refs/hotfix/*"
    );
    rita.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/hotfix/*:refs/hotfix/*",
        "--tags",
    ]);
    let shown = rita.hotfix(&["retro", "v1.0.1", "--json"]).ok().json();
    assert_eq!(shown["tag"], "v1.0.1");
    assert_eq!(shown["version"], "1.0.1");
    assert_eq!(shown["why"], ANSWERS[1]);
    assert_eq!(shown["catch"], ANSWERS[3]);
    assert_eq!(shown["cause"], "missing-coverage");
    assert_eq!(shown["by_email"], "ann@example.com");
    assert_eq!(shown["revisions"], 1);
    let text = rita.hotfix(&["retro", "v1.0.1"]).ok().stdout;
    assert!(
        text.contains("  cause  missing-coverage (missing test coverage on a critical path)"),
        "{text}"
    );
    assert!(text.contains(&format!("  why    {}", ANSWERS[1])), "{text}");
    let listed = rita.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(listed["releases"][0]["retro"]["cause"], "missing-coverage");

    // She edits the cause: a new revision, pushed without force; the other answers are kept.
    let run = rita
        .hotfix(&["retro", "v1.0.1", "--cause", "environment-config", "--push"])
        .ok();
    assert!(
        run.stderr.contains("Updated the review of v1.0.1"),
        "{}",
        run.stderr
    );
    assert_eq!(retro_refs(&origin).len(), 2);
    assert!(
        retro_refs(&origin).contains(&first[0]),
        "the first revision is untouched"
    );

    author.git(&["fetch", "-q", "origin", "refs/hotfix/*:refs/hotfix/*"]);
    let shown = author.hotfix(&["retro", "--json"]).ok().json();
    assert_eq!(shown["cause"], "environment-config");
    assert_eq!(shown["why"], ANSWERS[1]);
    assert_eq!(shown["by_email"], "rita@example.com");
    assert_eq!(shown["revisions"], 2);
    let stats = author.hotfix(&["stats", "--json"]).ok().json();
    assert_eq!(stats["root_causes"][0]["cause"], "environment-config");
    assert_eq!(stats["root_causes"][0]["count"], 1);
    assert_eq!(stats["retros"]["missing"], 0);
}

#[test]
fn defaults_to_the_newest_release_and_accepts_a_version() {
    let env = Env::new();
    let repo = released(&env);
    let mut args = vec!["retro"];
    args.extend(ANSWERS);
    repo.hotfix(&args).ok();
    assert_eq!(retro_refs(&repo).len(), 1);
    assert!(retro_refs(&repo)[0].starts_with("refs/hotfix/retros/v1.1.2/"));
    // by version number as well as by tag
    repo.hotfix(&retro_args("1.1.1", &[])).ok();
    let json = repo.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(json["releases"][0]["retro"]["cause"], "missing-coverage");
    assert_eq!(json["releases"][1]["retro"]["cause"], "missing-coverage");
}

#[test]
fn the_same_answers_make_no_new_revision() {
    let env = Env::new();
    let repo = released(&env);
    repo.hotfix(&retro_args("v1.1.2", &[])).ok();
    let before = repo.snapshot();
    let run = repo.hotfix(&retro_args("v1.1.2", &[])).ok();
    assert!(run.stderr.contains("already says this"), "{}", run.stderr);
    assert_eq!(repo.snapshot(), before);
    // two edits within one second are two revisions, the later one wins
    repo.hotfix(&["retro", "v1.1.2", "--cause", "other"]).ok();
    repo.hotfix(&["retro", "v1.1.2", "--cause", "external-dependency"])
        .ok();
    assert_eq!(retro_refs(&repo).len(), 3);
    let json = repo.hotfix(&["retro", "v1.1.2", "--json"]).ok().json();
    assert_eq!(json["cause"], "external-dependency");
    assert_eq!(json["revisions"], 3);
}

#[test]
fn missing_answers_name_their_flag() {
    let env = Env::new();
    let repo = released(&env);
    repo.refused(&["retro", "v1.1.2"], 2, "pass --why <text>");
    repo.refused(&["retro", "v1.1.2", "--why", "x"], 2, "pass --catch <text>");
    repo.refused(
        &["retro", "v1.1.2", "--why", "x", "--catch", "y"],
        2,
        "pass --cause <category>",
    );
    repo.refused(
        &[
            "retro", "v1.1.2", "--why", "  ", "--catch", "y", "--cause", "other",
        ],
        2,
        "the answer to --why is empty",
    );
    repo.refused(
        &[
            "retro",
            "v1.1.2",
            "--why",
            "x",
            "--catch",
            "y",
            "--cause",
            "cosmic-rays",
        ],
        2,
        "invalid value 'cosmic-rays' for '--cause <CATEGORY>'",
    );
    assert!(retro_refs(&repo).is_empty());
}

#[test]
fn unknown_release_or_none_at_all() {
    let env = Env::new();
    let repo = released(&env);
    // v1.1.0 is a release, but not a hotfix release: its tag carries no record
    repo.refused(
        &retro_args("v1.1.0", &[]),
        2,
        "no hotfix release is named `v1.1.0`",
    );
    repo.refused(
        &retro_args("v9.9.9", &[]),
        2,
        "no hotfix release is named `v9.9.9`",
    );
    let other = Env::new();
    let plain = other.released_repo();
    plain.refused(
        &retro_args("v1.1.0", &[]),
        2,
        "there is no hotfix release in this repository yet",
    );
}

#[test]
fn push_needs_a_remote() {
    let env = Env::new();
    let repo = released(&env);
    repo.refused(
        &retro_args("v1.1.2", &["--push"]),
        2,
        "there is no remote to push the review to",
    );
    assert!(retro_refs(&repo).is_empty());
}
