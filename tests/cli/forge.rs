//! The forge as the gate (review.via / test.via = "forge"), `hotfix propose`, and merge-back's
//! requests, end to end through the binary against local stand-ins of GitHub's and GitLab's
//! REST APIs (tests/cli/standin.rs) on 127.0.0.1. No network, no real token.

use crate::standin::StandIn;
use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, REVIEWER, Run, Team, TeamBuilder};

const TOKEN: &str = "ghp_standin0secret0token0do0not0print";
const PULLS: &str = "/repos/acme/app/pulls?state=open&per_page=100&head=acme%3Ahotfix%2Flogin-500";
const REVIEWS: &str = "/repos/acme/app/pulls/7/reviews?per_page=100";
const COMMITS: &str = "/repos/acme/app/pulls/7/commits?per_page=100";
const PR_URL: &str = "https://github.example/acme/app/pull/7";

/// The deploy tests' policy with the given gates on the forge at `url`.
fn policy(kind: &str, url: &str, review: bool, test: bool, checks: &[&str]) -> String {
    let checks: Vec<String> = checks.iter().map(|c| format!("\"{c}\"")).collect();
    let test_keys = if test {
        format!(
            "[test]\nvia = \"forge\"\nchecks = [{}]\ntimeout = \"2s\"\n",
            checks.join(", ")
        )
    } else {
        "[test]\n".to_string()
    };
    // GitLab's projects may sit in subgroups: the path is one URL-encoded id
    let repository = if kind == "gitlab" {
        "acme/sub/app"
    } else {
        "acme/app"
    };
    format!(
        "{}\n[review]\nvia = \"{}\"\n\n[forge]\nkind = \"{kind}\"\napi_url = \"{url}\"\nrepository = \"{repository}\"\n",
        DEPLOY_POLICY.replace("[test]\n", &test_keys),
        if review { "forge" } else { "hotfix" }
    )
}

/// The usual team with the gates on the stand-in `s` of a `kind` forge, to configure further.
fn forge_team(kind: &str, s: &StandIn, review: bool, test: bool, checks: &[&str]) -> TeamBuilder {
    Team::builder().policy(&policy(kind, &s.url(), review, test, checks))
}

fn github_team(s: &StandIn, review: bool, test: bool, checks: &[&str]) -> Team {
    forge_team("github", s, review, test, checks).build()
}

/// `hotfix` in the author's clone with the token in GH_TOKEN (and GITLAB_TOKEN).
fn hf(t: &Team, args: &[&str]) -> Run {
    hf_with(t, args, &[])
}

