//! Symlinks a change adds or retargets, and whether each leads out of the tree. A link out of
//! the tree (`config -> /etc/app.conf`, `data -> ../../shared`) makes what runs depend on a
//! file no review or test saw, which can change after both.

use std::collections::VecDeque;
use std::path::Path;

use anyhow::{Context, Result};
use git2::{ObjectType, Tree};

use super::{Oid, Repo};

const LINK_MODE: i32 = 0o120000;
/// As the kernel's limit on links followed in one lookup (40 on Linux).
const MAX_HOPS: usize = 40;

/// A symlink in the new tree that is new, or was something else (or pointed elsewhere) before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedLink {
    pub path: String,
    pub target: String,
    /// The target, followed through the tree's own links, leaves the tree: an absolute path, a
    /// `..` above the root, or too many links in a row.
    pub outside: bool,
}

impl Repo {
    /// The symlinks of `head`'s tree that `base`'s tree does not have as they are, in path
    /// order.
    pub fn changed_symlinks(&self, base: Oid, head: Oid) -> Result<Vec<ChangedLink>> {
        let old = self.commit_tree(base)?;
        let new = self.commit_tree(head)?;
        let mut links = Vec::new();
        self.walk_links(Some(&old), &new, "", &mut links)?;
        let mut out = Vec::new();
        for (path, id) in links {
            let target = self.link_target(id)?;
            let outside = leaves_tree(self, &new, &path, &target)?;
            out.push(ChangedLink {
                path,
                target,
                outside,
            });
        }
        Ok(out)
    }

    fn commit_tree(&self, commit: Oid) -> Result<Tree<'_>> {
        self.repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {commit}"))
    }

    fn link_target(&self, blob: Oid) -> Result<String> {
        let blob = self
            .repo
            .find_blob(blob)
            .with_context(|| format!("could not read symlink target {blob}"))?;
        Ok(String::from_utf8_lossy(blob.content()).into_owned())
    }

    /// Links of `new` under `prefix` that differ from `old`'s entry of the same name; subtrees
    /// both sides share are skipped.
    fn walk_links(
        &self,
        old: Option<&Tree<'_>>,
        new: &Tree<'_>,
        prefix: &str,
        out: &mut Vec<(String, Oid)>,
    ) -> Result<()> {
        if old.is_some_and(|o| o.id() == new.id()) {
            return Ok(());
        }
        for entry in new.iter() {
            let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let before = old.and_then(|o| o.get_name_bytes(entry.name_bytes()));
            let same = before
                .as_ref()
                .is_some_and(|b| b.id() == entry.id() && b.filemode_raw() == entry.filemode_raw());
            if same {
                continue;
            }
            if entry.filemode_raw() == LINK_MODE {
                out.push((path, entry.id()));
            } else if entry.kind() == Some(ObjectType::Tree) {
                let sub = self
                    .repo
                    .find_tree(entry.id())
                    .with_context(|| format!("could not read tree {path}"))?;
                let old_sub = match before {
                    Some(b) if b.kind() == Some(ObjectType::Tree) => Some(
                        self.repo
                            .find_tree(b.id())
                            .with_context(|| format!("could not read tree {path}"))?,
                    ),
                    _ => None,
                };
                self.walk_links(old_sub.as_ref(), &sub, &path, out)?;
            }
        }
        Ok(())
    }
}

/// Whether the link at `path` with `target` resolves to a place outside `tree`, following the
/// tree's own links on the way as the system would (`a -> b/..` where `b -> /` is outside).
fn leaves_tree(repo: &Repo, tree: &Tree<'_>, path: &str, target: &str) -> Result<bool> {
    let mut at: Vec<String> = path.split('/').map(String::from).collect();
    at.pop();
    let mut pending: VecDeque<String> = VecDeque::new();
    if push_target(&mut pending, target) {
        return Ok(true);
    }
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            if at.pop().is_none() {
                return Ok(true);
            }
            continue;
        }
        at.push(part);
        let here = at.join("/");
        let Ok(entry) = tree.get_path(Path::new(&here)) else {
            // not in the tree: nothing to follow; what remains is judged by its text
            continue;
        };
        if entry.filemode_raw() != LINK_MODE {
            continue;
        }
        hops += 1;
        if hops > MAX_HOPS {
            return Ok(true);
        }
        let next = repo.link_target(entry.id())?;
        at.pop();
        let mut ahead = VecDeque::new();
        if push_target(&mut ahead, &next) {
            return Ok(true);
        }
        ahead.extend(pending.drain(..));
        pending = ahead;
    }
    Ok(false)
}

/// Appends the parts of `target` to `pending`; true when it is absolute (outside at once).
fn push_target(pending: &mut VecDeque<String>, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    pending.extend(
        target
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(String::from),
    );
    false
}
