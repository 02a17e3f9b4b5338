//! The test gate: `hotfix test` runs `test.command` on HEAD's tree in a clean temporary
//! worktree (never the developer's working copy: an untracked file must not make a test pass),
//! and records pass or fail bound to that tree. A pass for any other tree does not count.

use std::io::Write;

use anyhow::{Context, Result};

use crate::app::Ctx;
use crate::cli::{Gate, TestArgs};
use crate::config;
use crate::error::Refusal;
use crate::git::{Oid, short};
use crate::process::{self, Hook, human_duration};
use crate::state::{Hotfix, State, TestRecord};
use crate::steps::{self, GateView};
use crate::ui::shell_word;

const NO_COMMAND: &str = "no test command is configured for this hotfix; set test.command in hotfix.toml (e.g. \"cargo test\")";

/// `hotfix test`.
pub fn test(ctx: &Ctx, args: &TestArgs) -> Result<()> {
    let ui = ctx.ui;
    // From here to the end, Ctrl-C stops the tests and still removes the temporary worktree.
    let _signals = process::catch_interrupts();
    let state = ctx.store.read()?;
    let h = checked_out(ctx, &state)?;
    // a policy edited in the state could choose the command (`true`) and launder the result
    crate::seal::verify(&ctx.repo, h, "running the tests")?;
    let (_, commit) = ctx.repo.current_branch()?;
    steps::require_fix(h, commit, "test")?;
    let tree = ctx.repo.tree_of(commit)?;

    for path in ctx.repo.remove_stale_checkouts()? {
        ui.verbose(format!(
            "removed a temporary worktree left by an interrupted run: {}",
            path.display()
        ));
    }

    let overridden = steps::record_overrides(ctx, h, &args.overrides, tree)?;
    if overridden.contains(&Gate::Test) {
        ui.status("the tests were not run: the test gate is overridden for this tree");
        return Ok(());
    }

    if h.policy.test.via == config::TestVia::Forge {
        return steps::forge_gates::wait_for_ci(ctx, h, commit);
    }
    let policy = test_policy(ctx, h)?;
    let command = policy.command.trim().to_string();
    let timeout = policy.timeout();

    let changed = ctx.repo.changed_paths(4)?;
    if !changed.is_empty() {
        let list = crate::git::few_paths(&changed);
        ui.warn(format!(
            "the tests run on the committed tree of {}; your uncommitted changes ({list}) are not part of it",
            short(commit)
        ));
    }

    let log = new_log(ctx, h, commit, tree, &command)?;
    ui.status(format!(
        "running `{command}` on {} in a clean checkout (timeout {})",
        short(commit),
        human_duration(timeout)
    ));
    let mut checkout = match ctx.repo.temp_checkout(commit) {
        Ok(c) => c,
        // Ctrl-C reaches `git worktree add` too (same process group): that is no git error
        Err(_) if process::interrupted() => return Err(Refusal::Interrupted.into()),
        Err(e) => return Err(e),
    };
    ui.verbose(format!("temporary checkout: {}", checkout.path().display()));
    let filters = &checkout.exported().filters;
    if !filters.is_empty() {
        ui.warn(format!(
            "the tree's .gitattributes names filters ({}); the tests see those files as committed (an LFS pointer, say), since a filter's program is set in this clone, not in the tree",
            filters.join(", ")
        ));
    }
    let env = process::hook_env(h, commit, tree, None, ctx.repo.workdir()?);
    let hook = Hook {
        env,
        timeout: Some(timeout),
        log: Some(log.clone()),
        // whatever the tests leave running would otherwise outlive their folder
        kill_strays: true,
        ..Hook::new("tests", command.clone(), checkout.path().to_path_buf())
    };
    let outcome = process::run_with(ui, &hook, |pgid| checkout.record_process_group(pgid));
    let removed = checkout.remove();
    let outcome = outcome?;
    if let Err(e) = removed {
        ui.warn(format!("{e:#}"));
    }
    if outcome.interrupted {
        ui.status("tests interrupted; nothing was recorded");
        return Err(Refusal::Interrupted.into());
    }

    let record = TestRecord {
        tree: tree.to_string(),
        commit: commit.to_string(),
        passed: outcome.success(),
        exit_code: outcome.exit_code,
        timed_out: outcome.timed_out,
        duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        at: jiff::Timestamp::now(),
        log: Some(log.display().to_string()),
    };
    ctx.store.update(|s| {
        let entry = s.hotfixes.get_mut(&h.branch).ok_or_else(|| {
            Refusal::usage(format!(
                "{} stopped being in progress while the tests ran",
                h.branch
            ))
        })?;
        crate::seal::seal_test(&ctx.repo, &h.branch, &record)?;
        entry.tests = Some(record.clone());
        Ok(())
    })?;
    if ui.json {
        ui.data(serde_json::to_string_pretty(&record)?);
    }

    let took = human_duration(outcome.duration);
    if record.passed {
        ui.status(format!(
            "{} tests passed in {took} on {} (tree {}); recorded",
            ui.ok_mark(),
            short(commit),
            short(tree)
        ));
        return Ok(());
    }
    let overridable = if h.policy.policy.allow_override {
        ", or skip the gate with `hotfix test --override test --reason <text>`"
    } else {
        ""
    };
    if outcome.timed_out {
        return Err(Refusal::gate(format!(
            "the tests timed out after {} (test.timeout) on {} and were stopped",
            human_duration(timeout),
            short(commit)
        ))
        .hint(format!(
            "the output is in {}; find what hangs, commit the fix and run `hotfix test` again{overridable}",
            log.display()
        ))
        .into());
    }
    Err(Refusal::gate(format!(
        "the tests failed ({}) on {}",
        outcome.describe(Some(timeout)),
        short(commit)
    ))
    .hint(format!(
        "the output is in {}; fix the cause, commit, and run `hotfix test` again{overridable}",
        log.display()
    ))
    .into())
}

