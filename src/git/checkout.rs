//! Checking a branch out the way `git switch` does, writing only what differs.
//!
//! libgit2 plans a checkout by diffing the two whole trees and the whole working tree; limited
//! to the paths that differ ([`changed_under`]), it reads only the subtrees on the way to
//! them and looks at only those files.
//!
//! Most of a checkout between releases is files whose content changed and nothing else.
//! libgit2 rewrites each through `open(O_TRUNC)`; git removes it and creates a new one. On
//! ext4 both are slow in their own way: truncating a file to nothing makes the kernel write it
//! out at `close` (the `auto_da_alloc` safeguard for programs that rewrite files that way),
//! and creating thousands of files costs whatever finding inodes costs that day. Writing
//! over the file and then cutting it to its new length does neither: for 3,860 files, 43 ms
//! against 355 ms truncating and 0.4 to 1.3 s removing and creating (bench, same machine).
//! hotfix writes those files itself, and leaves everything else (new, removed, renamed into
//! directories, mode changes, symlinks, submodules, and any file it cannot prove untouched)
//! to libgit2.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use git2::{IndexEntry, IndexTime, ObjectType};

use super::treediff::{Trees, Update, changed_under};
use super::{Oid, Repo};

/// libgit2's in-memory mark for an index entry known to match its file (it is not written to
/// disk): without it, writing the index re-reads every file newer than the index to check it.
const UPTODATE: u16 = 1 << 2;
/// Index entries a checkout must leave to libgit2: sparse (not in the working tree) and
/// intent-to-add.
const SKIP_WORKTREE: u16 = 1 << 14;
const INTENT_TO_ADD: u16 = 1 << 13;

impl Repo {
    /// Checks out `target` over HEAD the way `git switch` does, writing only the files that
    /// differ between HEAD's tree and the target's; refuses (a `Conflict` error, nothing
    /// changed) when that would overwrite local changes or untracked files.
    pub(super) fn checkout_changed(&self, target: &git2::Object<'_>) -> Result<(), git2::Error> {
        let commit = target.peel_to_commit()?;
        let head = match self.repo.head() {
            Ok(h) => Some(h.peel_to_tree()?.id()),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
            Err(e) => return Err(e),
        };
        let mut changed = Vec::new();
        let mut trees = Trees::new(&self.repo);
        trees.dirs = Some(Vec::new());
        trees.updates = Some(Vec::new());
        changed_under(&mut trees, b"", head, Some(commit.tree_id()), &mut changed)
            .map_err(|e| git2::Error::from_str(&format!("{e:#}")))?;
        if changed.is_empty() {
            // no pathspec would mean every path
            return Ok(());
        }
        let filters =
            self.filters_may_apply(trees.attributes, trees.dirs.as_deref().unwrap_or_default());
        // the files hotfix writes itself: only without filters, whose conversions are libgit2's
        let mine = if filters {
            Vec::new()
        } else {
            self.untouched(trees.updates.take().unwrap_or_default())?
        };
        let theirs: Vec<&Vec<u8>> = {
            let skip: std::collections::HashSet<&[u8]> =
                mine.iter().map(|(u, _, _)| u.path.as_slice()).collect();
            changed
                .iter()
                .filter(|p| !skip.contains(p.as_slice()))
                .collect()
        };
        if !theirs.is_empty() {
            let mut opts = git2::build::CheckoutBuilder::new();
            opts.safe()
                .disable_pathspec_match(true)
                .disable_filters(!filters);
            for path in theirs {
                opts.path(path.as_slice());
            }
            // refuses before writing anything when a file of its share is in the way; hotfix's
            // share was checked before this
            self.repo.checkout_tree(target, Some(&mut opts))?;
        }
        self.write_in_place(mine)
    }

