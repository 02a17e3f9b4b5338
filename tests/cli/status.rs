//! `hotfix status`: outside a hotfix, on one, with several, as text and as JSON.

use crate::support::{Env, Team};

#[test]
fn outside_a_hotfix() {
    let env = Env::new();
    let repo = env.released_repo();
    let before = repo.snapshot();
    let run = repo.hotfix(&["status"]).ok();
    assert!(
        run.stdout.contains("No hotfix checked out."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("next: hotfix start <name>"),
        "{}",
        run.stdout
    );
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    assert!(json["hotfix"].is_null());
    assert_eq!(json["in_progress"], serde_json::json!([]));
    assert_eq!(repo.snapshot(), before, "status changes nothing");
}

#[test]
fn json_fields() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("login-500").ok();
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    let h = &json["hotfix"];
    assert_eq!(h["name"], "login-500");
    assert_eq!(h["branch"], "hotfix/login-500");
    assert_eq!(h["base_tag"], "v1.1.0");
    assert_eq!(h["base_commit"], repo.rev("v1.1.0").as_str());
    assert_eq!(h["head_commit"], repo.rev("v1.1.0").as_str());
    assert_eq!(h["tree"], repo.rev("v1.1.0^{tree}").as_str());
    assert_eq!(h["commits"], 0);
    assert_eq!(h["checked_out"], true);
    assert_eq!(h["severity"], "revenue-loss");
    assert_eq!(h["reproduced"], true);
    assert_eq!(h["summary"], "Checkout returns 500");
    assert_eq!(h["author"], "Ann Author <ann@example.com>");
    assert!(
        h["started_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
    assert_eq!(h["step"], "fix");
    assert!(h["problem"].is_null());
    assert!(h["next"].as_str().unwrap().contains("hotfix guard"), "{h}");
    let gates: Vec<&str> = h["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gate"].as_str().unwrap())
        .collect();
    assert_eq!(gates, ["guard", "review", "test"]);
    for g in h["gates"].as_array().unwrap() {
        assert_eq!(g["passed"], false, "nothing is committed yet: {g}");
    }
    assert_eq!(json["in_progress"], serde_json::json!(["hotfix/login-500"]));
}

#[test]
fn human_output_on_a_hotfix() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("login-500").ok();
    let short = &repo.rev("v1.1.0")[..10];
    let run = repo.hotfix(&["status"]).ok();
    let out = &run.stdout;
    assert!(
        out.contains("hotfix/login-500: Checkout returns 500"),
        "{out}"
    );
    assert!(
        out.contains(&format!("base      v1.1.0 ({short})")),
        "{out}"
    );
    assert!(out.contains("severity  revenue-loss (reproduced)"), "{out}");
    assert!(out.contains("by Ann Author <ann@example.com>"), "{out}");
    assert!(out.contains("step      fix"), "{out}");
    assert!(out.contains("next: commit the fix on this branch"), "{out}");

    repo.commit_file("app.txt", "fixed\n", "fix");
    let out = repo.hotfix(&["status"]).ok().stdout;
    assert!(out.contains("1 commit on the branch"), "{out}");
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(json["hotfix"]["commits"], 1);
    assert_eq!(json["hotfix"]["head_commit"], repo.head().as_str());
}

#[test]
fn two_hotfixes_in_progress() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("a").ok();
    repo.git(&["switch", "-q", "develop"]);
    repo.hotfix(&[
        "start",
        "b",
        "--severity",
        "data-corruption",
        "--reproduced",
        "--summary",
        "Search is empty",
    ])
    .ok();

    let out = repo.hotfix(&["status"]).ok().stdout;
    assert!(out.contains("hotfix/b: Search is empty"), "{out}");
    assert!(out.contains("also in progress: hotfix/a"), "{out}");
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(json["hotfix"]["branch"], "hotfix/b");
    assert_eq!(
        json["in_progress"],
        serde_json::json!(["hotfix/a", "hotfix/b"])
    );

    repo.git(&["switch", "-q", "develop"]);
    let out = repo.hotfix(&["status"]).ok().stdout;
    assert!(out.contains("No hotfix checked out."), "{out}");
    assert!(out.contains("In progress:"), "{out}");
    assert!(out.contains("hotfix/a: Checkout returns 500"), "{out}");
    assert!(out.contains("hotfix/b: Search is empty"), "{out}");
    assert!(out.contains("next: git switch hotfix/a"), "{out}");
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    assert!(json["hotfix"].is_null());
    assert_eq!(
        json["in_progress"],
        serde_json::json!(["hotfix/a", "hotfix/b"])
    );
}

#[test]
fn status_in_a_plain_folder() {
    let env = Env::new();
    let repo = env.released_repo();
    let plain = env.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    repo.refused(
        &["-C", plain.to_str().unwrap(), "status"],
        2,
        "not a git repository",
    );
}

/// `--offline`: no command touches the network, not even the approvals fetch that `status`
/// makes while a review is awaited (git's own trace would show the fetch it ran).
#[test]
fn offline_status_runs_no_network_git() {
    let t = Team::new();
    let trace = t.env.path().join("git-trace");
    let trace_s = trace.to_str().unwrap();
    t.hf_env(&["status"], &[("GIT_TRACE", trace_s)]).ok();
    let online = std::fs::read_to_string(&trace).unwrap_or_default();
    assert!(
        online.contains("fetch"),
        "status fetched approvals online: {online}"
    );
    std::fs::remove_file(&trace).unwrap();
    t.hf_env(&["--offline", "status"], &[("GIT_TRACE", trace_s)])
        .ok();
    let offline = std::fs::read_to_string(&trace).unwrap_or_default();
    assert!(
        !offline.contains("fetch"),
        "status fetched offline: {offline}"
    );
}
