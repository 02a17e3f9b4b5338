//! `hotfix abort`: abandon the hotfix in progress and return to the branch it started from.

use anyhow::Result;
use git2::Oid;

use crate::app::Ctx;
use crate::cli::AbortArgs;
use crate::error::Refusal;
use crate::git::{Head, short};
use crate::state::{DeployPhase, Phase};
use crate::steps::deploy;
use crate::ui::shell_word;

pub fn abort(ctx: &Ctx, args: &AbortArgs) -> Result<()> {
    let repo = &ctx.repo;
    let state = match ctx.store.read() {
        Ok(s) => s,
        Err(e) if is_damaged(&e) => return abort_damaged(ctx, "was damaged"),
        Err(e) if is_newer(&e) => {
            return abort_damaged(ctx, "was written by a newer hotfix");
        }
        Err(e) => return Err(e),
    };
    let h = ctx.select(&state, args.name.as_deref())?.clone();
    let on_branch = matches!(repo.head()?, Head::Branch(ref b, _) if *b == h.branch);
    let tip = repo.branch_tip(&h.branch)?;

    // Read-only checks first: nothing changes unless all of them pass.
    // The phase as the repository shows it: a tag made just before a kill is a release.
    if let Some(d) = h.deploy.as_ref()
        && !args.force
    {
        match deploy::phase(repo, d) {
            DeployPhase::Tagged | DeployPhase::Released => {
                return Err(Refusal::usage(format!(
                    "{} was already released as {}; abandoning it now would leave the fix never merged back",
                    h.branch, d.tag
                ))
                .hint("run `hotfix merge-back`; or `hotfix abort --force` to forget it anyway (verify-merged will go on reporting it)")
                .into());
            }
            DeployPhase::Deploying | DeployPhase::Verifying => {
                return Err(Refusal::usage(format!(
                    "a deploy of {} as {} was interrupted before it finished, so production may be half-deployed",
                    h.branch, d.tag
                ))
                .hint(format!(
                    "finish it with `hotfix deploy` (it asks before deploying again), or check production by hand (log: {}) and then `hotfix abort --force`",
                    d.log
                ))
                .into());
            }
            DeployPhase::Failed => {}
        }
    }
    let back_to = if on_branch {
        repo.require_clean("aborting the hotfix")?;
        Some(return_branch(ctx, &h.return_to)?)
    } else {
        None
    };
    if args.delete && tip.is_some() && !args.force {
        let mut lost = repo.commits_only_on(&h.branch, Oid::from_str(&h.base_commit).ok())?;
        // the version bump `start` made is hotfix's own, and made again by the next start
        lost.retain(|c| h.bump_commit() != Some(c.to_string().as_str()));
        if let Some(first) = lost.first() {
            let plural = if lost.len() == 1 { "" } else { "s" };
            return Err(Refusal::usage(format!(
                "{} holds {} commit{plural} that no other branch or tag has ({} {}), so deleting it would lose {}",
                h.branch,
                lost.len(),
                short(*first),
                repo.commit_summary(*first)?,
                if lost.len() == 1 { "it" } else { "them" }
            ))
            .hint("abort without --delete to keep the branch, or add --force to delete it anyway")
            .into());
        }
    }

    // A start killed while it switched the files left them half way (each as HEAD or the
    // release has it): abort puts them back as HEAD has them.
    let half_switched = if on_branch {
        None
    } else {
        crate::steps::branch::half_switched(repo, &h)?
    };
    // ...or, when some of them are not as either side has them: refused, unless --force leaves them
    let left_half = half_switched.is_none()
        && !on_branch
        && h.phase == Phase::Starting
        && h.switching
        && !repo.changed_paths(1)?.is_empty();
    // abort succeeds only when it put the tree back exactly; files edited since (or hidden
    // from git status) are someone's work, never forced, so it stops and says so
    if left_half && !args.force {
        return Err(Refusal::usage(format!(
            "the interrupted start of {} had begun to switch the files, and not every changed file ({}) is as one side of the switch has it (or an index entry hides one from git status), so abort cannot put the tree back as it was",
            h.branch,
            crate::git::few_paths(&repo.changed_paths(4)?)
        ))
        .hint(format!(
            "those are changes made since the kill: save them elsewhere and undo them (`git restore <file>`), then run `hotfix abort {}` again; or `hotfix abort {} --force` to give the hotfix up and leave the files as they are; nothing was changed",
            shell_word(&h.name),
            shell_word(&h.name)
        ))
        .into());
    }

    if back_to.is_some() || half_switched.is_some() {
        ctx.require_index_free("aborting the hotfix")?;
    }

    // Under the state lock for the whole change: a concurrent command cannot see the branch
    // switched while the entry still says the hotfix is checked out, and a lock held elsewhere
    // refuses before anything moved.
    ctx.store.update(|s| {
        if let Some(target) = &back_to {
            repo.switch(target)?;
        }
        if let Some(paths) = &half_switched {
            repo.undo_half_switch(Oid::from_str(&h.base_commit)?, paths)?;
        }
        if args.delete && tip.is_some() {
            repo.delete_branch(&h.branch)?;
        }
        s.hotfixes.remove(&h.branch);
        Ok(())
    })?;
    // The switch journal speaks only of this start's switch: with the entry gone (the files
    // put back, or never changed because the kill came before the first write, or left as
    // they are with --force) nothing can resume from it.
    repo.forget_switch_journal();
    // only after the entry is gone: a seal without an entry is harmless, the reverse is not
    if let Err(e) = crate::seal::unseal(repo, &h.branch) {
        ctx.ui.warn(format!("{e:#}"));
    }

    let ui = ctx.ui;
    if let Some(paths) = half_switched {
        ui.status(format!(
            "Put back the {} files the interrupted start had begun to switch.",
            paths.len()
        ));
    } else if left_half {
        ui.warn(
            "the interrupted start had begun to switch the files, and some now differ from both sides, so they were left as they are: see `git status`",
        );
    }
    ui.status(format!("Abandoned {}.", h.branch));
    if let Some(target) = back_to {
        ui.status(format!("Switched back to {target}."));
    }
    match (args.delete, tip) {
        (true, Some(t)) => ui.status(format!("Deleted branch {} (was {}).", h.branch, short(t))),
        (false, Some(_)) => ui.status(format!(
            "The branch {} is kept; delete it with `git branch -D {}` when no longer needed.",
            h.branch,
            shell_word(&h.branch)
        )),
        (_, None) => {}
    }
    Ok(())
}

