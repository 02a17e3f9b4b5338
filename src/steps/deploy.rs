//! `hotfix deploy`: every gate for the exact tree being shipped, then deploy, verify (with
//! retries), rollback when either fails, and only after a verified deploy the release tag, the
//! production branch, the push and the notification.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::app::Ctx;
use crate::cli::OverrideArgs;
use crate::config;
use crate::error::Refusal;
use crate::fault;
use crate::git::{Head, Oid, Repo, short};
use crate::process::{self, Hook};
use crate::record::{self, ReleaseRecord};
use crate::state::{DeployPhase, DeployRecord, Hotfix};
use crate::steps::{self, GateView, Step, guard, reserve, review};
use crate::ui::shell_word;
use crate::version;

/// What the caller asked of a deploy.
pub struct Options<'a> {
    /// Share the release with the remote (the default); false with `--no-push`, when the
    /// release stays in this clone.
    pub push: bool,
    pub version: Option<&'a str>,
    pub overrides: &'a OverrideArgs,
}

pub fn deploy(ctx: &Ctx, args: &crate::cli::DeployArgs) -> Result<()> {
    let state = ctx.store.read()?;
    let h = checked_out(ctx, &state)?;
    run(
        ctx,
        &h,
        &Options {
            push: !args.no_push,
            version: args.version.as_deref(),
            overrides: &args.overrides,
        },
    )?;
    // said here, not where the release is made: `finish` goes on to merge back itself
    ctx.ui.status("Next: `hotfix merge-back`.");
    Ok(())
}

/// The hotfix checked out, or a refusal that says how to get there.
pub fn checked_out(ctx: &Ctx, state: &crate::state::State) -> Result<Hotfix> {
    if let Some(h) = ctx.current(state)? {
        return Ok(h.clone());
    }
    let hint = match state.hotfixes.keys().next() {
        Some(b) => format!("switch to it first: `git switch {}`", shell_word(b)),
        None => "start one with `hotfix start <name>`".to_string(),
    };
    Err(Refusal::usage("no hotfix branch is checked out")
        .hint(hint)
        .into())
}

/// Deploys the tree at the tip of `h`'s branch (the checked-out HEAD). Everything read-only is
/// checked before anything runs; production changes only in `deploy_hooks`, and the tag comes
/// only after `verify` passed.
pub fn run(ctx: &Ctx, h: &Hotfix, opts: &Options) -> Result<()> {
    let repo = &ctx.repo;
    // Held until this function returns: two deploys at once would run the hooks twice and race
    // for the tag. It is also what keeps `save` from overwriting another run's record.
    let _lock = deploy_lock(repo)?;
    crate::seal::verify(repo, h, "deploy")?;
    let (_, tip) = repo.current_branch()?;
    steps::require_fix(h, tip, "deploy")?;
    let tree = repo.tree_of(tip)?;

    let h = &reconcile_tag(ctx, h)?;
    if resume(ctx, h, tree, opts)? == Resume::Finished {
        return Ok(());
    }
    check_read_only(ctx, h, tree)?;
    steps::record_overrides(ctx, h, opts.overrides, tree)?;
    let h = &reload(ctx, &h.branch)?;
    check_gates(ctx, h, tip, tree)?;
    let release = plan_release(ctx, h, tip, opts)?;
    check_production(ctx, h, tip)?;
    confirm(ctx, h, tip, tree, &release)?;

    reserve_version(ctx, h, tip, tree, &release)?;
    let hooks = Hooks::prepare(ctx, h, tip, tree, &release)?;
    let mut rec = started(tip, tree, &release, &hooks);
    let mut room = Room::set_aside(ctx)?;
    save(ctx, &h.branch, &rec)?;
    fault::point("deploy-before-command");
    deploy_hooks(ctx, h, tip, &release, &hooks, &mut rec, &mut room)?;
    verify(ctx, h, &release, &hooks, &mut rec)?;
    check_head_unmoved(ctx, h, tip, &release, &hooks, &mut rec)?;
    room.give_one_back();
    let record = tag_release(ctx, h, tip, tree, &release, &mut rec)?;
    after_tag(
        ctx,
        h,
        &release.cfg,
        tip,
        &record,
        release.remote.as_deref(),
    )
}

/// Whether `resume` finished a release a killed run had tagged, or a deploy is to be run.
#[derive(PartialEq)]
enum Resume {
    Finished,
    Deploy,
}

/// Killed after the tag was made but before the state said so: the tag decides.
fn reconcile_tag<'h>(ctx: &Ctx, h: &'h Hotfix) -> Result<Cow<'h, Hotfix>> {
    match &h.deploy {
        Some(d) if phase(&ctx.repo, d) != d.phase => {
            let mut d = d.clone();
            d.phase = DeployPhase::Tagged;
            save(ctx, &h.branch, &d)?;
            Ok(Cow::Owned(reload(ctx, &h.branch)?))
        }
        _ => Ok(Cow::Borrowed(h)),
    }
}

/// A deploy of this hotfix already made: refused when released (or tagged for another tree),
/// finished when a killed run left it tagged.
fn resume(ctx: &Ctx, h: &Hotfix, tree: Oid, opts: &Options) -> Result<Resume> {
    let Some(d) = &h.deploy else {
        return Ok(Resume::Deploy);
    };
    let tree_s = tree.to_string();
    match d.phase {
        DeployPhase::Released if d.tree == tree_s => Err(Refusal::usage(format!(
            "this tree was already released as {}",
            d.tag
        ))
        .hint("next: `hotfix merge-back`")
        .into()),
        DeployPhase::Released | DeployPhase::Tagged if d.tree != tree_s => {
            Err(Refusal::usage(format!(
                "{} was released as {} and has changed since",
                h.branch, d.tag
            ))
            .hint("a further fix is a new hotfix: merge this one back, then `hotfix start`")
            .into())
        }
        DeployPhase::Tagged => {
            // Killed after the tag was made: only the steps after it remain.
            ctx.ui.status(format!(
                "{} is tagged already; finishing what remains after the tag.",
                d.tag
            ));
            let (tagged, record) = tagged_release(ctx, h, d)?;
            let cfg = deploy_policy(ctx, h)?;
            let remote = release_remote(ctx, h, opts)?;
            after_tag(ctx, h, &cfg, tagged, &record, remote.as_deref())?;
            Ok(Resume::Finished)
        }
        _ => Ok(Resume::Deploy),
    }
}

