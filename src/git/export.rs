//! "Export this tree exactly": the files of one commit written into a folder straight from the
//! object database, for commands that must run on exactly that tree and nothing else.
//!
//! Nothing configured only in this clone takes part: no hooks run (`post-checkout`), no filter
//! or attribute from `.git/config` or `.git/info/attributes` rewrites a file, `core.autocrlf`,
//! `core.symlinks` and `core.fileMode` change nothing, and replace refs (`git replace`) and
//! grafts are not consulted (libgit2 knows neither). Every object read is hashed again and must
//! match its id, so an object file edited in place (or served by an alternate) is refused
//! rather than written. What the folder holds is therefore the tree the id names: blobs
//! byte for byte, executables with their bit, symlinks as symlinks, submodules as empty
//! folders (as a fresh clone has them).

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use git2::{ObjectType, Odb};

use super::{Oid, Repo};

/// What an export wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Exported {
    pub files: u64,
    pub bytes: u64,
    /// The filter drivers (`filter=<name>`) named by the tree's own `.gitattributes` files, such
    /// as `lfs`: their files are exported as committed (an LFS pointer), never smudged, because
    /// a filter's program is configured in the clone, not in the tree.
    pub filters: Vec<String>,
}

impl Repo {
    /// Writes the tree of `commit` into `dest`, which must be an empty folder or not exist yet.
    /// With `git_dir`, `dest/.git` becomes a repository of its own with HEAD detached at
    /// `commit` and an index of its tree, borrowing this repository's objects (alternates)
    /// but none of its configuration, refs or hooks, so that `git` run there (`git rev-parse
    /// HEAD`, `git submodule update --init`) sees that commit.
    pub fn export_commit(&self, commit: Oid, dest: &Path, git_dir: bool) -> Result<Exported> {
        let odb = self
            .repo
            .odb()
            .context("could not open the object database")?;
        let (kind, data) = read_verified(&odb, commit)?;
        if kind != ObjectType::Commit {
            bail!("{commit} is not a commit");
        }
        let tree =
            commit_tree(&data).with_context(|| format!("could not parse commit {commit}"))?;
        match fs::create_dir(dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let empty = fs::read_dir(dest)
                    .with_context(|| format!("could not read {}", dest.display()))?
                    .next()
                    .is_none();
                if !empty {
                    bail!("{} is not empty", dest.display());
                }
            }
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("could not create {}", dest.display()))
                );
            }
        }
        let mut out = Exported::default();
        write_tree(&odb, tree, dest, &mut out).with_context(|| {
            format!(
                "could not export the tree of {commit} into {}",
                dest.display()
            )
        })?;
        out.filters.sort();
        out.filters.dedup();
        if git_dir {
            self.init_borrowing_repo(dest, commit, tree)
                .with_context(|| {
                    format!("could not make {} a repository at {commit}", dest.display())
                })?;
        }
        Ok(out)
    }

    /// `dest/.git`: a repository with no template (no sample hooks, no `info/exclude`), this
    /// repository's object folder as its alternate, HEAD detached at `commit`, and the index
    /// of `tree`.
    fn init_borrowing_repo(&self, dest: &Path, commit: Oid, tree: Oid) -> Result<()> {
        let mut opts = git2::RepositoryInitOptions::new();
        opts.external_template(false).no_reinit(true).mkpath(false);
        git2::Repository::init_opts(dest, &opts).context("git init failed")?;
        let objects = self.common_dir().join("objects");
        let objects = objects.canonicalize().unwrap_or(objects);
        let info = dest.join(".git").join("objects").join("info");
        fs::create_dir_all(&info)
            .with_context(|| format!("could not create {}", info.display()))?;
        let mut line = objects.into_os_string().into_encoded_bytes();
        line.push(b'\n');
        fs::write(info.join("alternates"), line).context("could not write the alternates file")?;
        // opened again, so that the alternate is read
        let repo = git2::Repository::open(dest).context("could not open the new repository")?;
        repo.set_head_detached(commit)
            .context("could not point HEAD at the commit")?;
        let tree = repo.find_tree(tree).context("could not read the tree")?;
        let mut index = repo.index().context("could not open the index")?;
        index.read_tree(&tree).context("could not fill the index")?;
        index.write().context("could not write the index")?;
        Ok(())
    }
}

