//! `hotfix deploy`: the gates for the exact tree, deploy → verify → rollback, the release tag
//! and its record, the production branch, the push, notify, and a deploy killed at any point.
//! The hooks are shell one-liners writing under the test's `OUT` folder (support::DEPLOY_POLICY).

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, Production, Team, start_args};

#[test]
fn deploy_is_refused_naming_every_missing_gate_and_runs_nothing() {
    let t = Team::new();
    let run = t.refused(&["deploy"], 1, "deploy refused for tree");
    assert!(
        run.stderr.contains("review (not approved yet)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("test (not run yet)"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("a teammate runs `hotfix approve {HOTFIX_BRANCH}`")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hotfix test"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));

    // approved but not tested: only the test gate is named
    t.approve();
    let run = t.refused(&["deploy"], 1, "test (not run yet)");
    assert!(!run.stderr.contains("review ("), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
}

#[test]
fn deploy_is_refused_when_approval_and_test_are_for_an_older_tree() {
    let t = Team::new();
    t.gates_pass();
    // one more commit after review and test: both are stale for the tree that would ship
    t.fix("line 1\nversion 1.1\nline 3 fixed again\n", "Fix it better");
    let run = t.refused(&["deploy"], 1, "deploy refused");
    assert!(
        run.stderr.contains("is for an older tree"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("test ("), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));

    // a fresh approval is not enough while the test pass is for the older tree
    t.approve();
    let run = t.refused(&["deploy"], 1, "test (");
    assert!(!run.stderr.contains("review ("), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
}

#[test]
fn deploy_is_refused_when_the_guard_fails_unless_overridden() {
    let t = Team::with_policy(&DEPLOY_POLICY.replace("[test]", "[guard]\nmax_lines = 2\n\n[test]"));
    t.fix(
        "line 1 changed\nversion 1.1\nline 3 fixed\nline 4\n",
        "More than two lines",
    );
    t.gates_pass();
    let run = t.refused(&["deploy"], 1, "guard (");
    assert!(run.stderr.contains("hotfix guard"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());

    // the override is for this tree, recorded in the release
    t.hf(&[
        "deploy",
        "--override",
        "guard",
        "--reason",
        "outage, reviewed by hand",
    ])
    .ok();
    assert_eq!(t.log("deploy.log").len(), 1);
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["overrides"][0]["gate"], "guard");
    assert_eq!(record["overrides"][0]["reason"], "outage, reviewed by hand");
    assert_eq!(record["overrides"][0]["by"]["email"], "ann@example.com");
    assert!(
        t.author
            .tag_message("v1.1.1")
            .contains("Override of the guard gate by ann@example.com: outage, reviewed by hand"),
        "{}",
        t.author.tag_message("v1.1.1")
    );
}

#[test]
fn deploy_verifies_tags_with_the_record_and_notifies() {
    let t = Team::new();
    t.gates_pass();
    let tip = t.author.head();
    let tree = t.author.rev("HEAD^{tree}");
    let base = t.author.rev("v1.1.0^{commit}");
    let run = t.hf(&["deploy"]).ok();
    assert!(
        run.stderr.contains("Verified and tagged v1.1.1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Next: `hotfix merge-back`"),
        "{}",
        run.stderr
    );

    // the hooks got the HOTFIX_* variables, the new tag and version among them
    assert_eq!(
        t.log("deploy.log"),
        [format!("v1.1.1 1.1.1 {tip} {tree} {HOTFIX_BRANCH} v1.1.0")]
    );
    assert_eq!(t.log("verify.log"), ["v1.1.1"]);
    assert!(t.log("rollback.log").is_empty());

    // the annotated tag on the tested commit, with the record
    assert_eq!(t.author.rev("v1.1.1^{commit}"), tip);
    let message = t.author.tag_message("v1.1.1");
    assert!(
        message.starts_with("hotfix v1.1.1: Checkout returns 500\n"),
        "{message}"
    );
    assert!(
        message.contains("Base v1.1.0, severity revenue-loss, 1 file, 2 lines."),
        "{message}"
    );
    assert!(
        message.contains("Approved by Rita Reviewer <rita@example.com>."),
        "{message}"
    );
    assert!(message.contains("\nTests passed in "), "{message}");
    let r = t.author.tag_record("v1.1.1");
    assert_eq!(r["schema"], 1);
    assert_eq!(r["tag"], "v1.1.1");
    assert_eq!(r["version"], "1.1.1");
    assert_eq!(r["name"], "login-500");
    assert_eq!(r["branch"], HOTFIX_BRANCH);
    assert_eq!(r["base_tag"], "v1.1.0");
    assert_eq!(r["base_commit"], base.as_str());
    assert_eq!(r["commit"], tip.as_str());
    assert_eq!(r["tree"], tree.as_str());
    assert_eq!(r["commits"], serde_json::json!([tip]));
    assert_eq!(r["severity"], "revenue-loss");
    assert_eq!(r["summary"], "Checkout returns 500");
    assert_eq!(r["author"]["email"], "ann@example.com");
    assert_eq!(r["approvers"].as_array().unwrap().len(), 1);
    assert_eq!(r["approvers"][0]["email"], "rita@example.com");
    assert_eq!(r["test"]["passed"], true);
    assert_eq!(r["test"]["exit_code"], 0);
    assert_eq!(r["diff"]["files"], 1);
    assert_eq!(r["diff"]["lines"], 2);
    assert_eq!(r["overrides"], serde_json::json!([]));
    let started: jiff::Timestamp = r["started_at"].as_str().unwrap().parse().unwrap();
    let deployed: jiff::Timestamp = r["deployed_at"].as_str().unwrap().parse().unwrap();
    assert!(started <= deployed);

    // notify got the same record as JSON on stdin
    assert_eq!(t.notified().expect("notify ran"), r);

    // the hotfix waits for merge-back; deploying again is refused
    assert!(t.status().stdout.contains("next: hotfix merge-back"));
    t.refused(&["deploy"], 2, "this tree was already released as v1.1.1");
    assert_eq!(t.log("deploy.log").len(), 1);
}

#[test]
fn a_failed_verify_rolls_back_and_makes_no_tag() {
    let t = Team::with_policy(&DEPLOY_POLICY.replace("verify_retries = 0", "verify_retries = 1"));
    t.gates_pass();
    t.make_fail("verify");
    let run = t.hf(&["deploy", "--push"]);
    let run = run.fails(1, "verify failed 2 times; no tag was made; rollback ran");
    assert!(
        run.stderr.contains("retrying in 1s (attempt 2 of 2)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("fix the cause, then `hotfix deploy` again"),
        "{}",
        run.stderr
    );
    assert_eq!(t.log("deploy.log").len(), 1);
    assert_eq!(t.log("verify.log"), ["v1.1.1", "v1.1.1"]);
    assert_eq!(t.log("rollback.log"), ["v1.1.1"]);
    assert!(!t.author.has_tag("v1.1.1"));
    assert!(
        !t.origin.has_tag("v1.1.1"),
        "--push must not push an unverified release"
    );
    assert!(t.notified().is_none());

    let status = t.status().stdout;
    assert!(status.contains("verify failed 2 times"), "{status}");
}

#[test]
fn a_failed_deploy_command_rolls_back_and_skips_verify() {
    let t = Team::new();
    t.gates_pass();
    t.make_fail("deploy");
    t.hf(&["deploy"]).fails(
        1,
        "the deploy command failed (exit 1); no tag was made; rollback ran",
    );
    assert!(t.log("verify.log").is_empty());
    assert_eq!(t.log("rollback.log"), ["v1.1.1"]);
    assert!(!t.author.has_tag("v1.1.1"));

    // deploying the same tree again is said and asked; non-interactive it needs --yes
    t.make_pass("deploy");
    let run = t.refused(&["deploy"], 2, "--yes");
    assert!(
        run.stderr
            .contains("a deploy of this exact tree started at"),
        "{}",
        run.stderr
    );
    assert_eq!(t.log("deploy.log").len(), 1);
    t.hf(&["deploy", "--yes"]).ok();
    assert_eq!(t.log("deploy.log").len(), 2);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn push_sends_the_tag_after_a_verified_deploy() {
    let t = Team::new();
    t.gates_pass();
    let run = t.hf(&["deploy", "--push"]).ok();
    assert!(
        run.stderr.contains("Pushed v1.1.1 to origin"),
        "{}",
        run.stderr
    );
    assert!(t.origin.has_tag("v1.1.1"));
    assert_eq!(t.origin.rev("v1.1.1"), t.author.rev("v1.1.1"));
    assert_eq!(t.origin.tag_record("v1.1.1"), t.author.tag_record("v1.1.1"));
}

#[test]
fn with_no_push_the_tag_stays_local() {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy", "--no-push"]).ok();
    assert!(t.author.has_tag("v1.1.1"));
    assert!(!t.origin.has_tag("v1.1.1"));
}

#[test]
fn an_existing_next_tag_is_bad_input_and_version_names_another() {
    let t = Team::new();
    t.gates_pass();
    t.author.git(&["tag", "v1.1.1", "v1.1.0"]);
    t.refused(&["deploy"], 2, "the tag v1.1.1 already exists")
        .fails(2, "hotfix deploy --version <x.y.z>");
    assert!(t.log("deploy.log").is_empty());

    t.refused(
        &["deploy", "--version", "banana"],
        2,
        "`banana` is not a semantic version",
    );
    t.refused(
        &["deploy", "--version", "1.1.1"],
        2,
        "the tag v1.1.1 already exists",
    );

    t.hf(&["deploy", "--version", "1.1.2"]).ok();
    assert_eq!(
        t.log("deploy.log")[0]
            .split(' ')
            .take(2)
            .collect::<Vec<_>>(),
        ["v1.1.2", "1.1.2"]
    );
    assert_eq!(t.author.tag_record("v1.1.2")["version"], "1.1.2");
}

#[test]
fn tag_format_without_prefix_raises_the_patch() {
    let policy = DEPLOY_POLICY.replace(
        "[test]",
        "[release]\ntag_pattern = \"[0-9]*\"\ntag_format = \"{version}\"\n\n[test]",
    );
    let t = Team::released(&policy);
    t.author
        .git(&["tag", "-a", "14.1.1", "-m", "14.1.1", "main"]);
    t.hf(&start_args("login-500", &[])).ok();
    assert_eq!(t.author.rev("HEAD"), t.author.rev("14.1.1^{commit}"));
    t.fix(
        "line 1\nversion 1.1\nline 3 fixed\n",
        "Fix the checkout 500",
    );
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    assert!(t.author.has_tag("14.1.2"));
    assert_eq!(t.author.tag_record("14.1.2")["base_tag"], "14.1.1");
    assert!(t.log("deploy.log")[0].starts_with("14.1.2 14.1.2 "));
}

#[test]
fn a_failing_notify_warns_and_the_release_stands() {
    let t = Team::new();
    t.gates_pass();
    t.make_fail("notify");
    let run = t.hf(&["deploy"]).ok();
    assert!(
        run.stderr
            .contains("notify failed (exit 1); the release stands"),
        "{}",
        run.stderr
    );
    assert!(t.author.has_tag("v1.1.1"));
    assert!(t.notified().is_some());
    assert!(t.status().stdout.contains("next: hotfix merge-back"));
}

#[test]
fn no_deploy_command_is_a_gate_until_the_team_commits_one_on_develop() {
    let policy: Vec<&str> = DEPLOY_POLICY
        .lines()
        .map(|l| {
            if l.starts_with("command = \"echo") {
                "command = \"\""
            } else {
                l
            }
        })
        .collect();
    let t = Team::with_policy(&policy.join("\n"));
    t.gates_pass();
    t.refused(
        &["deploy"],
        1,
        "no deploy command is configured for this hotfix",
    )
    .fails(
        1,
        "set deploy.command in hotfix.toml and push it to origin's develop",
    );
    assert!(!t.author.has_tag("v1.1.1"));

    // committed on the hotfix branch, it does not choose how its own fix is deployed
    t.author.commit_file(
        "hotfix.toml",
        DEPLOY_POLICY,
        "Configure the deploy on the branch",
    );
    t.gates_pass();
    t.refused(
        &["deploy"],
        1,
        "no deploy command is configured for this hotfix",
    );
    assert!(!t.author.has_tag("v1.1.1"));

    // committed on develop but only in this clone, it is not the team's policy yet
    t.author.git(&["switch", "-q", "develop"]);
    t.author
        .commit_file("hotfix.toml", DEPLOY_POLICY, "Configure the deploy");
    t.author
        .git(&["switch", "-q", crate::support::HOTFIX_BRANCH]);
    t.refused(
        &["deploy"],
        1,
        "no deploy command is configured for this hotfix",
    );
    assert!(t.log("deploy.log").is_empty());
    // pushed to the remote's develop, the team's policy, it applies
    t.author.git(&["push", "-q", "origin", "develop"]);
    let run = t.hf(&["deploy"]).ok();
    assert!(
        run.stderr
            .contains("has no deploy command; using [deploy] committed on origin's develop"),
        "{}",
        run.stderr
    );
    assert_eq!(t.log("deploy.log").len(), 1);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn the_production_branch_is_fast_forwarded() {
    let t = Team::builder()
        .production(Production::Pushed)
        .ready()
        .build();
    let run = t.hf(&["deploy", "--push"]).ok();
    assert!(
        run.stderr.contains("Fast-forwarded production to v1.1.1"),
        "{}",
        run.stderr
    );
    assert_eq!(t.author.rev("production"), t.author.head());
    assert_eq!(t.origin.rev("production"), t.author.head());
}

#[test]
fn a_production_branch_that_cannot_fast_forward_is_refused_up_front() {
    let t = Team::builder()
        .production(Production::Local)
        .ready()
        .build();
    // someone committed straight to production
    t.author.git(&["switch", "-q", "production"]);
    t.author
        .commit_file("ops.txt", "hand edit\n", "hand edit in production");
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
    let run = t.refused(
        &["deploy"],
        1,
        "the production branch production cannot be fast-forwarded",
    );
    assert!(
        run.stderr.contains("hotfix start --from production"),
        "{}",
        run.stderr
    );
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));
}

#[test]
fn deploy_needs_the_hotfix_branch_checked_out() {
    let t = Team::new();
    t.gates_pass();
    t.author.git(&["switch", "-q", "develop"]);
    t.refused(&["deploy"], 2, "no hotfix branch is checked out")
        .fails(2, "git switch hotfix/login-500");
}

// ---- a deploy killed at any point ----

/// Kills `hotfix deploy` at `point` (the process aborts there, as a kill would stop it).
fn killed_at(t: &Team, point: &str, args: &[&str]) {
    let run = t.hf_env(args, &[("HOTFIX_FAULT", point)]);
    assert_ne!(
        run.code, 0,
        "the fault {point} did not stop deploy:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("fault injected at {point}")),
        "{}",
        run.stderr
    );
}

#[test]
fn killed_before_the_deploy_command_is_explained_and_asks_before_deploying() {
    let t = Team::new();
    t.gates_pass();
    killed_at(&t, "deploy-before-command", &["deploy"]);
    assert!(t.log("deploy.log").is_empty());
    let status = t.status().stdout;
    assert!(status.contains("interrupted"), "{status}");
    assert!(status.contains("v1.1.1"), "{status}");
    assert!(status.contains("next: hotfix deploy"), "{status}");

    t.refused(&["deploy"], 2, "--yes")
        .fails(2, "was interrupted before it finished");
    assert!(t.log("deploy.log").is_empty());
    t.hf(&["deploy", "--yes"]).ok();
    assert_eq!(t.log("deploy.log").len(), 1);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn killed_after_the_deploy_command_never_deploys_twice_unasked() {
    let t = Team::new();
    t.gates_pass();
    killed_at(&t, "deploy-after-command", &["deploy"]);
    assert_eq!(t.log("deploy.log").len(), 1);
    assert!(t.log("verify.log").is_empty());
    let status = t.status().stdout;
    assert!(status.contains("interrupted"), "{status}");

    let run = t.refused(&["deploy"], 2, "--yes");
    assert!(
        run.stderr
            .contains("a deploy of this exact tree started at"),
        "{}",
        run.stderr
    );
    assert_eq!(
        t.log("deploy.log").len(),
        1,
        "deployed again without asking"
    );
    t.hf(&["deploy", "--yes"]).ok();
    assert_eq!(t.log("deploy.log").len(), 2);
    assert_eq!(t.log("verify.log").len(), 1);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn killed_before_the_tag_is_explained_and_asks_before_deploying() {
    let t = Team::new();
    t.gates_pass();
    killed_at(&t, "deploy-before-tag", &["deploy"]);
    assert_eq!(t.log("deploy.log").len(), 1);
    assert_eq!(t.log("verify.log").len(), 1);
    assert!(!t.author.has_tag("v1.1.1"));
    let status = t.status().stdout;
    assert!(status.contains("before the tag"), "{status}");

    t.refused(&["deploy"], 2, "--yes");
    assert_eq!(t.log("deploy.log").len(), 1);
    t.hf(&["deploy", "--yes"]).ok();
    assert_eq!(t.log("deploy.log").len(), 2);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn killed_after_the_tag_finishes_push_and_notify_without_deploying_again() {
    let t = Team::new();
    t.gates_pass();
    killed_at(&t, "deploy-after-tag", &["deploy", "--push"]);
    assert!(t.author.has_tag("v1.1.1"));
    assert!(!t.origin.has_tag("v1.1.1"));
    assert!(t.notified().is_none());
    let status = t.status().stdout;
    assert!(
        status.contains("v1.1.1 is verified and tagged, but the run stopped before the push and notify were done"),
        "{status}"
    );
    assert!(status.contains("next: hotfix deploy"), "{status}");

    // no --yes needed: nothing is deployed again; the push asked for before is still done
    let run = t.hf(&["deploy"]).ok();
    assert!(
        run.stderr.contains("v1.1.1 is tagged already"),
        "{}",
        run.stderr
    );
    assert_eq!(t.log("deploy.log").len(), 1);
    assert_eq!(t.log("verify.log").len(), 1);
    assert!(t.origin.has_tag("v1.1.1"));
    assert_eq!(t.notified().expect("notify ran")["tag"], "v1.1.1");
    assert!(t.status().stdout.contains("next: hotfix merge-back"));
}

#[test]
fn a_production_branch_only_on_the_remote_is_set_and_pushed() {
    let t = Team::builder()
        .production(Production::OnlyOnRemote)
        .ready()
        .build();
    let run = t.hf(&["deploy", "--push"]).ok();
    assert!(
        run.stderr.contains("Set production to v1.1.1"),
        "{}",
        run.stderr
    );
    assert_eq!(t.author.rev("production"), t.author.head());
    assert_eq!(t.origin.rev("production"), t.author.head());
}

#[test]
fn a_remote_production_branch_that_cannot_fast_forward_is_refused_up_front() {
    let t = Team::builder()
        .production(Production::Pushed)
        .before_start(|t| {
            // a teammate pushed a hand edit to production; the author's clone has fetched it
            let other = t.env.clone_of(&t.origin, "other", crate::support::REVIEWER);
            other.git(&["switch", "-q", "production"]);
            other.commit_file("ops.txt", "hand edit\n", "hand edit in production");
            other.git(&["push", "-q", "origin", "production"]);
            t.author.git(&["fetch", "-q", "origin"]);
        })
        .ready()
        .build();
    t.refused(
        &["deploy", "--push"],
        1,
        "production cannot be fast-forwarded",
    );
    assert!(t.log("deploy.log").is_empty());
}

// ---- the working tree the hooks run in, one deploy at a time ----

#[test]
fn untracked_files_are_refused_before_anything_runs() {
    let t = Team::new();
    t.gates_pass();
    // it would not ship (the hooks run on an export of the commit), but whoever deploys with
    // it most likely thinks it does
    t.author.write("stray.txt", "not reviewed\n");
    let run = t.refused(&["deploy"], 2, "untracked files (stray.txt)");
    assert!(run.stderr.contains("git stash -u"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));
}

#[test]
fn what_the_hooks_write_in_their_folder_never_reaches_the_working_tree() {
    // verify leaves a file behind where it runs: an export of the tree, not the clone
    let t =
        Team::with_policy(&DEPLOY_POLICY.replace("verify = \"", "verify = \"echo x > left.txt; "));
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    assert!(t.author.has_tag("v1.1.1"));
    assert!(!t.author.path.join("left.txt").exists());
    assert_eq!(t.author.git(&["status", "--porcelain"]), "");
}

#[test]
fn head_moved_during_the_deploy_rolls_back_and_makes_no_tag() {
    // verify commits on the hotfix branch in the clone, through $HOTFIX_REPO_ROOT
    let t = Team::with_policy(&DEPLOY_POLICY.replace(
        "verify = \"",
        "verify = \"git -C \\\"$HOTFIX_REPO_ROOT\\\" commit -q --allow-empty -m sneaked; ",
    ));
    t.gates_pass();
    let run = t.hf(&["deploy"]).fails(
        1,
        "HEAD moved during the deploy; the hotfix branch is no longer the tree that was checked",
    );
    assert!(run.stderr.contains("no tag was made"), "{}", run.stderr);
    assert_eq!(t.log("deploy.log").len(), 1);
    assert_eq!(t.log("rollback.log"), vec!["v1.1.1"]);
    assert!(!t.author.has_tag("v1.1.1"));
    assert!(t.notified().is_none());
    let entry = t
        .author
        .state_entry(HOTFIX_BRANCH)
        .expect("the hotfix is in progress");
    assert_eq!(entry["deploy"]["phase"].as_str(), Some("failed"));
}

#[test]
fn a_second_deploy_is_refused_while_one_holds_the_lock() {
    let t = Team::new();
    t.gates_pass();
    let dir = t.author.git_dir().join("hotfix");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("deploy.lock")).unwrap();
    lock.try_lock().expect("the lock is free before any deploy");
    t.refused(
        &["deploy"],
        2,
        "a deploy is already running in this repository",
    )
    .fails(2, "deploy.lock");
    t.refused(
        &["finish"],
        2,
        "a deploy is already running in this repository",
    );
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));
    // released with the first one: the next deploy goes ahead
    drop(lock);
    t.hf(&["deploy"]).ok();
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn verify_retries_beyond_the_bound_is_a_located_config_error() {
    let t =
        Team::released(&DEPLOY_POLICY.replace("verify_retries = 0", "verify_retries = 4294967295"));
    let run = t.refused(&start_args("login-500", &[]), 2, "verify_retries");
    assert!(run.stderr.contains("hotfix.toml:11:"), "{}", run.stderr);
    assert!(run.stderr.contains("at most 100"), "{}", run.stderr);
    assert!(!t.author.branches().contains(&HOTFIX_BRANCH.to_string()));
}

#[test]
fn ctrl_c_during_the_rollback_exits_130_and_records_the_failure() {
    // the rollback is interrupted the way a terminal's Ctrl-C would do it: SIGINT to hotfix
    let t = Team::with_policy(
        &DEPLOY_POLICY.replace("rollback = \"", "rollback = \"kill -INT $PPID; sleep 10; "),
    );
    t.gates_pass();
    t.make_fail("verify");
    t.hf(&["deploy"]).fails(130, "interrupted");
    assert!(!t.author.has_tag("v1.1.1"));
    let entry = t
        .author
        .state_entry(HOTFIX_BRANCH)
        .expect("the hotfix is in progress");
    assert_eq!(entry["deploy"]["phase"].as_str(), Some("failed"));
    let failure = entry["deploy"]["failure"].as_str().unwrap_or_default();
    assert!(
        failure.contains("the rollback was interrupted"),
        "{failure}"
    );
}

#[test]
fn a_production_branch_checked_out_in_another_worktree_is_refused_up_front() {
    let t = Team::builder()
        .production(Production::Local)
        .ready()
        .build();
    let other = t.env.path().join("prod-wt");
    t.author.git(&[
        "worktree",
        "add",
        "-q",
        other.to_str().unwrap(),
        "production",
    ]);
    let run = t.refused(&["deploy"], 1, "checked out in another worktree");
    assert!(run.stderr.contains("prod-wt"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.author.has_tag("v1.1.1"));
    assert_eq!(t.author.rev("production"), t.author.rev("v1.1.0^{commit}"));
}
