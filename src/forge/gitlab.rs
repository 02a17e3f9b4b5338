//! GitLab's REST API (v4), gitlab.com and self-managed: merge requests, approvals and the
//! project's approval settings, pipelines and commit statuses.

use anyhow::Result;
use serde::Deserialize;
use serde_json::json;

use super::http::{Client, Names, encode, find_token};
use super::{
    ApprovalRules, Check, CheckState, Location, NewRequest, Request, Review, ReviewState, Reviews,
    shape,
};
use crate::error::Refusal;
use crate::git::Repo;
use crate::ui::Ui;

const TOKEN_VARS: [&str; 1] = ["GITLAB_TOKEN"];
const SCOPES: &str = "the `read_api` scope (`api` for `hotfix propose`)";

pub struct GitLab<'a> {
    pub(super) client: Client<'a>,
    /// `/projects/group%2Fsub%2Fproject`
    project: String,
}

#[derive(Deserialize)]
struct User {
    username: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct MergeRequest {
    iid: u64,
    web_url: String,
    author: Option<User>,
    sha: Option<String>,
}

#[derive(Deserialize)]
struct Approver {
    user: User,
}

#[derive(Deserialize)]
struct Approvals {
    #[serde(default)]
    approved_by: Vec<Approver>,
}

#[derive(Deserialize)]
struct Settings {
    #[serde(default)]
    reset_approvals_on_push: bool,
    #[serde(default)]
    merge_requests_disable_committers_approval: bool,
}

#[derive(Deserialize)]
struct MrCommit {
    #[serde(default)]
    author_name: String,
    #[serde(default)]
    committer_name: String,
}

#[derive(Deserialize)]
struct Pipeline {
    id: u64,
    status: String,
    #[serde(default)]
    web_url: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    id: u64,
    name: String,
    status: String,
    target_url: Option<String>,
}

fn state(status: &str) -> CheckState {
    match status {
        "success" => CheckState::Success,
        "skipped" => CheckState::Skipped,
        "failed" | "canceled" | "canceling" => CheckState::Failed(status.to_string()),
        // created, waiting_for_resource, preparing, pending, running, scheduled, manual
        _ => CheckState::Pending,
    }
}

impl<'a> GitLab<'a> {
    pub fn new(ui: &'a Ui, repo: &Repo, loc: Location) -> Result<GitLab<'a>> {
        let Some(token) = find_token(repo, &loc.api, &TOKEN_VARS, ui)? else {
            return Err(Refusal::usage(format!(
                "no GitLab token for {}: set GITLAB_TOKEN, or store one in git's credential helper for that host",
                loc.api.host
            ))
            .hint(format!("the token needs {SCOPES}; see docs/forge.md"))
            .into());
        };
        let project = format!("/projects/{}", encode(&loc.repository));
        let client = Client::new(
            ui,
            loc.api,
            token,
            Names {
                forge: "GitLab",
                repository: loc.repository,
                token_vars: "GITLAB_TOKEN",
                scopes: SCOPES,
            },
            vec![("Accept", "application/json")],
            repo.network_deadline(),
        );
        Ok(GitLab { client, project })
    }

    fn request(&self, mr: MergeRequest) -> Request {
        Request {
            number: mr.iid,
            url: mr.web_url,
            author: mr.author.map(|u| u.username).unwrap_or_default(),
            head: mr.sha.unwrap_or_default(),
        }
    }

    pub fn request_for(&self, branch: &str) -> Result<Option<Request>> {
        let path = format!(
            "{}/merge_requests?state=opened&per_page=100&source_branch={}",
            self.project,
            encode(branch)
        );
        let list = self.client.get_all(&path, None)?;
        let Some(first) = list.into_iter().next() else {
            return Ok(None);
        };
        let mr: MergeRequest = shape(&self.client, first, "the list of merge requests")?;
        Ok(Some(self.request(mr)))
    }

    pub fn reviews(&self, request: &Request) -> Result<Reviews> {
        let base = format!("{}/merge_requests/{}", self.project, request.number);
        let what = "GET approvals";
        let answer = self.client.get(&format!("{base}/approvals"))?;
        self.client.check(&answer, what)?;
        let approvals: Approvals = shape(&self.client, answer.json(&self.client, what)?, what)?;
        let reviews = approvals
            .approved_by
            .into_iter()
            .map(|a| Review {
                login: a.user.username,
                name: a.user.name,
                state: ReviewState::Approved,
                commit: None,
                url: request.url.clone(),
                at: None,
            })
            .collect();
        // The project's approval settings (a paid tier's API): unreadable means unknown, and
        // then approvals cannot be trusted to be of the commit being shipped.
        let settings = self.client.get(&format!("{}/approvals", self.project))?;
        let rules = match settings.status {
            200..=299 => {
                let s: Settings = shape(
                    &self.client,
                    settings.json(&self.client, "GET project approvals")?,
                    "the project's approval settings",
                )?;
                ApprovalRules {
                    reset_on_push: Some(s.reset_approvals_on_push),
                    committers_blocked: s.merge_requests_disable_committers_approval,
                }
            }
            401 => return Err(self.client.refusal(&settings, "GET project approvals")),
            _ => ApprovalRules::default(),
        };
        let commits = self
            .client
            .get_all(&format!("{base}/commits?per_page=100"), None)?;
        let mut commit_names = Vec::new();
        for c in commits {
            let c: MrCommit = shape(&self.client, c, "the commits of the merge request")?;
            for n in [c.author_name, c.committer_name] {
                if !n.is_empty() && !commit_names.contains(&n) {
                    commit_names.push(n);
                }
            }
        }
        Ok(Reviews {
            reviews,
            commit_logins: Vec::new(),
            commit_names,
            rules: Some(rules),
        })
    }

    pub fn checks(&self, commit: &str) -> Result<Vec<Check>> {
        let pipelines = self.client.get_all(
            &format!(
                "{}/pipelines?per_page=100&sha={}",
                self.project,
                encode(commit)
            ),
            None,
        )?;
        let mut pipelines: Vec<Pipeline> = pipelines
            .into_iter()
            .map(|v| shape(&self.client, v, "the pipelines"))
            .collect::<Result<_>>()?;
        pipelines.sort_by_key(|x| std::cmp::Reverse(x.id));
        let mut out: Vec<Check> = pipelines
            .into_iter()
            .take(1)
            .map(|p| Check {
                name: "pipeline".into(),
                state: state(&p.status),
                url: p.web_url,
            })
            .collect();
        let statuses = self.client.get_all(
            &format!(
                "{}/repository/commits/{}/statuses?per_page=100",
                self.project,
                encode(commit)
            ),
            None,
        )?;
        let mut statuses: Vec<Status> = statuses
            .into_iter()
            .map(|v| shape(&self.client, v, "the commit statuses"))
            .collect::<Result<_>>()?;
        statuses.sort_by_key(|x| std::cmp::Reverse(x.id));
        out.extend(statuses.into_iter().map(|s| Check {
            state: state(&s.status),
            url: s.target_url.unwrap_or_default(),
            name: s.name,
        }));
        Ok(out)
    }

    pub fn open_request(&self, new: &NewRequest) -> Result<Request> {
        let title = if new.draft {
            format!("Draft: {}", new.title)
        } else {
            new.title.to_string()
        };
        let body = json!({
            "source_branch": new.branch,
            "target_branch": new.base,
            "title": title,
            "description": new.body,
            "remove_source_branch": false,
        });
        let what = "POST merge_requests";
        let answer = self
            .client
            .post(&format!("{}/merge_requests", self.project), &body)?;
        if answer.status == 409
            && let Some(r) = self.request_for(new.branch)?
        {
            return Ok(r);
        }
        self.client.check(&answer, what)?;
        let mr: MergeRequest = shape(&self.client, answer.json(&self.client, what)?, what)?;
        Ok(self.request(mr))
    }
}
