//! Learning from hotfixes: the facts behind the delivery figures and the post-incident review.
//!
//! - every production release with its date (for the change failure rate: hotfix releases
//!   among all production releases);
//! - where a fix's bug came from: the commits that last touched the lines the fix changed or
//!   removed, as of the base (git blame), the release that first shipped each, and the pull
//!   request its message names;
//! - when an incident began (`start --detected`), for time to restore.
//!
//! Nothing here knows of commands: `retro` and `stats` ask, and judge.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::Refusal;
use crate::git::{Oid, Repo};
use crate::record::ReleaseRecord;
use crate::version;

/// How many origin commits a proposal names at most (the ones that touched most lines).
const MOST_ORIGINS: usize = 5;

/// A production release: a stable version tag under `release.tag_pattern`.
#[derive(Debug, Clone)]
pub struct ProductionRelease {
    pub tag: String,
    pub version: semver::Version,
    pub commit: Oid,
    /// When it was made: the tag's date (the tagger's time, else the commit's), which stands
    /// for the deploy date where no record says otherwise.
    pub at: jiff::Timestamp,
}

/// The production tag pattern of this repository: `hotfix.toml` in the working tree, else the
/// default (a bare repository has no working tree).
pub fn tag_pattern(repo: &Repo) -> Result<String> {
    let config = match repo.workdir() {
        Ok(root) => crate::config::Config::load(root)?,
        Err(_) => crate::config::Config::default(),
    };
    Ok(config.release.tag_pattern)
}

/// Every production release (pre-releases left out), oldest version first.
pub fn production_releases(repo: &Repo, pattern: &str) -> Result<Vec<ProductionRelease>> {
    let names: Vec<(String, semver::Version)> = repo
        .tag_names(pattern)?
        .into_iter()
        .filter_map(|name| {
            let v = version::version_of(&name, pattern)?;
            version::is_stable(&v).then_some((name, v))
        })
        .collect();
    let plain: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
    let dated = repo.dated_tags(&plain)?;
    let mut out: Vec<ProductionRelease> = dated
        .into_iter()
        .filter_map(|d| {
            let version = names.iter().find(|(n, _)| *n == d.name)?.1.clone();
            Some(ProductionRelease {
                tag: d.name,
                version,
                commit: d.commit,
                at: d.at,
            })
        })
        .collect();
    out.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.tag.cmp(&b.tag)));
    Ok(out)
}

/// Where the bug a hotfix removed came from, as proposed from blame or as the reviewer said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The commits, most lines first.
    pub commits: Vec<OriginCommit>,
    /// True when the reviewer confirmed the proposal or named the commits.
    pub confirmed: bool,
    /// `blame` (proposed from the lines the fix changed) or `reviewer` (named by hand).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginCommit {
    pub commit: String,
    pub summary: String,
    pub author: String,
    /// The first production release that shipped it (`None`: no release contains it, or it
    /// is older than every release tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The pull (merge) request its message names: `#123` (GitHub) or `!123` (GitLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// How many of the lines the fix changed it had last touched (0 when named by hand).
    #[serde(default)]
    pub lines: u32,
    /// The files those lines are in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

/// The proposal for a release: blame, as of the base, of the lines the fix changed or removed.
/// `releases` are the production releases (for "first shipped in").
pub fn propose_origin(
    repo: &Repo,
    record: &ReleaseRecord,
    releases: &[ProductionRelease],
) -> Result<Origin> {
    let base = Oid::from_str(&record.base_commit)?;
    let commit = Oid::from_str(&record.commit)?;
    let lines = repo.old_lines_changed(base, commit)?;
    let blamed = repo.blame_at(base, &lines)?;
    let mut commits = Vec::new();
    for b in blamed.into_iter().take(MOST_ORIGINS) {
        let mut c = describe(repo, b.commit, releases)?;
        c.lines = b.lines;
        c.paths = b.paths;
        commits.push(c);
    }
    Ok(Origin {
        commits,
        confirmed: false,
        source: "blame".into(),
    })
}

/// An origin commit named by the reviewer (any revision).
pub fn named_origin(
    repo: &Repo,
    revs: &[String],
    releases: &[ProductionRelease],
) -> Result<Origin> {
    let mut commits = Vec::new();
    for rev in revs {
        let id = repo.resolve_commit(rev)?.ok_or_else(|| {
            Refusal::usage(format!("`{rev}` is not a commit in this repository"))
                .hint("name the commit the bug came from by its id, e.g. --origin 3f2a9c1")
        })?;
        commits.push(describe(repo, id, releases)?);
    }
    Ok(Origin {
        commits,
        confirmed: true,
        source: "reviewer".into(),
    })
}

