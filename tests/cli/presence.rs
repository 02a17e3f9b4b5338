//! Whether a release reached the development branch when it was not merged: each of its
//! commits there as the same patch, made after the release branched off (what `git cherry`
//! answers). `verify-merged`, `list` and `stats` share this check.

use crate::list_stats::make_release;
use crate::support::{Env, Repo};

/// `main` with a first commit, `develop` checked out on it.
fn repo(env: &Env) -> Repo {
    let repo = env.repo("app");
    repo.commit_file("app.txt", "app 1.0\n", "release 1.0");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo
}

/// `git cherry develop <tag>`: `-` for a commit whose patch develop has, `+` for one it lacks.
fn git_cherry(repo: &Repo, tag: &str) -> String {
    repo.git(&["cherry", "develop", tag])
        .lines()
        .map(|l| &l[..1])
        .collect()
}

#[test]
fn a_patch_develop_had_before_the_release_branched_off_does_not_count() {
    let env = Env::new();
    let repo = repo(&env);
    // develop once had exactly the fix, then reverted it; the release branches after that
    repo.commit_file("fixes/v1.0.1.txt", "fix for v1.0.1\n", "an early try");
    repo.git(&["rm", "-q", "fixes/v1.0.1.txt"]);
    repo.git(&["commit", "-q", "-m", "revert the early try"]);
    repo.git(&["switch", "-q", "-c", "hotfix/fix-v1.0.1"]);
    let fix = make_release(
        &env,
        &repo,
        "v1.0.1",
        "2026-05-01T10:00:00Z",
        30,
        "revenue-loss",
        &[],
    );
    repo.git(&["switch", "-q", "develop"]);
    repo.commit_file("feature.txt", "more work\n", "a feature");
    assert_eq!(git_cherry(&repo, "v1.0.1"), "+");
    repo.hotfix(&["verify-merged"])
        .fails(1, "1 hotfix release is missing from develop: v1.0.1");

    // picked onto develop now, after the release: present
    repo.git(&["cherry-pick", &fix]);
    assert_eq!(git_cherry(&repo, "v1.0.1"), "-");
    let json = repo.hotfix(&["verify-merged", "--json"]).ok().json();
    assert_eq!(json["cherry_picked"], 1);
    assert_eq!(json["missing"].as_array().unwrap().len(), 0);
}

#[test]
fn the_same_file_changed_differently_is_not_the_same_patch() {
    let env = Env::new();
    let repo = repo(&env);
    let mut fixes = Vec::new();
    for tag in ["v1.0.1", "v1.0.2", "v1.0.3"] {
        repo.git(&["switch", "-q", "-c", &format!("hotfix/{tag}"), "v1.0.0"]);
        fixes.push(make_release(
            &env,
            &repo,
            tag,
            "2026-05-01T10:00:00Z",
            30,
            "revenue-loss",
            &[],
        ));
    }
    repo.git(&["switch", "-q", "develop"]);
    // history that touches other files, and the fixes' own files
    for i in 0..30 {
        repo.commit_file(
            &format!("src/f{}.txt", i % 7),
            &format!("work {i}\n"),
            "work",
        );
    }
    repo.git(&["cherry-pick", &fixes[0]]);
    // v1.0.2's file, with other content: the same path, another patch
    repo.commit_file("fixes/v1.0.2.txt", "another fix\n", "a different fix");
    // v1.0.3 merged
    repo.git(&["merge", "-q", "--no-edit", "v1.0.3"]);
    for i in 0..10 {
        repo.commit_file("src/f1.txt", &format!("more {i}\n"), "more work");
    }
    assert_eq!(git_cherry(&repo, "v1.0.1"), "-");
    assert_eq!(git_cherry(&repo, "v1.0.2"), "+");
    let json = repo.hotfix(&["verify-merged", "--json"]).code(1).json();
    assert_eq!(json["checked"], 3);
    assert_eq!(json["merged"], 1);
    assert_eq!(json["cherry_picked"], 1);
    let missing: Vec<&str> = json["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tag"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["v1.0.2"]);
    let list = repo.hotfix(&["list", "--json"]).ok().json();
    let merged: Vec<(String, String)> = list["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["tag"].as_str().unwrap().to_string(),
                r["merged_back"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    assert_eq!(
        merged,
        [
            ("v1.0.1".to_string(), "cherry-picked".to_string()),
            ("v1.0.2".to_string(), "missing".to_string()),
            ("v1.0.3".to_string(), "merged".to_string()),
        ]
    );
}
