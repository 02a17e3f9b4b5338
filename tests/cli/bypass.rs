//! Attempts to get around a gate, each of which must fail: `deploy` refuses (exit 1, or 2 where
//! the input itself is refused), runs no hook and makes no tag. docs/security.md explains how each
//! is caught.

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, REVIEWER, Run, Team};

const SEAL: &str = "refs/hotfix-seals/hotfix%2Flogin-500";

/// `deploy` is refused with `code` and `needle`, changes nothing, and no hook ran.
#[track_caller]
fn deploy_refused(t: &Team, code: i32, needle: &str) -> Run {
    let run = t.refused(&["deploy"], code, needle);
    assert!(t.log("deploy.log").is_empty(), "the deploy command ran");
    assert!(t.log("verify.log").is_empty(), "verify ran");
    assert!(t.notified().is_none(), "notify ran");
    assert!(!t.author.has_tag("v1.1.1"), "a release tag was made");
    run
}

/// Edits the hotfix's entry in the state file, as someone with a text editor would.
fn edit_state(t: &Team, edit: impl FnOnce(&mut toml::Table)) {
    let mut state = t.author.state_toml();
    let entry = state
        .get_mut("hotfixes")
        .and_then(|h| h.get_mut(HOTFIX_BRANCH))
        .and_then(|e| e.as_table_mut())
        .expect("the hotfix has a state entry");
    edit(entry);
    std::fs::write(t.author.state_path(), toml::to_string(&state).unwrap()).unwrap();
}

fn table<'a>(entry: &'a mut toml::Table, path: &[&str]) -> &'a mut toml::Table {
    path.iter().fold(entry, |t, key| {
        t.entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap()
    })
}

fn approval_refs(t: &Team) -> String {
    t.author.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/hotfix/approvals",
    ])
}

/// `hotfix status` in the author's clone says the state was edited by hand, naming `what`.
#[track_caller]
fn status_reports(t: &Team, what: &str) -> Run {
    let run = t.status();
    assert!(run.stdout.contains("edited by hand"), "{}", run.stdout);
    assert!(run.stdout.contains(what), "{}", run.stdout);
    assert!(
        run.stdout.contains("hotfix abort login-500"),
        "{}",
        run.stdout
    );
    run
}

/// `hotfix abort` still works on an edited state, and forgets the hotfix.
#[track_caller]
fn abort_works(t: &Team) {
    t.hf(&["abort"]).ok();
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    assert_eq!(t.author.branch(), "develop");
}

// ---- (a) approving one's own fix ------------------------------------------------------------

#[test]
fn self_approval_under_another_name_or_letter_case_is_refused() {
    let t = Team::new();
    t.hf(&["test"]).ok();
    for who in [
        ("Not Ann", "ann@example.com"),
        ("Release Bot", "ANN@Example.COM"),
        ("Ann", "  ann@example.com "),
    ] {
        let vars = [
            ("GIT_AUTHOR_NAME", who.0),
            ("GIT_AUTHOR_EMAIL", who.1),
            ("GIT_COMMITTER_NAME", who.0),
            ("GIT_COMMITTER_EMAIL", who.1),
            ("OUT", t.out.to_str().unwrap()),
        ];
        t.author
            .refused_env(&["approve", "--yes"], &vars, 1, "you cannot approve");
    }
    assert_eq!(approval_refs(&t), "");
    deploy_refused(&t, 1, "review (not approved yet)");
}

#[test]
fn self_approval_from_another_clone_with_a_looser_policy_does_not_count() {
    let t = Team::new();
    t.author.git(&["push", "-q", "origin", HOTFIX_BRANCH]);
    // Ann's second clone, where hotfix.toml lets an author approve: the approval is written
    // there and pushed, but the author's side judges it on the policy taken at start.
    let laptop = t
        .env
        .clone_of(&t.origin, "ann-laptop", ("Someone Else", "Ann@Example.com"));
    laptop.write(
        "hotfix.toml",
        &format!("{DEPLOY_POLICY}\n[review]\nallow_self_approval = true\n"),
    );
    laptop
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    t.hf(&["test"]).ok();
    // status fetches the approval, so the refused deploy below changes no ref
    t.status();
    let run = deploy_refused(&t, 1, "review (");
    assert!(
        run.stderr.contains(
            "the approval by Someone Else does not count: an author of the fix cannot approve it"
        ),
        "{}",
        run.stderr
    );
}

