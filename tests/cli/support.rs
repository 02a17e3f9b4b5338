//! The test environment: a bare "origin", clones for an author and a reviewer, and a pinned
//! environment so that output and ids are the same on every machine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

pub const AUTHOR: (&str, &str) = ("Ann Author", "ann@example.com");
pub const REVIEWER: (&str, &str) = ("Rita Reviewer", "rita@example.com");

/// A temp folder holding repositories; removed when dropped.
pub struct Env {
    pub dir: TempDir,
}

/// One repository (a clone with a working tree, or the bare origin).
#[derive(Clone)]
pub struct Repo {
    pub path: PathBuf,
    pub identity: (String, String),
}

/// The pinned environment for every process a test starts (git and hotfix).
pub fn pin(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2026-01-15T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-15T10:00:00Z")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb");
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("hotfix-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh repository with a working tree, on branch `main`, identity = AUTHOR.
    pub fn repo(&self, name: &str) -> Repo {
        let path = self.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        let repo = Repo {
            path,
            identity: (AUTHOR.0.into(), AUTHOR.1.into()),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.set_identity(AUTHOR);
        repo
    }

    /// A bare origin, plus an author clone of it; the origin gets `main` with one commit.
    pub fn origin_and_clone(&self) -> (Repo, Repo) {
        let seed = self.repo("seed");
        seed.commit_file("README.md", "app\n", "initial commit");
        let origin = Repo {
            path: self.path().join("origin.git"),
            identity: (AUTHOR.0.into(), AUTHOR.1.into()),
        };
        run_git(
            self.path(),
            &[
                "clone",
                "-q",
                "--bare",
                seed.path.to_str().unwrap(),
                "origin.git",
            ],
        );
        let author = self.clone_of(&origin, "author", AUTHOR);
        (origin, author)
    }

    /// A clone of `origin` with its own identity.
    pub fn clone_of(&self, origin: &Repo, name: &str, who: (&str, &str)) -> Repo {
        run_git(
            self.path(),
            &["clone", "-q", origin.path.to_str().unwrap(), name],
        );
        let repo = Repo {
            path: self.path().join(name),
            identity: (who.0.into(), who.1.into()),
        };
        repo.set_identity(who);
        repo
    }

    /// A repository with releases v1.0.0 and v1.1.0 on main and a `develop` branch one commit
    /// ahead of v1.1.0, checked out on `develop`.
    pub fn released_repo(&self) -> Repo {
        let repo = self.repo("app");
        repo.commit_file("app.txt", "version 1.0\n", "release 1.0");
        repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
        repo.commit_file("app.txt", "version 1.1\n", "release 1.1");
        repo.git(&["tag", "v1.1.0"]);
        repo.git(&["switch", "-q", "-c", "develop"]);
        repo.commit_file("feature.txt", "new feature\n", "a feature in development");
        repo
    }
}

pub fn run_git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    pin(&mut cmd, dir);
    let out = cmd.current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Repo {
    pub fn git(&self, args: &[&str]) -> String {
        run_git(&self.path, args)
    }

    /// `git` with extra environment variables (a date, say); must succeed.
    pub fn git_env(&self, args: &[&str], vars: &[(&str, &str)]) -> String {
        let mut cmd = Command::new("git");
        pin(&mut cmd, &self.path);
        cmd.envs(vars.iter().copied());
        let out = cmd.current_dir(&self.path).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `git` that may fail: (success, stdout, stderr).
    pub fn git_try(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::new("git");
        pin(&mut cmd, &self.path);
        let out = cmd.current_dir(&self.path).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn set_identity(&self, who: (&str, &str)) {
        self.git(&["config", "user.name", who.0]);
        self.git(&["config", "user.email", who.1]);
    }

    pub fn write(&self, file: &str, content: &str) {
        let p = self.path.join(file);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path.join(file)).unwrap()
    }

    /// Writes a file and commits it; returns the new commit id.
    pub fn commit_file(&self, file: &str, content: &str, message: &str) -> String {
        self.write(file, content);
        self.git(&["add", "--", file]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    /// Whether the index's cache of tree ids (its `TREE` extension) is complete at the root:
    /// with it, `git status` need not compare the whole index with HEAD's tree on every run.
    pub fn tree_ids_cached(&self) -> bool {
        let index = std::fs::read(self.git_dir().join("index")).unwrap();
        let Some(at) = index.windows(4).rposition(|w| w == b"TREE") else {
            return false;
        };
        // "TREE", a 4-byte size, then the root: an empty path, NUL, then its entry count,
        // which is -1 when the root is invalid
        let root = &index[at + 8..];
        root[0] == 0 && root[1].is_ascii_digit()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev]).trim().to_string()
    }

    /// The branch checked out (empty when detached).
    pub fn branch(&self) -> String {
        self.git(&["branch", "--show-current"]).trim().to_string()
    }

    pub fn branches(&self) -> Vec<String> {
        self.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads"])
            .lines()
            .map(String::from)
            .collect()
    }

    /// Every ref with its target: a fingerprint to prove a command changed nothing.
    /// Every ref and what it points at, leaving out `refs/hotfix-remote/`: the mirror of the
    /// remote's records that history commands refresh (derived data, like a remote-tracking
    /// branch after a fetch), not something a command may be said to have changed.
    pub fn refs(&self) -> String {
        self.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
            .lines()
            .filter(|l| !l.starts_with("refs/hotfix-remote/"))
            .map(|l| {
                format!(
                    "{l}
"
                )
            })
            .collect()
    }

    pub fn git_dir(&self) -> PathBuf {
        let out = self.git(&["rev-parse", "--git-common-dir"]);
        let p = PathBuf::from(out.trim());
        if p.is_absolute() {
            p
        } else {
            self.path.join(p)
        }
    }

    pub fn state_path(&self) -> PathBuf {
        self.git_dir().join("hotfix").join("state.toml")
    }

    pub fn state(&self) -> Option<String> {
        std::fs::read_to_string(self.state_path()).ok()
    }

    /// A `hotfix` command run here, in the pinned environment.
    pub fn hotfix(&self, args: &[&str]) -> Run {
        let mut cmd = hotfix_cmd(&self.path);
        cmd.args(args)
            .env("GIT_AUTHOR_NAME", &self.identity.0)
            .env("GIT_AUTHOR_EMAIL", &self.identity.1)
            .env("GIT_COMMITTER_NAME", &self.identity.0)
            .env("GIT_COMMITTER_EMAIL", &self.identity.1);
        Run::new(cmd.output().unwrap())
    }

    /// `hotfix start <name>` with every confirm answer given as flags.
    pub fn start(&self, name: &str) -> Run {
        self.hotfix(&[
            "start",
            name,
            "--severity",
            "revenue-loss",
            "--reproduced",
            "--summary",
            "Checkout returns 500",
        ])
    }
}

/// The hotfix binary with the pinned environment, run in `dir`.
pub fn hotfix_cmd(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("hotfix").unwrap();
    pin(&mut cmd, dir);
    cmd.current_dir(dir);
    cmd
}

/// The outcome of a command: exit code and both streams.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn new(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and that stderr contains `needle`.
    #[track_caller]
    pub fn fails(self, code: i32, needle: &str) -> Run {
        let run = self.code(code);
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            run.stderr
        );
        run
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Everything a refused command must leave as it was: refs, the branch, the index, the working
/// tree's files (outside `.git`) and the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub refs: String,
    pub branch: String,
    pub head: String,
    pub index: String,
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
    pub state: Option<String>,
}

impl Repo {
    /// A fingerprint of the repository, to compare before and after a command.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = std::collections::BTreeMap::new();
        collect_files(&self.path, &self.path, &mut files);
        Snapshot {
            refs: self.refs(),
            branch: self.branch(),
            head: self.git_try(&["rev-parse", "HEAD"]).1.trim().to_string(),
            index: self.git(&["ls-files", "--stage"]),
            files,
            state: self.state(),
        }
    }

    /// `hotfix` with extra environment variables.
    pub fn hotfix_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = hotfix_cmd(&self.path);
        cmd.args(args)
            .env("GIT_AUTHOR_NAME", &self.identity.0)
            .env("GIT_AUTHOR_EMAIL", &self.identity.1)
            .env("GIT_COMMITTER_NAME", &self.identity.0)
            .env("GIT_COMMITTER_EMAIL", &self.identity.1);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        Run::new(cmd.output().unwrap())
    }

    /// Runs `hotfix args`, asserts it exits `code` with `needle` on stderr, and that the
    /// repository (refs, branch, index, files, state file) is exactly as before.
    #[track_caller]
    pub fn refused(&self, args: &[&str], code: i32, needle: &str) -> Run {
        self.refused_env(args, &[], code, needle)
    }

    #[track_caller]
    pub fn refused_env(
        &self,
        args: &[&str],
        vars: &[(&str, &str)],
        code: i32,
        needle: &str,
    ) -> Run {
        let before = self.snapshot();
        let run = self.hotfix_env(args, vars).fails(code, needle);
        assert_eq!(
            before,
            self.snapshot(),
            "`hotfix {args:?}` changed the repository although it was refused"
        );
        run
    }

    /// The state file parsed as TOML (panics when it is missing or does not parse).
    pub fn state_toml(&self) -> toml::Table {
        let text = self.state().expect("no state file");
        toml::from_str(&text).unwrap_or_else(|e| panic!("state file does not parse ({e}):\n{text}"))
    }

    /// The state entry of one hotfix branch, if any.
    pub fn state_entry(&self, branch: &str) -> Option<toml::Value> {
        self.state_toml()
            .get("hotfixes")
            .and_then(|h| h.get(branch))
            .cloned()
    }
}

