//! `.git/index.lock` (and the lock of the branch `start` makes): knowing whether hotfix left it.
//!
//! git and libgit2 write the index by creating `index.lock`, writing the new index into it and
//! renaming it over `index`; a process killed in between leaves the lock, and every later git
//! command refuses to touch the index until someone removes it. Removing a lock another git
//! process still holds would let two writers race, so a lock is only removed when it is provably
//! hotfix's own: before each operation that may write the index, hotfix records its process
//! (pid and start time) in `<git dir>/hotfix-index-writer`, and removes the record after. A lock
//! is hotfix's stale one when that record is still there, names a process that no longer runs,
//! is older than the lock, and no running process has the lock open (git keeps it open while
//! it holds it). Anything else is another program's, and is left alone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Repo;
use crate::error::Refusal;

const RECORD: &str = "hotfix-index-writer";

/// An `index.lock` found in the repository.
#[derive(Debug, Clone)]
pub struct IndexLock {
    pub path: PathBuf,
    /// The pid of the killed hotfix process that left it, when it provably did.
    pub left_by_hotfix: Option<u32>,
    /// A hotfix command that is running now and writing the index.
    pub running_hotfix: Option<u32>,
}

impl IndexLock {
    /// One sentence for `status`.
    pub fn sentence(&self) -> String {
        match (self.left_by_hotfix, self.running_hotfix) {
            (Some(pid), _) => format!(
                "{} was left by a hotfix process that was killed (pid {pid}); the next hotfix command removes it",
                self.path.display()
            ),
            (None, Some(pid)) => format!(
                "{} is held by a hotfix command that is running now (pid {pid})",
                self.path.display()
            ),
            (None, None) => other_program(&self.path),
        }
    }
}

fn other_program(path: &Path) -> String {
    format!(
        "{} exists and was not left by hotfix: another git process may be running in this repository (an editor, an IDE, a `git commit` waiting for its message); check that none is before removing it with `rm {}`",
        path.display(),
        crate::ui::shell_word(&path.display().to_string())
    )
}

/// hotfix's record that it is writing the index; removed when dropped.
pub struct IndexClaim {
    record: PathBuf,
}

impl Drop for IndexClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.record);
    }
}

impl Repo {
    fn index_lock_path(&self) -> PathBuf {
        self.repo.path().join("index.lock")
    }

    /// The `index.lock` of this worktree (or its `HEAD.lock`, which a switch writes last), if
    /// there is one, and whose it is.
    pub fn index_lock_owner(&self) -> Result<Option<IndexLock>> {
        match self.lock_of(self.index_lock_path())? {
            Some(lock) => Ok(Some(lock)),
            None => self.lock_of(self.repo.path().join("HEAD.lock")),
        }
    }

    /// The lock file `path` (of the index, or of a ref hotfix writes while it holds its
    /// writer record), if there is one, and whose it is.
    fn lock_of(&self, path: PathBuf) -> Result<Option<IndexLock>> {
        let Ok(lock_meta) = path.symlink_metadata() else {
            return Ok(None);
        };
        let record = self.repo.path().join(RECORD);
        let mut lock = IndexLock {
            path: path.clone(),
            left_by_hotfix: None,
            running_hotfix: None,
        };
        let (Ok(text), Ok(record_meta)) =
            (std::fs::read_to_string(&record), record.symlink_metadata())
        else {
            return Ok(Some(lock));
        };
        let Some((pid, started)) = parse_record(&text) else {
            return Ok(Some(lock));
        };
        if process_start(pid).is_some_and(|s| s == started) {
            lock.running_hotfix = Some(pid);
            return Ok(Some(lock));
        }
        let (Ok(lock_time), Ok(record_time)) = (lock_meta.modified(), record_meta.modified())
        else {
            return Ok(Some(lock));
        };
        // made before hotfix began writing: not hotfix's
        if lock_time < record_time {
            return Ok(Some(lock));
        }
        if held_open(&path) != Some(false) {
            return Ok(Some(lock));
        }
        lock.left_by_hotfix = Some(pid);
        Ok(Some(lock))
    }

