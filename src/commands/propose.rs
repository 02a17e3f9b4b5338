//! `hotfix propose`: pushes the hotfix branch (never forced) and opens, or finds, its pull
//! (merge) request on the forge, titled from the summary, with the severity, base, guard
//! numbers and next steps in its body. And the merge-back requests of `merge-back --via-branch`.
//!
//! Everything that can refuse is asked first (the forge, its token, the repository, an
//! existing request), so a refusal leaves nothing pushed.

use anyhow::Result;

use crate::app::Ctx;
use crate::cli::ProposeArgs;
use crate::config::ReviewVia;
use crate::error::Refusal;
use crate::forge::{Forge, NewRequest, Offline, Request};
use crate::git::{Oid, short};
use crate::state::Hotfix;
use crate::steps::{guard, merge_back};
use crate::ui::shell_word;

/// The forge of a hotfix for a command that needs it: `--offline` and "no forge" refuse.
fn needed<'a>(ctx: &'a Ctx, h: &Hotfix, doing: &str) -> Result<Forge<'a>> {
    match Forge::open(ctx.ui, &ctx.repo, &h.policy.forge, Some(&h.branch)) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(Refusal::usage(format!(
            "{doing} needs a forge, and this repository has none: its remote is not on github.com or gitlab.com and [forge] sets no kind"
        ))
        .hint("set [forge] kind, api_url and repository in hotfix.toml (docs/forge.md); nothing was pushed")
        .into()),
        Err(e) if e.downcast_ref::<Offline>().is_some() => Err(Refusal::usage(format!(
            "{e}: {doing} needs the network"
        ))
        .hint("run it again without --offline; nothing was pushed")
        .into()),
        Err(e) => Err(e),
    }
}

pub fn propose(ctx: &Ctx, args: &ProposeArgs) -> Result<()> {
    let ui = ctx.ui;
    let repo = &ctx.repo;
    let state = ctx.store.read()?;
    let h = ctx.select(&state, args.name.as_deref())?;
    let tip = repo.branch_tip(&h.branch)?.ok_or_else(|| {
        Refusal::usage(format!(
            "the branch {} no longer exists; was it deleted by hand?",
            h.branch
        ))
    })?;
    let base = Oid::from_str(&h.base_commit)?;
    if tip == base {
        return Err(Refusal::usage(format!(
            "{} has no commits on top of its base yet: there is nothing to propose",
            h.branch
        ))
        .hint("commit the fix first")
        .into());
    }
    let Some(remote) = repo.remote_for(Some(&h.branch))? else {
        return Err(Refusal::usage(
            "`hotfix propose` pushes the branch, and this repository has no remote (no upstream, no `origin`)",
        )
        .hint("add one with `git remote add origin <url>`")
        .into());
    };
    let forge = needed(ctx, h, "`hotfix propose`")?;
    let noun = forge.request_noun();
    // asks the forge before anything is pushed: a bad token or repository refuses here
    let existing = forge.request_for(&h.branch)?;
    let target = if h.policy.branches.production.is_empty() {
        merge_back::development_branch(ctx, h)?
    } else {
        h.policy.branches.production.clone()
    };

    let refspec = format!("refs/heads/{0}:refs/heads/{0}", h.branch);
    ui.status(format!("Pushing {} to {remote}…", h.branch));
    repo.push(&remote, &[&refspec]).map_err(|e| {
        Refusal::usage(format!("could not push {} to {remote}: {e:#}", h.branch)).hint(format!(
            "if {remote} has commits this branch lacks, `git pull` on {} first; nothing was opened",
            shell_word(&h.branch)
        ))
    })?;

    let (request, created) = match existing {
        Some(r) => (r, false),
        None => {
            let body = body(ctx, h, tip, base, &forge)?;
            let opened = forge
                .open_request(&NewRequest {
                    branch: &h.branch,
                    base: &target,
                    title: &h.summary,
                    body: &body,
                    draft: args.draft,
                })
                .map_err(|e| {
                    e.context(format!(
                        "{} is pushed to {remote}, but no {noun} was opened; run `hotfix propose` again",
                        h.branch
                    ))
                })?;
            (opened, true)
        }
    };
    if created {
        ui.status(format!(
            "Opened {noun} #{} of {} into {target} on {}.",
            request.number,
            h.branch,
            forge.host()
        ));
    } else {
        ui.status(format!(
            "{} already has {noun} #{} on {}; pushed {} to it.",
            h.branch,
            request.number,
            forge.host(),
            short(tip)
        ));
    }
    if ui.json {
        ui.data(serde_json::to_string_pretty(&serde_json::json!({
            "url": request.url,
            "number": request.number,
            "created": created,
            "head": tip.to_string(),
        }))?);
    } else {
        ui.data(&request.url);
    }
    Ok(())
}

