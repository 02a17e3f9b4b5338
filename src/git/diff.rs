//! Tree-to-tree diffs, walked once: each changed file goes to a visitor, which says up front
//! whether it wants the file's lines, so excluded files cost nothing beyond their entry in the
//! tree diff.
//!
//! Large diffs are diffed on several threads, each with its own repository handle.
//!
//! libgit2 finds the changed files and reads the blobs; the lines are diffed by imara-diff
//! (Myers with git's heuristics, so the counts are git's). libgit2's own patches were slower
//! than `git diff` on a 1,000-file diff: they look up `.gitattributes` for every file (two
//! `realpath`s and a `stat` per side), hash buffers, and keep every line. The `diff` attribute
//! (`-diff`, `binary`) is taken from the top-level `.gitattributes` of the **base** commit's
//! tree, and from nowhere else: not `info/attributes`, `core.attributesFile` or the working
//! tree, which the author of a fix can set in their clone alone, and not the fix's own
//! `.gitattributes`, which would let the fix decide how much of itself is counted.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow};
use git2::{Blob, Delta, Diff, DiffFile, DiffFindOptions, DiffOptions, FileMode, Repository};
use imara_diff::{Algorithm, InternedInput};
use serde::Serialize;

use super::{Oid, Repo};

/// Files per unit of work handed to a thread.
const BATCH_FILES: usize = 16;
/// Below this many changed files a diff is walked on this thread alone.
const PARALLEL_MIN_FILES: usize = 64;
/// At most this many threads diff one tree diff.
const MAX_THREADS: usize = 4;

/// How a file changed between the two trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Deleted,
    Modified,
    Renamed,
    Copied,
    /// A file became a symlink or a submodule, or the other way round.
    Typechange,
}

/// One changed file. Paths are shown lossily when they are not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path in the new tree (the old one for a deleted file).
    pub path: String,
    /// The path in the old tree when it differs (renames, copies).
    pub old_path: Option<String>,
    pub change: Change,
    /// The submodule commit the new side names, when it is a submodule (a gitlink).
    pub submodule: Option<String>,
}

/// Which side of the diff a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Context,
    Added,
    Removed,
}

/// One line of a hunk.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub origin: Origin,
    /// The line's number in the new file (`None` for a removed line).
    pub new_lineno: Option<u32>,
    /// The line's text without its line ending.
    pub content: &'a [u8],
}

/// Receives a diff file by file, in the diff's order (paths sorted as git sorts them).
pub trait DiffVisitor {
    /// Whether the lines of `change` are wanted; asked just before `file`. Files that are not
    /// wanted are never read.
    fn wants_lines(&self, change: &FileChange) -> bool;
    /// A changed file; its lines follow when `wants_lines` said so.
    fn file(&mut self, change: &FileChange);
    /// The file just announced is binary: it has no lines.
    fn binary(&mut self) {}
    /// A new hunk starts at `new_start` in the new file.
    fn hunk(&mut self, _new_start: u32) {}
    fn line(&mut self, _line: &Line<'_>) {}
    /// The file just announced has been fully visited.
    fn file_end(&mut self) {}
}

impl Repo {
    /// Walks the diff from commit `base` to commit `head` (renames detected, as `git diff`
    /// does by default), giving each changed file to a visitor made by `new_visitor`.
    ///
    /// The files are cut into consecutive batches, each given to a visitor of its own (on
    /// several threads for a large diff); the visitors come back in file order, so
    /// concatenating what they collected gives the result of a single walk.
    pub fn diff_commits<V, F>(&self, base: Oid, head: Oid, new_visitor: F) -> Result<Vec<V>>
    where
        V: DiffVisitor + Send,
        F: Fn() -> V + Sync,
    {
        self.diff_commits_over(base, head, &OldSides::new(), new_visitor)
    }