/// Read-only checks first: nothing runs unless all of them pass.
fn check_read_only(ctx: &Ctx, h: &Hotfix, tree: Oid) -> Result<()> {
    let repo = &ctx.repo;
    // The hooks run on an export of the commit, so nothing here would ship; but someone who
    // deploys with edits not committed most likely believes they are part of it.
    let dirty = repo.changed_or_untracked_paths(4)?;
    if !dirty.is_empty() {
        return Err(Refusal::usage(format!(
            "the working tree has uncommitted or untracked files ({}); the deploy ships only the committed tree {}, without them",
            crate::git::few_paths(&dirty),
            short(tree)
        ))
        .hint("commit them, or set them aside with `git stash -u`; nothing was run")
        .into());
    }
    let production = &h.policy.branches.production;
    if !production.is_empty()
        && let Some(other) = repo.worktree_of(production)
    {
        return Err(Refusal::gate(format!(
            "the production branch {production} is checked out in another worktree ({}); moving it there would leave that worktree showing a revert",
            other.display()
        ))
        .hint(format!(
            "switch that worktree to another branch (`git -C {} switch --detach`), then deploy again; nothing was run",
            shell_word(&other.display().to_string())
        ))
        .into());
    }
    // a lock left by a killed hotfix is cleared; another program's means the files and the
    // index are being changed under us
    ctx.require_index_free("deploy")
}

/// Every gate for this exact tree; a refusal names each failing gate and what moves it on.
fn check_gates(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid) -> Result<()> {
    let gates = steps::evaluate_gates(ctx, h, tip, tree)?;
    let failing: Vec<&GateView> = gates.iter().filter(|g| !g.passed).collect();
    if failing.is_empty() {
        return Ok(());
    }
    if ctx.ui.json {
        // for a script: what was refused, on stdout, before the sentence on stderr
        ctx.ui
            .data(serde_json::to_string_pretty(&serde_json::json!({
                "deployed": false,
                "branch": &h.branch,
                "commit": tip.to_string(),
                "tree": tree.to_string(),
                "refused": &failing,
                "gates": &gates,
            }))?);
    }
    let what: Vec<String> = failing
        .iter()
        .map(|g| format!("{} ({})", g.gate, g.reason))
        .collect();
    let next: Vec<String> = failing
        .iter()
        .map(|g| match &g.next {
            Some(n) if n.contains('`') => n.clone(),
            Some(n) => format!("`{n}`"),
            None => format!("`hotfix {}`", g.gate),
        })
        .collect();
    Err(Refusal::gate(format!(
        "deploy refused for tree {}: {}; nothing was run",
        short(tree),
        what.join("; ")
    ))
    .hint(format!("next: {}", next.join(", then ")))
    .into())
}

/// What this deploy releases: the tag and version, the `[deploy]` policy, and the remote it
/// goes to (with that remote's tags and reservations as read before anything runs).
struct Release {
    tag: String,
    version: semver::Version,
    cfg: config::Deploy,
    remote: Option<String>,
    view: Option<reserve::RemoteView>,
}

fn plan_release(ctx: &Ctx, h: &Hotfix, tip: Oid, opts: &Options) -> Result<Release> {
    // a newer release of the line this clone knows: the way out is the rebase, not a version
    reserve::refuse_older_base_here(&ctx.repo, h, tip)?;
    let (tag, version) = new_version(ctx, h, opts.version)?;
    check_version_files(ctx, h, tip, &version)?;
    let cfg = deploy_policy(ctx, h)?;
    let remote = release_remote(ctx, h, opts)?;
    let view = match &remote {
        Some(r) => Some(reserve::RemoteView::read(ctx, r)?),
        None => None,
    };
    if let Some(view) = &view {
        reserve::refuse_older_base(h, view)?;
    }
    Ok(Release {
        tag,
        version,
        cfg,
        remote,
        view,
    })
}

/// The production branch, local and the remote's as last fetched: either must move forward
/// only, to this hotfix.
fn check_production(ctx: &Ctx, h: &Hotfix, tip: Oid) -> Result<()> {
    let repo = &ctx.repo;
    let production = &h.policy.branches.production;
    if production.is_empty() {
        return Ok(());
    }
    let remote = repo.remote_for(Some(&h.branch))?;
    let remote_tip = match &remote {
        Some(r) => repo.remote_branch_tip(&format!("{r}/{production}"))?,
        None => None,
    };
    for p in [repo.branch_tip(production)?, remote_tip]
        .into_iter()
        .flatten()
    {
        if !repo.is_ancestor(p, tip)? {
            return Err(Refusal::gate(format!(
                "the production branch {production} cannot be fast-forwarded to this hotfix: it has commits the hotfix does not"
            ))
            .hint(format!("start the hotfix from {production}'s tip (`hotfix start --from {}`), or reconcile {production} first; nothing was run", shell_word(production)))
            .into());
        }
    }
    Ok(())
}

/// The last question before production; for a tree whose deploy failed or was interrupted,
/// the question whether to run the deploy command for it again instead.
fn confirm(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid, release: &Release) -> Result<()> {
    let tree_s = tree.to_string();
    let retrying = h.deploy.as_ref().is_some_and(|d| d.tree == tree_s);
    if !retrying {
        last_question(ctx.ui, tip, tree, &release.tag, &release.cfg.command)?;
    }
    if let Some(d) = &h.deploy
        && d.tree == tree_s
    {
        let what = match d.phase {
            DeployPhase::Failed => {
                format!("failed ({})", d.failure.as_deref().unwrap_or("see the log"))
            }
            _ => "was interrupted before it finished".to_string(),
        };
        ctx.ui.warn(format!(
            "a deploy of this exact tree started at {} {what}; log: {}",
            d.started_at.strftime("%Y-%m-%d %H:%M UTC"),
            d.log
        ));
        if !ctx
            .ui
            .confirm("Run the deploy command for this tree again?", "--yes")?
        {
            return Err(Refusal::gate("the deploy was not repeated").into());
        }
    }
    Ok(())
}

/// The version taken on the remote for this hotfix, so no other release takes it meanwhile.
fn reserve_version(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid, release: &Release) -> Result<()> {
    match &release.view {
        Some(view) => reserve::reserve(
            ctx,
            h,
            view,
            &release.tag,
            &release.version.to_string(),
            tip,
            tree,
        ),
        None => Ok(()),
    }
}

