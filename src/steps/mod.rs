//! The pipeline, one module per step. Each step runs as its own command; `finish` runs the
//! remaining ones in order.

pub mod branch;
pub mod changes;
pub mod confirm;
pub mod deploy;
pub mod finish;
pub mod forge_gates;
pub mod guard;
pub mod merge_back;
pub mod rebase;
pub mod reserve;
pub mod review;
pub mod test;

pub use crate::state::Step;

/// One gate judged now, for the tree at the hotfix branch's tip.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GateView {
    /// `guard`, `review` or `test`.
    pub gate: &'static str,
    pub passed: bool,
    /// One short phrase: why it passed or what is missing ("2 files, 14 lines: within limits",
    /// "approval is for an older tree", "not run yet").
    pub reason: String,
    /// The command that moves this gate forward, when it has not passed.
    pub next: Option<String>,
}

/// The three gates for the tree at `tip`, in pipeline order.
pub fn evaluate_gates(
    ctx: &crate::app::Ctx,
    h: &crate::state::Hotfix,
    tip: crate::git::Oid,
    tree: crate::git::Oid,
) -> anyhow::Result<Vec<GateView>> {
    Ok(vec![
        guard::evaluate(ctx, h, tip, tree)?,
        review::evaluate(ctx, h, tip, tree)?,
        test::evaluate(ctx, h, tip, tree)?,
    ])
}

/// As [`evaluate_gates`], for a report (`status`): a gate that cannot be judged now (the forge
/// did not answer within the bound, or refused) is shown as not passed with why, and the
/// others are still judged. Commands that decide use [`evaluate_gates`], which stops there.
pub fn report_gates(
    ctx: &crate::app::Ctx,
    h: &crate::state::Hotfix,
    tip: crate::git::Oid,
    tree: crate::git::Oid,
) -> anyhow::Result<Vec<GateView>> {
    let judged = |gate: &'static str, view: anyhow::Result<GateView>| match view {
        Ok(v) => v,
        Err(e) => GateView {
            gate,
            passed: false,
            reason: format!("not judged: {e}"),
            next: Some("hotfix status (again, once the forge answers)".into()),
        },
    };
    Ok(vec![
        guard::evaluate(ctx, h, tip, tree)?,
        judged("review", review::evaluate(ctx, h, tip, tree)),
        judged("test", test::evaluate(ctx, h, tip, tree)),
    ])
}

/// Refuses a step for a hotfix branch that is still at its base: there is no fix to judge, test
/// or ship, so nothing runs (a test run there would record a pass of the release itself).
pub fn require_fix(
    h: &crate::state::Hotfix,
    tip: crate::git::Oid,
    command: &str,
) -> anyhow::Result<()> {
    // the base, or the base and the version bump `start` made: nothing to judge yet
    if !h.has_no_fix(&tip.to_string()) {
        return Ok(());
    }
    Err(crate::error::Refusal::gate(format!(
        "{} has no fix committed yet; nothing was run",
        h.branch
    ))
    .hint(format!(
        "commit the fix on {}, then run `hotfix {command}`",
        crate::ui::shell_word(&h.branch)
    ))
    .into())
}

/// Records `--override <gate> --reason <text>` for the tree at `tree`, where the policy snapshot
/// allows overrides. Returns the gates overridden.
pub fn record_overrides(
    ctx: &crate::app::Ctx,
    h: &crate::state::Hotfix,
    args: &crate::cli::OverrideArgs,
    tree: crate::git::Oid,
) -> anyhow::Result<Vec<crate::cli::Gate>> {
    use crate::error::Refusal;
    if args.gates.is_empty() {
        return Ok(Vec::new());
    }
    crate::seal::verify(&ctx.repo, h, "the override")?;
    if !h.policy.policy.allow_override {
        return Err(Refusal::usage(
            "this hotfix's policy does not allow overrides (policy.allow_override = false)",
        )
        .hint("make the gate pass instead")
        .into());
    }
    let reason = args.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err(Refusal::usage("an override needs a reason: --reason <text>").into());
    }
    let who = ctx.repo.identity()?;
    let at = jiff::Timestamp::now();
    let gates = args.gates.clone();
    ctx.store.update(|s| {
        let entry = s
            .hotfixes
            .get_mut(&h.branch)
            .ok_or_else(|| Refusal::usage(format!("{} is no longer in progress", h.branch)))?;
        let new: Vec<crate::state::Override> = gates
            .iter()
            .map(|gate| crate::state::Override {
                gate: gate_name(*gate).to_string(),
                reason: reason.to_string(),
                tree: tree.to_string(),
                by_name: who.name.clone(),
                by_email: who.email.clone(),
                at,
            })
            .collect();
        crate::seal::seal_overrides(&ctx.repo, &h.branch, &new)?;
        entry.overrides.extend(new);
        Ok(())
    })?;
    for gate in &gates {
        ctx.ui.warn(format!(
            "the {} gate is overridden for this tree ({reason}); the override is recorded in the release",
            gate_name(*gate)
        ));
    }
    Ok(gates)
}

pub fn gate_name(gate: crate::cli::Gate) -> &'static str {
    match gate {
        crate::cli::Gate::Guard => "guard",
        crate::cli::Gate::Review => "review",
        crate::cli::Gate::Test => "test",
    }
}

/// The team's policy as committed on the REMOTE's development branch, fetched now (the defaults
/// when it has no hotfix.toml), with a label naming it ("origin's develop"). Used only where the
/// snapshot taken at start has no `what` ("test command", "deploy command") at all: a hotfix
/// branch can never choose a command that judges it, and neither can a commit made only in this
/// clone: with no remote there is no fallback (the defaults, which have no commands), and with
/// `--offline` or a failed fetch it is a refusal.
pub fn team_policy(
    ctx: &crate::app::Ctx,
    h: &crate::state::Hotfix,
    what: &str,
) -> anyhow::Result<(String, crate::config::Config)> {
    use crate::error::Refusal;
    let dev = merge_back::development_branch(ctx, h)?;
    let none = format!("this hotfix's policy (taken at start) has no {what}");
    let hint = format!(
        "commit the {what} in hotfix.toml on {dev} and push it, then run this again; nothing was run"
    );
    // no remote, no team policy beyond the snapshot: the caller refuses for want of a command
    let Some(remote) = ctx.repo.remote_for(Some(&h.branch))? else {
        return Ok((dev, crate::config::Config::default()));
    };
    if ctx.repo.is_offline() {
        return Err(Refusal::usage(format!(
            "{none}, and the team's is read only from {remote}'s {dev}, which --offline does not reach"
        ))
        .hint(format!("run it again without --offline; {hint}"))
        .into());
    }
    let tracking = format!("refs/remotes/{remote}/{dev}");
    let spec = format!("+refs/heads/{dev}:{tracking}");
    if let Err(e) = ctx.repo.fetch(&remote, &[&spec], false) {
        return Err(Refusal::usage(format!(
            "{none}, and the team's could not be read from {remote}'s {dev}: {e:#}"
        ))
        .hint(format!(
            "run it again when {remote} is reachable; nothing was run"
        ))
        .into());
    }
    // read right after the fetch that wrote it: what the remote has, not a ref made by hand
    let config = match ctx.repo.remote_branch_tip(&format!("{remote}/{dev}"))? {
        Some(t) => crate::config::Config::load_committed(&ctx.repo, t)?,
        None => crate::config::Config::default(),
    };
    Ok((format!("{remote}'s {dev}"), config))
}
