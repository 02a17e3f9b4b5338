//! The development history as an index: every commit reachable from a tip, with its parents,
//! its tree and the paths it changes, and the patch ids asked for so far. It answers "is this
//! release reachable" and "which development commits change exactly these paths" without a
//! walk, which is what `verify-merged`, `list` and `stats` ask of the whole history.
//!
//! It is derived data, kept in `<git dir>/hotfix/cache/history-index` (written to a temporary
//! file and renamed, so two processes at once each see a whole file) and never a source of
//! truth: every fact in it (a commit's parents, tree, changed paths, patch id) follows from the
//! commit's id, which is how it is keyed. A file that is missing, truncated, corrupt or of
//! another version is ignored and the index is built again from the repository. When the tip
//! moved, only the commits new since are walked: the commits of the old index that the new tip
//! still reaches are kept (all of them when it moved forward), the others dropped.

use std::cell::OnceCell;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use git2::{Odb, OdbObject};

use super::{Oid, Repo};

/// The file's first bytes; a change of format changes the version at the end.
const MAGIC: &[u8; 16] = b"hotfix-history\x00\x01";

/// The development history reachable from one tip, in walk order (a commit before its
/// parents, newest first).
#[derive(Debug, Default)]
pub struct HistoryIndex {
    tip: Option<Oid>,
    commits: Vec<Oid>,
    trees: Vec<Oid>,
    /// `parents[parent_start[i]..parent_start[i + 1]]` are commit i's parents (positions).
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    /// `path_ids[path_start[i]..path_start[i + 1]]`: the paths commit i changes against its
    /// first parent, as positions in `paths`, ascending; none for a merge.
    path_start: Vec<u32>,
    path_ids: Vec<u32>,
    /// Whether commit i's paths were read (a merge's always are: it has none of its own).
    known: Vec<bool>,
    paths: Vec<Vec<u8>>,
    path_pos: HashMap<Vec<u8>, u32>,
    pos: HashMap<Oid, u32>,
    /// Patch ids computed so far (`None`: the commit changes nothing).
    patch_ids: HashMap<u32, Option<Oid>>,
    /// Commits by the first of their changed paths, made when first asked.
    by_first_path: OnceCell<HashMap<u32, Vec<u32>>>,
    /// Something was added since it was read: worth writing back.
    changed: bool,
}

/// A commit read during a walk, before it has a position.
struct Walked {
    id: Oid,
    tree: Oid,
    parents: Vec<Oid>,
}

impl HistoryIndex {
    /// Whether `commit` is reachable from the tip.
    pub fn contains(&self, commit: Oid) -> bool {
        self.pos.contains_key(&commit)
    }

    fn parents_of(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.parents[self.parent_start[i] as usize..self.parent_start[i + 1] as usize]
    }

    fn paths_of(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.path_ids[self.path_start[i] as usize..self.path_start[i + 1] as usize]
    }

    /// The commits that are not merges and change exactly `paths` (in any order) against
    /// their parent.
    pub fn commits_changing_exactly(&mut self, repo: &Repo, paths: &[Vec<u8>]) -> Result<Vec<Oid>> {
        self.read_paths(repo)?;
        Ok(self.commits_changing(paths))
    }

