//! `hotfix merge-back`: the released commit merged into the development branch and every open
//! release line; conflicts stop in git's normal conflicted state and resume with `--continue`.

use crate::support::{HOTFIX_BRANCH, Team};

/// A hotfix released as v1.1.1 (approved, tested, deployed; not pushed).
fn released() -> Team {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    t
}

/// Makes `develop` change the line the fix changes, so merging the fix conflicts there.
fn conflicting_develop(t: &Team) {
    t.author.git(&["switch", "-q", "develop"]);
    t.author.commit_file(
        "app.txt",
        "line 1\nversion 1.1\nline 3 reworded on develop\n",
        "Reword line 3",
    );
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
}

fn parents(t: &Team, rev: &str) -> Vec<String> {
    t.author
        .git(&["rev-list", "--parents", "-n", "1", rev])
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect()
}

#[test]
fn merge_back_merges_the_release_into_develop_and_finishes_the_hotfix() {
    let t = released();
    let fix = t.author.head();
    let develop_before = t.author.rev("develop");
    assert!(t.author.has_ref("refs/hotfix-seals/hotfix%2Flogin-500"));
    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr.contains("Merged hotfix/login-500 into develop."),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hotfix retro v1.1.1"), "{}", run.stderr);
    // the merge is local until pushed; merge-back says how
    assert!(
        run.stderr
            .contains("Push the merges when ready: `git push origin develop`."),
        "{}",
        run.stderr
    );
    assert_eq!(t.origin.rev("develop"), develop_before);
    assert_eq!(t.author.branch(), "develop");
    assert!(t.author.tree_ids_cached(), "the index keeps its tree ids");
    // a merge commit (never a fast-forward) whose message names the release
    assert_eq!(parents(&t, "develop"), [develop_before, fix]);
    let message = t.author.git(&["log", "-1", "--format=%B", "develop"]);
    assert!(
        message.starts_with("Merge hotfix v1.1.1 (hotfix/login-500) into develop\n"),
        "{message}"
    );
    assert!(message.contains("Checkout returns 500"), "{message}");
    assert_eq!(
        t.author.read("app.txt"),
        "line 1\nversion 1.1\nline 3 fixed\n"
    );
    assert_eq!(t.author.read("feature.txt"), "new feature\n");
    // the hotfix is done: nothing in progress any more
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    assert!(t.status().stdout.contains("No hotfix checked out"));
    assert!(
        !t.author.has_ref("refs/hotfix-seals/hotfix%2Flogin-500"),
        "the seal is removed"
    );
}

#[test]
fn release_lines_are_merged_and_targets_that_contain_the_fix_are_skipped() {
    let t = released();
    let fix = t.author.head();
    t.author.git(&["branch", "release/1.2", "develop"]);
    // a release line cut from the hotfix itself already has it
    t.author.git(&["branch", "release/1.1", HOTFIX_BRANCH]);
    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr
            .contains("release/1.1 already contains v1.1.1; skipped."),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Merged hotfix/login-500 into release/1.2."),
        "{}",
        run.stderr
    );
    assert_eq!(
        t.author.rev("release/1.1"),
        fix,
        "a skipped target is not touched"
    );
    assert!(t.author.contains("release/1.2", &fix));
    assert!(
        t.author
            .git(&["log", "-1", "--format=%s", "release/1.2"])
            .starts_with("Merge hotfix v1.1.1 (hotfix/login-500) into release/1.2")
    );
    assert!(t.author.contains("develop", &fix));
}

