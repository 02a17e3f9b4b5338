//! The forge the team reviews and tests in: GitHub (github.com and Enterprise, REST v3) or
//! GitLab (gitlab.com and self-managed, REST v4).
//!
//! [`Forge`] answers the few questions the gates ask — the request for this branch, its
//! reviews, the checks of this commit — and opens a request. The answers are plain types
//! ([`Request`], [`Review`], [`Check`]); no HTTP or JSON shape leaves this module. Which forge,
//! its API URL and the repository come from `[forge]` in the policy, else from the remote's URL.

mod github;
mod gitlab;
mod http;

use anyhow::Result;

pub use http::{ApiUrl, Offline};

use crate::config::{self, ForgeKind};
use crate::error::Refusal;
use crate::git::Repo;
use crate::ui::Ui;

/// A pull request (GitHub) or merge request (GitLab).
#[derive(Debug, Clone)]
pub struct Request {
    pub number: u64,
    pub url: String,
    /// The login of who opened it.
    pub author: String,
    /// The commit at its head now.
    pub head: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    /// An approval or change request taken back by a maintainer.
    Dismissed,
    /// A comment, or a review still pending: says nothing about approval.
    Other,
}

/// One review of a request, oldest first in [`Reviews::reviews`].
#[derive(Debug, Clone)]
pub struct Review {
    pub login: String,
    /// The display name, where the forge gives it with the review (GitLab).
    pub name: String,
    pub state: ReviewState,
    /// The commit the review was given for (GitHub's `commit_id`); GitLab's approvals name none.
    pub commit: Option<String>,
    pub url: String,
    pub at: Option<jiff::Timestamp>,
}

/// What GitLab promises about the approvals of a project (GitHub's reviews name their commit
/// and need none of this).
#[derive(Debug, Clone, Default)]
pub struct ApprovalRules {
    /// `reset_approvals_on_push`: a push takes every approval back. `None`: the project's
    /// approval settings could not be read.
    pub reset_on_push: Option<bool>,
    /// `merge_requests_disable_committers_approval`: GitLab itself refuses committers' approvals.
    pub committers_blocked: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Reviews {
    pub reviews: Vec<Review>,
    /// Logins of the authors and committers of the request's commits (GitHub).
    pub commit_logins: Vec<String>,
    /// Names of the authors and committers of the request's commits (GitLab gives no logins).
    pub commit_names: Vec<String>,
    /// GitLab only.
    pub rules: Option<ApprovalRules>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState {
    Success,
    /// Queued, running, or waiting for a manual start.
    Pending,
    /// Skipped or neutral: ran to no verdict.
    Skipped,
    /// Failed, errored, cancelled, timed out: how, as the forge says it.
    Failed(String),
}

/// One check run, commit status or pipeline of a commit.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub url: String,
}

/// A request to open.
pub struct NewRequest<'a> {
    pub branch: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub draft: bool,
}

/// The forge of a repository, with its token found.
pub enum Forge<'a> {
    GitHub(github::GitHub<'a>),
    GitLab(gitlab::GitLab<'a>),
}

/// Where the forge is, before any token or network: from `[forge]` and the remote's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub kind: ForgeKind,
    pub api: ApiUrl,
    pub repository: String,
}

