//! Every local git operation, behind one `Repo` type. Each call names what it was doing when it
//! fails; "not found" is an `Option`. Network work (fetch, push) runs the `git` program so the
//! user's credential helpers and ssh configuration apply.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow};
pub use git2::Oid;
use git2::{BranchType, ErrorCode, Repository, StatusOptions};

use crate::error::Refusal;

pub mod diff;
mod export;
pub use export::Exported;
mod worktree;
pub use worktree::TempCheckout;
mod blame;
mod checkout;
mod graph;
mod index_lock;
mod journal;
pub use index_lock::IndexLock;
pub mod merge;
pub mod rebase;
mod refs;
mod remote;
mod review;
pub use blame::{BlamedCommit, DatedTag, OldLines};
mod symlinks;
pub use symlinks::ChangedLink;
mod tags;
mod treediff;
pub use graph::{AncestorSet, HistoryIndex};
pub use refs::Created;
pub use review::CommitInfo;

pub struct Repo {
    repo: Repository,
    /// `--offline`: every network operation fails with [`Offline`] before it starts.
    offline: bool,
    /// When set, no network operation runs past this moment (`hotfix status`'s budget): one
    /// started later fails at once with [`TimedOut`], one under way is stopped then.
    network_deadline: std::cell::Cell<Option<std::time::Instant>>,
    /// When set, no git network operation runs at all (status had its one look at the
    /// remote); the forge's requests still may, within the deadline.
    fetches_spent: std::cell::Cell<bool>,
}

/// The error of a fetch or push refused because `--offline` was given; callers that can go on
/// without the network (status) downcast to it, the others say that the command needs it.
#[derive(Debug, thiserror::Error)]
#[error("--offline was given, so hotfix did not contact the remote")]
pub struct Offline;

/// The error of a fetch or push that did not finish in the time it was given (a hung or slow
/// network), or was not started because that time was already spent.
#[derive(Debug, thiserror::Error)]
#[error("`git {command}` did not finish within {}", seconds_text(*.allowed))]
pub struct TimedOut {
    pub command: String,
    pub allowed: std::time::Duration,
}

/// `60 seconds`, `1.5 seconds`.
fn seconds_text(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} seconds")
    } else {
        format!("{s:.1} seconds")
    }
}

/// Where HEAD points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// On a branch (short name) at a commit.
    Branch(String, Oid),
    /// On a branch with no commit yet.
    Unborn(String),
    Detached(Oid),
}