/// The branch to return to: where the user started, else the development branch.
fn return_branch(ctx: &Ctx, started_from: &str) -> Result<String> {
    if ctx.repo.branch_tip(started_from)?.is_some() {
        return Ok(started_from.to_string());
    }
    if let Some(dev) = ctx
        .repo
        .detect_development()?
        .filter(|d| ctx.repo.branch_tip(d).ok().flatten().is_some())
    {
        ctx.ui.warn(format!(
            "{started_from} no longer exists; returning to {dev}"
        ));
        return Ok(dev);
    }
    Err(Refusal::usage(format!(
        "the branch this hotfix started from ({started_from}) no longer exists, and there is no development branch to return to"
    ))
    .hint("switch to a branch with `git switch <branch>`, then run `hotfix abort` again")
    .into())
}

fn is_damaged(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<Refusal>())
        .any(|r| r.to_string().contains("is damaged"))
}

/// A state file from a newer hotfix: `abort` is the way out for someone who cannot upgrade.
fn is_newer(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<Refusal>())
        .any(|r| r.to_string().contains("was written by a newer hotfix"))
}

/// A state file this hotfix cannot use: set it aside (nothing is deleted) so the user can go on.
fn abort_damaged(ctx: &Ctx, why: &str) -> Result<()> {
    let aside = ctx.store.set_aside()?;
    ctx.ui.warn(format!(
        "the hotfix state file {why}; moved it to {} (nothing was deleted)",
        aside.display()
    ));
    ctx.ui
        .status("No hotfix is in progress now; your branches and commits are as they were.");
    Ok(())
}
