//! `hotfix test`: the test command runs on HEAD's tree in a clean temporary worktree, gets the
//! HOTFIX_* variables as data, is stopped with its whole process group on timeout or Ctrl-C,
//! and the worktree never outlives the run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Env, Repo, Run, hotfix_cmd};

/// A released repository with `policy` committed as hotfix.toml on develop, a hotfix started
/// from v1.1.0, and the fix committed. `hotfix` runs with TMPDIR pointing at a folder of the
/// test's own, so leftovers can be seen.
struct Fixture {
    env: Env,
    repo: Repo,
    tmp: PathBuf,
}

impl Fixture {
    fn new(policy: &str) -> Fixture {
        Self::with_summary(policy, "Checkout returns 500")
    }

    fn with_summary(policy: &str, summary: &str) -> Fixture {
        let env = Env::new();
        let repo = env.released_repo();
        if !policy.is_empty() {
            repo.commit_file("hotfix.toml", policy, "hotfix policy");
        }
        let tmp = env.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let f = Fixture { env, repo, tmp };
        f.hotfix(&[
            "start",
            "login-500",
            "--severity",
            "revenue-loss",
            "--reproduced",
            "--summary",
            summary,
        ])
        .ok();
        f.repo
            .commit_file("app.txt", "version 1.1 fixed\n", "fix checkout 500");
        f
    }

    /// A path in the test's folder (outside the repository).
    fn file(&self, name: &str) -> PathBuf {
        self.env.path().join(name)
    }

    /// A `[test]` section running the script `name` from the test's folder.
    fn script_policy(&self, name: &str, timeout: &str) -> String {
        format!(
            "[test]\ncommand = 'sh \"{}\"'\ntimeout = \"{timeout}\"\n",
            self.file(name).display()
        )
    }

    /// Commits `policy` as hotfix.toml on develop, then returns to the hotfix branch; only in
    /// this clone.
    fn commit_local_policy(&self, policy: &str) {
        self.repo.git(&["switch", "-q", "develop"]);
        self.repo.commit_file("hotfix.toml", policy, "team policy");
        self.repo.git(&["switch", "-q", "hotfix/login-500"]);
    }

    /// Commits `policy` on develop and pushes it to `origin` (made here when missing): the
    /// team's policy, what the test gate falls back to when the start snapshot has no command.
    fn commit_team_policy(&self, policy: &str) {
        self.commit_local_policy(policy);
        self.push_develop();
    }

    /// Pushes develop to `origin`, made here when missing.
    fn push_develop(&self) {
        let origin = self.env.path().join("origin.git");
        if !origin.exists() {
            crate::support::run_git(
                self.env.path(),
                &["init", "-q", "--bare", origin.to_str().unwrap()],
            );
            self.repo
                .git(&["remote", "add", "origin", origin.to_str().unwrap()]);
        }
        self.repo.git(&["push", "-q", "origin", "develop"]);
    }

    fn write_script(&self, name: &str, body: &str) {
        std::fs::write(self.file(name), body).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = hotfix_cmd(&self.repo.path);
        cmd.args(args)
            .env("GIT_AUTHOR_NAME", &self.repo.identity.0)
            .env("GIT_AUTHOR_EMAIL", &self.repo.identity.1)
            .env("GIT_COMMITTER_NAME", &self.repo.identity.0)
            .env("GIT_COMMITTER_EMAIL", &self.repo.identity.1)
            .env("TMPDIR", &self.tmp);
        cmd
    }

