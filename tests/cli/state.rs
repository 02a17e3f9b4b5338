//! The state file: atomic writes, the lock, crashes at every point of `start`, a damaged file,
//! the policy snapshot, and worktrees sharing one state.

use std::sync::Arc;

use hotfix::config::Config;
use hotfix::state::{Hotfix, State, Store};

use crate::support::{Env, Repo, start_args};

/// A process killed by `HOTFIX_FAULT`: it did not exit normally and said where it stopped.
#[track_caller]
fn crashed(run: &crate::support::Run, point: &str) {
    assert_ne!(
        run.code, 0,
        "the fault did not stop the process:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("fault injected at {point}")),
        "{}",
        run.stderr
    );
}

#[test]
fn crash_before_rename_keeps_the_old_state() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("first").ok();
    repo.git(&["switch", "-q", "develop"]);
    let before = repo.snapshot();
    let old = repo.state().unwrap();

    let run = repo.hotfix_env(
        &start_args("second", &[]),
        &[("HOTFIX_FAULT", "state-before-rename")],
    );
    crashed(&run, "state-before-rename");

    assert_eq!(repo.state().unwrap(), old, "the old state file is intact");
    assert!(repo.state_entry("hotfix/first").is_some());
    assert!(repo.state_entry("hotfix/second").is_none());
    assert_eq!(repo.snapshot(), before, "nothing else changed either");
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(status["in_progress"], serde_json::json!(["hotfix/first"]));
    // and the same start goes through afterwards, clearing the killed writer's temporary file
    assert!(temp_files(&repo).len() == 1, "{:?}", temp_files(&repo));
    repo.start("second").ok();
    assert_eq!(repo.branch(), "hotfix/second");
    assert!(temp_files(&repo).is_empty(), "{:?}", temp_files(&repo));
}

/// Temporary state files in the state folder.
fn temp_files(repo: &Repo) -> Vec<String> {
    std::fs::read_dir(repo.state_path().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".state.toml."))
        .collect()
}

#[test]
fn crash_before_the_first_state_write_leaves_nothing() {
    let env = Env::new();
    let repo = env.released_repo();
    let before = repo.snapshot();
    let run = repo.hotfix_env(
        &start_args("x", &[]),
        &[("HOTFIX_FAULT", "state-before-rename")],
    );
    crashed(&run, "state-before-rename");
    assert_eq!(repo.snapshot(), before);
    repo.hotfix(&["status"]).ok();
}

/// `start` killed after recording the hotfix and before making its branch.
fn interrupted_before_branch(env: &Env) -> Repo {
    let repo = env.released_repo();
    let run = repo.hotfix_env(
        &start_args("x", &[]),
        &[("HOTFIX_FAULT", "start-before-branch")],
    );
    crashed(&run, "start-before-branch");
    assert_eq!(repo.branch(), "develop");
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
    assert_eq!(
        repo.state_entry("hotfix/x").unwrap()["phase"].as_str(),
        Some("starting")
    );
    repo
}

