//! History queries the review gate needs: who made the commits of a branch, ancestry, and the
//! diff stat a reviewer sees.

use anyhow::{Context, Result, anyhow};
use git2::{DiffStatsFormat, ErrorCode, Sort};

use super::{Identity, Oid, Repo};

/// One commit of a branch and the people git recorded on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: Oid,
    pub summary: String,
    pub author: Identity,
    pub committer: Identity,
}

impl Repo {
    /// True when `ancestor` is `commit` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: Oid, commit: Oid) -> Result<bool> {
        if ancestor == commit {
            return Ok(true);
        }
        self.repo
            .graph_descendant_of(commit, ancestor)
            .with_context(|| format!("could not compare the history of {commit} and {ancestor}"))
    }

    /// The best common ancestor of two commits, if they share history.
    pub fn merge_base(&self, one: Oid, two: Oid) -> Result<Option<Oid>> {
        match self.repo.merge_base(one, two) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => {
                Err(anyhow!(e).context(format!("could not find a merge base of {one} and {two}")))
            }
        }
    }

    /// The commits `tip` has that `base` does not, oldest first.
    pub fn commits_between(&self, base: Oid, tip: Oid) -> Result<Vec<CommitInfo>> {
        let mut walk = self.repo.revwalk().context("could not walk history")?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .context("could not walk history")?;
        walk.push(tip).context("could not walk history")?;
        walk.hide(base).context("could not walk history")?;
        let mut out = Vec::new();
        for id in walk {
            let id = id.context("could not walk history")?;
            out.push(self.commit_info(id)?);
        }
        Ok(out)
    }

    /// A commit's id, summary, author and committer.
    pub fn commit_info(&self, id: Oid) -> Result<CommitInfo> {
        let c = self
            .repo
            .find_commit(id)
            .with_context(|| format!("could not read commit {id}"))?;
        let person = |s: git2::Signature<'_>| Identity {
            name: String::from_utf8_lossy(s.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(s.email_bytes()).into_owned(),
        };
        Ok(CommitInfo {
            id,
            summary: String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned(),
            author: person(c.author()),
            committer: person(c.committer()),
        })
    }

    /// A commit's signature and the data it signs (the commit without its signature header),
    /// as `git verify-commit` checks them; `None` for an unsigned commit.
    pub fn commit_signature(&self, id: Oid) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        match self.repo.extract_signature(&id, None) {
            Ok((sig, data)) => Ok(Some((sig.to_vec(), data.to_vec()))),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("could not read the signature of {id}"))),
        }
    }

    /// `git diff --stat base tip`, as text.
    pub fn diff_stat(&self, base: Oid, tip: Oid) -> Result<String> {
        let tree = |c: Oid| -> Result<git2::Tree<'_>> {
            self.repo
                .find_commit(c)
                .and_then(|c| c.tree())
                .with_context(|| format!("could not read the tree of {c}"))
        };
        let (old, new) = (tree(base)?, tree(tip)?);
        let mut diff = self
            .repo
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .context("could not compute the diff")?;
        diff.find_similar(None)
            .context("could not detect renames in the diff")?;
        let stats = diff.stats().context("could not compute the diff stat")?;
        let buf = stats
            .to_buf(DiffStatsFormat::FULL, 80)
            .context("could not format the diff stat")?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}
