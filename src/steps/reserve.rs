//! The release on the remote, decided before the deploy command runs (SPEC "The release is the
//! team's, not the clone's"): what the remote holds now (one `git ls-remote`), the newest
//! release of the hotfix's line there, and the reservation of the new version.
//!
//! The reservation is a ref `refs/hotfix/releases/<tag>` on the remote pointing at a blob that
//! names the hotfix holding it. Creating a ref is the one compare-and-swap a plain git remote
//! offers: the push says "create", and the remote refuses it when the ref exists, whoever won
//! the race by a millisecond. (A ref at a *commit* would not do: a push of a descendant commit
//! is a fast-forward and is accepted. A blob is never an ancestor of anything, so replacing one
//! needs force, which hotfix never uses.)
//!
//! Two different versions of one line (a v1.2.0 hotfix shipping as v1.2.1 while another goes
//! out as v1.2.2 with `--version`) would still undo each other, so after its own push a deploy
//! looks again: any other hotfix's reservation newer than its base in the same line, not yet a
//! release, makes it give its own up and stop. Each looks after it reserved, so of two racing
//! deploys at most one goes on (both stopping is possible, and says so).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::app::Ctx;
use crate::error::Refusal;
use crate::git::{Oid, short};
use crate::record::Person;
use crate::state::Hotfix;
use crate::ui::shell_word;
use crate::version;

/// Where reservations live, here and on the remote. Under `refs/hotfix/`, so a team that fetches
/// its hotfix records gets them too.
pub const RESERVATION_REFS: &str = "refs/hotfix/releases/";

/// What the remote holds, read once before anything runs.
pub struct RemoteView {
    pub remote: String,
    refs: Vec<(String, Oid)>,
}

/// The blob a reservation ref points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reservation {
    pub tag: String,
    pub version: String,
    pub name: String,
    pub branch: String,
    pub author: Person,
    /// When the hotfix holding it started: with branch and author, which hotfix this is.
    pub started_at: jiff::Timestamp,
    pub tree: String,
    pub commit: String,
    pub reserved_at: jiff::Timestamp,
}

impl Reservation {
    fn is_of(&self, h: &Hotfix) -> bool {
        self.branch == h.branch
            && self.started_at == h.started_at
            && self.author.email == h.author_email
    }