#[test]
fn a_conflict_stops_in_gits_conflicted_state_and_continue_finishes_every_target() {
    let t = released();
    let fix = t.author.head();
    t.author.git(&["branch", "release/1.2", "develop"]);
    conflicting_develop(&t);
    let develop_before = t.author.rev("develop");

    let run = t.hf(&["merge-back"]);
    let run = run.fails(
        1,
        "merging v1.1.1 into develop stopped on conflicts in app.txt",
    );
    assert!(
        run.stderr.contains("hotfix merge-back --continue"),
        "{}",
        run.stderr
    );

    // git's own conflicted state: any editor, mergetool or `git status` works on it
    assert_eq!(t.author.branch(), "develop");
    assert!(t.author.has_ref("MERGE_HEAD"));
    assert_eq!(t.author.rev("MERGE_HEAD"), fix);
    let file = t.author.read("app.txt");
    assert!(
        file.contains("<<<<<<< HEAD\n") && file.contains(">>>>>>> v1.1.1\n"),
        "{file}"
    );
    assert_eq!(
        t.author.git(&["diff", "--name-only", "--diff-filter=U"]),
        "app.txt\n"
    );
    assert_eq!(
        t.author.rev("develop"),
        develop_before,
        "nothing committed yet"
    );

    // status names the target and the files, and the way on
    let status = t.status().stdout;
    assert!(
        status.contains("merging v1.1.1 into develop stopped on conflicts in app.txt"),
        "{status}"
    );
    assert!(status.contains("hotfix merge-back --continue"), "{status}");
    // the same in --json, although the hotfix branch is not checked out
    let json = t.hf(&["status", "--json"]).ok().json();
    assert_eq!(json["hotfix"]["branch"], "hotfix/login-500", "{json}");
    assert!(
        json["hotfix"]["next"]
            .as_str()
            .unwrap()
            .contains("hotfix merge-back --continue"),
        "{json}"
    );
    // other commands refuse while it is stopped
    t.hf(&["merge-back"]).fails(2, "stopped on conflicts");
    t.hf(&["finish"]).fails(1, "stopped on conflicts");

    // --continue before resolving says what is left
    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed, reworded\n");
    t.hf(&["merge-back", "--continue"])
        .fails(1, "conflicts are still unresolved in app.txt");

    t.author.git(&["add", "app.txt"]);
    let run = t.hf(&["merge-back", "--continue"]).ok();
    assert!(
        run.stderr.contains("Merged hotfix/login-500 into develop."),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Merged hotfix/login-500 into release/1.2."),
        "{}",
        run.stderr
    );
    assert!(!t.author.has_ref("MERGE_HEAD"));
    assert_eq!(parents(&t, "develop"), [develop_before, fix.clone()]);
    assert_eq!(
        t.author.git(&["show", "develop:app.txt"]),
        "line 1\nversion 1.1\nline 3 fixed, reworded\n"
    );
    assert!(
        t.author
            .git(&["log", "-1", "--format=%s", "develop"])
            .starts_with("Merge hotfix v1.1.1 (hotfix/login-500) into develop")
    );
    assert!(t.author.contains("release/1.2", &fix));
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    assert_eq!(t.author.git(&["status", "--porcelain"]), "");
}

#[test]
fn abort_restores_the_target_exactly() {
    let t = released();
    conflicting_develop(&t);
    t.author.git(&["switch", "-q", "develop"]);
    let before = t.author.snapshot();
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);

    t.hf(&["merge-back"]).fails(1, "stopped on conflicts");
    let run = t.hf(&["merge-back", "--abort"]).ok();
    assert!(
        run.stderr
            .contains("Merge-back aborted; develop is as it was"),
        "{}",
        run.stderr
    );
    let after = t.author.snapshot();
    assert_eq!(after.refs, before.refs);
    assert_eq!(after.branch, "develop");
    assert_eq!(after.head, before.head);
    assert_eq!(after.index, before.index);
    assert_eq!(after.files, before.files);
    assert!(!t.author.has_ref("MERGE_HEAD"));
    assert_eq!(t.author.git(&["status", "--porcelain"]), "");

    // the hotfix still waits for merge-back, which can start over
    let status = t.status().stdout;
    assert!(status.contains("next: hotfix merge-back"), "{status}");
    t.hf(&["merge-back", "--abort"])
        .fails(2, "nothing to abort");
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
}

