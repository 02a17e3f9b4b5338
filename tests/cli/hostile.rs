//! Hostile and odd input: branch names git refuses or that read as options, unicode names,
//! shell metacharacters that must reach the hooks as data, a file name that is not UTF-8, and
//! odd repositories (bare, shallow, linked worktree, submodules, no remote, a remote that
//! rejects the push).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::support::{
    AS_REVIEWER, CONFIRMED, DEPLOY_POLICY, Env, HOTFIX_BRANCH, Repo, Team, run_git, start_args,
};

/// One clear sentence: a single `error:` line, no panic, no backtrace.
#[track_caller]
fn one_sentence(stderr: &str) {
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "expected one error sentence:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn names_git_refuses_or_that_read_as_options_are_refused_with_one_sentence() {
    let env = Env::new();
    let repo = env.released_repo();
    for name in [
        "has space",
        "a..b",
        "tab\tname",
        "x.lock",
        "a@{b}",
        "colon:name",
        "trailing/",
    ] {
        let run = repo.refused(&start_args(name, &[]), 2, "cannot name a hotfix");
        one_sentence(&run.stderr);
        assert!(run.stderr.contains("is not a valid branch name"), "{name}");
    }
    // after `--` clap takes it as the name; git would too, but every printed command naming it
    // would read as an option
    let mut args = vec!["start"];
    args.extend(CONFIRMED);
    args.extend(["--", "-lead"]);
    let run = repo.refused(&args, 2, "a name must not start with '-'");
    one_sentence(&run.stderr);
    // without `--` it is an unknown option: a usage error, exit 2, nothing made
    repo.refused(&start_args("-lead", &[]), 2, "unexpected argument");
    assert_eq!(repo.branches(), ["develop", "main"]);
    assert_eq!(repo.state(), None);
}

#[test]
fn names_with_unicode_or_quotes_that_git_accepts_work() {
    let env = Env::new();
    let repo = env.released_repo();
    for name in ["ünïcödé-500", "日本語", "quo'te", "dq\"x", "semi;colon"] {
        let branch = format!("hotfix/{name}");
        repo.start(name).ok();
        assert_eq!(repo.branch(), branch);
        let status = repo.hotfix(&["status", "--json"]).ok().json();
        assert_eq!(status["hotfix"]["branch"], branch.as_str());
        assert_eq!(status["hotfix"]["name"], name);
        assert!(repo.state_entry(&branch).is_some(), "{name}");
        repo.hotfix(&["abort", name, "--delete"]).ok();
        assert_eq!(repo.branch(), "develop");
        assert!(!repo.branches().contains(&branch), "{name}");
    }
}

/// Every hook writes the values it got, byte for byte, under `$OUT`.
const ECHO_POLICY: &str = r#"[branches]
development = "develop"

[test]
command = "printf %s \"$HOTFIX_SUMMARY\" > \"$OUT/test.summary\"; printf %s \"$HOTFIX_BRANCH\" > \"$OUT/test.branch\""

[deploy]
command = "printf %s \"$HOTFIX_SUMMARY\" > \"$OUT/deploy.summary\"; printf %s \"$HOTFIX_BRANCH\" > \"$OUT/deploy.branch\""
verify = "printf %s \"$HOTFIX_SUMMARY\" > \"$OUT/verify.summary\"; printf %s \"$HOTFIX_BRANCH\" > \"$OUT/verify.branch\""
verify_retries = 0
notify = "cat > \"$OUT/notify.json\"; printf %s \"$HOTFIX_SUMMARY\" > \"$OUT/notify.summary\"; printf %s \"$HOTFIX_BRANCH\" > \"$OUT/notify.branch\""
"#;