/// Where and how the deploy, verify and rollback commands run: an export of `tip`, the
/// HOTFIX_* variables, one log for all three.
struct Hooks<'c> {
    /// Removed when dropped, at the end of `run`.
    folder: crate::git::TempCheckout<'c>,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl<'c> Hooks<'c> {
    fn prepare(
        ctx: &'c Ctx<'_>,
        h: &Hotfix,
        tip: Oid,
        tree: Oid,
        release: &Release,
    ) -> Result<Hooks<'c>> {
        let log = new_log(ctx, &release.tag)?;
        let folder = hook_folder(ctx, tip)?;
        let env = process::hook_env(
            h,
            tip,
            tree,
            Some((&release.tag, &release.version.to_string())),
            ctx.repo.workdir()?,
        );
        Ok(Hooks { folder, env, log })
    }

    fn hook(&self, label: &str, command: &str) -> Hook {
        let mut hook = Hook::new(label, command, self.folder.path().to_path_buf());
        hook.env = self.env.clone();
        hook.log = Some(self.log.clone());
        hook
    }

    fn rollback(&self, cfg: &config::Deploy) -> Hook {
        self.hook("rollback", &cfg.rollback)
    }
}

/// The deploy record as the deploy command starts: saved before it runs, so a killed run is
/// known to have possibly changed production.
fn started(tip: Oid, tree: Oid, release: &Release, hooks: &Hooks) -> DeployRecord {
    DeployRecord {
        tree: tree.to_string(),
        commit: tip.to_string(),
        tag: release.tag.clone(),
        version: release.version.to_string(),
        phase: DeployPhase::Deploying,
        started_at: jiff::Timestamp::now(),
        finished_at: None,
        log: hooks.log.display().to_string(),
        failure: None,
        push_pending: false,
        reserved_on: release.remote.clone(),
        local_only: false,
    }
}

/// Runs the deploy command: from here on production may have changed.
fn deploy_hooks(
    ctx: &Ctx,
    h: &Hotfix,
    tip: Oid,
    release: &Release,
    hooks: &Hooks,
    rec: &mut DeployRecord,
    room: &mut Room,
) -> Result<()> {
    let tag = &release.tag;
    ctx.ui.status(format!("Deploying {} as {tag}…", short(tip)));
    let outcome = process::run(ctx.ui, &hooks.hook("deploy", &release.cfg.command));
    // From here on production may have changed: the writes that record it get the room set
    // aside, and any that still fails says so.
    room.give_one_back();
    let outcome = outcome.map_err(changed(tag, "running it to its end"))?;
    if outcome.interrupted {
        rec.failure = Some("interrupted during the deploy command".into());
        save(ctx, &h.branch, rec).map_err(changed(tag, "recording the interruption"))?;
        return Err(Refusal::Interrupted.into());
    }
    if !outcome.success() {
        return Err(failed(
            ctx,
            h,
            rec,
            &hooks.rollback(&release.cfg),
            format!("the deploy command failed ({})", outcome.describe(None)),
        ));
    }
    fault::point("deploy-after-command");
    rec.phase = DeployPhase::Verifying;
    save(ctx, &h.branch, rec).map_err(changed(tag, "recording that it ran"))
}

/// Runs the verify command, retried with a backoff; rolls back when it never passes.
fn verify(
    ctx: &Ctx,
    h: &Hotfix,
    release: &Release,
    hooks: &Hooks,
    rec: &mut DeployRecord,
) -> Result<()> {
    let cfg = &release.cfg;
    if cfg.verify.trim().is_empty() {
        ctx.ui
            .warn("no verify command is configured (deploy.verify): production was not checked");
        return Ok(());
    }
    let attempts = cfg.verify_retries.saturating_add(1);
    for attempt in 1..=attempts {
        let outcome = process::run(ctx.ui, &hooks.hook("verify", &cfg.verify))?;
        if outcome.interrupted {
            rec.failure = Some("interrupted during verify".into());
            save(ctx, &h.branch, rec)?;
            return Err(Refusal::Interrupted.into());
        }
        if outcome.success() {
            return Ok(());
        }
        if attempt < attempts {
            let wait = backoff(attempt);
            ctx.ui.status(format!(
                "verify failed ({}); retrying in {} (attempt {} of {attempts})",
                outcome.describe(None),
                process::human_duration(wait),
                attempt + 1
            ));
            std::thread::sleep(wait);
        }
    }
    Err(failed(
        ctx,
        h,
        rec,
        &hooks.rollback(cfg),
        format!(
            "verify failed {attempts} time{}",
            if attempts == 1 { "" } else { "s" }
        ),
    ))
}

/// The hooks ran on the export, so what ran is the tree the gates passed. But a branch that
/// moved meanwhile (a commit made by hand, or by a hook in $HOTFIX_REPO_ROOT) would be
/// merged back with a commit no gate saw: no tag for that.
fn check_head_unmoved(
    ctx: &Ctx,
    h: &Hotfix,
    tip: Oid,
    release: &Release,
    hooks: &Hooks,
    rec: &mut DeployRecord,
) -> Result<()> {
    let still = matches!(ctx.repo.head()?, Head::Branch(ref b, at) if *b == h.branch && at == tip);
    if still {
        return Ok(());
    }
    Err(failed(
        ctx,
        h,
        rec,
        &hooks.rollback(&release.cfg),
        "HEAD moved during the deploy; the hotfix branch is no longer the tree that was checked"
            .to_string(),
    ))
}

/// The release tag, carrying the release record, on the verified commit.
fn tag_release(
    ctx: &Ctx,
    h: &Hotfix,
    tip: Oid,
    tree: Oid,
    release: &Release,
    rec: &mut DeployRecord,
) -> Result<ReleaseRecord> {
    let tag = &release.tag;
    let record = build_record(ctx, h, tip, tree, tag, &release.version.to_string())
        .map_err(changed(tag, "reading the release record"))?;
    fault::point("deploy-before-tag");
    ctx.repo
        .create_annotated_tag(tag, tip, &record.tag_message()?)
        .map_err(changed(tag, "making the tag (verify passed)"))?;
    fault::point("deploy-after-tag-before-state");
    rec.phase = DeployPhase::Tagged;
    rec.push_pending = release.remote.is_some();
    save(ctx, &h.branch, rec).map_err(changed(tag, "recording the tag"))?;
    ctx.ui
        .status(format!("Verified and tagged {tag} on {}.", short(tip)));
    fault::point("deploy-after-tag");
    Ok(record)
}

