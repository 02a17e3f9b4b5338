//! Merges for merge-back: made the way `git merge --no-ff` makes them, so a conflict leaves the
//! repository in git's normal conflicted state (MERGE_HEAD, markers, index stages) and any
//! editor or mergetool works on it.

use anyhow::{Context, Result, anyhow};
use git2::{BranchType, ErrorCode, RepositoryState};

use super::{Oid, Repo};

/// The three-way merge of one file's texts, as `git merge-file` makes it: the merged text when
/// nothing conflicts, `None` when something does (or the texts cannot be merged).
pub fn merge_texts(base: &[u8], ours: &[u8], theirs: &[u8]) -> Option<Vec<u8>> {
    // git2 initialises libgit2 in most calls but not in `merge_file`; making a buffer does
    drop(git2::Buf::new());
    let input = |content| {
        let mut i = git2::MergeFileInput::new();
        // a side without a mode is a side that does not exist
        i.content(content).mode(Some(git2::FileMode::Blob));
        i
    };
    let (b, o, t) = (input(base), input(ours), input(theirs));
    let merged = git2::merge_file(&b, &o, &t, None).ok()?;
    merged.is_automergeable().then(|| merged.content().to_vec())
}

/// One conflicted file of a merge in progress: its path and the three sides' contents.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub path: String,
    pub base: Vec<u8>,
    pub ours: Vec<u8>,
    pub theirs: Vec<u8>,
}

/// What merging into the checked-out branch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The branch already contains the commit; nothing was done.
    AlreadyContained,
    /// Merged and committed.
    Committed(Oid),
    /// Stopped with conflicts in these paths; the repository is mid-merge.
    Conflicts(Vec<String>),
}

impl Repo {
    /// The commit MERGE_HEAD names, when a merge is in progress.
    pub fn merge_head(&self) -> Result<Option<Oid>> {
        if self.repo.state() != RepositoryState::Merge {
            return Ok(None);
        }
        match self.repo.find_reference("MERGE_HEAD") {
            Ok(r) => Ok(r.target()),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(anyhow!(e).context("could not read MERGE_HEAD")),
        }
    }

    /// True when git is in the middle of a merge, rebase, cherry-pick or similar.
    pub fn operation_in_progress(&self) -> bool {
        self.repo.state() != RepositoryState::Clean
    }

