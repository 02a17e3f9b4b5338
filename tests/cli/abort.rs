//! `hotfix abort`: back to where the hotfix started, the branch kept or deleted safely, and
//! never a lost change.

use crate::support::{Env, HOTFIX_BRANCH, Repo, Team, start_args};

/// A released repository with a hotfix `x` started from `feature/x`.
fn started_from_feature(env: &Env) -> Repo {
    let repo = env.released_repo();
    repo.git(&["switch", "-q", "-c", "feature/x"]);
    repo.commit_file("wip.txt", "feature work\n", "feature work");
    repo.start("x").ok();
    assert_eq!(repo.branch(), "hotfix/x");
    repo
}

#[test]
fn returns_to_the_branch_it_started_from() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    let tip = repo.rev("hotfix/x");
    let run = repo.hotfix(&["abort"]).ok();
    assert!(
        run.stderr.contains("Switched back to feature/x"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.branch(), "feature/x");
    assert_eq!(repo.read("wip.txt"), "feature work\n");
    // kept without --delete
    assert_eq!(repo.rev("hotfix/x"), tip);
    assert!(repo.state_entry("hotfix/x").is_none());
    repo.hotfix(&["status"]).ok();
}

#[test]
fn delete_refuses_a_branch_with_unique_commits() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.commit_file("app.txt", "fixed\n", "fix the checkout");
    let run = repo.refused(&["abort", "--delete"], 2, "so deleting it would lose it");
    assert!(run.stderr.contains("1 commit"), "{}", run.stderr);
    assert!(run.stderr.contains("fix the checkout"), "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(repo.branch(), "hotfix/x");
}

#[test]
fn delete_force_deletes_a_branch_with_unique_commits() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.commit_file("app.txt", "fixed\n", "fix the checkout");
    repo.hotfix(&["abort", "--delete", "--force"]).ok();
    assert_eq!(repo.branch(), "feature/x");
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
    assert!(repo.state_entry("hotfix/x").is_none());
}

#[test]
fn delete_removes_an_empty_hotfix_branch() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    let run = repo.hotfix(&["abort", "--delete"]).ok();
    assert!(
        run.stderr.contains("Deleted branch hotfix/x"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.branch(), "feature/x");
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
    // the release tag it pointed at is untouched
    assert!(repo.git_try(&["rev-parse", "v1.1.0"]).0);
}

#[test]
fn delete_keeps_a_branch_whose_commits_are_merged_elsewhere() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.commit_file("app.txt", "fixed\n", "fix");
    repo.git(&["branch", "keep", "hotfix/x"]);
    repo.hotfix(&["abort", "--delete"]).ok();
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
    assert!(repo.branches().contains(&"keep".to_string()));
}

#[test]
fn delete_keeps_a_branch_whose_commits_a_tag_holds() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.commit_file("app.txt", "fixed\n", "fix");
    repo.git(&["tag", "-a", "v1.1.1", "-m", "v1.1.1"]);
    repo.hotfix(&["abort", "--delete"]).ok();
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
}

#[test]
fn delete_counts_only_the_commits_no_other_branch_has_after_a_merge() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    // the hotfix merged feature/x in: the feature's commit is feature/x's, the merge is its own
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "take the feature",
        "feature/x",
    ]);
    let run = repo.refused(&["abort", "--delete"], 2, "1 commit");
    assert!(run.stderr.contains("take the feature"), "{}", run.stderr);
    repo.git(&["branch", "keep"]);
    repo.hotfix(&["abort", "--delete"]).ok();
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
}

#[test]
fn delete_does_not_trust_a_home_whose_clock_is_days_behind() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    let fix = repo.commit_file("app.txt", "fixed\n", "fix");
    // a branch built on the fix whose commit claims to be three days older than the fix:
    // the walk stops a day before the fix's date, so it does not find the fix there and the
    // deletion is refused (the safe mistake) rather than trusting clocks
    let tree = repo.rev("HEAD^{tree}");
    let commit = format!(
        "tree {tree}\nparent {fix}\nauthor A <a@example.com> 1768212000 +0000\n\
         committer A <a@example.com> 1768212000 +0000\n\nskewed\n"
    );
    repo.write(".git/skewed", &commit);
    let skewed = repo.git(&["hash-object", "-t", "commit", "-w", ".git/skewed"]);
    repo.git(&["branch", "skewed", skewed.trim()]);
    repo.refused(&["abort", "--delete"], 2, "no other branch or tag has");
    assert_eq!(repo.rev("hotfix/x"), fix);
}

#[test]
fn delete_refuses_when_the_base_itself_has_no_other_home() {
    let env = Env::new();
    let repo = env.released_repo();
    // started from a release branch with a commit of its own, which is then deleted: the
    // hotfix branch is the only home left for that commit
    repo.git(&["switch", "-q", "-c", "release/1.1", "v1.1.0"]);
    let prep = repo.commit_file("app.txt", "version 1.1 prepared\n", "release prep");
    repo.git(&["switch", "-q", "develop"]);
    repo.hotfix(&start_args("x", &["--from", "release/1.1"]))
        .ok();
    repo.git(&["branch", "-q", "-D", "release/1.1"]);
    repo.refused(&["abort", "--delete"], 2, "release prep");
    assert_eq!(repo.rev("hotfix/x"), prep);
    // the same when the release tag of the base is deleted
    let env = Env::new();
    let repo = env.released_repo();
    repo.git(&["switch", "-q", "-c", "tmp", "v1.1.0"]);
    repo.commit_file("app.txt", "version 1.1.1\n", "patch release");
    repo.git(&["tag", "v1.1.1"]);
    repo.git(&["switch", "-q", "develop"]);
    repo.git(&["branch", "-q", "-D", "tmp"]);
    repo.start("y").ok();
    repo.git(&["tag", "-d", "v1.1.1"]);
    repo.refused(&["abort", "--delete"], 2, "patch release");
}