/// The test gate judged now for `tree` (the tip of the hotfix branch).
pub fn evaluate(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid) -> Result<GateView> {
    // A worktree left by a killed `hotfix test` goes as soon as anyone looks (one folder read
    // when there is none); failing to remove it must not stop a status report.
    if let Ok(removed) = ctx.repo.remove_stale_checkouts() {
        for path in removed {
            ctx.ui.verbose(format!(
                "removed a temporary worktree left by an interrupted run: {}",
                path.display()
            ));
        }
    }
    let tree = tree.to_string();
    let view = |passed: bool, reason: String| GateView {
        gate: "test",
        passed,
        reason,
        next: (!passed).then(|| "hotfix test".to_string()),
    };
    if let Some(o) = h.override_for("test", &tree) {
        return Ok(view(
            true,
            format!("overridden by {} ({})", o.by_name, o.reason),
        ));
    }
    if h.policy.test.via == config::TestVia::Forge {
        return steps::forge_gates::test(ctx, h, tip);
    }
    let log = |t: &TestRecord| {
        t.log
            .as_deref()
            .map(|l| format!("; log: {l}"))
            .unwrap_or_default()
    };
    Ok(match &h.tests {
        Some(t) if t.tree == tree => {
            let took = human_duration(std::time::Duration::from_millis(t.duration_ms));
            if t.passed {
                view(true, format!("passed in {took}"))
            } else if t.timed_out {
                view(false, format!("timed out after {took}{}", log(t)))
            } else {
                let how = match t.exit_code {
                    Some(code) => format!("exit {code}"),
                    None => "killed by a signal".into(),
                };
                view(false, format!("failed ({how}){}", log(t)))
            }
        }
        Some(t) => {
            let what = if t.passed {
                "pass"
            } else {
                "last run (failed)"
            };
            let commit = Oid::from_str(&t.commit)
                .map(short)
                .unwrap_or_else(|_| t.commit.clone());
            view(
                false,
                format!("{what} is for an older tree (at commit {commit}): run `hotfix test`"),
            )
        }
        None if h.policy.test.command.trim().is_empty() => view(
            false,
            "not run yet; no test command is configured (test.command in hotfix.toml)".into(),
        ),
        None => view(false, "not run yet".into()),
    })
}

/// The hotfix checked out now; `hotfix test` runs on HEAD, so it must be that hotfix's branch.
fn checked_out<'s>(ctx: &Ctx, state: &'s State) -> Result<&'s Hotfix> {
    if let Some(h) = ctx.current(state)? {
        return Ok(h);
    }
    let branches: Vec<&str> = state.hotfixes.keys().map(String::as_str).collect();
    Err(match branches.as_slice() {
        [] => {
            Refusal::usage("no hotfix is in progress").hint("start one with `hotfix start <name>`")
        }
        [one] => Refusal::usage(format!(
            "`hotfix test` tests the checked-out hotfix, and {one} is not checked out"
        ))
        .hint(format!("git switch {}", shell_word(one))),
        many => Refusal::usage(format!(
            "`hotfix test` tests the checked-out hotfix, and none of {} is checked out",
            many.join(", ")
        ))
        .hint("`git switch <branch>` to the hotfix to test"),
    }
    .into())
}

/// The `[test]` policy of this hotfix. The snapshot taken at `start` rules; but an empty command
/// there is no policy at all, so a command the team has committed since on the development
/// branch is used. Never one from the hotfix branch: an edit there must not choose the command
/// that judges it (SPEC promise 3).
fn test_policy(ctx: &Ctx, h: &Hotfix) -> Result<config::Test> {
    if !h.policy.test.command.trim().is_empty() {
        return Ok(h.policy.test.clone());
    }
    let (dev, team) = steps::team_policy(ctx, h, "test command")?;
    if team.test.command.trim().is_empty() {
        let how = format!("commit it and push it to {dev}, and it applies to this hotfix too");
        let hint = if h.policy.policy.allow_override {
            format!("{how}; or skip the gate with `hotfix test --override test --reason <text>`")
        } else {
            how
        };
        return Err(Refusal::gate(NO_COMMAND).hint(hint).into());
    }
    ctx.ui.status(format!(
        "this hotfix's policy (taken at start) has no test command; using test.command committed on {dev}: `{}`",
        team.test.command.trim()
    ));
    Ok(team.test)
}

/// A new log file under `<common git dir>/hotfix/logs/`, opened with a header saying what ran.
fn new_log(
    ctx: &Ctx,
    h: &Hotfix,
    commit: Oid,
    tree: Oid,
    command: &str,
) -> Result<std::path::PathBuf> {
    let dir = ctx.repo.common_dir().join("hotfix").join("logs");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let now = jiff::Timestamp::now();
    let name: String = h
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let path = dir.join(format!(
        "test-{name}-{}-{}.log",
        short(commit),
        now.strftime("%Y%m%dT%H%M%SZ")
    ));
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("could not create the log file {}", path.display()))?;
    writeln!(
        file,
        "# hotfix test: {} at {commit} (tree {tree}), {now}\n# sh -c {command}",
        h.branch
    )
    .with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}
