//! `hotfix list`: every hotfix release from the tag records, and the emergencies closed as not a
//! code change. Everything is read from git (tags and `refs/hotfix/*`), so every teammate who
//! fetches sees the same list.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::app::Ctx;
use crate::commands::retro::{self, Retro};
use crate::history::{self, Development, Presence, Release};
use crate::steps::confirm::{self, NotCode};

/// The history `list` and `stats` report on, read once.
pub struct History {
    /// Oldest deploy first.
    pub releases: Vec<Release>,
    /// The development branch (as judged: local or remote-tracking) and, per release, whether
    /// it reached it; `None` when the repository has no development branch to check.
    pub merged: Option<(Development, Vec<Presence>)>,
    /// The newest review of each release, by tag.
    pub retros: HashMap<String, Retro>,
    /// Oldest first.
    pub not_code: Vec<NotCode>,
}

impl History {
    /// Fetches the remote's history first (within a bound; see [`history::refresh`]).
    pub fn load(ctx: &Ctx) -> Result<History> {
        let repo = &ctx.repo;
        let dev = history::development_branch(repo)?;
        history::refresh(ctx, dev.as_deref())?;
        let releases = history::releases(repo)?;
        let merged = match dev
            .map(|d| history::development(repo, &d))
            .transpose()?
            .flatten()
        {
            Some(mut dev) => {
                let presence = dev.presence(repo, &releases)?;
                Some((dev, presence))
            }
            None => None,
        };
        let retros = retro::latest(repo)?;
        let mut not_code = confirm::read_not_code(repo)?;
        not_code.sort_by(|a, b| {
            a.recorded_at
                .cmp(&b.recorded_at)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(History {
            releases,
            merged,
            retros,
            not_code,
        })
    }

    /// Only the releases deployed, and the not-a-code-change outcomes recorded, at `from` or
    /// later (`list --since`).
    pub fn keep_since(&mut self, from: jiff::Timestamp) {
        let keep: Vec<bool> = self
            .releases
            .iter()
            .map(|r| r.record.deployed_at >= from)
            .collect();
        let mut k = keep.iter();
        self.releases.retain(|_| *k.next().unwrap_or(&false));
        if let Some((_, presence)) = &mut self.merged {
            let mut k = keep.iter();
            presence.retain(|_| *k.next().unwrap_or(&false));
        }
        self.not_code.retain(|n| n.recorded_at >= from);
    }

    /// How release `i` reached the development branch (`None`: no branch to check).
    pub fn presence(&self, i: usize) -> Option<Presence> {
        self.merged.as_ref().map(|(_, p)| p[i])
    }
}

/// `1h 05m`, `3d 02h`, `42m`: a lead time a person reads at a glance.
pub fn duration_text(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, h) => format!("{h}h {m:02}m"),
        (d, h) => format!("{d}d {h:02}h"),
    }
}

pub fn presence_name(p: Option<Presence>) -> &'static str {
    match p {
        Some(Presence::Merged) => "merged",
        Some(Presence::CherryPicked) => "cherry-picked",
        Some(Presence::Missing) => "missing",
        None => "-",
    }
}

#[derive(Serialize)]
struct ListJson<'a> {
    /// The branch `merged_back` was checked against (`null`: none found).
    development: Option<&'a str>,
    /// The refs it was judged on: the newer of the local branch and its remote-tracking one.
    checked_against: Option<&'a [String]>,
    releases: Vec<ReleaseJson<'a>>,
    not_code: &'a [NotCode],
}

#[derive(Serialize)]
struct ReleaseJson<'a> {
    tag: &'a str,
    version: &'a str,
    date: String,
    severity: &'a str,
    summary: &'a str,
    branch: &'a str,
    started_at: jiff::Timestamp,
    deployed_at: jiff::Timestamp,
    lead_time_seconds: i64,
    overrides: Vec<&'a str>,
    merged_back: Option<Presence>,
    retro: Option<RetroJson<'a>>,
    /// Who signed what, for a release made under review.allowed_signers.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<SignedJson<'a>>,
}

#[derive(Serialize)]
struct SignedJson<'a> {
    approvals: Vec<&'a crate::record::SignedBy>,
    commits: &'a [crate::record::CommitSigned],
}

impl<'a> SignedJson<'a> {
    fn of(rec: &'a crate::record::ReleaseRecord) -> Option<SignedJson<'a>> {
        let approvals: Vec<_> = rec
            .approvers
            .iter()
            .filter_map(|a| a.signed_by.as_ref())
            .collect();
        (!approvals.is_empty() || !rec.signed_commits.is_empty()).then_some(SignedJson {
            approvals,
            commits: &rec.signed_commits,
        })
    }
}

/// "v1.1.1: approved by rita@example.com (SHA256:…); fix signed by ann@example.com
/// (SHA256:…)", for a release whose record carries signatures.
fn signed_line(tag: &str, rec: &crate::record::ReleaseRecord) -> Option<String> {
    let s = SignedJson::of(rec)?;
    let approved: Vec<String> = s
        .approvals
        .iter()
        .map(|a| format!("{} ({})", a.principal, a.key))
        .collect();
    let mut parts = Vec::new();
    if !approved.is_empty() {
        parts.push(format!("approved by {}", approved.join(", ")));
    }
    if !s.commits.is_empty() {
        parts.push(format!("fix signed by {}", rec.commit_signers().join(", ")));
    }
    Some(crate::record::one_line(&format!(
        "{tag}: {}",
        parts.join("; ")
    )))
}

#[derive(Serialize)]
struct RetroJson<'a> {
    cause: &'a str,
    why: &'a str,
    catch: &'a str,
    by_name: &'a str,
    by_email: &'a str,
    at: jiff::Timestamp,
}