#[test]
fn shell_metacharacters_in_summary_and_name_reach_every_hook_as_data() {
    let t = Team::released(ECHO_POLICY);
    let out = t.out.to_str().unwrap();
    // a command substitution, backticks and a `;` in the name (git accepts all three) ...
    let name = format!("x$(touch${{IFS}}{out}/n1)`touch${{IFS}}{out}/n2`;touch${{IFS}}{out}/n3");
    // ... and every kind of shell code in the summary
    let summary = format!(
        "a $(touch {out}/s1) `touch {out}/s2`; touch {out}/s3 && rm -rf {out} | \"dq\" 's' \\n $HOME %s %n end"
    );
    t.hf(&[
        "start",
        &name,
        "--severity",
        "revenue-loss",
        "--reproduced",
        "--summary",
        &summary,
    ])
    .ok();
    let branch = format!("hotfix/{name}");
    assert_eq!(t.author.branch(), branch);
    t.fix(
        "line 1\nversion 1.1\nline 3 fixed\n",
        "Fix the checkout 500",
    );
    t.hf(&["guard"]).ok();
    t.approve();
    t.hf(&["test"]).ok();
    t.hf(&["deploy"]).ok();
    for hook in ["test", "deploy", "verify", "notify"] {
        let got = std::fs::read(t.out.join(format!("{hook}.summary")))
            .unwrap_or_else(|e| panic!("{hook} wrote no summary: {e}"));
        assert_eq!(got, summary.as_bytes(), "HOTFIX_SUMMARY in {hook}");
        let got = std::fs::read(t.out.join(format!("{hook}.branch"))).unwrap();
        assert_eq!(got, branch.as_bytes(), "HOTFIX_BRANCH in {hook}");
    }
    let record = t.notified().expect("notify ran");
    assert_eq!(record["summary"], summary.as_str());
    assert_eq!(record["branch"], branch.as_str());
    assert_eq!(t.author.tag_record("v1.1.1")["summary"], summary.as_str());
    t.hf(&["finish"]).ok();
    let listed = t.hf(&["list", "--json"]).ok().json();
    assert_eq!(listed["releases"][0]["summary"], summary.as_str());
    for marker in ["n1", "n2", "n3", "s1", "s2", "s3"] {
        assert!(
            !t.out.join(marker).exists(),
            "`{marker}` was created: a value ran as shell code"
        );
    }
}

/// Runs `command` through `sh -c` in `dir`, as a user pasting it would.
fn paste(dir: &Path, command: &str) -> std::process::Output {
    let mut cmd = std::process::Command::new("sh");
    crate::support::pin(&mut cmd, dir);
    cmd.current_dir(dir)
        .arg("-c")
        .arg(command)
        .output()
        .unwrap()
}

#[test]
fn a_command_printed_for_the_user_to_paste_quotes_a_hostile_name() {
    let env = Env::new();
    let repo = env.released_repo();
    // git accepts it; pasted unquoted, `$(...)` would run and make `pwned`
    let name = "a$(touch${IFS}pwned)b";
    let branch = format!("hotfix/{name}");
    repo.start(name).ok();
    repo.git(&["switch", "-q", "develop"]);
    let run = repo.refused(&start_args(name, &[]), 2, "is already in progress");
    let switch = "git switch 'hotfix/a$(touch${IFS}pwned)b'";
    let abort = "hotfix abort 'a$(touch${IFS}pwned)b'";
    assert!(
        run.stderr.contains(&format!(
            "switch to it with `{switch}`, or give it up with `{abort}`"
        )),
        "{}",
        run.stderr
    );
    // `status` names the same command as the next step
    let status = repo.hotfix(&["status"]).ok();
    assert!(
        status.stdout.contains(&format!("next: {switch}\n")),
        "{}",
        status.stdout
    );
    // pasted into a shell, the command does what it says and nothing else
    let out = paste(&repo.path, switch);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(repo.branch(), branch);
    assert!(
        !repo.path.join("pwned").exists(),
        "`pwned` was created: the printed command ran the name as shell code"
    );
}

#[test]
fn a_file_name_that_is_not_utf8_is_counted_shown_tested_and_shipped() {
    let policy = DEPLOY_POLICY.replace(
        "command = \"test ! -e \\\"$OUT/tests-fails\\\"\"",
        "command = \"ls > \\\"$OUT/ls.bin\\\"\"",
    );
    assert_ne!(policy, DEPLOY_POLICY, "the test command was not replaced");
    let t = Team::with_policy(&policy);
    let name = std::ffi::OsStr::from_bytes(b"bad\xff\xfe.txt");
    std::fs::write(t.author.path.join(name), "x\n").unwrap();
    t.author.git(&["add", "-A"]);
    t.author
        .git(&["commit", "-q", "-m", "Add the missing file"]);

    let run = t.hf(&["guard"]).ok();
    assert!(run.stdout.contains("2 of at most 5"), "{}", run.stdout);
    assert!(run.stdout.contains("3 of at most 150"), "{}", run.stdout);
    let guard = t.hf(&["guard", "--json"]).ok().json();
    assert_eq!(guard["totals"]["files"], 2);
    let paths: Vec<&str> = guard["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("bad") && p.ends_with(".txt")),
        "{paths:?}"
    );

    t.approve();
    t.hf(&["test"]).ok();
    // the clean checkout the tests ran in had the file, with its exact bytes
    let listing = std::fs::read(t.out.join("ls.bin")).unwrap();
    assert!(
        listing.windows(name.len()).any(|w| w == name.as_bytes()),
        "{}",
        String::from_utf8_lossy(&listing)
    );
    t.hf(&["deploy"]).ok();
    assert_eq!(t.author.tag_record("v1.1.1")["diff"]["files"], 2);
    t.hf(&["status"]).ok();
}

