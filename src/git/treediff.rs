//! Tree comparisons that read only the subtrees that differ, as git's own tree diff does.
//!
//! libgit2's tree-to-tree diff flattens both trees whole, reading and inflating every subtree,
//! before it compares them: on a 5,000-file repository that was four fifths of `hotfix status`
//! for a one-line fix, and it made every commit of a history walk cost a full tree read. These
//! walks skip a subtree as soon as both sides name the same tree object.

use std::collections::HashMap;
use std::rc::Rc;

use anyhow::{Context, Result};
use git2::{ObjectType, Repository, Tree};

use super::{Oid, Repo};

/// One entry of a tree: its object, mode, and whether it is a tree.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: Oid,
    mode: i32,
    is_tree: bool,
}

fn entries(tree: Option<&Tree<'_>>) -> Vec<(Vec<u8>, Entry)> {
    let Some(tree) = tree else {
        return Vec::new();
    };
    let mut out: Vec<(Vec<u8>, Entry)> = tree
        .iter()
        .map(|e| {
            (
                e.name_bytes().to_vec(),
                Entry {
                    id: e.id(),
                    mode: e.filemode_raw(),
                    is_tree: e.kind() == Some(ObjectType::Tree),
                },
            )
        })
        .collect();
    // git orders a tree's entries with directories as if named `name/`; a plain byte order on
    // both sides is all a merge by name needs
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn find_tree<'r>(repo: &'r Repository, id: Oid) -> Result<Tree<'r>> {
    repo.find_tree(id)
        .with_context(|| format!("could not read tree {id}"))
}

fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = Vec::with_capacity(prefix.len() + name.len() + 1);
    if !prefix.is_empty() {
        path.extend_from_slice(prefix);
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// Every path whose object, mode or existence differs between two trees (`None`: an empty
/// tree), in no particular order. A file that became a directory gives its own path and every
/// path under the directory.
pub(super) fn changed_paths(
    repo: &Repository,
    old: Option<Oid>,
    new: Option<Oid>,
    out: &mut Vec<Vec<u8>>,
) -> Result<()> {
    changed_under(&mut Trees::new(repo), b"", old, new, out)
}

pub(super) fn changed_under(
    trees: &mut Trees<'_>,
    prefix: &[u8],
    old: Option<Oid>,
    new: Option<Oid>,
    out: &mut Vec<Vec<u8>>,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let old = old.map(|id| trees.get(id)).transpose()?;
    let new = new.map(|id| trees.get(id)).transpose()?;
    let (a, b) = (entries(old.as_deref()), entries(new.as_deref()));
    if let Some(dirs) = &mut trees.dirs {
        dirs.push(prefix.to_vec());
        let attributes = |list: &[(Vec<u8>, Entry)]| list.iter().any(|e| e.0 == b".gitattributes");
        trees.attributes |= attributes(&a) || attributes(&b);
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (name, x, y) = match order {
            std::cmp::Ordering::Less => {
                i += 1;
                (&a[i - 1].0, Some(a[i - 1].1), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (&b[j - 1].0, None, Some(b[j - 1].1))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (&a[i - 1].0, Some(a[i - 1].1), Some(b[j - 1].1))
            }
        };
        if x == y {
            continue;
        }
        let path = join(prefix, name);
        let tree_of = |e: Option<Entry>| e.filter(|e| e.is_tree).map(|e| e.id);
        let (x_tree, y_tree) = (tree_of(x), tree_of(y));
        // a file (or submodule) on either side is a changed path of its own
        if x.is_some_and(|e| !e.is_tree) || y.is_some_and(|e| !e.is_tree) {
            out.push(path.clone());
        }
        if let (Some(updates), Some(x), Some(y)) = (&mut trees.updates, x, y)
            && x.mode == y.mode
            && matches!(x.mode, 0o100644 | 0o100755)
            && !x.is_tree
            && !y.is_tree
        {
            updates.push(Update {
                path: path.clone(),
                old: x.id,
                new: y.id,
                mode: x.mode as u32,
            });
        }
        if x_tree.is_some() || y_tree.is_some() {
            changed_under(trees, &path, x_tree, y_tree, out)?;
        }
    }
    Ok(())
}

impl Repo {
    /// The paths a commit changes against its first parent (against nothing for a root commit).
    pub fn commit_changed_paths(&self, commit: Oid) -> Result<Vec<Vec<u8>>> {
        let c = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?;
        let parent = match c.parent_ids().next() {
            Some(p) => Some(self.tree_of(p)?),
            None => None,
        };
        let mut out = Vec::new();
        changed_paths(&self.repo, parent, Some(c.tree_id()), &mut out)?;
        Ok(out)
    }
}

/// The trees read by one comparison, each read once.
pub(super) struct Trees<'r> {
    repo: &'r Repository,
    now: HashMap<Oid, Rc<Tree<'r>>>,
    /// When kept: every directory `changed_under` compared, and whether one of them has a
    /// `.gitattributes` on either side.
    pub(super) dirs: Option<Vec<Vec<u8>>>,
    pub(super) attributes: bool,
    /// When kept: the files whose content alone changed (a regular file of the same mode on
    /// both sides), with their blob before and after.
    pub(super) updates: Option<Vec<Update>>,
}

/// A regular file whose content changed and nothing else: its path, blob before and after, and
/// mode (the same on both sides).
pub(super) struct Update {
    pub path: Vec<u8>,
    pub old: Oid,
    pub new: Oid,
    pub mode: u32,
}

impl<'r> Trees<'r> {
    pub(super) fn new(repo: &'r Repository) -> Trees<'r> {
        Trees {
            repo,
            now: HashMap::new(),
            dirs: None,
            attributes: false,
            updates: None,
        }
    }

    fn get(&mut self, id: Oid) -> Result<Rc<Tree<'r>>> {
        if let Some(t) = self.now.get(&id) {
            return Ok(t.clone());
        }
        let tree = Rc::new(find_tree(self.repo, id)?);
        self.now.insert(id, tree.clone());
        Ok(tree)
    }
}

/// libgit2's process-wide settings for reading history fast, made once before the first
/// repository is opened: no re-hashing of every object read. git does not do it either (`git
/// fsck` does), and it was a fifth of the time of a diff or a history walk.
pub(super) fn tune_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}
