//! Fetch and push. These run the `git` program, so the user's credential helpers, ssh
//! configuration and url rewrites apply; they never prompt and never wait forever.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use git2::ErrorCode;

use super::{Oid, Repo};

/// How long a fetch may take before it is given up (a hung network is treated as offline).
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Pushing is what the user asked for; it gets longer, but still ends.
const PUSH_TIMEOUT: Duration = Duration::from_secs(180);

impl Repo {
    /// The remote a branch's work travels through: its upstream's remote, else `origin` if it
    /// exists, else none (then everything stays local).
    pub fn remote_for(&self, branch: Option<&str>) -> Result<Option<String>> {
        if let Some(branch) = branch {
            let config = self
                .repo
                .config()
                .context("could not read the git configuration")?;
            match config.get_string(&format!("branch.{branch}.remote")) {
                // "." is a local upstream: there is no remote to talk to
                Ok(name) if name != "." && !name.is_empty() && self.has_remote(&name)? => {
                    return Ok(Some(name));
                }
                Ok(_) => {}
                Err(e) if e.code() == ErrorCode::NotFound => {}
                Err(e) => {
                    return Err(anyhow!(e).context(format!(
                        "could not read the upstream of {branch} from the git configuration"
                    )));
                }
            }
        }
        Ok(self.has_remote("origin")?.then(|| "origin".to_string()))
    }

