//! A process killed at each step of the pipeline (SPEC promise 5): `status` explains what is
//! left, the next command resumes without repeating what must not repeat (or `abort` undoes),
//! and nothing is lost: no commit, no file of the user's, no half-made tag, no stray worktree.
//! Also a state file that is truncated, garbage or from a newer hotfix: exit 2 and a way out.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    DEPLOY_POLICY, HOTFIX_BRANCH, Repo, Run, Team, TeamBuilder, hotfix_cmd, start_args,
};

/// The team policy, with notify counting its runs and the test command able to hang on demand
/// (while `$OUT/slow` exists it writes its pid and sleeps).
fn policy() -> String {
    DEPLOY_POLICY
        .replace(
            r#"notify = "cat > \"$OUT/notify.json\"; test ! -e \"$OUT/notify-fails\"""#,
            r#"notify = "echo \"$HOTFIX_TAG\" >> \"$OUT/notify.log\"; cat > \"$OUT/notify.json\"""#,
        )
        .replace(
            r#"command = "test ! -e \"$OUT/tests-fails\"""#,
            r#"command = "if test -e \"$OUT/slow\"; then echo $$ > \"$OUT/tests.pid\"; exec sleep 30; fi; test ! -e \"$OUT/tests-fails\"""#,
        )
}

fn team() -> Team {
    team_of(Team::builder())
}

/// `builder` with this file's policy.
fn team_of(builder: TeamBuilder) -> Team {
    let p = policy();
    assert!(
        p.contains("notify.log") && p.contains("tests.pid"),
        "policy edit missed"
    );
    builder.policy(&p).build()
}

/// The user's own files that no command may touch: one ignored, and one untracked where the
/// command allows untracked files (deploy refuses them: they could be shipped).
struct Keep {
    untracked: bool,
}

impl Keep {
    const UNTRACKED: (&str, &str) = ("notes.txt", "what I saw in the logs\n");
    const IGNORED: (&str, &str) = ("local.env", "TOKEN=not-in-git\n");

    fn plant(repo: &Repo) -> Keep {
        Keep::plant_files(repo, true)
    }

    /// Only the ignored file: for flows that deploy.
    fn plant_ignored(repo: &Repo) -> Keep {
        Keep::plant_files(repo, false)
    }

    fn plant_files(repo: &Repo, untracked: bool) -> Keep {
        std::fs::write(
            repo.git_dir().join("info").join("exclude"),
            format!("{}\n", Keep::IGNORED.0),
        )
        .unwrap();
        if untracked {
            repo.write(Keep::UNTRACKED.0, Keep::UNTRACKED.1);
        }
        repo.write(Keep::IGNORED.0, Keep::IGNORED.1);
        Keep { untracked }
    }

    #[track_caller]
    fn check(&self, repo: &Repo) {
        for (file, content) in [Keep::UNTRACKED, Keep::IGNORED] {
            if file == Keep::UNTRACKED.0 && !self.untracked {
                continue;
            }
            assert_eq!(repo.read(file), content, "{file} was changed or lost");
        }
    }
}

/// The process died at `point`, by a signal (no exit code), saying where.
#[track_caller]
fn killed(run: &Run, point: &str) {
    assert_eq!(
        run.code, -1,
        "expected death by a signal at {point}, got exit {}:\n{}",
        run.code, run.stderr
    );
    assert!(
        run.stderr.contains(&format!("fault injected at {point}")),
        "{}",
        run.stderr
    );
}

/// `hotfix status` exits 0 and explains, with no error text or damage report; returns stdout.
#[track_caller]
fn explained(t: &Team, needles: &[&str]) -> String {
    let run = t.status();
    for bad in ["damaged", "error", "panicked", "caused by"] {
        assert!(
            !run.stdout.contains(bad) && !run.stderr.contains(bad),
            "status says {bad:?}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    for n in needles {
        assert!(
            run.stdout.contains(n),
            "status lacks {n:?}:\n{}",
            run.stdout
        );
    }
    run.stdout
}

fn temp_state_files(repo: &Repo) -> Vec<String> {
    std::fs::read_dir(repo.state_path().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".state.toml."))
        .collect()
}

fn worktrees(repo: &Repo) -> usize {
    repo.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
}

/// Nothing was lost or left half-made: the user's files, the fix commit (reachable from a ref),
/// no temporary state file, only the main worktree, and every hotfix tag on the commit its
/// record names.
#[track_caller]
fn nothing_lost(t: &Team, keep: &Keep, fix: &str) {
    let repo = &t.author;
    keep.check(repo);
    assert!(
        !repo
            .git(&["for-each-ref", "--contains", fix])
            .trim()
            .is_empty(),
        "the fix {fix} is reachable from no ref"
    );
    assert_eq!(temp_state_files(repo), Vec::<String>::new());
    assert_eq!(worktrees(repo), 1, "a temporary worktree was left");
    for tag in repo.git(&["tag", "-l", "v1.1.1*"]).lines() {
        let record = repo.tag_record(tag);
        assert_eq!(record["tag"], tag);
        assert_eq!(
            record["commit"].as_str().unwrap(),
            repo.rev(&format!("{tag}^{{commit}}")),
            "{tag} is not on the commit its record names"
        );
    }
}

/// How many times a hook ran (lines in its log).
fn runs(t: &Team, hook: &str) -> usize {
    t.log(&format!("{hook}.log")).len()
}

fn branches_and_tags(repo: &Repo) -> String {
    repo.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads",
        "refs/tags",
    ])
}

// ---- start ----

#[test]
fn start_killed_before_the_branch_resumes_with_the_first_answers() {
    let t = team_of(Team::builder().not_started());
    let keep = Keep::plant(&t.author);
    let develop = t.author.rev("develop");
    let run = t.hf_env(
        &start_args("login-500", &[]),
        &[("HOTFIX_FAULT", "start-before-branch")],
    );
    killed(&run, "start-before-branch");
    assert!(!t.author.branches().contains(&HOTFIX_BRANCH.to_string()));
    explained(
        &t,
        &[
            "start was interrupted before the branch was made",
            "next: hotfix start login-500",
        ],
    );

    // no flags: the answers recorded by the killed run are used
    t.hf(&["start", "login-500"]).ok();
    assert_eq!(t.author.branch(), HOTFIX_BRANCH);
    assert_eq!(t.author.head(), t.author.rev("v1.1.0^{commit}"));
    let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["phase"].as_str(), Some("open"));
    assert_eq!(entry["return_to"].as_str(), Some("develop"));
    assert_eq!(entry["severity"].as_str(), Some("revenue-loss"));
    assert_eq!(t.author.rev("develop"), develop);
    nothing_lost(&t, &keep, &develop);
}