/// The steps after the tag: production branch, push, notify. Each is safe to run again.
/// `tip` is the tagged commit as the tag object names it, never a value read from the record.
fn after_tag(
    ctx: &Ctx,
    h: &Hotfix,
    cfg: &config::Deploy,
    tip: Oid,
    record: &ReleaseRecord,
    remote: Option<&str>,
) -> Result<()> {
    let repo = &ctx.repo;
    let production = &h.policy.branches.production;
    if !production.is_empty() {
        match repo.branch_tip(production)? {
            Some(p) if p == tip => {}
            Some(_) => {
                repo.fast_forward_branch(
                    production,
                    tip,
                    &format!("hotfix: release {}", record.tag),
                )
                .map_err(changed(&record.tag, "moving the production branch"))?;
                ctx.ui
                    .status(format!("Fast-forwarded {production} to {}.", record.tag));
            }
            None => {
                let remote = repo.remote_for(Some(&h.branch))?;
                let on_remote = match &remote {
                    Some(r) => repo.remote_branch_tip(&format!("{r}/{production}"))?,
                    None => None,
                };
                match on_remote {
                    // Only on the remote (a fresh clone): made here at the release, which was
                    // checked to be a fast-forward of the remote's before anything ran.
                    Some(_) => {
                        repo.create_branch(production, tip)?;
                        ctx.ui.status(format!(
                            "Set {production} to {} (it was only on the remote).",
                            record.tag
                        ));
                    }
                    None => ctx.ui.warn(format!(
                        "the production branch {production} does not exist; not moved"
                    )),
                }
            }
        }
    }
    match remote {
        Some(remote) => push_release(ctx, h, record, remote)?,
        None => keep_local(ctx, h, record)?,
    }
    let notify = &cfg.notify;
    // Kept until the release is recorded: removing the folder is tidying up, and comes after
    // what records the release (it frees space a full disk would otherwise lack only then).
    let mut notify_folder = None;
    if !notify.trim().is_empty() {
        let folder = notify_folder.insert(hook_folder(ctx, tip)?);
        let mut hook = Hook::new("notify", notify.as_str(), folder.path().to_path_buf());
        hook.env = process::hook_env(
            h,
            tip,
            repo.tree_of(tip)?,
            Some((&record.tag, &record.version)),
            repo.workdir()?,
        );
        hook.stdin = Some(serde_json::to_vec_pretty(record)?);
        hook.timeout = Some(Duration::from_secs(120));
        match process::run(ctx.ui, &hook) {
            Ok(o) if o.success() => {}
            Ok(o) => ctx.ui.warn(format!(
                "notify failed ({}); the release stands",
                o.describe(hook.timeout)
            )),
            Err(e) => ctx
                .ui
                .warn(format!("notify could not run ({e:#}); the release stands")),
        }
    }
    ctx.store
        .update(|s| {
            if let Some(d) = s
                .hotfixes
                .get_mut(&h.branch)
                .and_then(|e| e.deploy.as_mut())
            {
                d.phase = DeployPhase::Released;
                d.finished_at = Some(jiff::Timestamp::now());
            }
            Ok(())
        })
        .map_err(changed(&record.tag, "recording the release"))?;
    drop(notify_folder);
    ctx.ui.status(format!("Released {}.", record.tag));
    Ok(())
}

/// Pushes the tag (and the production branch where one is configured). A push the remote
/// refuses is an error: production runs the release, and the team must not be told it is done
/// while only this clone has it. The state stays `tagged` with the push due, so `hotfix deploy`
/// again pushes (and notifies) without deploying again.
fn push_release(ctx: &Ctx, h: &Hotfix, record: &ReleaseRecord, remote: &str) -> Result<()> {
    let repo = &ctx.repo;
    let production = &h.policy.branches.production;
    let tag_ref = format!("refs/tags/{0}:refs/tags/{0}", record.tag);
    let prod_ref = format!("refs/heads/{0}:refs/heads/{0}", production);
    let mut refs = vec![tag_ref.as_str()];
    if !production.is_empty() && repo.branch_tip(production)?.is_some() {
        refs.push(prod_ref.as_str());
    }
    if let Err(e) = repo.push(remote, &refs) {
        return Err(Refusal::gate(format!(
            "production runs {tag} (deployed, verified and tagged here), but the push to {remote} failed: {e:#}; the team does not see the release yet",
            tag = record.tag
        ))
        .hint(format!(
            "fix the cause, then `hotfix deploy` again: it pushes and notifies without deploying again (by hand: `git push {} {}`)",
            shell_word(remote),
            refs.iter().map(|r| shell_word(r).into_owned()).collect::<Vec<_>>().join(" ")
        ))
        .into());
    }
    ctx.ui.status(format!("Pushed {} to {remote}.", record.tag));
    reserve::forget_local_only(repo, &record.tag);
    ctx.store
        .update(|s| {
            if let Some(d) = s
                .hotfixes
                .get_mut(&h.branch)
                .and_then(|e| e.deploy.as_mut())
            {
                d.push_pending = false;
                d.local_only = false;
            }
            Ok(())
        })
        .map_err(changed(&record.tag, "recording the push"))
}

/// `--no-push` or `--offline` with a remote: the release stays here, and every later `status`
/// and `list` says so until it is pushed. (No remote at all: nothing to share it with.)
fn keep_local(ctx: &Ctx, h: &Hotfix, record: &ReleaseRecord) -> Result<()> {
    let repo = &ctx.repo;
    let Some(remote) = repo.remote_for(Some(&h.branch))? else {
        return Ok(());
    };
    reserve::mark_local_only(repo, &record.tag).map_err(changed(
        &record.tag,
        "marking the release as only in this clone",
    ))?;
    ctx.store
        .update(|s| {
            if let Some(d) = s
                .hotfixes
                .get_mut(&h.branch)
                .and_then(|e| e.deploy.as_mut())
            {
                d.push_pending = false;
                d.local_only = true;
            }
            Ok(())
        })
        .map_err(changed(&record.tag, "recording the release"))?;
    ctx.ui.warn(format!(
        "{} is only in this clone (not pushed to {remote}); share it with `git push {} {}`",
        record.tag,
        shell_word(&remote),
        shell_word(&record.tag)
    ));
    Ok(())
}