#[test]
fn via_branch_merges_on_a_pushed_branch_and_leaves_develop_alone() {
    let t = released();
    let fix = t.author.head();
    let develop_before = t.author.rev("develop");
    let run = t.hf(&["merge-back", "--via-branch"]).ok();
    let branch = "merge-back/login-500-into-develop";
    assert!(
        run.stderr.contains(&format!(
            "Pushed {branch} to origin: open a pull request from {branch} into develop."
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the fix reaches its targets when the pull requests are merged"),
        "{}",
        run.stderr
    );
    assert_eq!(t.author.rev("develop"), develop_before);
    assert_eq!(t.origin.rev("develop"), develop_before);
    assert_eq!(parents(&t, branch), [develop_before, fix]);
    // until the pull request is merged, the CI check says the fix is missing
    t.hf(&["verify-merged"])
        .fails(1, "missing from develop: v1.1.1");
    assert_eq!(t.origin.rev(branch), t.author.rev(branch));
    assert!(
        t.origin
            .git(&["log", "-1", "--format=%s", branch])
            .starts_with("Merge hotfix v1.1.1 (hotfix/login-500) into develop")
    );
}

#[test]
fn a_release_line_only_on_the_remote_is_merged_into() {
    let t = released();
    let fix = t.author.head();
    // a teammate opened release/1.x; the author only has it as origin/release/1.x
    let other = t.env.clone_of(&t.origin, "other", crate::support::REVIEWER);
    other.git(&[
        "push",
        "-q",
        "origin",
        "origin/develop:refs/heads/release/1.x",
    ]);
    t.author.git(&["fetch", "-q", "origin"]);
    assert!(!t.author.branches().contains(&"release/1.x".to_string()));

    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr
            .contains("Merged hotfix/login-500 into release/1.x."),
        "{}",
        run.stderr
    );
    assert!(t.author.contains("release/1.x", &fix));
    assert!(
        run.stderr
            .contains("Push the merges when ready: `git push origin develop release/1.x`."),
        "{}",
        run.stderr
    );
    assert!(t.author.contains("release/1.x", "origin/release/1.x"));
}

#[test]
fn merge_back_before_the_release_is_refused() {
    let t = Team::new();
    t.refused(
        &["merge-back"],
        1,
        "hotfix/login-500 has not been released yet",
    )
    .fails(1, "hotfix deploy");
    t.refused(&["merge-back", "--continue"], 2, "nothing to continue");
}

#[test]
fn merge_back_needs_a_clean_tree() {
    let t = released();
    t.author.write("app.txt", "uncommitted\n");
    t.refused(&["merge-back"], 2, "uncommitted changes (app.txt)");
}

#[test]
fn a_merge_back_killed_before_the_merge_is_explained_and_resumed() {
    let t = released();
    let fix = t.author.head();
    let run = t.hf_env(
        &["merge-back"],
        &[("HOTFIX_FAULT", "merge-back-before-merge")],
    );
    assert!(
        run.stderr
            .contains("fault injected at merge-back-before-merge"),
        "{}",
        run.stderr
    );
    assert!(!t.author.contains("develop", &fix));
    let status = t.status().stdout;
    assert!(
        status.contains("the merge of v1.1.1 into develop was interrupted before it began"),
        "{status}"
    );
    assert!(status.contains("next: hotfix merge-back"), "{status}");
    t.hf(&["merge-back"]).ok();
    assert!(t.author.contains("develop", &fix));
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}

#[test]
fn a_merge_given_up_by_hand_is_made_again_by_merge_back() {
    let t = released();
    conflicting_develop(&t);
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    t.author.git(&["merge", "--abort"]);
    // --continue has nothing to commit and says so
    t.hf(&["merge-back", "--continue"]).fails(
        2,
        "no longer in progress and develop does not contain the fix",
    );
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    t.author.git(&["merge", "--abort"]);
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    assert!(t.author.has_ref("MERGE_HEAD"));
}

#[test]
fn a_merge_committed_by_hand_is_taken_as_done() {
    let t = released();
    t.author.git(&["branch", "release/1.2", "develop"]);
    conflicting_develop(&t);
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    t.author.write("app.txt", "resolved\n");
    t.author.git(&["commit", "-q", "-am", "Merge by hand"]);
    let run = t.hf(&["merge-back", "--continue"]).ok();
    assert!(
        run.stderr
            .contains("Merged hotfix/login-500 into release/1.2."),
        "{}",
        run.stderr
    );
    assert_eq!(
        t.author.git(&["log", "-1", "--format=%s", "develop"]),
        "Merge by hand\n"
    );
    assert!(t.author.contains("release/1.2", "v1.1.1"));
}

#[test]
fn via_branch_conflicts_resume_on_the_pull_request_branch_and_abort_deletes_it() {
    let t = released();
    let fix = t.author.head();
    conflicting_develop(&t);
    let develop_before = t.author.rev("develop");
    let branch = "merge-back/login-500-into-develop";

    t.hf(&["merge-back", "--via-branch"]).fails(
        1,
        "merging v1.1.1 into develop stopped on conflicts in app.txt",
    );
    assert_eq!(t.author.branch(), branch);
    t.hf(&["merge-back", "--abort"]).ok();
    assert_eq!(t.author.branch(), "develop");
    assert!(!t.author.branches().contains(&branch.to_string()));
    assert_eq!(t.author.rev("develop"), develop_before);

    t.hf(&["merge-back", "--via-branch"])
        .fails(1, "stopped on conflicts in app.txt");
    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed\n");
    t.author.git(&["add", "app.txt"]);
    let run = t.hf(&["merge-back", "--continue"]).ok();
    assert!(
        run.stderr.contains(&format!("Pushed {branch} to origin")),
        "{}",
        run.stderr
    );
    assert_eq!(t.author.rev("develop"), develop_before);
    assert_eq!(parents(&t, branch), [develop_before, fix]);
    assert_eq!(t.origin.rev(branch), t.author.rev(branch));
}

#[test]
fn abort_of_a_released_hotfix_is_refused_unless_forced() {
    let t = released();
    let state_before = t.author.state();
    t.refused(&["abort"], 2, "already released as v1.1.1");
    assert_eq!(t.author.state(), state_before, "nothing changed");
    t.hf(&["abort", "--force"]).ok();
    assert_eq!(t.author.branch(), "develop");
    // forgotten, but not lost: verify-merged keeps reporting the release
    t.hf(&["verify-merged"]).fails(1, "v1.1.1");
}

/// After merge-back stopped on develop, the user gives it up with git and starts a merge of
/// their own, which also conflicts on app.txt; returns that branch's tip.
fn foreign_merge_on_develop(t: &Team) -> String {
    conflicting_develop(t);
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    t.author.git(&["merge", "--abort"]);
    t.author
        .git(&["switch", "-q", "-c", "feature", "develop~1"]);
    let feature = t.author.commit_file(
        "app.txt",
        "line 1\nversion 1.1\nline 3 from feature\n",
        "Feature work",
    );
    t.author.git(&["switch", "-q", "develop"]);
    let (merged, _, _) = t.author.git_try(&["merge", "feature"]);
    assert!(!merged, "the feature merge is meant to conflict");
    assert_eq!(t.author.rev("MERGE_HEAD"), feature);
    feature
}

#[test]
fn continue_refuses_a_merge_in_progress_that_is_not_the_release() {
    let t = released();
    let fix = t.author.head();
    let feature = foreign_merge_on_develop(&t);
    let develop_before = t.author.rev("develop");
    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 resolved\n");
    t.author.git(&["add", "app.txt"]);

    t.refused(
        &["merge-back", "--continue"],
        2,
        "the merge in progress on develop is not the merge of v1.1.1",
    )
    .fails(2, "finish or abort it with git, then `hotfix merge-back`");
    // nothing committed, the user's merge still in progress, merge-back still waiting
    assert_eq!(t.author.rev("develop"), develop_before);
    assert_eq!(t.author.rev("MERGE_HEAD"), feature);
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_some());
    // a plain merge-back says the same rather than pointing at --continue
    t.refused(&["merge-back"], 2, "is not the merge of v1.1.1");

    // once the user's merge is committed, merge-back merges the release for real
    t.author.git(&["commit", "-q", "--no-edit"]);
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    assert_eq!(t.author.rev("MERGE_HEAD"), fix);
    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed\n");
    t.author.git(&["add", "app.txt"]);
    t.hf(&["merge-back", "--continue"]).ok();
    assert!(t.author.contains("develop", &fix));
    assert!(t.author.contains("develop", &feature));
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}

