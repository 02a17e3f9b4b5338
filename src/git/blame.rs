//! Where changed lines came from (blame), and when tags were made: the facts a post-incident
//! review and the delivery figures start from.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use super::{Oid, Repo};

/// The lines of the old side of a diff that a change touched, per path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldLines {
    /// Path (from the root) → 1-based inclusive line ranges in the old file.
    pub ranges: BTreeMap<String, Vec<(u32, u32)>>,
}

/// A commit that last touched some of the lines, and how many of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlamedCommit {
    pub commit: Oid,
    pub lines: u32,
    /// The paths it touched among the blamed ones.
    pub paths: Vec<String>,
}

/// When a tag was made: the tagger's time for an annotated tag, else its commit's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedTag {
    pub name: String,
    pub commit: Oid,
    pub at: jiff::Timestamp,
}

impl Repo {
    /// The old-side lines that `base..head` changed or removed, per file. A hunk that only adds
    /// lines has none of its own: the line just above it stands for it (where the fix went in),
    /// else the one below. Binary files and files new in `head` have no old lines.
    pub fn old_lines_changed(&self, base: Oid, head: Oid) -> Result<OldLines> {
        let old = self
            .repo
            .find_commit(base)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {base}"))?;
        let new = self
            .repo
            .find_commit(head)
            .and_then(|c| c.tree())
            .with_context(|| format!("could not read the tree of {head}"))?;
        let mut opts = git2::DiffOptions::new();
        opts.context_lines(0);
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))
            .with_context(|| format!("could not diff {base}..{head}"))?;
        let mut out = OldLines::default();
        diff.foreach(
            &mut |_, _| true,
            None,
            Some(&mut |delta, hunk| {
                let (Some(path), true) = (
                    delta.old_file().path(),
                    delta.status() != git2::Delta::Added,
                ) else {
                    return true;
                };
                let range = if hunk.old_lines() > 0 {
                    (hunk.old_start(), hunk.old_start() + hunk.old_lines() - 1)
                } else if hunk.old_start() > 0 {
                    // an insertion after line old_start
                    (hunk.old_start(), hunk.old_start())
                } else {
                    // an insertion at the top: the first line
                    (1, 1)
                };
                out.ranges
                    .entry(path.to_string_lossy().into_owned())
                    .or_default()
                    .push(range);
                true
            }),
            None,
        )
        .context("could not read the diff")?;
        Ok(out)
    }

    /// The commits that last touched `lines` as of `at` (git blame at that commit), most lines
    /// first. A range past the end of its file is cut to the file.
    pub fn blame_at(&self, at: Oid, lines: &OldLines) -> Result<Vec<BlamedCommit>> {
        let mut counts: BTreeMap<Oid, (u32, Vec<String>)> = BTreeMap::new();
        for (path, ranges) in &lines.ranges {
            let Some(content) = self.file_at(at, path)? else {
                continue;
            };
            let total = content.iter().filter(|&&b| b == b'\n').count() as u32
                + u32::from(!content.is_empty() && !content.ends_with(b"\n"));
            for &(start, end) in ranges {
                let end = end.min(total);
                if start == 0 || start > end {
                    continue;
                }
                let mut opts = git2::BlameOptions::new();
                opts.newest_commit(at)
                    .min_line(start as usize)
                    .max_line(end as usize);
                let blame = self
                    .repo
                    .blame_file(Path::new(path), Some(&mut opts))
                    .with_context(|| format!("could not blame {path} at {at}"))?;
                for hunk in blame.iter() {
                    let e = counts.entry(hunk.final_commit_id()).or_default();
                    e.0 += hunk.lines_in_hunk() as u32;
                    if !e.1.contains(path) {
                        e.1.push(path.clone());
                    }
                }
            }
        }
        let mut out: Vec<BlamedCommit> = counts
            .into_iter()
            .map(|(commit, (lines, paths))| BlamedCommit {
                commit,
                lines,
                paths,
            })
            .collect();
        out.sort_by(|a, b| b.lines.cmp(&a.lines).then_with(|| a.commit.cmp(&b.commit)));
        Ok(out)
    }

    /// Each named tag with its commit and when it was made; tags that name no commit are left
    /// out.
    pub fn dated_tags(&self, names: &[String]) -> Result<Vec<DatedTag>> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let Ok(r) = self.repo.find_reference(&format!("refs/tags/{name}")) else {
                continue;
            };
            let Ok(commit) = r.peel_to_commit() else {
                continue;
            };
            let tagger = r
                .target()
                .and_then(|id| self.repo.find_tag(id).ok())
                .and_then(|t| t.tagger().map(|s| s.when().seconds()));
            let secs = tagger.unwrap_or_else(|| commit.time().seconds());
            let at = jiff::Timestamp::from_second(secs)
                .with_context(|| format!("the tag {name} has an impossible date"))?;
            out.push(DatedTag {
                name: name.clone(),
                commit: commit.id(),
                at,
            });
        }
        Ok(out)
    }

    /// The full message of a commit.
    pub fn commit_message(&self, commit: Oid) -> Result<String> {
        let c = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("could not read commit {commit}"))?;
        Ok(String::from_utf8_lossy(c.message_bytes()).into_owned())
    }
}
