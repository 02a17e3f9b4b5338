//! `hotfix rebase`: moves the fix onto the newest release of its line (a teammate released
//! v1.2.2 while this v1.2.1 fix was under way). The fix's commits are replayed by `git rebase`,
//! so a conflict stops in git's normal state; `--continue` and `--abort` go on from there, as
//! merge-back's do. The result is a new tree: approvals and test runs bound to the old one no
//! longer count, and the gates judge it again.

use anyhow::{Context, Result};

use crate::app::Ctx;
use crate::cli::RebaseArgs;
use crate::error::Refusal;
use crate::git::rebase::RebaseOutcome;
use crate::git::{Head, Oid, Repo, short};
use crate::state::{Bump, DeployPhase, Hotfix, RebaseRecord, State};
use crate::steps::{Step, branch, deploy, reserve};
use crate::ui::shell_word;
use crate::version;

const RESOLVE: &str = "resolve them, `git add` the files, then `hotfix rebase --continue` (or `hotfix rebase --abort` to put the branch back)";

pub fn rebase(ctx: &Ctx, args: &RebaseArgs) -> Result<()> {
    let state = ctx.store.read()?;
    let under_way = state
        .hotfixes
        .values()
        .find(|h| h.rebase.is_some())
        .cloned();
    if args.abort {
        let h = under_way.ok_or_else(|| {
            Refusal::usage("no rebase of a hotfix is under way; there is nothing to abort")
        })?;
        return abort(ctx, &h);
    }
    if args.r#continue {
        let h = under_way.ok_or_else(|| {
            Refusal::usage("no rebase of a hotfix is under way; there is nothing to continue")
        })?;
        return resume(ctx, &h);
    }
    if let Some(h) = under_way {
        return Err(Refusal::usage(format!(
            "the rebase of {} onto {} is not finished",
            h.branch,
            h.rebase.as_ref().map_or("", |r| r.onto_tag.as_str())
        ))
        .hint("`hotfix rebase --continue` or `hotfix rebase --abort`; nothing was changed")
        .into());
    }
    let h = deploy::checked_out(ctx, &state)?;
    start(ctx, &h)
}

/// Read-only checks, the newest release of the line, then the rebase.
fn start(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let repo = &ctx.repo;
    crate::seal::verify(repo, h, "rebase")?;
    if let Some(d) = &h.deploy
        && !matches!(d.phase, DeployPhase::Failed)
    {
        let what = match d.phase {
            DeployPhase::Released | DeployPhase::Tagged => {
                format!("{} was released as {}", h.branch, d.tag)
            }
            _ => format!("a deploy of {} as {} was started", h.branch, d.tag),
        };
        return Err(Refusal::usage(format!(
            "{what}; a rebase now would change what production may run"
        ))
        .hint("`hotfix status` says how to finish it; nothing was changed")
        .into());
    }
    if repo.operation_in_progress() {
        return Err(Refusal::usage(
            "git is in the middle of another operation (a merge, rebase or cherry-pick)",
        )
        .hint("finish or abort it first; nothing was changed")
        .into());
    }
    ctx.require_index_free("rebase")?;
    repo.require_clean("rebase")?;
    let base = reserve::base_version(h).ok_or_else(|| {
        Refusal::usage(format!(
            "the base of {} is not a release tag, so it has no line of releases to follow",
            h.branch
        ))
        .hint("rebase it by hand with `git rebase`; nothing was changed")
    })?;
    let (onto_tag, onto) = newest_of_line(ctx, h, &base)?;
    let (_, tip) = repo.current_branch()?;
    // A new release of the line means a new version: bumped again on the release, and the
    // fix's own commits (the old bump left behind) replayed onto that bump.
    let (_, bump) = new_version(ctx, h, &onto_tag, onto)?;
    let new_bump = match &bump {
        Some(b) => branch::bump_commit(repo, onto, b, &h.name, "rebase")?,
        None => None,
    };
    let old_bump = h
        .bump_commit()
        .and_then(|c| Oid::from_str(c).ok())
        .filter(|c| repo.is_ancestor(*c, tip).unwrap_or(false));
    let record = RebaseRecord {
        onto_tag: onto_tag.clone(),
        onto_commit: onto.to_string(),
        old_tip: tip.to_string(),
        bump_commit: new_bump.map(|c| c.to_string()),
    };
    save(ctx, &h.branch, Some(record.clone()))?;
    ctx.ui.status(format!(
        "Moving {} ({} commit{}) from {} onto {onto_tag}…",
        h.branch,
        repo.count_commits(Oid::from_str(&h.base_commit)?, tip)?,
        if repo.count_commits(Oid::from_str(&h.base_commit)?, tip)? == 1 {
            ""
        } else {
            "s"
        },
        h.base_tag.as_deref().unwrap_or("its base"),
    ));
    let upstream = match old_bump {
        Some(c) => c,
        None => Oid::from_str(&h.base_commit)?,
    };
    let outcome = repo.rebase_onto(new_bump.unwrap_or(onto), upstream, &h.branch);
    settle(ctx, h, &record, outcome)
}