#[test]
fn start_killed_before_the_checkout_is_undone_by_abort() {
    let t = team_of(Team::builder().not_started());
    let keep = Keep::plant(&t.author);
    let before = branches_and_tags(&t.author);
    let run = t.hf_env(
        &start_args("login-500", &[]),
        &[("HOTFIX_FAULT", "start-before-checkout")],
    );
    killed(&run, "start-before-checkout");
    assert_eq!(t.author.branch(), "develop");
    explained(
        &t,
        &[
            "start was interrupted before hotfix/login-500 was checked out",
            "hotfix abort login-500 --delete",
        ],
    );

    t.hf(&["abort", "login-500", "--delete"]).ok();
    assert_eq!(t.author.branch(), "develop");
    assert_eq!(
        branches_and_tags(&t.author),
        before,
        "abort left a branch or tag behind"
    );
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    explained(&t, &["No hotfix checked out.", "next: hotfix start <name>"]);
    let develop = t.author.rev("develop");
    nothing_lost(&t, &keep, &develop);
}

/// A team whose `develop` differs from the release in the content of two files (written by
/// hotfix itself in a switch), one file only on `develop` and one only in the release (both
/// libgit2's part).
fn develop_apart_from_the_release() -> Team {
    team_of(Team::builder().not_started().before_start(|t| {
        t.author.commit_file(
            "app.txt",
            "line 1\nversion 2.0-dev\nline 3\n",
            "develop app",
        );
        // the release has README.md, develop does not: libgit2's part creates it again
        t.author.git(&["rm", "-q", "README.md"]);
        t.author
            .git(&["commit", "-q", "-m", "develop drops the readme"]);
        t.author.commit_file(
            "hotfix.toml",
            &format!("{}\n# reviewed in November\n", policy()),
            "a comment in the policy",
        );
    }))
}

#[test]
fn start_killed_while_it_writes_the_files_is_finished_by_start_or_undone_by_abort() {
    for finish in [true, false] {
        let t = develop_apart_from_the_release();
        let keep = Keep::plant(&t.author);
        let develop = t.author.rev("develop");
        let run = t.hf_env(
            &start_args("login-500", &[]),
            &[("HOTFIX_FAULT", "checkout-mid-write")],
        );
        killed(&run, "checkout-mid-write");
        assert_eq!(t.author.branch(), "develop");
        assert_ne!(
            t.author
                .git(&["status", "--porcelain", "--untracked-files=no"]),
            "",
            "the kill left the files half way"
        );
        explained(
            &t,
            &[
                "start was interrupted while it checked out hotfix/login-500",
                "files are already switched",
                "hotfix abort login-500 --delete",
            ],
        );
        if finish {
            let run = t.hf(&start_args("login-500", &[])).ok();
            assert!(
                run.stderr
                    .contains("Finishing the switch to hotfix/login-500"),
                "{}",
                run.stderr
            );
            assert_eq!(t.author.branch(), HOTFIX_BRANCH);
            assert_eq!(t.author.read("app.txt"), "line 1\nversion 1.1\nline 3\n");
            assert_eq!(t.author.read("README.md"), "app\n");
            assert!(!t.author.path.join("feature.txt").exists());
            explained(&t, &["hotfix/login-500"]);
        } else {
            let run = t.hf(&["abort", "login-500", "--delete"]).ok();
            assert!(run.stderr.contains("Put back the"), "{}", run.stderr);
            assert_eq!(t.author.branch(), "develop");
            assert_eq!(
                t.author.read("app.txt"),
                "line 1\nversion 2.0-dev\nline 3\n"
            );
            assert_eq!(t.author.read("feature.txt"), "new feature\n");
            assert!(!t.author.path.join("README.md").exists());
            assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
        }
        assert_eq!(
            t.author
                .git(&["status", "--porcelain", "--untracked-files=no"]),
            "",
            "finish={finish}"
        );
        nothing_lost(&t, &keep, &develop);
    }
}

#[test]
fn a_half_switched_tree_with_an_edit_of_the_users_is_not_forced() {
    let t = develop_apart_from_the_release();
    let run = t.hf_env(
        &start_args("login-500", &[]),
        &[("HOTFIX_FAULT", "checkout-mid-write")],
    );
    killed(&run, "checkout-mid-write");
    // the user edits a file after the kill: it is theirs now, and nothing may overwrite it
    t.author.write("app.txt", "my own edit\n");
    t.refused(&start_args("login-500", &[]), 2, "uncommitted changes");
    explained(
        &t,
        &["not every changed file (", "changes made since the kill"],
    );
    // abort exits 0 only when it put the tree back: here it cannot, and says so
    t.refused(
        &["abort", "login-500"],
        2,
        "so abort cannot put the tree back as it was",
    );
    let run = t.hf(&["abort", "login-500", "--force"]).ok();
    assert!(!run.stderr.contains("Put back"), "{}", run.stderr);
    assert_eq!(t.author.read("app.txt"), "my own edit\n");
}

/// Killed while writing the files (see `develop_apart_from_the_release`).
fn killed_mid_write() -> Team {
    let t = develop_apart_from_the_release();
    let run = t.hf_env(
        &start_args("login-500", &[]),
        &[("HOTFIX_FAULT", "checkout-mid-write")],
    );
    killed(&run, "checkout-mid-write");
    t
}

