//! `hotfix merge-back`: the released fix goes into the development branch and every open
//! release line, so the next regular release does not bring the bug back (SPEC promise 4).

use anyhow::{Context, Result};

use crate::app::Ctx;
use crate::cli::MergeBackArgs;
use crate::error::Refusal;
use crate::git::merge::MergeOutcome;
use crate::git::{Head, Oid, Repo, short};
use crate::state::{CurrentMerge, DeployPhase, Hotfix, MergeBackRecord};
use crate::steps::Step;
use crate::ui::shell_word;

pub fn merge_back(ctx: &Ctx, args: &MergeBackArgs) -> Result<()> {
    let state = ctx.store.read()?;
    // before anything is recorded: a merge-back that cannot write the index must not begin
    ctx.require_index_free("merge-back")?;
    let in_progress = state
        .hotfixes
        .values()
        .find(|h| h.merge_back.as_ref().is_some_and(|m| m.current.is_some()))
        .cloned();
    if args.abort {
        let h = in_progress.ok_or_else(|| {
            Refusal::usage("no merge-back is stopped on a conflict; there is nothing to abort")
        })?;
        return abort(ctx, &h);
    }
    if args.r#continue {
        let h = in_progress.ok_or_else(|| {
            Refusal::usage("no merge-back is stopped on a conflict; there is nothing to continue")
                .hint("run `hotfix merge-back` to start one")
        })?;
        let h = continue_current(ctx, &h, false)?;
        return run_targets(ctx, &h);
    }
    if let Some(h) = in_progress {
        if our_merge_head(ctx, &h, "`hotfix merge-back`")?.is_none() {
            ctx.repo.require_clean("merge-back")?;
            // Killed before the merge began, or the merge was committed by hand: the repository
            // says where it stands, and merge-back goes on from there.
            let h = continue_current(ctx, &h, true)?;
            return run_targets(ctx, &h);
        }
        let cur = h
            .merge_back
            .as_ref()
            .and_then(|m| m.current.as_ref())
            .expect("checked above");
        return Err(Refusal::usage(format!(
            "the merge of {} into {} is stopped on conflicts",
            h.branch, cur.target
        ))
        .hint("resolve and `git add` the files, then `hotfix merge-back --continue`, or `hotfix merge-back --abort`")
        .into());
    }
    let h = released_hotfix(ctx, &state)?;
    ctx.repo.require_clean("merge-back")?;
    // before anything is recorded: what is merged is what the release tag names
    tagged_commit(&ctx.repo, &h)?;
    if ctx.repo.operation_in_progress() {
        return Err(Refusal::usage(
            "git is in the middle of another operation (merge, rebase, cherry-pick)",
        )
        .hint("finish or abort it first; nothing was changed")
        .into());
    }
    let rec = match &h.merge_back {
        // Resumed after an interruption: the targets were chosen before.
        Some(rec) => rec.clone(),
        None => {
            fetch_targets(ctx, &h)?;
            let targets = targets(ctx, &h)?;
            catch_up(ctx, &targets)?;
            MergeBackRecord {
                tag: h.deploy.as_ref().map(|d| d.tag.clone()).unwrap_or_default(),
                targets,
                done: Vec::new(),
                current: None,
                via_branch: args.via_branch,
            }
        }
    };
    let h = save(ctx, &h.branch, |e| e.merge_back = Some(rec.clone()))?;
    run_targets(ctx, &h)
}