#[test]
fn a_bare_repository_refuses_every_working_tree_command_and_reads_history() {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy", "--push"]).ok();
    t.hf(&["merge-back"]).ok();
    t.author.git(&["push", "-q", "origin", "develop"]);

    let bare = &t.origin;
    let before = (bare.refs(), dir_listing(&bare.path));
    let branch_arg = HOTFIX_BRANCH;
    let commands: Vec<Vec<&str>> = vec![
        vec!["init"],
        start_args("bare-fix", &[]),
        vec!["status"],
        vec!["status", "--json"],
        vec!["guard"],
        vec!["approve", branch_arg, "--yes"],
        vec!["test"],
        vec!["deploy"],
        vec!["merge-back"],
        vec!["finish"],
        vec!["abort"],
    ];
    for args in &commands {
        let run = bare
            .hotfix(args)
            .fails(2, "this is a bare repository; hotfix needs a working tree");
        one_sentence(&run.stderr);
        assert!(run.stderr.contains("hint: run it in a clone"), "{args:?}");
    }
    assert_eq!(
        before,
        (bare.refs(), dir_listing(&bare.path)),
        "a refused command changed the bare repository"
    );

    // the release history needs no working tree: a bare mirror answers like a clone
    let listed = bare.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(listed["releases"][0]["tag"], "v1.1.1");
    let run = bare.hotfix(&["verify-merged"]).ok();
    assert!(
        run.stdout
            .contains("1 hotfix release checked: all in develop"),
        "{}",
        run.stdout
    );
    bare.hotfix(&["stats", "--json"]).ok();
}

/// Every path under `dir` (a fingerprint of a bare repository: a refused command adds nothing).
fn dir_listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A `--depth 1` clone of `branch` of the team's origin, with the author's identity.
fn shallow_clone(t: &Team, name: &str, branch: &str) -> Repo {
    let url = format!("file://{}", t.origin.path.display());
    run_git(
        t.env.path(),
        &["clone", "-q", "--depth", "1", "-b", branch, &url, name],
    );
    let repo = Repo {
        path: t.env.path().join(name),
        identity: t.author.identity.clone(),
    };
    repo.set_identity((&t.author.identity.0, &t.author.identity.1));
    repo
}

#[test]
fn a_shallow_clone_starts_from_the_tag_it_has_and_verify_merged_refuses() {
    let t = Team::released(DEPLOY_POLICY);
    // main's tip is v1.1.0: the depth-1 clone has that commit and its tag
    let shallow = shallow_clone(&t, "shallow", "main");
    shallow.start("login-500").ok();
    assert_eq!(shallow.branch(), HOTFIX_BRANCH);
    let entry = shallow.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["base_tag"].as_str(), Some("v1.1.0"));
    shallow.commit_file("app.txt", "line 1\nversion 1.1\nline 3 fixed\n", "Fix");
    let run = shallow.hotfix(&["guard"]).ok();
    assert!(run.stdout.contains("1 of at most 5"), "{}", run.stdout);
    let run = shallow.refused(&["verify-merged"], 2, "this clone is shallow");
    one_sentence(&run.stderr);
    assert!(
        run.stderr.contains("git fetch --unshallow --tags"),
        "{}",
        run.stderr
    );

    // develop's tip has no tag in reach: start says the clone is shallow and how to fix it
    let cut = shallow_clone(&t, "cut", "develop");
    let run = cut.refused(&start_args("login-500", &[]), 2, "this clone is shallow");
    one_sentence(&run.stderr);
    assert!(
        run.stderr.contains("git fetch --unshallow --tags"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_hotfix_started_in_a_linked_worktree_is_seen_from_the_main_worktree() {
    let t = Team::released(DEPLOY_POLICY);
    let wt_path = t.env.path().join("wt");
    t.author.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt-base",
        wt_path.to_str().unwrap(),
        "develop",
    ]);
    let wt = Repo {
        path: wt_path.clone(),
        identity: t.author.identity.clone(),
    };
    let out = t.out.to_str().unwrap();
    wt.hotfix_env(&start_args("login-500", &[]), &[("OUT", out)])
        .ok();
    assert_eq!(wt.branch(), HOTFIX_BRANCH);
    assert_eq!(t.author.branch(), "develop");
    wt.commit_file("app.txt", "line 1\nversion 1.1\nline 3 fixed\n", "Fix");
    wt.hotfix(&["guard"]).ok();
    // one state for both worktrees
    assert_eq!(wt.state_path(), t.author.state_path());

    // the main worktree sees it, and says where it is checked out (git would refuse a switch)
    let run = t.status();
    assert!(run.stdout.contains(HOTFIX_BRANCH), "{}", run.stdout);
    let wt_real = wt_path.canonicalize().unwrap();
    assert!(
        run.stdout
            .contains(&format!("next: cd {}", wt_real.display()))
            || run
                .stdout
                .contains(&format!("next: cd {}", wt_path.display())),
        "{}",
        run.stdout
    );
    let json = t.hf(&["status", "--json"]).ok().json();
    assert_eq!(json["in_progress"][0], HOTFIX_BRANCH);

    // a reviewer in the main worktree approves the branch checked out in the other one
    t.hf_env(&["approve", HOTFIX_BRANCH, "--yes"], &AS_REVIEWER)
        .ok();
    wt.hotfix_env(&["test"], &[("OUT", out)]).ok();
    wt.hotfix_env(&["deploy"], &[("OUT", out)]).ok();
    assert!(t.author.has_tag("v1.1.1"));
    assert_eq!(t.log("deploy.log").len(), 1);
}