    /// The URL a remote fetches from, as configured (`None` for a remote with no URL).
    pub fn remote_url(&self, name: &str) -> Result<Option<String>> {
        match self.repo.find_remote(name) {
            Ok(r) => Ok(r.url().ok().filter(|u| !u.is_empty()).map(str::to_string)),
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("could not look up remote {name}"))),
        }
    }

    /// True when a remote of this name is configured.
    pub fn has_remote(&self, name: &str) -> Result<bool> {
        match self.repo.find_remote(name) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Ok(false),
            Err(e) => Err(anyhow!(e).context(format!("could not look up remote {name}"))),
        }
    }

    /// `git fetch --quiet [--tags] <remote> [<refspec>…]`. With no refspecs, the remote's
    /// configured ones apply.
    pub fn fetch(&self, remote: &str, refspecs: &[&str], tags: bool) -> Result<()> {
        let mut args = vec!["fetch", "--quiet", "--no-write-fetch-head"];
        if tags {
            args.push("--tags");
        }
        args.push("--");
        args.push(remote);
        args.extend_from_slice(refspecs);
        self.run_network(&args, FETCH_TIMEOUT)
            .with_context(|| format!("could not fetch from {remote}"))
    }

    /// `git fetch` of hotfix's own records (approvals, under refs/hotfix/): the refspecs only,
    /// with no tags following them, no submodules and no automatic maintenance afterwards
    /// (a `git maintenance run --auto` process per fetch, for a few refs to blobs). Half
    /// the time of a plain fetch, which `hotfix status` pays while a hotfix awaits review.
    /// (`-c maintenance.auto=false` is `--no-auto-maintenance`; both need git 2.29, as
    /// `--no-write-fetch-head` does.)
    pub fn fetch_records(&self, remote: &str, refspecs: &[&str]) -> Result<()> {
        self.fetch_records_within(remote, refspecs, FETCH_TIMEOUT)
    }

    /// [`Repo::fetch_records`] given at most `timeout` (a command that only shows what it
    /// knows and must not wait on a slow remote). On a timeout the error is [`super::TimedOut`].
    pub fn fetch_records_within(
        &self,
        remote: &str,
        refspecs: &[&str],
        timeout: Duration,
    ) -> Result<()> {
        let mut args = vec![
            "-c",
            "maintenance.auto=false",
            "-c",
            "fetch.recurseSubmodules=false",
            "fetch",
            "--quiet",
            "--no-write-fetch-head",
            "--no-tags",
            "--",
            remote,
        ];
        args.extend_from_slice(refspecs);
        self.run_network(&args, timeout.min(FETCH_TIMEOUT))
            .with_context(|| format!("could not fetch from {remote}"))
    }

    /// The remote's tags as it has them now, each with the commit it names: fetched into
    /// `refs/hotfix-remote/<remote>/base-tags/`, read, and deleted again (and any a killed run left
    /// deleted first), so a tag deleted on the remote is not among them, nor one that exists
    /// only in this clone. That namespace is outside `refs/tags/` and `refs/hotfix/`: local
    /// tags are untouched and nothing there is ever pushed.
    pub fn remote_tags(&self, remote: &str) -> Result<Vec<(String, Oid)>> {
        let prefix = format!("refs/hotfix-remote/{remote}/base-tags/");
        let scratch = |repo: &Self| -> Result<Vec<(String, Option<Oid>)>> {
            let glob = format!("{prefix}*");
            let mut out = Vec::new();
            for r in repo
                .repo
                .references_glob(&glob)
                .with_context(|| format!("could not list {glob}"))?
            {
                let r = r.context("could not read a reference")?;
                let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
                out.push((name, r.peel_to_commit().ok().map(|c| c.id())));
            }
            for (name, _) in &out {
                repo.delete_ref(name)?;
            }
            Ok(out)
        };
        scratch(self)?;
        self.fetch_records(remote, &[&format!("+refs/tags/*:{prefix}*")])
            .with_context(|| format!("could not read the tags of {remote}"))?;
        // a tag of a tree or a blob names no commit: no release
        Ok(scratch(self)?
            .into_iter()
            .filter_map(|(name, commit)| Some((name.strip_prefix(&prefix)?.to_string(), commit?)))
            .collect())
    }

    /// `git push <remote> <refspec>…`, never forced.
    pub fn push(&self, remote: &str, refspecs: &[&str]) -> Result<()> {
        let mut args = vec!["push", "--quiet", "--", remote];
        args.extend_from_slice(refspecs);
        self.run_network(&args, PUSH_TIMEOUT)
            .with_context(|| format!("could not push to {remote}"))
    }

    /// `git ls-remote <remote> <pattern>…`: the remote's refs as it has them now, with peeled
    /// tags as `<tag>^{}`. One round trip and no objects: how deploy learns what the remote
    /// holds before anything runs.
    pub fn ls_remote(&self, remote: &str, patterns: &[&str]) -> Result<Vec<(String, Oid)>> {
        let mut args = vec!["ls-remote", "--", remote];
        args.extend_from_slice(patterns);
        let out = self
            .run_network_output(&args, FETCH_TIMEOUT)
            .with_context(|| format!("could not read the refs of {remote}"))?;
        let mut refs = Vec::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let Some((oid, name)) = line.split_once('\t') else {
                continue;
            };
            if let Ok(oid) = Oid::from_str(oid.trim()) {
                refs.push((name.trim().to_string(), oid));
            }
        }
        Ok(refs)
    }

    /// Runs a git network command that cannot prompt (no terminal prompt, no stdin) and is
    /// killed after `timeout`. The error carries git's own message.
    fn run_network(&self, args: &[&str], timeout: Duration) -> Result<()> {
        self.run_network_to(args, timeout, Stdio::null())
            .map(|_| ())
    }

    /// [`Repo::run_network`], returning what git wrote on stdout.
    fn run_network_output(&self, args: &[&str], timeout: Duration) -> Result<Vec<u8>> {
        let stdout = tempfile::tempfile().context("could not create a temporary file")?;
        let copy = stdout
            .try_clone()
            .context("could not create a temporary file")?;
        self.run_network_to(args, timeout, Stdio::from(copy))?;
        Ok(read_all(stdout).into_bytes())
    }

    fn run_network_to(&self, args: &[&str], timeout: Duration, stdout: Stdio) -> Result<()> {
        if self.offline {
            return Err(super::Offline.into());
        }
        // a deadline set for the whole command (status) shortens every wait to what is left
        if self.fetches_spent.get() {
            return Err(super::TimedOut {
                command: args.join(" "),
                allowed: Duration::ZERO,
            }
            .into());
        }
        let timeout = match self.network_deadline.get() {
            Some(at) => {
                let left = at.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(super::TimedOut {
                        command: args.join(" "),
                        allowed: Duration::ZERO,
                    }
                    .into());
                }
                timeout.min(left)
            }
            None => timeout,
        };
        let stderr = tempfile::tempfile().context("could not create a temporary file")?;
        let mut cmd = self.git_command()?;
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(
                stderr
                    .try_clone()
                    .context("could not create a temporary file")?,
            );
        let mut child = cmd
            .spawn()
            .context("could not run `git` (is it installed and on PATH?)")?;
        // a waiting thread rather than polling: a fetch from a near remote takes a few
        // milliseconds, and `hotfix status` should not wait a moment longer than git does.
        // It waits without reaping (WNOWAIT), so the pid stays this child's until
        // `child.wait()` below, and killing it can never hit another process.
        let pid = child.id();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // SAFETY: waitid on our own child with a zeroed siginfo_t to fill in
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            loop {
                let r = unsafe {
                    libc::waitid(
                        libc::P_PID,
                        pid as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOWAIT,
                    )
                };
                if r == 0
                    || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
                {
                    break;
                }
            }
            let _ = done.send(());
        });
        if finished.recv_timeout(timeout).is_err() {
            // asked first, so git removes its lock files; then made to
            // SAFETY: kill(2) of our own child, not reaped yet (see above)
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            if finished.recv_timeout(Duration::from_secs(2)).is_err() {
                let _ = child.kill();
            }
            let _ = child.wait();
            return Err(super::TimedOut {
                command: args.join(" "),
                allowed: timeout,
            }
            .into());
        }
        let status = child.wait().context("could not wait for git")?;
        if status.success() {
            return Ok(());
        }
        let message = read_all(stderr);
        let message = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(anyhow!(if message.is_empty() {
            format!("`git {}` failed ({status})", args.join(" "))
        } else {
            message
        }))
    }
}

fn read_all(mut file: std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut out = Vec::new();
    let _ = file.rewind();
    let _ = file.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
