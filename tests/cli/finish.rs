//! `hotfix finish`: the remaining steps in order, stopping at the first that cannot pass with one
//! sentence and the command that moves it on.

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, Team, start_args};

#[test]
fn stops_when_no_fix_is_committed() {
    let t = Team::released(DEPLOY_POLICY);
    t.hf(&start_args("login-500", &[])).ok();
    t.refused(&["finish"], 1, "hotfix/login-500 has no fix committed yet")
        .fails(1, "commit the fix, then run `hotfix finish` again");
}

#[test]
fn stops_at_the_guard() {
    let t = Team::with_policy(&DEPLOY_POLICY.replace("[test]", "[guard]\nmax_lines = 2\n\n[test]"));
    t.fix(
        "line 1 changed\nversion 1.1\nline 3 fixed\nline 4\n",
        "A bigger change",
    );
    t.approve();
    let run = t.refused(&["finish"], 1, "the guard says no: ");
    assert!(
        run.stderr
            .contains("over the limit: 1 file, 5 lines (limits 5, 2)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hotfix guard --override guard --reason"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("✗ guard"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
}

#[test]
fn stops_at_the_review_naming_the_command_for_the_teammate() {
    let t = Team::new();
    let run = t.refused(
        &["finish"],
        1,
        "waiting for review (not approved yet): a teammate runs `hotfix approve hotfix/login-500`",
    );
    assert!(run.stderr.contains("✓ guard"), "{}", run.stderr);
    assert!(run.stderr.contains("✗ review"), "{}", run.stderr);
    assert!(
        run.stderr.contains("then run `hotfix finish` again"),
        "{}",
        run.stderr
    );
    assert!(t.log("deploy.log").is_empty());
}

#[test]
fn runs_the_tests_and_stops_when_they_fail() {
    let t = Team::new();
    t.approve();
    t.make_fail("tests");
    let run = t.hf(&["finish"]).code(1);
    assert!(run.stderr.contains("✗ test"), "{}", run.stderr);
    assert!(run.stderr.contains("fail"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));
    let status = t.status().stdout;
    assert!(status.contains("✗ test"), "{status}");
}

#[test]
fn stops_when_verify_fails_after_rolling_back() {
    let t = Team::new();
    t.approve();
    t.make_fail("verify");
    t.hf(&["finish"])
        .fails(1, "verify failed 1 time; no tag was made; rollback ran");
    assert_eq!(t.log("deploy.log").len(), 1);
    assert_eq!(t.log("rollback.log").len(), 1);
    assert!(!t.author.has_tag("v1.1.1"));
    assert!(!t.author.contains("develop", &t.author.head()));
    // the next finish says so and asks before deploying the same tree again
    t.make_pass("verify");
    t.hf(&["finish"]).fails(2, "--yes");
    assert_eq!(t.log("deploy.log").len(), 1);
}

#[test]
fn stops_at_a_merge_back_conflict_and_resumes_with_continue() {
    let t = Team::new();
    t.author.git(&["switch", "-q", "develop"]);
    t.author.commit_file(
        "app.txt",
        "line 1\nversion 1.1\nline 3 on develop\n",
        "Reword line 3",
    );
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
    t.approve();
    t.hf(&["finish"]).fails(
        1,
        "merging v1.1.1 into develop stopped on conflicts in app.txt",
    );
    assert!(
        t.author.has_tag("v1.1.1"),
        "the release happened before merge-back"
    );
    t.hf(&["finish"])
        .fails(1, "merge-back of hotfix/login-500 is stopped on conflicts")
        .fails(1, "hotfix merge-back --continue");

    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed on develop\n");
    t.author.git(&["add", "app.txt"]);
    t.hf(&["merge-back", "--continue"]).ok();
    assert!(t.author.contains("develop", "v1.1.1"));
    t.hf(&["verify-merged"]).ok();
}

#[test]
fn runs_every_remaining_step_to_the_end() {
    let t = Team::new();
    t.approve();
    let fix = t.author.head();
    let run = t.hf(&["finish", "--push"]).ok();
    for step in [
        "✓ guard",
        "✓ review",
        "tests passed",
        "Verified and tagged v1.1.1",
        "Pushed v1.1.1 to origin",
        "Merged hotfix/login-500 into develop.",
    ] {
        assert!(
            run.stderr.contains(step),
            "{step:?} missing:\n{}",
            run.stderr
        );
    }
    assert_eq!(t.log("deploy.log").len(), 1);
    assert!(t.origin.has_tag("v1.1.1"));
    assert!(t.author.contains("develop", &fix));
    assert_eq!(t.author.branch(), "develop");
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}

#[test]
fn after_the_release_finish_merges_back_from_anywhere() {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    t.author.git(&["switch", "-q", "main"]);
    let run = t.hf(&["finish"]).ok();
    assert!(
        run.stderr.contains("Merged hotfix/login-500 into develop."),
        "{}",
        run.stderr
    );
    assert_eq!(t.log("deploy.log").len(), 1, "finish must not deploy again");
    assert!(t.author.contains("develop", "v1.1.1"));
}

#[test]
fn version_names_the_release_as_deploy_version_does() {
    let t = Team::new();
    t.approve();
    t.hf(&["finish", "--version", "nope"])
        .fails(2, "is not a semantic version");
    assert_eq!(t.log("deploy.log").len(), 0, "nothing deployed");
    let run = t.hf(&["finish", "--version", "1.2.0"]).ok();
    assert!(
        run.stderr.contains("Verified and tagged v1.2.0"),
        "{}",
        run.stderr
    );
    assert!(t.author.has_tag("v1.2.0"));
    assert!(!t.author.has_tag("v1.1.1"));
    assert!(t.author.contains("develop", "v1.2.0"));
}