/// The remote the release goes to: `None` when it stays in this clone (`--no-push`,
/// `--offline`) or there is no remote.
fn release_remote(ctx: &Ctx, h: &Hotfix, opts: &Options) -> Result<Option<String>> {
    if !opts.push || ctx.repo.is_offline() {
        return Ok(None);
    }
    ctx.repo.remote_for(Some(&h.branch))
}

/// The folder the deploy hooks run in: `tip`'s tree exported into a temporary folder (see
/// [`Repo::temp_checkout`]), never the working tree, where an edit hidden from `git status`
/// (`update-index --skip-worktree`), an ignored file or a symlink's target could ship in
/// place of the tree the gates passed. Removed when dropped; what the hooks start there is
/// left running.
fn hook_folder<'c>(ctx: &'c Ctx<'_>, tip: Oid) -> Result<crate::git::TempCheckout<'c>> {
    let mut folder = ctx.repo.temp_checkout(tip)?;
    folder.leave_processes_running()?;
    ctx.ui
        .verbose(format!("the hooks run in {}", folder.path().display()));
    Ok(folder)
}

/// The sentence for a release that is only in this clone (`--no-push`, or a push that failed).
pub fn unpushed(repo: &Repo, h: &Hotfix, d: &DeployRecord) -> String {
    let remote = repo
        .remote_for(Some(&h.branch))
        .ok()
        .flatten()
        .unwrap_or_else(|| "origin".into());
    let production = &h.policy.branches.production;
    let refs = if production.is_empty() {
        shell_word(&d.tag).into_owned()
    } else {
        format!("{} {}", shell_word(&d.tag), shell_word(production))
    };
    format!(
        "{} is only in this clone (not pushed to {remote}); share it with `git push {} {refs}`",
        d.tag,
        shell_word(&remote)
    )
}

/// What `status` says about the deploy of `h` for `tree` (the branch tip's): the step, a
/// sentence on what happened and the command that moves on. `None` when no deploy of this tree
/// was started, so the gates speak.
pub fn explain(
    repo: &Repo,
    h: &Hotfix,
    tree: Option<Oid>,
) -> Option<(Step, Option<String>, String)> {
    let d = h.deploy.as_ref()?;
    let same_tree = tree.is_some_and(|t| t.to_string() == d.tree);
    let started = d.started_at.strftime("%Y-%m-%d %H:%M UTC");
    let again = "hotfix deploy (it asks before deploying this tree again)".to_string();
    match phase(repo, d) {
        DeployPhase::Released if same_tree => Some((
            Step::MergeBack,
            (d.push_pending || d.local_only).then(|| unpushed(repo, h, d)),
            "hotfix merge-back".into(),
        )),
        DeployPhase::Released => Some((
            Step::MergeBack,
            Some(format!(
                "released as {} and the branch changed since; a further fix is a new hotfix",
                d.tag
            )),
            "hotfix merge-back".into(),
        )),
        DeployPhase::Tagged => {
            let mut left = Vec::new();
            if !h.policy.branches.production.is_empty() {
                left.push(format!("moving {}", h.policy.branches.production));
            }
            if d.push_pending {
                left.push("the push".to_string());
            }
            left.push("notify".to_string());
            let last = left.pop().unwrap_or_default();
            let what = if left.is_empty() {
                format!("{last} was done")
            } else {
                format!("{} and {last} were done", left.join(", "))
            };
            Some((
                Step::Deploy,
                Some(format!(
                    "{} is verified and tagged, but the run stopped before {what}",
                    d.tag
                )),
                "hotfix deploy (finishes the release without deploying again)".into(),
            ))
        }
        _ if !same_tree => None,
        DeployPhase::Failed => Some((
            Step::Deploy,
            Some(format!(
                "the deploy as {} failed: {}; log: {}",
                d.tag,
                d.failure.as_deref().unwrap_or("see the log"),
                d.log
            )),
            again,
        )),
        DeployPhase::Deploying => Some((
            Step::Deploy,
            Some(format!(
                "a deploy of this tree as {} (started {started}) was interrupted{}: the deploy command may have run in part or in whole; log: {}",
                d.tag,
                d.failure
                    .as_deref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default(),
                d.log
            )),
            again,
        )),
        DeployPhase::Verifying => Some((
            Step::Deploy,
            Some(format!(
                "this tree was deployed as {} (started {started}), and the run was interrupted during or right after verify, before the tag; log: {}",
                d.tag, d.log
            )),
            again,
        )),
    }
}

/// The phase of a deploy as the repository shows it: a run killed between making the release tag
/// and recording it left the state at deploying or verifying, but a tag of this name on this
/// commit, carrying the record of this tree, can only have been made after a verified deploy.
pub(crate) fn phase(repo: &Repo, d: &DeployRecord) -> DeployPhase {
    if !matches!(d.phase, DeployPhase::Deploying | DeployPhase::Verifying) {
        return d.phase;
    }
    let on_commit = repo
        .tag_commit(&d.tag)
        .ok()
        .flatten()
        .is_some_and(|c| c.to_string() == d.commit);
    let ours = on_commit
        && repo
            .tag_message(&d.tag)
            .ok()
            .flatten()
            .and_then(|m| ReleaseRecord::for_tag(&d.tag, &d.commit, &d.tree, &m))
            .is_some();
    if ours { DeployPhase::Tagged } else { d.phase }
}

