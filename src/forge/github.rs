//! GitHub's REST API (v3), github.com and Enterprise: pulls, reviews, check runs, statuses.

use anyhow::Result;
use serde::Deserialize;
use serde_json::json;

use super::http::{Client, Names, encode, find_token};
use super::{
    Check, CheckState, Location, NewRequest, Request, Review, ReviewState, Reviews, shape,
};
use crate::error::Refusal;
use crate::git::Repo;
use crate::ui::Ui;

const TOKEN_VARS: [&str; 2] = ["GH_TOKEN", "GITHUB_TOKEN"];
const SCOPES: &str = "the `repo` scope, or fine-grained read access to pull requests, checks and commit statuses (write to pull requests for `hotfix propose`)";

pub struct GitHub<'a> {
    pub(super) client: Client<'a>,
    /// `owner/name`
    repository: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    user: Option<User>,
    head: Head,
}

#[derive(Deserialize)]
struct RawReview {
    #[serde(default)]
    id: u64,
    user: Option<User>,
    state: String,
    commit_id: Option<String>,
    #[serde(default)]
    html_url: String,
    submitted_at: Option<String>,
}

#[derive(Deserialize)]
struct PullCommit {
    author: Option<User>,
    committer: Option<User>,
}

#[derive(Deserialize)]
struct CheckRun {
    #[serde(default)]
    id: u64,
    name: String,
    status: String,
    conclusion: Option<String>,
    html_url: Option<String>,
    details_url: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    id: u64,
    context: String,
    state: String,
    target_url: Option<String>,
}

impl<'a> GitHub<'a> {
    pub fn new(ui: &'a Ui, repo: &Repo, loc: Location) -> Result<GitHub<'a>> {
        let Some(token) = find_token(repo, &loc.api, &TOKEN_VARS, ui)? else {
            return Err(Refusal::usage(format!(
                "no GitHub token for {}: set GH_TOKEN (or GITHUB_TOKEN), or store one in git's credential helper for that host",
                loc.api.host
            ))
            .hint(format!("the token needs {SCOPES}; see docs/forge.md"))
            .into());
        };
        let client = Client::new(
            ui,
            loc.api,
            token,
            Names {
                forge: "GitHub",
                repository: loc.repository.clone(),
                token_vars: "GH_TOKEN (or GITHUB_TOKEN)",
                scopes: SCOPES,
            },
            vec![
                ("Accept", "application/vnd.github+json"),
                ("X-GitHub-Api-Version", "2022-11-28"),
            ],
            repo.network_deadline(),
        );
        Ok(GitHub {
            client,
            repository: loc.repository,
        })
    }

    fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or_default()
    }

    fn repo_path(&self) -> String {
        let (owner, name) = self
            .repository
            .split_once('/')
            .unwrap_or((&self.repository, ""));
        format!("/repos/{}/{}", encode(owner), encode(name))
    }

    fn request(&self, p: Pull) -> Request {
        Request {
            number: p.number,
            url: p.html_url,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            head: p.head.sha,
        }
    }

    pub fn request_for(&self, branch: &str) -> Result<Option<Request>> {
        let path = format!(
            "{}/pulls?state=open&per_page=100&head={}",
            self.repo_path(),
            encode(&format!("{}:{branch}", self.owner()))
        );
        let pulls = self.client.get_all(&path, None)?;
        let Some(first) = pulls.into_iter().next() else {
            return Ok(None);
        };
        let pull: Pull = shape(&self.client, first, "the list of pull requests")?;
        Ok(Some(self.request(pull)))
    }