    /// Removes an `index.lock` a killed hotfix left (returns its pid), and refuses `doing`
    /// with one sentence when another program's lock is there. Nothing else changes.
    pub fn require_index_free(&self, doing: &str) -> Result<Option<u32>> {
        let mut cleared = None;
        let lock = loop {
            let Some(lock) = self.index_lock_owner()? else {
                if cleared.is_some() {
                    let _ = std::fs::remove_file(self.repo.path().join(RECORD));
                }
                return Ok(cleared);
            };
            let Some(pid) = lock.left_by_hotfix else {
                break lock;
            };
            std::fs::remove_file(&lock.path)
                .with_context(|| format!("could not remove {}", lock.path.display()))?;
            cleared = Some(pid);
        };
        let sentence = match lock.running_hotfix {
            Some(pid) => format!(
                "{doing} cannot begin: another hotfix command (pid {pid}) is writing the index"
            ),
            None => format!("{doing} cannot begin: {}", other_program(&lock.path)),
        };
        Err(Refusal::usage(sentence)
            .hint("run the command again once the other program is done; nothing was changed")
            .into())
    }

    /// Before `start` makes branch `branch`: a `refs/heads/<branch>.lock` that a killed hotfix
    /// left while it made the branch is removed (returns its pid); another program's refuses.
    pub fn require_branch_unlocked(&self, branch: &str) -> Result<Option<u32>> {
        let path = self
            .repo
            .commondir()
            .join("refs")
            .join("heads")
            .join(format!("{branch}.lock"));
        let Some(lock) = self.lock_of(path)? else {
            return Ok(None);
        };
        if let Some(pid) = lock.left_by_hotfix {
            std::fs::remove_file(&lock.path)
                .with_context(|| format!("could not remove {}", lock.path.display()))?;
            return Ok(Some(pid));
        }
        Err(Refusal::usage(format!(
            "cannot make the branch {branch}: {}",
            other_program(&lock.path)
        ))
        .hint("run the command again once the other program is done; nothing was changed")
        .into())
    }

    /// Before an operation that may write the index: refuses (as [`Repo::require_index_free`])
    /// while a lock is there, then records this process as the index's writer until the claim
    /// is dropped, so that a lock left by a kill meanwhile is known to be hotfix's.
    pub fn claim_index(&self, doing: &str) -> Result<IndexClaim> {
        self.require_index_free(doing)?;
        let record = self.repo.path().join(RECORD);
        let pid = std::process::id();
        let started = process_start(pid).unwrap_or(0);
        // unsynced: it only has to outlive this process, not the machine; a record cut by a
        // kill does not parse, and then no lock counts as hotfix's
        std::fs::write(&record, format!("{pid} {started}\n"))
            .with_context(|| format!("could not write {}", record.display()))?;
        Ok(IndexClaim { record })
    }
}

fn parse_record(text: &str) -> Option<(u32, u64)> {
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let started = words.next()?.parse().ok()?;
    Some((pid, started))
}

/// When process `pid` started (clock ticks since boot, field 22 of `/proc/<pid>/stat`): a pid
/// used again by another process has another start time. `None` when it does not run (or
/// there is no `/proc`).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) is in parentheses and may hold spaces
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    // a zombie (killed, not yet reaped) runs no more
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Whether a process has `path` open (`/proc/*/fd`); `None` when that cannot be known (no
/// `/proc`).
fn held_open(path: &Path) -> Option<bool> {
    let path = path.canonicalize().ok()?;
    let procs = std::fs::read_dir("/proc").ok()?;
    let mut looked = false;
    for p in procs.flatten() {
        if !p
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        looked = true;
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|t| t == path) {
                return Some(true);
            }
        }
    }
    looked.then_some(false)
}