    /// [`Repo::diff_commits`] with the base side of some files replaced (`old_sides`: path →
    /// content): each such file that `head` changed is diffed from that content instead, and
    /// left out when `head` has exactly it. The guard diffs from the base with the version
    /// bump applied this way, so the bump itself is not counted and every other change is.
    pub fn diff_commits_over<V, F>(
        &self,
        base: Oid,
        head: Oid,
        old_sides: &OldSides,
        new_visitor: F,
    ) -> Result<Vec<V>>
    where
        V: DiffVisitor + Send,
        F: Fn() -> V + Sync,
    {
        // git does not re-hash the objects it reads, and a 1,000-file diff spent a fifth of its
        // time doing so: the guard must stay as fast as `git diff --shortstat`.
        git2::opts::strict_hash_verification(false);
        let attributes = DiffAttributes::of_commit(&self.repo, base)?;
        let attributes = &attributes;
        let paths = changed_paths(&self.repo, base, head)?;
        let diff = tree_diff(&self.repo, base, head, &paths)?;
        let files = diff.deltas().len();
        let threads = if files < PARALLEL_MIN_FILES {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS)
        };
        if threads == 1 {
            let mut visitor = new_visitor();
            let walker = Walker {
                repo: &self.repo,
                diff: &diff,
                attributes,
                old_sides,
            };
            walker.walk(0..files, &mut visitor)?;
            return Ok(vec![visitor]);
        }
        let batches = files.div_ceil(BATCH_FILES);
        let next = AtomicUsize::new(0);
        // Each thread takes the next batch until none is left. A libgit2 repository handle is
        // not shared between threads: the others open their own and diff the same trees.
        let work = |repo: &Repository, diff: &Diff<'_>| -> Result<Vec<(usize, V)>> {
            let walker = Walker {
                repo,
                diff,
                attributes,
                old_sides,
            };
            let mut done = Vec::new();
            loop {
                let batch = next.fetch_add(1, Ordering::Relaxed);
                if batch >= batches {
                    return Ok(done);
                }
                let mut visitor = new_visitor();
                walker.walk(
                    batch * BATCH_FILES..((batch + 1) * BATCH_FILES).min(files),
                    &mut visitor,
                )?;
                done.push((batch, visitor));
            }
        };
        let git_dir = self.repo.path();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads)
                .map(|_| {
                    scope.spawn(|| -> Result<Vec<(usize, V)>> {
                        let repo = Repository::open(git_dir).with_context(|| {
                            format!("could not open the repository at {}", git_dir.display())
                        })?;
                        let diff = tree_diff(&repo, base, head, &paths)?;
                        anyhow::ensure!(
                            diff.deltas().len() == files,
                            "the diff of {base} against {head} came out differently on another thread"
                        );
                        work(&repo, &diff)
                    })
                })
                .collect();
            let mine = work(&self.repo, &diff);
            if mine.is_err() {
                // the others stop at their next batch
                next.store(batches, Ordering::Relaxed);
            }
            let mut visitors = mine?;
            for worker in workers {
                let done = worker
                    .join()
                    .map_err(|_| anyhow!("a thread reading the diff panicked"))??;
                visitors.extend(done);
            }
            visitors.sort_by_key(|(batch, _)| *batch);
            Ok(visitors.into_iter().map(|(_, v)| v).collect())
        })
    }
}

/// The paths that differ between two commits' trees, found reading only the subtrees that
/// differ.
fn changed_paths(repo: &Repository, base: Oid, head: Oid) -> Result<Vec<Vec<u8>>> {
    let tree = |oid: Oid| {
        repo.find_commit(oid)
            .map(|c| c.tree_id())
            .with_context(|| format!("could not read commit {oid}"))
    };
    let mut paths = Vec::new();
    super::treediff::changed_paths(repo, Some(tree(base)?), Some(tree(head)?), &mut paths)?;
    Ok(paths)
}

/// The tree-to-tree diff of two commits, renames detected, limited to `paths` (from
/// `changed_paths`: every path that differs, so nothing is left out). libgit2 alone would read
/// every subtree of both sides, which was most of the time of a diff of a few files.
fn tree_diff<'r>(
    repo: &'r Repository,
    base: Oid,
    head: Oid,
    paths: &[Vec<u8>],
) -> Result<Diff<'r>> {
    let tree = |oid: Oid| {
        repo.find_commit(oid)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of commit {oid}"))
    };
    let (old, new) = (tree(base)?, tree(head)?);
    let mut opts = DiffOptions::new();
    opts.include_typechange(true).disable_pathspec_match(true);
    for p in paths {
        opts.pathspec(p.as_slice());
    }
    if paths.is_empty() {
        // no pathspec means every path; no tree has an entry named `.git`
        opts.pathspec(".git");
    }
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))
        .with_context(|| format!("could not diff {base} against {head}"))?;
    let mut find = DiffFindOptions::new();
    // git's own default limit; beyond it renames show as a deletion plus an addition.
    find.renames(true).rename_limit(1000);
    diff.find_similar(Some(&mut find))
        .context("could not detect renamed files")?;
    Ok(diff)
}