fn collect_files(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            // its target may be anywhere, or nowhere: the link itself is the content
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let target = std::fs::read_link(&path).unwrap();
            out.insert(rel, target.into_os_string().into_encoded_bytes());
        } else if kind.is_dir() {
            collect_files(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

/// `start` flags that answer every confirm question.
pub const CONFIRMED: [&str; 5] = [
    "--severity",
    "revenue-loss",
    "--reproduced",
    "--summary",
    "Checkout returns 500",
];

/// `hotfix start <name>` with every confirm answer given, plus `extra` arguments.
pub fn start_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["start", name];
    args.extend(CONFIRMED);
    args.extend(extra);
    args
}

// ---- deploy, merge-back, finish, verify-merged: a team with a released product ----

/// The policy of the deploy tests: every hook is a tiny shell command that writes under `$OUT`
/// (a folder of the test), and fails on demand when a marker file exists there.
pub const DEPLOY_POLICY: &str = r#"[branches]
development = "develop"
also_merge_into = ["release/*"]

[test]
command = "test ! -e \"$OUT/tests-fails\""

[deploy]
command = "echo \"$HOTFIX_TAG $HOTFIX_VERSION $HOTFIX_COMMIT $HOTFIX_TREE $HOTFIX_BRANCH $HOTFIX_BASE_TAG\" >> \"$OUT/deploy.log\"; test ! -e \"$OUT/deploy-fails\""
verify = "echo \"$HOTFIX_TAG\" >> \"$OUT/verify.log\"; test ! -e \"$OUT/verify-fails\""
verify_retries = 0
rollback = "echo \"$HOTFIX_TAG\" >> \"$OUT/rollback.log\""
notify = "cat > \"$OUT/notify.json\"; test ! -e \"$OUT/notify-fails\""
"#;

/// A bare origin and the author's clone: `hotfix.toml` (the given policy), releases v1.0.0 and
/// v1.1.0 on main, `develop` one commit ahead, all pushed; then the hotfix `login-500` started
/// from v1.1.0 with one fix commit (not pushed). Hooks write into `out`.
pub struct Team {
    pub env: Env,
    pub origin: Repo,
    pub author: Repo,
    /// Rita's clone, made by [`TeamBuilder::reviewer`].
    pub reviewer: Option<Repo>,
    pub out: PathBuf,
}

/// The identity a command runs under when Rita does it in another's clone (git takes the
/// reviewer from GIT_AUTHOR_*, like any commit).
pub const AS_REVIEWER: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", REVIEWER.0),
    ("GIT_AUTHOR_EMAIL", REVIEWER.1),
    ("GIT_COMMITTER_NAME", REVIEWER.0),
    ("GIT_COMMITTER_EMAIL", REVIEWER.1),
];