    /// "hotfix/x (Ann Author <ann@example.com>, reserved 2026-12-01 22:10 UTC)"
    fn holder(&self) -> String {
        format!(
            "{} ({} <{}>, reserved {})",
            self.branch,
            self.author.name,
            self.author.email,
            self.reserved_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

pub fn reservation_ref(tag: &str) -> String {
    format!("{RESERVATION_REFS}{tag}")
}

impl RemoteView {
    /// The remote's tags and reservations now. A remote that does not answer is a refusal:
    /// a release that cannot be reserved or pushed must not start (`--no-push` keeps it here).
    pub fn read(ctx: &Ctx, remote: &str) -> Result<RemoteView> {
        let refs = ctx
            .repo
            .ls_remote(remote, &["refs/tags/*", &format!("{RESERVATION_REFS}*")])
            .map_err(|e| {
                Refusal::usage(format!(
                    "the remote {remote} cannot be reached ({e:#}), so the release can neither be reserved nor pushed; nothing was run"
                ))
                .hint("try again when it answers, or release in this clone only with `--no-push` (status and list then say so)")
            })?;
        let view = RemoteView {
            remote: remote.to_string(),
            refs,
        };
        // a release kept here that has reached the remote since (pushed by hand) is shared now
        for (tag, _) in local_only_releases(&ctx.repo) {
            let here = ctx
                .repo
                .ref_target(&format!("refs/tags/{tag}"))
                .ok()
                .flatten();
            if here.is_some() && view.tag(&tag) == here {
                forget_local_only(&ctx.repo, &tag);
            }
        }
        Ok(view)
    }

    fn get(&self, name: &str) -> Option<Oid> {
        self.refs.iter().find(|(n, _)| n == name).map(|(_, o)| *o)
    }

    /// The tag's own object id on the remote (the tag object for an annotated tag).
    pub fn tag(&self, tag: &str) -> Option<Oid> {
        self.get(&format!("refs/tags/{tag}"))
    }

    /// The commit a remote tag points at (peeled), when the remote said.
    pub fn tag_commit(&self, tag: &str) -> Option<Oid> {
        self.get(&format!("refs/tags/{tag}^{{}}"))
            .or_else(|| self.tag(tag))
    }

    fn tag_names(&self) -> impl Iterator<Item = &str> {
        self.refs
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("refs/tags/").filter(|t| !t.ends_with("^{}")))
    }

    fn reservations(&self) -> impl Iterator<Item = (&str, Oid)> {
        self.refs
            .iter()
            .filter_map(|(n, o)| n.strip_prefix(RESERVATION_REFS).map(|t| (t, *o)))
    }

    /// The newest stable release on the remote in the line of `base` (same major and minor),
    /// when it is newer than `base`.
    pub fn newer_in_line(
        &self,
        base: &semver::Version,
        pattern: &str,
    ) -> Option<version::ReleaseTag> {
        version::releases_after(self.tag_names(), base, pattern)
            .into_iter()
            .next()
    }
}

/// The version of the hotfix's base release, when its base is a release tag.
pub fn base_version(h: &Hotfix) -> Option<semver::Version> {
    h.base_tag
        .as_deref()
        .and_then(|t| version::version_of(t, &h.policy.release.tag_pattern))
}

/// Refuses a hotfix whose base is older than the newest release of its line on the remote:
/// shipping it would take that release's fixes out of production.
pub fn refuse_older_base(h: &Hotfix, view: &RemoteView) -> Result<()> {
    let (Some(base), Some(base_tag)) = (base_version(h), h.base_tag.as_deref()) else {
        return Ok(());
    };
    if let Some(newer) = view.newer_in_line(&base, &h.policy.release.tag_pattern) {
        return Err(older_base(&newer.name, Some(&view.remote), base_tag));
    }
    Ok(())
}

/// The stable releases of `base`'s line (same major and minor) among this clone's tags that
/// are newer than `base`, newest first.
fn newer_releases_here(
    repo: &crate::git::Repo,
    base: &semver::Version,
    pattern: &str,
) -> Result<Vec<version::ReleaseTag>> {
    let names = repo.tag_names(pattern)?;
    Ok(version::releases_after(
        names.iter().map(String::as_str),
        base,
        pattern,
    ))
}

/// The newest stable release of `base`'s line among this clone's tags that is newer than
/// `base`.
pub fn newer_here(
    repo: &crate::git::Repo,
    base: &semver::Version,
    pattern: &str,
) -> Result<Option<version::ReleaseTag>> {
    Ok(newer_releases_here(repo, base, pattern)?.into_iter().next())
}

/// The refusal of a hotfix whose base is older than `newer`, a release of its line (seen on
/// `remote`, or in this clone): the one way out is the rebase.
fn older_base(newer: &str, remote: Option<&str>, base_tag: &str) -> anyhow::Error {
    let on = remote.map(|r| format!(" on {r}")).unwrap_or_default();
    Refusal::gate(format!(
        "{newer} was released{on} after this hotfix's base {base_tag}: shipping this fix would take {newer}'s changes out of production; nothing was run"
    ))
    .hint(format!(
        "`hotfix rebase` moves the fix onto {newer} (the gates then judge the new tree)"
    ))
    .into()
}

/// As [`refuse_older_base`], for the releases this clone knows (no remote, `--offline`, or a
/// teammate's release fetched already): checked before the version is chosen, so the way out
/// named is the rebase, never another version that would still leave that release's fixes out.
/// A release the fix already contains (a tag on its base, say) takes nothing out and is not
/// refused: the version is then only a name, and `--version` picks another.
pub fn refuse_older_base_here(repo: &crate::git::Repo, h: &Hotfix, tip: Oid) -> Result<()> {
    let (Some(base), Some(base_tag)) = (base_version(h), h.base_tag.as_deref()) else {
        return Ok(());
    };
    let newer = newer_releases_here(repo, &base, &h.policy.release.tag_pattern)?;
    let left_out = newer.into_iter().find(|t| {
        !matches!(repo.tag_commit(&t.name), Ok(Some(c)) if repo.is_ancestor(c, tip).unwrap_or(false))
    });
    if let Some(newer) = left_out {
        return Err(older_base(&newer.name, None, base_tag));
    }
    Ok(())
}

/// Another hotfix's reservation in the line of this one's base, newer than the base and not a
/// release yet: a deploy in flight (or one stopped without a rollback) that this one would undo.
fn held_in_line(
    ctx: &Ctx,
    h: &Hotfix,
    view: &RemoteView,
    own_tag: &str,
) -> Result<Option<(String, String)>> {
    let Some(base) = base_version(h) else {
        // not a release base: only the exact version can collide
        return held_tag(ctx, h, view, own_tag);
    };
    let pattern = &h.policy.release.tag_pattern;
    for (tag, oid) in view.reservations() {
        let in_line =
            version::version_of(tag, pattern).is_some_and(|v| version::later_in_line(&v, &base));
        if (tag == own_tag || in_line)
            && view.tag(tag).is_none()
            && let Some(holder) = other_holder(ctx, h, view, tag, oid)?
        {
            return Ok(Some((tag.to_string(), holder)));
        }
    }
    Ok(None)
}

fn held_tag(
    ctx: &Ctx,
    h: &Hotfix,
    view: &RemoteView,
    tag: &str,
) -> Result<Option<(String, String)>> {
    match view.get(&reservation_ref(tag)) {
        Some(oid) => {
            Ok(other_holder(ctx, h, view, tag, oid)?.map(|holder| (tag.to_string(), holder)))
        }
        None => Ok(None),
    }
}

/// Who holds the reservation `oid` of `tag`, when it is not `h`. The blob is fetched when this
/// clone does not have it yet.
fn other_holder(
    ctx: &Ctx,
    h: &Hotfix,
    view: &RemoteView,
    tag: &str,
    oid: Oid,
) -> Result<Option<String>> {
    let repo = &ctx.repo;
    let refname = reservation_ref(tag);
    if repo.read_blob(oid).is_none() {
        // the object only: no ref here changes for a reservation that is not this clone's
        repo.fetch_records(&view.remote, &[&refname])
            .with_context(|| format!("could not read who holds {tag} on {}", view.remote))?;
    }
    let parsed = repo
        .read_blob(oid)
        .and_then(|b| serde_json::from_slice::<Reservation>(&b).ok());
    Ok(match parsed {
        Some(r) if r.is_of(h) => None,
        Some(r) => Some(r.holder()),
        None => Some(format!("a record hotfix cannot read ({})", short(oid))),
    })
}

/// Reserves `tag` on the remote for `h`, or refuses naming who holds it (or a newer version of
/// the line). Safe to run again: a reservation this hotfix holds already is its own.
pub fn reserve(
    ctx: &Ctx,
    h: &Hotfix,
    view: &RemoteView,
    tag: &str,
    version: &str,
    tip: Oid,
    tree: Oid,
) -> Result<()> {
    if view.tag(tag).is_some() {
        return Err(Refusal::usage(format!(
            "the tag {tag} already exists on {}, so this release cannot take that name; nothing was run",
            view.remote
        ))
        .hint("fetch it (`git fetch --tags`) to see it; name another version with `--version <x.y.z>`")
        .into());
    }
    if let Some((held, holder)) = held_in_line(ctx, h, view, tag)? {
        return Err(held_refusal(view, &held, &holder, tag).into());
    }
    let refname = reservation_ref(tag);
    let mine = match view.get(&refname) {
        Some(oid) => oid, // this hotfix's own (checked above): a re-run after a kill
        None => {
            let record = Reservation {
                tag: tag.to_string(),
                version: version.to_string(),
                name: h.name.clone(),
                branch: h.branch.clone(),
                author: Person {
                    name: h.author_name.clone(),
                    email: h.author_email.clone(),
                },
                started_at: h.started_at,
                tree: tree.to_string(),
                commit: tip.to_string(),
                reserved_at: jiff::Timestamp::now(),
            };
            let blob = ctx.repo.write_blob(&serde_json::to_vec_pretty(&record)?)?;
            let spec = format!("{blob}:{refname}");
            if let Err(e) = ctx.repo.push(&view.remote, &[&spec]) {
                // Refused because another push created it first, or the remote failed: which
                // one, the remote says now.
                let now = RemoteView::read(ctx, &view.remote)?;
                if let Some((held, holder)) = held_in_line(ctx, h, &now, tag)? {
                    return Err(held_refusal(&now, &held, &holder, tag).into());
                }
                match now.get(&refname) {
                    Some(oid) => oid,
                    None => {
                        return Err(Refusal::usage(format!(
                            "could not reserve {tag} on {} ({e:#}); nothing was run",
                            view.remote
                        ))
                        .hint("try again when the remote accepts pushes, or release in this clone only with `--no-push`")
                        .into());
                    }
                }
            } else {
                blob
            }
        }
    };
    // What the others did meanwhile: any other hotfix's reservation newer than this base makes
    // this one step back, so two versions of one line never ship at once.
    let after = RemoteView::read(ctx, &view.remote)?;
    if let Some((held, holder)) = held_in_line(ctx, h, &after, tag)? {
        let freed = release(ctx, &view.remote, tag, mine);
        let mut refusal = held_refusal(&after, &held, &holder, tag);
        if let Err(e) = freed {
            refusal = Refusal::gate(format!(
                "{}; and this hotfix's own reservation of {tag} could not be given back ({e:#})",
                refusal
            ))
            .hint(format!(
                "free it with `git push {} --delete {}` once the other release is done",
                shell_word(&view.remote),
                shell_word(&refname)
            ));
        }
        return Err(refusal.into());
    }
    ctx.repo
        .set_ref(&refname, mine, &format!("hotfix deploy: reserved {tag}"))?;
    ctx.ui.verbose(format!(
        "reserved {tag} on {} ({})",
        view.remote,
        short(mine)
    ));
    Ok(())
}

fn held_refusal(view: &RemoteView, held: &str, holder: &str, own: &str) -> Refusal {
    let what = if held == own {
        format!(
            "the version {held} is reserved on {} by {holder}: another release of it is under way (or stopped without a rollback)",
            view.remote
        )
    } else {
        format!(
            "{held} is reserved on {} by {holder}, a newer release of this hotfix's line that is under way (or stopped without a rollback); shipping {own} as well would undo one of them",
            view.remote
        )
    };
    Refusal::gate(format!("{what}; nothing was run"))
        .hint(format!(
            "once {held} is released, `hotfix rebase` moves this fix onto it; if it was given up, its author frees it with `git push {} --delete {}`",
            shell_word(&view.remote),
            shell_word(&reservation_ref(held))
        ))
}

/// Gives a reservation back, only while the remote still has this hotfix's `mine` there (the
/// push names the value it expects, so it never deletes another's). A deletion, not a force.
pub fn release(ctx: &Ctx, remote: &str, tag: &str, mine: Oid) -> Result<()> {
    let refname = reservation_ref(tag);
    let now = ctx.repo.ls_remote(remote, &[&refname])?;
    if now.iter().any(|(n, o)| *n == refname && *o == mine) {
        let lease = format!(":{refname}");
        ctx.repo.push(remote, &[&lease])?;
    }
    ctx.repo.delete_ref(&refname)
}

/// The reservation of `tag` this clone holds, if any.
pub fn held_here(ctx: &Ctx, tag: &str) -> Option<Oid> {
    ctx.repo.ref_target(&reservation_ref(tag)).ok().flatten()
}

/// Markers of releases kept in this clone (`--no-push`): one ref per tag, outside
/// `refs/hotfix/` so it never travels. Removed when the tag is pushed by hotfix, or when a
/// deploy sees the remote has it.
pub const LOCAL_ONLY_REFS: &str = "refs/hotfix-local/tags/";

pub fn mark_local_only(repo: &crate::git::Repo, tag: &str) -> Result<()> {
    let target = repo
        .ref_target(&format!("refs/tags/{tag}"))?
        .with_context(|| format!("the tag {tag} is gone"))?;
    repo.set_ref(
        &format!("{LOCAL_ONLY_REFS}{tag}"),
        target,
        "hotfix: released with --no-push",
    )
}

pub fn forget_local_only(repo: &crate::git::Repo, tag: &str) {
    let _ = repo.delete_ref(&format!("{LOCAL_ONLY_REFS}{tag}"));
}

/// The releases only in this clone, each with the sentence `status` and `list` print.
pub fn local_only_releases(repo: &crate::git::Repo) -> Vec<(String, String)> {
    let Ok(markers) = repo.ref_names(LOCAL_ONLY_REFS) else {
        return Vec::new();
    };
    let remote = repo
        .remote_for(None)
        .ok()
        .flatten()
        .unwrap_or_else(|| "origin".into());
    markers
        .into_iter()
        .filter_map(|r| r.strip_prefix(LOCAL_ONLY_REFS).map(String::from))
        .filter(|tag| repo.tag_exists(tag).unwrap_or(false))
        .map(|tag| {
            let sentence = format!(
                "{tag} is only in this clone (released with --no-push); share it with `git push {} {}`",
                shell_word(&remote),
                shell_word(&tag)
            );
            (tag, sentence)
        })
        .collect()
}