/// The version the hotfix releases once on `onto_tag`, and the bump that says it: the version
/// taken at start while it is still newer than that release (and free), else that release's
/// with the patch raised; the files as the sealed policy names or detects them at the release.
/// Read-only, and a function of the sealed state and the release alone, so that `--continue`
/// can derive it again instead of trusting what the state says.
fn new_version(
    ctx: &Ctx,
    h: &Hotfix,
    onto_tag: &str,
    onto: Oid,
) -> Result<(Option<String>, Option<Bump>)> {
    let pattern = &h.policy.release.tag_pattern;
    let onto_version = version::version_of(onto_tag, pattern);
    let keep = h.version.as_deref().filter(|v| {
        let (Ok(v), Some(onto)) = (semver::Version::parse(v), &onto_version) else {
            return false;
        };
        let tag = version::format_tag(&h.policy.release.tag_format, &v);
        v > *onto && !ctx.repo.tag_exists(&tag).unwrap_or(true)
    });
    let base = branch::Base {
        tag: Some(onto_tag.to_string()),
        commit: onto,
    };
    branch::plan_version(&ctx.repo, &h.policy, &base, keep)
}

/// The newest release of the hotfix's line, on the remote when there is one (fetched here
/// first), else among this clone's tags; refused when the base is that release already.
fn newest_of_line(ctx: &Ctx, h: &Hotfix, base: &semver::Version) -> Result<(String, Oid)> {
    let repo = &ctx.repo;
    let pattern = &h.policy.release.tag_pattern;
    let remote = if repo.is_offline() {
        None
    } else {
        repo.remote_for(Some(&h.branch))?
    };
    let newer = match &remote {
        Some(r) => {
            let view = reserve::RemoteView::read(ctx, r)?;
            let newer = view.newer_in_line(base, pattern);
            if let Some(t) = &newer {
                let spec = format!("refs/tags/{0}:refs/tags/{0}", t.name);
                repo.fetch(r, &[&spec], false).map_err(|e| {
                    Refusal::usage(format!(
                        "could not fetch {} from {r} ({e:#})",
                        t.name
                    ))
                    .hint(format!(
                        "if this clone has another {} tag, the two clones disagree on that release: compare `git show {}` with the remote's; nothing was changed",
                        t.name,
                        shell_word(&t.name)
                    ))
                })?;
            }
            newer
        }
        None => reserve::newer_here(repo, base, pattern)?,
    };
    let Some(newer) = newer else {
        return Err(Refusal::usage(format!(
            "{} is already on the newest release of its line ({}); there is nothing to move onto",
            h.branch,
            h.base_tag.as_deref().unwrap_or("its base")
        ))
        .hint("nothing was changed")
        .into());
    };
    let commit = repo
        .tag_commit(&newer.name)?
        .with_context(|| format!("the tag {} points at no commit", newer.name))?;
    Ok((newer.name, commit))
}

