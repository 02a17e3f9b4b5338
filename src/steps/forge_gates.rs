//! The review and test gates when the forge is the gate (`review.via = "forge"`,
//! `test.via = "forge"`): the step asks the forge its questions and judges the answers here.
//!
//! Review: an approval counts when it is the reviewer's latest approving or changes-requesting
//! review, was given for a commit whose tree is the tree being shipped, and the reviewer is
//! neither the request's author nor an author of one of its commits. GitLab's approvals name no
//! commit: they count only while the project resets approvals on push and the request's head is
//! the commit being shipped.
//!
//! Test: the required checks (`test.checks`; empty: every check reported, at least one) must
//! have succeeded for the exact commit being shipped.
//!
//! What the forge said is kept for the rest of the command ([`remember`]), so a deploy records
//! the reviews and checks it judged, without asking again after the deploy command ran.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::app::Ctx;
use crate::error::Refusal;
use crate::forge::{Check, CheckState, Forge, Offline, Request, ReviewState, Reviews};
use crate::git::{Oid, short};
use crate::record;
use crate::state::Hotfix;
use crate::steps::GateView;

/// One approval that counts.
#[derive(Debug, Clone)]
pub struct Counted {
    pub login: String,
    /// The commit it was given for (GitHub), else the request's head (GitLab).
    pub commit: String,
    pub url: String,
    pub at: Option<jiff::Timestamp>,
}