/// A person as git records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Repo {
    /// Opens the repository containing `path`, as git does.
    pub fn discover(path: &Path) -> Result<Repo> {
        treediff::tune_libgit2();
        let repo = Repository::discover(path).map_err(|e| match e.code() {
            ErrorCode::NotFound => Refusal::usage(format!(
                "not a git repository (or any parent up to the root): {}",
                path.display()
            ))
            .hint("run hotfix inside a git repository, or point at one with -C <path>")
            .into(),
            ErrorCode::Owner => Refusal::usage(format!(
                "the repository at {} is owned by another user, and git refuses it as unsafe",
                path.display()
            ))
            .hint(format!(
                "if you trust it: git config --global --add safe.directory {}",
                path.display()
            ))
            .into(),
            _ => anyhow!(e).context(format!(
                "could not open a git repository at {}",
                path.display()
            )),
        })?;
        Ok(Repo {
            repo,
            offline: false,
            network_deadline: std::cell::Cell::new(None),
            fetches_spent: std::cell::Cell::new(false),
        })
    }

    /// `--offline`: from now on no fetch or push is made; each fails with [`Offline`].
    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
    }

    /// Whether `--offline` was given.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// From now on no network operation runs past `at` (see [`TimedOut`]); an earlier deadline
    /// already set stays.
    pub fn set_network_deadline(&self, at: std::time::Instant) {
        let at = match self.network_deadline.get() {
            Some(old) if old < at => old,
            _ => at,
        };
        self.network_deadline.set(Some(at));
    }

    /// From now on no git network operation runs (see [`TimedOut`] with nothing allowed): the
    /// command had its look at the remote. The forge's requests keep the deadline.
    pub fn spend_fetches(&self) {
        self.fetches_spent.set(true);
    }

    /// The moment no network operation may run past, when one is set (`hotfix status`).
    pub fn network_deadline(&self) -> Option<std::time::Instant> {
        self.network_deadline.get()
    }

    /// The working tree's root; a bare repository is refused.
    pub fn workdir(&self) -> Result<&Path> {
        self.repo.workdir().ok_or_else(|| {
            Refusal::usage("this is a bare repository; hotfix needs a working tree")
                .hint("run it in a clone with a working tree")
                .into()
        })
    }

    /// The git directory shared by all worktrees of this repository.
    pub fn common_dir(&self) -> PathBuf {
        self.repo.commondir().to_path_buf()
    }

    pub fn is_bare(&self) -> bool {
        self.repo.is_bare()
    }

    pub fn head(&self) -> Result<Head> {
        match self.repo.head() {
            Ok(r) => {
                let oid = r.target().context("HEAD points at no commit")?;
                if self.repo.head_detached().context("could not read HEAD")? {
                    Ok(Head::Detached(oid))
                } else {
                    Ok(Head::Branch(
                        r.shorthand()
                            .context("HEAD's branch name is not UTF-8")?
                            .to_string(),
                        oid,
                    ))
                }
            }
            Err(e) if e.code() == ErrorCode::UnbornBranch => {
                let r = self
                    .repo
                    .find_reference("HEAD")
                    .context("could not read HEAD")?;
                let target = r
                    .symbolic_target()
                    .ok()
                    .flatten()
                    .unwrap_or("refs/heads/main");
                Ok(Head::Unborn(
                    target.trim_start_matches("refs/heads/").to_string(),
                ))
            }
            Err(e) => Err(anyhow!(e).context("could not read HEAD")),
        }
    }

    /// The branch checked out, or a refusal saying why there is none.
    pub fn current_branch(&self) -> Result<(String, Oid)> {
        match self.head()? {
            Head::Branch(name, oid) => Ok((name, oid)),
            Head::Detached(oid) => Err(Refusal::usage(format!(
                "HEAD is detached at {}; hotfix needs to know which branch to come back to",
                short(oid)
            ))
            .hint("check out a branch first, e.g. `git switch <branch>`")
            .into()),
            Head::Unborn(name) => Err(Refusal::usage(format!(
                "branch {name} has no commits yet; there is nothing to fix"
            ))
            .into()),
        }
    }

    /// The commit a local branch points at.
    pub fn branch_tip(&self, name: &str) -> Result<Option<Oid>> {
        match self.repo.find_branch(name, BranchType::Local) {
            Ok(b) => Ok(b.get().target()),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) if e.code() == ErrorCode::InvalidSpec => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("could not look up branch {name}"))),
        }
    }

    /// The commit a remote-tracking branch (`origin/main`) points at.
    pub fn remote_branch_tip(&self, name: &str) -> Result<Option<Oid>> {
        match self.repo.find_branch(name, BranchType::Remote) {
            Ok(b) => Ok(b.get().target()),
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("could not look up remote branch {name}"))),
        }
    }

    pub fn is_valid_branch_name(name: &str) -> bool {
        !name.starts_with('-') && git2::Branch::name_is_valid(name).unwrap_or(false)
    }

    /// A string from the repository's git configuration (local, global or system).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo
            .config()
            .ok()?
            .get_string(key)
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// The remote's default branch (`origin/HEAD` → `main`), if recorded.
    pub fn remote_default_branch(&self) -> Option<String> {
        let r = self.repo.find_reference("refs/remotes/origin/HEAD").ok()?;
        let target = r.symbolic_target().ok().flatten()?;
        Some(target.strip_prefix("refs/remotes/origin/")?.to_string())
    }

    /// `develop` if it exists (locally or on origin), else the remote's default branch, else main,
    /// else master.
    pub fn detect_development(&self) -> Result<Option<String>> {
        if self.branch_tip("develop")?.is_some()
            || self.remote_branch_tip("origin/develop")?.is_some()
        {
            return Ok(Some("develop".into()));
        }
        if let Some(d) = self.remote_default_branch() {
            return Ok(Some(d));
        }
        for name in ["main", "master"] {
            if self.branch_tip(name)?.is_some() {
                return Ok(Some(name.into()));
            }
        }
        Ok(None)
    }

    /// Paths with staged or unstaged changes to tracked files (untracked files are not lost by
    /// a checkout, which refuses to overwrite them), at most `limit` of them.
    pub fn changed_paths(&self, limit: usize) -> Result<Vec<String>> {
        self.status_paths(limit, false)
    }

    /// [`Repo::changed_paths`], plus untracked files that are not ignored: what a command run in
    /// the working tree (a deploy) would see besides the commit.
    pub fn changed_or_untracked_paths(&self, limit: usize) -> Result<Vec<String>> {
        self.status_paths(limit, true)
    }

    fn status_paths(&self, limit: usize, untracked: bool) -> Result<Vec<String>> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(untracked)
            .recurse_untracked_dirs(false)
            .include_ignored(false)
            .exclude_submodules(true);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .context("could not read the working tree's status")?;
        Ok(statuses
            .iter()
            .filter(|s| !s.status().is_empty() && !s.status().is_ignored())
            .take(limit)
            .map(|s| String::from_utf8_lossy(s.path_bytes()).into_owned())
            .collect())
    }

    /// Refuses when tracked files have changes, naming a few: nothing is ever discarded.
    pub fn require_clean(&self, doing: &str) -> Result<()> {
        let changed = self.changed_paths(4)?;
        if changed.is_empty() {
            return Ok(());
        }
        let list = few_paths(&changed);
        Err(Refusal::usage(format!(
            "the working tree has uncommitted changes ({list}); {doing} needs a clean tree"
        ))
        .hint("commit or stash them first (`git stash`); nothing was changed")
        .into())
    }

    /// Names of tags matching a glob (git's fnmatch), unsorted.
    pub fn tag_names(&self, pattern: &str) -> Result<Vec<String>> {
        let names = self
            .repo
            .tag_names(Some(pattern))
            .with_context(|| format!("could not list tags matching {pattern}"))?;
        Ok(names
            .iter()
            .filter_map(|n| n.ok().flatten().map(String::from))
            .collect())
    }

    /// The commit a tag (lightweight or annotated) points at.
    pub fn tag_commit(&self, name: &str) -> Result<Option<Oid>> {
        let r = match self.repo.find_reference(&format!("refs/tags/{name}")) {
            Ok(r) => r,
            // `main~3` is no tag name at all: not found, so callers try it as a revision
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
                return Ok(None);
            }
            Err(e) => return Err(anyhow!(e).context(format!("could not read tag {name}"))),
        };
        let commit = r.peel_to_commit().map_err(|_| {
            Refusal::usage(format!(
                "the tag {name} does not point at a commit, so nothing can branch from it"
            ))
            .hint("pass a tag or revision that names a commit")
        })?;
        Ok(Some(commit.id()))
    }

    /// Resolves a revision (tag, branch, sha, `HEAD~2`) to a commit.
    pub fn resolve_commit(&self, rev: &str) -> Result<Option<Oid>> {
        match self.repo.revparse_single(rev) {
            Ok(obj) => match obj.peel_to_commit() {
                Ok(c) => Ok(Some(c.id())),
                Err(_) => Ok(None),
            },
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::NotFound | ErrorCode::InvalidSpec | ErrorCode::Ambiguous
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(anyhow!(e).context(format!("could not resolve {rev}"))),
        }
    }

    /// The parents of a commit, in order.
    pub fn parents_of(&self, commit: Oid) -> Result<Vec<Oid>> {
        Ok(self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?
            .parent_ids()
            .collect())
    }

    pub fn tree_of(&self, commit: Oid) -> Result<Oid> {
        Ok(self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?
            .tree_id())
    }

    /// The content of a file (a path from the root) in a commit's tree, if it has one.
    pub fn file_at(&self, commit: Oid, path: &str) -> Result<Option<Vec<u8>>> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {commit}"))?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        match self.repo.find_blob(entry.id()) {
            Ok(blob) => Ok(Some(blob.content().to_vec())),
            Err(_) => Ok(None),
        }
    }

    /// The folders of `commit`'s tree under `dir` ("" for the root), down to `depth` levels,
    /// as paths from the root.
    pub fn dirs_at(&self, commit: Oid, dir: &str, depth: usize) -> Result<Vec<String>> {
        let root = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {commit}"))?;
        let start = if dir.is_empty() {
            root
        } else {
            match root.get_path(Path::new(dir)) {
                Ok(e) => match self.repo.find_tree(e.id()) {
                    Ok(t) => t,
                    Err(_) => return Ok(Vec::new()),
                },
                Err(_) => return Ok(Vec::new()),
            }
        };
        let mut out = Vec::new();
        let mut todo = vec![(start, dir.to_string(), 0)];
        while let Some((tree, at, level)) = todo.pop() {
            if level >= depth {
                continue;
            }
            for e in tree.iter() {
                if e.kind() != Some(git2::ObjectType::Tree) {
                    continue;
                }
                let Ok(name) = std::str::from_utf8(e.name_bytes()) else {
                    continue;
                };
                let path = if at.is_empty() {
                    name.to_string()
                } else {
                    format!("{at}/{name}")
                };
                if let Ok(sub) = self.repo.find_tree(e.id()) {
                    todo.push((sub, path.clone(), level + 1));
                }
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The tree of `parent` with `files` (paths from the root) set to the given contents,
    /// written to the object database (blobs and trees, no commit): what a commit of them on
    /// `parent` would hold.
    pub fn tree_with_files(&self, parent: Oid, files: &[(String, Vec<u8>)]) -> Result<Oid> {
        let parent = self
            .repo
            .find_commit(parent)
            .with_context(|| format!("could not read commit {parent}"))?;
        let base = parent.tree().context("could not read a tree")?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        for (path, content) in files {
            let mode = match base.get_path(Path::new(path)).map(|e| e.filemode()) {
                Ok(0o100755) => git2::FileMode::BlobExecutable,
                Ok(0o100644) | Err(_) => git2::FileMode::Blob,
                Ok(_) => anyhow::bail!("{path} is not a regular file in {}", parent.id()),
            };
            let blob = self
                .repo
                .blob(content)
                .with_context(|| format!("could not write {path} to git"))?;
            update.upsert(path.as_str(), blob, mode);
        }
        update
            .create_updated(&self.repo, &base)
            .context("could not write a tree")
    }

    /// Makes a commit on top of `parent` whose tree is the parent's with `files` (path from the
    /// root, content) written over, each keeping its mode; no ref moves. Author and committer
    /// are this repository's identity (`GIT_AUTHOR_*` / `GIT_COMMITTER_*` apply).
    pub fn commit_files(
        &self,
        parent: Oid,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<Oid> {
        let tree_id = self.tree_with_files(parent, files)?;
        let parent = self
            .repo
            .find_commit(parent)
            .with_context(|| format!("could not read commit {parent}"))?;
        let tree = self
            .repo
            .find_tree(tree_id)
            .context("could not read a tree")?;
        let author = self.repo.author_from_env().map_err(|_| {
            Refusal::usage("git does not know who you are (user.name and user.email are not set)")
                .hint("run `git config user.name \"Your Name\"` and `git config user.email you@example.com`")
        })?;
        let committer = self
            .repo
            .committer_from_env()
            .context("could not make the committer signature")?;
        self.repo
            .commit(None, &author, &committer, message, &tree, &[&parent])
            .context("could not make a commit")
    }

    pub fn commit_summary(&self, commit: Oid) -> Result<String> {
        let c = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?;
        Ok(String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned())
    }

    pub fn create_branch(&self, name: &str, at: Oid) -> Result<()> {
        let commit = self
            .repo
            .find_commit(at)
            .with_context(|| format!("could not read commit {at}"))?;
        self.repo
            .branch(name, &commit, false)
            .with_context(|| format!("could not create branch {name}"))?;
        Ok(())
    }

    /// Checks out a local branch the way `git switch` does: refuses rather than overwrite
    /// local changes or untracked files.
    pub fn switch(&self, branch: &str) -> Result<()> {
        let target = self.switch_target(branch)?;
        let _claim = self.claim_index(&format!("switching to {branch}"))?;
        self.checkout_changed(&target).map_err(|e| {
            if e.code() == ErrorCode::Conflict {
                anyhow::Error::new(
                    Refusal::usage(format!(
                        "switching to {branch} would overwrite local files ({})",
                        e.message()
                    ))
                    .hint("move or commit those files, then run the command again; nothing was changed"),
                )
            } else {
                anyhow!(e).context(format!("could not check out {branch}"))
            }
        })?;
        self.repo
            .set_head(&format!("refs/heads/{branch}"))
            .with_context(|| format!("could not point HEAD at {branch}"))?;
        journal::Journal::remove(self.repo.path());
        Ok(())
    }

    /// Removes the switch journal of a start that was given up (`abort`): nothing resumes from
    /// it any more.
    pub fn forget_switch_journal(&self) {
        journal::Journal::remove(self.repo.path());
    }

    /// The commit of local branch `branch`, once it is sure a switch there can begin: the
    /// branch is not checked out in another worktree (libgit2 would refuse only at
    /// `set_head`, after changing the files). The caller then claims the index
    /// ([`Repo::claim_index`]): no other git process may hold it, as its write at the end
    /// would fail after the files were written.
    pub(crate) fn switch_target(&self, branch: &str) -> Result<git2::Object<'_>> {
        let refname = format!("refs/heads/{branch}");
        let target = self
            .repo
            .revparse_single(&refname)
            .with_context(|| format!("could not find branch {branch}"))?;
        if let Some(path) = self.checked_out_elsewhere(&refname) {
            return Err(Refusal::usage(format!(
                "{branch} is checked out in another worktree ({})",
                path.display()
            ))
            .hint("switch that worktree to another branch, then run the command again; nothing was changed")
            .into());
        }
        Ok(target)
    }

    /// The other worktree that has `branch` checked out, if any.
    pub fn worktree_of(&self, branch: &str) -> Option<PathBuf> {
        self.checked_out_elsewhere(&format!("refs/heads/{branch}"))
    }

    /// The remote-tracking branch `branch` is set to follow (`branch.<name>.merge` of a real
    /// remote), as its short name and tip; `None` without one, or for a local upstream.
    pub fn upstream_of(&self, branch: &str) -> Result<Option<(String, Oid)>> {
        let local = match self.repo.find_branch(branch, BranchType::Local) {
            Ok(b) => b,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!(e).context(format!("could not read branch {branch}"))),
        };
        let upstream = match local.upstream() {
            Ok(u) => u,
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
                return Ok(None);
            }
            Err(e) => {
                return Err(anyhow!(e).context(format!("could not read the upstream of {branch}")));
            }
        };
        let r = upstream.get();
        if !r.name_bytes().starts_with(b"refs/remotes/") {
            return Ok(None);
        }
        Ok(r.target()
            .map(|t| (String::from_utf8_lossy(r.shorthand_bytes()).into_owned(), t)))
    }

    /// Whether `branch` is checked out here or in another worktree.
    pub fn is_checked_out(&self, branch: &str) -> Result<bool> {
        if let Head::Branch(name, _) | Head::Unborn(name) = self.head()?
            && name == branch
        {
            return Ok(true);
        }
        Ok(self
            .checked_out_elsewhere(&format!("refs/heads/{branch}"))
            .is_some())
    }

    /// The other worktree whose HEAD is `refname`, if any: git never checks a branch out twice,
    /// and libgit2 only refuses at `set_head`, after it has changed the files.
    fn checked_out_elsewhere(&self, refname: &str) -> Option<PathBuf> {
        let common = self.repo.commondir();
        let own = self.repo.path().canonicalize().ok()?;
        let mut gitdirs = vec![common.to_path_buf()];
        if let Ok(linked) = std::fs::read_dir(common.join("worktrees")) {
            gitdirs.extend(linked.flatten().map(|e| e.path()));
        }
        gitdirs.into_iter().find_map(|dir| {
            if dir.canonicalize().ok()? == own {
                return None;
            }
            let head = std::fs::read_to_string(dir.join("HEAD")).ok()?;
            // a branch being rebased there counts too: git will move it when the rebase ends
            let rebasing = ["rebase-merge", "rebase-apply"].iter().any(|d| {
                std::fs::read_to_string(dir.join(d).join("head-name"))
                    .is_ok_and(|n| n.trim() == refname)
            });
            if head.trim().strip_prefix("ref: ") != Some(refname) && !rebasing {
                return None;
            }
            // a linked worktree's `gitdir` names its `.git` file; the main one is the parent
            let worktree = match std::fs::read_to_string(dir.join("gitdir")) {
                Ok(gitfile) => PathBuf::from(gitfile.trim()).parent()?.to_path_buf(),
                // the main repository of a bare clone has no working tree to hold a branch
                Err(_) if self.main_is_bare() => return None,
                Err(_) => dir.parent()?.to_path_buf(),
            };
            Some(worktree)
        })
    }

    fn main_is_bare(&self) -> bool {
        self.repo
            .config()
            .and_then(|c| c.get_bool("core.bare"))
            .unwrap_or(false)
    }

    pub fn delete_branch(&self, name: &str) -> Result<()> {
        let mut b = self
            .repo
            .find_branch(name, BranchType::Local)
            .with_context(|| format!("could not find branch {name}"))?;
        b.delete()
            .with_context(|| format!("could not delete branch {name}"))
    }

    /// Commits reachable from `branch` and from no other branch, tag or remote-tracking branch:
    /// what deleting the branch would lose. `base` is where the branch started.
    ///
    /// Walking the branch against every other reference, as `git rev-list tip --not --all`
    /// does, reads the history of every tag back to the oldest (half a second on a
    /// 80,000-commit repository: libgit2 has no commit-graph). When another reference points
    /// at `base` itself (its release tag, usually), everything before it is kept by that
    /// reference, and only the branch's own commits (`base..tip`, a handful) need a home:
    /// they are looked for in the other references newest first, only as far back as a day
    /// before the oldest of them. A reference older than that cannot contain them, unless
    /// clocks were a day wrong, and then the commit counts as lost and the deletion is
    /// refused, the safe mistake. Otherwise (the tag deleted or moved, `--from` a branch
    /// deleted since), the whole walk.
    pub fn commits_only_on(&self, branch: &str, base: Option<Oid>) -> Result<Vec<Oid>> {
        let Some(tip) = self.branch_tip(branch)? else {
            return Ok(Vec::new());
        };
        // the other references that keep commits, newest first by their commit
        let own_ref = format!("refs/heads/{branch}");
        let mut homes = Vec::new();
        for r in self
            .repo
            .references()
            .context("could not list references")?
        {
            let r = r.context("could not read a reference")?;
            let name = r.name_bytes();
            // Only branches, tags and remote-tracking branches keep a commit: a stash built
            // on the tip (refs/stash) or hotfix's own records must not count as a home for it.
            let keeps = [&b"refs/heads/"[..], b"refs/tags/", b"refs/remotes/"]
                .iter()
                .any(|p| name.starts_with(p));
            if name == own_ref.as_bytes() || !keeps {
                continue;
            }
            if let Ok(c) = r.peel_to_commit() {
                homes.push((c.time().seconds(), c.id()));
            }
        }
        let mut walk = self.repo.revwalk().context("could not walk history")?;
        walk.push(tip).context("could not walk history")?;
        let base_kept = base.filter(|b| homes.iter().any(|(_, id)| id == b));
        let Some(base) = base_kept else {
            for (_, id) in &homes {
                walk.hide(*id).context("could not walk history")?;
            }
            return walk.map(|o| o.context("could not walk history")).collect();
        };
        walk.hide(base).context("could not walk history")?;
        let own: Vec<Oid> = walk
            .map(|o| o.context("could not walk history"))
            .collect::<Result<_>>()?;
        if own.is_empty() {
            return Ok(own);
        }
        let mut missing: std::collections::HashSet<Oid> = own.iter().copied().collect();
        let mut oldest = i64::MAX;
        for id in &own {
            let c = self
                .repo
                .find_commit(*id)
                .context("could not read a commit")?;
            oldest = oldest.min(c.time().seconds());
        }
        const SLOP: i64 = 24 * 60 * 60;
        let cutoff = oldest.saturating_sub(SLOP);
        let mut seen = std::collections::HashSet::new();
        let mut queue: std::collections::BinaryHeap<(i64, Oid)> = homes
            .into_iter()
            .filter(|(time, id)| *time >= cutoff && seen.insert(*id))
            .collect();
        // newest first, like `git log --date-order`, until every commit is found or the walk
        // is past the cutoff
        while let Some((time, id)) = queue.pop() {
            if time < cutoff {
                break;
            }
            if missing.remove(&id) && missing.is_empty() {
                break;
            }
            let Ok(c) = self.repo.find_commit(id) else {
                continue;
            };
            // a parent that cannot be read (a shallow clone's edge) keeps nothing
            for p in c.parents() {
                if seen.insert(p.id()) {
                    queue.push((p.time().seconds(), p.id()));
                }
            }
        }
        Ok(own.into_iter().filter(|id| missing.contains(id)).collect())
    }

    /// How many commits `to` has that `from` does not (`git rev-list --count from..to`).
    pub fn count_commits(&self, from: Oid, to: Oid) -> Result<usize> {
        if from == to {
            return Ok(0);
        }
        let mut walk = self.repo.revwalk().context("could not walk history")?;
        walk.push(to).context("could not walk history")?;
        walk.hide(from).context("could not walk history")?;
        Ok(walk.count())
    }

    /// The identity git would record for a commit made here (config, or GIT_AUTHOR_* env).
    pub fn identity(&self) -> Result<Identity> {
        let sig = self.repo.author_from_env().map_err(|_| {
            Refusal::usage("git does not know who you are (user.name and user.email are not set)")
                .hint("run `git config user.name \"Your Name\"` and `git config user.email you@example.com`")
        })?;
        Ok(Identity {
            name: String::from_utf8_lossy(sig.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(sig.email_bytes()).into_owned(),
        })
    }

    /// Writes a blob and points `refname` at it: small records that travel with fetch and push.
    pub fn write_record_ref(&self, refname: &str, content: &[u8], log: &str) -> Result<Oid> {
        let blob = self
            .repo
            .blob(content)
            .context("could not write a record to git")?;
        self.repo
            .reference(refname, blob, true, log)
            .with_context(|| format!("could not write {refname}"))?;
        Ok(blob)
    }

    /// The names of the refs under `prefix`.
    pub fn ref_names(&self, prefix: &str) -> Result<Vec<String>> {
        let glob = format!("{prefix}*");
        let mut out = Vec::new();
        for r in self
            .repo
            .references_glob(&glob)
            .with_context(|| format!("could not list {glob}"))?
        {
            let r = r.context("could not read a reference")?;
            out.push(String::from_utf8_lossy(r.name_bytes()).into_owned());
        }
        Ok(out)
    }

    /// Writes a blob with no ref to it (yet): a record to be pushed before it is kept here.
    pub fn write_blob(&self, content: &[u8]) -> Result<Oid> {
        self.repo
            .blob(content)
            .context("could not write a record to git")
    }

    /// The content of a blob, if this repository has it.
    pub fn read_blob(&self, oid: Oid) -> Option<Vec<u8>> {
        self.repo.find_blob(oid).ok().map(|b| b.content().to_vec())
    }

    /// Points `refname` at `target` (created or moved).
    pub fn set_ref(&self, refname: &str, target: Oid, log: &str) -> Result<()> {
        self.repo
            .reference(refname, target, true, log)
            .with_context(|| format!("could not write {refname}"))?;
        Ok(())
    }

    /// Writes a record under `stem`, or `stem-2`, `stem-3`… when that name is taken: records
    /// are immutable, so two made in the same second never replace each other. Returns the ref.
    pub fn write_new_record_ref(&self, stem: &str, content: &[u8], log: &str) -> Result<String> {
        let taken: Vec<String> = self
            .read_record_refs(stem)?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let refname = (1..)
            .map(|n| {
                if n == 1 {
                    stem.to_string()
                } else {
                    format!("{stem}-{n}")
                }
            })
            .find(|r| !taken.contains(r))
            .expect("an unused name");
        self.write_record_ref(&refname, content, log)?;
        Ok(refname)
    }

    /// Deletes a ref if it exists.
    pub fn delete_ref(&self, name: &str) -> Result<()> {
        match self.repo.find_reference(name) {
            Ok(mut r) => r
                .delete()
                .with_context(|| format!("could not delete {name}")),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(()),
            Err(e) => Err(anyhow!(e).context(format!("could not read {name}"))),
        }
    }

    /// The contents of every blob under a ref prefix (`refs/hotfix/not-code/`).
    /// The content of the record `refname` points at, if it exists and is a blob: one lookup,
    /// where listing by prefix reads every packed reference.
    pub fn read_record_ref(&self, refname: &str) -> Result<Option<Vec<u8>>> {
        let r = match self.repo.find_reference(refname) {
            Ok(r) => r,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("could not read {refname}")),
        };
        let Some(target) = r.target() else {
            return Ok(None);
        };
        Ok(self
            .repo
            .find_blob(target)
            .ok()
            .map(|b| b.content().to_vec()))
    }

    pub fn read_record_refs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let glob = format!("{prefix}*");
        let mut out = Vec::new();
        for r in self
            .repo
            .references_glob(&glob)
            .with_context(|| format!("could not list {glob}"))?
        {
            let r = r.context("could not read a reference")?;
            let Some(target) = r.target() else { continue };
            let Ok(blob) = self.repo.find_blob(target) else {
                continue;
            };
            out.push((
                String::from_utf8_lossy(r.name_bytes()).into_owned(),
                blob.content().to_vec(),
            ));
        }
        Ok(out)
    }

    /// Runs the `git` program here (for network operations and hooks).
    pub fn git_command(&self) -> Result<Command> {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.repo.workdir().unwrap_or_else(|| self.repo.path()));
        Ok(cmd)
    }

    pub fn raw(&self) -> &Repository {
        &self.repo
    }
}

/// Up to three paths, comma-separated, with "…" when there are more.
pub fn few_paths(paths: &[String]) -> String {
    let mut list = paths.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if paths.len() > 3 {
        list.push_str(", …");
    }
    list
}

/// The abbreviated form of an object id, as git prints it.
pub fn short(oid: Oid) -> String {
    let s = oid.to_string();
    s[..s.len().min(10)].to_string()
}
