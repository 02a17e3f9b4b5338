//! History read from git: the hotfix releases (annotated tags with a record) and the checks and
//! numbers built on them. Everyone who fetches the tags sees the same history.

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::Refusal;
use crate::git::{AncestorSet, HistoryIndex, Oid, Repo, short};
use crate::record::{MARKER, ReleaseRecord};
use crate::sync;
use crate::ui::shell_word;

/// A hotfix release: its tag, the commit it names, and its record.
#[derive(Debug, Clone)]
pub struct Release {
    pub tag: String,
    pub commit: Oid,
    pub record: ReleaseRecord,
}

/// Every hotfix release in the repository, oldest deploy first.
pub fn releases(repo: &Repo) -> Result<Vec<Release>> {
    let mut out: Vec<Release> = repo
        .annotated_tags_containing(MARKER)?
        .into_iter()
        .filter_map(|t| {
            // the record must name this tag, its commit and tree: a copy in another tag, or a
            // tag moved by hand, is no release
            let record = ReleaseRecord::for_tag(
                &t.name,
                &t.commit.to_string(),
                &t.tree.to_string(),
                &t.message,
            )?;
            Some(Release {
                tag: t.name,
                commit: t.commit,
                record,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.record
            .deployed_at
            .cmp(&b.record.deployed_at)
            .then_with(|| a.tag.cmp(&b.tag))
    });
    Ok(out)
}

/// How a release reached the development branch, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// The released commit is reachable.
    Merged,
    /// Every commit of the hotfix is there as the same patch.
    CherryPicked,
    Missing,
}

/// Checks each release against the development history in `index` (the history of one tip):
/// reachable, else every commit of the hotfix there as the same patch, made after the two
/// diverged (what `git cherry` reports).
///
/// The index answers reachability without a walk. For the releases it does not reach, the
/// hotfix commits' patches are looked for among the development commits that change exactly
/// the same paths (the index knows every commit's paths), cheapest test first as git does:
/// only those get a patch id, and only one with the same patch is asked whether it is in the
/// release's own history.
pub fn presence(
    repo: &Repo,
    index: &mut HistoryIndex,
    releases: &[Release],
) -> Result<Vec<Presence>> {
    let mut out: Vec<Presence> = releases
        .iter()
        .map(|r| {
            if index.contains(r.commit) {
                Presence::Merged
            } else {
                Presence::Missing
            }
        })
        .collect();
    for (i, r) in releases.iter().enumerate() {
        if out[i] == Presence::Merged || r.record.commits.is_empty() {
            continue;
        }
        // each of its commits' paths and patch id (`None`: a merge or an empty commit, which
        // carries no change of its own); a commit that cannot be read leaves it missing
        type Patch = Option<(Vec<Vec<u8>>, Oid)>;
        let patches: Option<Vec<Patch>> = r
            .record
            .commits
            .iter()
            // the version bump is resolved to the target's own version at merge-back, so its
            // patch is not on the development branch, by design
            .filter(|c| r.record.version_bump.as_ref() != Some(*c))
            .map(|c| {
                let oid = Oid::from_str(c).ok()?;
                let paths = repo.commit_changed_paths(oid).ok()?;
                match repo.patch_id(oid).ok()? {
                    Some(id) => Some(Some((paths, id))),
                    None => Some(None),
                }
            })
            .collect();
        let Some(patches) = patches else { continue };
        // the release's own history, read only when a patch is found
        let mut own: Option<AncestorSet> = None;
        let mut all = true;
        for (paths, id) in patches.iter().flatten() {
            let mut seen = false;
            for d in index.commits_changing_exactly(repo, paths)? {
                if index.patch_id(repo, d)? != Some(*id) {
                    continue;
                }
                // made after the release diverged: not in the release's own history (a patch
                // applied before the release branched, reverted and made again in the fix
                // does not count)
                let own = match &own {
                    Some(set) => set,
                    None => own.insert(index.ancestors_of(repo, r.commit)?),
                };
                if !index.in_set(own, d) {
                    seen = true;
                    break;
                }
            }
            if !seen {
                all = false;
                break;
            }
        }
        if all {
            out[i] = Presence::CherryPicked;
        }
    }
    Ok(out)
}

// ---- The inputs of the history commands, in one place: which refs and tips they read. ----

/// The development branch named in hotfix.toml, else detected (`develop`, the remote's
/// default branch, `main`, `master`).
pub fn development_branch(repo: &Repo) -> Result<Option<String>> {
    let config = match repo.workdir() {
        Ok(root) => Config::load(root)?,
        Err(_) => Config::default(),
    };
    if config.branches.development.is_empty() {
        repo.detect_development()
    } else {
        Ok(Some(config.branches.development.clone()))
    }
}

/// The development branch as the history commands judge it: the newer of the local branch and
/// its remote-tracking branch, so a teammate whose `develop` is behind `origin/develop` after a
/// `git fetch` sees what the team has. When the two have diverged, a release counts as in the
/// branch when it is in either.
#[derive(Debug)]
pub struct Development {
    pub branch: String,
    /// The refs judged against, e.g. `["origin/develop"]`.
    pub refs: Vec<String>,
    /// How it is said: "develop", "origin/develop (newer than develop here)".
    pub label: String,
    tips: Vec<Oid>,
    /// The history of the last tip asked about, kept between runs (see [`HistoryIndex`]).
    index: HistoryIndex,
}

/// `None` when neither the branch nor its remote-tracking branch exists.
///
/// Which of the two holds the other is asked of the history index (which has the whole
/// history of a tip), not of a merge-base walk: libgit2 has no commit-graph, and such a walk
/// reads most of a large history.
pub fn development(repo: &Repo, branch: &str) -> Result<Option<Development>> {
    let remote = repo
        .remote_for(Some(branch))?
        .unwrap_or_else(|| "origin".to_string());
    let tracking = format!("{remote}/{branch}");
    let local = repo.branch_tip(branch)?;
    let remote_tip = repo.remote_branch_tip(&tracking)?;
    let index = HistoryIndex::load(repo);
    let one = |name: &str, tip: Oid, label: String, index: HistoryIndex| Development {
        branch: branch.to_string(),
        refs: vec![name.to_string()],
        label,
        tips: vec![tip],
        index,
    };
    Ok(Some(match (local, remote_tip) {
        (None, None) => return Ok(None),
        (Some(l), None) => one(branch, l, branch.to_string(), index),
        (None, Some(r)) => one(&tracking, r, tracking.clone(), index),
        (Some(l), Some(r)) => {
            let index = index.advance(repo, l)?;
            // the local branch has all the remote's (and maybe merges not pushed yet): it is
            // the one a teammate means by `develop`
            if index.contains(r) {
                one(branch, l, branch.to_string(), index)
            } else {
                let index = index.advance(repo, r)?;
                if index.contains(l) {
                    one(
                        &tracking,
                        r,
                        format!("{tracking} (newer than {branch} here)"),
                        index,
                    )
                } else {
                    Development {
                        branch: branch.to_string(),
                        refs: vec![branch.to_string(), tracking.clone()],
                        label: format!("{branch} or {tracking} (they have diverged)"),
                        tips: vec![l, r],
                        index,
                    }
                }
            }
        }
    }))
}

impl Development {
    /// How each release reached the branch; with two tips, the better of the two.
    ///
    /// The history of each tip comes from the index kept in the git directory, brought up to
    /// date with the commits new since it was made, and written back.
    pub fn presence(&mut self, repo: &Repo, releases: &[Release]) -> Result<Vec<Presence>> {
        let mut out = vec![Presence::Missing; releases.len()];
        for &tip in &self.tips {
            let index = std::mem::take(&mut self.index);
            self.index = index.advance(repo, tip)?;
            for (o, p) in out
                .iter_mut()
                .zip(presence(repo, &mut self.index, releases)?)
            {
                if rank(p) > rank(*o) {
                    *o = p;
                }
            }
        }
        self.index.save(repo);
        Ok(out)
    }
}

fn rank(p: Presence) -> u8 {
    match p {
        Presence::Missing => 0,
        Presence::CherryPicked => 1,
        Presence::Merged => 2,
    }
}

/// Before a history command reads: the remote's records and tags (and the development branch's
/// remote-tracking ref, when this clone tracks it) are fetched within
/// [`sync::HISTORY_BOUND`] and copied in; with `--offline`, or when the remote does not
/// answer, the command says that it shows this clone's history as of the last fetch.
pub fn refresh(ctx: &Ctx, development: Option<&str>) -> Result<Option<sync::Freshness>> {
    let repo = &ctx.repo;
    let Some(remote) = repo.remote_for(development)? else {
        return Ok(None);
    };
    let mut extra = Vec::new();
    if let Some(dev) = development
        && sync::tracking_tip(repo, &remote, dev)?.is_some()
    {
        extra.push(sync::tracking_refspec(&remote, dev));
    }
    ctx.ui
        .verbose(format!("fetching the hotfix history from {remote}"));
    let (freshness, imported) = sync::refresh(repo, &remote, &extra, sync::HISTORY_BOUND, None)?;
    if let Some(sentence) = freshness.sentence() {
        match freshness.stale {
            Some(sync::Stale::Offline) => ctx.ui.status(format!("History {sentence}.")),
            _ => ctx.ui.warn(format!("the history is {sentence}")),
        }
    }
    for (tag, here, there) in &imported.tag_conflicts {
        ctx.ui.warn(format!(
            "this clone's tag {tag} ({}) is not {remote}'s ({}); the history reads this clone's. If {remote}'s is the release: `git tag -d {}` and run this again",
            short(*here),
            short(*there),
            shell_word(tag)
        ));
    }
    Ok(Some(freshness))
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    development: &'a str,
    /// The refs judged against: the newer of the local branch and its remote-tracking branch
    /// (both when they have diverged).
    checked_against: &'a [String],
    checked: usize,
    merged: usize,
    cherry_picked: usize,
    missing: Vec<MissingJson<'a>>,
}

#[derive(Serialize)]
struct MissingJson<'a> {
    tag: &'a str,
    version: &'a str,
    summary: &'a str,
    branch: &'a str,
    commit: String,
}