fn hf_with(t: &Team, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut vars = vec![
        ("GH_TOKEN", TOKEN),
        ("GITLAB_TOKEN", TOKEN),
        ("HOTFIX_FORGE_TIMEOUT", "3s"),
        ("HOTFIX_FORGE_POLL", "100ms"),
    ];
    vars.extend_from_slice(extra);
    let run = t.hf_env(args, &vars);
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token was printed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

fn gate(t: &Team, name: &str) -> serde_json::Value {
    let json = hf(t, &["status", "--json"]).ok().json();
    json["hotfix"]["gates"]
        .as_array()
        .expect("status lists the gates")
        .iter()
        .find(|g| g["gate"] == name)
        .cloned()
        .expect("the gate")
}

fn reason(g: &serde_json::Value) -> String {
    g["reason"].as_str().unwrap().to_string()
}

fn pull(head: &str) -> String {
    format!(
        r#"[{{"id":1,"number":7,"state":"open","draft":false,"html_url":"{PR_URL}","title":"Checkout returns 500","user":{{"login":"ann","id":1}},"head":{{"ref":"hotfix/login-500","sha":"{head}"}},"base":{{"ref":"develop","sha":"0"}}}}]"#
    )
}

fn review(id: u32, login: &str, state: &str, commit: &str) -> String {
    format!(
        r#"{{"id":{id},"node_id":"x","user":{{"login":"{login}","id":{id}}},"body":"","state":"{state}","html_url":"{PR_URL}#pullrequestreview-{id}","commit_id":"{commit}","submitted_at":"2026-01-15T11:00:00Z","author_association":"MEMBER"}}"#
    )
}

fn commits(logins: &[&str]) -> String {
    let items: Vec<String> = logins
        .iter()
        .map(|l| {
            format!(
                r#"{{"sha":"0","commit":{{"author":{{"name":"{l}","email":"{l}@example.com"}},"committer":{{"name":"{l}","email":"{l}@example.com"}},"message":"fix"}},"author":{{"login":"{l}"}},"committer":{{"login":"{l}"}}}}"#
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The routes of a pull request with these reviews (oldest first) and commit authors.
fn github_reviews(s: &StandIn, head: &str, reviews: &[String], authors: &[&str]) {
    s.on("GET", PULLS, 200, &pull(head))
        .on("GET", REVIEWS, 200, &format!("[{}]", reviews.join(",")))
        .on("GET", COMMITS, 200, &commits(authors));
}

fn check_runs(tip: &str, runs: &[(&str, &str, Option<&str>)]) -> (String, String) {
    let items: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, (name, status, conclusion))| {
            let conclusion = conclusion.map_or("null".to_string(), |c| format!("\"{c}\""));
            format!(
                r#"{{"id":{},"name":"{name}","head_sha":"{tip}","status":"{status}","conclusion":{conclusion},"html_url":"https://github.example/acme/app/runs/{}","details_url":null}}"#,
                i + 1,
                i + 1
            )
        })
        .collect();
    (
        format!("/repos/acme/app/commits/{tip}/check-runs?per_page=100"),
        format!(
            r#"{{"total_count":{},"check_runs":[{}]}}"#,
            items.len(),
            items.join(",")
        ),
    )
}

fn statuses(tip: &str, list: &[(&str, &str)]) -> (String, String) {
    let items: Vec<String> = list
        .iter()
        .enumerate()
        .map(|(i, (context, state))| {
            format!(
                r#"{{"id":{},"context":"{context}","state":"{state}","target_url":"https://ci.example/{context}","description":null}}"#,
                i + 100
            )
        })
        .collect();
    (
        format!("/repos/acme/app/commits/{tip}/status?per_page=100"),
        format!(
            r#"{{"state":"success","sha":"{tip}","total_count":{},"statuses":[{}]}}"#,
            items.len(),
            items.join(",")
        ),
    )
}

// ---- review.via = "forge" on GitHub ----

#[test]
fn an_approval_of_the_shipped_commit_passes_and_the_release_keeps_the_review() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    github_reviews(&s, &tip, &[review(1, "rita", "APPROVED", &tip)], &["ann"]);
    let g = gate(&t, "review");
    assert_eq!(g["passed"], true, "{g}");
    assert!(reason(&g).contains("@rita for"), "{g}");
    assert!(reason(&g).contains(PR_URL), "{g}");
    // status in words shows the request's URL and who approved which commit
    let text = hf(&t, &["status"]).ok();
    assert!(
        text.stdout.contains(&format!("@rita for {}", &tip[..10])),
        "{}",
        text.stdout
    );
    // the token went in the Authorization header, and with -v it is not shown either
    let verbose = hf(&t, &["-v", "status"]).ok();
    assert!(
        verbose.stderr.contains("GET http://127.0.0.1"),
        "{}",
        verbose.stderr
    );
    let asked = s.received();
    assert!(
        asked
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );

    hf(&t, &["test"]).ok();
    hf(&t, &["deploy"]).ok();
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["approvers"][0]["login"], "rita", "{record}");
    assert_eq!(
        record["approvers"][0]["url"],
        format!("{PR_URL}#pullrequestreview-1")
    );
    assert_eq!(record["approvers"][0]["commit"], tip.as_str());
    assert!(
        t.author
            .tag_message("v1.1.1")
            .contains("Approved by @rita.")
    );
}

#[test]
fn an_approval_of_an_older_tree_does_not_count_but_the_same_tree_does() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let old = t.author.head();
    // a new message only: same tree, so the approval of `old` is of what ships
    t.author.git(&[
        "commit",
        "-q",
        "--amend",
        "-m",
        "Fix the checkout 500 (reworded)",
    ]);
    let same_tree = t.author.head();
    github_reviews(
        &s,
        &same_tree,
        &[review(1, "rita", "APPROVED", &old)],
        &["ann"],
    );
    assert_eq!(gate(&t, "review")["passed"], true);

    let s2 = StandIn::start();
    let t2 = github_team(&s2, true, false, &[]);
    let old = t2.author.head();
    let tip = t2.fix("line 1\nversion 1.1\nline 3 fixed again\n", "Fix it better");
    github_reviews(&s2, &tip, &[review(1, "rita", "APPROVED", &old)], &["ann"]);
    let g = gate(&t2, "review");
    assert_eq!(g["passed"], false, "{g}");
    assert!(
        reason(&g).contains(&format!("@rita approved {}, an older tree", &old[..10])),
        "{g}"
    );
    assert!(reason(&g).contains(PR_URL), "{g}");
    // and deploy refuses with the same words, running nothing
    let run = hf(
        &t2,
        &["deploy", "--override", "test", "--reason", "CI is down"],
    )
    .code(1);
    assert!(run.stderr.contains("an older tree"), "{}", run.stderr);
    assert!(t2.log("deploy.log").is_empty());
}

