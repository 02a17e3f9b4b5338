//! `hotfix demo`: the whole pipeline on a throwaway team, run to the end without a terminal, and
//! the team it leaves behind is the one the transcript describes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{Env, Repo, Run, hotfix_cmd, run_git};

/// `hotfix demo <args>` run from `env` (not a repository), with TMPDIR inside `env` so the demo
/// folder is found and removed with it, no stdin, and CI set as on a CI runner.
fn demo(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let tmp = tmpdir(env);
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = hotfix_cmd(env.path());
    cmd.arg("demo")
        .args(args)
        .env("TMPDIR", &tmp)
        .env("CI", "true")
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Run::new(cmd.output().unwrap())
}

fn tmpdir(env: &Env) -> PathBuf {
    env.path().join("tmp")
}

/// The demo folders left in the test's TMPDIR.
fn demo_folders(env: &Env) -> Vec<PathBuf> {
    std::fs::read_dir(tmpdir(env))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hotfix-demo-")
        })
        .collect()
}

fn repo(path: &Path) -> Repo {
    Repo {
        path: path.to_path_buf(),
        identity: ("Ann Author".into(), "ann@example.com".into()),
    }
}

#[test]
fn demo_runs_the_whole_pipeline_and_leaves_the_team_to_explore() {
    let env = Env::new();
    let run = demo(&env, &[], &[]).ok();

    // every step is shown as the command a user would type, in the order of the pipeline
    let steps = [
        "author$ hotfix start checkout-500 --severity revenue-loss --reproduced --summary \"Checkout fails with a 500 when the cart is empty\"",
        "author$ git commit -am \"No average price for an empty cart\"",
        "author$ hotfix guard",
        "author$ hotfix deploy\n",
        "reviewer$ hotfix approve hotfix/checkout-500 --yes --push",
        "author$ hotfix test",
        "author$ hotfix deploy\n",
        "author$ hotfix merge-back",
        "reviewer$ hotfix verify-merged",
        "author$ hotfix retro --why",
        "author$ hotfix list",
        "author$ hotfix stats",
    ];
    let mut at = 0;
    for step in steps {
        let found = run.stdout[at..]
            .find(step)
            .unwrap_or_else(|| panic!("step {step:?} missing or out of order:\n{}", run.stdout));
        at += found + step.len();
    }
    // the children's output comes through: the refusal, the test run, the release
    let all = format!("{}{}", run.stdout, run.stderr);
    for shown in [
        "review (not approved yet)",
        "ok: sh app.sh prints 'total: 0'",
        "Released v1.2.1",
        "Merged hotfix/checkout-500 into release/1.3",
        "✓ 1 hotfix release checked: all in origin/develop",
        "untested-edge-case",
    ] {
        assert!(all.contains(shown), "{shown:?} not shown:\n{all}");
    }

    // the folder it names is there, and the team in it went through the pipeline for real
    let folders = demo_folders(&env);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let root = folders[0].canonicalize().unwrap();
    assert!(
        run.stdout
            .contains(&format!("The repositories stay in {}", root.display())),
        "{}",
        run.stdout
    );
    let origin = repo(&root.join("origin.git"));
    let record = origin.tag_record("v1.2.1");
    assert_eq!(record["base_tag"], "v1.2.0");
    assert_eq!(record["approvers"][0]["email"], "rita@example.com");
    assert_eq!(record["author"]["email"], "ann@example.com");
    assert_eq!(record["test"]["passed"], true);
    let fix = origin.rev("v1.2.1^{commit}");
    assert!(
        origin.contains("develop", &fix),
        "the fix is not in develop"
    );
    assert!(
        origin.contains("release/1.3", &fix),
        "the fix is not in release/1.3"
    );
    assert!(
        !origin.contains("main", &fix),
        "main moved: it is not the production branch"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("production/VERSION")).unwrap(),
        "v1.2.1\n"
    );
    let author = repo(&root.join("author"));
    assert_eq!(author.branch(), "develop");
    assert_eq!(author.git(&["status", "--porcelain"]), "");
    let retros = run_git(&origin.path, &["for-each-ref", "refs/hotfix/retros"]);
    assert!(retros.contains("refs/hotfix/retros/v1.2.1/"), "{retros}");
}