    /// Of the files whose content alone changes, those hotfix can write itself: tracked and
    /// unstaged (the index has HEAD's blob, with no sparse or intent-to-add mark), a regular
    /// file, in real directories (no symbolic link on the way), with the index's
    /// executable bit, and unmodified (its stat data matches the index's and is older than the
    /// index, else its content hashes to the index's blob). Anything else goes to libgit2,
    /// which writes it or refuses. Reads only; returns each file with its index entry and whether
    /// it has other hard links.
    fn untouched(
        &self,
        updates: Vec<Update>,
    ) -> Result<Vec<(Update, IndexEntry, bool)>, git2::Error> {
        let Some(workdir) = self.repo.workdir() else {
            return Ok(Vec::new());
        };
        let mut index = self.repo.index()?;
        index.read(false)?;
        if index.has_conflicts() {
            return Ok(Vec::new());
        }
        let config = self.repo.config()?;
        let filemode = config.get_bool("core.filemode").unwrap_or(true);
        let trust_ctime = config.get_bool("core.trustctime").unwrap_or(true);
        let Ok(stamp) = self.repo.path().join("index").metadata() else {
            return Ok(Vec::new());
        };
        let stamp = (stamp.mtime(), stamp.mtime_nsec());
        let mut dirs: HashMap<Vec<u8>, bool> = HashMap::new();
        let mut out = Vec::new();
        for u in updates {
            let Some(entry) = index.get_path(Path::new(OsStr::from_bytes(&u.path)), 0) else {
                continue;
            };
            if entry.id != u.old
                || entry.mode != u.mode
                || entry.flags_extended & (SKIP_WORKTREE | INTENT_TO_ADD) != 0
                || !real_dirs(workdir, &u.path, &mut dirs)
            {
                continue;
            }
            let file = workdir.join(OsStr::from_bytes(&u.path));
            let Ok(meta) = file.symlink_metadata() else {
                continue;
            };
            if !meta.file_type().is_file() {
                continue;
            }
            if filemode && (meta.mode() & 0o100 != 0) != (u.mode == 0o100755) {
                continue;
            }
            let same_stat = entry.mtime.seconds() as i64 == meta.mtime()
                && entry.mtime.nanoseconds() as i64 == meta.mtime_nsec()
                && entry.file_size as u64 == (meta.len() & 0xffff_ffff)
                && entry.ino as u64 == (meta.ino() & 0xffff_ffff)
                && (!trust_ctime
                    || (entry.ctime.seconds() as i64 == meta.ctime()
                        && entry.ctime.nanoseconds() as i64 == meta.ctime_nsec()));
            // a file changed in the same instant the index was written looks unchanged
            let racy = (meta.mtime(), meta.mtime_nsec()) >= stamp;
            if !same_stat || racy {
                match Oid::hash_file(ObjectType::Blob, &file) {
                    Ok(id) if id == u.old => {}
                    _ => continue,
                }
            }
            // another name for the same file (a hard link) keeps the old content, as with git
            let linked = meta.nlink() > 1;
            out.push((u, entry, linked));
        }
        Ok(out)
    }