#[test]
fn changes_requested_after_an_approval_blocks() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    github_reviews(
        &s,
        &tip,
        &[
            review(1, "rita", "APPROVED", &tip),
            review(2, "rita", "COMMENTED", &tip),
            review(3, "rita", "CHANGES_REQUESTED", &tip),
        ],
        &["ann"],
    );
    let g = gate(&t, "review");
    assert_eq!(g["passed"], false, "{g}");
    assert!(reason(&g).contains("@rita requested changes"), "{g}");
}

#[test]
fn the_requests_author_approving_does_not_count() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    github_reviews(&s, &tip, &[review(1, "ann", "APPROVED", &tip)], &["ann"]);
    let g = gate(&t, "review");
    assert_eq!(g["passed"], false, "{g}");
    assert!(
        reason(&g).contains("the approval by @ann does not count: an author of the fix"),
        "{g}"
    );
}

#[test]
fn a_reviewer_who_authored_a_commit_does_not_count() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    github_reviews(
        &s,
        &tip,
        &[review(1, "bob", "APPROVED", &tip)],
        &["ann", "bob"],
    );
    let g = gate(&t, "review");
    assert_eq!(g["passed"], false, "{g}");
    assert!(
        reason(&g).contains("the approval by @bob does not count"),
        "{g}"
    );
}

#[test]
fn reviews_over_two_pages_are_all_read() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    let page2 = "/repos/acme/app/pulls/7/reviews?per_page=100&page=2";
    s.on("GET", PULLS, 200, &pull(&tip))
        .on_with(
            "GET",
            REVIEWS,
            200,
            &[(
                "Link",
                "<{base}/repos/acme/app/pulls/7/reviews?per_page=100&page=2>; rel=\"next\", <{base}/repos/acme/app/pulls/7/reviews?per_page=100&page=2>; rel=\"last\"",
            )],
            &format!("[{}]", review(1, "rita", "APPROVED", &tip)),
            None,
        )
        .on("GET", page2, 200, &format!("[{}]", review(2, "rita", "CHANGES_REQUESTED", &tip)))
        .on("GET", COMMITS, 200, &commits(&["ann"]));
    let g = gate(&t, "review");
    // the change request is on the second page: read, it takes the approval back
    assert_eq!(g["passed"], false, "{g}");
    assert!(reason(&g).contains("@rita requested changes"), "{g}");
    assert!(s.hits(page2) >= 1);
}

#[test]
fn no_request_yet_says_to_propose() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    s.on("GET", PULLS, 200, "[]");
    let g = gate(&t, "review");
    assert_eq!(g["passed"], false);
    assert!(
        reason(&g).contains("no open pull request of hotfix/login-500 on 127.0.0.1"),
        "{g}"
    );
    assert_eq!(g["next"], "hotfix propose");
}

// ---- the client's refusals: one sentence naming the host, exit 2, nothing changed ----

#[test]
fn a_401_names_the_host_and_the_token_variable() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    // a server that echoes the token back must not get it printed either
    s.on(
        "GET",
        PULLS,
        401,
        &format!(r#"{{"message":"Bad credentials {TOKEN}","documentation_url":"https://docs.github.com/rest"}}"#),
    );
    let vars = [("GH_TOKEN", TOKEN), ("OUT", t.out.to_str().unwrap())];
    let run = t.author.refused_env(
        &["deploy"],
        &vars,
        2,
        "127.0.0.1 refused the token (401 Unauthorized",
    );
    assert!(
        run.stderr.contains("set GH_TOKEN (or GITHUB_TOKEN)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
}

#[test]
fn a_404_for_the_repository_names_it() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    s.on(
        "GET",
        PULLS,
        404,
        r#"{"message":"Not Found","documentation_url":"x"}"#,
    );
    let vars = [("GH_TOKEN", TOKEN), ("OUT", t.out.to_str().unwrap())];
    let run = t.author.refused_env(
        &["deploy"],
        &vars,
        2,
        "127.0.0.1 has no repository acme/app, or the token cannot see it",
    );
    assert!(run.stderr.contains("forge.repository"), "{}", run.stderr);
}

#[test]
fn a_short_rate_limit_is_waited_out_with_a_sentence() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    s.on_with(
        "GET",
        PULLS,
        429,
        &[("retry-after", "1"), ("x-ratelimit-remaining", "0")],
        r#"{"message":"API rate limit exceeded"}"#,
        Some(1),
    );
    github_reviews(&s, &tip, &[review(1, "rita", "APPROVED", &tip)], &["ann"]);
    let run = hf(&t, &["status"]).ok();
    assert!(
        run.stderr
            .contains("GitHub's rate limit at 127.0.0.1 is used up; waiting 1s"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("approved by @rita"), "{}", run.stdout);
}

#[test]
fn a_long_rate_limit_is_refused_with_its_reset_time() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let reset = (jiff::Timestamp::now().as_second() + 3600).to_string();
    s.on_with(
        "GET",
        PULLS,
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
        r#"{"message":"API rate limit exceeded"}"#,
        None,
    );
    let vars = [("GH_TOKEN", TOKEN), ("OUT", t.out.to_str().unwrap())];
    let run = t.author.refused_env(
        &["deploy"],
        &vars,
        2,
        "the GitHub rate limit of 127.0.0.1 is used up until",
    );
    assert!(!run.stderr.contains("waiting"), "{}", run.stderr);
}