    pub fn reviews(&self, request: &Request) -> Result<Reviews> {
        let base = format!("{}/pulls/{}", self.repo_path(), request.number);
        let raw = self
            .client
            .get_all(&format!("{base}/reviews?per_page=100"), None)?;
        let mut raw: Vec<RawReview> = raw
            .into_iter()
            .map(|v| shape(&self.client, v, "the reviews"))
            .collect::<Result<_>>()?;
        // GitHub lists them in the order given; the id says so too
        raw.sort_by_key(|r| r.id);
        let reviews = raw
            .into_iter()
            .filter_map(|r| {
                Some(Review {
                    login: r.user?.login,
                    name: String::new(),
                    state: match r.state.as_str() {
                        "APPROVED" => ReviewState::Approved,
                        "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
                        "DISMISSED" => ReviewState::Dismissed,
                        _ => ReviewState::Other,
                    },
                    commit: r.commit_id,
                    url: r.html_url,
                    at: r.submitted_at.and_then(|t| t.parse().ok()),
                })
            })
            .collect();
        let commits = self
            .client
            .get_all(&format!("{base}/commits?per_page=100"), None)?;
        let mut commit_logins = Vec::new();
        for c in commits {
            let c: PullCommit = shape(&self.client, c, "the commits of the pull request")?;
            for u in [c.author, c.committer].into_iter().flatten() {
                // GitHub's web-flow committer is every merge through the web page, not a person
                if u.login != "web-flow" && !commit_logins.contains(&u.login) {
                    commit_logins.push(u.login);
                }
            }
        }
        Ok(Reviews {
            reviews,
            commit_logins,
            commit_names: Vec::new(),
            rules: None,
        })
    }

    pub fn checks(&self, commit: &str) -> Result<Vec<Check>> {
        let base = format!("{}/commits/{}", self.repo_path(), encode(commit));
        let runs = self.client.get_all(
            &format!("{base}/check-runs?per_page=100"),
            Some("check_runs"),
        )?;
        let mut runs: Vec<CheckRun> = runs
            .into_iter()
            .map(|v| shape(&self.client, v, "the check runs"))
            .collect::<Result<_>>()?;
        runs.sort_by_key(|x| std::cmp::Reverse(x.id));
        let mut out: Vec<Check> = runs
            .into_iter()
            .map(|r| Check {
                state: if r.status != "completed" {
                    CheckState::Pending
                } else {
                    match r.conclusion.as_deref() {
                        Some("success") => CheckState::Success,
                        Some("neutral" | "skipped") => CheckState::Skipped,
                        Some(other) => CheckState::Failed(other.to_string()),
                        None => CheckState::Pending,
                    }
                },
                url: r.html_url.or(r.details_url).unwrap_or_default(),
                name: r.name,
            })
            .collect();
        let statuses = self
            .client
            .get_all(&format!("{base}/status?per_page=100"), Some("statuses"))?;
        let mut statuses: Vec<Status> = statuses
            .into_iter()
            .map(|v| shape(&self.client, v, "the commit statuses"))
            .collect::<Result<_>>()?;
        statuses.sort_by_key(|x| std::cmp::Reverse(x.id));
        out.extend(statuses.into_iter().map(|s| Check {
            state: match s.state.as_str() {
                "success" => CheckState::Success,
                "pending" => CheckState::Pending,
                other => CheckState::Failed(other.to_string()),
            },
            url: s.target_url.unwrap_or_default(),
            name: s.context,
        }));
        Ok(out)
    }

    pub fn open_request(&self, new: &NewRequest) -> Result<Request> {
        let body = json!({
            "title": new.title,
            "head": new.branch,
            "base": new.base,
            "body": new.body,
            "draft": new.draft,
        });
        let what = "POST pulls";
        let answer = self
            .client
            .post(&format!("{}/pulls", self.repo_path()), &body)?;
        if answer.status == 422 {
            // "A pull request already exists", or a base that does not exist on GitHub
            if let Some(r) = self.request_for(new.branch)? {
                return Ok(r);
            }
            return Err(Refusal::usage(format!(
                "{} would not open a pull request of {} into {} (422): {}",
                self.client.api.host,
                new.branch,
                new.base,
                unprocessable(&answer.body)
            ))
            .hint(format!(
                "check that {} exists on GitHub and that {} was pushed",
                new.base, new.branch
            ))
            .into());
        }
        self.client.check(&answer, what)?;
        let pull: Pull = shape(&self.client, answer.json(&self.client, what)?, what)?;
        Ok(self.request(pull))
    }
}

/// GitHub's validation failure as one phrase.
fn unprocessable(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let mut parts: Vec<String> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect();
    if parts.is_empty()
        && let Some(m) = v["message"].as_str()
    {
        parts.push(m.to_string());
    }
    let text = parts.join("; ");
    text.chars().take(200).collect()
}