fn describe(repo: &Repo, id: Oid, releases: &[ProductionRelease]) -> Result<OriginCommit> {
    let info = repo.commit_info(id)?;
    let message = repo.commit_message(id)?;
    Ok(OriginCommit {
        commit: id.to_string(),
        summary: info.summary,
        author: format!("{} <{}>", info.author.name, info.author.email),
        release: first_release_with(repo, id, releases)?,
        pull_request: pull_request_of(&message),
        lines: 0,
        paths: Vec::new(),
    })
}

/// The oldest production release (by version) whose commit contains `commit`.
fn first_release_with(
    repo: &Repo,
    commit: Oid,
    releases: &[ProductionRelease],
) -> Result<Option<String>> {
    for r in releases {
        if repo.is_ancestor(commit, r.commit)? {
            return Ok(Some(r.tag.clone()));
        }
    }
    Ok(None)
}

/// The pull or merge request a commit message names, as the forges write it: GitHub's merge
/// commit ("Merge pull request #123 from …") and squash subject ("Fix it (#123)"), GitLab's
/// "See merge request group/project!123".
pub fn pull_request_of(message: &str) -> Option<String> {
    let first = message.lines().next().unwrap_or_default();
    if let Some(rest) = first.strip_prefix("Merge pull request #") {
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !n.is_empty() {
            return Some(format!("#{n}"));
        }
    }
    if let Some(open) = first.trim_end().strip_suffix(')')
        && let Some(at) = open.rfind("(#")
    {
        let n = &open[at + 2..];
        if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
            return Some(format!("#{n}"));
        }
    }
    for line in message.lines() {
        if let Some(rest) = line.trim().strip_prefix("See merge request ")
            && let Some((_, n)) = rest.rsplit_once('!')
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
        {
            return Some(format!("!{n}"));
        }
    }
    None
}

/// `--detected`: an RFC 3339 time, or a time ago ("40m ago", "2h ago", "1d ago", "90 minutes
/// ago"). It must not be later than `now`.
pub fn parse_detected(text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp> {
    let bad = || -> anyhow::Error {
        Refusal::usage(format!(
            "--detected {text} is neither an RFC 3339 time nor a time ago such as \"40m ago\""
        ))
        .hint("for example --detected \"40m ago\" or --detected 2026-12-01T02:10:00Z")
        .into()
    };
    let t = match text.trim().strip_suffix("ago") {
        Some(amount) => ago(amount.trim())
            .and_then(|d| now.checked_sub(d).ok())
            .ok_or_else(bad)?,
        None => text.trim().parse::<jiff::Timestamp>().map_err(|_| bad())?,
    };
    if t > now {
        return Err(Refusal::usage(format!(
            "--detected {text} is in the future; it says when the incident began"
        ))
        .into());
    }
    Ok(t)
}

/// "40m", "2 h", "90 minutes", "1d" as a duration.
fn ago(amount: &str) -> Option<jiff::SignedDuration> {
    let split = amount.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = amount.split_at(split);
    let n: i64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    Some(jiff::SignedDuration::from_secs(n.checked_mul(secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_requests_as_forges_write_them() {
        assert_eq!(
            pull_request_of("Merge pull request #42 from ann/fix\n\nFix it"),
            Some("#42".into())
        );
        assert_eq!(
            pull_request_of("Average price (#1234)\n"),
            Some("#1234".into())
        );
        assert_eq!(
            pull_request_of("Cart totals\n\nSee merge request shop/web!77\n"),
            Some("!77".into())
        );
        assert_eq!(pull_request_of("Fix #12 in the cart"), None);
        assert_eq!(pull_request_of("Average price (#)"), None);
        assert_eq!(pull_request_of(""), None);
    }

    #[test]
    fn detected_times() {
        let now: jiff::Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let at = |s: &str| parse_detected(s, now).map(|t| t.to_string());
        assert_eq!(at("40m ago").unwrap(), "2026-12-01T11:20:00Z");
        assert_eq!(at("2 hours ago").unwrap(), "2026-12-01T10:00:00Z");
        assert_eq!(at("1d ago").unwrap(), "2026-11-30T12:00:00Z");
        assert_eq!(at("2026-12-01T09:30:00Z").unwrap(), "2026-12-01T09:30:00Z");
        assert_eq!(
            at("2026-12-01T10:30:00+01:00").unwrap(),
            "2026-12-01T09:30:00Z"
        );
        for bad in [
            "yesterday",
            "40 ago",
            "m ago",
            "2026-12-02T00:00:00Z",
            "99999999999999d ago",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }
}
