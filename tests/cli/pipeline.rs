//! The whole pipeline across a team: the author's clone and a reviewer's clone of a bare origin,
//! from `start` to `verify-merged`, every step as its own command.

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, REVIEWER, Team, start_args};

#[test]
fn start_to_verify_merged_across_clones() {
    let t = Team::released(DEPLOY_POLICY);
    let reviewer = t.env.clone_of(&t.origin, "reviewer", REVIEWER);

    // the author starts from the newest production tag and commits the fix
    t.hf(&start_args("login-500", &[])).ok();
    assert_eq!(t.author.branch(), HOTFIX_BRANCH);
    assert_eq!(t.author.head(), t.author.rev("v1.1.0^{commit}"));
    let fix = t.fix(
        "line 1\nversion 1.1\nline 3 fixed\n",
        "Fix the checkout 500",
    );
    t.hf(&["guard"]).ok();
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    t.refused(&["deploy"], 1, "review (not approved yet)");

    // the reviewer approves in her own clone and pushes the approval
    reviewer.git(&["fetch", "-q", "origin"]);
    reviewer
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();

    // the author's commands fetch it; tests run; deploy ships, tags and pushes the tag
    let status = t.status().stdout;
    assert!(
        status.contains("✓ review  approved by Rita Reviewer <rita@example.com>"),
        "{status}"
    );
    assert!(status.contains("next: hotfix test"), "{status}");
    t.hf(&["test"]).ok();
    assert!(t.status().stdout.contains("next: hotfix deploy"));
    t.hf(&["deploy", "--push"]).ok();
    assert_eq!(t.log("deploy.log").len(), 1);
    assert_eq!(t.origin.rev("v1.1.1^{commit}"), fix);
    let record = t.origin.tag_record("v1.1.1");
    assert_eq!(record["approvers"][0]["email"], REVIEWER.1);
    assert_eq!(record["author"]["email"], "ann@example.com");
    assert_eq!(t.notified().expect("notify ran"), record);
    assert!(t.status().stdout.contains("next: hotfix merge-back"));

    // until the fix reaches develop, CI (here: the reviewer's clone) says so
    reviewer.git(&["fetch", "-q", "--tags", "origin"]);
    reviewer
        .hotfix(&["verify-merged"])
        .fails(1, "1 hotfix release is missing from origin/develop: v1.1.1");

    // merge-back, pushed; the hotfix is done
    t.hf(&["merge-back"]).ok();
    assert_eq!(t.author.branch(), "develop");
    assert!(t.author.state_entry(HOTFIX_BRANCH).is_none());
    t.author.git(&["push", "-q", "origin", "develop"]);

    reviewer.git(&["fetch", "-q", "origin"]);
    let run = reviewer.hotfix(&["verify-merged"]).ok();
    assert_eq!(
        run.stdout,
        "✓ 1 hotfix release checked: all in origin/develop (1 merged, 0 cherry-picked)\n"
    );
    t.hf(&["verify-merged"]).ok();
}