#[test]
fn a_hidden_edit_after_the_kill_is_never_forced_away() {
    // an edit git status does not show (assume-unchanged) on a file not yet switched
    let t = killed_mid_write();
    t.author
        .git(&["update-index", "--assume-unchanged", "hotfix.toml"]);
    let mine = format!("{}\n# my local note\n", policy());
    t.author.write("hotfix.toml", &mine);
    t.hf(&start_args("login-500", &[])).code(2);
    t.refused(&["abort", "login-500"], 2, "cannot put the tree back");
    t.hf(&["abort", "login-500", "--force"]).ok();
    assert_eq!(t.author.read("hotfix.toml"), mine);

    // a mode changed after the kill on a file already switched
    let t = killed_mid_write();
    let app = t.author.path.join("app.txt");
    std::fs::set_permissions(&app, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t.refused(&start_args("login-500", &[]), 2, "uncommitted changes");
    t.refused(&["abort", "login-500"], 2, "cannot put the tree back");
    let run = t.hf(&["abort", "login-500", "--force"]).ok();
    assert!(!run.stderr.contains("Put back"), "{}", run.stderr);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&app).unwrap().permissions());
    assert_eq!(mode & 0o111, 0o111, "the mode was reset");
}

#[test]
fn work_staged_after_a_kill_before_the_checkout_is_not_taken_for_a_half_switch() {
    let t = develop_apart_from_the_release();
    let run = t.hf_env(
        &start_args("login-500", &[]),
        &[("HOTFIX_FAULT", "start-before-checkout")],
    );
    killed(&run, "start-before-checkout");
    // deliberate work on develop that happens to match the release
    t.author.git(&["checkout", "v1.1.0", "--", "app.txt"]);
    t.author.git(&["rm", "-q", "feature.txt"]);
    let run = t.hf(&["abort", "login-500", "--delete"]).ok();
    assert!(!run.stderr.contains("Put back"), "{}", run.stderr);
    assert_eq!(t.author.read("app.txt"), "line 1\nversion 1.1\nline 3\n");
    assert!(!t.author.path.join("feature.txt").exists());
}

#[test]
fn finishing_the_switch_waits_for_another_git_process() {
    let t = killed_mid_write();
    let app = t.author.read("app.txt");
    let hotfix_toml = t.author.read("hotfix.toml");
    // a git process that holds the index (it keeps index.lock open while it does)
    let lock = index_lock(&t.author);
    let mut holder = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec 3>>\"$0\"; exec sleep 30")
        .arg(&lock)
        .spawn()
        .unwrap();
    wait_for("the lock", || lock.exists());
    t.refused(
        &start_args("login-500", &[]),
        2,
        "another git process may be running",
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    // nothing more was written, and the hotfix is still there to finish
    assert_eq!(t.author.read("app.txt"), app);
    assert_eq!(t.author.read("hotfix.toml"), hotfix_toml);
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_some());
    std::fs::remove_file(t.author.git_dir().join("index.lock")).unwrap();
    t.hf(&start_args("login-500", &[])).ok();
    assert_eq!(t.author.branch(), HOTFIX_BRANCH);
    assert_eq!(
        t.author
            .git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
}

#[test]
fn a_resumed_start_killed_again_before_the_checkout_still_knows_the_files_are_half_way() {
    let t = killed_mid_write();
    let run = t.hf_env(
        &start_args("login-500", &[]),
        &[("HOTFIX_FAULT", "start-before-checkout")],
    );
    killed(&run, "start-before-checkout");
    explained(&t, &["files are already switched"]);
    t.hf(&start_args("login-500", &[])).ok();
    assert_eq!(t.author.branch(), HOTFIX_BRANCH);
    assert_eq!(
        t.author
            .git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
}

#[test]
fn a_file_that_became_a_directory_is_finished_or_undone_too() {
    for finish in [true, false] {
        let env = crate::support::Env::new();
        let repo = env.repo("app");
        for f in ["a.txt", "b.txt", "c.txt"] {
            repo.commit_file(f, "release\n", f);
        }
        repo.commit_file("sub/f.txt", "in a folder\n", "sub");
        repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
        repo.git(&["switch", "-q", "-c", "develop"]);
        for f in ["a.txt", "b.txt", "c.txt"] {
            repo.write(f, "develop\n");
        }
        repo.git(&["rm", "-q", "-r", "sub"]);
        repo.write("sub", "now a file\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "develop"]);
        let run = repo.hotfix_env(
            &start_args("x", &[]),
            &[("HOTFIX_FAULT", "checkout-mid-write")],
        );
        killed(&run, "checkout-mid-write");
        let status = repo.hotfix(&["status"]).ok().stdout;
        assert!(status.contains("files are already switched"), "{status}");
        if finish {
            repo.hotfix(&start_args("x", &[])).ok();
            assert_eq!(repo.branch(), "hotfix/x");
            assert_eq!(repo.read("sub/f.txt"), "in a folder\n");
            assert_eq!(repo.read("c.txt"), "release\n");
        } else {
            let run = repo.hotfix(&["abort", "x", "--delete"]).ok();
            assert!(run.stderr.contains("Put back"), "{}", run.stderr);
            assert_eq!(repo.branch(), "develop");
            assert_eq!(repo.read("sub"), "now a file\n");
            assert_eq!(repo.read("a.txt"), "develop\n");
        }
        assert_eq!(repo.git(&["status", "--porcelain"]), "", "finish={finish}");
    }
}

// ---- guard ----

#[test]
fn guard_killed_during_its_state_write_keeps_the_old_state_and_runs_again() {
    let t = team();
    let keep = Keep::plant(&t.author);
    let fix = t.author.head();
    let old = t.author.state().unwrap();
    let run = t.hf_env(&["guard"], &[("HOTFIX_FAULT", "state-before-rename")]);
    killed(&run, "state-before-rename");
    assert_eq!(t.author.state().unwrap(), old, "the state file was torn");
    assert_eq!(temp_state_files(&t.author).len(), 1);
    explained(
        &t,
        &[
            "guard",
            "next: git push -u origin hotfix/login-500, then a teammate runs `hotfix approve hotfix/login-500`",
        ],
    );

    t.hf(&["guard"]).ok();
    let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["guard"]["passed"].as_bool(), Some(true));
    nothing_lost(&t, &keep, &fix);
}

// ---- approve ----

#[test]
fn approve_killed_before_the_push_pushes_the_same_approval_when_run_again() {
    let t = team_of(Team::builder().reviewer());
    let fix = t.author.head();
    let rita = t.reviewer().clone();
    let keep = Keep::plant(&rita);
    let run = rita.hotfix_env(
        &["approve", HOTFIX_BRANCH, "--push", "--yes"],
        &[("HOTFIX_FAULT", "approve-before-push")],
    );
    killed(&run, "approve-before-push");
    let approvals = |repo: &Repo| repo.git(&["for-each-ref", "refs/hotfix/approvals"]);
    let made = approvals(&rita);
    assert_eq!(made.lines().count(), 1, "{made}");
    assert_eq!(approvals(&t.origin), "", "pushed although killed before");
    // the author sees no approval yet, and is told who must act
    explained(
        &t,
        &[
            "not approved yet",
            "next: a teammate runs `hotfix approve hotfix/login-500`",
        ],
    );

    // again, without --yes: nothing is asked, the approval already made is the one pushed
    let run = rita.hotfix(&["approve", HOTFIX_BRANCH, "--push"]).ok();
    assert!(
        run.stderr.contains("You already approved"),
        "{}",
        run.stderr
    );
    assert_eq!(approvals(&rita), made, "a second approval was made");
    assert_eq!(approvals(&t.origin), made);
    keep.check(&rita);
    t.author.forget_last_fetch();
    explained(&t, &["approved by Rita Reviewer", "next: hotfix test"]);
    let keep = Keep::plant(&t.author);
    nothing_lost(&t, &keep, &fix);
}

// ---- test ----

/// Waits up to 10 s for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Ended, or a zombie nobody reaps.
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn test_killed_while_the_tests_run_leaves_nothing_running_and_runs_again() {
    let t = team();
    let keep = Keep::plant(&t.author);
    let fix = t.author.head();
    t.approve();
    let tmp = t.env.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(t.out.join("slow"), "").unwrap();
    let old = t.author.state().unwrap();

    let mut child = hotfix_cmd(&t.author.path)
        .arg("test")
        .env("OUT", &t.out)
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = t.out.join("tests.pid");
    wait_for("the test command to start", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n'))
    });
    // and hotfix to have noted its process group (a kill before that is a window of its own)
    let markers = t.author.git_dir().join("hotfix").join("checkouts");
    wait_for("the test run's marker", || {
        std::fs::read_dir(&markers).is_ok_and(|d| {
            d.flatten()
                .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|m| m.contains("pgid")))
        })
    });
    child.kill().unwrap(); // SIGKILL: hotfix gets no chance to clean up
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    // the tests run in an export of the tree (not a git worktree): the kill left its folder
    assert_eq!(worktrees(&t.author), 1);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        1,
        "the kill left no checkout to test with"
    );
    assert_eq!(
        t.author.state().unwrap(),
        old,
        "a killed run recorded something"
    );

    // status explains and clears up: the test command stopped, the worktree gone
    explained(&t, &["test", "not run yet", "next: hotfix test"]);
    assert_eq!(worktrees(&t.author), 1);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    wait_for("the orphaned test command to be stopped", || {
        process_gone(pid.trim())
    });
    let leftovers: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    std::fs::remove_file(t.out.join("slow")).unwrap();
    t.hf_env(&["test"], &[("TMPDIR", tmp.to_str().unwrap())])
        .ok();
    let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["tests"]["passed"].as_bool(), Some(true));
    explained(&t, &["next: hotfix deploy"]);
    nothing_lost(&t, &keep, &fix);
}