#[test]
fn a_submodule_bump_is_guarded_and_tested_in_a_checkout_that_can_fetch_it() {
    let env = Env::new();
    let out = env.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let lib = env.repo("lib");
    lib.commit_file("lib.txt", "lib v1\n", "lib 1");
    let app = env.repo("app");
    // The clean checkout of `hotfix test` is a `git worktree add`: like a fresh clone, its
    // submodule folders are empty until the test command runs `git submodule update --init`.
    app.write(
        "hotfix.toml",
        r#"[branches]
development = "develop"

[test]
command = "ls -A vendor/lib > \"$OUT/before.txt\"; git -c protocol.file.allow=always submodule update --init --quiet && cat vendor/lib/lib.txt > \"$OUT/lib.txt\""
"#,
    );
    let url = format!("file://{}", lib.path.display());
    app.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "vendor/lib",
    ]);
    app.git(&["add", "hotfix.toml"]);
    app.commit_file("app.txt", "v1\n", "release 1.0");
    app.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    app.git(&["switch", "-q", "-c", "develop"]);
    let vars = [("OUT", out.to_str().unwrap())];
    app.hotfix_env(&start_args("lib-bump", &[]), &vars).ok();
    assert_eq!(app.git(&["status", "--porcelain"]), "");

    // the fix: the submodule moves to the library's fixed commit
    lib.commit_file("lib.txt", "lib v2\n", "lib 2");
    let sub = Repo {
        path: app.path.join("vendor/lib"),
        identity: app.identity.clone(),
    };
    sub.git(&[
        "-c",
        "protocol.file.allow=always",
        "pull",
        "-q",
        "origin",
        "main",
    ]);
    app.git(&["add", "vendor/lib"]);
    app.git(&["commit", "-q", "-m", "Take the library fix"]);

    let guard = app.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(guard["totals"]["files"], 1);
    assert_eq!(guard["files"][0]["path"], "vendor/lib");
    app.hotfix_env(&["approve", "--yes"], &AS_REVIEWER).ok();
    app.hotfix_env(&["test"], &vars).ok();
    let before = std::fs::read_to_string(out.join("before.txt")).unwrap();
    assert_eq!(
        before, "",
        "the clean checkout's submodule folder was not empty"
    );
    // the tests saw the library at the commit the hotfix's tree records
    assert_eq!(
        std::fs::read_to_string(out.join("lib.txt")).unwrap(),
        "lib v2\n"
    );
    // the temporary worktree (and the submodule cloned into it) is gone
    assert_eq!(app.git(&["worktree", "list"]).lines().count(), 1);
    assert_eq!(app.read("vendor/lib/lib.txt"), "lib v2\n");
}

#[test]
fn approve_push_without_a_remote_is_refused_and_deploy_push_changes_nothing() {
    let t = Team::new();
    t.author.git(&["remote", "remove", "origin"]);
    let out = t.out.to_str().unwrap();
    let mut vars = vec![("OUT", out)];
    vars.extend(AS_REVIEWER);
    let run = t.author.refused_env(
        &["approve", "--yes", "--push"],
        &vars,
        2,
        "--push needs a remote",
    );
    one_sentence(&run.stderr);
    t.approve();
    t.hf(&["test"]).ok();
    // pushing is deploy's default now, and a repository with no remote releases as before:
    // `--push` is accepted and changes nothing
    let run = t.hf(&["deploy", "--push"]).ok();
    assert!(t.author.has_tag("v1.1.1"));
    assert!(!run.stderr.contains("only in this clone"), "{}", run.stderr);
    assert_eq!(t.log("deploy.log").len(), 1);
}

