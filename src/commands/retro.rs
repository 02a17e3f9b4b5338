//! `hotfix retro [<version>]`: the post-incident review of a hotfix release, kept in git.
//!
//! Each revision of a review is its own immutable ref, `refs/hotfix/retros/<tag>/<unix-seconds>`,
//! pointing at a JSON blob. The newest revision wins, so editing a review later adds a ref and
//! never needs a force push, and two teammates' revisions never overwrite each other.

use std::collections::HashMap;

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::app::Ctx;
use crate::cli::{Cause, RetroArgs};
use crate::error::Refusal;
use crate::git::{Head, Repo};
use crate::history::{self, Release};
use crate::learn::{self, Origin};
use crate::ui::shell_word;

pub const RETRO_REFS: &str = "refs/hotfix/retros/";

/// Every root-cause category, in the order they are offered (and ranked on a tie).
pub const CAUSES: [Cause; 6] = [
    Cause::RegressionTesting,
    Cause::MissingCoverage,
    Cause::EnvironmentConfig,
    Cause::UntestedEdgeCase,
    Cause::ExternalDependency,
    Cause::Other,
];

/// The category as stored and as typed after `--cause`.
pub fn cause_name(cause: Cause) -> &'static str {
    match cause {
        Cause::RegressionTesting => "regression-testing",
        Cause::MissingCoverage => "missing-coverage",
        Cause::EnvironmentConfig => "environment-config",
        Cause::UntestedEdgeCase => "untested-edge-case",
        Cause::ExternalDependency => "external-dependency",
        Cause::Other => "other",
    }
}

/// What the category means, in words.
pub fn cause_label(cause: Cause) -> &'static str {
    match cause {
        Cause::RegressionTesting => "insufficient regression testing",
        Cause::MissingCoverage => "missing test coverage on a critical path",
        Cause::EnvironmentConfig => "environment/configuration difference staging did not catch",
        Cause::UntestedEdgeCase => "untested edge case in a user workflow",
        Cause::ExternalDependency => "external dependency change",
        Cause::Other => "other",
    }
}

/// A stored category name back to the category (`None` for a name this version does not know).
pub fn parse_cause(name: &str) -> Option<Cause> {
    Cause::from_str(name, false).ok()
}

/// One revision of a post-incident review, as stored in its blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retro {
    pub tag: String,
    pub version: String,
    /// Why did this reach production?
    pub why: String,
    /// What would catch it earlier next time?
    pub catch: String,
    /// A `--cause` name (kebab-case).
    pub cause: String,
    pub by_name: String,
    pub by_email: String,
    pub at: jiff::Timestamp,
    /// Where the bug came from: proposed from blame, confirmed or corrected by the reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// A stored revision and the ref that holds it.
#[derive(Debug, Clone)]
pub struct Revision {
    pub refname: String,
    pub retro: Retro,
}

/// The newest revision of every release's review, by tag, read in one pass over the refs.
pub fn latest(repo: &Repo) -> Result<HashMap<String, Retro>> {
    Ok(all_revisions(repo, RETRO_REFS)?
        .into_iter()
        .filter_map(|(tag, mut revs)| revs.pop().map(|r| (tag, r.retro)))
        .collect())
}

/// Every revision of one release's review, oldest first.
pub fn revisions(repo: &Repo, tag: &str) -> Result<Vec<Revision>> {
    Ok(all_revisions(repo, &format!("{RETRO_REFS}{tag}/"))?
        .remove(tag)
        .unwrap_or_default())
}

/// Reads the revisions under `prefix`, grouped by tag and sorted oldest first. A blob that does
/// not parse, or whose tag disagrees with its ref, is not a review and is skipped.
fn all_revisions(repo: &Repo, prefix: &str) -> Result<HashMap<String, Vec<Revision>>> {
    let mut out: HashMap<String, Vec<Revision>> = HashMap::new();
    for (refname, bytes) in repo.read_record_refs(prefix)? {
        let Some((tag, _)) = refname
            .strip_prefix(RETRO_REFS)
            .and_then(|rest| rest.rsplit_once('/'))
        else {
            continue;
        };
        let Ok(retro) = serde_json::from_slice::<Retro>(&bytes) else {
            continue;
        };
        if retro.tag != tag {
            continue;
        }
        out.entry(tag.to_string())
            .or_default()
            .push(Revision { refname, retro });
    }
    for revs in out.values_mut() {
        revs.sort_by(|a, b| {
            a.retro
                .at
                .cmp(&b.retro.at)
                .then_with(|| stamp(&a.refname).cmp(&stamp(&b.refname)))
        });
    }
    Ok(out)
}