/// Deploy or verify failed: rollback (if configured), no tag, the state says why. The error
/// to return: the refusal, or what kept the state from saying so.
fn failed(
    ctx: &Ctx,
    h: &Hotfix,
    rec: &mut DeployRecord,
    rollback: &Hook,
    why: String,
) -> anyhow::Error {
    let mut sentence = format!("{why}; no tag was made");
    if rollback.command.trim().is_empty() {
        ctx.ui.warn("no rollback command is configured (deploy.rollback): production may be in a half-deployed state");
        sentence.push_str(" and no rollback is configured");
        if let Some(remote) = &rec.reserved_on {
            sentence.push_str(&format!(
                "; {} stays reserved on {remote} for this hotfix",
                rec.tag
            ));
        }
    } else {
        ctx.ui.status("Rolling back…");
        match process::run(ctx.ui, rollback) {
            Ok(o) if o.interrupted => {
                sentence.push_str("; the rollback was interrupted");
                rec.phase = DeployPhase::Failed;
                rec.failure = Some(sentence);
                rec.finished_at = Some(jiff::Timestamp::now());
                if let Err(e) = save(ctx, &h.branch, rec) {
                    return e;
                }
                return Refusal::Interrupted.into();
            }
            Ok(o) if o.success() => {
                sentence.push_str("; rollback ran");
                sentence.push_str(&give_back(ctx, rec));
            }
            Ok(o) => {
                sentence.push_str(&format!("; the rollback failed too ({})", o.describe(None)))
            }
            Err(e) => sentence.push_str(&format!("; the rollback could not run ({e:#})")),
        }
    }
    rec.phase = DeployPhase::Failed;
    rec.failure = Some(sentence.clone());
    rec.finished_at = Some(jiff::Timestamp::now());
    if let Err(e) = save(ctx, &h.branch, rec) {
        return e;
    }
    Refusal::gate(sentence)
        .hint(format!(
            "the output is in {}; fix the cause, then `hotfix deploy` again",
            rec.log
        ))
        .into()
}

/// After a rollback, production is back where it was: the version is given back on the
/// remote, so this hotfix (or another) can take it again. When that fails the reservation stays
/// this hotfix's, which a retry of this hotfix reuses. The phrase says which.
fn give_back(ctx: &Ctx, rec: &DeployRecord) -> String {
    let Some(remote) = &rec.reserved_on else {
        return String::new();
    };
    let Some(mine) = reserve::held_here(ctx, &rec.tag) else {
        return String::new();
    };
    match reserve::release(ctx, remote, &rec.tag, mine) {
        Ok(()) => format!("; {} is free again on {remote}", rec.tag),
        Err(e) => format!(
            "; {} stays reserved on {remote} for this hotfix (could not give it back: {e:#})",
            rec.tag
        ),
    }
}

/// The error of a write that failed after the deploy command ran: it says that production may
/// have changed, and what the next command does (`status` explains the state it left).
fn changed<'a>(tag: &'a str, doing: &'a str) -> impl FnOnce(anyhow::Error) -> anyhow::Error + 'a {
    move |e| {
        Refusal::usage(format!(
            "production may run {tag} now: the deploy command ran, but {doing} failed ({e:#})"
        ))
        .hint("free what is missing (disk space: `df .git`), then `hotfix status` says where the release stopped and `hotfix deploy` goes on from there (it asks before deploying again when it cannot know that verify passed)")
        .into()
    }
}

/// Room set aside on the disk of the git directory before the deploy command runs, given back
/// in two halves (after the command, before the tag), so that a disk the deploy filled still
/// has space for the state, the log, the tag and its ref. Files of a killed run are reused.
struct Room {
    parts: Vec<PathBuf>,
}

/// Each half: far more than the state file, a tag with its record and a ref need.
const ROOM_PART: usize = 512 * 1024;

impl Room {
    fn set_aside(ctx: &Ctx) -> Result<Room> {
        let dir = ctx.repo.common_dir().join("hotfix");
        let mut room = Room { parts: Vec::new() };
        for n in 1..=2 {
            let path = dir.join(format!("room-{n}"));
            let written = std::fs::File::create(&path).and_then(|mut f| {
                use std::io::Write;
                f.write_all(&vec![0u8; ROOM_PART])?;
                f.sync_all()
            });
            room.parts.push(path);
            if let Err(e) = written {
                return Err(Refusal::usage(format!(
                    "there is not enough space in {} to record the release after the deploy command ({e}); nothing was run",
                    dir.display()
                ))
                .hint("free some disk space, then deploy again")
                .into());
            }
        }
        Ok(room)
    }

