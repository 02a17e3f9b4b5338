//! `hotfix status`: the hotfix in progress, reconciled with the repository as it is now.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::app::Ctx;
use crate::git::{Head, Oid, short};
use crate::state::{Hotfix, Phase};
use crate::steps::{self, GateView, Step};
use crate::sync::{self, Freshness, Sharing};
use crate::ui::shell_word;

/// What `status` reports about one hotfix.
#[derive(Debug, Clone, Serialize)]
pub struct HotfixView {
    pub name: String,
    pub branch: String,
    pub base_tag: Option<String>,
    pub base_commit: String,
    pub head_commit: Option<String>,
    pub tree: Option<String>,
    pub commits: usize,
    pub checked_out: bool,
    pub severity: String,
    pub reproduced: bool,
    pub summary: String,
    pub author: String,
    pub started_at: jiff::Timestamp,
    pub step: Step,
    pub gates: Vec<GateView>,
    /// A sentence on anything that needs attention (an interrupted start, a deleted branch).
    pub problem: Option<String>,
    /// Whether the branch is on the remote, as of the last fetch (`None`: no remote).
    pub sharing: Option<Sharing>,
    /// Who signed each commit of the fix, when review.allowed_signers requires signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_commits: Option<Vec<SignedCommit>>,
    pub next: String,
}

/// One commit of the fix and the key that signed it (`None`: not signed by a listed key).
#[derive(Debug, Clone, Serialize)]
pub struct SignedCommit {
    pub commit: String,
    pub signer: Option<crate::signing::Signer>,
}

#[derive(Debug, Serialize)]
struct StatusJson<'a> {
    hotfix: Option<&'a HotfixView>,
    in_progress: Vec<&'a str>,
    /// A sentence on a `.git/index.lock` in the way of every command that writes the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    index_lock: Option<String>,
    /// What status knows of the remote: fetched now, or as of the last fetch.
    remote: Option<&'a Freshness>,
}

/// One look at the remote for the hotfix shown, within [`sync::STATUS_BOUND`] and not again
/// within [`sync::STATUS_WINDOW`]; after it, no other fetch of this run waits on the network
/// (the gates read what it brought), and the forge's requests, if any, get what is left of the
/// bound: the network costs status [`sync::STATUS_BOUND`] in all.
fn glance(ctx: &Ctx, h: &Hotfix) -> Result<Option<Freshness>> {
    let repo = &ctx.repo;
    repo.set_network_deadline(Instant::now() + sync::STATUS_BOUND);
    let remote = repo.remote_for(Some(&h.branch))?;
    let freshness = match remote {
        Some(remote) => {
            let mut extra = Vec::new();
            if sync::tracking_tip(repo, &remote, &h.branch)?.is_some() {
                extra.push(sync::tracking_refspec(&remote, &h.branch));
            }
            let (f, _) = sync::refresh(
                repo,
                &remote,
                &extra,
                sync::STATUS_BOUND,
                Some(sync::STATUS_WINDOW),
            )?;
            Some(f)
        }
        None => None,
    };
    // no other fetch in this run; the forge (if it judges a gate) gets what is left of the bound
    repo.spend_fetches();
    Ok(freshness)
}