/// What `status` says about a merge-back under way: the step, a sentence and the command that
/// moves on. `None` before merge-back started. A run killed mid-target is judged by the
/// repository: the merge may not have begun, be half-made, or be committed but not recorded.
pub fn explain(repo: &Repo, h: &Hotfix) -> Option<(Step, Option<String>, String)> {
    let m = h.merge_back.as_ref()?;
    if let Some(c) = &m.current {
        if c.conflicts.is_empty() {
            let on_branch = matches!(repo.head(), Ok(Head::Branch(ref b, _)) if *b == c.branch);
            let ours = repo.merge_head().ok().flatten();
            if on_branch && ours.is_some() && ours == released_commit(h).ok() {
                let conflicts = repo.conflicted_paths().unwrap_or_default();
                let (what, next) = if conflicts.is_empty() {
                    (
                        "before the merge was committed".to_string(),
                        "hotfix merge-back --continue (or hotfix merge-back --abort)".to_string(),
                    )
                } else {
                    (
                        format!("with conflicts in {}", conflicts.join(", ")),
                        "resolve them, `git add` the files, then hotfix merge-back --continue (or hotfix merge-back --abort)".to_string(),
                    )
                };
                return Some((
                    Step::MergeBack,
                    Some(format!(
                        "the merge of {} into {} was interrupted {what}",
                        m.tag, c.target
                    )),
                    next,
                ));
            }
            let tip = repo.branch_tip(&c.branch).ok().flatten();
            let merged = match (tip, released_commit(h)) {
                (Some(t), Ok(fix)) => {
                    t.to_string() != c.before && repo.is_ancestor(fix, t).unwrap_or(false)
                }
                _ => false,
            };
            let what = if merged {
                "was made, but the run stopped before recording it"
            } else {
                "was interrupted before it began"
            };
            return Some((
                Step::MergeBack,
                Some(format!("the merge of {} into {} {what}", m.tag, c.target)),
                "hotfix merge-back".into(),
            ));
        }
        return Some((
            Step::MergeBack,
            Some(format!(
                "merging {} into {} stopped on conflicts in {}",
                m.tag,
                c.target,
                c.conflicts.join(", ")
            )),
            "resolve them, `git add` the files, then hotfix merge-back --continue (or hotfix merge-back --abort)".into(),
        ));
    }
    let left: Vec<&str> = m
        .targets
        .iter()
        .filter(|t| !m.done.contains(t))
        .map(String::as_str)
        .collect();
    let problem = if left.is_empty() {
        format!(
            "merge-back of {} merged every target and was interrupted before it finished",
            m.tag
        )
    } else {
        format!(
            "merge-back of {} was interrupted; still to merge into: {}",
            m.tag,
            left.join(", ")
        )
    };
    Some((Step::MergeBack, Some(problem), "hotfix merge-back".into()))
}

