//! `hotfix verify-merged`, the CI check: every hotfix release (an annotated tag with a record)
//! must be in the development branch, merged or cherry-picked as the same patch.

use crate::support::{HOTFIX_BRANCH, Team};

/// v1.1.1 released from the author's clone (not merged back yet).
fn released() -> Team {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    t
}

#[test]
fn passes_after_merge_back() {
    let t = released();
    t.hf(&["merge-back"]).ok();
    let run = t.hf(&["verify-merged"]).ok();
    assert_eq!(
        run.stdout,
        "✓ 1 hotfix release checked: all in develop (1 merged, 0 cherry-picked)\n"
    );
    let json = t.hf(&["verify-merged", "--json"]).ok().json();
    assert_eq!(
        json,
        serde_json::json!({
            "development": "develop",
            "checked_against": ["develop"],
            "checked": 1,
            "merged": 1,
            "cherry_picked": 0,
            "missing": [],
        })
    );
}

#[test]
fn fails_for_a_release_never_merged_back_naming_it() {
    let t = released();
    let fix = t.author.head();
    let run = t.hf(&["verify-merged"]);
    let run = run.fails(1, "1 hotfix release is missing from develop: v1.1.1");
    assert!(
        run.stderr
            .contains("git switch develop && git merge v1.1.1"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout,
        "✗ v1.1.1  Checkout returns 500  (hotfix/login-500)\n"
    );

    let run = t.hf(&["verify-merged", "--json"]).code(1);
    assert_eq!(
        run.json(),
        serde_json::json!({
            "development": "develop",
            "checked_against": ["develop"],
            "checked": 1,
            "merged": 0,
            "cherry_picked": 0,
            "missing": [{
                "tag": "v1.1.1",
                "version": "1.1.1",
                "summary": "Checkout returns 500",
                "branch": HOTFIX_BRANCH,
                "commit": fix,
            }],
        })
    );
}

#[test]
fn only_the_missing_release_is_listed() {
    let t = released();
    t.hf(&["merge-back"]).ok();
    // a second hotfix from v1.1.1, released and not merged back
    t.hf(&[
        "start",
        "cart-crash",
        "--severity",
        "revenue-loss",
        "--reproduced",
        "--summary",
        "Cart crashes on coupons",
    ])
    .ok();
    t.author
        .commit_file("cart.txt", "coupons fixed\n", "Fix coupons");
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    let run = t.hf(&["verify-merged"]);
    let run = run.fails(1, "1 hotfix release is missing from develop: v1.1.2");
    assert_eq!(
        run.stdout,
        "✗ v1.1.2  Cart crashes on coupons  (hotfix/cart-crash)\n"
    );
    let json = t.hf(&["verify-merged", "--json"]).code(1).json();
    assert_eq!(json["checked"], 2);
    assert_eq!(json["merged"], 1);
    assert_eq!(json["missing"].as_array().unwrap().len(), 1);
    assert_eq!(json["missing"][0]["version"], "1.1.2");
    assert_eq!(json["missing"][0]["summary"], "Cart crashes on coupons");
}

#[test]
fn passes_for_a_release_cherry_picked_instead_of_merged() {
    let t = released();
    let fix = t.author.head();
    t.author.git(&["switch", "-q", "develop"]);
    t.author.git(&["cherry-pick", &fix]);
    assert!(!t.author.contains("develop", &fix));
    let run = t.hf(&["verify-merged"]).ok();
    assert_eq!(
        run.stdout,
        "✓ 1 hotfix release checked: all in develop (0 merged, 1 cherry-picked)\n"
    );
    assert_eq!(
        t.hf(&["verify-merged", "--json"]).ok().json()["cherry_picked"],
        1
    );
}

#[test]
fn a_release_only_partly_cherry_picked_is_missing() {
    let t = Team::new();
    let first = t.author.head();
    t.author
        .commit_file("other.txt", "second part\n", "Second part of the fix");
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    t.author.git(&["switch", "-q", "develop"]);
    t.author.git(&["cherry-pick", &first]);
    t.hf(&["verify-merged"])
        .fails(1, "missing from develop: v1.1.1");
}

#[test]
fn runs_in_a_fresh_ci_clone_against_the_remote_development_branch() {
    let t = released();
    t.author.git(&["push", "-q", "origin", "v1.1.1"]);
    // CI: a clone on a detached commit, with no local develop, only origin/develop
    let ci = t.env.clone_of(&t.origin, "ci", crate::support::AUTHOR);
    ci.git(&["checkout", "-q", "--detach", "origin/main"]);
    assert!(!ci.branches().contains(&"develop".to_string()));
    ci.hotfix(&["verify-merged"])
        .fails(1, "1 hotfix release is missing from origin/develop: v1.1.1");

    t.hf(&["merge-back"]).ok();
    t.author.git(&["push", "-q", "origin", "develop"]);
    ci.git(&["fetch", "-q", "origin"]);
    ci.hotfix(&["verify-merged"]).ok();
}

#[test]
fn tags_without_a_record_are_not_releases_and_no_releases_pass() {
    let t = Team::new();
    // v1.0.0 and v1.1.0 are annotated tags made by hand: not hotfix releases
    let run = t.hf(&["verify-merged"]).ok();
    assert_eq!(
        run.stdout,
        "✓ no hotfix releases yet: nothing to check against develop\n"
    );
    assert_eq!(t.hf(&["verify-merged", "--json"]).ok().json()["checked"], 0);
}

#[test]
fn a_shallow_clone_is_refused_with_how_to_fetch_everything() {
    let t = released();
    t.author.git(&["push", "-q", "origin", "v1.1.1"]);
    let url = format!("file://{}", t.origin.path.display());
    crate::support::run_git(
        t.env.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let ci = crate::support::Repo {
        path: t.env.path().join("shallow"),
        identity: (
            crate::support::AUTHOR.0.into(),
            crate::support::AUTHOR.1.into(),
        ),
    };
    ci.hotfix(&["verify-merged"])
        .fails(2, "this clone is shallow")
        .fails(2, "fetch-depth: 0");
    ci.git(&["fetch", "-q", "--unshallow", "--tags"]);
    // a --depth clone is single-branch: develop has to be fetched, as the hint says
    ci.hotfix(&["verify-merged"]).fails(
        2,
        "`git fetch origin +refs/heads/develop:refs/remotes/origin/develop`",
    );
    ci.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/heads/develop:refs/remotes/origin/develop",
    ]);
    ci.hotfix(&["verify-merged"])
        .fails(1, "1 hotfix release is missing from origin/develop: v1.1.1");
}