    /// Paths with unresolved conflicts in the index.
    pub fn conflicted_paths(&self) -> Result<Vec<String>> {
        let index = self.repo.index().context("could not read the index")?;
        let mut paths = Vec::new();
        for c in index
            .conflicts()
            .context("could not read the index conflicts")?
        {
            let c = c.context("could not read an index conflict")?;
            let entry = c.our.or(c.their).or(c.ancestor);
            if let Some(e) = entry {
                let p = String::from_utf8_lossy(&e.path).into_owned();
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        Ok(paths)
    }

    /// Merges `theirs` into the checked-out branch with a merge commit (never a fast-forward,
    /// so the history shows where the fix came back). On conflicts the repository is left
    /// mid-merge, with MERGE_MSG set to `message` and `label` (the release tag) naming the
    /// incoming side in the conflict markers, as git names the branch being merged.
    pub fn merge_into_head(&self, theirs: Oid, label: &str, message: &str) -> Result<MergeOutcome> {
        let head = self.repo.head().context("could not read HEAD")?;
        let ours = head.target().context("HEAD points at no commit")?;
        if self.is_ancestor(theirs, ours)? {
            return Ok(MergeOutcome::AlreadyContained);
        }
        let _claim = self.claim_index("the merge")?;
        let annotated = self
            .repo
            .find_annotated_commit(theirs)
            .with_context(|| format!("could not read commit {theirs}"))?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout
            .safe()
            .allow_conflicts(true)
            .conflict_style_merge(true)
            .their_label(label);
        self.repo
            .merge(&[&annotated], None, Some(&mut checkout))
            .with_context(|| format!("could not merge {theirs}"))?;
        std::fs::write(self.repo.path().join("MERGE_MSG"), format!("{message}\n"))
            .context("could not write MERGE_MSG")?;
        let conflicts = self.conflicted_paths()?;
        if !conflicts.is_empty() {
            return Ok(MergeOutcome::Conflicts(conflicts));
        }
        Ok(MergeOutcome::Committed(self.commit_merge(message)?))
    }

    /// The conflicts of the merge in progress where all three sides are a regular file (both
    /// sides changed a file that the merge base had): the only ones a text rule can settle.
    pub fn content_conflicts(&self) -> Result<Vec<Conflict>> {
        let index = self.repo.index().context("could not read the index")?;
        let blob = |e: &git2::IndexEntry| -> Result<Vec<u8>> {
            Ok(self
                .repo
                .find_blob(e.id)
                .with_context(|| format!("could not read {}", String::from_utf8_lossy(&e.path)))?
                .content()
                .to_vec())
        };
        let regular = |e: &git2::IndexEntry| e.mode & 0o170000 == 0o100000;
        let mut out = Vec::new();
        for c in index
            .conflicts()
            .context("could not read the index conflicts")?
        {
            let c = c.context("could not read an index conflict")?;
            let (Some(a), Some(o), Some(t)) = (c.ancestor, c.our, c.their) else {
                continue;
            };
            if !(regular(&a) && regular(&o) && regular(&t)) || o.path != t.path {
                continue;
            }
            out.push(Conflict {
                path: String::from_utf8_lossy(&o.path).into_owned(),
                base: blob(&a)?,
                ours: blob(&o)?,
                theirs: blob(&t)?,
            });
        }
        Ok(out)
    }

    /// Settles the conflict of `path` in the merge in progress with `content`: written to the
    /// working tree and staged, as `git add` after editing the file would.
    pub fn resolve_conflict(&self, path: &str, content: &[u8]) -> Result<()> {
        let mut index = self.repo.index().context("could not read the index")?;
        let ours = index
            .conflicts()
            .context("could not read the index conflicts")?
            .filter_map(|c| c.ok())
            .find_map(|c| c.our.filter(|o| o.path == path.as_bytes()))
            .with_context(|| format!("{path} is not in conflict"))?;
        let root = self.workdir()?;
        // written in place, as an editor would: the file keeps its permissions
        std::fs::write(root.join(path), content)
            .with_context(|| format!("could not write {path}"))?;
        let mut entry = ours;
        entry.flags &= !0x3000; // stage 0
        entry.file_size = u32::try_from(content.len()).unwrap_or(u32::MAX);
        index
            .add_frombuffer(&entry, content)
            .with_context(|| format!("could not stage {path}"))?;
        index.write().context("could not write the index")?;
        Ok(())
    }

    /// Commits the merge in progress from the index (after conflicts were resolved and staged).
    pub fn commit_merge(&self, message: &str) -> Result<Oid> {
        let theirs = self
            .merge_head()?
            .context("no merge is in progress (MERGE_HEAD is missing)")?;
        let _claim = self.claim_index("committing the merge")?;
        let mut index = self.repo.index().context("could not read the index")?;
        if index.has_conflicts() {
            return Err(anyhow!("the index still has unresolved conflicts"));
        }
        // libgit2 would commit a `git add -N` entry as an empty file; git leaves it out
        if let Some(e) = index
            .iter()
            .find(|e| e.flags_extended & super::checkout::INTENT_TO_ADD != 0)
        {
            let path = String::from_utf8_lossy(&e.path).into_owned();
            return Err(crate::error::Refusal::usage(format!(
                "{path} is in the index with no content (added with `git add -N`), and a merge commit would record it as an empty file"
            ))
            .hint(format!(
                "stage it (`git add -- {0}`) or take it out of the index (`git rm --cached -- {0}`), then run the command again",
                crate::ui::shell_word(&path)
            ))
            .into());
        }
        let tree_id = index
            .write_tree()
            .context("could not write the merged tree")?;
        // keeps the tree ids just computed in the index, as `git commit` does (see
        // `keep_cache_tree`)
        index.write().context("could not write the index")?;
        let tree = self
            .repo
            .find_tree(tree_id)
            .context("could not read the merged tree")?;
        let ours = self
            .repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .context("could not read HEAD")?;
        let theirs = self
            .repo
            .find_commit(theirs)
            .context("could not read MERGE_HEAD")?;
        let author = self
            .repo
            .author_from_env()
            .context("could not make the author signature")?;
        let committer = self
            .repo
            .committer_from_env()
            .context("could not make the committer signature")?;
        let id = self
            .repo
            .commit(
                Some("HEAD"),
                &author,
                &committer,
                message,
                &tree,
                &[&ours, &theirs],
            )
            .context("could not commit the merge")?;
        self.repo
            .cleanup_state()
            .context("could not clear the merge state")?;
        Ok(id)
    }

    /// Gives up the merge in progress the way `git merge --abort` does: the files the merge
    /// touched back as the checked-out commit has them, MERGE_HEAD removed, and other local
    /// changes kept. libgit2 has no `reset --merge` (its hard reset would also throw away
    /// unrelated uncommitted edits), so this runs the `git` program.
    pub fn abort_merge(&self) -> Result<()> {
        let _claim = self.claim_index("aborting the merge")?;
        let out = self
            .git_command()?
            .args(["merge", "--abort"])
            .output()
            .context("could not run `git merge --abort`")?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no message");
            return Err(crate::error::Refusal::usage(format!(
                "`git merge --abort` failed and the merge is still in progress: {reason}"
            ))
            .hint("fix what git reports, then `git merge --abort` yourself or run `hotfix merge-back --abort` again")
            .into());
        }
        Ok(())
    }

    /// Local and remote-tracking branch names matching a glob, remote names without the
    /// remote prefix being stripped (`origin/release/1.2`).
    pub fn branches_matching(
        &self,
        glob: &globset::GlobMatcher,
    ) -> Result<Vec<(String, BranchKind)>> {
        let mut out = Vec::new();
        for b in self
            .repo
            .branches(None)
            .context("could not list branches")?
        {
            let (b, kind) = b.context("could not read a branch")?;
            let Some(name) = b.name().ok().flatten() else {
                continue;
            };
            match kind {
                BranchType::Local if glob.is_match(name) => {
                    out.push((name.to_string(), BranchKind::Local))
                }
                BranchType::Remote => {
                    if let Some((remote, short)) = name.split_once('/')
                        && short != "HEAD"
                        && glob.is_match(short)
                    {
                        out.push((short.to_string(), BranchKind::Remote(remote.to_string())));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Points a local branch at `oid`, creating it when missing (used to set up a local branch
    /// for a remote-only release line).
    pub fn create_branch_at(&self, name: &str, oid: Oid) -> Result<()> {
        let commit = self
            .repo
            .find_commit(oid)
            .with_context(|| format!("could not read commit {oid}"))?;
        self.repo
            .branch(name, &commit, false)
            .with_context(|| format!("could not create branch {name}"))?;
        Ok(())
    }

    /// Moves a local branch forward to `to`, refusing anything but a fast-forward.
    pub fn fast_forward_branch(&self, name: &str, to: Oid, log: &str) -> Result<()> {
        let refname = format!("refs/heads/{name}");
        let current = self
            .branch_tip(name)?
            .with_context(|| format!("branch {name} does not exist"))?;
        if !self.is_ancestor(current, to)? {
            return Err(anyhow!(
                "{name} cannot be fast-forwarded to {to}: it has commits the hotfix does not"
            ));
        }
        self.repo
            .reference_matching(&refname, to, true, current, log)
            .with_context(|| format!("could not move {name}"))?;
        Ok(())
    }
}

/// Where a branch matched by `also_merge_into` lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchKind {
    Local,
    /// Only as a remote-tracking branch of this remote.
    Remote(String),
}
