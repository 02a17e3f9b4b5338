//! `hotfix finish`: the remaining steps in order (guard → review → test → deploy → merge-back),
//! stopping at the first that cannot pass with one sentence and the command that moves it on.

use anyhow::Result;

use crate::app::Ctx;
use crate::cli::{FinishArgs, MergeBackArgs, OverrideArgs, TestArgs};
use crate::error::Refusal;
use crate::state::DeployPhase;
use crate::steps::{self, deploy, guard, merge_back, review, test};
use crate::ui::shell_word;

pub fn finish(ctx: &Ctx, args: &FinishArgs) -> Result<()> {
    let state = ctx.store.read()?;
    let merge_back_args = MergeBackArgs {
        r#continue: false,
        abort: false,
        via_branch: args.via_branch,
    };
    if let Some(h) = state
        .hotfixes
        .values()
        .find(|h| h.merge_back.as_ref().is_some_and(|m| m.current.is_some()))
    {
        return Err(Refusal::gate(format!(
            "merge-back of {} is stopped on conflicts",
            h.branch
        ))
        .hint("resolve and `git add` them, then run `hotfix merge-back --continue`")
        .into());
    }
    let released = |h: &crate::state::Hotfix| {
        h.deploy
            .as_ref()
            .is_some_and(|d| d.phase == DeployPhase::Released)
    };
    let h = match ctx.current(&state)? {
        Some(h) => h.clone(),
        None => {
            // After a release the user may be anywhere; the released hotfix is the one to finish.
            let mut done = state.hotfixes.values().filter(|h| released(h));
            match (done.next(), done.next()) {
                (Some(h), None) => h.clone(),
                _ => deploy::checked_out(ctx, &state)?,
            }
        }
    };
    if released(&h) {
        return merge_back::merge_back(ctx, &merge_back_args);
    }
    crate::seal::verify(&ctx.repo, &h, "finish")?;
    let ui = ctx.ui;
    let (_, tip) = ctx.repo.current_branch()?;
    let tree = ctx.repo.tree_of(tip)?;
    if h.has_no_fix(&tip.to_string()) {
        return Err(
            Refusal::gate(format!("{} has no fix committed yet", h.branch))
                .hint("commit the fix, then run `hotfix finish` again")
                .into(),
        );
    }
    steps::record_overrides(ctx, &h, &args.overrides, tree)?;
    let h = deploy::reload(ctx, &h.branch)?;

    let g = guard::evaluate(ctx, &h, tip, tree)?;
    ui.status(format!("{} guard   {}", mark(ui, g.passed), g.reason));
    if !g.passed {
        let hint = if h.policy.policy.allow_override {
            "`hotfix guard` shows the diff's size and flags; make the fix smaller, or `hotfix guard --override guard --reason <text>`"
        } else {
            "`hotfix guard` shows the diff's size and flags; make the fix smaller"
        };
        return Err(Refusal::gate(format!("the guard says no: {}", g.reason))
            .hint(hint)
            .into());
    }
    let r = review::evaluate(ctx, &h, tip, tree)?;
    ui.status(format!("{} review  {}", mark(ui, r.passed), r.reason));
    if !r.passed {
        return Err(Refusal::gate(format!(
            "waiting for review ({}): a teammate runs `hotfix approve {}`",
            r.reason,
            shell_word(&h.branch)
        ))
        .hint("then run `hotfix finish` again")
        .into());
    }
    let t = test::evaluate(ctx, &h, tip, tree)?;
    if t.passed {
        ui.status(format!("{} test    {}", ui.ok_mark(), t.reason));
    } else {
        // an earlier failed run is not this run's result: the tests run now
        ui.status(format!(
            "{} test    not passed for this tree yet; running the tests",
            ui.pending_mark()
        ));
        let ran = test::test(
            ctx,
            &TestArgs {
                overrides: OverrideArgs::default(),
            },
        );
        if let Err(e) = ran {
            // this run's result, where the earlier one would have been shown
            if let Ok(h) = deploy::reload(ctx, &h.branch)
                && let Ok(t) = test::evaluate(ctx, &h, tip, tree)
                && !t.passed
            {
                ui.status(format!("{} test    {}", ui.fail_mark(), t.reason));
            }
            return Err(e);
        }
    }
    let h = deploy::reload(ctx, &h.branch)?;
    deploy::run(
        ctx,
        &h,
        &deploy::Options {
            push: !args.no_push,
            version: args.version.as_deref(),
            overrides: &OverrideArgs::default(),
        },
    )?;
    merge_back::merge_back(ctx, &merge_back_args)
}

fn mark(ui: &crate::ui::Ui, passed: bool) -> String {
    if passed { ui.ok_mark() } else { ui.fail_mark() }
}