impl Location {
    /// The forge of `remote_url` under `policy`; `None` when there is none (kind "none", or
    /// detected from a remote that is not on github.com or gitlab.com, or a local path).
    pub fn find(policy: &config::Forge, remote_url: Option<&str>) -> Result<Option<Location>> {
        let remote = remote_url.and_then(parse_remote);
        let kind = match policy.kind {
            ForgeKind::None => return Ok(None),
            ForgeKind::Detect => match remote.as_ref().map(|(h, _)| h.as_str()) {
                Some("github.com") => ForgeKind::Github,
                Some("gitlab.com") => ForgeKind::Gitlab,
                _ => return Ok(None),
            },
            k => k,
        };
        let name = kind_name(kind);
        let api = if policy.api_url.is_empty() {
            let host = remote.as_ref().map(|(h, _)| h.as_str());
            let url = match (kind, host) {
                (ForgeKind::Github, Some("github.com") | None) => {
                    "https://api.github.com".to_string()
                }
                (ForgeKind::Github, Some(h)) => format!("https://{h}/api/v3"),
                (_, Some(h)) => format!("https://{h}/api/v4"),
                (_, None) => "https://gitlab.com/api/v4".to_string(),
            };
            ApiUrl::parse(&url).map_err(|e| {
                Refusal::usage(format!("cannot make {name}'s API URL from the remote: {e}"))
                    .hint("set forge.api_url in hotfix.toml")
            })?
        } else {
            ApiUrl::parse(&policy.api_url).map_err(|e| {
                Refusal::usage(format!("forge.api_url: {e}")).hint("fix hotfix.toml")
            })?
        };
        let repository = if !policy.repository.is_empty() {
            policy.repository.clone()
        } else if let Some((_, path)) = &remote
            && path.split('/').filter(|p| !p.is_empty()).count() >= 2
        {
            path.clone()
        } else {
            return Err(Refusal::usage(format!(
                "cannot tell which {name} repository this is: the remote's URL names none"
            ))
            .hint("set forge.repository in hotfix.toml (\"owner/name\" or \"group/sub/project\")")
            .into());
        };
        Ok(Some(Location {
            kind,
            api,
            repository,
        }))
    }
}

pub fn kind_name(kind: ForgeKind) -> &'static str {
    match kind {
        ForgeKind::Gitlab => "GitLab",
        _ => "GitHub",
    }
}

/// `(host, "owner/name")` of a remote URL (https, ssh, git, or scp-like `git@host:owner/name`);
/// `None` for a local path or file URL.
pub fn parse_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (authority, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(
            scheme,
            "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git"
        ) {
            return None;
        }
        let (authority, path) = rest.split_at(rest.find('/')?);
        (authority, path)
    } else {
        // scp-like: [user@]host:path, where the host has no slash before the colon
        let (authority, path) = url.split_once(':')?;
        if authority.contains('/') || authority.is_empty() || path.starts_with("//") {
            return None;
        }
        (authority, path)
    };
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    if host.is_empty() {
        return None;
    }
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    Some((host.to_ascii_lowercase(), path.to_string()))
}

impl<'a> Forge<'a> {
    /// The forge of this repository under `policy` (the `[forge]` of the hotfix's policy), its
    /// token found; `None` when there is no forge. Refused with `--offline`, with no token, or
    /// with a `[forge]` that cannot be used.
    pub fn open(
        ui: &'a Ui,
        repo: &Repo,
        policy: &config::Forge,
        branch: Option<&str>,
    ) -> Result<Option<Forge<'a>>> {
        let remote_url = match repo.remote_for(branch)? {
            Some(r) => repo.remote_url(&r)?,
            None => None,
        };
        let Some(loc) = Location::find(policy, remote_url.as_deref())? else {
            return Ok(None);
        };
        if repo.is_offline() {
            return Err(Offline {
                host: loc.api.host.clone(),
            }
            .into());
        }
        Ok(Some(match loc.kind {
            ForgeKind::Gitlab => Forge::GitLab(gitlab::GitLab::new(ui, repo, loc)?),
            _ => Forge::GitHub(github::GitHub::new(ui, repo, loc)?),
        }))
    }

    pub fn host(&self) -> &str {
        &self.client().api.host
    }

    /// "GitHub", "GitLab".
    pub fn name(&self) -> &'static str {
        self.client().names.forge
    }

    /// "pull request", "merge request".
    pub fn request_noun(&self) -> &'static str {
        match self {
            Forge::GitHub(_) => "pull request",
            Forge::GitLab(_) => "merge request",
        }
    }

    fn client(&self) -> &http::Client<'a> {
        match self {
            Forge::GitHub(g) => &g.client,
            Forge::GitLab(g) => &g.client,
        }
    }

    /// The open request whose head is `branch` (in the repository itself, not a fork).
    pub fn request_for(&self, branch: &str) -> Result<Option<Request>> {
        match self {
            Forge::GitHub(g) => g.request_for(branch),
            Forge::GitLab(g) => g.request_for(branch),
        }
    }

    /// The request's reviews, oldest first, and who made its commits.
    pub fn reviews(&self, request: &Request) -> Result<Reviews> {
        match self {
            Forge::GitHub(g) => g.reviews(request),
            Forge::GitLab(g) => g.reviews(request),
        }
    }

    /// The checks, statuses and pipelines reported for `commit`, the newest of each name.
    pub fn checks(&self, commit: &str) -> Result<Vec<Check>> {
        let mut all = match self {
            Forge::GitHub(g) => g.checks(commit)?,
            Forge::GitLab(g) => g.checks(commit)?,
        };
        // the newest of a name comes first from both forges; keep that one
        let mut seen = std::collections::HashSet::new();
        all.retain(|c| seen.insert(c.name.clone()));
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Opens a request; the caller has looked for an existing one first.
    pub fn open_request(&self, new: &NewRequest) -> Result<Request> {
        match self {
            Forge::GitHub(g) => g.open_request(new),
            Forge::GitLab(g) => g.open_request(new),
        }
    }
}