    fn commits_changing(&self, paths: &[Vec<u8>]) -> Vec<Oid> {
        let mut ids: Vec<u32> = Vec::with_capacity(paths.len());
        for p in paths {
            match self.path_pos.get(p) {
                Some(&id) => ids.push(id),
                // no commit of this history changes that path
                None => return Vec::new(),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let Some(&first) = ids.first() else {
            return Vec::new();
        };
        let by_first = self.by_first_path.get_or_init(|| {
            let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
            for i in 0..self.commits.len() as u32 {
                if let Some(&f) = self.paths_of(i).first() {
                    map.entry(f).or_default().push(i);
                }
            }
            map
        });
        by_first
            .get(&first)
            .into_iter()
            .flatten()
            .filter(|&&i| self.paths_of(i) == ids.as_slice())
            .map(|&i| self.commits[i as usize])
            .collect()
    }

    /// The patch id of a commit of the index (as [`Repo::patch_id`]), remembered.
    pub fn patch_id(&mut self, repo: &Repo, commit: Oid) -> Result<Option<Oid>> {
        let Some(&i) = self.pos.get(&commit) else {
            return repo.patch_id(commit);
        };
        if let Some(id) = self.patch_ids.get(&i) {
            return Ok(*id);
        }
        let id = if self.parents_of(i).len() > 1 {
            None
        } else {
            let paths: Vec<Vec<u8>> = self
                .paths_of(i)
                .iter()
                .map(|&p| self.paths[p as usize].clone())
                .collect();
            repo.patch_id_of(commit, &paths)?
        };
        self.patch_ids.insert(i, id);
        self.changed = true;
        Ok(id)
    }

    /// The commits of the index that are in `commit`'s history (its ancestors, itself
    /// included). The part of that history outside the index (a release's own commits) is
    /// walked in the repository, the rest follows the index's parents.
    pub fn ancestors_of(&self, repo: &Repo, commit: Oid) -> Result<AncestorSet> {
        let mut marked = vec![false; self.commits.len()];
        let mut stack: Vec<u32> = Vec::new();
        let mut outside: Vec<Oid> = vec![commit];
        let mut seen: HashSet<Oid> = HashSet::new();
        while let Some(c) = outside.pop() {
            if let Some(&i) = self.pos.get(&c) {
                stack.push(i);
                continue;
            }
            if !seen.insert(c) {
                continue;
            }
            let parents = repo
                .repo
                .find_commit(c)
                .with_context(|| format!("could not read commit {c}"))?
                .parent_ids()
                .collect::<Vec<_>>();
            outside.extend(parents);
        }
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut marked[i as usize], true) {
                continue;
            }
            stack.extend(self.parents_of(i).iter().filter(|&&p| !marked[p as usize]));
        }
        Ok(AncestorSet { marked })
    }

    /// Whether `commit` (of the index) is in the set.
    pub fn in_set(&self, set: &AncestorSet, commit: Oid) -> bool {
        self.pos
            .get(&commit)
            .is_some_and(|&i| set.marked[i as usize])
    }

    /// The index for `tip`: this one if it was built for `tip`; else the commits new since
    /// (walked in the repository, stopping at commits this index has) and the commits of this
    /// index that `tip` still reaches. The paths the new commits change are read when first
    /// asked for ([`HistoryIndex::commits_changing_exactly`]).
    pub fn advance(self, repo: &Repo, tip: Oid) -> Result<HistoryIndex> {
        if self.tip == Some(tip) {
            return Ok(self);
        }
        let walked = {
            let _fast = FastReads::new();
            walk_new(repo, tip, &self)?
        };
        let (walked, boundary) = walked;
        // old position → new position, for the commits kept: those the new tip reaches
        let mut keep: Vec<Option<u32>> = vec![None; self.commits.len()];
        let mut stack = boundary;
        while let Some(i) = stack.pop() {
            if keep[i as usize].is_some() {
                continue;
            }
            keep[i as usize] = Some(0);
            stack.extend(
                self.parents_of(i)
                    .iter()
                    .filter(|&&p| keep[p as usize].is_none()),
            );
        }
        let mut at = walked.len() as u32;
        for k in keep.iter_mut().filter(|k| k.is_some()) {
            *k = Some(at);
            at += 1;
        }
        let total = at as usize;
        let mut next = HistoryIndex {
            tip: Some(tip),
            changed: true,
            commits: Vec::with_capacity(total),
            trees: Vec::with_capacity(total),
            parent_start: Vec::with_capacity(total + 1),
            path_start: Vec::with_capacity(total + 1),
            known: Vec::with_capacity(total),
            pos: HashMap::with_capacity(total),
            ..HistoryIndex::default()
        };
        for (n, w) in walked.iter().enumerate() {
            next.pos.insert(w.id, n as u32);
        }
        for (i, k) in keep.iter().enumerate() {
            if let Some(n) = k {
                next.pos.insert(self.commits[i], *n);
            }
        }
        next.parent_start.push(0);
        next.path_start.push(0);
        // the new commits first, in walk order; their paths are not read yet (a merge has none)
        for w in &walked {
            for p in &w.parents {
                // a parent the walk did not take is one the old index has, and kept
                let n = next
                    .pos
                    .get(p)
                    .with_context(|| format!("the history walk lost commit {p}"))?;
                next.parents.push(*n);
            }
            next.commits.push(w.id);
            next.trees.push(w.tree);
            next.parent_start.push(next.parents.len() as u32);
            next.path_start.push(next.path_ids.len() as u32);
            next.known.push(w.parents.len() > 1);
        }
        // then the old commits kept, in their order, with what is known of them; the table of
        // paths stays as it is
        for (i, k) in keep.iter().enumerate() {
            let Some(n) = *k else { continue };
            let old = i as u32;
            for &p in self.parents_of(old) {
                next.parents
                    .push(keep[p as usize].context("the history index is not closed")?);
            }
            next.commits.push(self.commits[i]);
            next.trees.push(self.trees[i]);
            next.parent_start.push(next.parents.len() as u32);
            next.path_ids.extend_from_slice(self.paths_of(old));
            next.path_start.push(next.path_ids.len() as u32);
            next.known.push(self.known[i]);
            if let Some(id) = self.patch_ids.get(&old) {
                next.patch_ids.insert(n, *id);
            }
        }
        next.paths = self.paths;
        next.path_pos = self.path_pos;
        Ok(next)
    }