/// After git's rebase (or its `--continue`): done, stopped on conflicts, or failed.
fn settle(
    ctx: &Ctx,
    h: &Hotfix,
    record: &RebaseRecord,
    outcome: Result<RebaseOutcome>,
) -> Result<()> {
    match outcome {
        Ok(RebaseOutcome::Done) => complete(ctx, h, record),
        Ok(RebaseOutcome::Conflicts(paths)) => Err(Refusal::gate(format!(
            "moving {} onto {} stopped on conflicts in {}",
            h.branch,
            record.onto_tag,
            crate::git::few_paths(&paths)
        ))
        .hint(RESOLVE)
        .into()),
        Err(e) => {
            if !ctx.repo.rebase_in_progress() && branch_tip(&ctx.repo, h)? == record.old_tip {
                // git stopped before it changed anything: nothing is under way
                save(ctx, &h.branch, None)?;
            }
            Err(e)
        }
    }
}

/// The rebase finished: the new base goes into the state and the seal together.
fn complete(ctx: &Ctx, h: &Hotfix, record: &RebaseRecord) -> Result<()> {
    let repo = &ctx.repo;
    let tip = repo
        .branch_tip(&h.branch)?
        .with_context(|| format!("the branch {} is gone", h.branch))?;
    let onto = Oid::from_str(&record.onto_commit)?;
    if !repo.is_ancestor(onto, tip)? {
        return Err(Refusal::usage(format!(
            "{} does not contain {} after the rebase (was it reset by hand?)",
            h.branch, record.onto_tag
        ))
        .hint("`hotfix rebase --abort` puts the branch back as it was")
        .into());
    }
    // the version and the bump are derived again, not taken from the state: the bump commit
    // the rebase replayed onto must be exactly that bump on the release
    let (version, mut bump) = new_version(ctx, h, &record.onto_tag, onto)?;
    if let Some(b) = bump.as_mut() {
        let made = record
            .bump_commit
            .as_deref()
            .and_then(|c| Oid::from_str(c).ok());
        let same = match made {
            Some(m) => branch::is_bump_of(repo, m, onto, b)? && repo.is_ancestor(m, tip)?,
            // a bump that changes nothing makes no commit
            None => crate::version_files::bumped(repo, onto, &b.files, &b.to)?.is_empty(),
        };
        if !same {
            return Err(Refusal::usage(format!(
                "the version bump {} was rebased onto is not the bump of {} to {}",
                h.branch, record.onto_tag, b.to
            ))
            .hint("`hotfix rebase --abort` puts the branch back as it was; then `hotfix rebase` again")
            .into());
        }
        b.commit = made.map(|c| c.to_string());
    }
    set_base(
        ctx,
        h,
        &record.onto_tag,
        onto,
        version.as_deref(),
        bump.as_ref(),
    )?;
    ctx.ui.status(format!(
        "Moved {} onto {} (now at {}). This is a new tree: the guard, review and test judge it again.",
        h.branch,
        record.onto_tag,
        short(tip)
    ));
    ctx.ui
        .status("next: `hotfix status`, then a teammate runs `hotfix approve` on the new tree");
    Ok(())
}

/// The one place where a hotfix gets a new base: the state's base tag and commit and the seal
/// change together, in one locked update, with the version and the version bump that follow
/// from it, and the rebase record is cleared.
pub fn set_base(
    ctx: &Ctx,
    h: &Hotfix,
    tag: &str,
    commit: Oid,
    version: Option<&str>,
    bump: Option<&Bump>,
) -> Result<()> {
    let repo = &ctx.repo;
    ctx.store.update(|s: &mut State| {
        let e = s
            .hotfixes
            .get_mut(&h.branch)
            .ok_or_else(|| Refusal::usage(format!("{} is no longer in progress", h.branch)))?;
        crate::seal::seal_rebase(
            repo,
            &h.branch,
            Some(tag),
            &commit.to_string(),
            version,
            bump,
        )?;
        e.base_tag = Some(tag.to_string());
        e.base_commit = commit.to_string();
        e.version = version.map(String::from);
        e.bump = bump.cloned();
        e.rebase = None;
        // a failed deploy of the old tree is history now; its log stays where it was
        e.deploy = None;
        Ok(())
    })
}