#[test]
fn interrupted_before_branch_status_explains() {
    let env = Env::new();
    let repo = interrupted_before_branch(&env);
    let run = repo.hotfix(&["status"]).ok();
    assert!(
        run.stdout
            .contains("start was interrupted before the branch was made"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("next: hotfix start x"),
        "{}",
        run.stdout
    );
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(json["in_progress"], serde_json::json!(["hotfix/x"]));
}

#[test]
fn interrupted_before_branch_start_again_resumes() {
    let env = Env::new();
    let repo = interrupted_before_branch(&env);
    let recorded = repo.state_entry("hotfix/x").unwrap();
    repo.start("x").ok();
    assert_eq!(repo.branch(), "hotfix/x");
    assert_eq!(repo.head(), repo.rev("v1.1.0"));
    let entry = repo.state_entry("hotfix/x").unwrap();
    assert_eq!(entry["phase"].as_str(), Some("open"));
    // the first attempt's answers and start time are kept
    assert_eq!(entry["started_at"], recorded["started_at"]);
    assert_eq!(entry["return_to"].as_str(), Some("develop"));
}

#[test]
fn interrupted_before_branch_abort_undoes() {
    let env = Env::new();
    let repo = interrupted_before_branch(&env);
    let refs = repo.refs();
    repo.hotfix(&["abort", "x"]).ok();
    assert!(repo.state_entry("hotfix/x").is_none());
    assert_eq!(repo.refs(), refs);
    assert_eq!(repo.branch(), "develop");
    repo.start("x").ok();
}

/// `start` killed after making the branch and before checking it out.
fn interrupted_before_checkout(env: &Env) -> Repo {
    let repo = env.released_repo();
    let run = repo.hotfix_env(
        &start_args("x", &[]),
        &[("HOTFIX_FAULT", "start-before-checkout")],
    );
    crashed(&run, "start-before-checkout");
    assert_eq!(repo.branch(), "develop");
    assert_eq!(repo.rev("hotfix/x"), repo.rev("v1.1.0"));
    repo
}

#[test]
fn interrupted_before_checkout_status_explains() {
    let env = Env::new();
    let repo = interrupted_before_checkout(&env);
    let run = repo.hotfix(&["status"]).ok();
    assert!(
        run.stdout.contains("start was interrupted before"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("hotfix start x"), "{}", run.stdout);
}

#[test]
fn interrupted_before_checkout_start_again_resumes() {
    let env = Env::new();
    let repo = interrupted_before_checkout(&env);
    repo.start("x").ok();
    assert_eq!(repo.branch(), "hotfix/x");
    assert_eq!(repo.head(), repo.rev("v1.1.0"));
    assert_eq!(
        repo.state_entry("hotfix/x").unwrap()["phase"].as_str(),
        Some("open")
    );
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    assert!(status["hotfix"]["problem"].is_null(), "{status}");
}

#[test]
fn interrupted_before_checkout_abort_undoes() {
    let env = Env::new();
    let repo = interrupted_before_checkout(&env);
    repo.hotfix(&["abort", "x", "--delete"]).ok();
    assert!(repo.state_entry("hotfix/x").is_none());
    assert!(!repo.branches().contains(&"hotfix/x".to_string()));
    assert_eq!(repo.branch(), "develop");
    repo.start("x").ok();
}

/// A state entry as a start would write it; built from TOML so that fields added later with a
/// default keep this test compiling.
fn entry(name: &str) -> Hotfix {
    let policy = Config::default().to_toml().unwrap();
    let policy: toml::Table = toml::from_str(&policy).unwrap();
    let mut table: toml::Table = toml::from_str(&format!(
        r#"
        name = "{name}"
        branch = "hotfix/{name}"
        base_tag = "v1.1.0"
        base_commit = "{zeros}"
        return_to = "develop"
        severity = "revenue-loss"
        summary = "summary of {name}"
        reproduced = true
        author_name = "Ann Author"
        author_email = "ann@example.com"
        started_at = "2026-01-15T10:00:00Z"
        phase = "open"
        "#,
        zeros = "0".repeat(40)
    ))
    .unwrap();
    table.insert("policy".into(), toml::Value::Table(policy));
    table.try_into().unwrap()
}

#[test]
fn concurrent_writers_never_lose_or_tear_an_update() {
    let env = Env::new();
    let common = env.path().join("git-dir");
    std::fs::create_dir(&common).unwrap();
    let common = Arc::new(common);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let common = Arc::clone(&common);
            std::thread::spawn(move || {
                // each thread its own Store, as separate processes would have
                let store = Store::new(&common);
                for i in 0..25 {
                    let h = entry(&format!("t{t}-{i}"));
                    // A writer that waited out the lock (5 s: a loaded machine with slow fsync
                    // can make 8 writers wait that long) is refused with nothing written; it
                    // tries again, as a person would. What is checked is that no update is lost
                    // or torn, not how fast the disk is.
                    loop {
                        match store.update(|s| {
                            s.hotfixes.insert(h.branch.clone(), h.clone());
                            Ok(())
                        }) {
                            Ok(()) => break,
                            Err(e) if e.to_string().contains("lock held on") => continue,
                            Err(e) => panic!("{e:#}"),
                        }
                    }
                    // a reader never sees a torn file
                    store.read().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::new(&common);
    let state: State = store.read().unwrap();
    assert_eq!(state.hotfixes.len(), 200);
    for t in 0..8 {
        for i in 0..25 {
            let name = format!("t{t}-{i}");
            assert_eq!(state.hotfixes[&format!("hotfix/{name}")], entry(&name));
        }
    }
    let text = std::fs::read_to_string(store.path()).unwrap();
    let _: toml::Table = toml::from_str(&text).unwrap();
    // no temporary file is left behind
    let leftovers: Vec<_> = std::fs::read_dir(common.join("hotfix"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state.toml" && n != "state.lock")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_held_lock_refuses_after_the_wait() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("first").ok();
    repo.git(&["switch", "-q", "develop"]);
    let lock_path = repo.git_dir().join("hotfix").join("state.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let run = repo.refused(
        &start_args("second", &[]),
        2,
        "another hotfix command is changing this repository's hotfix state",
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(4));
    assert!(
        run.stderr.contains("run this command again"),
        "{}",
        run.stderr
    );
    // readers need no lock
    repo.hotfix(&["status"]).ok();
    lock.unlock().unwrap();
    repo.start("second").ok();
}

#[test]
fn damaged_state_file() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("x").ok();
    let garbage = "version = 1\n[hotfixes.\"hotfix/x\"]\nname = \"x\"\nbran\u{0}\u{7f}";
    std::fs::write(repo.state_path(), garbage).unwrap();
    let path = repo.state_path();

    let run = repo.refused(&["status"], 2, "is damaged");
    assert!(
        run.stderr.contains(path.to_str().unwrap()),
        "names the file: {}",
        run.stderr
    );
    assert!(run.stderr.contains("hotfix abort"), "{}", run.stderr);
    repo.refused(&start_args("y", &[]), 2, "is damaged");

    let refs = repo.refs();
    repo.hotfix(&["abort"]).ok();
    assert!(repo.state().is_none());
    let aside: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("state.toml.damaged-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read_to_string(&aside[0]).unwrap(), garbage);
    assert_eq!(repo.refs(), refs, "no branch or tag was touched");
    repo.hotfix(&["status"]).ok();

    // damaged again at once: the first file set aside is not replaced
    std::fs::write(repo.state_path(), "garbage again").unwrap();
    repo.hotfix(&["abort"]).ok();
    let mut kept: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("state.toml.damaged-")
        })
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, ["garbage again", garbage]);
}

#[test]
fn state_from_a_newer_hotfix_is_refused() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("x").ok();
    std::fs::write(repo.state_path(), "version = 99\n").unwrap();
    repo.refused(&["status"], 2, "written by a newer hotfix");
}

#[test]
fn policy_is_the_one_at_start() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.commit_file("hotfix.toml", "[guard]\nmax_files = 2\n", "policy");
    repo.start("x").ok();
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    let policy = repo.state_entry("hotfix/x").unwrap()["policy"].clone();
    assert_eq!(policy["guard"]["max_files"].as_integer(), Some(2));

    // the branch comes from the release tag, which has no hotfix.toml: loosen it by hand
    repo.write(
        "hotfix.toml",
        "[guard]\nmax_files = 500\nmax_lines = 100000\n[review]\nallow_self_approval = true\n",
    );
    assert_eq!(repo.hotfix(&["status", "--json"]).ok().json(), status);
    assert_eq!(repo.state_entry("hotfix/x").unwrap()["policy"], policy);

    // committed on the hotfix branch, it still does not apply to this hotfix
    repo.git(&["add", "hotfix.toml"]);
    repo.git(&["commit", "-q", "-m", "loosen the policy"]);
    repo.hotfix(&["status", "--json"]).ok();
    assert_eq!(repo.state_entry("hotfix/x").unwrap()["policy"], policy);
}

#[test]
fn a_linked_worktree_shares_the_state() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("x").ok();
    let wt_path = env.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "other",
        wt_path.to_str().unwrap(),
        "develop",
    ]);
    let wt = Repo {
        path: wt_path,
        identity: repo.identity.clone(),
    };
    assert_eq!(wt.state_path(), repo.state_path());
    let json = wt.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(json["in_progress"], serde_json::json!(["hotfix/x"]));
    assert!(json["hotfix"].is_null(), "not checked out in this worktree");

    wt.start("y").ok();
    assert_eq!(wt.branch(), "hotfix/y");
    assert_eq!(repo.branch(), "hotfix/x");
    let json = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(
        json["in_progress"],
        serde_json::json!(["hotfix/x", "hotfix/y"])
    );
    assert_eq!(json["hotfix"]["branch"], "hotfix/x");
    let json = wt.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(json["hotfix"]["branch"], "hotfix/y");
    assert_eq!(json["hotfix"]["checked_out"], true);

    wt.hotfix(&["abort"]).ok();
    assert_eq!(wt.branch(), "other");
    assert!(repo.state_entry("hotfix/y").is_none());
    assert!(repo.state_entry("hotfix/x").is_some());
}

#[test]
fn abort_will_not_take_a_branch_checked_out_in_another_worktree() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("x").ok();
    repo.commit_file("app.txt", "fixed\n", "the fix");
    let wt_path = env.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        wt_path.to_str().unwrap(),
        "develop",
    ]);
    let run = repo.refused(&["abort"], 2, "develop is checked out in another worktree");
    assert!(
        run.stderr.contains(wt_path.to_str().unwrap()),
        "{}",
        run.stderr
    );
    assert_eq!(repo.read("app.txt"), "fixed\n");
    // from the worktree holding develop, abort by name leaves both worktrees as they are
    let wt = Repo {
        path: wt_path,
        identity: repo.identity.clone(),
    };
    wt.hotfix(&["abort", "x"]).ok();
    assert_eq!(wt.branch(), "develop");
    assert_eq!(repo.branch(), "hotfix/x");
    assert!(repo.state_entry("hotfix/x").is_none());
}