#[test]
fn a_server_that_never_answers_is_given_up_on_in_time() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    s.silent("GET", PULLS);
    let vars = [
        ("GH_TOKEN", TOKEN),
        ("HOTFIX_FORGE_TIMEOUT", "300ms"),
        ("OUT", t.out.to_str().unwrap()),
    ];
    t.author
        .refused_env(&["deploy"], &vars, 2, "127.0.0.1 did not answer GET");
}

#[test]
fn no_token_names_the_variables_and_asks_nobody() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    // no GH_TOKEN, and git's credential helper has nothing: refused before any request; the
    // status report shows the gate it could not judge and why, and the rest as usual
    let run = t.hf(&["status"]).ok();
    assert!(
        run.stdout.contains(
            "✗ review  not judged: no GitHub token for 127.0.0.1: set GH_TOKEN (or GITHUB_TOKEN)"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("✓ guard"), "{}", run.stdout);
    // a command that decides stops there
    t.author.refused_env(
        &["deploy"],
        &[("OUT", t.out.to_str().unwrap())],
        2,
        "no GitHub token for 127.0.0.1: set GH_TOKEN (or GITHUB_TOKEN)",
    );
}

#[test]
fn status_gives_a_forge_that_never_answers_its_bound_not_the_request_timeout() {
    // The forge accepts the connection and never answers. With a request timeout of ten
    // minutes, status still ends on its own (its bound on the network is about 1.5 s in all),
    // showing the gates it could not judge. `timeout 120` only stops a hung run, so that a
    // broken bound fails the test instead of hanging the suite.
    let s = StandIn::start();
    let t = github_team(&s, true, true, &["ci"]);
    s.silent("GET", PULLS);
    let mut cmd = std::process::Command::new("timeout");
    crate::support::pin(&mut cmd, &t.author.path);
    cmd.arg("120")
        .arg(assert_cmd::cargo::cargo_bin("hotfix"))
        .arg("status")
        .current_dir(&t.author.path)
        .env("GH_TOKEN", TOKEN)
        .env("HOTFIX_FORGE_TIMEOUT", "10min")
        .env("OUT", &t.out);
    let run = Run::new(cmd.output().unwrap());
    assert_eq!(
        run.code, 0,
        "status did not end on its own:\n{}{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.contains("✗ review  not judged: "),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
}

#[test]
fn the_credential_helpers_token_is_used_and_never_shown() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    t.author.git(&[
        "config",
        "credential.helper",
        "!f() { test \"$1\" = get && echo username=x-access-token && echo password=helper0secret0token; }; f",
    ]);
    github_reviews(&s, &tip, &[review(1, "rita", "APPROVED", &tip)], &["ann"]);
    let run = t.hf(&["-v", "status"]).ok();
    assert!(!run.stdout.contains("helper0secret0token"));
    assert!(
        !run.stderr.contains("helper0secret0token"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("credential helper"), "{}", run.stderr);
    assert!(
        s.received()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer helper0secret0token"))
    );
}

#[test]
fn offline_asks_the_forge_nothing() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let run = hf(&t, &["--offline", "status"]).ok();
    assert!(
        run.stdout
            .contains("not checked: --offline was given, so hotfix did not contact 127.0.0.1"),
        "{}",
        run.stdout
    );
    assert!(s.received().is_empty());
    let run = hf(&t, &["--offline", "propose"]).code(2);
    assert!(run.stderr.contains("needs the network"), "{}", run.stderr);
}

