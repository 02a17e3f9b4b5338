//! Temporary checkouts: one commit's tree exported (see [`Repo::export_commit`]) into a folder
//! outside the repository, for running commands on exactly the tree being judged (untracked,
//! modified or hidden files in the developer's working copy, and the clone's hooks, filters and
//! replace refs, cannot change what runs).
//!
//! Each checkout is recorded in a marker file under `<common git dir>/hotfix/checkouts/` before
//! it is made, so that a later command removes one left behind by a killed hotfix.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{ObjectType, WorktreePruneOptions};
use serde::{Deserialize, Serialize};

use super::{Exported, Oid, Repo};
use crate::error::Refusal;

/// What a marker file records about one temporary checkout.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    /// The hotfix process that made it; while it lives, the checkout is in use.
    pid: u32,
    path: PathBuf,
    /// The process group of the command run in it, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pgid: Option<u32>,
    /// Whether what still runs in it is stopped when it is removed (false for a deploy, which
    /// may start a service on purpose).
    #[serde(default = "yes")]
    stop: bool,
}

fn yes() -> bool {
    true
}

/// A temporary worktree; removed by [`TempCheckout::remove`], or when dropped.
pub struct TempCheckout<'r> {
    repo: &'r Repo,
    path: PathBuf,
    marker: PathBuf,
    pgid: Option<u32>,
    /// Stop what still runs in the folder when it is removed.
    stop_processes: bool,
    exported: Exported,
    removed: bool,
}

impl Repo {
    fn checkout_markers(&self) -> PathBuf {
        self.common_dir().join("hotfix").join("checkouts")
    }

    /// Exports `commit` (its tree, and a `.git` with HEAD detached there) into a new folder
    /// under the system's temporary folder, named after this repository and this process.
    /// Removes checkouts left by killed runs first.
    pub fn temp_checkout(&self, commit: Oid) -> Result<TempCheckout<'_>> {
        self.remove_stale_checkouts()?;
        let temp = std::env::temp_dir();
        fs::create_dir_all(&temp)
            .with_context(|| format!("could not create the temporary folder {}", temp.display()))?;
        let temp = temp.canonicalize().with_context(|| {
            format!("could not resolve the temporary folder {}", temp.display())
        })?;
        let common = self.common_dir();
        let common = common.canonicalize().unwrap_or(common);
        let workdir = self.workdir()?;
        let workdir = workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf());
        // Inside the project, tools (cargo, npm, git itself) would find the parent project.
        if temp.starts_with(&workdir) || temp.starts_with(&common) {
            return Err(Refusal::usage(format!(
                "the temporary folder {} is inside the repository; the tests need a checkout outside it",
                temp.display()
            ))
            .hint("point TMPDIR at a folder outside the repository")
            .into());
        }
        let repo_id = Oid::hash_object(ObjectType::Blob, common.as_os_str().as_encoded_bytes())
            .context("could not hash the repository path")?
            .to_string();
        let markers = self.checkout_markers();
        fs::create_dir_all(&markers)
            .with_context(|| format!("could not create {}", markers.display()))?;
        let base = format!("hotfix-{}-{}", &repo_id[..10], std::process::id());
        let mut name = base.clone();
        let mut n = 1;
        while temp.join(&name).exists() || markers.join(format!("{name}.toml")).exists() {
            name = format!("{base}-{n}");
            n += 1;
        }
        let path = temp.join(&name);
        let mut checkout = TempCheckout {
            repo: self,
            path,
            marker: markers.join(format!("{name}.toml")),
            pgid: None,
            stop_processes: true,
            exported: Exported::default(),
            removed: false,
        };
        // the marker first: a kill from here on leaves something the next run can find
        checkout.write_marker()?;

        // Written from the object database, not `git worktree add`: a checkout by git would run
        // this clone's post-checkout hook, its filters and attributes, and follow its replace
        // refs, all of which the author controls and none of which the tree holds.
        checkout.exported = self
            .export_commit(commit, &checkout.path, true)
            .with_context(|| {
                format!(
                    "could not check out {} in a temporary folder at {}",
                    super::short(commit),
                    checkout.path.display()
                )
            })?;
        Ok(checkout)
    }

    /// Removes the temporary checkouts whose hotfix process is gone (killed mid-run), with git's
    /// record of them. Cheap when there are none: one directory read. Returns the folders
    /// removed.
    pub fn remove_stale_checkouts(&self) -> Result<Vec<PathBuf>> {
        let markers = self.checkout_markers();
        let entries = match fs::read_dir(&markers) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("could not read {}", markers.display()))
                );
            }
        };
        let mut removed = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("could not read {}", markers.display()))?;
            let file = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((stem, _)) = name.strip_prefix('.').and_then(|n| n.split_once(".toml.")) {
                // a marker rewrite cut short by a kill leaves its temporary file; once its
                // marker is gone (handled below) or the file is old, nobody will rename it
                let orphan = !markers.join(format!("{stem}.toml")).exists()
                    && fs::metadata(&file)
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 60));
                if orphan {
                    let _ = fs::remove_file(&file);
                }
                continue;
            }
            if file.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let marker: Option<Marker> = fs::read_to_string(&file)
                .ok()
                .and_then(|t| toml::from_str(&t).ok());
            let Some(marker) = marker else {
                // torn by a kill while it was written: there was nothing to check out yet
                let _ = fs::remove_file(&file);
                continue;
            };
            if marker.pid != std::process::id() && process_alive(marker.pid) {
                continue;
            }
            self.remove_checkout(&marker.path, marker.pgid, marker.stop)?;
            fs::remove_file(&file)
                .with_context(|| format!("could not remove {}", file.display()))?;
            // and the temporary file of a marker rewrite the kill cut short
            let temp_prefix = format!(".{name}.");
            if let Ok(siblings) = fs::read_dir(&markers) {
                for t in siblings.flatten() {
                    if t.file_name().to_string_lossy().starts_with(&temp_prefix) {
                        let _ = fs::remove_file(t.path());
                    }
                }
            }
            removed.push(marker.path);
        }
        Ok(removed)
    }

    /// Stops what still runs in the checkout, deletes the folder, and forgets git's record of
    /// it.
    fn remove_checkout(&self, path: &Path, pgid: Option<u32>, stop: bool) -> Result<()> {
        if stop {
            kill_group_in(pgid, path);
        }
        force_remove_dir(path).with_context(|| {
            format!("could not remove the temporary worktree {}", path.display())
        })?;
        let names = self
            .repo
            .worktrees()
            .context("could not list the repository's worktrees")?;
        for name in names.iter() {
            let Ok(Some(name)) = name else { continue };
            let Ok(wt) = self.repo.find_worktree(name) else {
                continue;
            };
            if same_path(wt.path(), path) {
                wt.prune(Some(
                    WorktreePruneOptions::new()
                        .valid(true)
                        .locked(true)
                        .working_tree(false),
                ))
                .with_context(|| format!("could not prune git's record of worktree {name}"))?;
            }
        }
        Ok(())
    }
}