    fn hotfix(&self, args: &[&str]) -> Run {
        Run::new(self.command(args).output().unwrap())
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn status(&self) -> serde_json::Value {
        self.hotfix(&["status", "--json"]).ok().json()
    }

    fn test_gate(&self) -> serde_json::Value {
        let status = self.status();
        status["hotfix"]["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["gate"] == "test")
            .cloned()
            .unwrap()
    }

    /// The state file's record of the last test run.
    fn record(&self) -> toml::Value {
        let state: toml::Value = toml::from_str(&self.repo.state().unwrap()).unwrap();
        state["hotfixes"]["hotfix/login-500"]
            .get("tests")
            .cloned()
            .unwrap_or_else(|| panic!("no test record in the state"))
    }

    /// Worktrees git knows of, besides the repository's own.
    fn extra_worktrees(&self) -> Vec<String> {
        self.repo
            .git(&["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree "))
            .filter(|p| Path::new(p) != self.repo.path.canonicalize().unwrap())
            .map(String::from)
            .collect()
    }

    /// What is left in the temporary folder.
    fn temp_leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[track_caller]
    fn assert_no_worktree_left(&self) {
        assert_eq!(
            self.extra_worktrees(),
            Vec::<String>::new(),
            "git worktrees"
        );
        assert_eq!(self.temp_leftovers(), Vec::<String>::new(), "temp folder");
        let markers = self.repo.git_dir().join("hotfix").join("checkouts");
        let left = std::fs::read_dir(&markers)
            .map(|d| d.count())
            .unwrap_or_default();
        assert_eq!(left, 0, "checkout markers in {}", markers.display());
    }
}

/// Waits up to 10 s for `done`.
#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process has ended (a zombie waiting for a parent that never reaps counts as ended).
fn process_gone(pid: &str) -> bool {
    if Path::new("/proc/self/stat").exists() {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        }
    } else {
        !Command::new("kill")
            .args(["-0", pid])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }
}

#[test]
fn a_pass_is_recorded_for_the_tree_and_goes_stale_after_a_new_commit() {
    let f = Fixture::new("[test]\ncommand = \"echo all good\"\n");
    let run = f.hotfix(&["test"]).ok();
    assert!(run.stderr.contains("all good"), "{}", run.stderr);
    assert!(run.stderr.contains("tests passed"), "{}", run.stderr);
    assert_eq!(run.stdout, "", "test output stays off stdout");

    let record = f.record();
    assert_eq!(record["passed"].as_bool(), Some(true));
    assert_eq!(record["exit_code"].as_integer(), Some(0));
    assert_eq!(record["tree"].as_str().unwrap(), f.repo.rev("HEAD^{tree}"));
    assert_eq!(record["commit"].as_str().unwrap(), f.repo.head());
    let log = record["log"].as_str().unwrap();
    assert!(std::fs::read_to_string(log).unwrap().contains("all good"));

    let gate = f.test_gate();
    assert_eq!(gate["passed"], true, "{gate}");
    assert!(gate["reason"].as_str().unwrap().starts_with("passed in "));
    let human = f.hotfix(&["status"]).ok();
    assert!(human.stdout.contains("✓ test"), "{}", human.stdout);
    f.assert_no_worktree_left();

    f.repo
        .commit_file("app.txt", "version 1.1 fixed again\n", "second fix");
    let gate = f.test_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains("older tree"),
        "{gate}"
    );
    assert_eq!(gate["next"], "hotfix test");
}

#[test]
fn a_failure_exits_1_and_is_recorded_with_its_log() {
    let f = Fixture::new("[test]\ncommand = \"echo boom >&2; exit 3\"\n");
    let run = f.hotfix(&["test"]).fails(1, "the tests failed (exit 3)");
    assert!(run.stderr.contains("boom"), "{}", run.stderr);
    let record = f.record();
    assert_eq!(record["passed"].as_bool(), Some(false));
    assert_eq!(record["exit_code"].as_integer(), Some(3));
    let log = record["log"].as_str().unwrap();
    assert!(
        run.stderr.contains(log),
        "the hint names the log: {}",
        run.stderr
    );
    assert!(std::fs::read_to_string(log).unwrap().contains("boom"));

    let gate = f.test_gate();
    assert_eq!(gate["passed"], false);
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .starts_with("failed (exit 3)"),
        "{gate}"
    );
    f.assert_no_worktree_left();
}

#[test]
fn a_timeout_stops_the_whole_process_group() {
    let env_probe = Env::new();
    let pid_file = env_probe.path().join("bg.pid");
    let f = Fixture::new(&format!(
        "[test]\ncommand = 'sleep 30 & echo $! > \"{}\"; sleep 30'\ntimeout = \"1s\"\n",
        pid_file.display()
    ));
    let started = Instant::now();
    f.hotfix(&["test"]).fails(1, "the tests timed out after 1s");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let record = f.record();
    assert_eq!(record["passed"].as_bool(), Some(false));
    assert_eq!(record["timed_out"].as_bool(), Some(true));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    wait_for("the background sleep to end", || process_gone(pid));
    f.assert_no_worktree_left();
    let gate = f.test_gate();
    assert!(
        gate["reason"].as_str().unwrap().starts_with("timed out"),
        "{gate}"
    );
}