#[test]
fn the_forge_is_detected_from_a_github_remote() {
    // offline, so nothing leaves the machine: the gate names the host it would have asked
    let t = Team::builder()
        .policy(&format!("{DEPLOY_POLICY}\n[review]\nvia = \"forge\"\n"))
        .build();
    t.author
        .git(&["remote", "set-url", "origin", "git@github.com:acme/app.git"]);
    let run = hf(&t, &["--offline", "status"]).ok();
    assert!(
        run.stdout.contains("did not contact api.github.com"),
        "{}",
        run.stdout
    );
    // and a remote elsewhere has no forge: the gate says what to set
    t.author.git(&[
        "remote",
        "set-url",
        "origin",
        "https://git.example.org/acme/app.git",
    ]);
    let run = hf(&t, &["--offline", "status"]).ok();
    assert!(
        run.stdout.contains("this repository has no forge"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_http_api_url_off_this_machine_is_a_located_config_error() {
    let t = Team::builder()
        .policy(&format!(
            "{DEPLOY_POLICY}\n[forge]\nkind = \"github\"\napi_url = \"http://git.example.com/api/v3\"\n"
        ))
        .not_started()
        .build();
    let run = t.hf(&crate::support::start_args("login-500", &[])).code(2);
    assert!(run.stderr.contains("hotfix.toml:"), "{}", run.stderr);
    assert!(run.stderr.contains("must be https"), "{}", run.stderr);
    assert!(run.stderr.contains("forge.api_url"), "{}", run.stderr);
}

// ---- test.via = "forge" on GitHub ----

#[test]
fn pending_checks_are_waiting_for_ci_until_the_timeout() {
    let s = StandIn::start();
    let t = github_team(&s, false, true, &[]);
    let tip = t.author.head();
    let (runs, body) = check_runs(
        &tip,
        &[
            ("build", "completed", Some("success")),
            ("e2e", "in_progress", None),
        ],
    );
    let (st, st_body) = statuses(&tip, &[]);
    s.on("GET", &runs, 200, &body).on("GET", &st, 200, &st_body);
    let g = gate(&t, "test");
    assert_eq!(g["passed"], false, "{g}");
    assert!(
        reason(&g).contains("waiting for CI: 1 of 2 checks passed, waiting for e2e"),
        "{g}"
    );
    // `hotfix test` waits, says so, and gives up at test.timeout (2s here)
    let run = hf(&t, &["test"]).code(1);
    assert!(run.stderr.contains("waiting for e2e ("), "{}", run.stderr);
    assert!(run.stderr.contains("so far)"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("CI did not finish within 2s (test.timeout): 1 of 2 checks passed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failed_check_is_named_with_its_url() {
    let s = StandIn::start();
    let t = github_team(&s, false, true, &[]);
    let tip = t.author.head();
    let (runs, body) = check_runs(&tip, &[("build", "completed", Some("success"))]);
    let (st, st_body) = statuses(&tip, &[("ci/lint", "failure")]);
    s.on("GET", &runs, 200, &body).on("GET", &st, 200, &st_body);
    let run = hf(&t, &["test"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "CI failed on {}: `ci/lint` failure (https://ci.example/ci/lint)",
            &tip[..10]
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn named_checks_must_each_succeed() {
    let s = StandIn::start();
    let t = github_team(&s, false, true, &["build", "e2e"]);
    let tip = t.author.head();
    let (runs, body) = check_runs(
        &tip,
        &[
            ("build", "completed", Some("success")),
            ("lint", "completed", Some("failure")),
        ],
    );
    let (st, st_body) = statuses(&tip, &[]);
    s.on("GET", &runs, 200, &body).on("GET", &st, 200, &st_body);
    // lint is not required, so its failure does not count; e2e is, and is not reported yet
    let g = gate(&t, "test");
    assert_eq!(g["passed"], false, "{g}");
    assert!(reason(&g).contains("waiting for e2e"), "{g}");
}

#[test]
fn hotfix_test_waits_for_ci_and_the_release_keeps_both_gates() {
    let s = StandIn::start();
    let t = github_team(&s, true, true, &[]);
    let tip = t.author.head();
    let (runs, running) = check_runs(&tip, &[("build", "in_progress", None)]);
    let (_, passed) = check_runs(&tip, &[("build", "completed", Some("success"))]);
    let (st, st_body) = statuses(&tip, &[("ci/lint", "success")]);
    s.on_with("GET", &runs, 200, &[], &running, Some(1))
        .on("GET", &runs, 200, &passed)
        .on("GET", &st, 200, &st_body);
    github_reviews(&s, &tip, &[review(1, "rita", "APPROVED", &tip)], &["ann"]);
    let run = hf(&t, &["test"]).ok();
    assert!(run.stderr.contains("waiting for CI"), "{}", run.stderr);
    assert!(
        run.stderr.contains("CI passed on 127.0.0.1"),
        "{}",
        run.stderr
    );
    hf(&t, &["deploy"]).ok();
    let record = t.author.tag_record("v1.1.1");
    assert_eq!(record["approvers"][0]["login"], "rita");
    let checks = record["test"]["checks"].as_array().expect("checks kept");
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["build", "ci/lint"], "{record}");
    assert_eq!(checks[0]["url"], "https://github.example/acme/app/runs/1");
    assert!(
        t.author
            .tag_message("v1.1.1")
            .contains("CI passed: build, ci/lint.")
    );
}

// ---- GitLab ----

const MRS: &str = "/projects/acme%2Fsub%2Fapp/merge_requests?state=opened&per_page=100&source_branch=hotfix%2Flogin-500";
const MR_URL: &str = "https://gitlab.example/acme/app/-/merge_requests/3";

fn gitlab_mr(s: &StandIn, head: &str, reset_on_push: bool) {
    s.on(
        "GET",
        MRS,
        200,
        &format!(
            r#"[{{"id":30,"iid":3,"project_id":1,"title":"Checkout returns 500","state":"opened","source_branch":"hotfix/login-500","target_branch":"develop","author":{{"id":1,"username":"ann","name":"Ann Author"}},"sha":"{head}","web_url":"{MR_URL}","draft":false}}]"#
        ),
    )
    .on(
        "GET",
        "/projects/acme%2Fsub%2Fapp/merge_requests/3/approvals",
        200,
        r#"{"id":30,"iid":3,"approvals_required":1,"approved":true,"approved_by":[{"user":{"id":2,"username":"rita","name":"Rita Reviewer"}}]}"#,
    )
    .on(
        "GET",
        "/projects/acme%2Fsub%2Fapp/approvals",
        200,
        &format!(
            r#"{{"approvals_before_merge":1,"reset_approvals_on_push":{reset_on_push},"merge_requests_author_approval":false,"merge_requests_disable_committers_approval":true}}"#
        ),
    )
    .on(
        "GET",
        "/projects/acme%2Fsub%2Fapp/merge_requests/3/commits?per_page=100",
        200,
        r#"[{"id":"0","short_id":"0","title":"fix","author_name":"Ann Author","author_email":"ann@example.com","committer_name":"Ann Author","committer_email":"ann@example.com"}]"#,
    );
}

fn gitlab_team(s: &StandIn, review: bool, test: bool) -> Team {
    forge_team("gitlab", s, review, test, &[]).build()
}

#[test]
fn gitlab_approvals_count_when_approvals_reset_on_push_and_the_head_ships() {
    let s = StandIn::start();
    let t = gitlab_team(&s, true, false);
    let tip = t.author.head();
    gitlab_mr(&s, &tip, true);
    let g = gate(&t, "review");
    assert_eq!(g["passed"], true, "{g}");
    assert!(reason(&g).contains("@rita for"), "{g}");
    assert!(reason(&g).contains(MR_URL), "{g}");
    // GitLab got the token as a bearer token too
    assert!(
        s.received()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
}

#[test]
fn gitlab_approvals_do_not_count_without_reset_on_push() {
    let s = StandIn::start();
    let t = gitlab_team(&s, true, false);
    let tip = t.author.head();
    gitlab_mr(&s, &tip, false);
    let g = gate(&t, "review");
    assert_eq!(g["passed"], false, "{g}");
    assert!(
        reason(&g).contains("does not reset approvals on push"),
        "{g}"
    );
}

#[test]
fn gitlab_approvals_do_not_count_when_the_head_is_not_what_ships() {
    let s = StandIn::start();
    let t = gitlab_team(&s, true, false);
    let old = t.author.head();
    let tip = t.fix("line 1\nversion 1.1\nline 3 fixed again\n", "Fix it better");
    gitlab_mr(&s, &old, true);
    let g = gate(&t, "review");
    assert_eq!(g["passed"], false, "{g}");
    assert!(
        reason(&g).contains(&format!(
            "the merge request's head is {}, not the commit being shipped ({})",
            &old[..10],
            &tip[..10]
        )),
        "{g}"
    );
}

#[test]
fn gitlab_pipelines_and_statuses_over_pages() {
    let s = StandIn::start();
    let t = gitlab_team(&s, false, true);
    let tip = t.author.head();
    let statuses =
        format!("/projects/acme%2Fsub%2Fapp/repository/commits/{tip}/statuses?per_page=100");
    s.on(
        "GET",
        &format!("/projects/acme%2Fsub%2Fapp/pipelines?per_page=100&sha={tip}"),
        200,
        &format!(r#"[{{"id":5,"iid":2,"project_id":1,"sha":"{tip}","ref":"hotfix/login-500","status":"success","web_url":"https://gitlab.example/acme/app/-/pipelines/5"}}]"#),
    )
    .on_with(
        "GET",
        &statuses,
        200,
        &[("x-next-page", "2"), ("x-page", "1")],
        r#"[{"id":11,"sha":"x","ref":"hotfix/login-500","status":"success","name":"build","target_url":"https://gitlab.example/jobs/11"}]"#,
        None,
    )
    .on(
        "GET",
        &format!("{statuses}&page=2"),
        200,
        r#"[{"id":12,"sha":"x","ref":"hotfix/login-500","status":"failed","name":"e2e","target_url":"https://gitlab.example/jobs/12"}]"#,
    );
    let run = hf(&t, &["test"]).code(1);
    assert!(
        run.stderr
            .contains("`e2e` failed (https://gitlab.example/jobs/12)"),
        "{}",
        run.stderr
    );
}

// ---- hotfix propose, merge-back --via-branch ----

#[test]
fn propose_pushes_the_branch_and_opens_a_draft_pull_request() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    s.on("GET", PULLS, 200, "[]").on(
        "POST",
        "/repos/acme/app/pulls",
        201,
        &pull(&tip)[1..pull(&tip).len() - 1],
    );
    let run = hf(&t, &["propose", "--draft"]).ok();
    assert_eq!(run.stdout.trim(), PR_URL, "{}", run.stderr);
    assert!(
        run.stderr.contains("Opened pull request #7"),
        "{}",
        run.stderr
    );
    assert_eq!(t.origin.rev(HOTFIX_BRANCH), tip, "the branch was pushed");
    let post = s
        .received()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["title"], "Checkout returns 500");
    assert_eq!(body["head"], HOTFIX_BRANCH);
    assert_eq!(body["base"], "develop");
    assert_eq!(body["draft"], true);
    let text = body["body"].as_str().unwrap();
    assert!(text.contains("severity: revenue-loss"), "{text}");
    assert!(text.contains("base: v1.1.0"), "{text}");
    assert!(
        text.contains("guard: 1 file, 2 lines (limits 5 files, 150 lines)"),
        "{text}"
    );
    assert!(text.contains("hotfix deploy"), "{text}");
}

#[test]
fn propose_finds_the_open_pull_request_and_pushes_to_it() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    s.on("GET", PULLS, 200, &pull(&tip));
    let run = hf(&t, &["propose"]).ok();
    assert_eq!(run.stdout.trim(), PR_URL);
    assert!(
        run.stderr.contains("already has pull request #7"),
        "{}",
        run.stderr
    );
    assert_eq!(t.origin.rev(HOTFIX_BRANCH), tip);
}

#[test]
fn propose_refused_by_the_forge_pushes_nothing() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    s.on("GET", PULLS, 401, r#"{"message":"Bad credentials"}"#);
    hf(&t, &["propose"]).code(2);
    assert!(!t.origin.has_ref(&format!("refs/heads/{HOTFIX_BRANCH}")));
}

#[test]
fn propose_without_a_forge_says_what_to_set() {
    let t = Team::new();
    let run = t.hf(&["propose"]).code(2);
    assert!(run.stderr.contains("needs a forge"), "{}", run.stderr);
    assert!(!t.origin.has_ref(&format!("refs/heads/{HOTFIX_BRANCH}")));
}

#[test]
fn merge_back_via_branch_opens_a_request_with_the_release() {
    let s = StandIn::start();
    // review and test as today; the forge only receives the merge-back request
    let t = forge_team("github", &s, false, false, &[]).ready().build();
    hf(&t, &["deploy"]).ok();
    let branch = "merge-back/login-500-into-develop";
    s.on(
        "GET",
        "/repos/acme/app/pulls?state=open&per_page=100&head=acme%3Amerge-back%2Flogin-500-into-develop",
        200,
        "[]",
    )
    .on(
        "POST",
        "/repos/acme/app/pulls",
        201,
        r#"{"number":9,"html_url":"https://github.example/acme/app/pull/9","user":{"login":"ann"},"head":{"sha":"0"}}"#,
    );
    let run = hf(&t, &["merge-back", "--via-branch"]).ok();
    assert!(
        run.stdout
            .contains("https://github.example/acme/app/pull/9"),
        "{}",
        run.stdout
    );
    assert!(t.origin.has_ref(&format!("refs/heads/{branch}")));
    let post = s
        .received()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["title"], "Merge hotfix v1.1.1 into develop");
    assert_eq!(body["base"], "develop");
    assert!(body["body"].as_str().unwrap().contains("v1.1.1"));
    let _ = REVIEWER;
}

// ---- attacks on the client ----

#[test]
fn a_next_page_on_another_host_is_not_followed_with_the_token() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    // `localhost` is this very server, but another origin than the configured 127.0.0.1
    let elsewhere = format!(
        "<http://localhost:{}/repos/acme/app/pulls/7/reviews?page=2>; rel=\"next\"",
        s.port
    );
    s.on("GET", PULLS, 200, &pull(&tip)).on_with(
        "GET",
        REVIEWS,
        200,
        &[("Link", &elsewhere)],
        &format!("[{}]", review(1, "rita", "APPROVED", &tip)),
        None,
    );
    // status shows the gate as not judged, saying why; deploy stops on it
    let run = hf(&t, &["status"]).ok();
    assert!(
        run.stdout
            .contains("127.0.0.1 sent the next page of http://127.0.0.1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("on another host"), "{}", run.stdout);
    let run = hf(&t, &["deploy"]).code(2);
    assert!(run.stderr.contains("on another host"), "{}", run.stderr);
    assert_eq!(s.hits("/repos/acme/app/pulls/7/reviews?page=2"), 0);
}

#[test]
fn a_redirect_to_another_host_does_not_carry_the_token() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let tip = t.author.head();
    let moved = format!("http://localhost:{}/moved/pulls", s.port);
    s.on_with("GET", PULLS, 302, &[("Location", &moved)], "", None)
        .on("GET", "/moved/pulls", 200, &pull(&tip))
        .on(
            "GET",
            REVIEWS,
            200,
            &format!("[{}]", review(1, "rita", "APPROVED", &tip)),
        )
        .on("GET", COMMITS, 200, &commits(&["ann"]));
    hf(&t, &["status"]).ok();
    let moved = s
        .received()
        .into_iter()
        .find(|r| r.target == "/moved/pulls")
        .unwrap();
    assert_eq!(moved.header("authorization"), None, "{moved:?}");
}

#[test]
fn hotfix_approve_refuses_when_the_forge_reviews() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let run = t
        .author
        .hotfix_env(
            &["approve", "--yes"],
            &[
                ("GIT_AUTHOR_NAME", REVIEWER.0),
                ("GIT_AUTHOR_EMAIL", REVIEWER.1),
            ],
        )
        .code(2);
    assert!(
        run.stderr.contains("is reviewed on the forge"),
        "{}",
        run.stderr
    );
    assert!(
        t.author
            .git(&["for-each-ref", "refs/hotfix/approvals"])
            .is_empty()
    );
}

#[test]
fn a_credential_helper_that_hangs_is_killed_with_all_it_started() {
    let s = StandIn::start();
    let t = github_team(&s, true, false, &[]);
    let pid_file = t.out.join("helper.pid");
    t.author.git(&[
        "config",
        "credential.helper",
        &format!(
            "!f() {{ echo $$ > '{}'; sleep 30; }}; f",
            pid_file.display()
        ),
    ]);
    let run = t
        .hf_env(&["status"], &[("HOTFIX_FORGE_TIMEOUT", "500ms")])
        .ok();
    assert!(
        run.stdout
            .contains("not judged: no GitHub token for 127.0.0.1"),
        "{}",
        run.stdout
    );
    let pid = std::fs::read_to_string(&pid_file).expect("the helper ran");
    // the helper's shell waits for its sleep: it ends only if the whole group was killed (a
    // zombie waiting for init to reap it has ended; a signal may take a moment to arrive)
    let running = || {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .ok()
            .and_then(|stat| stat.rsplit(')').next().map(|r| r.trim_start().to_string()))
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
    };
    for _ in 0..100 {
        if !running() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !running(),
        "the credential helper (pid {}) was left running",
        pid.trim()
    );
}