/// `<seconds>` or `<seconds>-<n>` at the end of a revision's ref, as numbers for ordering.
fn stamp(refname: &str) -> (i64, u32) {
    let last = refname.rsplit('/').next().unwrap_or_default();
    let (secs, n) = last.split_once('-').unwrap_or((last, "1"));
    (secs.parse().unwrap_or(0), n.parse().unwrap_or(1))
}

/// Stores a new revision; returns its ref. Two revisions in the same second get `-2`, `-3`….
pub fn write(repo: &Repo, retro: &Retro) -> Result<String> {
    let stem = format!("{RETRO_REFS}{}/{}", retro.tag, retro.at.as_second());
    let json = serde_json::to_vec_pretty(retro).context("could not serialise the review")?;
    repo.write_new_record_ref(&stem, &json, "hotfix retro")
}

/// The release a command names by tag or version; without a name, the newest.
pub fn find_release<'r>(releases: &'r [Release], name: Option<&str>) -> Result<&'r Release> {
    let Some(last) = releases.last() else {
        return Err(Refusal::usage("there is no hotfix release in this repository yet")
            .hint("a hotfix release is the tag `hotfix deploy` makes; fetch them with `git fetch --tags`")
            .into());
    };
    let Some(name) = name else { return Ok(last) };
    releases
        .iter()
        .rev()
        .find(|r| r.tag == name || r.record.version == name)
        .ok_or_else(|| {
            Refusal::usage(format!("no hotfix release is named `{name}`"))
                .hint("`hotfix list` shows the hotfix releases (fetch with `git fetch --tags`)")
                .into()
        })
}

#[derive(Serialize)]
struct RetroJson<'a> {
    #[serde(flatten)]
    retro: &'a Retro,
    #[serde(rename = "ref")]
    refname: &'a str,
    revisions: usize,
}

/// `hotfix retro`: record (or show) the post-incident review of a release.
pub fn retro(ctx: &Ctx, args: &RetroArgs) -> Result<()> {
    let repo = &ctx.repo;
    let ui = ctx.ui;
    // the team's releases and reviews first, as the other history commands read them: a
    // release a teammate made, or a review they wrote, is not only in their clone
    let dev = history::development_branch(repo)?;
    history::refresh(ctx, dev.as_deref())?;
    let releases = history::releases(repo)?;
    let release = find_release(&releases, args.version.as_deref())?;
    let revs = revisions(repo, &release.tag)?;
    let previous = revs.last();

    // Everything that can refuse is checked before a question is asked or a ref written.
    let remote = if args.push {
        let branch = match repo.head()? {
            Head::Branch(b, _) => Some(b),
            _ => None,
        };
        Some(repo.remote_for(branch.as_deref())?.ok_or_else(|| {
            Refusal::usage("there is no remote to push the review to")
                .hint("add one with `git remote add origin <url>`, or leave out --push")
        })?)
    } else {
        None
    };

    let editing = args.why.is_some()
        || args.catch.is_some()
        || args.cause.is_some()
        || !args.origin.is_empty();
    if let (false, Some(prev)) = (editing, previous) {
        show(ctx, release, prev, revs.len())?;
        return push(ctx, remote.as_deref(), &revs);
    }

    let who = repo.identity()?;
    let why = args
        .why
        .as_deref()
        .map(|s| check_answer(s, "--why"))
        .transpose()?;
    let catch = args
        .catch
        .as_deref()
        .map(|s| check_answer(s, "--catch"))
        .transpose()?;

    // `--origin` is read before any question, so a wrong commit is refused first.
    let releases_all = learn::production_releases(repo, &learn::tag_pattern(repo)?)?;
    let named = origin_from_args(repo, &args.origin, &releases_all)?;
    if previous.is_none() {
        ui.status(format!(
            "Post-incident review of {}: {} (deployed {})",
            release.tag,
            release.record.summary,
            release.record.deployed_at.strftime("%Y-%m-%d %H:%M UTC")
        ));
    }
    // A partial edit keeps the other answers of the newest revision.
    let why = match (why, previous) {
        (Some(w), _) => w,
        (None, Some(p)) => p.retro.why.clone(),
        (None, None) => check_answer(
            &ui.input("Why did this reach production?", "--why <text>")?,
            "--why",
        )?,
    };
    let catch = match (catch, previous) {
        (Some(c), _) => c,
        (None, Some(p)) => p.retro.catch.clone(),
        (None, None) => check_answer(
            &ui.input("What would catch it earlier next time?", "--catch <text>")?,
            "--catch",
        )?,
    };
    let cause = match (args.cause, previous) {
        (Some(c), _) => cause_name(c).to_string(),
        (None, Some(p)) => p.retro.cause.clone(),
        (None, None) => {
            let items: Vec<String> = CAUSES
                .iter()
                .map(|c| format!("{} ({})", cause_label(*c), cause_name(*c)))
                .collect();
            let i = ui.select("Root-cause category", &items, "--cause <category>")?;
            cause_name(CAUSES[i]).to_string()
        }
    };

    let origin = match (named, previous) {
        (Some(OriginArg::Named(o)), _) => Some(o),
        (Some(OriginArg::Unknown), _) => None,
        (Some(OriginArg::Proposed), _) => {
            let mut o = learn::propose_origin(repo, &release.record, &releases_all)?;
            o.confirmed = true;
            Some(o)
        }
        (None, Some(p)) => p.retro.origin.clone(),
        (None, None) => ask_origin(ctx, release, &releases_all)?,
    };

    if let Some(p) = previous
        && p.retro.why == why
        && p.retro.catch == catch
        && p.retro.cause == cause
        && p.retro.origin == origin
    {
        ui.status(format!(
            "The review of {} already says this ({}); nothing to change.",
            release.tag, p.refname
        ));
        if ui.json {
            print_json(ctx, &p.retro, &p.refname, revs.len())?;
        }
        return push(ctx, remote.as_deref(), &revs);
    }

    let retro = Retro {
        tag: release.tag.clone(),
        version: release.record.version.clone(),
        why,
        catch,
        cause,
        by_name: who.name,
        by_email: who.email,
        at: jiff::Timestamp::now(),
        origin,
    };
    let refname = write(repo, &retro)?;
    let what = if previous.is_some() {
        "Updated"
    } else {
        "Recorded"
    };
    ui.status(format!(
        "{what} the review of {} (cause: {}) in {refname}.",
        release.tag, retro.cause
    ));
    if ui.json {
        print_json(ctx, &retro, &refname, revs.len() + 1)?;
    }
    let mut revs = revs;
    revs.push(Revision { refname, retro });
    if remote.is_none()
        && let Some(origin) = repo.remote_for(None)?
    {
        ui.status(format!(
            "The review is only in this clone; share it with `hotfix retro {} --push` (it pushes to {origin}).",
            shell_word(&release.tag)
        ));
    }
    push(ctx, remote.as_deref(), &revs)
}

