//! The history index (`<git dir>/hotfix/cache/history-index`) is derived data: a missing,
//! damaged or stale one gives the same answers as none, and two processes at once both answer
//! right and leave a whole file.

use std::path::PathBuf;

use crate::list_stats::make_release;
use crate::support::{Env, Repo, hotfix_cmd};

/// develop with history, three releases from v1.0.0: v1.0.1 cherry-picked, v1.0.2 missing,
/// v1.0.3 merged.
fn history(env: &Env) -> (Repo, Vec<String>) {
    let repo = env.repo("app");
    repo.commit_file("app.txt", "app 1.0\n", "release 1.0");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    let mut fixes = Vec::new();
    for tag in ["v1.0.1", "v1.0.2", "v1.0.3"] {
        repo.git(&["switch", "-q", "-c", &format!("hotfix/{tag}"), "v1.0.0"]);
        fixes.push(make_release(
            env,
            &repo,
            tag,
            "2026-05-01T10:00:00Z",
            30,
            "revenue-loss",
            &[],
        ));
    }
    repo.git(&["switch", "-q", "develop"]);
    for i in 0..12 {
        repo.commit_file(
            &format!("src/f{}.txt", i % 5),
            &format!("work {i}\n"),
            "work",
        );
    }
    repo.git(&["cherry-pick", &fixes[0]]);
    repo.git(&["merge", "-q", "--no-edit", "v1.0.3"]);
    repo.commit_file("src/f1.txt", "after the merge\n", "more work");
    (repo, fixes)
}

fn index_path(repo: &Repo) -> PathBuf {
    repo.git_dir()
        .join("hotfix")
        .join("cache")
        .join("history-index")
}

/// (merged, cherry-picked, missing tags) as verify-merged says them.
fn verdict(repo: &Repo) -> (u64, u64, Vec<String>) {
    let run = repo.hotfix(&["verify-merged", "--json"]);
    let json = run.json();
    let missing = json["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tag"].as_str().unwrap().to_string())
        .collect();
    (
        json["merged"].as_u64().unwrap(),
        json["cherry_picked"].as_u64().unwrap(),
        missing,
    )
}

fn merged_back(repo: &Repo) -> Vec<String> {
    repo.hotfix(&["list", "--json"]).ok().json()["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["merged_back"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_damaged_or_cut_index_gives_the_same_answers_and_is_made_again() {
    let env = Env::new();
    let (repo, _) = history(&env);
    let path = index_path(&repo);
    assert!(!path.exists());
    let first = verdict(&repo);
    assert_eq!(first, (1, 1, vec!["v1.0.2".to_string()]));
    let list = merged_back(&repo);
    assert_eq!(list, ["cherry-picked", "missing", "merged"]);
    let good = std::fs::read(&path).expect("the first run leaves an index");

    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("cut in half", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("a byte flipped", {
            let mut b = good.clone();
            let at = b.len() / 3;
            b[at] ^= 0x20;
            b
        }),
        ("not an index", b"hotfix-history but not really".to_vec()),
    ];
    for (what, bytes) in damaged {
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(verdict(&repo), first, "{what}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            good,
            "{what}: the index is made again, the same"
        );
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(merged_back(&repo), list, "{what}");
    }
    // a folder where the file should be: nothing can be kept, the answers are the same
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert_eq!(verdict(&repo), first);
}

#[test]
fn an_index_of_an_older_or_newer_develop_gives_the_answer_for_develop_now() {
    let env = Env::new();
    let (repo, fixes) = history(&env);
    assert_eq!(verdict(&repo), (1, 1, vec!["v1.0.2".to_string()]));
    let before = repo.head();

    // develop moves on: v1.0.2 cherry-picked after the index was made
    repo.commit_file("src/f3.txt", "later\n", "later work");
    repo.git(&["cherry-pick", &fixes[1]]);
    assert_eq!(verdict(&repo), (1, 2, vec![]));
    repo.hotfix(&["verify-merged"]).ok();

    // and then merged as well
    repo.git(&["merge", "-q", "--no-edit", "v1.0.2"]);
    assert_eq!(verdict(&repo), (2, 1, vec![]));

    // develop set back (a reset, a force-push): the index is of a newer develop, which has
    // commits develop no longer has
    repo.git(&["reset", "-q", "--hard", &before]);
    assert_eq!(verdict(&repo), (1, 1, vec!["v1.0.2".to_string()]));
    assert_eq!(merged_back(&repo), ["cherry-picked", "missing", "merged"]);

    // set back further, before v1.0.3 was merged and v1.0.1 picked
    let early = repo.rev("develop~3");
    repo.git(&["reset", "-q", "--hard", &early]);
    let mut missing = verdict(&repo).2;
    missing.sort();
    assert_eq!(missing, ["v1.0.1", "v1.0.2", "v1.0.3"]);

    // and a develop that is another line of history altogether
    repo.git(&["switch", "-q", "--orphan", "other"]);
    repo.commit_file("other.txt", "other\n", "another root");
    repo.git(&["branch", "-q", "-f", "develop", "other"]);
    repo.git(&["switch", "-q", "develop"]);
    let mut missing = verdict(&repo).2;
    missing.sort();
    assert_eq!(missing, ["v1.0.1", "v1.0.2", "v1.0.3"]);
}

#[test]
fn two_processes_at_once_answer_the_same_and_leave_a_whole_index() {
    let env = Env::new();
    let (repo, _) = history(&env);
    let path = index_path(&repo);
    let expected = repo.hotfix(&["verify-merged", "--json"]).stdout;
    std::fs::remove_file(&path).unwrap();
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|i| {
                let mut cmd = hotfix_cmd(&repo.path);
                cmd.args(if i % 2 == 0 {
                    ["verify-merged", "--json"]
                } else {
                    ["list", "--json"]
                });
                cmd.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            if i % 2 == 0 {
                assert_eq!(out.status.code(), Some(1), "round {round}");
                assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
            } else {
                assert_eq!(out.status.code(), Some(0), "round {round}");
            }
        }
        let after = repo.hotfix(&["verify-merged", "--json"]).stdout;
        assert_eq!(after, expected);
        // no temporary file is left beside it
        let left: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["history-index"], "round {round}");
        if round == 1 {
            // the next round starts from a stale one
            repo.commit_file("src/f4.txt", &format!("round {round}\n"), "work");
        }
    }
}