#[test]
fn a_remote_that_rejects_every_push_refuses_the_deploy_before_anything_runs() {
    let t = Team::new();
    let hook = t.origin.path.join("hooks").join("pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let origin_refs = t.origin.refs();

    // the approval is kept here; the sentence says so and how to send it again
    let run = t
        .hf_env(&["approve", "--yes", "--push"], &AS_REVIEWER)
        .fails(2, "could not be pushed");
    one_sentence(&run.stderr);
    assert!(run.stderr.contains("pushes are frozen"), "{}", run.stderr);
    t.hf(&["test"]).ok();

    // docs/commands/deploy.md: the version cannot be reserved, so nothing runs (it used to
    // deploy, warn about the push and say "Released")
    let run = t.refused(&["deploy"], 2, "could not reserve v1.1.1 on origin");
    one_sentence(&run.stderr);
    assert!(run.stderr.contains("pushes are frozen"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    assert!(!run.stderr.contains("Released"), "{}", run.stderr);
    assert!(t.log("deploy.log").is_empty());
    assert_eq!(t.origin.refs(), origin_refs, "the remote took something");

    // kept here on purpose: status says so, with the push that shares it
    t.hf(&["deploy", "--no-push"]).ok();
    assert!(t.author.has_tag("v1.1.1"));
    assert_eq!(t.origin.refs(), origin_refs, "the remote took something");
    let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
    assert_eq!(entry["deploy"]["local_only"].as_bool(), Some(true));
    let run = t.status();
    assert!(
        run.stdout.contains("v1.1.1 is only in this clone"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("`git push origin v1.1.1`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("next: hotfix merge-back"),
        "{}",
        run.stdout
    );

    // merge-back ends the hotfix's state: its last words repeat the push still owed
    let run = t.hf(&["merge-back"]).ok();
    assert!(
        run.stderr.contains("git push origin v1.1.1"),
        "{}",
        run.stderr
    );

    // once the remote takes pushes, the printed command delivers the release
    std::fs::remove_file(&hook).unwrap();
    t.author.git(&["push", "-q", "origin", "v1.1.1"]);
    assert!(t.origin.has_tag("v1.1.1"));
}

#[test]
fn a_test_timeout_too_long_to_represent_means_no_deadline() {
    // the largest duration hotfix.toml accepts: adding it to the clock overflowed and panicked
    let policy = DEPLOY_POLICY.replace(
        "[deploy]",
        "timeout = \"18446744073709551615s\"\n\n[deploy]",
    );
    let t = Team::with_policy(&policy);
    let run = t.hf(&["test"]).ok();
    assert!(run.stderr.contains("tests passed"), "{}", run.stderr);
}

#[test]
fn every_truncation_of_a_real_state_file_parses_or_is_damaged_with_a_way_out() {
    let t = Team::new();
    t.gates_pass();
    let text = t.author.state().unwrap();
    let mut refused = 0;
    for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        // a cut at a line end can still be a whole document: then it must parse, not panic
        if let Err(e) = hotfix::state::parse_state(&text[..cut]) {
            let refusal = e
                .chain()
                .find_map(|c| c.downcast_ref::<hotfix::error::Refusal>())
                .unwrap_or_else(|| panic!("cut at {cut}: not a refusal: {e:#}"));
            assert_eq!(refusal.exit_code(), 2, "cut at {cut}: {e}");
            assert!(e.to_string().contains("is damaged"), "cut at {cut}: {e}");
            let hint = refusal.hint_text().unwrap_or_default();
            assert!(hint.contains("hotfix abort"), "cut at {cut}: {hint}");
            refused += 1;
        }
    }
    assert!(refused > text.len() / 2, "only {refused} cuts refused");

    // the binary says the same, and `abort` is the way out it names
    let path = t.author.state_path();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let run = t.refused(&["status"], 2, "is damaged");
    one_sentence(&run.stderr);
    assert!(
        run.stderr.contains("hint: run `hotfix abort`"),
        "{}",
        run.stderr
    );
    t.hf(&["abort"]).ok();
    t.status();
    let aside = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.toml.damaged-")
        });
    assert!(aside, "the damaged file was not kept");
}
