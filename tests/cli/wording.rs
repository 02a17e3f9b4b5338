//! What a tired engineer reads: hints that say how to pass first, no claim from too little
//! data, no stale "Next", and the set-up helpers (init's test command, completions, man).

use crate::support::*;

/// The released team before `start` (no fix yet) with the hotfix started.
fn started() -> Team {
    let t = Team::released(DEPLOY_POLICY);
    t.hf(&start_args("login-500", &[])).ok();
    t
}

#[test]
fn with_no_fix_committed_test_and_deploy_run_nothing_and_say_so() {
    let t = started();
    let run = t.refused(
        &["test"],
        1,
        "hotfix/login-500 has no fix committed yet; nothing was run",
    );
    assert!(
        run.stderr
            .contains("hint: commit the fix on hotfix/login-500, then run `hotfix test`"),
        "{}",
        run.stderr
    );
    assert!(
        t.state_entry_tests().is_none(),
        "no test result was recorded"
    );
    t.refused(
        &["deploy"],
        1,
        "hotfix/login-500 has no fix committed yet; nothing was run",
    );
    assert!(t.log("deploy.log").is_empty());
}

trait Tests {
    fn state_entry_tests(&self) -> Option<toml::Value>;
}

impl Tests for Team {
    fn state_entry_tests(&self) -> Option<toml::Value> {
        self.author
            .state_entry(HOTFIX_BRANCH)
            .and_then(|e| e.get("tests").cloned())
    }
}

#[test]
fn a_second_start_says_which_hotfix_is_still_in_progress() {
    let t = started();
    t.author.git(&["switch", "-q", "develop"]);
    let run = t.hf(&start_args("search-slow", &[])).ok();
    assert!(
        run.stderr.contains(
            "Still in progress: hotfix/login-500; go back to it with `git switch hotfix/login-500`."
        ),
        "{}",
        run.stderr
    );
    // the first start of all has nothing to say about others
    let env = Env::new();
    let repo = env.released_repo();
    let run = repo.start("only").ok();
    assert!(!run.stderr.contains("Still in progress"), "{}", run.stderr);
}