    /// Reads the paths of every commit whose paths are not known yet, in walk order (a
    /// commit's trees are then at hand when its parent is compared with its own parent).
    fn read_paths(&mut self, repo: &Repo) -> Result<()> {
        if self.known.iter().all(|k| *k) {
            return Ok(());
        }
        let _fast = FastReads::new();
        let odb = repo
            .repo
            .odb()
            .context("could not open the object database")?;
        let mut trees = RawTrees::new(&odb);
        let n = self.commits.len();
        let mut lists: Vec<Option<Vec<u32>>> = vec![None; n];
        for (i, list) in lists.iter_mut().enumerate() {
            if self.known[i] {
                continue;
            }
            let parent_tree = self
                .parents_of(i as u32)
                .first()
                .map(|&p| self.trees[p as usize]);
            let mut changed = Vec::new();
            raw_changed(
                &mut trees,
                b"",
                parent_tree,
                Some(self.trees[i]),
                &mut changed,
            )?;
            let mut ids: Vec<u32> = changed.into_iter().map(|p| self.path_id(p)).collect();
            ids.sort_unstable();
            ids.dedup();
            *list = Some(ids);
            trees.next_step();
        }
        let mut starts = Vec::with_capacity(n + 1);
        let mut ids = Vec::with_capacity(self.path_ids.len());
        starts.push(0);
        for (i, list) in lists.into_iter().enumerate() {
            match list {
                Some(list) => ids.extend(list),
                None => ids.extend_from_slice(self.paths_of(i as u32)),
            }
            starts.push(ids.len() as u32);
        }
        self.path_start = starts;
        self.path_ids = ids;
        self.known = vec![true; n];
        self.by_first_path = OnceCell::new();
        self.changed = true;
        Ok(())
    }

    fn path_id(&mut self, path: Vec<u8>) -> u32 {
        if let Some(&id) = self.path_pos.get(&path) {
            return id;
        }
        let id = self.paths.len() as u32;
        self.path_pos.insert(path.clone(), id);
        self.paths.push(path);
        id
    }

    /// Where the index of this repository is kept.
    pub fn path(repo: &Repo) -> PathBuf {
        repo.common_dir()
            .join("hotfix")
            .join("cache")
            .join("history-index")
    }

    /// The index kept for this repository, or an empty one when there is none or it cannot
    /// be read whole (it is then built again).
    pub fn load(repo: &Repo) -> HistoryIndex {
        std::fs::read(Self::path(repo))
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default()
    }