/// Where the production branch is before `start`, for [`TeamBuilder::production`].
#[derive(Clone, Copy)]
pub enum Production {
    /// At v1.1.0 in the author's clone only.
    Local,
    /// At v1.1.0, here and on the origin.
    Pushed,
    /// At v1.1.0 on the origin only (fetched as origin/production).
    OnlyOnRemote,
}

/// What a test has the team do before `start`.
type SetupStep = Box<dyn FnOnce(&Team)>;

/// A [`Team`] set up one call a difference from the usual one (the [`DEPLOY_POLICY`],
/// released, `login-500` started with a one-line fix), as jj's `TestEnvironment`:
/// `Team::builder().production(Production::Pushed).ready().build()`.
pub struct TeamBuilder {
    policy: String,
    production: Option<Production>,
    before_start: Vec<SetupStep>,
    start: bool,
    start_extra: Vec<String>,
    before_fix: Vec<SetupStep>,
    ready: bool,
    reviewer: bool,
}

impl TeamBuilder {
    /// `hotfix.toml` as committed on main before the releases.
    pub fn policy(mut self, policy: &str) -> Self {
        self.policy = policy.to_string();
        self
    }

    /// `production = "production"` in `[branches]`, the branch at v1.1.0 where `at` says.
    pub fn production(mut self, at: Production) -> Self {
        self.production = Some(at);
        self
    }