/// One side of a changed file.
enum Side<'r> {
    Missing,
    Blob(Blob<'r>),
    /// A submodule, shown as git shows it.
    Text(Vec<u8>),
}

/// Base-side contents that replace the base tree's, by path (see [`Repo::diff_commits_over`]).
pub type OldSides = std::collections::HashMap<String, Vec<u8>>;

/// Walks files of one diff with one repository handle.
struct Walker<'a, 'r> {
    repo: &'r Repository,
    diff: &'a Diff<'r>,
    /// The `diff` attribute, as the base's top-level `.gitattributes` sets it.
    attributes: &'a DiffAttributes,
    old_sides: &'a OldSides,
}

impl<'r> Walker<'_, 'r> {
    /// Gives the changed files `range`, and their lines when wanted, to `visitor`.
    fn walk(&self, range: Range<usize>, visitor: &mut dyn DiffVisitor) -> Result<()> {
        for idx in range {
            let Some(delta) = self.diff.get_delta(idx) else {
                continue;
            };
            let change = match delta.status() {
                Delta::Added => Change::Added,
                Delta::Deleted => Change::Deleted,
                Delta::Modified => Change::Modified,
                Delta::Renamed => Change::Renamed,
                Delta::Copied => Change::Copied,
                Delta::Typechange => Change::Typechange,
                _ => continue,
            };
            let lossy = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
            let new_path = lossy(delta.new_file().path_bytes());
            let old_path = lossy(delta.old_file().path_bytes());
            let (path, old_path) = match change {
                Change::Deleted => (old_path.unwrap_or_default(), None),
                _ => {
                    let path = new_path.or_else(|| old_path.clone()).unwrap_or_default();
                    let old = old_path.filter(|o| *o != path);
                    (path, old)
                }
            };
            let new_file = delta.new_file();
            let submodule = (new_file.mode() == FileMode::Commit && !new_file.id().is_zero())
                .then(|| new_file.id().to_string());
            let change = FileChange {
                path,
                old_path,
                change,
                submodule,
            };
            let replaced = match (change.change, &change.old_path) {
                (Change::Modified, None) => self.old_sides.get(&change.path),
                _ => None,
            };
            if let Some(old) = replaced {
                let new = self.side(&delta.new_file(), &change.path)?;
                if matches!(&new, Side::Blob(b) if b.content() == old.as_slice()) {
                    continue;
                }
                let wanted = visitor.wants_lines(&change);
                visitor.file(&change);
                if wanted {
                    self.lines(&change.path, Side::Text(old.clone()), new, visitor)?;
                }
                visitor.file_end();
                continue;
            }
            let wanted = visitor.wants_lines(&change);
            visitor.file(&change);
            if wanted {
                let old = self.side(&delta.old_file(), &change.path)?;
                let new = self.side(&delta.new_file(), &change.path)?;
                self.lines(&change.path, old, new, visitor)?;
            }
            visitor.file_end();
        }
        Ok(())
    }

    fn side(&self, file: &DiffFile<'_>, path: &str) -> Result<Side<'r>> {
        let id = file.id();
        if id.is_zero() {
            return Ok(Side::Missing);
        }
        if file.mode() == FileMode::Commit {
            return Ok(Side::Text(format!("Subproject commit {id}\n").into_bytes()));
        }
        let blob = self
            .repo
            .find_blob(id)
            .with_context(|| format!("could not read {path} ({id})"))?;
        Ok(Side::Blob(blob))
    }

    /// Whether the `diff` attribute marks `path` binary (`-diff`, `binary`).
    fn binary_by_attribute(&self, path: &str) -> bool {
        self.attributes.binary(path)
    }

    /// The hunks and lines between `old` and `new`.
    fn lines(
        &self,
        path: &str,
        old: Side<'r>,
        new: Side<'r>,
        visitor: &mut dyn DiffVisitor,
    ) -> Result<()> {
        let bytes = |side: &Side<'r>| -> Vec<u8> {
            match side {
                Side::Missing => Vec::new(),
                Side::Blob(b) => b.content().to_vec(),
                Side::Text(t) => t.clone(),
            }
        };
        let (old_bytes, new_bytes);
        let (before, after): (&[u8], &[u8]) = match (&old, &new) {
            (Side::Missing, Side::Missing) => return Ok(()),
            (Side::Missing | Side::Blob(_), Side::Missing | Side::Blob(_)) => {
                (blob_content(&old), blob_content(&new))
            }
            // a submodule on either side: rare and small
            _ => {
                old_bytes = bytes(&old);
                new_bytes = bytes(&new);
                (&old_bytes[..], &new_bytes[..])
            }
        };
        if is_binary(before) || is_binary(after) || self.binary_by_attribute(path) {
            visitor.binary();
        } else if before.is_empty() {
            one_sided(after, true, visitor);
        } else if after.is_empty() {
            one_sided(before, false, visitor);
        } else {
            text_diff(before, after, visitor);
        }
        Ok(())
    }
}