    /// Writes the index back when something was added to it. A cache that cannot be written
    /// (a read-only repository, a full disk) costs the walk again next time, nothing more.
    pub fn save(&self, repo: &Repo) {
        if self.changed {
            let _ = write(&Self::path(repo), &encode(self));
        }
    }
}

/// While it lives, libgit2 keeps no objects in its cache: a walk reads each commit and tree
/// once or twice (this module keeps the trees of the last two steps itself), and storing
/// and evicting hundreds of thousands of objects was most of a walk's time.
struct FastReads;

impl FastReads {
    fn new() -> FastReads {
        git2::opts::enable_caching(false);
        FastReads
    }
}

impl Drop for FastReads {
    fn drop(&mut self) {
        git2::opts::enable_caching(true);
    }
}

/// A set of commits of an index (see [`HistoryIndex::ancestors_of`]).
pub struct AncestorSet {
    marked: Vec<bool>,
}

/// The commits reachable from `tip` that `old` does not have, newest first (by committer
/// date, as `git log`), and the positions in `old` where the walk met it.
fn walk_new(repo: &Repo, tip: Oid, old: &HistoryIndex) -> Result<(Vec<Walked>, Vec<u32>)> {
    let mut out = Vec::new();
    let mut boundary = Vec::new();
    let mut seen: HashSet<Oid> = HashSet::new();
    let mut queue: BinaryHeap<(i64, usize)> = BinaryHeap::new();
    let mut pending: Vec<Option<Walked>> = Vec::new();
    let read = |id: Oid, pending: &mut Vec<Option<Walked>>| -> Result<(i64, usize)> {
        let c = repo
            .repo
            .find_commit(id)
            .with_context(|| format!("could not read commit {id}"))?;
        pending.push(Some(Walked {
            id,
            tree: c.tree_id(),
            parents: c.parent_ids().collect(),
        }));
        Ok((c.time().seconds(), pending.len() - 1))
    };
    if let Some(&i) = old.pos.get(&tip) {
        boundary.push(i);
    } else {
        seen.insert(tip);
        queue.push(read(tip, &mut pending)?);
    }
    while let Some((_, slot)) = queue.pop() {
        let w = pending[slot].take().expect("each commit is queued once");
        for p in &w.parents {
            if let Some(&i) = old.pos.get(p) {
                boundary.push(i);
            } else if seen.insert(*p) {
                queue.push(read(*p, &mut pending)?);
            }
        }
        out.push(w);
    }
    Ok((out, boundary))
}

// ---- Changed paths from the trees' raw bytes. ----
//
// The same paths as `treediff::changed_paths` (a test compares them), read from the objects'
// bytes: a history of tens of thousands of commits is thousands of times more trees than one
// diff, and libgit2's parsed trees (an allocation per entry, the object cache) were most of it.

/// The trees read for the last two commits of a walk (see `treediff::Trees`).
struct RawTrees<'o> {
    odb: &'o Odb<'o>,
    now: HashMap<Oid, std::rc::Rc<OdbObject<'o>>>,
    before: HashMap<Oid, std::rc::Rc<OdbObject<'o>>>,
}

impl<'o> RawTrees<'o> {
    fn new(odb: &'o Odb<'o>) -> RawTrees<'o> {
        RawTrees {
            odb,
            now: HashMap::new(),
            before: HashMap::new(),
        }
    }

    fn next_step(&mut self) {
        self.before = std::mem::take(&mut self.now);
    }

    fn get(&mut self, id: Oid) -> Result<std::rc::Rc<OdbObject<'o>>> {
        if let Some(t) = self.now.get(&id) {
            return Ok(t.clone());
        }
        let tree = match self.before.get(&id) {
            Some(t) => t.clone(),
            None => {
                let o = self
                    .odb
                    .read(id)
                    .with_context(|| format!("could not read tree {id}"))?;
                if o.kind() != git2::ObjectType::Tree {
                    anyhow::bail!("{id} is not a tree");
                }
                std::rc::Rc::new(o)
            }
        };
        self.now.insert(id, tree.clone());
        Ok(tree)
    }
}