/// `hotfix list`.
pub fn list(ctx: &Ctx, args: &crate::cli::ListArgs) -> Result<()> {
    let since = args
        .since
        .as_deref()
        .map(crate::commands::stats::parse_since)
        .transpose()?;
    let mut h = History::load(ctx)?;
    if let Some(day) = since {
        h.keep_since(crate::commands::stats::start_of_day(day)?);
    }
    let ui = ctx.ui;
    if ui.json {
        let releases = h
            .releases
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let rec = &r.record;
                ReleaseJson {
                    tag: &r.tag,
                    version: &rec.version,
                    date: day(rec.deployed_at),
                    severity: &rec.severity,
                    summary: &rec.summary,
                    branch: &rec.branch,
                    started_at: rec.started_at,
                    deployed_at: rec.deployed_at,
                    lead_time_seconds: rec.lead_time().as_secs(),
                    overrides: rec.overrides.iter().map(|o| o.gate.as_str()).collect(),
                    merged_back: h.presence(i),
                    signed: SignedJson::of(rec),
                    retro: h.retros.get(&r.tag).map(|x| RetroJson {
                        cause: &x.cause,
                        why: &x.why,
                        catch: &x.catch,
                        by_name: &x.by_name,
                        by_email: &x.by_email,
                        at: x.at,
                    }),
                }
            })
            .collect();
        ui.data(serde_json::to_string_pretty(&ListJson {
            development: h.merged.as_ref().map(|(d, _)| d.branch.as_str()),
            checked_against: h.merged.as_ref().map(|(d, _)| d.refs.as_slice()),
            releases,
            not_code: &h.not_code,
        })?);
        return Ok(());
    }

    if h.releases.is_empty() {
        match &args.since {
            Some(day) => ui.data(format!("No hotfix releases since {day}.")),
            None => ui.data("No hotfix releases yet."),
        }
    } else {
        let mut rows = vec![
            [
                "DATE", "TAG", "SEVERITY", "LEAD", "MERGED", "RETRO", "SUMMARY",
            ]
            .map(String::from),
        ];
        for (i, r) in h.releases.iter().enumerate() {
            let rec = &r.record;
            rows.push([
                day(rec.deployed_at),
                r.tag.clone(),
                rec.severity.clone(),
                duration_text(rec.lead_time().as_secs()),
                presence_name(h.presence(i)).to_string(),
                if h.retros.contains_key(&r.tag) {
                    "done"
                } else {
                    "missing"
                }
                .to_string(),
                rec.summary.clone(),
            ]);
        }
        print_table(ctx, &rows);
        let signed: Vec<String> = h
            .releases
            .iter()
            .filter_map(|r| signed_line(&r.tag, &r.record))
            .collect();
        if !signed.is_empty() {
            ui.data("");
            ui.data("Signed (review.allowed_signers):");
            for line in signed {
                ui.data(format!("  {line}"));
            }
        }
    }
    for (_, sentence) in crate::steps::reserve::local_only_releases(&ctx.repo) {
        ui.warn(sentence);
    }
    match &h.merged {
        Some((dev, _)) if !h.releases.is_empty() => {
            ui.status(format!("MERGED: whether the fix is in {}.", dev.label))
        }
        None if !h.releases.is_empty() => ui.status(
            "MERGED is unknown: no development branch found (set branches.development in hotfix.toml).",
        ),
        _ => {}
    }
    if !h.not_code.is_empty() {
        ui.data("");
        ui.data("Not a code change (closed by `hotfix start --not-code`):");
        let mut rows = vec![["DATE", "NAME", "SEVERITY", "SUMMARY"].map(String::from)];
        for n in &h.not_code {
            rows.push([
                day(n.recorded_at),
                n.name.clone(),
                n.severity.clone().unwrap_or_else(|| "-".into()),
                n.summary.clone(),
            ]);
        }
        print_table(ctx, &rows);
    }
    Ok(())
}

/// Columns padded to their widest cell (the last one is not padded); the header in bold.
fn print_table<const N: usize>(ctx: &Ctx, rows: &[[String; N]]) {
    // the cells come from release records and not-code outcomes anyone who can push wrote:
    // shown with control characters written out, never obeyed by the terminal
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.clone()
                .map(|cell| crate::ui::visible(&cell).into_owned())
        })
        .collect();
    let rows = rows.as_slice();
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (j, cell) in row.iter().enumerate() {
            if j + 1 < N {
                line.push_str(&format!("{cell:<w$}  ", w = widths[j]));
            } else {
                line.push_str(cell);
            }
        }
        let line = line.trim_end();
        ctx.ui.data(if i == 0 {
            ctx.ui.bold(line)
        } else {
            line.to_string()
        });
    }
}

/// The UTC date of a moment, `2026-03-01`.
pub fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration_text(0), "0m");
        assert_eq!(duration_text(-30), "0m");
        assert_eq!(duration_text(42 * 60 + 59), "42m");
        assert_eq!(duration_text(65 * 60), "1h 05m");
        assert_eq!(duration_text((26 * 60 + 5) * 60), "1d 02h");
    }
}
