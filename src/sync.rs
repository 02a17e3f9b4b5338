//! What the team has, as against what this clone has: the remote's hotfix records
//! (`refs/hotfix/*`) and tags.
//!
//! They are fetched into a mirror of the remote, `refs/hotfix-remote/<remote>/{hotfix,tags}/*`
//! (forced, as remote-tracking branches are: it is the remote's view), and copied from there
//! into `refs/hotfix/*` and `refs/tags/*` only where this clone has no ref of that name. So a
//! fetch never replaces a record or a tag of this clone: git itself would overwrite a record
//! (a ref to a blob is not a commit, and git checks fast-forwards only for commits), and a tag
//! that differs is reported instead of replaced. The same refspecs in `remote.<name>.fetch`
//! make a plain `git fetch` fill the mirror; hotfix copies the rest in on its next run.
//!
//! When hotfix last fetched (or tried to) is kept in `<git dir>/hotfix/last-fetch.json`:
//! derived data, so `status` does not ask the remote again within a few seconds, and can say
//! how old what it shows is. Losing the file costs one fetch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::git::{Created, Oid, Repo, TimedOut};

/// Where the mirror of each remote's records and tags lives.
pub const MIRROR: &str = "refs/hotfix-remote/";

/// The record kinds copied in from the mirror (the prefixes of `steps::review::APPROVAL_REFS`,
/// `steps::changes::CHANGES_REFS`, `commands::retro::RETRO_REFS` and `steps::confirm::NOT_CODE_REFS`; a test keeps them equal).
/// Anything else under the remote's `refs/hotfix/` stays in the mirror only.
pub const RECORD_KINDS: [&str; 4] = [
    "refs/hotfix/approvals/",
    "refs/hotfix/changes/",
    "refs/hotfix/retros/",
    "refs/hotfix/not-code/",
];

/// How long `status` waits for the remote, in all.
pub const STATUS_BOUND: Duration = Duration::from_millis(1500);
/// How long `status` trusts its last fetch before asking the remote again: a loop of status
/// runs costs one round trip per window, and an approval given meanwhile shows a moment later.
pub const STATUS_WINDOW: Duration = Duration::from_secs(5);
/// How long `status` trusts a failed try: a remote that did not answer is not waited for
/// again on every run.
pub const STATUS_FAILED_WINDOW: Duration = Duration::from_secs(30);
/// How long `list`, `stats` and `verify-merged` wait for the remote's history.
pub const HISTORY_BOUND: Duration = Duration::from_secs(5);

/// The refspecs of the mirror of `remote`: what hotfix fetches, and what `hotfix init` offers
/// for `remote.<name>.fetch`.
pub fn refspecs(remote: &str) -> [String; 2] {
    [
        format!("+refs/hotfix/*:{MIRROR}{remote}/hotfix/*"),
        format!("+refs/tags/*:{MIRROR}{remote}/tags/*"),
    ]
}

/// `+refs/heads/<branch>:refs/remotes/<remote>/<branch>`: a branch's remote-tracking ref,
/// brought up to date by the same fetch.
pub fn tracking_refspec(remote: &str, branch: &str) -> String {
    format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
}

/// The mirror refspecs missing from `remote.<remote>.fetch`.
pub fn missing_fetch_config(repo: &Repo, remote: &str) -> Vec<String> {
    let have = repo.config_multivar(&format!("remote.{remote}.fetch"));
    refspecs(remote)
        .into_iter()
        .filter(|spec| !have.iter().any(|h| h == spec))
        .collect()
}

/// Why what a command shows may be older than the remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason", content = "detail")]
pub enum Stale {
    /// `--offline` was given.
    Offline,
    /// Fetched (or tried) a moment ago; not asked again.
    Recent,
    /// The remote did not answer in time.
    TimedOut(String),
    /// The fetch failed (git's message).
    Failed(String),
}

/// What a command knows of the remote: fetched now, or as of the last fetch.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub remote: String,
    /// Fetched by this command.
    pub fetched: bool,
    /// When hotfix last fetched from it (`None`: not that this clone remembers).
    pub last_fetch: Option<Timestamp>,
    /// Why it was not fetched now.
    pub stale: Option<Stale>,
}

impl Freshness {
    /// "as of the last fetch from origin (12s ago): it did not answer within 1.5 seconds";
    /// `None` when fetched now.
    pub fn sentence(&self) -> Option<String> {
        let stale = self.stale.as_ref()?;
        let when = match self.last_fetch {
            Some(t) => format!("{} ago", ago(t)),
            None => "not by hotfix yet".to_string(),
        };
        let why = match stale {
            Stale::Offline => "--offline".to_string(),
            Stale::Recent => format!("fetched again after {} seconds", STATUS_WINDOW.as_secs()),
            Stale::TimedOut(m) | Stale::Failed(m) => m.clone(),
        };
        Some(format!(
            "as of the last fetch from {} ({when}): {why}",
            self.remote
        ))
    }
}