#[test]
fn abort_leaves_a_merge_in_progress_that_is_not_the_release_alone() {
    let t = released();
    let feature = foreign_merge_on_develop(&t);
    let conflicted = t.author.read("app.txt");
    assert!(conflicted.contains(">>>>>>> feature"), "{conflicted}");
    let state_before = t.author.state();

    t.refused(
        &["merge-back", "--abort"],
        2,
        "the merge in progress on develop is not the merge of v1.1.1",
    );
    assert_eq!(t.author.rev("MERGE_HEAD"), feature);
    assert_eq!(t.author.read("app.txt"), conflicted);
    assert_eq!(t.author.state(), state_before);
}

#[test]
fn abort_keeps_uncommitted_changes_to_files_the_merge_did_not_touch() {
    let t = released();
    conflicting_develop(&t);
    t.hf(&["merge-back"])
        .fails(1, "stopped on conflicts in app.txt");
    let develop_before = t.author.rev("develop");
    // unrelated work started while the conflict waited
    let edited = format!("{}more work\n", t.author.read("feature.txt"));
    t.author.write("feature.txt", &edited);

    t.hf(&["merge-back", "--abort"]).ok();
    assert!(!t.author.has_ref("MERGE_HEAD"));
    assert_eq!(t.author.rev("develop"), develop_before);
    assert_eq!(t.author.read("feature.txt"), edited, "the edit survives");
    assert_eq!(
        t.author.read("app.txt"),
        "line 1\nversion 1.1\nline 3 reworded on develop\n",
        "the merged file is restored"
    );
    assert_eq!(t.author.git(&["status", "--porcelain"]), " M feature.txt\n");
}