impl TempCheckout<'_> {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was written into it.
    pub fn exported(&self) -> &Exported {
        &self.exported
    }

    /// Leaves what runs in the folder running when it is removed: a deploy command may start a
    /// service on purpose.
    pub fn leave_processes_running(&mut self) -> Result<()> {
        self.stop_processes = false;
        self.write_marker()
    }

    /// Records the process group of the command running in the checkout, so that a later run
    /// can stop it if this hotfix is killed.
    pub fn record_process_group(&mut self, pgid: u32) -> Result<()> {
        self.pgid = Some(pgid);
        self.write_marker()
    }

    /// Deletes the checkout and git's record of it.
    pub fn remove(mut self) -> Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<()> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        self.repo
            .remove_checkout(&self.path, self.pgid, self.stop_processes)?;
        match fs::remove_file(&self.marker) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("could not remove {}", self.marker.display()))),
        }
    }

    fn write_marker(&self) -> Result<()> {
        let text = toml::to_string(&Marker {
            pid: std::process::id(),
            path: self.path.clone(),
            pgid: self.pgid,
            stop: self.stop_processes,
        })
        .context("could not serialise a checkout marker")?;
        crate::state::write_atomic(&self.marker, text.as_bytes())
    }
}

impl Drop for TempCheckout<'_> {
    /// An error or a panic on the way must not leave the checkout behind.
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.remove_now();
        }
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

/// Removes a folder tree; makes read-only folders writable first when it has to (some tools
/// write read-only caches).
fn force_remove_dir(path: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_writable(path);
            match fs::remove_dir_all(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        }
    }
}

fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mut perms = meta.permissions();
    perms.set_mode(perms.mode() | 0o700);
    let _ = fs::set_permissions(dir, perms);
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            make_writable(&e.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Kills the processes of group `pgid` that still work in `dir` (left running by a killed
/// hotfix). Both must match, so a reused group id or a shell the developer opened elsewhere is
/// never hit. Without a recorded group (hotfix was killed between starting the command and
/// noting its group) the groups are those led by a process working in `dir`: the command's
/// `sh` leads its own group. Only where /proc tells us (Linux); elsewhere they are left alone.
#[cfg(target_os = "linux")]
fn kill_group_in(pgid: Option<u32>, dir: &Path) {
    // (pid, process group, working folder) of every process we may see
    let procs: Vec<(u32, u32, PathBuf)> = match fs::read_dir("/proc") {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| {
                let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
                let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
                let rest = stat.rsplit_once(')')?.1;
                let pgrp = rest.split_whitespace().nth(2)?.parse::<u32>().ok()?;
                let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
                Some((pid, pgrp, cwd))
            })
            .collect(),
        Err(_) => return,
    };
    let groups: Vec<u32> = match pgid {
        Some(g) => vec![g],
        None => procs
            .iter()
            .filter(|(pid, pgrp, cwd)| pid == pgrp && cwd.starts_with(dir))
            .map(|(_, pgrp, _)| *pgrp)
            .collect(),
    };
    for (pid, pgrp, cwd) in &procs {
        if groups.contains(pgrp) && cwd.starts_with(dir) {
            // SAFETY: plain kill(2) of a process we just identified.
            unsafe {
                libc::kill(*pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn kill_group_in(_pgid: Option<u32>, _dir: &Path) {}