/// `hotfix verify-merged`: the CI check that every released hotfix reached development.
pub fn verify_merged(ctx: &Ctx) -> Result<()> {
    let repo = &ctx.repo;
    if repo.is_shallow() {
        // History and tags are cut off: a missing fix could look merged, or a release unseen.
        return Err(Refusal::usage("this clone is shallow, and verify-merged needs the full history and the release tags")
            .hint("fetch them with `git fetch --unshallow --tags` (GitHub Actions: `fetch-depth: 0`; GitLab CI: `GIT_DEPTH: 0`)")
            .into());
    }
    let dev = development_branch(repo)?.ok_or_else(|| {
        Refusal::usage("there is no development branch to check against")
            .hint("set branches.development in hotfix.toml")
    })?;
    refresh(ctx, Some(&dev))?;
    let mut development = development(repo, &dev)?.ok_or_else(|| {
        Refusal::usage(format!(
            "the development branch {dev} does not exist here (nor origin/{dev})"
        ))
        .hint(format!(
            "fetch it first (`git fetch origin {}`), or set branches.development",
            shell_word(&format!("+refs/heads/{dev}:refs/remotes/origin/{dev}"))
        ))
    })?;
    let releases = releases(repo)?;
    let presence = development.presence(repo, &releases)?;
    let missing: Vec<&Release> = releases
        .iter()
        .zip(&presence)
        .filter(|(_, p)| **p == Presence::Missing)
        .map(|(r, _)| r)
        .collect();
    let count = |want: Presence| presence.iter().filter(|p| **p == want).count();
    let ui = ctx.ui;
    if ui.json {
        ui.data(serde_json::to_string_pretty(&VerifyJson {
            development: &dev,
            checked_against: &development.refs,
            checked: releases.len(),
            merged: count(Presence::Merged),
            cherry_picked: count(Presence::CherryPicked),
            missing: missing
                .iter()
                .map(|r| MissingJson {
                    tag: &r.tag,
                    version: &r.record.version,
                    summary: &r.record.summary,
                    branch: &r.record.branch,
                    commit: r.commit.to_string(),
                })
                .collect(),
        })?);
    } else {
        for r in &missing {
            ui.data(format!(
                "{} {}  {}  ({})",
                ui.fail_mark(),
                r.tag,
                r.record.summary,
                r.record.branch
            ));
        }
        if releases.is_empty() {
            ui.print(format!(
                "{} no hotfix releases yet: nothing to check against {}",
                ui.ok_mark(),
                development.label
            ));
        } else if missing.is_empty() {
            let n = releases.len();
            ui.print(format!(
                "{} {n} hotfix release{} checked: all in {} ({} merged, {} cherry-picked)",
                ui.ok_mark(),
                if n == 1 { "" } else { "s" },
                development.label,
                count(Presence::Merged),
                count(Presence::CherryPicked)
            ));
        }
    }
    if let Some(first) = missing.first() {
        let n = missing.len();
        let what = if n == 1 { "release is" } else { "releases are" };
        return Err(Refusal::gate(format!(
            "{n} hotfix {what} missing from {}: {}",
            development.label,
            missing
                .iter()
                .map(|r| r.tag.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint(format!(
            "merge each back, e.g. `git switch {} && git merge {}`",
            shell_word(&dev),
            shell_word(&first.tag)
        ))
        .into());
    }
    Ok(())
}