/// Pushes every revision of a review (never forced: each ref is new or already the same there).
fn push(ctx: &Ctx, remote: Option<&str>, revs: &[Revision]) -> Result<()> {
    let Some(remote) = remote else { return Ok(()) };
    let specs: Vec<String> = revs.iter().map(|r| format!("{0}:{0}", r.refname)).collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    ctx.repo.push(remote, &specs).with_context(|| {
        format!(
            "the review is saved here, but pushing it failed; try again with `hotfix retro {} --push`",
            shell_word(revs.last().map_or("", |r| r.retro.tag.as_str()))
        )
    })?;
    ctx.ui.status(format!("Pushed the review to {remote}."));
    Ok(())
}

/// A written answer: trimmed, and not empty.
fn check_answer(text: &str, flag: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refusal::usage(format!("the answer to {flag} is empty"))
            .hint("say it in a sentence; it is what the team reads later")
            .into());
    }
    Ok(text.to_string())
}

fn print_json(ctx: &Ctx, retro: &Retro, refname: &str, revisions: usize) -> Result<()> {
    ctx.ui.data(serde_json::to_string_pretty(&RetroJson {
        retro,
        refname,
        revisions,
    })?);
    Ok(())
}

/// The newest revision, when `retro` is run on a reviewed release with nothing to change.
fn show(ctx: &Ctx, release: &Release, rev: &Revision, revisions: usize) -> Result<()> {
    let ui = ctx.ui;
    if ui.json {
        return print_json(ctx, &rev.retro, &rev.refname, revisions);
    }
    let r = &rev.retro;
    let cause = match parse_cause(&r.cause) {
        Some(Cause::Other) | None => r.cause.clone(),
        Some(c) => format!("{} ({})", r.cause, cause_label(c)),
    };
    let count = match revisions {
        1 => String::new(),
        n => format!(", revision {n} of {n}"),
    };
    ui.data(format!(
        "Review of {}: {}",
        release.tag, release.record.summary
    ));
    ui.data(format!("  cause  {cause}"));
    ui.data(format!("  why    {}", indent(&r.why)));
    ui.data(format!("  catch  {}", indent(&r.catch)));
    if let Some(o) = &r.origin {
        let how = if o.confirmed {
            "confirmed"
        } else {
            "proposed from blame, not confirmed"
        };
        ui.data(format!("  origin ({how})"));
        for c in &o.commits {
            ui.data(format!("         {}", origin_line(c)));
        }
    }
    ui.data(format!(
        "  by     {} <{}> on {}{count}",
        r.by_name,
        r.by_email,
        r.at.strftime("%Y-%m-%d %H:%M UTC")
    ));
    ui.status(format!(
        "Change it with `hotfix retro {} --why …`, `--catch …` or `--cause …`.",
        shell_word(&release.tag)
    ));
    Ok(())
}