/// One entry of a raw tree: `<octal mode> <name>\0<20-byte id>`.
#[derive(Clone, Copy)]
struct RawEntry<'a> {
    mode: u32,
    name: &'a [u8],
    id: &'a [u8],
    /// The entry's bytes, all three together.
    whole: &'a [u8],
}

impl RawEntry<'_> {
    fn is_tree(&self) -> bool {
        self.mode == 0o040000
    }
}

/// Reads a raw tree's entries one after the other.
struct RawCursor<'a> {
    rest: &'a [u8],
}

impl<'a> RawCursor<'a> {
    /// The next entry, not consumed.
    fn peek(&self) -> Result<Option<RawEntry<'a>>> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let rest = self.rest;
        let entry = (|| {
            let space = rest.iter().position(|&b| b == b' ')?;
            let nul = space + 1 + rest[space + 1..].iter().position(|&b| b == 0)?;
            let id = rest.get(nul + 1..nul + 21)?;
            let mut mode = 0u32;
            for &d in &rest[..space] {
                if !(b'0'..=b'7').contains(&d) {
                    return None;
                }
                mode = mode.checked_mul(8)? + u32::from(d - b'0');
            }
            Some(RawEntry {
                mode,
                name: &rest[space + 1..nul],
                id,
                whole: &rest[..nul + 21],
            })
        })();
        match entry {
            Some(e) => Ok(Some(e)),
            None => anyhow::bail!("a tree object is damaged"),
        }
    }
}

/// How many bytes two slices have in common at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 16 <= n {
        let x = u128::from_ne_bytes(a[i..i + 16].try_into().expect("16 bytes"));
        let y = u128::from_ne_bytes(b[i..i + 16].try_into().expect("16 bytes"));
        if x != y {
            break;
        }
        i += 16;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The length of the whole entries of a raw tree that end within its first `len` bytes.
fn entries_before(data: &[u8], len: usize) -> Result<usize> {
    let mut at = 0;
    loop {
        let Some(nul) = data.get(at..).and_then(|r| r.iter().position(|&b| b == 0)) else {
            return Ok(at);
        };
        let end = at + nul + 21;
        if end > len {
            return Ok(at);
        }
        at = end;
    }
}

/// git's order of tree entries: by name, a tree's name as if it ended in `/`.
fn git_order(a: &RawEntry<'_>, b: &RawEntry<'_>) -> std::cmp::Ordering {
    let n = a.name.len().min(b.name.len());
    match a.name[..n].cmp(&b.name[..n]) {
        std::cmp::Ordering::Equal => {}
        other => return other,
    }
    let next = |e: &RawEntry<'_>| match e.name.get(n) {
        Some(&c) => c,
        None if e.is_tree() => b'/',
        None => 0,
    };
    next(a).cmp(&next(b))
}

