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
    pub fn refs(&self) -> String {
        self.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
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