    fn give_one_back(&mut self) {
        if !self.parts.is_empty() {
            let _ = std::fs::remove_file(self.parts.remove(0));
        }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        for p in &self.parts {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The one question before production, in a terminal: what ships (tree and commit), as which
/// version, and with which command. `--yes` answers it; without a terminal it is not asked,
/// so scripts and CI deploy as before.
fn last_question(ui: &crate::ui::Ui, tip: Oid, tree: Oid, tag: &str, command: &str) -> Result<()> {
    if !ui.can_prompt() {
        return Ok(());
    }
    // what ships on a line of its own: a prompt wider than the terminal is redrawn badly
    if !ui.yes {
        ui.status(format!(
            "Ready to deploy tree {} (commit {}) as {tag}, running `{}`.",
            short(tree),
            short(tip),
            command.trim()
        ));
    }
    if ui.confirm(&format!("Deploy {tag} to production now?"), "--yes")? {
        return Ok(());
    }
    Err(Refusal::gate(format!(
        "{tag} was not deployed: the answer was no; nothing was run"
    ))
    .hint("run `hotfix deploy` again when it is time")
    .into())
}

/// The `[deploy]` policy of this hotfix. The snapshot taken at `start` rules; but an empty
/// command there is no deploy policy at all, so the hooks of the committed hotfix.toml are used
/// (deploy needs a clean tree, so that is the file in the tree that was reviewed and tested).
fn deploy_policy(ctx: &Ctx, h: &Hotfix) -> Result<config::Deploy> {
    if !h.policy.deploy.command.trim().is_empty() {
        return Ok(h.policy.deploy.clone());
    }
    // the team's policy on the development branch, never the hotfix branch's: a fix must not
    // choose how (or whether) production is verified
    let (dev, team) = crate::steps::team_policy(ctx, h, "deploy command")?;
    if team.deploy.command.trim().is_empty() {
        return Err(Refusal::gate("no deploy command is configured for this hotfix (deploy.command is empty)")
            .hint(format!("set deploy.command in hotfix.toml and push it to {dev} (it runs with the HOTFIX_* variables in its environment); nothing was run"))
            .into());
    }
    ctx.ui.status(format!(
        "this hotfix's policy (taken at start) has no deploy command; using [deploy] committed on {dev}"
    ));
    Ok(team.deploy)
}

/// The new tag and version: `--version`, or the base version with the patch number raised.
fn new_version(ctx: &Ctx, h: &Hotfix, given: Option<&str>) -> Result<(String, semver::Version)> {
    let release = &h.policy.release;
    let version = match given {
        Some(v) => semver::Version::parse(v.trim_start_matches('v'))
            .map_err(|_| Refusal::usage(format!("`{v}` is not a semantic version (like 1.4.2)")))?,
        None if h.version.is_some() => {
            let v = h.version.as_deref().unwrap_or_default();
            semver::Version::parse(v).map_err(|_| {
                Refusal::usage(format!(
                    "the hotfix's version `{v}` is not a semantic version"
                ))
                .hint("name the new version: `hotfix deploy --version <x.y.z>`")
            })?
        }
        None => {
            let base = h
                .base_tag
                .as_deref()
                .and_then(|t| version::version_of(t, &release.tag_pattern))
                .ok_or_else(|| {
                    Refusal::usage("the base of this hotfix is not a release tag, so there is no version to raise")
                        .hint("name the new version: `hotfix deploy --version <x.y.z>`")
                })?;
            version::next_patch(&base)
        }
    };
    let tag = version::format_tag(&release.tag_format, &version);
    if ctx.repo.tag_exists(&tag)? {
        return Err(Refusal::usage(format!(
            "the tag {tag} already exists, so this release cannot take that name"
        ))
        .hint("name the new version: `hotfix deploy --version <x.y.z>`")
        .into());
    }
    Ok((tag, version))
}

/// Refuses a tree whose version files do not say `version`, the version the tag names: the
/// release would ship one version and say another.
fn check_version_files(ctx: &Ctx, h: &Hotfix, tip: Oid, version: &semver::Version) -> Result<()> {
    let Some(bump) = &h.bump else {
        return Ok(());
    };
    let want = version.to_string();
    let found = bump
        .files
        .iter()
        .map(|f| crate::version_files::read_at(&ctx.repo, tip, f))
        .collect::<Result<Vec<Option<String>>>>()?;
    let wrong: Vec<String> = bump
        .files
        .iter()
        .zip(&found)
        .filter(|(_, v)| v.as_deref() != Some(want.as_str()))
        .map(|(f, v)| format!("{} says {}", f.path, v.as_deref().unwrap_or("no version")))
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    // every file says one other version: that version can be released as it is
    let says = found.first().cloned().flatten();
    let hint = match says {
        Some(v) if found.iter().all(|f| f.as_deref() == Some(v.as_str())) => {
            format!(
                "release the version the files say: `hotfix deploy --version {v}`; or set {want} in {} and commit it; nothing was run",
                bump.paths()
            )
        }
        _ => format!(
            "set the version {want} in {} and commit it (the gates then judge the new tree); nothing was run",
            bump.paths()
        ),
    };
    Err(Refusal::gate(format!(
        "deploy refused: the tag would say {want}, but {}",
        wrong.join(", ")
    ))
    .hint(hint)
    .into())
}

/// The release record for the tag (SPEC promise 6).
fn build_record(
    ctx: &Ctx,
    h: &Hotfix,
    tip: Oid,
    tree: Oid,
    tag: &str,
    version: &str,
) -> Result<ReleaseRecord> {
    let repo = &ctx.repo;
    let base = Oid::from_str(&h.base_commit)?;
    let report = guard::analyze_hotfix(repo, h, tip)?;
    let approvers = if h.policy.review.via == config::ReviewVia::Forge {
        steps::forge_gates::record_approvers(ctx, h, tip, tree)?
    } else {
        review::approvals_for(ctx, h, tree, false)?
            .into_iter()
            .map(|c| record::Approver {
                signed_by: c.signer.map(|s| record::SignedBy {
                    principal: c.approval.reviewer_email.clone(),
                    key: s.key,
                }),
                name: c.approval.reviewer_name,
                email: c.approval.reviewer_email,
                approved_at: c.approval.approved_at,
                login: None,
                url: None,
                commit: None,
                shown: c.approval.shown.map(|s| s.as_str().to_string()),
            })
            .collect()
    };
    let signed_commits = match review::authors(ctx, h, tip)?.signed() {
        Some(fix) => fix
            .signers()
            .map(|(c, s)| record::CommitSigned {
                commit: c.id.to_string(),
                principals: s.principals.clone(),
                key: s.key.clone(),
            })
            .collect(),
        None => Vec::new(),
    };
    let tree_s = tree.to_string();
    let test = if h.policy.test.via == config::TestVia::Forge {
        steps::forge_gates::record_test(ctx, h, tip)?
    } else {
        h.tests
            .as_ref()
            .filter(|t| t.tree == tree_s)
            .map(|t| record::TestResult {
                passed: t.passed,
                duration_ms: t.duration_ms,
                exit_code: t.exit_code,
                checks: Vec::new(),
            })
    };
    let overrides = h
        .overrides
        .iter()
        .filter(|o| o.tree == tree_s)
        .map(|o| record::OverrideUsed {
            gate: o.gate.clone(),
            reason: o.reason.clone(),
            by: record::Person {
                name: o.by_name.clone(),
                email: o.by_email.clone(),
            },
            at: o.at,
        })
        .collect();
    let mut commits: Vec<String> = repo
        .commit_ids_between(Some(base), tip)?
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    commits.reverse();
    // the bump commit, while it is still the first commit of the branch as `start` made it
    let version_bump = h
        .bump_commit()
        .filter(|c| commits.first().map(String::as_str) == Some(*c))
        .map(str::to_string);
    Ok(ReleaseRecord {
        schema: record::SCHEMA,
        tag: tag.to_string(),
        version: version.to_string(),
        name: h.name.clone(),
        branch: h.branch.clone(),
        base_tag: h.base_tag.clone(),
        base_commit: h.base_commit.clone(),
        commit: tip.to_string(),
        tree: tree_s,
        commits,
        version_bump,
        severity: h.severity.clone(),
        summary: h.summary.clone(),
        author: record::Person {
            name: h.author_name.clone(),
            email: h.author_email.clone(),
        },
        approvers,
        signed_commits,
        test,
        diff: record::DiffSize {
            files: report.totals.files,
            lines: report.totals.lines,
            flags: report
                .flags
                .iter()
                .map(|f| match f.line {
                    Some(l) => format!("{}:{l}: {}", f.path, f.kind.as_str()),
                    None => format!("{}: {}", f.path, f.kind.as_str()),
                })
                .collect(),
        },
        overrides,
        started_at: h.started_at,
        detected_at: h.detected_at,
        deployed_at: jiff::Timestamp::now(),
    })
}

/// The release a deploy killed after its tag made, for the steps that remain: the commit
/// comes from the tag object and must be the one the state says this deploy tagged, its tree
/// the deploy's tree, and the record must name that tag, commit and tree. A tag of that name
/// made or moved by hand, or a record forged into one, moves nothing. The gates are judged
/// again for that tree, so a deploy record written into the state by hand ships nothing the
/// gates did not pass.
fn tagged_release(ctx: &Ctx, h: &Hotfix, d: &DeployRecord) -> Result<(Oid, ReleaseRecord)> {
    let repo = &ctx.repo;
    let tag = &d.tag;
    let refuse = |why: String| -> anyhow::Error {
        Refusal::gate(format!(
            "finishing the release {tag} refused: {why}; nothing was moved, pushed or notified"
        ))
        .hint(format!(
            "look at it with `git show {}`; if the tag was made or moved by hand, delete it (`git tag -d {}`) and deploy again",
            shell_word(tag),
            shell_word(tag)
        ))
        .into()
    };
    let Some(commit) = repo.tag_commit(tag)? else {
        return Err(refuse(format!(
            "the tag {tag} that this deploy made is gone"
        )));
    };
    if commit.to_string() != d.commit {
        return Err(refuse(format!(
            "the tag {tag} points at {}, not at {}, the commit this deploy tagged",
            short(commit),
            Oid::from_str(&d.commit).map_or_else(|_| d.commit.clone(), short)
        )));
    }
    let tree = repo.tree_of(commit)?;
    if tree.to_string() != d.tree {
        return Err(refuse(format!(
            "the tagged commit's tree {} is not the tree this deploy shipped",
            short(tree)
        )));
    }
    let message = repo.tag_message(tag)?.unwrap_or_default();
    let record = ReleaseRecord::for_tag(tag, &d.commit, &d.tree, &message)
        .filter(|r| r.branch == h.branch && r.base_commit == h.base_commit)
        .ok_or_else(|| {
            refuse(format!(
                "the tag {tag} does not carry the release record of this hotfix's commit {}",
                short(commit)
            ))
        })?;
    let failing: Vec<String> = steps::evaluate_gates(ctx, h, commit, tree)?
        .into_iter()
        .filter(|g| !g.passed)
        .map(|g| format!("{} ({})", g.gate, g.reason))
        .collect();
    if !failing.is_empty() {
        return Err(Refusal::gate(format!(
            "finishing the release {tag} refused: the gates do not pass for the tagged tree {}: {}; nothing was moved, pushed or notified",
            short(tree),
            failing.join("; ")
        ))
        .hint("`hotfix status` says what each gate needs; once they pass, `hotfix deploy` finishes the release without deploying again")
        .into());
    }
    Ok((commit, record))
}

/// 1s, 2s, 4s, … at most 30s between verify attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((1u64 << (attempt - 1).min(5)).min(30))
}

fn new_log(ctx: &Ctx, tag: &str) -> Result<PathBuf> {
    let dir = ctx.repo.common_dir().join("hotfix").join("logs");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let safe: String = tag
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(dir.join(format!(
        "deploy-{safe}-{}.log",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
    )))
}

/// The hotfix entry as the state file has it now.
pub(crate) fn reload(ctx: &Ctx, branch: &str) -> Result<Hotfix> {
    ctx.store
        .read()?
        .hotfixes
        .get(branch)
        .cloned()
        .ok_or_else(|| Refusal::usage(format!("{branch} is no longer in progress")).into())
}

/// Only `run` writes a deploy record, and it holds the deploy lock throughout, so the record
/// replaced here is this run's own (or one a killed run left), never a live run's.
fn save(ctx: &Ctx, branch: &str, rec: &DeployRecord) -> Result<()> {
    ctx.store.update(|s| {
        let e = s
            .hotfixes
            .get_mut(branch)
            .ok_or_else(|| Refusal::usage(format!("{branch} is no longer in progress")))?;
        e.deploy = Some(rec.clone());
        Ok(())
    })
}

/// The exclusive deploy lock of this repository (shared by its worktrees), or a refusal when
/// another deploy holds it. Released when the file is dropped, or by the kernel when the
/// process dies, so a killed deploy never leaves it stuck.
fn deploy_lock(repo: &Repo) -> Result<std::fs::File> {
    let dir = repo.common_dir().join("hotfix");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let path = dir.join("deploy.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Refusal::usage(format!(
            "a deploy is already running in this repository ({})",
            path.display()
        ))
        .hint("wait for it to finish, then run the command again; nothing was run")
        .into()),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("could not lock {}", path.display())))
        }
    }
}