/// The object `id`, read from the object database and hashed again: its content must be what
/// its id says (the process reads history with hash verification off, for speed).
fn read_verified(odb: &Odb<'_>, id: Oid) -> Result<(ObjectType, Vec<u8>)> {
    let obj = odb
        .read(id)
        .with_context(|| format!("could not read object {id}"))?;
    let kind = obj.kind();
    let data = obj.data().to_vec();
    let actual = Oid::hash_object(kind, &data).context("could not hash an object")?;
    if actual != id {
        bail!(
            "object {id} in the object database does not hold what its id names (its content hashes to {actual}); the repository is damaged or was edited by hand"
        );
    }
    Ok((kind, data))
}

/// The `tree <id>` line that opens a commit object.
fn commit_tree(data: &[u8]) -> Result<Oid> {
    let line = data
        .strip_prefix(b"tree ")
        .and_then(|rest| rest.split(|b| *b == b'\n').next())
        .ok_or_else(|| anyhow!("no tree line"))?;
    let hex = std::str::from_utf8(line).context("a tree id that is not text")?;
    Oid::from_str(hex).context("a malformed tree id")
}

/// One entry of a raw tree object: `<octal mode> <name>\0<binary id>`.
struct Entry<'a> {
    mode: u32,
    name: &'a [u8],
    id: Oid,
}

fn parse_tree(data: &[u8]) -> Result<Vec<Entry<'_>>> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| anyhow!("a tree entry without a mode"))?;
        let mode = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .ok_or_else(|| anyhow!("a tree entry with a malformed mode"))?;
        rest = &rest[space + 1..];
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| anyhow!("a tree entry without a name"))?;
        let name = &rest[..nul];
        rest = &rest[nul + 1..];
        let raw = rest
            .get(..20)
            .ok_or_else(|| anyhow!("a tree entry cut short"))?;
        let id = Oid::from_bytes(raw).context("a malformed object id")?;
        rest = &rest[20..];
        entries.push(Entry { mode, name, id });
    }
    Ok(entries)
}

/// A name git itself would refuse to check out: it must not climb out of the folder, name
/// a path of several parts, or write into a `.git` folder (any letter case: the disk may
/// not tell them apart).
fn safe_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.contains(&b'/')
        && !name.contains(&0)
        && !name.eq_ignore_ascii_case(b".git")
}

fn write_tree(odb: &Odb<'_>, tree: Oid, dir: &Path, out: &mut Exported) -> Result<()> {
    let (kind, data) = read_verified(odb, tree)?;
    if kind != ObjectType::Tree {
        bail!("{tree} is not a tree");
    }
    for entry in parse_tree(&data).with_context(|| format!("could not parse tree {tree}"))? {
        if !safe_name(entry.name) {
            bail!(
                "tree {tree} has an entry named {:?}, which no checkout may write",
                String::from_utf8_lossy(entry.name)
            );
        }
        let path: PathBuf = dir.join(OsStr::from_bytes(entry.name));
        match entry.mode {
            0o040000 => {
                // create_dir, never create_dir_all: a name met twice (or a symlink written
                // before) fails here instead of being written through
                fs::create_dir(&path)
                    .with_context(|| format!("could not create {}", path.display()))?;
                write_tree(odb, entry.id, &path, out)?;
            }
            0o100644 | 0o100755 | 0o100664 => {
                let (kind, content) = read_verified(odb, entry.id)?;
                if kind != ObjectType::Blob {
                    bail!("{} is not a blob", entry.id);
                }
                if entry.name == b".gitattributes" {
                    out.filters.extend(filter_names(&content));
                }
                let mode = if entry.mode == 0o100755 { 0o755 } else { 0o644 };
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&path)
                    .with_context(|| format!("could not create {}", path.display()))?;
                file.write_all(&content)
                    .with_context(|| format!("could not write {}", path.display()))?;
                out.files += 1;
                out.bytes += content.len() as u64;
            }
            0o120000 => {
                let (kind, target) = read_verified(odb, entry.id)?;
                if kind != ObjectType::Blob {
                    bail!("{} is not a blob", entry.id);
                }
                let target = OsStr::from_bytes(&target);
                symlink(target, &path)
                    .with_context(|| format!("could not create the symlink {}", path.display()))?;
                out.files += 1;
            }
            // a submodule: an empty folder, as a clone leaves it until `submodule update`
            0o160000 => fs::create_dir(&path)
                .with_context(|| format!("could not create {}", path.display()))?,
            other => bail!(
                "tree {tree} has an entry {:?} of unknown mode {other:o}",
                String::from_utf8_lossy(entry.name)
            ),
        }
    }
    Ok(())
}

/// The filter drivers a `.gitattributes` file names (`*.bin filter=lfs diff=lfs`).
fn filter_names(content: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(content)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split_whitespace().skip(1))
        .filter_map(|attr| attr.strip_prefix("filter="))
        .map(str::to_string)
        .collect()
}