#[test]
fn the_tests_see_the_committed_tree_not_the_working_copy() {
    let env_probe = Env::new();
    let pwd = env_probe.path().join("pwd.txt");
    let f = Fixture::new(&format!(
        "[test]\ncommand = 'pwd > \"{}\"; test ! -e untracked.txt && grep -qx \"version 1.1 fixed\" app.txt'\n",
        pwd.display()
    ));
    f.repo.write("untracked.txt", "makes a sloppy test pass\n");
    f.repo.write("app.txt", "uncommitted edit\n");
    let run = f.hotfix(&["test"]).ok();
    assert!(
        run.stderr.contains("uncommitted changes (app.txt)"),
        "{}",
        run.stderr
    );
    let ran_in = std::fs::read_to_string(&pwd).unwrap();
    let repo = f.repo.path.canonicalize().unwrap();
    assert!(
        !Path::new(ran_in.trim()).starts_with(&repo),
        "ran inside the repository: {ran_in}"
    );
    assert!(
        Path::new(ran_in.trim()).starts_with(f.tmp.canonicalize().unwrap()),
        "ran outside TMPDIR: {ran_in}"
    );
    // the developer's files are untouched
    assert_eq!(f.repo.read("app.txt"), "uncommitted edit\n");
    assert!(f.repo.path.join("untracked.txt").exists());
    f.assert_no_worktree_left();

    // and the same command fails when the untracked file would be needed
    let f = Fixture::new("[test]\ncommand = \"test -e untracked.txt\"\n");
    f.repo.write("untracked.txt", "x\n");
    f.hotfix(&["test"]).fails(1, "the tests failed (exit 1)");
}

#[test]
fn hotfix_variables_arrive_as_data_never_as_code() {
    let env_probe = Env::new();
    let out = env_probe.path().join("env.txt");
    let summary = "$(touch pwned) `touch pwned2`; touch pwned3";
    let f = Fixture::with_summary(
        &format!(
            "[test]\ncommand = 'env > \"{}\"; ls -a >> \"{}\"'\n",
            out.display(),
            out.display()
        ),
        summary,
    );
    f.hotfix(&["test"]).ok();
    let seen = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = seen.lines().collect();
    let head = f.repo.head();
    let tree = f.repo.rev("HEAD^{tree}");
    for expected in [
        "HOTFIX_BRANCH=hotfix/login-500".to_string(),
        "HOTFIX_BASE_TAG=v1.1.0".to_string(),
        "HOTFIX_TAG=".to_string(),
        "HOTFIX_VERSION=".to_string(),
        format!("HOTFIX_COMMIT={head}"),
        format!("HOTFIX_TREE={tree}"),
        "HOTFIX_SEVERITY=revenue-loss".to_string(),
        format!("HOTFIX_SUMMARY={summary}"),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "missing {expected}:\n{seen}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("pwned")),
        "the summary ran as code:\n{seen}"
    );
    for dir in [f.repo.path.as_path(), f.env.path(), env_probe.path()] {
        for name in ["pwned", "pwned2", "pwned3"] {
            assert!(!dir.join(name).exists(), "{name} in {}", dir.display());
        }
    }
}

#[test]
fn a_worktree_left_by_a_killed_run_is_removed_by_the_next() {
    let f = Fixture::new("");
    // the policy comes from hotfix.toml committed on the branch: the snapshot has no command
    let policy = f.script_policy("t.sh", "60s");
    f.commit_team_policy(&policy);
    let started = f.file("started");
    let pid_file = f.file("t.pid");
    f.write_script(
        "t.sh",
        &format!(
            "echo $$ > \"{}\"; touch \"{}\"; exec sleep 30\n",
            pid_file.display(),
            started.display()
        ),
    );
    let mut child = f.spawn(&["test"]);
    wait_for("the test command to start", || started.exists());
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    // the checkout is an export, not a git worktree: only its folder is left
    assert_eq!(f.extra_worktrees().len(), 0);
    assert_eq!(
        f.temp_leftovers().len(),
        1,
        "the killed run left its checkout"
    );

    f.write_script("t.sh", "exit 0\n");
    f.hotfix(&["test"]).ok();
    f.assert_no_worktree_left();
    if Path::new("/proc/self/stat").exists() {
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        wait_for("the orphaned test command to be stopped", || {
            process_gone(pid.trim())
        });
    }
}