/// What copying in from the mirror did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Records and tags this clone did not have.
    pub created: usize,
    /// Tags whose name this clone has for another object: `(tag, here, remote's)`.
    pub tag_conflicts: Vec<(String, Oid, Oid)>,
}

/// Fetches the remote's records and tags (and the remote-tracking refs in `extra`) into the
/// mirror within `bound`, then copies in what this clone lacks. With `window`, a fetch tried
/// less than that long ago is not tried again. Never fails for the network: what it could not
/// fetch is in the [`Freshness`].
pub fn refresh(
    repo: &Repo,
    remote: &str,
    extra: &[String],
    bound: Duration,
    window: Option<Duration>,
) -> Result<(Freshness, Imported)> {
    let marker = Marker::path(repo);
    let mut marks = Marker::read(&marker);
    let last = marks.get(remote).cloned().unwrap_or_default();
    let mut freshness = Freshness {
        remote: remote.to_string(),
        fetched: false,
        last_fetch: last.fetched,
        stale: None,
    };
    let now = Timestamp::now();
    // a failed try is trusted for longer than a fetch: waiting on a dead remote is the cost
    let recent = window.is_some_and(|w| {
        let w = if last.failure.is_some() {
            w.max(STATUS_FAILED_WINDOW)
        } else {
            w
        };
        last.tried
            .is_some_and(|t| t <= now && now.duration_since(t).unsigned_abs() < w)
    });
    if repo.is_offline() {
        freshness.stale = Some(Stale::Offline);
    } else if recent {
        // what the last try found still holds: a remote that did not answer a moment ago is
        // not waited for again
        freshness.stale = Some(last.failure.map_or(Stale::Recent, Stale::Failed));
    } else {
        let mut specs: Vec<String> = refspecs(remote).into();
        specs.extend(extra.iter().cloned());
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        let result = repo.fetch_records_within(remote, &specs, bound);
        let entry = marks.entry(remote.to_string()).or_default();
        entry.tried = Some(now);
        match result {
            Ok(()) => {
                freshness.fetched = true;
                freshness.last_fetch = Some(now);
                entry.fetched = Some(now);
                entry.failure = None;
            }
            Err(e) => {
                let message = match e.downcast_ref::<TimedOut>() {
                    Some(t) => format!(
                        "{remote} did not answer within {:.1} seconds",
                        t.allowed.as_secs_f64()
                    ),
                    None => format!("{e:#}"),
                };
                entry.failure = Some(message.clone());
                freshness.stale = Some(if e.downcast_ref::<TimedOut>().is_some() {
                    Stale::TimedOut(message)
                } else {
                    Stale::Failed(message)
                });
            }
        }
        // derived data: a marker that cannot be written costs a fetch next time, nothing more
        let _ = Marker::write(&marker, &marks);
    }
    let imported = import(repo, remote)?;
    Ok((freshness, imported))
}

/// Fetches the remote's records (not its tags) into the mirror and copies in the new ones: for
/// a command that decides (approve, deploy), with the full fetch timeout.
pub fn fetch_records(repo: &Repo, remote: &str) -> Result<Imported> {
    let [records, _] = refspecs(remote);
    repo.fetch_records(remote, &[&records])?;
    import(repo, remote)
}

/// Copies the mirror's records and tags into this clone where it has none of that name.
pub fn import(repo: &Repo, remote: &str) -> Result<Imported> {
    let mut out = Imported::default();
    let base = format!("{MIRROR}{remote}/");
    for kind in RECORD_KINDS {
        let rest = kind.strip_prefix("refs/").expect("a ref prefix");
        let from = format!("{base}{rest}");
        for (name, target) in repo.refs_under(&from)? {
            let local = format!("{kind}{}", &name[from.len()..]);
            // a record of this name here stays as it is: records are never replaced
            if repo.create_ref_if_absent(&local, target, "hotfix: from the remote")?
                == Created::Created
            {
                out.created += 1;
            }
        }
    }
    let from = format!("{base}tags/");
    for (name, target) in repo.refs_under(&from)? {
        let tag = &name[from.len()..];
        match repo.create_ref_if_absent(
            &format!("refs/tags/{tag}"),
            target,
            "hotfix: tag from the remote",
        )? {
            Created::Created => out.created += 1,
            Created::Same => {}
            Created::Differs(here) => out.tag_conflicts.push((tag.to_string(), here, target)),
        }
    }
    Ok(out)
}