fn raw_changed(
    trees: &mut RawTrees<'_>,
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
    let mut a = RawCursor {
        rest: old.as_deref().map_or(&[][..], |o| o.data()),
    };
    let mut b = RawCursor {
        rest: new.as_deref().map_or(&[][..], |o| o.data()),
    };
    loop {
        // most of two trees is the same bytes: skip them, and stop when all the rest is
        if a.rest == b.rest {
            break;
        }
        let same = entries_before(a.rest, common_prefix(a.rest, b.rest))?;
        a.rest = &a.rest[same..];
        b.rest = &b.rest[same..];
        let (this, that) = match (a.peek()?, b.peek()?) {
            (None, None) => break,
            (Some(p), None) => (Some(p), None),
            (None, Some(q)) => (None, Some(q)),
            (Some(p), Some(q)) => match git_order(&p, &q) {
                std::cmp::Ordering::Less => (Some(p), None),
                std::cmp::Ordering::Greater => (None, Some(q)),
                std::cmp::Ordering::Equal => (Some(p), Some(q)),
            },
        };
        if let Some(p) = this {
            a.rest = &a.rest[p.whole.len()..];
        }
        if let Some(q) = that {
            b.rest = &b.rest[q.whole.len()..];
        }
        let (x, y) = (this, that);
        if let (Some(x), Some(y)) = (x, y)
            && x.mode == y.mode
            && x.id == y.id
        {
            continue;
        }
        let name = x.or(y).expect("one side").name;
        let mut path = Vec::with_capacity(prefix.len() + name.len() + 1);
        if !prefix.is_empty() {
            path.extend_from_slice(prefix);
            path.push(b'/');
        }
        path.extend_from_slice(name);
        let tree_of = |e: Option<RawEntry<'_>>| {
            e.filter(RawEntry::is_tree)
                .map(|e| Oid::from_bytes(e.id))
                .transpose()
        };
        let (x_tree, y_tree) = (tree_of(x)?, tree_of(y)?);
        if x_tree.is_some() || y_tree.is_some() {
            raw_changed(trees, &path, x_tree, y_tree, out)?;
        }
        // a file (or submodule) on either side is a changed path of its own
        if x.is_some_and(|e| !e.is_tree()) || y.is_some_and(|e| !e.is_tree()) {
            out.push(path);
        }
    }
    Ok(())
}

// ---- The file: little-endian numbers, the sections in order, and a checksum at the end. ----