/// `--continue`: git's rebase goes on after the user resolved the conflicts; also what finishes
/// a rebase the user continued (or aborted) with git itself, or one a kill interrupted.
fn resume(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let repo = &ctx.repo;
    crate::seal::verify(repo, h, "rebase")?;
    let record = h.rebase.clone().context("no rebase recorded")?;
    // the release to move onto is found again, as `hotfix rebase` found it: the state's record
    // of it is no seal's, and the base it names becomes the sealed base
    if let Some(base) = reserve::base_version(h) {
        let (tag, commit) = newest_of_line(ctx, h, &base)?;
        if tag != record.onto_tag || commit.to_string() != record.onto_commit {
            return Err(Refusal::usage(format!(
                "the rebase of {} was recorded as onto {} ({}), but the newest release of its line is {tag} ({})",
                h.branch,
                record.onto_tag,
                Oid::from_str(&record.onto_commit).map_or_else(|_| record.onto_commit.clone(), short),
                short(commit)
            ))
            .hint("`hotfix rebase --abort` puts the branch back as it was; then `hotfix rebase` again")
            .into());
        }
    }
    if repo.rebase_in_progress() {
        repo.reload_index()?;
        let conflicts = repo.conflicted_paths()?;
        if !conflicts.is_empty() {
            return Err(Refusal::gate(format!(
                "{} still has conflicts: {}",
                h.branch,
                crate::git::few_paths(&conflicts)
            ))
            .hint(RESOLVE)
            .into());
        }
        let outcome = repo.rebase_continue();
        return settle(ctx, h, &record, outcome);
    }
    let tip = branch_tip(repo, h)?;
    if tip == record.old_tip {
        // aborted with git itself (or never begun): nothing moved
        save(ctx, &h.branch, None)?;
        ctx.ui.status(format!(
            "{} is as it was before the rebase (it was aborted); run `hotfix rebase` to try again.",
            h.branch
        ));
        return Ok(());
    }
    complete(ctx, h, &record)
}

/// `--abort`: the branch and files as they were before the rebase.
fn abort(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let repo = &ctx.repo;
    let record = h.rebase.clone().context("no rebase recorded")?;
    if repo.rebase_in_progress() {
        repo.rebase_abort()?;
    } else if branch_tip(repo, h)? != record.old_tip {
        return Err(Refusal::usage(format!(
            "the rebase of {} onto {} has finished already",
            h.branch, record.onto_tag
        ))
        .hint("`hotfix rebase --continue` records it; to undo it, reset the branch by hand")
        .into());
    }
    save(ctx, &h.branch, None)?;
    let on_branch = matches!(repo.head()?, Head::Branch(ref b, _) if *b == h.branch);
    ctx.ui.status(format!(
        "Rebase aborted; {} is as it was ({}){}.",
        h.branch,
        short(Oid::from_str(&record.old_tip)?),
        if on_branch {
            ""
        } else {
            " but not checked out"
        }
    ));
    Ok(())
}

/// What `status` says while a rebase is under way.
pub fn explain(repo: &Repo, h: &Hotfix) -> Option<(Step, Option<String>, String)> {
    let r = h.rebase.as_ref()?;
    let conflicts = repo.conflicted_paths().unwrap_or_default();
    let problem = if repo.rebase_in_progress() && !conflicts.is_empty() {
        format!(
            "moving the fix onto {} stopped on conflicts in {}",
            r.onto_tag,
            crate::git::few_paths(&conflicts)
        )
    } else {
        format!("moving the fix onto {} was not finished", r.onto_tag)
    };
    Some((
        Step::Fix,
        Some(problem),
        "hotfix rebase --continue (or hotfix rebase --abort)".into(),
    ))
}

fn branch_tip(repo: &Repo, h: &Hotfix) -> Result<String> {
    Ok(repo
        .branch_tip(&h.branch)?
        .map(|t| t.to_string())
        .unwrap_or_default())
}

fn save(ctx: &Ctx, branch: &str, record: Option<RebaseRecord>) -> Result<()> {
    ctx.store.update(|s| {
        let e = s
            .hotfixes
            .get_mut(branch)
            .ok_or_else(|| Refusal::usage(format!("{branch} is no longer in progress")))?;
        e.rebase = record;
        Ok(())
    })
}