#[test]
fn release_lines_older_than_the_hotfix_base_are_not_merged_into() {
    let t = released();
    let fix = t.author.head();
    // release/1.0 was cut at v1.0.0; the hotfix is based on v1.1.0
    t.author.git(&["branch", "release/1.0", "v1.0.0"]);
    let old_line = t.author.rev("release/1.0");
    t.author.git(&["branch", "release/1.2", "develop"]);
    let base = t.author.rev("v1.1.0^{commit}");

    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr.contains("not merging into release/1.0"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "`git cherry-pick {}..{}`",
            &base[..10],
            &fix[..10]
        )),
        "{}",
        run.stderr
    );
    assert_eq!(t.author.rev("release/1.0"), old_line, "left untouched");
    assert!(!t.author.contains("release/1.0", "v1.1.0"));
    assert!(t.author.contains("release/1.2", &fix));
    assert!(t.author.contains("develop", &fix));
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}

#[test]
fn continue_refuses_a_file_added_with_intent_to_add() {
    let t = released();
    conflicting_develop(&t);
    t.hf(&["merge-back"]).fails(1, "stopped on conflicts");
    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed, reworded\n");
    t.author.git(&["add", "app.txt"]);
    // a new file marked with `git add -N`: libgit2 would commit it as an empty file
    t.author.write("notes.txt", "half written\n");
    t.author.git(&["add", "-N", "notes.txt"]);
    t.refused(&["merge-back", "--continue"], 2, "added with `git add -N`");
    assert!(t.author.has_ref("MERGE_HEAD"), "still mid-merge");
    t.author.git(&["add", "notes.txt"]);
    t.hf(&["merge-back", "--continue"]).ok();
    assert_eq!(
        t.author.git(&["show", "develop:notes.txt"]),
        "half written\n"
    );
}

/// A teammate pushes a commit to `develop` on origin after the author last fetched; the
/// author's `develop` follows `origin/develop`, as in a clone.
fn teammate_pushes_to_develop(t: &Team) -> String {
    t.author.git(&[
        "branch",
        "-q",
        "--set-upstream-to=origin/develop",
        "develop",
    ]);
    let mate = t
        .env
        .clone_of(&t.origin, "teammate", ("Tia Teammate", "tia@example.com"));
    mate.git(&["switch", "-q", "develop"]);
    let id = mate.commit_file("other.txt", "other work\n", "Other work on develop");
    mate.git(&["push", "-q", "origin", "develop"]);
    id
}

#[test]
fn merge_back_fetches_first_and_fast_forwards_a_target_that_is_only_behind() {
    let t = released();
    let fix = t.author.head();
    let pushed = teammate_pushes_to_develop(&t);
    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr
            .contains("Fast-forwarded develop to origin/develop (1 new commit) before merging."),
        "{}",
        run.stderr
    );
    // the merge sits on top of what the team pushed, so pushing it is a fast-forward
    assert_eq!(parents(&t, "develop"), [pushed, fix]);
    t.author.git(&["push", "-q", "origin", "develop"]);
    assert_eq!(t.origin.rev("develop"), t.author.rev("develop"));
}

#[test]
fn merge_back_leaves_a_target_with_commits_of_its_own_and_says_to_pull() {
    let t = released();
    let fix = t.author.head();
    teammate_pushes_to_develop(&t);
    t.author.git(&["switch", "-q", "develop"]);
    let mine = t
        .author
        .commit_file("mine.txt", "local work\n", "Local work on develop");
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr.contains(
            "develop lacks 1 commit of origin/develop; merging into develop as it is here, so pull before pushing it"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(parents(&t, "develop"), [mine, fix]);
}

#[test]
fn merge_back_goes_on_offline_with_the_branches_it_has() {
    let t = released();
    let develop_before = t.author.rev("develop");
    t.author
        .git(&["remote", "set-url", "origin", "/nonexistent/origin.git"]);
    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr
            .contains("merging into the branches as they are here"),
        "{}",
        run.stderr
    );
    assert_eq!(parents(&t, "develop")[0], develop_before);
}

#[test]
fn merge_back_does_not_move_a_target_that_follows_no_upstream() {
    let t = released();
    let fix = t.author.head();
    teammate_pushes_to_develop(&t);
    t.author
        .git(&["branch", "-q", "--unset-upstream", "develop"]);
    let develop_before = t.author.rev("develop");
    let run = t.hf(&["merge-back"]).ok();
    assert!(!run.stderr.contains("Fast-forwarded"), "{}", run.stderr);
    assert_eq!(parents(&t, "develop"), [develop_before, fix]);
}