/// The hotfix to merge back: the one named by the checkout, else the only released one.
fn released_hotfix(ctx: &Ctx, state: &crate::state::State) -> Result<Hotfix> {
    let released: Vec<&Hotfix> = state
        .hotfixes
        .values()
        .filter(|h| {
            h.deploy
                .as_ref()
                .is_some_and(|d| d.phase == DeployPhase::Released)
        })
        .collect();
    if let Some(h) = ctx.current(state)? {
        if released.iter().any(|r| r.branch == h.branch) {
            return Ok(h.clone());
        }
        return Err(Refusal::gate(format!(
            "{} has not been released yet; merge-back takes the released fix",
            h.branch
        ))
        .hint("run `hotfix deploy` first (or `hotfix finish` for every remaining step)")
        .into());
    }
    match released.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(
            Refusal::usage("no released hotfix is waiting for merge-back")
                .hint("`hotfix status` shows the hotfixes in progress")
                .into(),
        ),
        many => Err(Refusal::usage(format!(
            "several released hotfixes wait for merge-back ({})",
            many.iter()
                .map(|h| h.branch.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint("`git switch` to the one to merge back, then run merge-back again")
        .into()),
    }
}

/// The development branch first, then every release line matching `also_merge_into` that
/// already contains the hotfix's base. A line cut before the base (an older release) is left
/// out with a warning: merging the fix there would bring the whole newer release with it.
/// The development branch is always a target, whatever its history.
pub fn targets(ctx: &Ctx, h: &Hotfix) -> Result<Vec<String>> {
    let dev = development_branch(ctx, h)?;
    let mut out = vec![dev.clone()];
    let skip = |name: &str| {
        name == dev
            || name == h.branch
            || name.starts_with(&h.policy.branches.prefix)
            || name.starts_with("merge-back/")
            || (!h.policy.branches.production.is_empty() && name == h.policy.branches.production)
    };
    let mut extra = Vec::new();
    for pattern in &h.policy.branches.also_merge_into {
        let glob = globset::Glob::new(pattern)
            .with_context(|| format!("invalid branch pattern {pattern}"))?
            .compile_matcher();
        for (name, _) in ctx.repo.branches_matching(&glob)? {
            if !skip(&name) && !extra.contains(&name) {
                extra.push(name);
            }
        }
    }
    extra.sort();
    let base = Oid::from_str(&h.base_commit)
        .with_context(|| format!("the hotfix's base commit {} is not valid", h.base_commit))?;
    let mut older = Vec::new();
    for name in extra {
        let tip = match ctx.repo.branch_tip(&name)? {
            Some(t) => Some(t),
            None => remote_tip(ctx, &name)?,
        };
        match tip {
            Some(t) if !ctx.repo.is_ancestor(base, t)? => older.push(name),
            _ => out.push(name),
        }
    }
    if !older.is_empty() {
        let range = match released_commit(h) {
            Ok(fix) => format!("{}..{}", short(base), short(fix)),
            Err(_) => format!("{}..{}", short(base), h.branch),
        };
        ctx.ui.warn(format!(
            "not merging into {}: {} not contain the hotfix's base {}, so a merge would bring in the whole newer release; to fix an older line, cherry-pick the fix there (`git cherry-pick {}`)",
            older.join(", "),
            if older.len() == 1 { "it does" } else { "they do" },
            short(base),
            shell_word(&range),
        ));
    }
    Ok(out)
}

/// Before a merge-back begins: what the team pushed since this clone last fetched, so the
/// merges land on top of it. A failure (offline) warns, and the branches here are used.
fn fetch_targets(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let dev = development_branch(ctx, h)?;
    let Some(remote) = ctx.repo.remote_for(Some(&dev))? else {
        return Ok(());
    };
    ctx.ui.verbose(format!("fetching {remote}"));
    if let Err(e) = ctx.repo.fetch(&remote, &[], false) {
        ctx.ui
            .warn(format!("{e:#}; merging into the branches as they are here"));
    }
    Ok(())
}

/// Fast-forwards each local target that is only behind its upstream (the remote-tracking
/// branch it follows) and is not checked out or being rebased anywhere (as `git pull` would,
/// with nothing to merge). A target checked out,
/// or with commits of its own, is left as it is, with a word about pulling before pushing.
fn catch_up(ctx: &Ctx, targets: &[String]) -> Result<()> {
    let repo = &ctx.repo;
    for t in targets {
        // a release line only on the remote gets a local branch at its tip later
        let Some(local) = repo.branch_tip(t)? else {
            continue;
        };
        // only the branch it is set to follow (`git pull`'s); none, nothing to catch up with
        let Some((tracking, theirs)) = repo.upstream_of(t)? else {
            continue;
        };
        if local == theirs || repo.is_ancestor(theirs, local)? {
            continue;
        }
        let behind = repo.count_commits(local, theirs)?;
        let plural = if behind == 1 { "" } else { "s" };
        if repo.is_ancestor(local, theirs)? && !repo.is_checked_out(t)? {
            repo.fast_forward_branch(
                t,
                theirs,
                &format!("hotfix merge-back: fast-forward to {tracking}"),
            )?;
            ctx.ui.status(format!(
                "Fast-forwarded {t} to {tracking} ({behind} new commit{plural}) before merging."
            ));
        } else {
            ctx.ui.warn(format!(
                "{t} lacks {behind} commit{plural} of {tracking}; merging into {t} as it is here, so pull before pushing it"
            ));
        }
    }
    Ok(())
}

/// The configured development branch (from the policy at start), else the detected one.
pub fn development_branch(ctx: &Ctx, h: &Hotfix) -> Result<String> {
    let configured = &h.policy.branches.development;
    if !configured.is_empty() {
        return Ok(configured.clone());
    }
    ctx.repo.detect_development()?.ok_or_else(|| {
        Refusal::usage("there is no development branch to merge back into")
            .hint("set branches.development in hotfix.toml")
            .into()
    })
}

/// The commit that was released: what every target receives.
fn released_commit(h: &Hotfix) -> Result<Oid> {
    let d = h
        .deploy
        .as_ref()
        .context("the hotfix has no deploy record")?;
    Ok(Oid::from_str(&d.commit)?)
}

/// The commit that was released, as the release tag names it: the state's deploy record is
/// not sealed, and a commit written into it by hand must not be merged (and proposed for
/// review, with `--via-branch`) as the released fix. The tag's commit must be the state's.
fn tagged_commit(repo: &Repo, h: &Hotfix) -> Result<Oid> {
    let commit = released_commit(h)?;
    let tag = h
        .deploy
        .as_ref()
        .map(|d| d.tag.as_str())
        .unwrap_or_default();
    match repo.tag_commit(tag)? {
        Some(tagged) if tagged == commit => Ok(commit),
        found => Err(Refusal::gate(format!(
            "merge-back refused: the state says {} was released as {tag}, but {}; nothing was merged",
            short(commit),
            match found {
                Some(t) => format!("the tag {tag} names {}", short(t)),
                None => format!("there is no tag {tag} here"),
            }
        ))
        .hint(format!(
            "merge-back merges only the commit the release tag names: `git show {}` shows it; if the state was edited by hand, put it back",
            shell_word(tag)
        ))
        .into()),
    }
}

fn merge_message(h: &Hotfix, tag: &str, target: &str) -> String {
    format!(
        "Merge hotfix {tag} ({}) into {target}\n\n{}",
        h.branch, h.summary
    )
}

fn via_branch_name(h: &Hotfix, target: &str) -> String {
    format!(
        "merge-back/{}-into-{}",
        h.name.replace('/', "-"),
        target.replace('/', "-")
    )
}

/// Merges into each remaining target in order; stops at the first conflict.
fn run_targets(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let repo = &ctx.repo;
    let ui = ctx.ui;
    let rec = h.merge_back.clone().context("merge-back has no record")?;
    let commit = tagged_commit(repo, h)?;
    for target in rec.targets.iter().filter(|t| !rec.done.contains(t)) {
        let tip = match repo.branch_tip(target)? {
            Some(t) => t,
            None => {
                // A release line that exists only on the remote gets a local branch.
                let remote = remote_tip(ctx, target)?;
                match remote {
                    Some(t) => {
                        repo.create_branch_at(target, t)?;
                        t
                    }
                    None => {
                        ui.warn(format!("{target} does not exist; skipping it"));
                        save(ctx, &h.branch, |e| mark_done(e, target))?;
                        continue;
                    }
                }
            }
        };
        if repo.is_ancestor(commit, tip)? {
            ui.status(format!("{target} already contains {}; skipped.", rec.tag));
            save(ctx, &h.branch, |e| mark_done(e, target))?;
            continue;
        }
        let branch = if rec.via_branch {
            let b = via_branch_name(h, target);
            if repo.branch_tip(&b)?.is_none() {
                repo.create_branch_at(&b, tip)?;
            }
            b
        } else {
            target.clone()
        };
        repo.switch(&branch)?;
        let before = repo.branch_tip(&branch)?.context("branch vanished")?;
        save(ctx, &h.branch, |e| {
            if let Some(m) = e.merge_back.as_mut() {
                m.current = Some(CurrentMerge {
                    target: target.clone(),
                    branch: branch.clone(),
                    before: before.to_string(),
                    conflicts: Vec::new(),
                });
            }
        })?;
        crate::fault::point("merge-back-before-merge");
        let message = merge_message(h, &rec.tag, target);
        let mut outcome = repo.merge_into_head(commit, &rec.tag, &message)?;
        if let MergeOutcome::Conflicts(_) = outcome {
            // a conflict only on the version lines is settled to the target's version
            keep_target_versions(ctx, h, target)?;
            let left = repo.conflicted_paths()?;
            if left.is_empty() {
                crate::fault::point("merge-back-before-commit");
                outcome = MergeOutcome::Committed(repo.commit_merge(&message)?);
            } else {
                outcome = MergeOutcome::Conflicts(left);
            }
        }
        match outcome {
            MergeOutcome::Conflicts(paths) => {
                save(ctx, &h.branch, |e| {
                    if let Some(c) = e.merge_back.as_mut().and_then(|m| m.current.as_mut()) {
                        c.conflicts = paths.clone();
                    }
                })?;
                return Err(Refusal::gate(format!(
                    "merging {} into {target} stopped on conflicts in {}",
                    rec.tag,
                    paths.join(", ")
                ))
                .hint("resolve them, `git add` the files, then run `hotfix merge-back --continue` (or `--abort` to restore the target)")
                .into());
            }
            MergeOutcome::AlreadyContained | MergeOutcome::Committed(_) => {}
        }
        crate::fault::point("merge-back-after-target");
        finish_target(ctx, h, target, &branch, rec.via_branch)?;
    }
    complete(ctx, h)
}

/// The merge rule for the version lines (SPEC "Version files"): in the merge in progress, each
/// version file of the hotfix whose conflict is confined to the lines the bump changed gets
/// the target's version, with every other change of the release to it merged, and is staged;
/// the merge then needs no extra commit. A file with any other conflict stays as git left it.
fn keep_target_versions(ctx: &Ctx, h: &Hotfix, target: &str) -> Result<()> {
    let Some(bump) = &h.bump else {
        return Ok(());
    };
    let repo = &ctx.repo;
    let mut kept: Vec<(String, Vec<String>)> = Vec::new();
    for c in repo.content_conflicts()? {
        let Some(file) = bump.files.iter().find(|f| f.path == c.path) else {
            continue;
        };
        let merged =
            crate::version_files::merge_keeping_ours(file, &c.base, &c.ours, &c.theirs, &bump.to);
        if let crate::version_files::Merged::Kept { content, kept: v } = merged {
            repo.resolve_conflict(&c.path, &content)?;
            match kept.iter_mut().find(|(k, _)| *k == v) {
                Some((_, paths)) => paths.push(c.path),
                None => kept.push((v, vec![c.path])),
            }
        }
    }
    for (version, mut paths) in kept {
        // in the order of the version files, manifest before lock
        paths.sort_by_key(|p| bump.files.iter().position(|f| f.path == *p));
        ctx.ui.status(format!(
            "Kept {target}'s version {version} in {} (the hotfix's bump to {} stays on the release).",
            paths.join(", "),
            bump.to
        ));
    }
    Ok(())
}

fn remote_tip(ctx: &Ctx, target: &str) -> Result<Option<Oid>> {
    for remote in ["origin"] {
        if let Some(t) = ctx.repo.remote_branch_tip(&format!("{remote}/{target}"))? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// After a target's merge commit exists: push the PR branch if asked, and mark it done.
fn finish_target(
    ctx: &Ctx,
    h: &Hotfix,
    target: &str,
    branch: &str,
    via_branch: bool,
) -> Result<()> {
    if via_branch {
        let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
        let pushed = match ctx.repo.remote_for(Some(branch))? {
            Some(remote) => ctx.repo.push(&remote, &[refspec.as_str()]).map(|()| remote),
            None => Err(anyhow::anyhow!("there is no remote")),
        };
        match pushed {
            Ok(remote) => {
                let tag = h.merge_back.as_ref().map(|m| m.tag.as_str()).unwrap_or_default();
                match crate::commands::propose::merge_back_request(ctx, h, tag, branch, target) {
                    Ok(Some((request, noun))) => {
                        ctx.ui.status(format!(
                            "Pushed {branch} to {remote}; {noun} #{} into {target}: {}",
                            request.number, request.url
                        ));
                        ctx.ui.data(&request.url);
                    }
                    Ok(None) => ctx.ui.status(format!(
                        "Pushed {branch} to {remote}: open a pull request from {branch} into {target}."
                    )),
                    // the merge and the push are done; only the request is left to the user
                    Err(e) => ctx.ui.warn(format!(
                        "pushed {branch} to {remote}, but could not open its request into {target}: {e:#}; open it on the forge"
                    )),
                }
            }
            Err(e) => ctx.ui.warn(format!(
                "could not push {branch} ({e:#}); push it yourself (`git push -u origin {}`) and open a pull request into {target}",
                shell_word(branch)
            )),
        }
    } else {
        ctx.ui.status(format!("Merged {} into {target}.", h.branch));
    }
    save(ctx, &h.branch, |e| mark_done(e, target))?;
    Ok(())
}

fn mark_done(e: &mut Hotfix, target: &str) {
    if let Some(m) = e.merge_back.as_mut() {
        if !m.done.iter().any(|d| d == target) {
            m.done.push(target.to_string());
        }
        m.current = None;
    }
}

/// Every target done: back to the development branch, the hotfix is finished.
fn complete(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let dev = development_branch(ctx, h)?;
    if ctx.repo.branch_tip(&dev)?.is_some()
        && !matches!(ctx.repo.head()?, Head::Branch(ref b, _) if *b == dev)
    {
        ctx.repo.switch(&dev)?;
    }
    let tag = h.deploy.as_ref().map(|d| d.tag.clone()).unwrap_or_default();
    crate::fault::point("merge-back-before-done");
    ctx.store.update(|s| {
        s.hotfixes.remove(&h.branch);
        Ok(())
    })?;
    if let Err(e) = crate::seal::unseal(&ctx.repo, &h.branch) {
        ctx.ui.warn(format!("{e:#}"));
    }
    if h.merge_back.as_ref().is_some_and(|m| m.via_branch) {
        ctx.ui.status(format!(
            "Hotfix {tag} is done here; the fix reaches its targets when the pull requests are merged (`hotfix verify-merged` checks {dev}). You are on {dev}."
        ));
    } else {
        ctx.ui.status(format!(
            "Hotfix {tag} is merged back and done; you are on {dev}."
        ));
    }
    if let Some(rec) = &h.merge_back
        && !rec.via_branch
        && let Some(remote) = ctx.repo.remote_for(Some(&dev))?
    {
        // The merges are local: the remote's branches (and CI's verify-merged) get them on push.
        let mut ahead = Vec::new();
        for t in &rec.targets {
            let local = ctx.repo.branch_tip(t)?;
            let theirs = ctx.repo.remote_branch_tip(&format!("{remote}/{t}"))?;
            if local.is_some() && theirs.is_some() && local != theirs {
                ahead.push(t.as_str());
            }
        }
        if !ahead.is_empty() {
            ctx.ui.status(format!(
                "Push the merges when ready: `git push {} {}`.",
                shell_word(&remote),
                ahead
                    .iter()
                    .map(|t| shell_word(t))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
    }
    if let Some(d) = h.deploy.as_ref().filter(|d| d.push_pending || d.local_only) {
        // the state entry is gone from here on: this is the last place that remembers it
        ctx.ui.warn(crate::steps::deploy::unpushed(&ctx.repo, h, d));
    }
    ctx.ui.status(format!(
        "Next: the post-incident review, `hotfix retro {}`.",
        shell_word(&tag)
    ));
    Ok(())
}

/// `--continue`: the user resolved and staged the conflicts; commit the merge. Also where a
/// plain `merge-back` goes when the merge in the record is no longer in progress (`again`): a
/// target the merge never reached, or one given up by hand, is merged again.
fn continue_current(ctx: &Ctx, h: &Hotfix, again: bool) -> Result<Hotfix> {
    let repo = &ctx.repo;
    let rec = h.merge_back.as_ref().context("merge-back has no record")?;
    let cur = rec.current.as_ref().context("no merge in progress")?;
    let commit = tagged_commit(repo, h)?;
    let forget_current = || {
        save(ctx, &h.branch, |e| {
            if let Some(m) = e.merge_back.as_mut() {
                m.current = None;
            }
        })
    };
    match our_merge_head(ctx, h, "`hotfix merge-back`")? {
        Some(_) => {
            match repo.head()? {
                Head::Branch(b, _) if b == cur.branch => {}
                _ => {
                    return Err(Refusal::usage(format!(
                        "the merge into {} is on {}, which is not checked out",
                        cur.target, cur.branch
                    ))
                    .hint(format!(
                        "`git switch {}`, then `hotfix merge-back --continue`",
                        shell_word(&cur.branch)
                    ))
                    .into());
                }
            }
            // an interrupted run may have stopped before it settled the version lines
            keep_target_versions(ctx, h, &cur.target)?;
            let left = repo.conflicted_paths()?;
            if !left.is_empty() {
                return Err(Refusal::gate(format!(
                    "conflicts are still unresolved in {}",
                    left.join(", ")
                ))
                .hint("edit the files, `git add` them, then `hotfix merge-back --continue`")
                .into());
            }
            let tip = repo.commit_merge(&merge_message(h, &rec.tag, &cur.target))?;
            if !repo.is_ancestor(commit, tip)? {
                return Err(Refusal::usage(format!(
                    "the merge committed on {} does not contain {}",
                    cur.branch, rec.tag
                ))
                .hint("check the branch with `git log`, then run `hotfix merge-back` to merge it again")
                .into());
            }
        }
        None => {
            // Committed (or given up) by hand: the repository decides.
            let tip = repo.branch_tip(&cur.branch)?.context("branch vanished")?;
            let untouched = cur.conflicts.is_empty() && tip.to_string() == cur.before;
            if !repo.is_ancestor(commit, tip)? {
                if again || untouched {
                    // Stopped before the merge was made, or given up: merge that target again.
                    return forget_current();
                }
                forget_current()?;
                return Err(Refusal::usage(format!(
                    "the merge into {} is no longer in progress and {} does not contain the fix",
                    cur.target, cur.branch
                ))
                .hint("run `hotfix merge-back` to merge it again")
                .into());
            }
        }
    }
    let (target, branch) = (cur.target.clone(), cur.branch.clone());
    finish_target(ctx, h, &target, &branch, rec.via_branch)?;
    let state = ctx.store.read()?;
    state
        .hotfixes
        .get(&h.branch)
        .cloned()
        .context("the hotfix vanished from the state")
}

/// `--abort`: the target back as it was before the merge.
fn abort(ctx: &Ctx, h: &Hotfix) -> Result<()> {
    let repo = &ctx.repo;
    let rec = h.merge_back.as_ref().context("merge-back has no record")?;
    let cur = rec.current.as_ref().context("no merge in progress")?;
    let on_branch = matches!(repo.head()?, Head::Branch(ref b, _) if *b == cur.branch);
    // Only the merge merge-back made is given up; someone else's is not ours to throw away.
    if our_merge_head(ctx, h, "`hotfix merge-back --abort` again")?.is_some() && on_branch {
        repo.abort_merge()?;
    }
    let before = Oid::from_str(&cur.before)?;
    let now = repo.branch_tip(&cur.branch)?;
    if now != Some(before) {
        ctx.ui.warn(format!(
            "{} moved since the merge started ({} → {}); it was left as it is",
            cur.branch,
            short(before),
            now.map(short).unwrap_or_default()
        ));
    }
    if rec.via_branch && now == Some(before) {
        // The PR branch was made by merge-back and holds nothing else.
        let back = cur.target.clone();
        if repo.branch_tip(&back)?.is_some() {
            repo.switch(&back)?;
            repo.delete_branch(&cur.branch)?;
        }
    }
    save(ctx, &h.branch, |e| e.merge_back = None)?;
    ctx.ui.status(format!(
        "Merge-back aborted; {} is as it was ({}). Run `hotfix merge-back` to try again.",
        cur.target,
        short(before)
    ));
    Ok(())
}

/// The merge in progress, when it is the merge of the released commit; `None` when no merge is
/// in progress. Any other merge (the user gave ours up with git and started their own) is
/// refused, naming `then` as the command to run once it is finished or aborted.
fn our_merge_head(ctx: &Ctx, h: &Hotfix, then: &str) -> Result<Option<Oid>> {
    let Some(merging) = ctx.repo.merge_head()? else {
        return Ok(None);
    };
    let commit = released_commit(h)?;
    if merging == commit {
        return Ok(Some(merging));
    }
    let tag = h
        .merge_back
        .as_ref()
        .map(|m| m.tag.clone())
        .unwrap_or_else(|| short(commit));
    let on = match ctx.repo.head()? {
        Head::Branch(b, _) => b,
        _ => "HEAD".to_string(),
    };
    Err(Refusal::usage(format!(
        "the merge in progress on {on} is not the merge of {tag}"
    ))
    .hint(format!("finish or abort it with git, then {then}"))
    .into())
}

/// Applies `change` to the hotfix's entry and returns the entry as saved.
fn save(ctx: &Ctx, branch: &str, change: impl FnOnce(&mut Hotfix)) -> Result<Hotfix> {
    ctx.store.update(|s| {
        let e = s
            .hotfixes
            .get_mut(branch)
            .ok_or_else(|| Refusal::usage(format!("{branch} is no longer in progress")))?;
        change(e);
        Ok(e.clone())
    })
}