fn blob_content<'a>(side: &'a Side<'_>) -> &'a [u8] {
    match side {
        Side::Blob(b) => b.content(),
        _ => &[],
    }
}

/// git's test: a NUL byte in the first 8,000 bytes, or a file too big to diff
/// (core.bigFileThreshold's default).
fn is_binary(content: &[u8]) -> bool {
    content.len() > 512 * 1024 * 1024 || content[..content.len().min(8000)].contains(&0)
}

/// The lines of context git shows around a change; changes closer than twice this share a hunk.
const CONTEXT: u32 = 3;

/// The line diff of two texts as git shows it: Myers' algorithm with git's heuristics, hunks
/// slid to where the indentation suggests (git's indent heuristic), 3 lines of context.
fn text_diff(before: &[u8], after: &[u8], visitor: &mut dyn DiffVisitor) {
    let input = InternedInput::new(before, after);
    let mut diff = imara_diff::Diff::compute(Algorithm::Myers, &input);
    diff.postprocess_lines(&input);
    let changes: Vec<imara_diff::Hunk> = diff.hunks().collect();
    let line = |token: imara_diff::Token| strip_eol(input.interner[token]);
    let (old_len, new_len) = (len32(input.before.len()), len32(input.after.len()));
    let context = |visitor: &mut dyn DiffVisitor, old_at: u32, new_at: u32, count: u32| {
        for k in 0..count {
            visitor.line(&Line {
                origin: Origin::Context,
                new_lineno: Some(new_at + k + 1),
                content: line(input.before[(old_at + k) as usize]),
            });
        }
    };
    let mut previous_end = 0;
    let mut i = 0;
    while i < changes.len() {
        let mut j = i;
        while j + 1 < changes.len()
            && changes[j + 1].before.start - changes[j].before.end <= 2 * CONTEXT
        {
            j += 1;
        }
        let (first, last) = (&changes[i], &changes[j]);
        let lead = CONTEXT.min(first.before.start - previous_end);
        let next_start = changes.get(j + 1).map_or(old_len, |c| c.before.start);
        let trail = CONTEXT.min(next_start - last.before.end);
        let new_first = first.after.start - lead;
        let new_count = last.after.end + trail - new_first;
        visitor.hunk(if new_count == 0 {
            new_first
        } else {
            new_first + 1
        });
        context(visitor, first.before.start - lead, new_first, lead);
        for (k, change) in changes[i..=j].iter().enumerate() {
            if k > 0 {
                let gap_from = &changes[i + k - 1];
                context(
                    visitor,
                    gap_from.before.end,
                    gap_from.after.end,
                    change.before.start - gap_from.before.end,
                );
            }
            for b in change.before.clone() {
                visitor.line(&Line {
                    origin: Origin::Removed,
                    new_lineno: None,
                    content: line(input.before[b as usize]),
                });
            }
            for a in change.after.clone() {
                visitor.line(&Line {
                    origin: Origin::Added,
                    new_lineno: Some(a + 1),
                    content: line(input.after[a as usize]),
                });
            }
        }
        debug_assert!(last.after.end + trail <= new_len);
        context(visitor, last.before.end, last.after.end, trail);
        previous_end = last.before.end;
        i = j + 1;
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A file that exists on one side only, as one hunk of added (or removed) lines.
fn one_sided(content: &[u8], added: bool, visitor: &mut dyn DiffVisitor) {
    if content.is_empty() {
        return;
    }
    visitor.hunk(if added { 1 } else { 0 });
    let text = content.strip_suffix(b"\n").unwrap_or(content);
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        visitor.line(&Line {
            origin: if added {
                Origin::Added
            } else {
                Origin::Removed
            },
            new_lineno: added.then(|| u32::try_from(n + 1).unwrap_or(u32::MAX)),
            content: line.strip_suffix(b"\r").unwrap_or(line),
        });
    }
}

fn strip_eol(content: &[u8]) -> &[u8] {
    let content = content.strip_suffix(b"\n").unwrap_or(content);
    content.strip_suffix(b"\r").unwrap_or(content)
}

/// The `diff` attribute as one `.gitattributes` file at the root of a tree sets it: each line's
/// pattern (gitignore's rules: without a `/` it matches the file name at any depth, with one
/// the path from the root; `**` crosses folders) and whether it unsets `diff` (`-diff`,
/// `binary`) or sets it again (`diff`, `diff=…`, `!diff`). The last matching line wins.
#[derive(Debug, Default)]
pub(crate) struct DiffAttributes {
    rules: Vec<(globset::GlobMatcher, bool, bool)>,
}

impl DiffAttributes {
    /// The rules of the top-level `.gitattributes` of `commit`'s tree (none without one).
    fn of_commit(repo: &Repository, commit: Oid) -> Result<DiffAttributes> {
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {commit}"))?;
        let Some(entry) = tree.get_name(".gitattributes") else {
            return Ok(DiffAttributes::default());
        };
        let Ok(blob) = repo.find_blob(entry.id()) else {
            return Ok(DiffAttributes::default());
        };
        Ok(DiffAttributes::parse(&String::from_utf8_lossy(
            blob.content(),
        )))
    }

    pub(crate) fn parse(text: &str) -> DiffAttributes {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("[attr]") {
                continue;
            }
            let mut words = line.split_whitespace();
            let Some(pattern) = words.next() else {
                continue;
            };
            // the last word about `diff` on the line decides it
            let mut binary = None;
            for attr in words {
                match attr {
                    "-diff" | "binary" => binary = Some(true),
                    "diff" | "!diff" => binary = Some(false),
                    a if a.starts_with("diff=") => binary = Some(false),
                    _ => {}
                }
            }
            let Some(binary) = binary else { continue };
            // a folder pattern (`build/`) applies to no file
            if pattern.ends_with('/') || pattern.starts_with('!') {
                continue;
            }
            let anchored = pattern.trim_start_matches('/').contains('/');
            let glob = pattern.trim_start_matches('/');
            let Ok(glob) = globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
            else {
                continue;
            };
            rules.push((glob.compile_matcher(), anchored, binary));
        }
        DiffAttributes { rules }
    }

    /// Whether `path` (from the root, `/`-separated) is marked binary.
    pub(crate) fn binary(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.rules
            .iter()
            .rev()
            .find(|(glob, anchored, _)| glob.is_match(if *anchored { path } else { name }))
            .is_some_and(|(_, _, binary)| *binary)
    }
}

#[cfg(test)]
mod tests {
    use super::DiffAttributes;

    #[test]
    fn diff_attribute_patterns_follow_gitattributes() {
        let a = DiffAttributes::parse(
            "# data\n*.dat -diff\n/gen/** binary\ngen/keep.js diff\ndocs/ -diff\n*.min.js -diff diff=js\n",
        );
        assert!(a.binary("table.dat"));
        assert!(a.binary("deep/er/table.dat"));
        assert!(a.binary("gen/a/b.js"));
        // the last matching line wins
        assert!(!a.binary("gen/keep.js"));
        // a folder pattern applies to no file; the last word of a line decides
        assert!(!a.binary("docs/readme.md"));
        assert!(!a.binary("app.min.js"));
        // anchored patterns match from the root only
        assert!(!a.binary("src/gen/a.js"));
        assert!(!a.binary("app.txt"));
    }
}