/// The review gate's reading of one request.
#[derive(Debug, Default)]
struct ReviewVerdict {
    counted: Vec<Counted>,
    /// (login, commit): approved a commit with another tree.
    stale: Vec<(String, String)>,
    /// Whose latest word is "changes requested".
    changes: Vec<String>,
    /// Approvals by the request's author or an author of its commits.
    own: Vec<String>,
    /// (login, commit): approved a commit this clone cannot find, even after a fetch.
    unseen: Vec<(String, String)>,
    /// Why GitLab's approvals do not count at all, when they do not.
    gitlab: Option<String>,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Reads the reviews: the latest approving, changes-requesting or dismissed review of each
/// reviewer decides; `tree_of` gives the tree of a commit (None when it cannot be found).
fn judge_reviews(
    request: &Request,
    reviews: &Reviews,
    tip: Oid,
    tree: Oid,
    allow_self: bool,
    tree_of: &mut dyn FnMut(&str) -> Option<Oid>,
) -> ReviewVerdict {
    let mut v = ReviewVerdict::default();
    let mut latest: Vec<&crate::forge::Review> = Vec::new();
    for r in &reviews.reviews {
        if r.state == ReviewState::Other {
            continue;
        }
        match latest.iter_mut().find(|l| same(&l.login, &r.login)) {
            Some(l) => *l = r,
            None => latest.push(r),
        }
    }
    let authored = |login: &str, name: &str| {
        same(login, &request.author)
            || reviews.commit_logins.iter().any(|l| same(l, login))
            || (!name.is_empty() && reviews.commit_names.iter().any(|n| same(n, name)))
    };
    if let Some(rules) = &reviews.rules {
        if rules.reset_on_push != Some(true) {
            v.gitlab = Some(match rules.reset_on_push {
                None => "GitLab's approvals name no commit, and the project's approval settings could not be read, so hotfix cannot tell that an approval is of the commit being shipped (docs/forge.md)".to_string(),
                Some(_) => "GitLab's approvals name no commit, and this project does not reset approvals on push (Settings → Merge requests → \"Remove all approvals when commits are added\"), so they cannot count".to_string(),
            });
            return v;
        }
        if request.head != tip.to_string() {
            v.gitlab = Some(format!(
                "the merge request's head is {}, not the commit being shipped ({}); push the branch so the approvals are of it",
                short_str(&request.head),
                short(tip)
            ));
            return v;
        }
        // GitLab refuses committers' approvals itself when the project says so; otherwise the
        // names the commits carry are all there is to compare
        let names = if rules.committers_blocked {
            Vec::new()
        } else {
            reviews.commit_names.clone()
        };
        for r in latest {
            let own = same(&r.login, &request.author)
                || (!r.name.is_empty() && names.iter().any(|n| same(n, &r.name)));
            if own && !allow_self {
                v.own.push(r.login.clone());
            } else {
                v.counted.push(Counted {
                    login: r.login.clone(),
                    commit: request.head.clone(),
                    url: r.url.clone(),
                    at: r.at,
                });
            }
        }
        return v;
    }
    for r in latest {
        match r.state {
            ReviewState::ChangesRequested => v.changes.push(r.login.clone()),
            ReviewState::Approved => {
                if authored(&r.login, &r.name) && !allow_self {
                    v.own.push(r.login.clone());
                    continue;
                }
                let Some(commit) = r.commit.clone() else {
                    v.unseen.push((r.login.clone(), String::new()));
                    continue;
                };
                match tree_of(&commit) {
                    Some(t) if t == tree => v.counted.push(Counted {
                        login: r.login.clone(),
                        commit,
                        url: r.url.clone(),
                        at: r.at,
                    }),
                    Some(_) => v.stale.push((r.login.clone(), commit)),
                    None => v.unseen.push((r.login.clone(), commit)),
                }
            }
            _ => {}
        }
    }
    v
}

fn short_str(commit: &str) -> String {
    Oid::from_str(commit)
        .map(short)
        .unwrap_or_else(|_| commit.chars().take(10).collect())
}

/// What the forge said in this command, by hotfix branch and tip.
#[derive(Clone)]
enum Said {
    Review(Vec<Counted>),
    Test(Vec<Check>),
}

/// (hotfix branch, tip, is the review gate)
type SaidKey = (String, String, bool);

static SAID: Mutex<Option<HashMap<SaidKey, Said>>> = Mutex::new(None);

fn remember(h: &Hotfix, tip: Oid, said: Said) {
    let review = matches!(said, Said::Review(_));
    if let Ok(mut m) = SAID.lock() {
        m.get_or_insert_with(HashMap::new)
            .insert((h.branch.clone(), tip.to_string(), review), said);
    }
}

fn recall(h: &Hotfix, tip: Oid, review: bool) -> Option<Said> {
    SAID.lock()
        .ok()?
        .as_ref()?
        .get(&(h.branch.clone(), tip.to_string(), review))
        .cloned()
}

/// The forge of this hotfix (its policy's `[forge]`), or the gate's view of why there is none.
fn forge_for<'a>(
    ctx: &'a Ctx,
    h: &Hotfix,
    gate: &'static str,
) -> Result<std::result::Result<Forge<'a>, GateView>> {
    let key = if gate == "review" {
        "review.via"
    } else {
        "test.via"
    };
    match Forge::open(ctx.ui, &ctx.repo, &h.policy.forge, Some(&h.branch)) {
        Ok(Some(f)) => Ok(Ok(f)),
        Ok(None) => Ok(Err(GateView {
            gate,
            passed: false,
            reason: format!(
                "{key} is \"forge\", but this repository has no forge: its remote is not on github.com or gitlab.com and [forge] sets no kind"
            ),
            next: Some(
                "set `[forge]` kind, api_url and repository in hotfix.toml (docs/forge.md)".into(),
            ),
        })),
        Err(e) if e.downcast_ref::<Offline>().is_some() => Ok(Err(GateView {
            gate,
            passed: false,
            reason: format!("not checked: {e}, and this gate is on the forge"),
            next: Some("run it again without `--offline`".into()),
        })),
        Err(e) => Err(e),
    }
}

