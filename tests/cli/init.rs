//! `hotfix init`: a hotfix.toml with defaults detected from the repository, never overwritten.

use hotfix::config::Config;

use crate::support::{AUTHOR, Env, Repo, run_git};

/// Runs init, checks the written file parses, and returns the parsed policy.
#[track_caller]
fn init(repo: &Repo) -> Config {
    let refs = repo.refs();
    let branch = repo.branch();
    repo.hotfix(&["init"]).ok();
    assert_eq!(repo.refs(), refs, "init writes a file, no ref");
    assert_eq!(repo.branch(), branch);
    let text = repo.read("hotfix.toml");
    let _: toml::Table = toml::from_str(&text).unwrap();
    Config::parse(&text, "hotfix.toml").unwrap()
}

#[test]
fn detects_v_tags_and_develop() {
    let env = Env::new();
    let repo = env.released_repo();
    let config = init(&repo);
    assert_eq!(config.release.tag_pattern, "v*");
    assert_eq!(config.branches.development, "develop");
    // everything else is the default policy
    let mut expected = Config::default();
    expected.branches.development = "develop".into();
    assert_eq!(config, expected);
    // the file works for the binary as it is written
    repo.git(&["add", "hotfix.toml"]);
    repo.git(&["commit", "-q", "-m", "hotfix policy"]);
    repo.start("x").ok();
    assert_eq!(repo.head(), repo.rev("v1.1.0"));
}

#[test]
fn detects_bare_number_tags() {
    let env = Env::new();
    let repo = env.repo("app");
    repo.commit_file("app.txt", "1\n", "one");
    repo.git(&["tag", "1.0.0"]);
    repo.commit_file("app.txt", "2\n", "two");
    repo.git(&["tag", "1.2.0"]);
    repo.git(&["tag", "2.0.0-rc1"]);
    // one odd v-tag does not outvote two releases
    repo.git(&["tag", "v0.1.0"]);
    let config = init(&repo);
    assert_eq!(config.release.tag_pattern, "[0-9]*");
    assert_eq!(config.branches.development, "main");
    repo.git(&["add", "hotfix.toml"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    repo.start("x").ok();
    assert_eq!(repo.head(), repo.rev("1.2.0"));
}

#[test]
fn no_tags_and_no_develop() {
    let env = Env::new();
    let repo = env.repo("app");
    repo.commit_file("app.txt", "1\n", "one");
    let run = repo.hotfix(&["init"]).ok();
    assert!(
        run.stderr.contains("no release tags found"),
        "{}",
        run.stderr
    );
    let config = Config::parse(&repo.read("hotfix.toml"), "hotfix.toml").unwrap();
    assert_eq!(config.release.tag_pattern, "v*");
    assert_eq!(config.branches.development, "main");
}

#[test]
fn development_is_the_remote_default_branch_in_a_clone() {
    let env = Env::new();
    let seed = env.repo("seed");
    seed.commit_file("app.txt", "1\n", "one");
    seed.git(&["branch", "-m", "trunk"]);
    run_git(
        env.path(),
        &[
            "clone",
            "-q",
            "--bare",
            seed.path.to_str().unwrap(),
            "origin.git",
        ],
    );
    let origin = Repo {
        path: env.path().join("origin.git"),
        identity: seed.identity.clone(),
    };
    let clone = env.clone_of(&origin, "clone", AUTHOR);
    assert_eq!(clone.branch(), "trunk");
    // a local main must not win over what the remote says
    clone.git(&["branch", "main"]);
    let config = init(&clone);
    assert_eq!(config.branches.development, "trunk");
}

#[test]
fn develop_on_the_remote_only() {
    let env = Env::new();
    let (origin, author) = env.origin_and_clone();
    author.git(&["push", "-q", "origin", "main:develop"]);
    let clone = env.clone_of(&origin, "second", AUTHOR);
    assert!(!clone.branches().contains(&"develop".to_string()));
    let config = init(&clone);
    assert_eq!(config.branches.development, "develop");
}

#[test]
fn refuses_to_overwrite() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.write("hotfix.toml", "# ours\n[guard]\nmax_files = 1\n");
    let run = repo.refused(&["init"], 2, "already exists; init never overwrites it");
    assert!(run.stderr.contains("hotfix.toml"), "{}", run.stderr);
    assert_eq!(repo.read("hotfix.toml"), "# ours\n[guard]\nmax_files = 1\n");
}

#[test]
fn writes_at_the_root_from_a_subfolder() {
    let env = Env::new();
    let repo = env.released_repo();
    let sub = repo.path.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    repo.hotfix(&["-C", sub.to_str().unwrap(), "init"]).ok();
    assert!(repo.path.join("hotfix.toml").is_file());
    assert!(!sub.join("hotfix.toml").exists());
}

#[test]
fn init_matches_the_tag_format_to_plain_version_tags_and_reads_git_flow() {
    let env = Env::new();
    let repo = env.repo("flow");
    repo.commit_file("app.txt", "1\n", "release");
    repo.git(&["tag", "1.0.0"]);
    repo.git(&["branch", "master"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo.git(&["config", "gitflow.branch.master", "master"]);
    repo.hotfix(&["init"]).ok();
    let text = repo.read("hotfix.toml");
    assert!(text.contains("tag_pattern = \"[0-9]*\""), "{text}");
    assert!(text.contains("tag_format = \"{version}\""), "{text}");
    assert!(text.contains("production = \"master\""), "{text}");
    assert!(text.contains("development = \"develop\""), "{text}");
}