/// The request's description: what the incident is, where the fix starts, the guard's numbers,
/// and what happens next.
fn body(ctx: &Ctx, h: &Hotfix, tip: Oid, base: Oid, forge: &Forge) -> Result<String> {
    let report = guard::analyze(&ctx.repo, base, tip, &h.policy)?;
    let base_label = h.base_tag.clone().unwrap_or_else(|| short(base));
    let plural = |n: u32| if n == 1 { "" } else { "s" };
    let mut b = format!(
        "Hotfix `{}`: {}\n\n- severity: {}{}\n- base: {base_label} ({})\n- guard: {} file{}, {} line{} (limits {} files, {} lines){}\n",
        h.name,
        h.summary,
        h.severity,
        if h.reproduced { " (reproduced)" } else { "" },
        short(base),
        report.totals.files,
        plural(report.totals.files),
        report.totals.lines,
        plural(report.totals.lines),
        h.policy.guard.max_files,
        h.policy.guard.max_lines,
        if report.flags.is_empty() {
            String::new()
        } else {
            format!(
                ", {} flag{}",
                report.flags.len(),
                plural(report.flags.len() as u32)
            )
        }
    );
    for f in report.flags.iter().take(20) {
        match f.line {
            Some(l) => b.push_str(&format!("  - `{}:{l}`: {}\n", f.path, f.kind.as_str())),
            None => b.push_str(&format!("  - `{}`: {}\n", f.path, f.kind.as_str())),
        }
    }
    b.push_str("\nNext steps:\n");
    if h.policy.review.via == ReviewVia::Forge {
        b.push_str(&format!(
            "1. A reviewer who did not work on the fix approves this {} (the approval counts for the commit it is given on).\n",
            forge.request_noun()
        ));
    } else {
        b.push_str(&format!(
            "1. A reviewer runs `hotfix approve {}`.\n",
            h.branch
        ));
    }
    b.push_str("2. The tests pass for the commit being shipped (`hotfix test`).\n");
    b.push_str("3. The author runs `hotfix deploy`, then `hotfix merge-back`.\n");
    b.push_str("\nOpened by `hotfix propose`. Do not merge it by hand: `hotfix merge-back` merges the released fix.\n");
    Ok(b)
}

/// After `merge-back --via-branch` pushed `branch`: its request into `target` on the forge,
/// found or opened, when the hotfix's policy has a forge. `Ok(None)` without one.
pub fn merge_back_request(
    ctx: &Ctx,
    h: &Hotfix,
    tag: &str,
    branch: &str,
    target: &str,
) -> Result<Option<(Request, &'static str)>> {
    let forge = match Forge::open(ctx.ui, &ctx.repo, &h.policy.forge, Some(branch)) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e),
    };
    let noun = forge.request_noun();
    if let Some(r) = forge.request_for(branch)? {
        return Ok(Some((r, noun)));
    }
    let title = format!("Merge hotfix {tag} into {target}");
    let body = format!(
        "Merges the released hotfix {tag} (`{}`: {}) into {target}.\n\nThe release is the tag {tag}; its record says who reviewed and tested it. Opened by `hotfix merge-back --via-branch`.\n",
        h.name, h.summary
    );
    let r = forge.open_request(&NewRequest {
        branch,
        base: target,
        title: &title,
        body: &body,
        draft: false,
    })?;
    Ok(Some((r, noun)))
}