/// The review gate on the forge, for the tree at `tip`.
pub fn review(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid) -> Result<GateView> {
    let forge = match forge_for(ctx, h, "review")? {
        Ok(f) => f,
        Err(view) => return Ok(view),
    };
    let noun = forge.request_noun();
    let Some(request) = forge.request_for(&h.branch)? else {
        return Ok(GateView {
            gate: "review",
            passed: false,
            reason: format!("no open {noun} of {} on {} yet", h.branch, forge.host()),
            next: Some("hotfix propose".into()),
        });
    };
    let reviews = forge.reviews(&request)?;
    let remote = ctx.repo.remote_for(Some(&h.branch))?;
    let mut fetched = false;
    let mut tree_of = |commit: &str| -> Option<Oid> {
        let oid = Oid::from_str(commit).ok()?;
        if oid == tip {
            return Some(tree);
        }
        if let Ok(Some(c)) = ctx.repo.resolve_commit(commit) {
            return ctx.repo.tree_of(c).ok();
        }
        // a commit pushed from another clone: one fetch of the request's head brings it
        if !fetched && let Some(r) = &remote {
            fetched = true;
            ctx.ui.verbose(format!("fetching {r} for reviewed commits"));
            let head = match &forge {
                Forge::GitHub(_) => format!("refs/pull/{}/head", request.number),
                Forge::GitLab(_) => format!("refs/merge-requests/{}/head", request.number),
            };
            let _ = ctx.repo.fetch_records(r, &[&head]);
            let _ = ctx.repo.fetch_records(r, &[commit]);
        }
        let c = ctx.repo.resolve_commit(commit).ok()??;
        ctx.repo.tree_of(c).ok()
    };
    let v = judge_reviews(
        &request,
        &reviews,
        tip,
        tree,
        h.policy.review.allow_self_approval,
        &mut tree_of,
    );
    remember(h, tip, Said::Review(v.counted.clone()));
    let need = h.policy.review.approvals.max(1) as usize;
    let who = |list: &[Counted]| {
        list.iter()
            .map(|c| format!("@{} for {}", c.login, short_str(&c.commit)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if v.counted.len() >= need {
        return Ok(GateView {
            gate: "review",
            passed: true,
            reason: format!("approved by {} ({})", who(&v.counted), request.url),
            next: None,
        });
    }
    let mut parts = Vec::new();
    if let Some(why) = &v.gitlab {
        parts.push(why.clone());
    } else if v.counted.is_empty() {
        parts.push(if need > 1 {
            format!("0 of {need} approvals")
        } else {
            "not approved yet".to_string()
        });
    } else {
        parts.push(format!(
            "{} of {need} approvals ({})",
            v.counted.len(),
            who(&v.counted)
        ));
    }
    for (login, commit) in &v.stale {
        parts.push(format!(
            "@{login} approved {}, an older tree; ask for a new review",
            short_str(commit)
        ));
    }
    for login in &v.changes {
        parts.push(format!("@{login} requested changes"));
    }
    for login in &v.own {
        parts.push(format!(
            "the approval by @{login} does not count: an author of the fix cannot approve it"
        ));
    }
    for (login, commit) in &v.unseen {
        parts.push(format!(
            "@{login} approved {}, which this clone cannot find; fetch it",
            if commit.is_empty() {
                "no named commit".to_string()
            } else {
                short_str(commit)
            }
        ));
    }
    parts.push(format!("{noun}: {}", request.url));
    Ok(GateView {
        gate: "review",
        passed: false,
        reason: parts.join("; "),
        next: Some(format!(
            "a teammate who did not work on the fix approves the {noun} on {} at {}, then `hotfix status`",
            forge.name(),
            short(tip)
        )),
    })
}

/// The test gate's reading of a commit's checks.
#[derive(Debug, Default)]
struct TestVerdict {
    passed: Vec<Check>,
    pending: Vec<String>,
    failed: Vec<Check>,
}

fn judge_checks(required: &[String], checks: &[Check]) -> TestVerdict {
    let mut v = TestVerdict::default();
    if required.is_empty() {
        for c in checks {
            match &c.state {
                CheckState::Success => v.passed.push(c.clone()),
                CheckState::Pending => v.pending.push(c.name.clone()),
                CheckState::Skipped => {}
                CheckState::Failed(_) => v.failed.push(c.clone()),
            }
        }
        return v;
    }
    for name in required {
        match checks.iter().find(|c| &c.name == name) {
            None => v.pending.push(name.clone()),
            Some(c) => match &c.state {
                CheckState::Success => v.passed.push(c.clone()),
                CheckState::Pending => v.pending.push(c.name.clone()),
                CheckState::Skipped => v.failed.push(Check {
                    state: CheckState::Failed("skipped".into()),
                    ..c.clone()
                }),
                CheckState::Failed(_) => v.failed.push(c.clone()),
            },
        }
    }
    v
}

fn failure_text(c: &Check) -> String {
    let how = match &c.state {
        CheckState::Failed(how) => how.as_str(),
        _ => "failed",
    };
    if c.url.is_empty() {
        format!("`{}` {how}", c.name)
    } else {
        format!("`{}` {how} ({})", c.name, c.url)
    }
}

/// One reading of CI for `tip`: Ok(passed checks), or the phrase saying what is missing and
/// whether it is still running.
enum Reading {
    Passed(Vec<Check>),
    Waiting(String),
    Failed(String),
}

fn read_ci(ctx: &Ctx, forge: &Forge, h: &Hotfix, tip: Oid) -> Result<Reading> {
    let checks = forge.checks(&tip.to_string())?;
    let v = judge_checks(&h.policy.test.checks, &checks);
    if !v.failed.is_empty() {
        let list: Vec<String> = v.failed.iter().map(failure_text).collect();
        return Ok(Reading::Failed(format!(
            "CI failed on {}: {}",
            short(tip),
            list.join(", ")
        )));
    }
    if !checks.is_empty() && v.pending.is_empty() && v.passed.is_empty() {
        return Ok(Reading::Failed(format!(
            "CI passed nothing on {}: every check reported was skipped ({})",
            short(tip),
            names(&checks)
        )));
    }
    if checks.is_empty() {
        let pushed = match ctx.repo.remote_for(Some(&h.branch))? {
            Some(r) => ctx.repo.remote_branch_tip(&format!("{r}/{}", h.branch))? == Some(tip),
            None => false,
        };
        let push = if pushed {
            ""
        } else {
            " (is it pushed? `hotfix propose` pushes it)"
        };
        return Ok(Reading::Waiting(format!(
            "waiting for CI: {} reports no check for {} yet{push}",
            forge.host(),
            short(tip)
        )));
    }
    if !v.pending.is_empty() {
        let done = v.passed.len();
        let total = done + v.pending.len();
        return Ok(Reading::Waiting(format!(
            "waiting for CI: {done} of {total} checks passed, waiting for {}",
            v.pending.join(", ")
        )));
    }
    remember(h, tip, Said::Test(v.passed.clone()));
    Ok(Reading::Passed(v.passed))
}

fn names(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The test gate on the forge, for the commit at `tip`.
pub fn test(ctx: &Ctx, h: &Hotfix, tip: Oid) -> Result<GateView> {
    let forge = match forge_for(ctx, h, "test")? {
        Ok(f) => f,
        Err(view) => return Ok(view),
    };
    let view = |passed: bool, reason: String| GateView {
        gate: "test",
        passed,
        reason,
        next: (!passed).then(|| "hotfix test".to_string()),
    };
    Ok(match read_ci(ctx, &forge, h, tip)? {
        Reading::Passed(checks) => view(
            true,
            format!("CI passed on {} ({})", short(tip), names(&checks)),
        ),
        Reading::Waiting(why) | Reading::Failed(why) => view(false, why),
    })
}

/// `hotfix test` with `test.via = "forge"`: waits for CI on `commit`, with progress, up to
/// `test.timeout`; a failed check is named with its URL.
pub fn wait_for_ci(ctx: &Ctx, h: &Hotfix, commit: Oid) -> Result<()> {
    let ui = ctx.ui;
    let forge = match forge_for(ctx, h, "test")? {
        Ok(f) => f,
        Err(view) => {
            return Err(
                Refusal::usage(format!("the test gate cannot be judged: {}", view.reason))
                    .hint(view.next.unwrap_or_default())
                    .into(),
            );
        }
    };
    let timeout = h.policy.test.timeout();
    let poll = std::env::var("HOTFIX_FORGE_POLL")
        .ok()
        .and_then(|p| crate::config::parse_duration(&p))
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(10));
    let started = Instant::now();
    let mut last = String::new();
    let mut last_said = Instant::now();
    loop {
        match read_ci(ctx, &forge, h, commit)? {
            Reading::Passed(checks) => {
                ui.status(format!(
                    "{} CI passed on {} on {}: {}",
                    ui.ok_mark(),
                    forge.host(),
                    short(commit),
                    names(&checks)
                ));
                if ui.json {
                    let list: Vec<serde_json::Value> = checks
                        .iter()
                        .map(|c| serde_json::json!({"name": c.name, "url": c.url}))
                        .collect();
                    ui.data(serde_json::to_string_pretty(&serde_json::json!({
                        "commit": commit.to_string(),
                        "passed": true,
                        "checks": list,
                    }))?);
                }
                return Ok(());
            }
            Reading::Failed(why) => {
                return Err(Refusal::gate(why)
                    .hint("fix the cause, commit, push, and run `hotfix test` again")
                    .into());
            }
            Reading::Waiting(why) => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(Refusal::gate(format!(
                        "CI did not finish within {} (test.timeout): {}",
                        crate::process::human_duration(timeout),
                        why.trim_start_matches("waiting for CI: ")
                    ))
                    .hint("run `hotfix test` again to wait longer, or look at the CI")
                    .into());
                }
                // a line when something changed, and twice a minute while nothing does
                if why != last || last_said.elapsed() >= Duration::from_secs(30) {
                    ui.status(format!(
                        "{why} ({} so far)",
                        crate::process::human_duration(waited)
                    ));
                    last = why;
                    last_said = Instant::now();
                }
                let until = started + waited + poll.min(timeout - waited);
                while Instant::now() < until {
                    if crate::process::interrupted() {
                        return Err(Refusal::Interrupted.into());
                    }
                    std::thread::sleep(Duration::from_millis(50).min(poll));
                }
            }
        }
    }
}

/// The approvals the release record keeps, when the forge is the review gate: the ones the
/// gate judged in this command (asked again only when it did not).
pub fn record_approvers(
    ctx: &Ctx,
    h: &Hotfix,
    tip: Oid,
    tree: Oid,
) -> Result<Vec<record::Approver>> {
    if recall(h, tip, true).is_none() {
        review(ctx, h, tip, tree)?;
    }
    let Some(Said::Review(counted)) = recall(h, tip, true) else {
        return Ok(Vec::new());
    };
    Ok(counted
        .into_iter()
        .map(|c| record::Approver {
            name: c.login.clone(),
            email: String::new(),
            approved_at: c.at.unwrap_or_else(jiff::Timestamp::now),
            login: Some(c.login),
            url: Some(c.url),
            commit: Some(c.commit),
            // the forge showed the request's diff; hotfix cannot say how much of it
            shown: None,
            signed_by: None,
        })
        .collect())
}

/// The checks the release record keeps, when the forge is the test gate.
pub fn record_test(ctx: &Ctx, h: &Hotfix, tip: Oid) -> Result<Option<record::TestResult>> {
    if recall(h, tip, false).is_none() {
        test(ctx, h, tip)?;
    }
    let Some(Said::Test(checks)) = recall(h, tip, false) else {
        return Ok(None);
    };
    Ok(Some(record::TestResult {
        passed: true,
        duration_ms: 0,
        exit_code: None,
        checks: checks
            .into_iter()
            .map(|c| record::CheckResult {
                name: c.name,
                url: c.url,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::Review;

    fn oid(c: char) -> Oid {
        Oid::from_str(&c.to_string().repeat(40)).unwrap()
    }

    fn review(login: &str, state: ReviewState, commit: char) -> Review {
        Review {
            login: login.into(),
            name: String::new(),
            state,
            commit: Some(commit.to_string().repeat(40)),
            url: format!("https://x/{login}"),
            at: None,
        }
    }

    fn request() -> Request {
        Request {
            number: 7,
            url: "https://x/pull/7".into(),
            author: "ann".into(),
            head: "a".repeat(40),
        }
    }

    /// commit a has the shipped tree t; commit b an older tree u
    fn trees(c: &str) -> Option<Oid> {
        match c.chars().next()? {
            'a' => Some(oid('7')),
            'b' => Some(oid('8')),
            _ => None,
        }
    }

    #[test]
    fn the_latest_approving_or_changes_requesting_review_decides() {
        let reviews = Reviews {
            reviews: vec![
                review("rita", ReviewState::Approved, 'a'),
                review("rita", ReviewState::Other, 'a'),
                review("bob", ReviewState::Approved, 'a'),
                review("bob", ReviewState::ChangesRequested, 'a'),
                review("cy", ReviewState::Approved, 'b'),
                review("dee", ReviewState::Approved, 'a'),
                review("dee", ReviewState::Dismissed, 'a'),
                review("ann", ReviewState::Approved, 'a'),
                review("eve", ReviewState::Approved, 'a'),
                review("fay", ReviewState::Approved, 'c'),
            ],
            commit_logins: vec!["Eve".into()],
            ..Default::default()
        };
        let v = judge_reviews(&request(), &reviews, oid('a'), oid('7'), false, &mut trees);
        let counted: Vec<&str> = v.counted.iter().map(|c| c.login.as_str()).collect();
        assert_eq!(counted, ["rita"]);
        assert_eq!(v.changes, ["bob"]);
        assert_eq!(v.stale, [("cy".to_string(), "b".repeat(40))]);
        assert_eq!(v.own, ["ann", "eve"]);
        assert_eq!(v.unseen.len(), 1);
    }

    #[test]
    fn gitlab_approvals_need_reset_on_push_and_the_shipped_head() {
        let mut reviews = Reviews {
            reviews: vec![Review {
                commit: None,
                ..review("rita", ReviewState::Approved, 'a')
            }],
            rules: Some(crate::forge::ApprovalRules {
                reset_on_push: Some(false),
                committers_blocked: true,
            }),
            ..Default::default()
        };
        let v = judge_reviews(&request(), &reviews, oid('a'), oid('7'), false, &mut trees);
        assert!(v.counted.is_empty() && v.gitlab.is_some());
        reviews.rules.as_mut().unwrap().reset_on_push = Some(true);
        let v = judge_reviews(&request(), &reviews, oid('b'), oid('7'), false, &mut trees);
        assert!(v.counted.is_empty());
        assert!(v.gitlab.unwrap().contains("head is"));
        let v = judge_reviews(&request(), &reviews, oid('a'), oid('7'), false, &mut trees);
        assert_eq!(v.counted.len(), 1);
    }

    #[test]
    fn checks_required_by_name_or_all() {
        let c = |name: &str, state: CheckState| Check {
            name: name.into(),
            state,
            url: String::new(),
        };
        let checks = [
            c("build", CheckState::Success),
            c("lint", CheckState::Skipped),
            c("e2e", CheckState::Pending),
        ];
        let all = judge_checks(&[], &checks);
        assert_eq!(all.pending, ["e2e"]);
        assert_eq!(all.passed.len(), 1);
        let named = judge_checks(&["build".into(), "deploy-preview".into()], &checks);
        assert_eq!(named.pending, ["deploy-preview"]);
        let skipped = judge_checks(&["lint".into()], &checks);
        assert_eq!(skipped.failed.len(), 1);
    }
}