// ---- deploy ----

/// Ready to deploy, with the user's files planted; returns them and the fix commit.
fn ready() -> (Team, Keep, String) {
    let t = team();
    let keep = Keep::plant_ignored(&t.author);
    let fix = t.author.head();
    t.gates_pass();
    (t, keep, fix)
}

/// The release made once: one deploy, one verify, one notify, the tag on the fix with its
/// record, and merge-back next.
#[track_caller]
fn released_once(t: &Team, fix: &str, deploys: usize) {
    assert_eq!(runs(t, "deploy"), deploys);
    assert_eq!(runs(t, "notify"), 1, "notify ran more than once");
    assert!(runs(t, "rollback") == 0);
    assert_eq!(t.author.rev("v1.1.1^{commit}"), fix);
    assert_eq!(t.author.tag_record("v1.1.1")["commit"], fix);
    assert_eq!(t.notified().unwrap()["tag"], "v1.1.1");
    assert!(!t.author.has_tag("v1.1.2"));
    explained(t, &["next: hotfix merge-back"]);
}

/// Killed before the tag: deploying again is only done when asked for with `--yes`.
fn deploy_killed_before_the_tag(point: &str, deployed: usize, explains: &str) {
    let (t, keep, fix) = ready();
    killed(&t.hf_env(&["deploy"], &[("HOTFIX_FAULT", point)]), point);
    assert_eq!(runs(&t, "deploy"), deployed);
    assert!(!t.author.has_tag("v1.1.1"));
    assert_eq!(runs(&t, "notify"), 0);
    explained(
        &t,
        &[
            explains,
            "next: hotfix deploy (it asks before deploying this tree again)",
        ],
    );

    t.refused(&["deploy"], 2, "--yes")
        .fails(2, "a deploy of this exact tree started at");
    assert_eq!(runs(&t, "deploy"), deployed, "deployed again unasked");
    t.hf(&["deploy", "--yes"]).ok();
    released_once(&t, &fix, deployed + 1);
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn deploy_killed_before_the_command_asks_before_deploying() {
    deploy_killed_before_the_tag(
        "deploy-before-command",
        0,
        "the deploy command may have run in part or in whole",
    );
}

#[test]
fn deploy_killed_after_the_command_asks_before_deploying_again() {
    deploy_killed_before_the_tag(
        "deploy-after-command",
        1,
        "the deploy command may have run in part or in whole",
    );
}

#[test]
fn deploy_killed_after_verify_before_the_tag_asks_before_deploying_again() {
    deploy_killed_before_the_tag(
        "deploy-before-tag",
        1,
        "interrupted during or right after verify, before the tag",
    );
}

#[test]
fn deploy_killed_after_the_tag_before_the_state_knows_it_finishes_without_deploying() {
    let (t, keep, fix) = ready();
    let point = "deploy-after-tag-before-state";
    killed(&t.hf_env(&["deploy"], &[("HOTFIX_FAULT", point)]), point);
    assert_eq!(runs(&t, "deploy"), 1);
    assert_eq!(t.author.tag_record("v1.1.1")["commit"], fix.as_str());
    let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["deploy"]["phase"].as_str(), Some("verifying"));
    // the tag is the truth: released, only what follows the tag is left
    explained(
        &t,
        &[
            "v1.1.1 is verified and tagged, but the run stopped before notify was done",
            "next: hotfix deploy (finishes the release without deploying again)",
        ],
    );

    let run = t.hf(&["deploy"]).ok();
    assert!(
        run.stderr.contains("v1.1.1 is tagged already"),
        "{}",
        run.stderr
    );
    released_once(&t, &fix, 1);
    assert_eq!(runs(&t, "verify"), 1);
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn finish_after_a_kill_between_tag_and_state_releases_and_merges_back_once() {
    let (t, keep, fix) = ready();
    let point = "deploy-after-tag-before-state";
    killed(&t.hf_env(&["deploy"], &[("HOTFIX_FAULT", point)]), point);
    t.hf(&["finish"]).ok();
    assert_eq!(runs(&t, "deploy"), 1);
    assert_eq!(runs(&t, "verify"), 1);
    assert_eq!(runs(&t, "notify"), 1);
    assert_eq!(t.author.tag_record("v1.1.1")["commit"], fix.as_str());
    assert_eq!(merges_of(&t, "develop", &fix), 1);
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn deploy_killed_after_the_tag_notifies_once_without_deploying_again() {
    let (t, keep, fix) = ready();
    let point = "deploy-after-tag";
    killed(&t.hf_env(&["deploy"], &[("HOTFIX_FAULT", point)]), point);
    assert_eq!(runs(&t, "notify"), 0);
    explained(
        &t,
        &[
            "v1.1.1 is verified and tagged, but the run stopped before the push and notify were done",
        ],
    );

    t.hf(&["deploy"]).ok();
    released_once(&t, &fix, 1);
    // and once released, deploy does not run anything again
    t.refused(&["deploy", "--yes"], 2, "already released as v1.1.1");
    assert_eq!(runs(&t, "notify"), 1);
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn deploy_killed_before_the_command_is_undone_by_abort() {
    let (t, keep, fix) = ready();
    let point = "deploy-before-command";
    killed(&t.hf_env(&["deploy"], &[("HOTFIX_FAULT", point)]), point);
    // the deploy may have started: abort says so and wants --force
    t.hf(&["abort"]).fails(2, "half-deployed");
    t.hf(&["abort", "--force"]).ok();
    assert_eq!(t.author.branch(), "develop");
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    assert_eq!(t.author.rev(HOTFIX_BRANCH), fix, "the branch is kept");
    assert_eq!(runs(&t, "deploy"), 0);
    assert!(!t.author.has_tag("v1.1.1"));
    explained(&t, &["No hotfix checked out."]);
    nothing_lost(&t, &keep, &fix);
}

// ---- merge-back ----

/// Released as v1.1.1, with a second target `release/1.1` besides `develop`.
fn released() -> (Team, Keep, String) {
    let (t, keep, fix) = ready();
    t.author.git(&["branch", "release/1.1", "v1.1.0"]);
    t.hf(&["deploy"]).ok();
    (t, keep, fix)
}

/// Merge commits on `branch` that bring in `fix`.
fn merges_of(t: &Team, branch: &str, fix: &str) -> usize {
    t.author
        .git(&["rev-list", "--merges", "--parents", branch])
        .lines()
        .filter(|l| l.split_whitespace().skip(2).any(|p| p == fix))
        .count()
}

#[test]
fn merge_back_killed_between_targets_resumes_without_merging_twice() {
    let (t, keep, fix) = released();
    let point = "merge-back-after-target";
    killed(
        &t.hf_env(&["merge-back"], &[("HOTFIX_FAULT", point)]),
        point,
    );
    // the first target is merged, the state does not know it yet
    assert_eq!(merges_of(&t, "develop", &fix), 1);
    assert!(!t.author.contains("release/1.1", &fix));
    explained(
        &t,
        &[
            "the merge of v1.1.1 into develop was made, but the run stopped before recording it",
            "next: hotfix merge-back",
        ],
    );

    t.hf(&["merge-back"]).ok();
    assert_eq!(merges_of(&t, "develop", &fix), 1, "develop merged twice");
    assert_eq!(merges_of(&t, "release/1.1", &fix), 1);
    assert_eq!(t.author.branch(), "develop");
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    assert_eq!(runs(&t, "deploy"), 1);
    explained(&t, &["No hotfix checked out."]);
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn merge_back_killed_before_the_merge_is_undone_by_abort_then_done() {
    let (t, keep, fix) = released();
    let develop = t.author.rev("develop");
    let point = "merge-back-before-merge";
    killed(
        &t.hf_env(&["merge-back"], &[("HOTFIX_FAULT", point)]),
        point,
    );
    explained(
        &t,
        &[
            "the merge of v1.1.1 into develop was interrupted before it began",
            "next: hotfix merge-back",
        ],
    );

    t.hf(&["merge-back", "--abort"]).ok();
    assert_eq!(t.author.rev("develop"), develop);
    assert!(
        t.author
            .state_entry(HOTFIX_BRANCH)
            .unwrap()
            .get("merge_back")
            .is_none()
    );
    t.hf(&["merge-back"]).ok();
    assert_eq!(merges_of(&t, "develop", &fix), 1);
    assert_eq!(merges_of(&t, "release/1.1", &fix), 1);
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn merge_back_killed_inside_the_merge_is_committed_by_continue() {
    let (t, keep, fix) = released();
    let point = "merge-back-before-merge";
    killed(
        &t.hf_env(&["merge-back"], &[("HOTFIX_FAULT", point)]),
        point,
    );
    // what a kill inside the merge leaves: the merge made in the index and files, not committed
    t.author
        .git(&["merge", "-q", "--no-ff", "--no-commit", &fix]);
    explained(
        &t,
        &[
            "the merge of v1.1.1 into develop was interrupted before the merge was committed",
            "next: hotfix merge-back --continue",
        ],
    );
    t.refused(&["merge-back"], 2, "merge-back --continue");

    t.hf(&["merge-back", "--continue"]).ok();
    assert_eq!(merges_of(&t, "develop", &fix), 1);
    assert_eq!(merges_of(&t, "release/1.1", &fix), 1);
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn merge_back_killed_after_the_last_target_finishes_when_run_again() {
    let (t, keep, fix) = released();
    let point = "merge-back-before-done";
    killed(
        &t.hf_env(&["merge-back"], &[("HOTFIX_FAULT", point)]),
        point,
    );
    assert_eq!(merges_of(&t, "develop", &fix), 1);
    assert_eq!(merges_of(&t, "release/1.1", &fix), 1);
    explained(
        &t,
        &[
            "merge-back of v1.1.1 merged every target and was interrupted before it finished",
            "next: hotfix merge-back",
        ],
    );

    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr.contains("merged back and done"),
        "{}",
        run.stderr
    );
    assert_eq!(merges_of(&t, "develop", &fix), 1);
    assert_eq!(merges_of(&t, "release/1.1", &fix), 1);
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    nothing_lost(&t, &keep, &fix);
}

// ---- a damaged state file ----

/// Replaces the state file with `damage(old)`; then: every command stops with exit 2 and one
/// sentence naming the file, `abort` moves it aside unchanged and touches nothing else, and a
/// new hotfix can start.
fn damaged_state(damage: impl FnOnce(Vec<u8>) -> Vec<u8>, says: &str) {
    let t = team();
    let keep = Keep::plant(&t.author);
    let fix = t.author.head();
    let path = t.author.state_path();
    let bad = damage(std::fs::read(&path).unwrap());
    std::fs::write(&path, &bad).unwrap();
    let refs = t.author.refs();

    for args in [&["status"][..], &["deploy"], &["guard"]] {
        let run = t.refused(args, 2, says);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            2,
            "{args:?}: not one sentence and a hint:\n{}",
            run.stderr
        );
        assert!(
            lines[0].starts_with("error: the hotfix state file ")
                && lines[0].contains(&format!(
                    "{}",
                    Path::new("hotfix").join("state.toml").display()
                ))
                && lines[0].contains(t.author.path.file_name().unwrap().to_str().unwrap()),
            "{args:?}: the file is not named:\n{}",
            run.stderr
        );
        assert!(
            lines[1].starts_with("hint: ") && lines[1].contains("`hotfix abort`"),
            "{args:?}: no way out:\n{}",
            run.stderr
        );
    }

    let run = t.hf(&["abort"]).ok();
    assert!(run.stderr.contains("moved it to "), "{}", run.stderr);
    assert!(!path.exists());
    let aside: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("state.toml.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(run.stderr.contains(&aside[0].display().to_string()));
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        bad,
        "the content was not kept"
    );
    assert_eq!(t.author.refs(), refs, "abort changed a ref");
    assert_eq!(t.author.branch(), HOTFIX_BRANCH);

    explained(&t, &["next: hotfix start <name>"]);
    t.author.git(&["switch", "-q", "develop"]);
    t.hf(&start_args("second", &[])).ok();
    assert_eq!(t.author.branch(), "hotfix/second");
    assert!(t.author.state_entry("hotfix/second").is_some());
    nothing_lost(&t, &keep, &fix);
}

#[test]
fn a_truncated_state_file_stops_every_command_and_abort_sets_it_aside() {
    damaged_state(
        |mut old| {
            // cut half way, inside a quoted value (a cut at the end of a line could leave
            // TOML that parses, a section short of its keys, which is not the damage tested)
            let half = old.len() / 2;
            let quote = old[half..]
                .windows(3)
                .position(|w| w == b"= \"")
                .expect("a string value after the middle");
            old.truncate(half + quote + 3);
            old
        },
        "is damaged",
    );
}

#[test]
fn a_state_file_of_garbage_bytes_stops_every_command_and_abort_sets_it_aside() {
    damaged_state(
        |_| vec![0xff, 0xfe, 0x00, 0x9c, b'\n', 0x80, 0x13, 0x37],
        "is damaged: it is not text",
    );
}

#[test]
fn a_state_file_from_a_newer_hotfix_stops_every_command_and_abort_sets_it_aside() {
    damaged_state(
        |old| {
            String::from_utf8(old)
                .unwrap()
                .replacen("version = 1", "version = 99", 1)
                .into_bytes()
        },
        "was written by a newer hotfix (state version 99)",
    );
}

/// A release whose tree differs from `develop` in three files and in the policy: the release
/// has `release_policy` as its hotfix.toml (or none), `develop` the team's current policy.
fn policy_changed_since_the_release(
    release_policy: Option<&str>,
) -> (crate::support::Env, crate::support::Repo) {
    let env = crate::support::Env::new();
    let repo = env.repo("app");
    for f in ["a.txt", "b.txt", "c.txt"] {
        repo.commit_file(f, "release\n", f);
    }
    if let Some(p) = release_policy {
        repo.commit_file("hotfix.toml", p, "the old policy");
    }
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    for f in ["a.txt", "b.txt", "c.txt"] {
        repo.write(f, "develop\n");
    }
    repo.write(
        "hotfix.toml",
        "[branches]\ndevelopment = \"develop\"\n\n[deploy]\ncommand = \"echo the current deploy\"\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "develop, and the current policy"]);
    (env, repo)
}

#[test]
fn a_start_resumed_after_the_checkout_deleted_the_policy_uses_the_policy_taken_first() {
    // the release has no hotfix.toml: the killed checkout had already deleted it
    let (_env, repo) = policy_changed_since_the_release(None);
    let run = repo.hotfix_env(
        &start_args("x", &[]),
        &[("HOTFIX_FAULT", "checkout-mid-write")],
    );
    killed(&run, "checkout-mid-write");
    assert!(
        !repo.path.join("hotfix.toml").exists(),
        "the kill came too early"
    );
    repo.hotfix(&start_args("x", &[])).ok();
    assert_eq!(repo.branch(), "hotfix/x");
    let entry = repo.state_entry("hotfix/x").unwrap();
    assert_eq!(
        entry["policy"]["deploy"]["command"].as_str(),
        Some("echo the current deploy")
    );
}

#[test]
fn a_start_resumed_after_head_moved_seals_the_policy_taken_first_not_the_releases() {
    let old = "[deploy]\ncommand = \"echo the deploy of 2019\"\n";
    let (_env, repo) = policy_changed_since_the_release(Some(old));
    let run = repo.hotfix_env(
        &start_args("x", &[]),
        &[("HOTFIX_FAULT", "start-after-switch")],
    );
    killed(&run, "start-after-switch");
    // HEAD and the working tree are the release's, with its old policy
    assert_eq!(repo.branch(), "hotfix/x");
    assert_eq!(repo.read("hotfix.toml"), old);
    let status = repo.hotfix(&["status"]).ok();
    assert!(
        status
            .stdout
            .contains("start was interrupted after it checked out hotfix/x"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("next: hotfix start x"),
        "{}",
        status.stdout
    );
    repo.hotfix(&start_args("x", &[])).ok();
    let entry = repo.state_entry("hotfix/x").unwrap();
    assert_eq!(entry["phase"].as_str(), Some("open"));
    assert_eq!(
        entry["policy"]["deploy"]["command"].as_str(),
        Some("echo the current deploy")
    );
    assert_eq!(
        entry["policy"]["branches"]["development"].as_str(),
        Some("develop")
    );
}

// ---- a stale index.lock ----

fn index_lock(repo: &Repo) -> std::path::PathBuf {
    repo.git_dir().join("index.lock")
}

#[test]
fn an_index_lock_left_by_a_killed_hotfix_is_named_by_status_and_cleared_by_the_next_command() {
    for finish in [true, false] {
        // killed inside the switch, while it had claimed the index
        let t = killed_mid_write();
        // what a kill while libgit2 writes the index leaves: the new index half written
        std::fs::write(index_lock(&t.author), "DIRC\0\0\0\x02").unwrap();
        explained(
            &t,
            &["index.lock was left by a hotfix process that was killed"],
        );
        let run = if finish {
            t.hf(&start_args("login-500", &[])).ok()
        } else {
            t.hf(&["abort", "login-500", "--delete"]).ok()
        };
        assert!(
            run.stderr.contains("removed the index.lock"),
            "{}",
            run.stderr
        );
        assert!(!index_lock(&t.author).exists());
        let branch = if finish { HOTFIX_BRANCH } else { "develop" };
        assert_eq!(t.author.branch(), branch);
        assert_eq!(
            t.author
                .git(&["status", "--porcelain", "--untracked-files=no"]),
            ""
        );
    }
}

#[test]
fn an_index_lock_of_another_program_is_named_and_never_removed() {
    // hotfix was killed with the index claimed, and then a git program took the lock and
    // holds it open (as `git commit` does while its editor is open): it is not hotfix's
    let t = killed_mid_write();
    let lock = index_lock(&t.author);
    let mut holder = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec 3>>\"$0\"; exec sleep 30")
        .arg(&lock)
        .spawn()
        .unwrap();
    wait_for("the lock", || lock.exists());
    let says = "exists and was not left by hotfix: another git process may be running";
    explained(&t, &[says, "check that none is before removing it"]);
    for args in [
        vec!["abort", "login-500", "--delete"],
        start_args("login-500", &[]),
    ] {
        let run = t.refused(&args, 2, says);
        assert!(!run.stderr.contains("failed to"), "{}", run.stderr);
    }
    assert!(lock.exists());
    holder.kill().unwrap();
    holder.wait().unwrap();

    // a lock with no hotfix record (another program crashed): the same sentence
    let t = team();
    std::fs::write(index_lock(&t.author), "").unwrap();
    explained(&t, &[says]);
    t.refused(&["abort"], 2, says);
    assert!(index_lock(&t.author).exists());
}

#[test]
fn merge_back_under_an_index_lock_records_nothing_and_continue_and_abort_say_why() {
    let (t, _keep, _fix) = released();
    let says = "exists and was not left by hotfix";
    std::fs::write(index_lock(&t.author), "").unwrap();
    t.refused(&["merge-back"], 2, says);
    assert!(
        t.author
            .state_entry(HOTFIX_BRANCH)
            .unwrap()
            .get("merge_back")
            .is_none(),
        "a merge-back was recorded"
    );
    std::fs::remove_file(index_lock(&t.author)).unwrap();

    // stopped inside the merge, then a lock appears: --continue and --abort refuse in a
    // sentence, not with libgit2's error
    let point = "merge-back-before-merge";
    killed(
        &t.hf_env(&["merge-back"], &[("HOTFIX_FAULT", point)]),
        point,
    );
    let fix = t.author.rev(HOTFIX_BRANCH);
    t.author
        .git(&["merge", "-q", "--no-ff", "--no-commit", &fix]);
    std::fs::write(index_lock(&t.author), "").unwrap();
    for args in [["merge-back", "--continue"], ["merge-back", "--abort"]] {
        let run = t.refused(&args, 2, says);
        assert!(!run.stderr.contains("failed to"), "{}", run.stderr);
    }
    std::fs::remove_file(index_lock(&t.author)).unwrap();
    t.hf(&["merge-back", "--continue"]).ok();
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
}

// ---- a real SIGKILL at any moment of start ----

/// A release and a `develop` apart in a few hundred files (content, in files large enough that
/// writing them takes a while), a symbolic link retargeted, an executable bit, a file only on
/// each side; an untracked and an ignored file planted.
/// With `attributes`, a `.gitattributes` (that converts nothing here) sends the whole checkout
/// to libgit2, as in git/git.
fn many_files_apart(attributes: bool) -> (crate::support::Env, Repo) {
    let env = crate::support::Env::new();
    let repo = env.repo("app");
    if attributes {
        repo.write(".gitattributes", "* text=auto\n*.sh eol=lf\n");
    }
    let body = |tag: &str, i: usize| format!("{tag} {i}\n").repeat(400 + i % 50);
    for i in 0..250 {
        repo.write(&format!("src/d{}/f{i}.txt", i % 7), &body("release", i));
    }
    repo.write("gone-on-develop.txt", "only in the release\n");
    repo.write("tool.sh", "#!/bin/sh\necho release\n");
    std::os::unix::fs::symlink("src/d1/f1.txt", repo.path.join("current")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "release"]);
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    for i in 0..250 {
        repo.write(&format!("src/d{}/f{i}.txt", i % 7), &body("develop", i));
    }
    repo.git(&["rm", "-q", "gone-on-develop.txt"]);
    repo.write("new-on-develop.txt", "only on develop\n");
    repo.write("tool.sh", "#!/bin/sh\necho develop\n");
    std::fs::set_permissions(
        repo.path.join("tool.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::remove_file(repo.path.join("current")).unwrap();
    std::os::unix::fs::symlink("src/d2/f2.txt", repo.path.join("current")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "develop"]);
    std::fs::write(repo.git_dir().join("info").join("exclude"), "local.env\n").unwrap();
    repo.write("notes.txt", "mine\n");
    repo.write("local.env", "TOKEN=mine\n");
    (env, repo)
}

/// The working tree, index and HEAD are exactly `branch`'s commit, byte for byte (every file
/// hashed again, not trusted by its stat data), and only the planted files are besides.
#[track_caller]
fn exactly(repo: &Repo, branch: &str, what: &str) {
    assert_eq!(repo.branch(), branch, "{what}");
    assert!(
        !repo.git_dir().join("index.lock").exists(),
        "{what}: index.lock left"
    );
    assert!(
        !repo.git_dir().join("hotfix-switch").exists(),
        "{what}: journal left"
    );
    assert_eq!(
        repo.git(&["ls-files", "-s"]),
        repo.git(&[
            "ls-tree",
            "-r",
            "--format=%(objectmode) %(objectname) 0\t%(path)",
            "HEAD"
        ]),
        "{what}: the index is not HEAD's tree"
    );
    for line in repo.git(&["ls-tree", "-r", "HEAD"]).lines() {
        let (meta, path) = line.split_once('\t').unwrap();
        let mut meta = meta.split_whitespace();
        let (mode, id) = (meta.next().unwrap(), meta.nth(1).unwrap());
        let file = repo.path.join(path);
        let bytes = if mode == "120000" {
            let link = std::fs::read_link(&file)
                .unwrap_or_else(|e| panic!("{what}: {path} is not a link: {e}"));
            link.into_os_string().into_encoded_bytes()
        } else {
            let m = std::fs::symlink_metadata(&file)
                .unwrap_or_else(|e| panic!("{what}: {path} is missing: {e}"));
            assert!(m.file_type().is_file(), "{what}: {path} is not a file");
            let exec = std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o100 != 0;
            assert_eq!(exec, mode == "100755", "{what}: the mode of {path}");
            std::fs::read(&file).unwrap()
        };
        let on_disk = git2::Oid::hash_object(git2::ObjectType::Blob, &bytes).unwrap();
        assert_eq!(on_disk.to_string(), id, "{what}: {path} is not {branch}'s");
    }
    assert_eq!(
        repo.git(&[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all"
        ]),
        "?? notes.txt\n!! local.env\n",
        "{what}"
    );
    assert_eq!(repo.read("notes.txt"), "mine\n");
    assert_eq!(repo.read("local.env"), "TOKEN=mine\n");
}

#[test]
fn start_killed_at_any_moment_is_finished_by_start_or_undone_by_abort_exactly() {
    killed_at_any_moment(false);
}

#[test]
fn start_killed_at_any_moment_of_libgit2s_checkout_is_finished_or_undone_exactly() {
    killed_at_any_moment(true);
}

fn killed_at_any_moment(attributes: bool) {
    let (_env, repo) = many_files_apart(attributes);
    let start = start_args("k", &[]);
    // how long an uninterrupted start takes here (not asserted: it only spreads the kills)
    let began = Instant::now();
    repo.hotfix(&start).ok();
    let took = began.elapsed();
    repo.hotfix(&["abort", "k", "--delete"]).ok();
    exactly(&repo, "develop", "after an uninterrupted start and abort");
    for step in 0..10u32 {
        // spread over the run, most of them before its end
        let delay = took * step / 10;
        let mut child = hotfix_cmd(&repo.path)
            .args(&start)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let what = format!("killed after {delay:?}");
        eprintln!(
            "{what}: on {}, {} paths changed",
            repo.branch(),
            repo.git(&["status", "--porcelain", "--untracked-files=no"])
                .lines()
                .count()
        );
        if repo.state_entry("hotfix/k").is_none() {
            exactly(
                &repo,
                "develop",
                &format!("{what}, before anything was recorded"),
            );
            continue;
        }
        let finished = repo.state_entry("hotfix/k").unwrap()["phase"].as_str() == Some("open");
        if finished {
            // the kill came after start was done: nothing to finish
            exactly(&repo, "hotfix/k", &format!("{what}, after start finished"));
            repo.hotfix(&["abort", "k", "--delete"]).ok();
        } else if step % 2 == 0 {
            let run = repo.hotfix(&start);
            assert_eq!(run.code, 0, "{what}: start again: {}", run.stderr);
            exactly(&repo, "hotfix/k", &format!("{what}, then start again"));
            repo.hotfix(&["abort", "k", "--delete"]).ok();
        } else {
            let run = repo.hotfix(&["abort", "k", "--delete"]);
            assert_eq!(run.code, 0, "{what}: abort: {}", run.stderr);
        }
        exactly(&repo, "develop", &format!("{what}, then abort"));
    }
}

// ---- a stale ref lock of a seal ----

#[test]
fn a_seal_lock_left_by_a_killed_hotfix_does_not_stop_the_next_write() {
    // a kill while the seal ref was written leaves `<ref>.lock` behind (git's own way of
    // writing a ref); the next seal write is under the state lock, so the lock is stale
    let t = team();
    let seals = t.author.git_dir().join("refs").join("hotfix-seals");
    let lock = seals.join("hotfix%2Flogin-500.lock");
    std::fs::create_dir_all(&seals).unwrap();
    std::fs::write(&lock, "0000000000000000000000000000000000000000\n").unwrap();
    t.author
        .commit_file("app.txt", "line 1\nline 2 fixed\nline 3\n", "Fix it");
    // `hotfix test` seals its result
    t.hf(&["test"]).ok();
    assert!(!lock.exists(), "the stale lock is still there");
    let status = t.hf(&["status"]).ok();
    assert!(status.stdout.contains("✓ test"), "{}", status.stdout);
}