#[test]
fn demo_clean_removes_its_folder() {
    let env = Env::new();
    let run = demo(&env, &["--clean"], &[]).ok();
    assert!(
        run.stdout.contains("is removed (--clean)"),
        "{}",
        run.stdout
    );
    assert_eq!(demo_folders(&env), Vec::<PathBuf>::new());
}

#[test]
fn demo_is_immune_to_a_global_config_that_signs_and_sets_an_identity() {
    // A user whose global config signs every commit and tag with a broken signing program and
    // forces one identity on every repository: the demo's repositories set their own.
    let env = Env::new();
    let global = env.path().join("gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Global User\n\temail = global@example.com\n\
         [commit]\n\tgpgsign = true\n[tag]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n",
    )
    .unwrap();
    let global = global.to_str().unwrap();
    demo(
        &env,
        &["--clean"],
        &[
            ("GIT_CONFIG_GLOBAL", global),
            ("GIT_AUTHOR_EMAIL", "global@example.com"),
            ("GIT_COMMITTER_EMAIL", "global@example.com"),
        ],
    )
    .ok();
}

#[test]
fn a_failing_step_stops_the_demo_naming_it_and_keeps_the_folder() {
    // A global pre-commit hook that refuses every commit: the demo's fix cannot be committed.
    let env = Env::new();
    let hooks = env.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let hook = hooks.join("pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho 'pre-commit: refused' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let global = env.path().join("gitconfig");
    std::fs::write(
        &global,
        format!("[core]\n\thooksPath = {}\n", hooks.display()),
    )
    .unwrap();
    let run = demo(
        &env,
        &["--clean"],
        &[("GIT_CONFIG_GLOBAL", global.to_str().unwrap())],
    );
    // the set-up is not the user's work and skips hooks; the first commit shown runs them
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let folders = demo_folders(&env);
    assert_eq!(
        folders.len(),
        1,
        "the folder is kept to explain the failure"
    );
    let root = folders[0].canonicalize().unwrap();
    assert!(
        run.stderr.contains(
            "error: the demo stopped at `git commit -am \"No average price for an empty cart\"` in author/: it exited with 1"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "hint: the demo's repositories are kept in {} to look at",
            root.display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pre-commit: refused"), "{}", run.stderr);
}

#[test]
fn a_failing_set_up_says_so_and_keeps_the_folder() {
    // A global config that sends every path URL elsewhere: the set-up's push to the origin fails.
    let env = Env::new();
    let global = env.path().join("gitconfig");
    std::fs::write(&global, "[url \"/nonexistent/\"]\n\tinsteadOf = /\n").unwrap();
    let run = demo(
        &env,
        &["--clean"],
        &[("GIT_CONFIG_GLOBAL", global.to_str().unwrap())],
    )
    .fails(
        2,
        "error: the demo stopped while setting up its repositories: `git push",
    );
    assert!(
        run.stdout.is_empty(),
        "nothing was shown yet:\n{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("does not appear to be a git repository"),
        "{}",
        run.stderr
    );
    let folders = demo_folders(&env);
    assert_eq!(
        folders.len(),
        1,
        "the folder is kept to explain the failure"
    );
    assert!(
        run.stderr.contains(&format!(
            "hint: the demo's repositories are kept in {} to look at",
            folders[0].canonicalize().unwrap().display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn demo_without_a_usable_temporary_folder_says_so() {
    let env = Env::new();
    let run = hotfix_cmd(env.path())
        .arg("demo")
        .env("TMPDIR", env.path().join("missing"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run::new(run).fails(2, "could not create a temporary folder for the demo");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