#[test]
fn uncommitted_changes_are_refused() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.write("app.txt", "half a fix\n");
    repo.refused(&["abort"], 2, "uncommitted changes (app.txt)");
    repo.refused(&["abort", "--delete", "--force"], 2, "uncommitted changes");
    assert_eq!(repo.read("app.txt"), "half a fix\n");
    assert_eq!(repo.branch(), "hotfix/x");
    // staged work is refused too
    repo.git(&["add", "app.txt"]);
    repo.refused(&["abort"], 2, "uncommitted changes (app.txt)");
}

#[test]
fn abort_by_name_from_another_branch() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.git(&["switch", "-q", "develop"]);
    // a change in the working tree is not the hotfix's business when it is not checked out
    repo.write("feature.txt", "editing\n");
    let head = repo.head();
    repo.hotfix(&["abort", "x"]).ok();
    assert_eq!(repo.branch(), "develop");
    assert_eq!(repo.head(), head);
    assert_eq!(repo.read("feature.txt"), "editing\n");
    assert!(repo.state_entry("hotfix/x").is_none());
    assert!(repo.branches().contains(&"hotfix/x".to_string()));
}

#[test]
fn abort_by_branch_name_with_delete() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.git(&["switch", "-q", "develop"]);
    repo.hotfix(&["abort", "hotfix/x", "--delete"]).ok();
    assert_eq!(repo.branch(), "develop");
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
}

#[test]
fn abort_of_an_unknown_name() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.refused(
        &["abort", "nope"],
        2,
        "no hotfix named `nope` is in progress",
    );
}

#[test]
fn abort_with_nothing_in_progress() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.refused(&["abort"], 2, "no hotfix is in progress");
}

#[test]
fn abort_needs_a_name_when_several_are_in_progress() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("a").ok();
    repo.git(&["switch", "-q", "develop"]);
    repo.start("b").ok();
    repo.git(&["switch", "-q", "develop"]);
    repo.refused(
        &["abort"],
        2,
        "several hotfixes are in progress (hotfix/a, hotfix/b)",
    );
    // checked out, it is the one
    repo.git(&["switch", "-q", "hotfix/b"]);
    repo.hotfix(&["abort"]).ok();
    assert_eq!(repo.branch(), "develop");
    assert!(repo.state_entry("hotfix/a").is_some());
    assert!(repo.state_entry("hotfix/b").is_none());
}

#[test]
fn returns_to_development_when_the_start_branch_is_gone() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.git(&["branch", "-D", "feature/x"]);
    let run = repo.hotfix(&["abort"]).ok();
    assert!(
        run.stderr.contains("feature/x no longer exists"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.branch(), "develop");
}

#[test]
fn abort_after_the_branch_was_deleted_by_hand() {
    let env = Env::new();
    let repo = started_from_feature(&env);
    repo.git(&["switch", "-q", "develop"]);
    repo.git(&["branch", "-D", "hotfix/x"]);
    let status = repo.hotfix(&["status"]).ok();
    assert!(
        status.stdout.contains("no longer exists"),
        "{}",
        status.stdout
    );
    repo.hotfix(&["abort", "x", "--delete"]).ok();
    assert!(repo.state_entry("hotfix/x").is_none());
    repo.hotfix(&start_args("x", &[])).ok();
}

#[test]
fn abort_leaves_no_hotfix_refs_behind() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("login-500").ok();
    repo.hotfix(&["abort", "--delete"]).ok();
    let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/hotfix-seals/"]);
    assert_eq!(refs, "", "the seal of an abandoned hotfix is removed");
}

#[test]
fn a_stash_on_the_hotfix_does_not_count_as_a_home_for_its_commits() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("login-500").ok();
    repo.commit_file("app.txt", "fixed\n", "the fix");
    let fix = repo.head();
    // a stash commit has the fix as its parent, but dropping the stash would lose the fix
    repo.write("app.txt", "work in progress\n");
    repo.git(&["stash", "-q"]);
    repo.refused(&["abort", "--delete"], 2, "no other branch or tag has");
    assert!(repo.branches().contains(&"hotfix/login-500".to_string()));
    assert_eq!(repo.rev("hotfix/login-500"), fix);
}

// ---- abort after a deploy began ----

fn killed_at(t: &Team, point: &str) {
    let run = t.hf_env(&["deploy"], &[("HOTFIX_FAULT", point)]);
    assert!(
        run.stderr.contains(&format!("fault injected at {point}")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_tag_made_just_before_a_kill_counts_as_released() {
    let t = Team::new();
    t.gates_pass();
    // killed after the tag, before the state said so: the state still reads "verifying"
    killed_at(&t, "deploy-after-tag-before-state");
    assert!(t.author.has_tag("v1.1.1"));
    t.refused(&["abort"], 2, "was already released as v1.1.1")
        .fails(2, "hotfix merge-back");
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_some());
    t.hf(&["abort", "--force"]).ok();
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}

#[test]
fn abort_during_an_interrupted_deploy_needs_force() {
    let t = Team::new();
    t.gates_pass();
    killed_at(&t, "deploy-after-command");
    let run = t.refused(&["abort"], 2, "production may be half-deployed");
    assert!(
        run.stderr.contains("hotfix abort --force"),
        "{}",
        run.stderr
    );
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_some());
    t.hf(&["abort", "--force"]).ok();
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}