    /// Something the team does after the releases, before `start`.
    pub fn before_start(mut self, step: impl FnOnce(&Team) + 'static) -> Self {
        self.before_start.push(Box::new(step));
        self
    }

    /// More arguments for `hotfix start login-500` (`--from TAG`, say).
    pub fn start_with(mut self, extra: &[&str]) -> Self {
        self.start_extra = extra.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Something the author commits (or does) on the hotfix branch after `start`, before the
    /// one-line fix.
    pub fn before_fix(mut self, step: impl FnOnce(&Team) + 'static) -> Self {
        self.before_fix.push(Box::new(step));
        self
    }

    /// Released only: nobody has started a hotfix yet (the author is on `develop`).
    pub fn not_started(mut self) -> Self {
        self.start = false;
        self
    }

    /// The fix approved by Rita and tested: ready to deploy.
    pub fn ready(mut self) -> Self {
        self.ready = true;
        self
    }

    /// The hotfix branch pushed (with its upstream), then Rita's clone of the origin, in
    /// `reviewer`.
    pub fn reviewer(mut self) -> Self {
        self.reviewer = true;
        self
    }

    pub fn build(self) -> Team {
        let mut policy = self.policy;
        if self.production.is_some() {
            policy = policy.replace(
                "development = \"develop\"",
                "development = \"develop\"\nproduction = \"production\"",
            );
            assert!(
                policy.contains("production = \"production\""),
                "policy edit missed"
            );
        }
        let mut t = Team::released_with(&policy);
        match self.production {
            None => {}
            Some(Production::Local) => {
                t.author.git(&["branch", "production", "v1.1.0"]);
            }
            Some(Production::Pushed) => {
                t.author.git(&["branch", "production", "v1.1.0"]);
                t.author.git(&["push", "-q", "origin", "production"]);
            }
            Some(Production::OnlyOnRemote) => {
                t.author.git(&[
                    "push",
                    "-q",
                    "origin",
                    "v1.1.0^{commit}:refs/heads/production",
                ]);
                t.author.git(&["fetch", "-q", "origin"]);
            }
        }
        for step in self.before_start {
            step(&t);
        }
        if self.start {
            let extra: Vec<&str> = self.start_extra.iter().map(String::as_str).collect();
            t.hf(&start_args("login-500", &extra)).ok();
            for step in self.before_fix {
                step(&t);
            }
            t.fix(
                "line 1\nversion 1.1\nline 3 fixed\n",
                "Fix the checkout 500",
            );
        }
        if self.ready {
            t.gates_pass();
        }
        if self.reviewer {
            t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
            t.reviewer = Some(t.env.clone_of(&t.origin, "reviewer", REVIEWER));
        }
        t
    }
}

pub const HOTFIX_BRANCH: &str = "hotfix/login-500";

impl Team {
    pub fn new() -> Team {
        Team::builder().build()
    }