    /// Writes each file over its old content, cuts it to the new length, and records it in the
    /// index with the file's new stat data; then writes the index (with its tree ids). A file
    /// with other hard links is replaced by a new one instead, so that they keep their content.
    fn write_in_place(&self, files: Vec<(Update, IndexEntry, bool)>) -> Result<(), git2::Error> {
        if files.is_empty() {
            return self.keep_cache_tree();
        }
        let workdir = self
            .repo
            .workdir()
            .ok_or_else(|| git2::Error::from_str("the repository has no working tree"))?;
        let mut index = self.repo.index()?;
        for (u, mut entry, linked) in files {
            let blob = self.repo.find_blob(u.new)?;
            let content = blob.content();
            let path = workdir.join(OsStr::from_bytes(&u.path));
            let failed = |e: std::io::Error| {
                git2::Error::from_str(&format!("could not write {}: {e}", path.display()))
            };
            let mut options = std::fs::OpenOptions::new();
            options.write(true).custom_flags(libc::O_NOFOLLOW);
            if linked {
                std::fs::remove_file(&path).map_err(failed)?;
                let mode = if u.mode == 0o100755 { 0o777 } else { 0o666 };
                options.create_new(true).mode(mode);
            }
            let mut file = options.open(&path).map_err(failed)?;
            file.write_all(content).map_err(failed)?;
            file.set_len(content.len() as u64).map_err(failed)?;
            let meta = file.metadata().map_err(failed)?;
            drop(file);
            entry.id = u.new;
            // as git stores them: the low 32 bits
            entry.file_size = meta.len() as u32;
            entry.mtime = IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32);
            entry.ctime = IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32);
            entry.dev = meta.dev() as u32;
            entry.ino = meta.ino() as u32;
            entry.uid = meta.uid();
            entry.gid = meta.gid();
            entry.flags_extended |= UPTODATE;
            index.add(&entry)?;
        }
        self.keep_cache_tree()
    }

    /// Writes the index again with its cache of tree ids complete. libgit2's checkout drops
    /// that cache for every directory it wrote into and leaves it so; git then compares the
    /// whole index with HEAD's tree on every `git status` (6 ms more on a 5,000-file
    /// repository) until something rebuilds it. Building the tree ids from the index is what
    /// `git switch` does; the trees already exist, so nothing new is written unless changes
    /// were staged before the switch (then, as with `git write-tree`, their trees).
    pub(super) fn keep_cache_tree(&self) -> Result<(), git2::Error> {
        let mut index = self.repo.index()?;
        if index.has_conflicts() {
            return Ok(());
        }
        index.write_tree()?;
        index.write()
    }

    /// Whether writing the files of a checkout could convert them (line endings, `ident`): a
    /// `core.autocrlf` setting, or an attributes file that could apply to a changed file. When
    /// none can, the checkout skips libgit2's filters, which looked up the attributes of every
    /// file written, resolving its whole path each time (a `readlink` per path component):
    /// a sixth of checking out a few thousand files. `attributes` says whether a directory of
    /// a changed file has a `.gitattributes` in either tree; `dirs` are those directories.
    fn filters_may_apply(&self, attributes: bool, dirs: &[Vec<u8>]) -> bool {
        if attributes {
            return true;
        }
        let Ok(config) = self.repo.config() else {
            return true;
        };
        // `true` or `input` (not a boolean): leave it to the filters
        match config.get_bool("core.autocrlf") {
            Ok(false) => {}
            Err(e) if e.code() == git2::ErrorCode::NotFound => {}
            _ => return true,
        }
        if config.get_string("core.attributesFile").is_ok() {
            return true;
        }
        let exists = |p: &std::path::Path| p.symlink_metadata().is_ok();
        // the default global file (~/.config/git/attributes) and the system one
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config")));
        if xdg.is_some_and(|d| exists(&d.join("git").join("attributes"))) {
            return true;
        }
        // SAFETY: reads libgit2's search path; nothing changes it while hotfix runs.
        let system = unsafe { git2::opts::get_search_path(git2::ConfigLevel::System) };
        let Ok(system) = system else {
            return true;
        };
        let system = system.to_string_lossy().into_owned();
        if system
            .split(':')
            .filter(|d| !d.is_empty())
            .any(|d| exists(&std::path::Path::new(d).join("gitattributes")))
        {
            return true;
        }
        if exists(&self.repo.commondir().join("info").join("attributes")) {
            return true;
        }
        // an untracked or staged .gitattributes counts as well
        if let Some(workdir) = self.repo.workdir()
            && dirs.iter().any(|d| {
                let dir = std::ffi::OsStr::from_bytes(d);
                exists(&workdir.join(dir).join(".gitattributes"))
            })
        {
            return true;
        }
        let Ok(index) = self.repo.index() else {
            return true;
        };
        index
            .iter()
            .any(|e| e.path == b".gitattributes" || e.path.ends_with(b"/.gitattributes"))
    }
}

/// Whether every directory on the way to `path` (relative to `workdir`) is a real directory,
/// not a symbolic link to somewhere else; `seen` remembers the answers.
fn real_dirs(workdir: &Path, path: &[u8], seen: &mut HashMap<Vec<u8>, bool>) -> bool {
    let mut end = 0;
    while let Some(slash) = path[end..].iter().position(|&b| b == b'/') {
        end += slash;
        let dir = &path[..end];
        let ok = match seen.get(dir) {
            Some(ok) => *ok,
            None => {
                let ok = workdir
                    .join(OsStr::from_bytes(dir))
                    .symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_dir());
                seen.insert(dir.to_vec(), ok);
                ok
            }
        };
        if !ok {
            return false;
        }
        end += 1;
    }
    true
}