pub fn status(ctx: &Ctx) -> Result<()> {
    let state = ctx.store.read()?;
    // The hotfix checked out; else one whose merge-back is under way (the user is then on a
    // target branch, not on the hotfix branch).
    let current = match ctx.current(&state)? {
        Some(h) => Some(h),
        None => state
            .hotfixes
            .values()
            .find(|h| h.merge_back.is_some() || h.rebase.is_some()),
    };
    let freshness = current.map(|h| glance(ctx, h)).transpose()?.flatten();
    let current_view = current.map(|h| view(ctx, h)).transpose()?;
    let others: Vec<&str> = state
        .hotfixes
        .keys()
        .map(String::as_str)
        .filter(|b| current.is_none_or(|h| h.branch != *b))
        .collect();
    let index_lock = ctx.repo.index_lock_owner()?.map(|l| l.sentence());
    let ui = ctx.ui;
    if !ui.json {
        // a release kept with --no-push, said on every run until it is shared (the hotfix
        // checked out says it in its own view)
        let shown = current
            .and_then(|h| h.deploy.as_ref())
            .filter(|d| d.local_only)
            .map(|d| d.tag.as_str());
        for (tag, sentence) in crate::steps::reserve::local_only_releases(&ctx.repo) {
            if Some(tag.as_str()) != shown {
                ui.warn(sentence);
            }
        }
    }
    if ui.json {
        // the text says it on a line of its own; JSON readers get it in `remote` and here
        if let Some(f) = &freshness
            && matches!(
                f.stale,
                Some(sync::Stale::Failed(_) | sync::Stale::TimedOut(_))
            )
            && let Some(sentence) = f.sentence()
        {
            ui.warn(format!("what status shows is {sentence}"));
        }
        let mut all: Vec<&str> = state.hotfixes.keys().map(String::as_str).collect();
        all.sort();
        ui.data(serde_json::to_string_pretty(&StatusJson {
            hotfix: current_view.as_ref(),
            in_progress: all,
            index_lock,
            remote: freshness.as_ref(),
        })?);
        return Ok(());
    }
    let Some(v) = current_view else {
        ui.data("No hotfix checked out.");
        if let Some(l) = &index_lock {
            ui.data(format!("  {} {l}", ui.fail_mark()));
        }
        if others.is_empty() {
            ui.data("next: hotfix start <name>");
        } else {
            ui.data("In progress:");
            for b in &others {
                let h = &state.hotfixes[*b];
                let note = view(ctx, h)?
                    .problem
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default();
                ui.data(format!("  {b}: {}{note}", h.summary));
            }
            let first = &state.hotfixes[others[0]];
            ui.data(format!("next: {}", view(ctx, first)?.next));
        }
        return Ok(());
    };
    let base = match &v.base_tag {
        Some(t) => format!("{t} ({})", short_str(&v.base_commit)),
        None => short_str(&v.base_commit),
    };
    ui.data(format!("{}: {}", ui.bold(&v.branch), v.summary));
    ui.data(format!("  base      {base}"));
    if let Some(head) = &v.head_commit {
        let plural = if v.commits == 1 { "" } else { "s" };
        ui.data(format!(
            "  head      {}, {} commit{plural} on the branch",
            short_str(head),
            v.commits
        ));
    }
    let reproduced = if v.reproduced { " (reproduced)" } else { "" };
    ui.data(format!("  severity  {}{reproduced}", v.severity));
    ui.data(format!(
        "  started   {} by {}",
        v.started_at.strftime("%Y-%m-%d %H:%M UTC"),
        v.author
    ));
    for c in v.signed_commits.iter().flatten() {
        let by = match &c.signer {
            Some(s) => format!("signed by {}", s.describe()),
            None => "not signed by a listed key".to_string(),
        };
        ui.data(format!("  commit    {} {by}", short_str(&c.commit)));
    }
    ui.data(format!("  step      {}", v.step));
    ui.data("  gates");
    for g in &v.gates {
        let mark = if g.passed {
            ui.ok_mark()
        } else {
            ui.fail_mark()
        };
        ui.data(format!("    {mark} {:<7} {}", g.gate, g.reason));
    }
    if let Some(p) = &v.problem {
        ui.data(format!("  {} {p}", ui.fail_mark()));
    }
    if let Some(l) = &index_lock {
        ui.data(format!("  {} {l}", ui.fail_mark()));
    }
    if let Some(sentence) = v.sharing.as_ref().and_then(Sharing::sentence) {
        ui.data(format!("  {} {sentence}", ui.fail_mark()));
    }
    if let Some(sentence) = freshness.as_ref().and_then(Freshness::sentence) {
        ui.data(format!("  remote    {sentence}"));
    }
    if !others.is_empty() {
        ui.data(format!("  also in progress: {}", others.join(", ")));
    }
    ui.data(format!("next: {}", v.next));
    Ok(())
}