    /// The usual team, to configure: see [`TeamBuilder`].
    pub fn builder() -> TeamBuilder {
        TeamBuilder {
            policy: DEPLOY_POLICY.to_string(),
            production: None,
            before_start: Vec::new(),
            start: true,
            start_extra: Vec::new(),
            before_fix: Vec::new(),
            ready: false,
            reviewer: false,
        }
    }

    /// The team before `start`: releases made and pushed, the author on `develop`.
    pub fn released(policy: &str) -> Team {
        Team::builder().policy(policy).not_started().build()
    }

    /// Released, then `hotfix start login-500` and a one-line fix committed.
    pub fn with_policy(policy: &str) -> Team {
        Team::builder().policy(policy).build()
    }

    /// Rita's clone; the team must be built with [`TeamBuilder::reviewer`].
    pub fn reviewer(&self) -> &Repo {
        self.reviewer
            .as_ref()
            .expect("the team was built without .reviewer()")
    }

    fn released_with(policy: &str) -> Team {
        let env = Env::new();
        let (origin, author) = env.origin_and_clone();
        let out = env.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        author.commit_file("hotfix.toml", policy, "hotfix policy");
        author.commit_file("app.txt", "line 1\nversion 1.0\nline 3\n", "release 1.0");
        author.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
        author.commit_file("app.txt", "line 1\nversion 1.1\nline 3\n", "release 1.1");
        author.git(&["tag", "-a", "v1.1.0", "-m", "v1.1.0"]);
        author.git(&["switch", "-q", "-c", "develop"]);
        author.commit_file("feature.txt", "new feature\n", "a feature in development");
        author.git(&["push", "-q", "origin", "main", "develop", "--tags"]);
        Team {
            env,
            origin,
            author,
            reviewer: None,
            out,
        }
    }

    /// Commits `app.txt` with `content` on the branch checked out.
    pub fn fix(&self, content: &str, message: &str) -> String {
        self.author.commit_file("app.txt", content, message)
    }

    /// `hotfix` in the author's clone with `OUT` set.
    pub fn hf(&self, args: &[&str]) -> Run {
        self.hf_env(args, &[])
    }

    pub fn hf_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out = self.out.to_str().unwrap();
        let mut all = vec![("OUT", out)];
        all.extend_from_slice(vars);
        self.author.hotfix_env(args, &all)
    }

    /// A refused command that must leave the author's clone exactly as it was.
    #[track_caller]
    pub fn refused(&self, args: &[&str], code: i32, needle: &str) -> Run {
        let out = self.out.to_str().unwrap();
        self.author.refused_env(args, &[("OUT", out)], code, needle)
    }

    /// Rita approves the checked-out tree, in the author's clone under her own identity (the
    /// reviewer identity comes from GIT_AUTHOR_*, like any git commit).
    pub fn approve(&self) {
        self.approve_in(&self.author);
    }

    /// Rita approves the tree checked out in `repo`, under her identity.
    pub fn approve_in(&self, repo: &Repo) {
        self.hf_in_env(repo, &["approve", "--yes"], &AS_REVIEWER)
            .ok();
    }

    /// Approval and a passing test run for the tree checked out: ready to deploy.
    pub fn gates_pass(&self) {
        self.approve();
        self.hf(&["test"]).ok();
    }

    /// Makes the hook `what` (`deploy`, `verify`, `notify`, `tests`) fail from now on.
    pub fn make_fail(&self, what: &str) {
        std::fs::write(self.out.join(format!("{what}-fails")), "").unwrap();
    }

