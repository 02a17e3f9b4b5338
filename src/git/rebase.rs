//! Rebase for `hotfix rebase`: git's own `git rebase`, so a conflict leaves the repository in
//! git's normal rebasing state (markers, index stages, `git status` saying what to do) and any
//! editor or mergetool works on it, exactly as for a rebase the user started.

use std::process::Stdio;

use anyhow::{Context, Result, anyhow};
use git2::RepositoryState;

use super::{Oid, Repo};

/// What a rebase step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebaseOutcome {
    /// Every commit was replayed; the branch points at the new tip.
    Done,
    /// Stopped with conflicts in these paths; the repository is mid-rebase.
    Conflicts(Vec<String>),
}

impl Repo {
    /// True while git is in the middle of a rebase.
    pub fn rebase_in_progress(&self) -> bool {
        matches!(
            self.repo.state(),
            RepositoryState::Rebase
                | RepositoryState::RebaseInteractive
                | RepositoryState::RebaseMerge
        )
    }

    /// Reads the index again from disk: git wrote it behind libgit2's back.
    pub fn reload_index(&self) -> Result<()> {
        self.repo
            .index()
            .and_then(|mut i| i.read(true))
            .context("could not read the index")
    }

    /// `git rebase --onto <onto> <upstream> <branch>`: the commits of `branch` after `upstream`
    /// replayed on `onto`. Never prompts (no editor), never stashes on its own.
    pub fn rebase_onto(&self, onto: Oid, upstream: Oid, branch: &str) -> Result<RebaseOutcome> {
        let (onto, upstream) = (onto.to_string(), upstream.to_string());
        self.run_rebase(&[
            "rebase",
            "--no-autostash",
            "--no-autosquash",
            "--onto",
            &onto,
            &upstream,
            branch,
        ])
    }

    /// `git rebase --continue` after the user resolved and staged the conflicts.
    pub fn rebase_continue(&self) -> Result<RebaseOutcome> {
        self.run_rebase(&["rebase", "--continue"])
    }

    /// `git rebase --abort`: the branch and the files as they were before the rebase.
    pub fn rebase_abort(&self) -> Result<()> {
        let out = self
            .git_command()?
            .args(["rebase", "--abort"])
            .stdin(Stdio::null())
            .output()
            .context("could not run `git rebase --abort`")?;
        if out.status.success() {
            Ok(())
        } else {
            Err(anyhow!(
                "`git rebase --abort` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn run_rebase(&self, args: &[&str]) -> Result<RebaseOutcome> {
        let out = self
            .git_command()?
            .args(args)
            // the commit messages are kept as they are: no editor is ever opened
            .env("GIT_EDITOR", "true")
            .env("GIT_SEQUENCE_EDITOR", "true")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not run `git {}`", args.join(" ")))?;
        if out.status.success() && !self.rebase_in_progress() {
            return Ok(RebaseOutcome::Done);
        }
        if self.rebase_in_progress() {
            self.reload_index()?;
            let conflicts = self.conflicted_paths()?;
            if !conflicts.is_empty() {
                return Ok(RebaseOutcome::Conflicts(conflicts));
            }
        }
        let message = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(anyhow!("`git {}` failed: {message}", args.join(" ")))
    }
}