// ---- (b) changing the code after approval ---------------------------------------------------

#[test]
fn amending_the_content_after_approval_voids_approval_and_tests() {
    let t = Team::new();
    t.gates_pass();
    t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed\nrm -rf /\n");
    t.author
        .git(&["commit", "-q", "-a", "--amend", "--no-edit"]);
    let run = deploy_refused(&t, 1, "deploy refused for tree");
    assert!(
        run.stderr
            .contains("review (approval by Rita Reviewer is for an older tree"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("test (pass is for an older tree"),
        "{}",
        run.stderr
    );
}

/// Same tree, new message: the same code, so approval and test stand (SPEC: "bound to a tree
/// id"); the release records the amended commit.
#[test]
fn amending_only_the_message_keeps_approval_and_tests() {
    let t = Team::new();
    t.gates_pass();
    let tree = t.author.rev("HEAD^{tree}");
    t.author.git(&[
        "commit",
        "-q",
        "--amend",
        "-m",
        "Fix the checkout 500 (reworded)",
    ]);
    assert_eq!(t.author.rev("HEAD^{tree}"), tree);
    t.hf(&["deploy"]).ok();
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["tree"], tree.as_str());
    assert_eq!(record["commit"], t.author.head().as_str());
    assert_eq!(record["approvers"][0]["email"], REVIEWER.1);
}