/// Judges a hotfix against the repository as it is now: the state file says what was done, the
/// repository says what is true (a branch deleted or commits made by hand).
pub fn view(ctx: &Ctx, h: &Hotfix) -> Result<HotfixView> {
    let repo = &ctx.repo;
    // A state edited by hand is reported, and the gates are judged on what hotfix recorded.
    let tamper = crate::seal::check(repo, h)?;
    let h = tamper
        .as_ref()
        .and_then(|t| t.restored.as_ref())
        .unwrap_or(h);
    let tip = repo.branch_tip(&h.branch)?;
    let checked_out = matches!(repo.head()?, Head::Branch(ref b, _) if *b == h.branch);
    // git refuses to switch to a branch another worktree has checked out: go there instead
    let go_to_branch = match repo.worktree_of(&h.branch) {
        Some(path) if !checked_out => format!(
            "cd {} ({} is checked out in that worktree)",
            shell_word(&path.display().to_string()),
            h.branch
        ),
        _ => format!("git switch {}", shell_word(&h.branch)),
    };
    let base = Oid::from_str(&h.base_commit)?;
    let commits = match tip {
        Some(t) => repo.count_commits(base, t)?,
        None => 0,
    };
    let tree = tip.map(|t| repo.tree_of(t)).transpose()?;
    let unjudged = |reason: &str| {
        ["guard", "review", "test"]
            .into_iter()
            .map(|gate| GateView {
                gate,
                passed: false,
                reason: reason.into(),
                next: None,
            })
            .collect()
    };
    let gates = match (tip, tree) {
        // no seal to judge them on: the state's policy and records cannot be trusted
        _ if tamper.as_ref().is_some_and(|t| t.restored.is_none()) => {
            unjudged("not judged: the state was edited by hand")
        }
        (Some(tip), Some(tree)) if commits > 0 => steps::report_gates(ctx, h, tip, tree)?,
        _ => unjudged("no fix committed yet"),
    };
    let first_failing = gates.iter().find(|g| !g.passed);
    let signed_commits = match tip {
        Some(tip)
            if commits > 0
                && !h.policy.review.allowed_signers.is_empty()
                && tamper.as_ref().is_none_or(|t| t.restored.is_some()) =>
        {
            steps::review::authors(ctx, h, tip)?.signed().map(|fix| {
                fix.commits
                    .iter()
                    .map(|(c, how)| SignedCommit {
                        commit: c.id.to_string(),
                        signer: match how {
                            crate::signing::CommitSignature::Good(s) => Some(s.clone()),
                            _ => None,
                        },
                    })
                    .collect()
            })
        }
        _ => None,
    };

    let (step, problem, next) = match (h.phase, tip) {
        (Phase::Starting, None) => (
            Step::Branch,
            Some("start was interrupted before the branch was made".to_string()),
            format!(
                "hotfix start {} (to finish starting) or hotfix abort {}",
                shell_word(&h.name),
                shell_word(&h.name)
            ),
        ),
        (Phase::Starting, Some(_)) if !checked_out => (
            Step::Branch,
            Some(match steps::branch::half_switched(repo, h)? {
                Some(paths) => format!(
                    "start was interrupted while it checked out {}: {} files are already switched, the others not yet",
                    h.branch,
                    paths.len()
                ),
                None if h.switching && !repo.changed_paths(1)?.is_empty() => format!(
                    "start was interrupted while it checked out {}, and not every changed file ({}) is as one side of the switch has it: changes made since the kill, which hotfix does not overwrite",
                    h.branch,
                    crate::git::few_paths(&repo.changed_paths(4)?)
                ),
                None => format!("start was interrupted before {} was checked out", h.branch),
            }),
            format!(
                "hotfix start {} (to finish starting) or hotfix abort {} --delete",
                shell_word(&h.name),
                shell_word(&h.name)
            ),
        ),
        // killed after the switch, before the state said the start was done: the files and
        // HEAD are the branch's, the record is not
        (Phase::Starting, Some(_)) => (
            Step::Branch,
            Some(format!(
                "start was interrupted after it checked out {}, before it recorded that it had finished",
                h.branch
            )),
            format!(
                "hotfix start {} (to finish starting) or hotfix abort {} --delete",
                shell_word(&h.name),
                shell_word(&h.name)
            ),
        ),
        (Phase::Open, None) => (
            h.phase_step(),
            Some(format!(
                "the branch {} no longer exists; was it deleted by hand?",
                h.branch
            )),
            format!("hotfix abort {} (forgets this hotfix)", shell_word(&h.name)),
        ),
        (_, Some(_)) if !checked_out => (
            if commits == 0 { Step::Fix } else { Step::Guard },
            None,
            go_to_branch.clone(),
        ),
        (_, Some(_)) if commits == 0 => (
            Step::Fix,
            None,
            "commit the fix on this branch, then run `hotfix guard`".to_string(),
        ),
        (_, Some(_)) => match first_failing {
            Some(g) => (
                gate_step(g.gate),
                None,
                g.next
                    .clone()
                    .unwrap_or_else(|| format!("hotfix {}", g.gate)),
            ),
            None => (Step::Deploy, None, "hotfix deploy".to_string()),
        },
    };
    // Review needs the tree on the remote: while the branch (or its newest commits) is only
    // here, the next step is the push (a teammate would review what the remote has).
    let sharing = Sharing::of(repo, &h.branch)?;
    let next = match (&sharing, first_failing) {
        (Some(s), Some(g))
            if checked_out
                && commits > 0
                && s.unshared()
                && s.not_here == 0
                && g.gate == "review" =>
        {
            format!("{}, then {next}", s.push_command())
        }
        _ => next,
    };
    // A deploy or merge-back under way says more than the gates do.
    let explained = steps::rebase::explain(repo, h)
        .or_else(|| steps::merge_back::explain(repo, h))
        .or_else(|| steps::deploy::explain(repo, h, tree));
    let (step, problem, next) = match explained {
        Some((Step::Deploy, p, _)) if !checked_out => (Step::Deploy, p, go_to_branch),
        Some(e) => e,
        None => (step, problem, next),
    };
    let (problem, next) = match &tamper {
        Some(t) => (
            Some(t.sentence()),
            format!(
                "put the state file back as it was (`git cat-file -p {}` shows what hotfix recorded), or hotfix abort {}",
                shell_word(&crate::seal::seal_ref(&t.branch)),
                shell_word(&t.name)
            ),
        ),
        None => (problem, next),
    };
    Ok(HotfixView {
        name: h.name.clone(),
        branch: h.branch.clone(),
        base_tag: h.base_tag.clone(),
        base_commit: h.base_commit.clone(),
        head_commit: tip.map(|t| t.to_string()),
        tree: tree.map(|t| t.to_string()),
        commits,
        checked_out,
        severity: h.severity.clone(),
        reproduced: h.reproduced,
        summary: h.summary.clone(),
        author: format!("{} <{}>", h.author_name, h.author_email),
        started_at: h.started_at,
        step,
        gates,
        problem,
        sharing,
        signed_commits,
        next,
    })
}

fn gate_step(gate: &str) -> Step {
    match gate {
        "guard" => Step::Guard,
        "review" => Step::Review,
        _ => Step::Test,
    }
}

fn short_str(oid: &str) -> String {
    Oid::from_str(oid)
        .map(short)
        .unwrap_or_else(|_| oid.to_string())
}
