//! The switch journal: which files a checkout may have left half written.
//!
//! A checkout killed midway leaves each file it had to change as the old side has it, as the
//! new side has it, or, for the file being written at that moment, part way: absent (removed
//! before being made again), or cut (some bytes of one side over the other's, or a prefix).
//! Before it writes a file, hotfix appends its path to `<git dir>/hotfix-switch`; before it
//! hands a set of paths to libgit2, it appends them all as one batch. So after a kill, only the
//! paths of the last record can be part way, and [`Journal::in_flight`] names them; every
//! other changed path must be exactly one side, which `Repo::half_switched_to` checks. A path
//! whose content is neither side nor a cut of them is someone's work, and is never forced.
//!
//! Records are written with one `write` each, unsynced: a killed process's writes are in the
//! page cache and survive it (a power cut is another matter, as for git's own checkout). A
//! record cut short by the kill means its write had not begun.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Oid;

const NAME: &str = "hotfix-switch";

/// The journal of the switch from tree `from` to tree `to` being written.
pub(super) struct Journal {
    file: File,
}

fn hex(path: &[u8]) -> String {
    path.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(super) fn path(git_dir: &Path) -> PathBuf {
    git_dir.join(NAME)
}

impl Journal {
    /// Starts (or, for a switch between the same trees, goes on with) the journal.
    pub(super) fn open(git_dir: &Path, from: Oid, to: Oid) -> std::io::Result<Journal> {
        let path = path(git_dir);
        let header = format!("hotfix-switch 1 {from} {to}\n");
        let same = std::fs::read(&path).is_ok_and(|b| b.starts_with(header.as_bytes()));
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .truncate(false)
            .open(&path)?;
        if !same {
            file.set_len(0)?;
            file.write_all(header.as_bytes())?;
        }
        Ok(Journal { file })
    }

    /// Before writing the file at `path`.
    pub(super) fn writing(&mut self, path: &[u8]) -> std::io::Result<()> {
        self.file.write_all(format!("w {}\n", hex(path)).as_bytes())
    }

    /// Before libgit2 writes `paths`: any of them may be left part way.
    pub(super) fn batch(&mut self, paths: &[&[u8]]) -> std::io::Result<()> {
        let mut record = String::from("b");
        for p in paths {
            record.push(' ');
            record.push_str(&hex(p));
        }
        record.push('\n');
        self.file.write_all(record.as_bytes())
    }

    /// The switch is done (HEAD moved) or undone: nothing is in flight any more.
    pub(super) fn remove(git_dir: &Path) {
        let _ = std::fs::remove_file(path(git_dir));
    }

    /// The paths that may be part way after a switch from `from` to `to` was killed: those of
    /// the journal's last whole record, when the journal is that switch's; else none.
    pub(super) fn in_flight(git_dir: &Path, from: Oid, to: Oid) -> HashSet<Vec<u8>> {
        let Ok(bytes) = std::fs::read(path(git_dir)) else {
            return HashSet::new();
        };
        let text = String::from_utf8_lossy(&bytes);
        let header = format!("hotfix-switch 1 {from} {to}");
        let mut lines = text.split_inclusive('\n');
        if lines.next().map(str::trim_end) != Some(header.as_str()) {
            return HashSet::new();
        }
        // a last line without its newline was cut by the kill: that write had not begun
        let last = lines.rfind(|l| l.ends_with('\n'));
        let Some(last) = last else {
            return HashSet::new();
        };
        let mut words = last.split_whitespace();
        match words.next() {
            Some("w" | "b") => words.filter_map(unhex).collect(),
            _ => HashSet::new(),
        }
    }
}

/// Whether `content` is what a write killed midway leaves of one side written over the other:
/// `x`'s first bytes over `y` (`y` cut to its length or not yet), or a prefix of either side
/// (a file written anew). Both sides count as `x` and as `y`.
pub(super) fn is_cut(content: &[u8], a: &[u8], b: &[u8]) -> bool {
    let cut = |x: &[u8], y: &[u8]| {
        let prefix = content.iter().zip(x).take_while(|(c, x)| c == x).count();
        if content.len() > y.len() {
            // written past y's end: all of it is x's
            return content.len() <= prefix;
        }
        if content.len() < y.len() {
            return false;
        }
        let suffix = content
            .iter()
            .rev()
            .zip(y.iter().rev())
            .take_while(|(c, y)| c == y)
            .count();
        content.len() - suffix <= prefix
    };
    cut(b, a) || cut(a, b) || cut(a, b"") || cut(b, b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_of_one_side_over_the_other_and_nothing_else() {
        let (a, b) = (b"hello world\n".as_slice(), b"HELLO\n".as_slice());
        assert!(is_cut(b"", a, b));
        assert!(is_cut(b"HEL", a, b));
        assert!(is_cut(b"HELlo world\n", a, b));
        assert!(is_cut(b"HELLO\nworld\n", a, b));
        assert!(is_cut(b"hello", a, b));
        // the first bytes of a over b
        assert!(is_cut(b"hellO\n", a, b));
        assert!(!is_cut(b"my own edit\n", a, b));
        assert!(!is_cut(b"hello world\n!", a, b));
        assert!(is_cut(a, a, b) && is_cut(b, a, b));
    }

    #[test]
    fn paths_round_trip() {
        let p = b"dir/a file\nwith a newline".to_vec();
        assert_eq!(unhex(&hex(&p)), Some(p));
    }
}