    pub fn make_pass(&self, what: &str) {
        let _ = std::fs::remove_file(self.out.join(format!("{what}-fails")));
    }

    /// The lines a hook wrote (`deploy.log`, `verify.log`, `rollback.log`), none when it never ran.
    pub fn log(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.out.join(name))
            .map(|s| s.lines().map(String::from).collect())
            .unwrap_or_default()
    }

    /// What notify received on stdin, parsed.
    pub fn notified(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.out.join("notify.json")).ok()?;
        Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("notify got no JSON ({e}): {text}")),
        )
    }

    /// `hotfix status` in the author's clone.
    pub fn status(&self) -> Run {
        self.hf(&["status"]).ok()
    }

    /// A teammate's own clone of the origin with their own hotfix `name` started from the same
    /// newest release, one fix committed in `file`, approved by Rita and tested: ready to
    /// deploy. Their hooks write into the same `out` as the author's (one production).
    pub fn teammate(&self, clone: &str, name: &str, who: (&str, &str), file: &str) -> Repo {
        let repo = self.env.clone_of(&self.origin, clone, who);
        self.hf_in(&repo, &start_args(name, &[])).ok();
        repo.commit_file(file, "a teammate's fix\n", "A teammate's fix");
        self.approve_in(&repo);
        self.hf_in(&repo, &["test"]).ok();
        repo
    }

    /// `hotfix` in another clone of the team, with `OUT` set.
    pub fn hf_in(&self, repo: &Repo, args: &[&str]) -> Run {
        self.hf_in_env(repo, args, &[])
    }

    pub fn hf_in_env(&self, repo: &Repo, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out = self.out.to_str().unwrap();
        let mut all = vec![("OUT", out)];
        all.extend_from_slice(vars);
        repo.hotfix_env(args, &all)
    }

    /// `hotfix args` in `repo` started as a child process (not waited for), with `OUT` set.
    pub fn spawn_in(&self, repo: &Repo, args: &[&str]) -> std::process::Child {
        let mut cmd = hotfix_cmd(&repo.path);
        cmd.args(args)
            .env("OUT", &self.out)
            .env("GIT_AUTHOR_NAME", &repo.identity.0)
            .env("GIT_AUTHOR_EMAIL", &repo.identity.1)
            .env("GIT_COMMITTER_NAME", &repo.identity.0)
            .env("GIT_COMMITTER_EMAIL", &repo.identity.1)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    }
}

impl Repo {
    /// The release record an annotated tag carries (the JSON after the marker line).
    pub fn tag_record(&self, tag: &str) -> serde_json::Value {
        assert_eq!(
            self.git(&["cat-file", "-t", tag]).trim(),
            "tag",
            "{tag} is not an annotated tag"
        );
        let body = self.git(&["cat-file", "tag", tag]);
        let (_, json) = body
            .split_once("hotfix-record-v1:\n")
            .unwrap_or_else(|| panic!("{tag} carries no record:\n{body}"));
        let line = json.lines().next().unwrap();
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("record of {tag} is not JSON ({e}): {line}"))
    }

    /// The tag's message as git shows it (the human part above the record included).
    pub fn tag_message(&self, tag: &str) -> String {
        self.git(&["tag", "-l", "--format=%(contents)", tag])
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.git_try(&["rev-parse", "-q", "--verify", &format!("refs/tags/{tag}")])
            .0
    }

    /// Forgets when hotfix last fetched (derived data in the git dir), as if the few seconds
    /// in which `status` does not ask the remote again had passed.
    pub fn forget_last_fetch(&self) {
        let _ = std::fs::remove_file(self.git_dir().join("hotfix").join("last-fetch.json"));
    }

    pub fn has_ref(&self, refname: &str) -> bool {
        self.git_try(&["rev-parse", "-q", "--verify", refname]).0
    }

    /// True when `ancestor` is reachable from `rev`.
    pub fn contains(&self, rev: &str, ancestor: &str) -> bool {
        self.git_try(&["merge-base", "--is-ancestor", ancestor, rev])
            .0
    }
}
