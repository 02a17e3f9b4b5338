//! `hotfix init`: writes hotfix.toml with defaults detected from the repository.

use std::io::Write;

use anyhow::{Context, Result};

use crate::app::Ctx;
use crate::config::{self, FILE_NAME};
use crate::error::Refusal;
use crate::git::Repo;
use crate::sync;
use crate::ui::shell_word;
use crate::version;

/// Where repositories usually keep git's ssh allowed-signers file.
const ALLOWED_SIGNERS_NAMES: &[&str] = &[
    ".github/allowed_signers",
    "allowed_signers",
    ".gitsigners",
    ".allowed_signers",
    ".github/allowed-signers",
];

/// Tag patterns `init` recognises, most common first.
const CANDIDATE_PATTERNS: &[&str] = &["v*", "[0-9]*", "release-*", "release/*", "rel-*"];

pub fn init(ctx: &Ctx) -> Result<()> {
    let repo = &ctx.repo;
    let root = repo.workdir()?;
    let path = root.join(FILE_NAME);
    // The clone's half of the setup, which every teammate needs in their own clone, also
    // where hotfix.toml is already committed.
    let remote = repo.remote_for(None)?;
    let missing = match &remote {
        Some(r) => sync::missing_fetch_config(repo, r),
        None => Vec::new(),
    };
    if path.exists() {
        if let (Some(r), false) = (&remote, missing.is_empty()) {
            ctx.ui
                .status(format!("{FILE_NAME} already exists; kept it as it is."));
            return offer_fetch_config(ctx, r, &missing);
        }
        return Err(Refusal::usage(format!(
            "{} already exists; init never overwrites it",
            path.display()
        ))
        .hint("edit it by hand; every key, with its default and what it does: docs/config.md, or the comments of a fresh `hotfix init` in an empty repository")
        .into());
    }
    let pattern = detect_tag_pattern(repo)?;
    let development = repo.detect_development()?;
    // git-flow records its production branch; a repository without git-flow has none to move
    let production = repo
        .config_string("gitflow.branch.master")
        .filter(|b| repo.branch_tip(b).ok().flatten().is_some());
    let version_files = detect_version_files(repo, pattern.as_deref().unwrap_or("v*"))?;
    let text = config::template_with_production(
        development.as_deref().unwrap_or(""),
        production.as_deref().unwrap_or(""),
        pattern.as_deref().unwrap_or("v*"),
        &version_files,
    );
    let test = detect_test_command(root);
    let text = match &test {
        Some((command, _)) => with_test_command(&text, command),
        None => text,
    };
    // create_new: never overwrite a file that appeared since the check above
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write {}", path.display()))?;

    ctx.ui.status(format!("Wrote {FILE_NAME}:"));
    match &pattern {
        Some(p) => ctx.ui.status(format!(
            "  release.tag_pattern = \"{p}\" (from the release tags)"
        )),
        None => ctx
            .ui
            .warn("no release tags found; release.tag_pattern is the default \"v*\""),
    }
    match &development {
        Some(d) => ctx.ui.status(format!("  branches.development = \"{d}\"")),
        None => ctx
            .ui
            .warn("no development branch found; set branches.development"),
    }
    if let Some(p) = &production {
        ctx.ui.status(format!(
            "  branches.production = \"{p}\" (git-flow's production branch)"
        ));
    }
    if let Some(p) = &pattern {
        ctx.ui.status(format!(
            "  release.tag_format = \"{}\"",
            config::tag_format_for(p)
        ));
    }
    match &test {
        Some((command, from)) => ctx
            .ui
            .status(format!("  test.command = \"{command}\" (from {from})")),
        None => ctx.ui.warn(
            "no test command found (no Cargo.toml, package.json test script, pyproject.toml, Makefile test target or go.mod); set test.command, or the test gate fails",
        ),
    }
    if !version_files.is_empty() {
        ctx.ui.status(format!(
            "  release.version_files = [{}] (they say the newest release's version; `start` bumps them)",
            version_files
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(found) = ALLOWED_SIGNERS_NAMES
        .iter()
        .find(|name| root.join(name).is_file())
    {
        ctx.ui.status(format!(
            "  {found} looks like an ssh allowed-signers file: with review.allowed_signers = \"{found}\", only approvals and fix commits signed by the keys listed there count (docs/security.md)"
        ));
    }
    ctx.ui
        .status("Review it, commit it, and the policy applies to every hotfix started after that.");
    match &remote {
        Some(r) if !missing.is_empty() => offer_fetch_config(ctx, r, &missing),
        _ => Ok(()),
    }
}

/// A plain `git fetch` brings branches and the tags on them, not `refs/hotfix/*` (reviews,
/// approvals, not-a-code-change records) nor the tag of a release not yet merged: these
/// refspecs in `remote.<name>.fetch` make it fill hotfix's mirror of the remote (see `sync`).
/// Written with `--yes` or when the user says yes on a terminal; otherwise the exact commands
/// are printed, so CI never waits on a question.
fn offer_fetch_config(ctx: &Ctx, remote: &str, missing: &[String]) -> Result<()> {
    let ui = ctx.ui;
    let commands: Vec<String> = missing
        .iter()
        .map(|spec| {
            format!(
                "git config --add remote.{}.fetch {}",
                shell_word(remote),
                shell_word(spec)
            )
        })
        .collect();
    let write = ui.yes
        || (ui.can_prompt()
            && ui.confirm(
                &format!(
                    "Make a plain `git fetch` bring the team's hotfix records and release tags from {remote}?"
                ),
                "--yes",
            )?);
    if !write {
        ui.status(format!(
            "A plain `git fetch` does not bring the team's hotfix records (reviews, approvals) from {remote}; to make it, run:"
        ));
        for c in &commands {
            ui.data(format!("  {c}"));
        }
        ui.status("(or `hotfix init --yes`, which writes them into this clone's .git/config)");
        return Ok(());
    }
    for spec in missing {
        repo_config_add(ctx, &format!("remote.{remote}.fetch"), spec)?;
    }
    ui.status(format!(
        "Set this clone's fetch configuration: a plain `git fetch` now brings the team's hotfix records and release tags from {remote}:"
    ));
    for c in &commands {
        ui.status(format!("  {c}"));
    }
    Ok(())
}

/// `git config --add <key> <value>` in this clone's own configuration.
fn repo_config_add(ctx: &Ctx, key: &str, value: &str) -> Result<()> {
    let status = ctx
        .repo
        .git_command()?
        .args(["config", "--local", "--add", key, value])
        .status()
        .context("could not run `git config`")?;
    if !status.success() {
        anyhow::bail!("`git config --add {key} {value}` failed ({status})");
    }
    Ok(())
}

/// The obvious test command for the project at `root`, and the file it comes from: a Makefile's
/// `test` target (the team's own entry point), else the build tool's: Cargo.toml, go.mod,
/// package.json's `test` script (not npm's placeholder), pyproject.toml.
pub fn detect_test_command(root: &std::path::Path) -> Option<(&'static str, &'static str)> {
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    for name in ["Makefile", "makefile", "GNUmakefile"] {
        if read(name).is_some_and(|m| {
            m.lines()
                .any(|l| l.starts_with("test:") || l.starts_with("test :"))
        }) {
            return Some(("make test", "the Makefile's test target"));
        }
    }
    if root.join("Cargo.toml").is_file() {
        return Some(("cargo test", "Cargo.toml"));
    }
    if root.join("go.mod").is_file() {
        return Some(("go test ./...", "go.mod"));
    }
    if let Some(json) = read("package.json")
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&json)
        && let Some(script) = v["scripts"]["test"].as_str()
        && !script.trim().is_empty()
        && !script.contains("no test specified")
    {
        return Some(("npm test", "package.json's test script"));
    }
    if root.join("pyproject.toml").is_file() {
        return Some(("pytest", "pyproject.toml"));
    }
    None
}

/// The template with `command` as `test.command` (the first `command = ""` of `[test]`).
fn with_test_command(text: &str, command: &str) -> String {
    let Some(section) = text.find("\n[test]\n") else {
        return text.to_string();
    };
    let empty = "command = \"\"";
    match text[section..].find(empty) {
        Some(at) => {
            let at = section + at;
            let value = toml::Value::String(command.to_string()).to_string();
            format!(
                "{}command = {value}{}",
                &text[..at],
                &text[at + empty.len()..]
            )
        }
        None => text.to_string(),
    }
}

/// The version files of the newest release (see `version_files::detect`), by path; none
/// without a release tag.
fn detect_version_files(repo: &Repo, pattern: &str) -> Result<Vec<String>> {
    let Some((tag, commit)) = version::newest_release_commit(repo, pattern)? else {
        return Ok(Vec::new());
    };
    Ok(crate::version_files::detect(repo, commit, &tag.version)?
        .into_iter()
        .map(|f| f.path)
        .collect())
}

/// The candidate pattern that matches the most stable release tags.
pub fn detect_tag_pattern(repo: &Repo) -> Result<Option<String>> {
    let mut best: Option<(&str, usize)> = None;
    for pattern in CANDIDATE_PATTERNS {
        let count = repo
            .tag_names(pattern)?
            .iter()
            .filter(|t| version::version_of(t, pattern).is_some_and(|v| version::is_stable(&v)))
            .count();
        if count > 0 && best.is_none_or(|(_, n)| count > n) {
            best = Some((pattern, count));
        }
    }
    Ok(best.map(|(p, _)| p.to_string()))
}