#[test]
fn a_stale_approval_names_the_commit_it_was_for() {
    let t = Team::new();
    t.approve();
    let approved = t.author.head();
    t.fix(
        "line 1\nversion 1.1\nline 3 fixed better\n",
        "Fix it better",
    );
    let run = t.hf(&["status"]).ok();
    assert!(
        run.stdout.contains(&format!(
            "approval by Rita Reviewer is for an older tree (at commit {})",
            &approved[..10]
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.starts_with("hotfix/login-500: "),
        "{}",
        run.stdout
    );
}

#[test]
fn the_guard_says_how_to_pass_before_how_to_override() {
    let t = Team::new();
    t.fix(&"x\n".repeat(200), "a big change");
    let run = t.hf(&["status"]).ok();
    assert!(
        run.stdout.contains(
            "next: make the fix smaller, then `hotfix guard`; or `hotfix guard --override guard --reason <text>`"
        ),
        "{}",
        run.stdout
    );
    let run = t.refused(&["finish"], 1, "the guard says no");
    let hint = run.stderr.lines().find(|l| l.starts_with("hint:")).unwrap();
    assert!(
        hint.find("make the fix smaller").unwrap() < hint.find("--override").unwrap(),
        "{hint}"
    );

    // where the policy forbids overrides, no hint offers one
    let strict = format!("{DEPLOY_POLICY}\n[policy]\nallow_override = false\n");
    let t = Team::with_policy(&strict);
    t.fix(&"x\n".repeat(200), "a big change");
    let run = t.refused(&["finish"], 1, "the guard says no");
    assert!(!run.stderr.contains("--override"), "{}", run.stderr);
    let run = t.hf(&["status"]).ok();
    assert!(!run.stdout.contains("--override"), "{}", run.stdout);
    let t2 = Team::with_policy(&strict);
    t2.make_fail("tests");
    let run = t2.hf(&["test"]).fails(1, "the tests failed");
    assert!(!run.stderr.contains("--override"), "{}", run.stderr);
}

#[test]
fn finish_does_not_open_with_a_stale_failure_nor_print_a_stale_next() {
    let t = Team::new();
    t.approve();
    t.make_fail("tests");
    t.hf(&["test"]).fails(1, "the tests failed");
    t.make_pass("tests");
    let run = t.hf(&["finish"]).ok();
    assert!(!run.stderr.contains("✗"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("· test    not passed for this tree yet; running the tests"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Next: `hotfix merge-back`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Released v1.1.1."), "{}", run.stderr);
}

#[test]
fn list_prints_no_legend_without_releases_and_takes_since() {
    let env = Env::new();
    let repo = env.released_repo();
    let run = repo.hotfix(&["list"]).ok();
    assert_eq!(run.stdout, "No hotfix releases yet.\n");
    assert!(!run.stderr.contains("MERGED"), "{}", run.stderr);

    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    // deployed now: a month from now holds none
    let now = jiff::Timestamp::now();
    let this_month = now.strftime("%Y-%m").to_string();
    let later = (now + jiff::SignedDuration::from_hours(24 * 40))
        .strftime("%Y-%m")
        .to_string();
    let run = t.hf(&["list", "--since", &this_month]).ok();
    assert!(run.stdout.contains("v1.1.1"), "{}", run.stdout);
    let run = t.hf(&["list", "--since", &later]).ok();
    assert_eq!(run.stdout, format!("No hotfix releases since {later}.\n"));
    let run = t.hf(&["list", "--since", &later, "--json"]).ok();
    assert_eq!(run.json()["releases"], serde_json::json!([]));
    t.refused(
        &["list", "--since", "January"],
        2,
        "is not a date of the form YYYY-MM-DD or a month YYYY-MM",
    );
}

#[test]
fn stats_claims_no_trend_from_one_release_and_takes_a_month() {
    let t = Team::new();
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    let now = jiff::Timestamp::now().to_string();
    let this_month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let run = t.hf_env(&["stats"], &[("HOTFIX_NOW", &now)]).ok();
    assert!(
        run.stdout
            .contains("Trend: too few releases to tell: 1 in "),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("the aim is"), "{}", run.stdout);
    assert!(run.stdout.contains("about 20% is usual"), "{}", run.stdout);
    let run = t
        .hf_env(
            &["stats", "--since", &this_month, "--json"],
            &[("HOTFIX_NOW", &now)],
        )
        .ok();
    assert_eq!(run.json()["releases"], 1, "{}", run.stdout);
}

#[test]
fn init_detects_the_test_command_and_says_where_from() {
    for (file, content, command, from) in [
        (
            "Cargo.toml",
            "[package]\nname = \"app\"\n",
            "cargo test",
            "Cargo.toml",
        ),
        ("go.mod", "module app\n", "go test ./...", "go.mod"),
        (
            "package.json",
            "{\"scripts\": {\"test\": \"jest\"}}",
            "npm test",
            "package.json's test script",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"app\"\n",
            "pytest",
            "pyproject.toml",
        ),
        (
            "Makefile",
            "build:\n\tcc app.c\n\ntest: build\n\t./run-tests\n",
            "make test",
            "the Makefile's test target",
        ),
    ] {
        let env = Env::new();
        let repo = env.released_repo();
        repo.commit_file(file, content, "project file");
        let run = repo.hotfix(&["init"]).ok();
        assert!(
            run.stderr
                .contains(&format!("  test.command = \"{command}\" (from {from})")),
            "{file}: {}",
            run.stderr
        );
        assert!(
            repo.read("hotfix.toml")
                .contains(&format!("\ncommand = \"{command}\"\n# Killed")),
            "{file}"
        );
    }
    // npm's placeholder is no test command; nothing found is said
    let env = Env::new();
    let repo = env.released_repo();
    repo.commit_file(
        "package.json",
        "{\"scripts\": {\"test\": \"echo \\\"Error: no test specified\\\" && exit 1\"}}",
        "npm init",
    );
    let run = repo.hotfix(&["init"]).ok();
    assert!(
        run.stderr.contains("warning: no test command found"),
        "{}",
        run.stderr
    );
    let run = repo.hotfix(&["init"]).fails(2, "already exists");
    assert!(
        !run.stderr.contains("hotfix.toml.example"),
        "{}",
        run.stderr
    );
}

#[test]
fn start_with_an_untracked_policy_says_it_is_not_committed() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.write("hotfix.toml", "[guard]\nmax_files = 1\n");
    let run = repo.refused(&start_args("x", &[]), 2, "hotfix.toml is not committed");
    assert!(
        !run.stderr.contains("differs from the committed one"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_offer_what_the_repository_knows() {
    let t = Team::new();
    let out = |what: &str| t.hf(&["__complete", what]).ok().stdout;
    assert_eq!(out("branches"), "hotfix/login-500\n");
    assert_eq!(out("tags"), "v1.1.0\nv1.0.0\n");
    assert_eq!(
        out("criteria"),
        "revenue-loss\ndata-corruption\nsecurity-exploit\ncore-workflow-blocked\n"
    );
    // outside a repository: nothing, and no error
    let env = Env::new();
    let run = hotfix_cmd(env.path())
        .args(["__complete", "branches"])
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(run.stdout.is_empty() && run.stderr.is_empty());

    // bash, as it completes: the script's function fills COMPREPLY
    let script = t.hf(&["completions", "bash"]).ok().stdout;
    assert!(
        script.contains("_git_hotfix()"),
        "git hotfix <TAB> needs _git_hotfix"
    );
    let path = t.env.path().join("hotfix.bash");
    std::fs::write(&path, &script).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("hotfix");
    let bin = exe.parent().unwrap().to_str().unwrap();
    let complete = |line: &str| {
        let words = format!("({line})");
        let code = format!(
            "source {}; COMP_WORDS={words}; COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _hotfix_values hotfix \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(code)
            .current_dir(&t.author.path)
            .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap()))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("hotfix approve ''"), "hotfix/login-500\n");
    assert_eq!(complete("hotfix retro v1.1"), "v1.1.0\n");
    assert_eq!(complete("hotfix start x --from ''"), "v1.1.0\nv1.0.0\n");
    assert_eq!(complete("hotfix start x --severity rev"), "revenue-loss\n");
    // the rest is clap's
    assert!(complete("hotfix sta").contains("status"));
}

#[test]
fn man_install_writes_the_page_under_both_names() {
    let env = Env::new();
    let dir = env.path().join("share/man/man1");
    let run = hotfix_cmd(env.path())
        .args(["man", "--install", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let page = hotfix_cmd(env.path()).arg("man").output().unwrap().stdout;
    for name in ["hotfix.1", "git-hotfix.1"] {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), page, "{name}");
    }
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("No manual entry"), "{stderr}");
    // the default folder is under XDG_DATA_HOME
    let run = hotfix_cmd(env.path())
        .args(["man", "--install"])
        .env("XDG_DATA_HOME", env.path().join("xdg"))
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(env.path().join("xdg/man/man1/git-hotfix.1").is_file());
}

#[test]
fn a_command_lists_its_own_options_before_the_global_ones() {
    let env = Env::new();
    let run = hotfix_cmd(env.path())
        .args(["deploy", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(run.stdout).unwrap();
    let own = help.find("--version <VERSION>").expect("own option");
    let heading = help
        .find("Global options:")
        .expect("a heading for the global ones");
    let global = help.find("--non-interactive").unwrap();
    assert!(own < heading && heading < global, "{help}");
    assert!(help.contains("-y, --yes"), "{help}");
}

#[test]
fn a_mistyped_flag_is_not_shown_as_the_usage() {
    let t = Team::new();
    let run = t.refused(&["deploy", "--psuh"], 2, "unexpected argument '--psuh'");
    assert!(
        run.stderr.contains("a similar argument exists: '--push'"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Usage: hotfix deploy --push"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--help"), "{}", run.stderr);
}

#[test]
fn deploy_json_prints_the_refused_gates_on_stdout() {
    let t = Team::new();
    let run = t.refused(&["deploy", "--json"], 1, "deploy refused");
    let json = run.json();
    assert_eq!(json["deployed"], false);
    let refused: Vec<&str> = json["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gate"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["review", "test"]);
    assert_eq!(json["gates"].as_array().unwrap().len(), 3);
    assert_eq!(json["tree"], t.author.rev("HEAD^{tree}"));
}

/// The team with the fix pushed, and Rita's clone.
fn with_reviewer() -> (Team, Repo) {
    let t = Team::new();
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let rita = t.env.clone_of(&t.origin, "rita", REVIEWER);
    (t, rita)
}

#[test]
fn a_change_request_reaches_the_author_through_the_remote() {
    let (t, rita) = with_reviewer();
    let run = rita
        .hotfix(&[
            "approve",
            HOTFIX_BRANCH,
            "--request-changes",
            "check the empty-email case\nand add a test \u{1b}[31m",
            "--push",
        ])
        .ok();
    assert!(
        run.stderr.contains("Asked for changes to tree")
            && run.stderr.contains("pushed the request to origin"),
        "{}",
        run.stderr
    );
    // nothing counts as an approval
    let (ok, refs, _) = t.origin.git_try(&["for-each-ref", "refs/hotfix/"]);
    assert!(ok);
    assert!(!refs.contains("approvals"), "{refs}");
    assert!(
        refs.contains("refs/hotfix/changes/hotfix/login-500/"),
        "{refs}"
    );

    // the reviewer acted a moment ago: as if the seconds without a fetch had passed
    t.author.forget_last_fetch();
    let status = t.hf(&["status"]).ok();
    let commit = &t.author.head()[..10];
    assert!(
        status.stdout.contains(&format!(
            "Rita Reviewer asked for changes at commit {commit}: \"check the empty-email case and add a test [31m\""
        )),
        "{}",
        status.stdout
    );
    assert!(
        !status.stdout.contains('\u{1b}'),
        "no escape reaches the terminal"
    );

    // an approval by the same reviewer answers it
    t.author.commit_file(
        "app.txt",
        "line 1\nversion 1.1\nline 3 fixed, tested\n",
        "Add the case",
    );
    t.author.git(&["push", "-q", "origin", HOTFIX_BRANCH]);
    rita.git(&["fetch", "-q", "origin"]);
    rita.hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    // the reviewer acted a moment ago: as if the seconds without a fetch had passed
    t.author.forget_last_fetch();
    let status = t.hf(&["status"]).ok();
    assert!(
        !status.stdout.contains("asked for changes"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("approved by Rita Reviewer"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_change_request_cannot_take_back_an_approval_nor_be_empty() {
    let (_t, rita) = with_reviewer();
    rita.refused(
        &["approve", HOTFIX_BRANCH, "--request-changes", " \n "],
        2,
        "the comment is empty",
    );
    rita.hotfix(&["approve", HOTFIX_BRANCH, "--yes"]).ok();
    rita.refused(
        &[
            "approve",
            HOTFIX_BRANCH,
            "--request-changes",
            "on second thought",
        ],
        2,
        "an approval is never taken back",
    );
}