fn checksum(bytes: &[u8]) -> u64 {
    // FNV-1a over 8-byte words: enough to tell a torn or damaged file, fast on megabytes
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h ^= u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in chunks.remainder() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn encode(ix: &HistoryIndex) -> Vec<u8> {
    let mut out = Vec::with_capacity(ix.commits.len() * 56 + ix.path_ids.len() * 4);
    let u32s = |out: &mut Vec<u8>, v: &[u32]| {
        out.extend((v.len() as u32).to_le_bytes());
        for x in v {
            out.extend(x.to_le_bytes());
        }
    };
    out.extend(MAGIC);
    out.extend(ix.tip.map_or([0; 20], |t| {
        let mut b = [0; 20];
        b.copy_from_slice(t.as_bytes());
        b
    }));
    out.push(u8::from(ix.tip.is_some()));
    out.extend((ix.commits.len() as u32).to_le_bytes());
    for c in &ix.commits {
        out.extend(c.as_bytes());
    }
    for t in &ix.trees {
        out.extend(t.as_bytes());
    }
    u32s(&mut out, &ix.parent_start);
    u32s(&mut out, &ix.parents);
    u32s(&mut out, &ix.path_start);
    u32s(&mut out, &ix.path_ids);
    out.extend(ix.known.iter().map(|&k| u8::from(k)));
    out.extend((ix.paths.len() as u32).to_le_bytes());
    for p in &ix.paths {
        out.extend((p.len() as u32).to_le_bytes());
        out.extend(p);
    }
    let mut patches: Vec<(&u32, &Option<Oid>)> = ix.patch_ids.iter().collect();
    patches.sort();
    out.extend((patches.len() as u32).to_le_bytes());
    for (i, id) in patches {
        out.extend(i.to_le_bytes());
        match id {
            Some(id) => {
                out.push(1);
                out.extend(id.as_bytes());
            }
            None => out.push(0),
        }
    }
    let sum = checksum(&out);
    out.extend(sum.to_le_bytes());
    out
}

/// Reads a file written by [`encode`]; `None` for anything else, or anything inconsistent.
fn decode(bytes: &[u8]) -> Option<HistoryIndex> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if checksum(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Reader { bytes: body, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let tip = Oid::from_bytes(r.take(20)?).ok()?;
    let tip = (r.take(1)?[0] == 1).then_some(tip);
    let n = r.u32()? as usize;
    let commits = r.oids(n)?;
    let trees = r.oids(n)?;
    let parent_start = r.u32s()?;
    let parents = r.u32s()?;
    let path_start = r.u32s()?;
    let path_ids = r.u32s()?;
    let known = r.take(n)?.iter().map(|&k| k == 1).collect();
    let np = r.u32()? as usize;
    let mut paths = Vec::with_capacity(np.min(body.len()));
    for _ in 0..np {
        let len = r.u32()? as usize;
        paths.push(r.take(len)?.to_vec());
    }
    let npatch = r.u32()? as usize;
    let mut patch_ids = HashMap::with_capacity(npatch.min(body.len()));
    for _ in 0..npatch {
        let i = r.u32()?;
        let id = match r.take(1)?[0] {
            1 => Some(Oid::from_bytes(r.take(20)?).ok()?),
            _ => None,
        };
        if i as usize >= n {
            return None;
        }
        patch_ids.insert(i, id);
    }
    if r.at != body.len() {
        return None;
    }
    // every position in range, every list's bounds in order
    let starts_ok = |starts: &[u32], len: usize| {
        starts.len() == n + 1
            && starts[0] == 0
            && starts[n] as usize == len
            && starts.windows(2).all(|w| w[0] <= w[1])
    };
    if !starts_ok(&parent_start, parents.len())
        || !starts_ok(&path_start, path_ids.len())
        || parents.iter().any(|&p| p as usize >= n)
        || path_ids.iter().any(|&p| p as usize >= paths.len())
        || (tip.is_none() && n > 0)
    {
        return None;
    }
    let pos: HashMap<Oid, u32> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as u32))
        .collect();
    let path_pos: HashMap<Vec<u8>, u32> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u32))
        .collect();
    if pos.len() != n || path_pos.len() != paths.len() || tip.is_some_and(|t| !pos.contains_key(&t))
    {
        return None;
    }
    Some(HistoryIndex {
        tip,
        commits,
        trees,
        parent_start,
        parents,
        path_start,
        path_ids,
        known,
        paths,
        path_pos,
        pos,
        patch_ids,
        by_first_path: OnceCell::new(),
        changed: false,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u32s(&mut self) -> Option<Vec<u32>> {
        let n = self.u32()? as usize;
        let raw = self.take(n.checked_mul(4)?)?;
        Some(
            raw.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        )
    }

    fn oids(&mut self, n: usize) -> Option<Vec<Oid>> {
        let raw = self.take(n.checked_mul(20)?)?;
        raw.chunks_exact(20)
            .map(|c| Oid::from_bytes(c).ok())
            .collect()
    }
}

/// Written whole to a temporary file beside it and renamed over it: a reader sees the old
/// file or the new one, and of two writers the last rename wins with a whole file. Not synced
/// to disk: a file torn by a crash fails its checksum and is built again.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("the cache path has no folder")?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".history-index.")
        .tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HistoryIndex {
        let a = Oid::from_str("1111111111111111111111111111111111111111").unwrap();
        let b = Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        let t = Oid::from_str("3333333333333333333333333333333333333333").unwrap();
        let mut ix = HistoryIndex {
            tip: Some(a),
            commits: vec![a, b],
            trees: vec![t, t],
            parent_start: vec![0, 1, 1],
            parents: vec![1],
            path_start: vec![0, 1, 2],
            path_ids: vec![0, 1],
            known: vec![true, true],
            paths: vec![b"src/a.c".to_vec(), b"b.txt".to_vec()],
            changed: true,
            ..HistoryIndex::default()
        };
        ix.patch_ids.insert(0, Some(t));
        ix.patch_ids.insert(1, None);
        ix.pos = [(a, 0), (b, 1)].into_iter().collect();
        ix.path_pos = [(b"src/a.c".to_vec(), 0), (b"b.txt".to_vec(), 1)]
            .into_iter()
            .collect();
        ix
    }

    #[test]
    fn a_written_index_reads_back_the_same() {
        let ix = sample();
        let back = decode(&encode(&ix)).expect("it reads back");
        assert_eq!(back.tip, ix.tip);
        assert_eq!(back.commits, ix.commits);
        assert_eq!(back.trees, ix.trees);
        assert_eq!(back.parents, ix.parents);
        assert_eq!(back.paths, ix.paths);
        assert_eq!(back.patch_ids, ix.patch_ids);
        assert_eq!(back.known, ix.known);
        assert_eq!(
            back.commits_changing(&[b"b.txt".to_vec()]),
            vec![ix.commits[1]]
        );
        assert!(back.commits_changing(&[b"nowhere".to_vec()]).is_empty());
    }

    /// A tree from `(path, content)` pairs; content `"@dir"` is left out, `"@link:x"` is a
    /// symbolic link, `"@exec:x"` an executable file.
    fn tree(repo: &git2::Repository, files: &[(&str, &str)]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, content) in files {
            let (mode, body) = match content.split_once(':') {
                Some(("@link", t)) => (0o120000, t),
                Some(("@exec", t)) => (0o100755, t),
                _ => (0o100644, *content),
            };
            let id = repo.blob(body.as_bytes()).unwrap();
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
                uid: 0,
                gid: 0,
                file_size: 0,
                id,
                flags: path.len() as u16,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    #[test]
    fn raw_tree_comparison_finds_the_paths_the_parsed_one_finds() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let base: &[(&str, &str)] = &[
            ("a.txt", "a"),
            ("foo", "a file named foo"),
            ("foo.c", "c"),
            ("foo-bar/x", "x"),
            ("lib/deep/er/z.rs", "z"),
            ("lib/deep/y.rs", "y"),
            ("lib/m.rs", "m"),
            ("run.sh", "echo"),
            ("zz/link", "@link:a.txt"),
        ];
        let variants: Vec<Vec<(&str, &str)>> = vec![
            base.to_vec(),
            // one file's content
            base.iter()
                .map(|&(p, c)| {
                    if p == "lib/deep/y.rs" {
                        (p, "y2")
                    } else {
                        (p, c)
                    }
                })
                .collect(),
            // a file becomes a folder of the same name, beside foo.c and foo-bar/
            base.iter()
                .filter(|(p, _)| *p != "foo")
                .copied()
                .chain([("foo/inner.txt", "in"), ("foo/more/deep.txt", "d")])
                .collect(),
            // a mode change, a link's target, a file removed, one added at the top
            base.iter()
                .filter(|(p, _)| *p != "lib/m.rs")
                .map(|&(p, c)| match p {
                    "run.sh" => (p, "@exec:echo"),
                    "zz/link" => (p, "@link:foo.c"),
                    _ => (p, c),
                })
                .chain([("0first", "0")])
                .collect(),
            // a whole folder gone
            base.iter()
                .filter(|(p, _)| !p.starts_with("lib/"))
                .copied()
                .collect(),
            Vec::new(),
        ];
        let trees: Vec<Oid> = variants.iter().map(|v| tree(&repo, v)).collect();
        let odb = repo.odb().unwrap();
        let mut compared = 0;
        for &old in trees
            .iter()
            .map(Some)
            .chain([None])
            .collect::<Vec<_>>()
            .iter()
        {
            for &new in trees
                .iter()
                .map(Some)
                .chain([None])
                .collect::<Vec<_>>()
                .iter()
            {
                let (old, new) = (old.copied(), new.copied());
                let mut parsed = Vec::new();
                crate::git::treediff::changed_paths(&repo, old, new, &mut parsed).unwrap();
                let mut raw = Vec::new();
                raw_changed(&mut RawTrees::new(&odb), b"", old, new, &mut raw).unwrap();
                parsed.sort();
                raw.sort();
                assert_eq!(raw, parsed, "{old:?} -> {new:?}");
                compared += usize::from(!raw.is_empty());
            }
        }
        assert!(compared > 20, "{compared}");
    }

    #[test]
    fn a_damaged_or_cut_file_is_not_read() {
        let bytes = encode(&sample());
        for cut in [0, 1, 8, 16, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for at in [0, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(decode(&bad).is_none(), "byte {at} flipped");
        }
        assert!(decode(b"").is_none());
        assert!(decode(&[0xff; 100]).is_none());
    }
}