#[test]
fn a_rebase_that_changes_the_tree_voids_approval_and_tests() {
    let t = Team::new();
    t.gates_pass();
    // onto develop: the same fix, plus develop's unreleased feature
    t.author.git(&["rebase", "-q", "develop"]);
    let run = deploy_refused(&t, 1, "deploy refused for tree");
    assert!(
        run.stderr.contains("is for an older tree"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("test (pass is for an older tree"),
        "{}",
        run.stderr
    );
}

// ---- (c) loosening hotfix.toml on the hotfix branch -----------------------------------------

/// Commits `extra` appended to the team's policy on the hotfix branch.
fn loosen_on_branch(t: &Team, extra: &str) {
    t.author.commit_file(
        "hotfix.toml",
        &format!("{DEPLOY_POLICY}\n{extra}"),
        "Tweak the hotfix policy",
    );
}

/// The guard shows the reviewer that the branch changes hotfix.toml.
#[track_caller]
fn policy_change_flagged(t: &Team) {
    let run = t.hf(&["guard", "--json"]);
    let json = run.json();
    let flags = json["flags"].as_array().unwrap();
    assert!(
        flags
            .iter()
            .any(|f| f["kind"] == "policy-change" && f["path"] == "hotfix.toml"),
        "{json}"
    );
}

#[test]
fn raising_max_lines_on_the_branch_does_not_loosen_the_guard() {
    let t = Team::new();
    loosen_on_branch(&t, "[guard]\nmax_lines = 100000\n");
    let big: String = (0..200).map(|i| format!("line {i}\n")).collect();
    t.fix(&big, "A much bigger change");
    t.hf(&["guard"]).fails(1, "over the guard's limit");
    policy_change_flagged(&t);
    t.gates_pass();
    deploy_refused(&t, 1, "guard (over the limit");
}

#[test]
fn allowing_self_approval_on_the_branch_does_not_let_the_author_approve() {
    let t = Team::new();
    loosen_on_branch(&t, "[review]\nallow_self_approval = true\n");
    policy_change_flagged(&t);
    t.refused(&["approve", "--yes"], 1, "you cannot approve");
    t.hf(&["test"]).ok();
    deploy_refused(&t, 1, "review (not approved yet)");
}

#[test]
fn zero_approvals_on_the_branch_still_needs_a_review() {
    let t = Team::new();
    // hotfix.toml itself rejects 0; the snapshot never reads it again, so nothing breaks
    loosen_on_branch(&t, "[review]\napprovals = 0\n");
    policy_change_flagged(&t);
    t.hf(&["test"]).ok();
    deploy_refused(&t, 1, "review (not approved yet)");
}

#[test]
fn allowing_overrides_on_the_branch_does_not_allow_them() {
    let t = Team::with_policy(&format!(
        "{DEPLOY_POLICY}\n[policy]\nallow_override = false\n"
    ));
    t.author.commit_file(
        "hotfix.toml",
        &format!("{DEPLOY_POLICY}\n[policy]\nallow_override = true\n"),
        "Allow overrides",
    );
    policy_change_flagged(&t);
    t.hf(&["test"]).ok();
    t.refused(
        &["deploy", "--override", "review", "--reason", "urgent"],
        2,
        "does not allow overrides",
    );
    assert!(t.log("deploy.log").is_empty());
    deploy_refused(&t, 1, "review (not approved yet)");
}

#[test]
fn a_test_command_set_to_true_on_the_branch_does_not_replace_the_snapshots() {
    let t = Team::new();
    t.author.commit_file(
        "hotfix.toml",
        &DEPLOY_POLICY.replace(
            "command = \"test ! -e \\\"$OUT/tests-fails\\\"\"",
            "command = \"true\"",
        ),
        "Faster tests",
    );
    assert!(t.author.read("hotfix.toml").contains("command = \"true\""));
    policy_change_flagged(&t);
    t.make_fail("tests");
    t.approve();
    t.hf(&["test"]).fails(1, "the tests failed");
    deploy_refused(&t, 1, "test (failed");
}

// ---- (d) editing the state file by hand ------------------------------------------------------

#[test]
fn a_test_pass_written_into_the_state_is_caught() {
    let t = Team::new();
    t.approve();
    t.make_fail("tests");
    t.hf(&["test"]).fails(1, "the tests failed");
    edit_state(&t, |e| {
        let tests = table(e, &["tests"]);
        tests.insert("passed".into(), true.into());
        tests.insert("exit_code".into(), 0.into());
    });
    let run = deploy_refused(
        &t,
        1,
        "deploy refused: the hotfix state of hotfix/login-500 was edited by hand",
    );
    assert!(
        run.stderr.contains("the test record (passed, tree"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    assert!(run.stderr.contains(SEAL), "{}", run.stderr);
    // status says so, and judges the test gate on the record hotfix wrote
    let run = status_reports(&t, "the test record (passed");
    assert!(
        run.stdout.contains("test    failed (exit 1)"),
        "{}",
        run.stdout
    );
    let json = t.hf(&["status", "--json"]).ok().json();
    assert!(
        json["hotfix"]["problem"]
            .as_str()
            .unwrap()
            .contains("edited by hand"),
        "{json}"
    );
    abort_works(&t);
}

#[test]
fn a_test_record_for_a_tree_never_tested_is_caught() {
    let t = Team::new();
    t.approve();
    // no test ever ran: a record made up with the current tree and commit
    let tree = t.author.rev("HEAD^{tree}");
    let head = t.author.head();
    edit_state(&t, |e| {
        let tests = table(e, &["tests"]);
        for (k, v) in [
            ("tree", tree.as_str()),
            ("commit", head.as_str()),
            ("at", "2026-01-15T10:00:00Z"),
        ] {
            tests.insert(k.into(), v.into());
        }
        tests.insert("passed".into(), true.into());
        tests.insert("exit_code".into(), 0.into());
        tests.insert("timed_out".into(), false.into());
        tests.insert("duration_ms".into(), 1200.into());
    });
    deploy_refused(&t, 1, "the test record (passed, tree");
    status_reports(&t, "is not one that `hotfix test` wrote");
}

#[test]
fn a_test_record_copied_from_another_tree_is_caught() {
    let t = Team::new();
    t.gates_pass();
    t.fix("line 1\nversion 1.1\nline 3 fixed again\n", "Fix it better");
    t.approve();
    let tree = t.author.rev("HEAD^{tree}");
    let head = t.author.head();
    edit_state(&t, |e| {
        let tests = table(e, &["tests"]);
        tests.insert("tree".into(), tree.into());
        tests.insert("commit".into(), head.into());
    });
    deploy_refused(&t, 1, "the test record (passed, tree");
    // running the tests for real repairs it: the new record replaces the made-up one
    edit_state(&t, |e| {
        e.remove("tests");
    });
    t.hf(&["test"]).ok();
    t.hf(&["deploy"]).ok();
    assert!(t.author.has_tag("v1.1.1"));
}

fn hand_override(t: &Team, gate: &str) {
    let tree = t.author.rev("HEAD^{tree}");
    edit_state(t, |e| {
        let mut o = toml::Table::new();
        for (k, v) in [
            ("gate", gate),
            ("reason", "trust me"),
            ("tree", tree.as_str()),
            ("by_name", "Ann Author"),
            ("by_email", "ann@example.com"),
            ("at", "2026-01-15T10:00:00Z"),
        ] {
            o.insert(k.into(), v.into());
        }
        e.insert("overrides".into(), toml::Value::Array(vec![o.into()]));
    });
}

#[test]
fn an_override_added_by_hand_when_the_policy_forbids_overrides_is_caught() {
    let t = Team::with_policy(&format!(
        "{DEPLOY_POLICY}\n[policy]\nallow_override = false\n"
    ));
    t.hf(&["test"]).ok();
    hand_override(&t, "review");
    let run = deploy_refused(&t, 1, "edited by hand");
    assert!(
        run.stderr.contains(
            "an override of the review gate although this hotfix's policy forbids overrides"
        ),
        "{}",
        run.stderr
    );
    let run = status_reports(&t, "an override of the review gate");
    assert!(
        run.stdout.contains("review  not approved yet"),
        "{}",
        run.stdout
    );
    abort_works(&t);
}

#[test]
fn an_override_added_by_hand_is_caught_where_overrides_are_allowed() {
    let t = Team::new();
    t.hf(&["test"]).ok();
    hand_override(&t, "review");
    deploy_refused(
        &t,
        1,
        "an override of the review gate that hotfix never recorded",
    );
    // one made by hotfix is sealed and deploys
    edit_state(&t, |e| {
        e.remove("overrides");
    });
    t.hf(&[
        "deploy",
        "--override",
        "review",
        "--reason",
        "reviewer asleep",
    ])
    .ok();
    assert_eq!(
        t.author.tag_record("v1.1.1")["overrides"][0]["gate"],
        "review"
    );
}

#[test]
fn a_policy_loosened_in_the_state_is_caught() {
    let t = Team::new();
    let big: String = (0..200).map(|i| format!("line {i}\n")).collect();
    t.fix(&big, "A much bigger change");
    t.gates_pass();
    let original = t.author.state().unwrap();
    edit_state(&t, |e| {
        table(e, &["policy", "guard"]).insert("max_lines".into(), 99999.into());
    });
    deploy_refused(
        &t,
        1,
        "policy guard.max_lines (150 at start, 99999 in the state)",
    );
    // status judges the guard on the sealed policy
    let run = status_reports(&t, "guard.max_lines (150 at start, 99999 in the state)");
    assert!(
        run.stdout.contains("guard   over the limit"),
        "{}",
        run.stdout
    );
    t.refused(&["guard"], 1, "the guard refused: the hotfix state");

    // put back, the state is trusted again (and the guard says no on its own)
    std::fs::write(t.author.state_path(), original).unwrap();
    deploy_refused(&t, 1, "guard (over the limit");
}

#[test]
fn self_approval_allowed_in_the_state_is_caught() {
    let t = Team::new();
    edit_state(&t, |e| {
        table(e, &["policy", "review"]).insert("allow_self_approval".into(), true.into());
    });
    let run = t.refused(&["approve", "--yes"], 1, "the approval refused");
    assert!(
        run.stderr
            .contains("review.allow_self_approval (false at start, true in the state)"),
        "{}",
        run.stderr
    );
    assert_eq!(approval_refs(&t), "");
    deploy_refused(&t, 1, "review.allow_self_approval");
    abort_works(&t);
}

#[test]
fn a_test_command_changed_in_the_state_is_caught_before_it_runs() {
    let t = Team::new();
    t.approve();
    t.make_fail("tests");
    edit_state(&t, |e| {
        table(e, &["policy", "test"]).insert("command".into(), "true".into());
    });
    t.refused(&["test"], 1, "running the tests refused");
    // in the author's clone a review is judged on the policy too: refused while edited
    t.refused(&["approve", "--yes"], 1, "the approval refused");
    deploy_refused(&t, 1, "policy test.command");
    t.refused(&["finish"], 1, "finish refused");
}

#[test]
fn zero_approvals_in_the_state_makes_it_unreadable() {
    let t = Team::new();
    t.hf(&["test"]).ok();
    edit_state(&t, |e| {
        table(e, &["policy", "review"]).insert("approvals".into(), 0.into());
    });
    // hotfix.toml's own rule rejects 0, so the state does not parse: nothing runs at all
    deploy_refused(&t, 2, "is damaged");
    let run = t.hf(&["abort"]).ok();
    assert!(run.stderr.contains("moved it to"), "{}", run.stderr);
    assert!(t.author.state().is_none());
}

#[test]
fn a_base_commit_moved_in_the_state_is_caught() {
    let t = Team::new();
    t.gates_pass();
    // a base at the tip would hide the fix from the guard and its authors from the review rule
    let head = t.author.head();
    edit_state(&t, |e| {
        e.insert("base_commit".into(), head.into());
    });
    deploy_refused(&t, 1, "base_commit (");
    status_reports(&t, "base_commit (");
}

/// When the incident began is in the release record (time to restore, `stats`): moved to a
/// minute before now, it would make a slow fix look fast.
#[test]
fn the_detected_time_moved_in_the_state_is_caught() {
    let t = Team::released(DEPLOY_POLICY);
    t.hf(&crate::support::start_args(
        "login-500",
        &["--detected", "2h ago"],
    ))
    .ok();
    t.fix(
        "line 1\nversion 1.1\nline 3 fixed\n",
        "Fix the checkout 500",
    );
    t.gates_pass();
    edit_state(&t, |e| {
        e.insert("detected_at".into(), "2026-01-15T09:59:00Z".into());
    });
    deploy_refused(&t, 1, "detected_at (");
    status_reports(&t, "detected_at (");
}

#[test]
fn a_deleted_seal_is_caught() {
    let t = Team::new();
    t.gates_pass();
    t.author.git(&["update-ref", "-d", SEAL]);
    deploy_refused(&t, 2, "is missing");
    let run = status_reports(&t, "is missing");
    assert!(run.stdout.contains("not judged"), "{}", run.stdout);
    abort_works(&t);
}

#[test]
fn posing_as_an_interrupted_start_without_a_seal_is_caught() {
    let t = Team::new();
    t.gates_pass();
    // an entry still `starting` has no seal yet; one with a test record was not left by a start
    t.author.git(&["update-ref", "-d", SEAL]);
    edit_state(&t, |e| {
        e.insert("phase".into(), "starting".into());
        table(e, &["policy", "guard"]).insert("max_lines".into(), 99999.into());
    });
    deploy_refused(
        &t,
        1,
        "a test record in a hotfix whose start never finished",
    );
    abort_works(&t);
}

#[test]
fn a_guard_record_marked_passed_by_hand_changes_nothing() {
    let t = Team::new();
    let big: String = (0..200).map(|i| format!("line {i}\n")).collect();
    t.fix(&big, "A much bigger change");
    t.hf(&["guard"]).fails(1, "over the guard's limit");
    // the guard is judged live on every read; its record in the state is only a note
    edit_state(&t, |e| {
        let guard = table(e, &["guard"]);
        guard.insert("passed".into(), true.into());
        guard.insert("lines".into(), 2.into());
    });
    t.gates_pass();
    deploy_refused(&t, 1, "guard (over the limit");
}