/// The tip of `<remote>/<branch>` as of the last fetch.
pub fn tracking_tip(repo: &Repo, remote: &str, branch: &str) -> Result<Option<Oid>> {
    repo.remote_branch_tip(&format!("{remote}/{branch}"))
}

/// Whether a branch's commits are on the remote, as of the last fetch (its remote-tracking
/// branch `<remote>/<branch>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sharing {
    pub remote: String,
    pub branch: String,
    /// The remote has a branch of this name.
    pub pushed: bool,
    /// Commits here that the remote's branch does not have.
    pub only_here: usize,
    /// Commits on the remote's branch that are not here.
    pub not_here: usize,
}

impl Sharing {
    /// `None` when there is no remote, or no branch here.
    pub fn of(repo: &Repo, branch: &str) -> Result<Option<Sharing>> {
        let Some(remote) = repo.remote_for(Some(branch))? else {
            return Ok(None);
        };
        let Some(tip) = repo.branch_tip(branch)? else {
            return Ok(None);
        };
        let (pushed, only_here, not_here) = match tracking_tip(repo, &remote, branch)? {
            None => (false, 0, 0),
            Some(there) => (
                true,
                repo.count_commits(there, tip)?,
                repo.count_commits(tip, there)?,
            ),
        };
        Ok(Some(Sharing {
            remote,
            branch: branch.to_string(),
            pushed,
            only_here,
            not_here,
        }))
    }

    /// Something of the branch exists only in this clone.
    pub fn unshared(&self) -> bool {
        !self.pushed || self.only_here > 0
    }

    /// "hotfix/x is only in this clone (not pushed to origin)"; `None` when all is shared.
    pub fn sentence(&self) -> Option<String> {
        let (b, r) = (&self.branch, &self.remote);
        let commits = |n: usize| {
            if n == 1 {
                "1 commit".to_string()
            } else {
                format!("{n} commits")
            }
        };
        Some(match (self.pushed, self.only_here, self.not_here) {
            (false, _, _) => format!("{b} is only in this clone (not pushed to {r})"),
            (true, 0, 0) => return None,
            (true, 1, 0) => {
                format!("the newest commit of {b} is only in this clone (not pushed to {r})")
            }
            (true, n, 0) => {
                format!("the newest {n} commits of {b} are only in this clone (not pushed to {r})")
            }
            (true, 0, m) => format!(
                "{r}/{b} has {} that {} not here (`git pull` brings {})",
                commits(m),
                if m == 1 { "is" } else { "are" },
                if m == 1 { "it" } else { "them" }
            ),
            (true, n, m) => format!(
                "{b} and {r}/{b} have diverged ({} only here, {} only on {r})",
                commits(n),
                commits(m)
            ),
        })
    }

    /// The push that shares the branch: `git push -u origin hotfix/x`.
    pub fn push_command(&self) -> String {
        let upstream = if self.pushed { "" } else { "-u " };
        format!(
            "git push {upstream}{} {}",
            crate::ui::shell_word(&self.remote),
            crate::ui::shell_word(&self.branch)
        )
    }
}

/// "12s", "5m", "3h", "2d": how long ago, at a glance.
fn ago(t: Timestamp) -> String {
    let s = Timestamp::now().duration_since(t).as_secs().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// One remote's line in the marker file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Mark {
    /// The last fetch that was started.
    tried: Option<Timestamp>,
    /// The last fetch that succeeded.
    fetched: Option<Timestamp>,
    /// Why the last try failed, when it did.
    failure: Option<String>,
}

struct Marker;

impl Marker {
    fn path(repo: &Repo) -> PathBuf {
        repo.common_dir().join("hotfix").join("last-fetch.json")
    }

    /// A missing or unreadable file is an empty one.
    fn read(path: &Path) -> BTreeMap<String, Mark> {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Written whole to a temporary file and renamed, so a reader never sees half of it.
    fn write(path: &Path, marks: &BTreeMap<String, Mark>) -> Result<()> {
        let dir = path.parent().expect("a folder");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &serde_json::to_vec_pretty(marks)?)?;
        tmp.persist(path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_kinds_are_the_record_prefixes() {
        assert_eq!(
            RECORD_KINDS,
            [
                crate::steps::review::APPROVAL_REFS,
                crate::steps::changes::CHANGES_REFS,
                crate::commands::retro::RETRO_REFS,
                crate::steps::confirm::NOT_CODE_REFS,
            ]
        );
    }

    #[test]
    fn mirror_refspecs_are_forced_and_outside_the_records() {
        for spec in refspecs("origin") {
            assert!(spec.starts_with('+'));
            let (_, dst) = spec.split_once(':').unwrap();
            assert!(dst.starts_with("refs/hotfix-remote/origin/"));
        }
    }
}
