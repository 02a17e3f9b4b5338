//! Release tags as history: reading the records annotated tags carry, and making new ones.

use anyhow::{Context, Result, anyhow};
use git2::ErrorCode;

use super::{Oid, Repo};

/// An annotated tag's name, message, and the commit it points at with that commit's tree.
#[derive(Debug, Clone)]
pub struct AnnotatedTag {
    pub name: String,
    pub message: String,
    pub commit: Oid,
    pub tree: Oid,
}

impl Repo {
    /// Every annotated tag whose message contains `needle` (lightweight tags carry no message).
    pub fn annotated_tags_containing(&self, needle: &str) -> Result<Vec<AnnotatedTag>> {
        let mut out = Vec::new();
        let mut ids = Vec::new();
        self.repo
            .tag_foreach(|id, name| {
                ids.push((id, String::from_utf8_lossy(name).into_owned()));
                true
            })
            .context("could not list tags")?;
        for (id, refname) in ids {
            // A lightweight tag points straight at a commit: not ours.
            let Ok(tag) = self.repo.find_tag(id) else {
                continue;
            };
            let message =
                String::from_utf8_lossy(tag.message_bytes().unwrap_or_default()).into_owned();
            if !message.contains(needle) {
                continue;
            }
            let Ok(commit) = tag.target().and_then(|t| t.peel_to_commit()) else {
                continue;
            };
            out.push(AnnotatedTag {
                name: refname.trim_start_matches("refs/tags/").to_string(),
                message,
                commit: commit.id(),
                tree: commit.tree_id(),
            });
        }
        Ok(out)
    }

    /// True in a shallow clone (CI's default depth), where history and tags are cut off.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    pub fn tag_exists(&self, name: &str) -> Result<bool> {
        match self.repo.find_reference(&format!("refs/tags/{name}")) {
            Ok(_) => Ok(true),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(false),
            Err(e) => Err(anyhow!(e).context(format!("could not look up tag {name}"))),
        }
    }

    /// The message of an annotated tag (`None` for a lightweight or missing tag).
    pub fn tag_message(&self, name: &str) -> Result<Option<String>> {
        let r = match self.repo.find_reference(&format!("refs/tags/{name}")) {
            Ok(r) => r,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!(e).context(format!("could not read tag {name}"))),
        };
        let Some(id) = r.target() else {
            return Ok(None);
        };
        Ok(self
            .repo
            .find_tag(id)
            .ok()
            .map(|t| String::from_utf8_lossy(t.message_bytes().unwrap_or_default()).into_owned()))
    }

    /// Creates an annotated tag; refuses to move an existing one.
    pub fn create_annotated_tag(&self, name: &str, commit: Oid, message: &str) -> Result<()> {
        let target = self
            .repo
            .find_object(commit, None)
            .with_context(|| format!("could not read commit {commit}"))?;
        let tagger = self
            .repo
            .committer_from_env()
            .context("git does not know who you are (user.name and user.email)")?;
        self.repo
            .tag(name, &target, &tagger, message, false)
            .with_context(|| format!("could not create tag {name}"))?;
        Ok(())
    }

    /// The commits of `to` not in `from` (`git rev-list from..to`), newest first.
    pub fn commit_ids_between(&self, from: Option<Oid>, to: Oid) -> Result<Vec<Oid>> {
        let mut walk = self.repo.revwalk().context("could not walk history")?;
        walk.push(to).context("could not walk history")?;
        if let Some(from) = from {
            walk.hide(from).context("could not walk history")?;
        }
        walk.map(|o| o.context("could not walk history")).collect()
    }

    /// The stable patch id of a commit's change against its first parent (as `git patch-id`),
    /// `None` for merges and empty commits.
    pub fn patch_id(&self, commit: Oid) -> Result<Option<Oid>> {
        let c = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?;
        if c.parent_count() > 1 {
            return Ok(None);
        }
        let paths = self.commit_changed_paths(commit)?;
        self.patch_id_of(commit, &paths)
    }

    /// The patch id of a commit that is not a merge, given the paths it changes (from
    /// `commit_changed_paths`): only those are diffed, so only the subtrees leading to them are
    /// read. `None` when it changes nothing.
    pub fn patch_id_of(&self, commit: Oid, paths: &[Vec<u8>]) -> Result<Option<Oid>> {
        if paths.is_empty() {
            return Ok(None);
        }
        let c = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?;
        let new = c.tree().context("could not read a tree")?;
        let old = match c.parent(0) {
            Ok(p) => Some(p.tree().context("could not read a tree")?),
            Err(_) => None,
        };
        let mut opts = git2::DiffOptions::new();
        opts.disable_pathspec_match(true);
        for p in paths {
            opts.pathspec(p.as_slice());
        }
        let diff = self
            .repo
            .diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut opts))
            .context("could not diff a commit")?;
        if diff.deltas().len() == 0 {
            return Ok(None);
        }
        Ok(Some(
            diff.patchid(None).context("could not compute a patch id")?,
        ))
    }
}