/// What `--origin` said.
enum OriginArg {
    Named(Origin),
    Proposed,
    Unknown,
}

fn origin_from_args(
    repo: &Repo,
    args: &[String],
    releases: &[learn::ProductionRelease],
) -> Result<Option<OriginArg>> {
    match args {
        [] => Ok(None),
        [one] if one == "proposed" => Ok(Some(OriginArg::Proposed)),
        [one] if one == "unknown" => Ok(Some(OriginArg::Unknown)),
        revs if revs.iter().any(|r| r == "proposed" || r == "unknown") => Err(Refusal::usage(
            "--origin proposed and --origin unknown stand alone, not beside commits",
        )
        .into()),
        revs => Ok(Some(OriginArg::Named(learn::named_origin(
            repo, revs, releases,
        )?))),
    }
}

/// The first review of a release: the commits blame proposes as the bug's origin, shown, and
/// confirmed or corrected in a terminal; without one they are recorded as proposed.
fn ask_origin(
    ctx: &Ctx,
    release: &Release,
    releases: &[learn::ProductionRelease],
) -> Result<Option<Origin>> {
    let ui = ctx.ui;
    let proposed = match learn::propose_origin(&ctx.repo, &release.record, releases) {
        Ok(o) => o,
        Err(e) => {
            ui.warn(format!("could not propose where the bug came from: {e:#}"));
            return Ok(None);
        }
    };
    if proposed.commits.is_empty() {
        ui.status("The fix changed no lines that existed at the base (only new files), so blame proposes no origin.");
        return Ok(None);
    }
    ui.status("Where it came from, proposed from the lines the fix changed (blame at the base):");
    for c in &proposed.commits {
        ui.status(format!("  {}", origin_line(c)));
    }
    if !ui.interactive {
        ui.status("Recorded as proposed; confirm it with `--origin proposed`, or name the commit with `--origin <commit>`.");
        return Ok(Some(proposed));
    }
    if ui.confirm_fact("Is this where the bug came from?", "--origin proposed")? {
        let mut o = proposed;
        o.confirmed = true;
        return Ok(Some(o));
    }
    let answer = ui.input(
        "Which commit did it come from? (ids separated by spaces; empty: unknown)",
        "--origin <commit>",
    )?;
    let revs: Vec<String> = answer.split_whitespace().map(String::from).collect();
    if revs.is_empty() {
        return Ok(None);
    }
    Ok(Some(learn::named_origin(&ctx.repo, &revs, releases)?))
}

/// `3f2a9c1e04 Average price for the cart (Ann <ann@example.com>), first in v1.2.0, #42, 3 lines`
fn origin_line(c: &learn::OriginCommit) -> String {
    let mut line = format!(
        "{} {} ({})",
        c.commit.chars().take(10).collect::<String>(),
        c.summary,
        c.author
    );
    match &c.release {
        Some(r) => line.push_str(&format!(", first in {r}")),
        None => line.push_str(", in no release"),
    }
    if let Some(pr) = &c.pull_request {
        line.push_str(&format!(", {pr}"));
    }
    if c.lines > 0 {
        line.push_str(&format!(
            ", {} line{}",
            c.lines,
            if c.lines == 1 { "" } else { "s" }
        ));
    }
    line
}

/// Continuation lines of a multi-line answer under the first.
fn indent(text: &str) -> String {
    text.replace('\n', "\n         ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_names_are_the_cli_names() {
        for c in CAUSES {
            let cli = c.to_possible_value().expect("a value");
            assert_eq!(cli.get_name(), cause_name(c));
            assert_eq!(parse_cause(cause_name(c)), Some(c));
        }
        assert_eq!(parse_cause("cosmic-rays"), None);
    }

    #[test]
    fn revisions_order_by_their_stamp_after_time() {
        assert!(stamp("refs/hotfix/retros/v1/100-2") > stamp("refs/hotfix/retros/v1/100"));
        assert!(stamp("refs/hotfix/retros/v1/101") > stamp("refs/hotfix/retros/v1/100-9"));
        assert_eq!(stamp("refs/hotfix/retros/release/1.0/7"), (7, 1));
    }
}