/// Turns a JSON answer into a plain type, or the sentence that says the forge answered in a
/// shape hotfix does not know.
pub(crate) fn shape<T: serde::de::DeserializeOwned>(
    client: &http::Client,
    value: serde_json::Value,
    what: &str,
) -> Result<T> {
    serde_json::from_value(value).map_err(|e| {
        Refusal::usage(format!(
            "{} answered {what} in a shape hotfix does not know ({e}); is forge.api_url the {} API?",
            client.api.host, client.names.forge
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes() {
        let gh = Some(("github.com".to_string(), "acme/app".to_string()));
        assert_eq!(parse_remote("git@github.com:acme/app.git"), gh);
        assert_eq!(parse_remote("https://github.com/acme/app"), gh);
        assert_eq!(parse_remote("https://token@github.com/acme/app.git/"), gh);
        assert_eq!(parse_remote("ssh://git@github.com:22/acme/app.git"), gh);
        assert_eq!(
            parse_remote("git@gitlab.com:group/sub/project.git"),
            Some(("gitlab.com".into(), "group/sub/project".into()))
        );
        assert_eq!(parse_remote("/srv/git/app.git"), None);
        assert_eq!(parse_remote("../origin.git"), None);
        assert_eq!(parse_remote("file:///srv/app.git"), None);
    }

    #[test]
    fn locations() {
        let none = config::Forge::default();
        let find = |p: &config::Forge, url: &str| Location::find(p, Some(url)).unwrap();
        let gh = find(&none, "git@github.com:acme/app.git").unwrap();
        assert_eq!(gh.kind, ForgeKind::Github);
        assert_eq!(gh.api.join(""), "https://api.github.com");
        assert_eq!(gh.repository, "acme/app");
        let gl = find(&none, "https://gitlab.com/g/s/p.git").unwrap();
        assert_eq!(gl.api.join(""), "https://gitlab.com/api/v4");
        assert!(find(&none, "git@git.example.com:acme/app.git").is_none());
        assert!(find(&none, "/srv/app.git").is_none());
        let ghe = config::Forge {
            kind: ForgeKind::Github,
            ..Default::default()
        };
        assert_eq!(
            find(&ghe, "git@git.example.com:acme/app.git")
                .unwrap()
                .api
                .join(""),
            "https://git.example.com/api/v3"
        );
        let off = config::Forge {
            kind: ForgeKind::None,
            ..Default::default()
        };
        assert!(find(&off, "git@github.com:acme/app.git").is_none());
        // a local path with an explicit kind needs the repository named
        assert!(Location::find(&ghe, Some("/srv/app.git")).is_err());
    }
}