#[cfg(test)]
mod last_question_tests {
    use super::last_question;
    use crate::error::Refusal;
    use crate::git::Oid;
    use crate::ui::Ui;

    fn oid(hex: char) -> Oid {
        Oid::from_str(&hex.to_string().repeat(40)).unwrap()
    }

    #[test]
    fn yes_deploys_and_no_runs_nothing() {
        assert!(
            last_question(
                &Ui::scripted(&["y"]),
                oid('a'),
                oid('b'),
                "v1.2.1",
                "./deploy.sh"
            )
            .is_ok()
        );
        let err = last_question(
            &Ui::scripted(&["n"]),
            oid('a'),
            oid('b'),
            "v1.2.1",
            "./deploy.sh",
        )
        .unwrap_err();
        let refusal = err.downcast_ref::<Refusal>().expect("a refusal");
        assert_eq!(refusal.exit_code(), crate::error::EXIT_GATE);
        assert_eq!(
            err.to_string(),
            "v1.2.1 was not deployed: the answer was no; nothing was run"
        );
    }

    #[test]
    fn yes_answers_it() {
        let mut ui = Ui::scripted(&[]);
        ui.yes = true;
        assert!(last_question(&ui, oid('a'), oid('b'), "v1.2.1", "./deploy.sh").is_ok());
    }

    #[test]
    fn without_a_terminal_it_is_not_asked() {
        let args = crate::cli::GlobalArgs {
            chdir: None,
            yes: false,
            non_interactive: true,
            json: false,
            color: crate::cli::ColorChoice::Never,
            quiet: true,
            verbose: 0,
            offline: false,
        };
        let ui = Ui::from_args(&args);
        assert!(last_question(&ui, oid('a'), oid('b'), "v1.2.1", "./deploy.sh").is_ok());
    }
}