#[test]
fn status_removes_a_worktree_left_by_a_killed_run() {
    let f = Fixture::new("");
    f.commit_team_policy(&f.script_policy("t.sh", "60s"));
    let started = f.file("started");
    f.write_script(
        "t.sh",
        &format!("touch \"{}\"; exec sleep 30\n", started.display()),
    );
    let mut child = f.spawn(&["test"]);
    wait_for("the test command to start", || started.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(f.temp_leftovers().len(), 1);
    f.status();
    f.assert_no_worktree_left();
}

#[test]
fn ctrl_c_stops_the_tests_removes_the_worktree_and_exits_130() {
    let f = Fixture::new("");
    f.commit_team_policy(&f.script_policy("t.sh", "60s"));
    let started = f.file("started");
    let pid_file = f.file("t.pid");
    f.write_script(
        "t.sh",
        &format!(
            "echo $$ > \"{}\"; touch \"{}\"; exec sleep 30\n",
            pid_file.display(),
            started.display()
        ),
    );
    let mut child = f.spawn(&["test"]);
    wait_for("the test command to start", || started.exists());
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    f.assert_no_worktree_left();
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    wait_for("the test command to be stopped", || {
        process_gone(pid.trim())
    });
    let state: toml::Value = toml::from_str(&f.repo.state().unwrap()).unwrap();
    assert!(
        state["hotfixes"]["hotfix/login-500"].get("tests").is_none(),
        "an interrupted run records nothing"
    );
}

#[test]
fn no_test_command_fails_the_gate_with_how_to_configure_it() {
    let f = Fixture::new("");
    f.hotfix(&["test"]).fails(
        1,
        "no test command is configured for this hotfix; set test.command in hotfix.toml (e.g. \"cargo test\")",
    );
    assert!(
        f.repo
            .state()
            .unwrap()
            .find("[hotfixes.\"hotfix/login-500\".tests]")
            .is_none()
    );
    let gate = f.test_gate();
    assert_eq!(gate["passed"], false);
    assert!(
        gate["reason"].as_str().unwrap().contains("no test command"),
        "{gate}"
    );

    // neither an uncommitted edit nor one committed on the hotfix branch chooses the command
    // that judges the fix (it could say `true`)
    f.repo.write("hotfix.toml", "[test]\ncommand = \"true\"\n");
    f.hotfix(&["test"])
        .fails(1, "no test command is configured");
    f.repo.git(&["add", "hotfix.toml"]);
    f.repo
        .git(&["commit", "-q", "-m", "configure the tests on the branch"]);
    f.hotfix(&["test"])
        .fails(1, "no test command is configured");
    // committed on develop in a clone with no remote: not the team's policy, still no command
    f.commit_local_policy("[test]\ncommand = \"true\"\n");
    f.hotfix(&["test"])
        .fails(1, "no test command is configured");
    // pushed to the remote's develop, the team's policy, it is used, and the user is told
    f.push_develop();
    let run = f.hotfix(&["test"]).ok();
    assert!(
        run.stderr
            .contains("using test.command committed on origin's develop"),
        "{}",
        run.stderr
    );
    assert_eq!(f.test_gate()["passed"], true);
}

#[test]
fn an_override_passes_the_gate_for_this_tree_without_running() {
    let f = Fixture::new("[test]\ncommand = \"exit 1\"\n");
    f.hotfix(&[
        "test",
        "--override",
        "test",
        "--reason",
        "tests need prod data",
    ])
    .ok();
    let gate = f.test_gate();
    assert_eq!(gate["passed"], true, "{gate}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .contains("tests need prod data"),
        "{gate}"
    );
    f.repo.commit_file("app.txt", "another change\n", "more");
    assert_eq!(
        f.test_gate()["passed"],
        false,
        "an override is for one tree"
    );
}

#[test]
fn the_hotfix_must_be_checked_out() {
    let f = Fixture::new("[test]\ncommand = \"true\"\n");
    f.repo.git(&["switch", "-q", "develop"]);
    f.hotfix(&["test"]).fails(2, "git switch hotfix/login-500");
}

#[test]
fn a_command_that_prompts_on_the_terminal_fails_fast_instead_of_hanging() {
    let f = Fixture::new("");
    f.commit_team_policy(&f.script_policy("t.sh", "5s"));
    // what ssh or sudo do when they want a password: read from the controlling terminal
    f.write_script(
        "t.sh",
        "read answer < /dev/tty\necho \"read: $answer\"\nexit 0\n",
    );
    // run hotfix on a real terminal (script(1) gives it a pty); the command has none
    let bin = assert_cmd::cargo::cargo_bin("hotfix");
    let mut cmd = Command::new("script");
    crate::support::pin(&mut cmd, &f.repo.path);
    cmd.current_dir(&f.repo.path)
        .args(["-qec", &format!("'{}' test", bin.display()), "/dev/null"])
        .env("GIT_AUTHOR_NAME", &f.repo.identity.0)
        .env("GIT_AUTHOR_EMAIL", &f.repo.identity.1)
        .env("GIT_COMMITTER_NAME", &f.repo.identity.0)
        .env("GIT_COMMITTER_EMAIL", &f.repo.identity.1)
        .env("TMPDIR", &f.tmp)
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let record = f.repo.state_entry("hotfix/login-500").unwrap()["tests"].clone();
    // stopped on the terminal it would have timed out after 5s instead
    assert_eq!(record["timed_out"].as_bool(), Some(false), "{record}");
    assert_eq!(record["passed"].as_bool(), Some(true), "{record}");
}
