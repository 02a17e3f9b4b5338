//! How hotfix checks a branch out (`start`; `abort` and `merge-back` switch the same way): only
//! the files that differ are written, with the line-ending conversions git would make, and
//! nothing is written when a file in the way would be lost.

use std::os::unix::fs::MetadataExt;

use crate::support::{Env, Repo};

/// A release v1.0.0 and a `develop` branch past it, checked out on `develop`; `setup` runs
/// first, on the empty repository.
fn released(env: &Env, setup: impl Fn(&Repo)) -> Repo {
    let repo = env.repo("app");
    setup(&repo);
    repo.commit_file("same.txt", "the same on both\n", "shared file");
    repo.commit_file("app.txt", "version 1.0\nline two\n", "release 1.0");
    repo.commit_file("sub/deep/lib.txt", "lib 1.0\n", "library 1.0");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo.commit_file("app.txt", "version 2.0\n", "develop app");
    repo.commit_file("sub/deep/lib.txt", "lib 2.0\n", "develop library");
    repo
}

fn bytes(repo: &Repo, file: &str) -> Vec<u8> {
    std::fs::read(repo.path.join(file)).unwrap()
}

fn clean(repo: &Repo) {
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the working tree is not clean"
    );
}

#[test]
fn writes_the_release_files_as_they_are() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\nline two\n");
    assert_eq!(bytes(&repo, "sub/deep/lib.txt"), b"lib 1.0\n");
    clean(&repo);
}

#[test]
fn leaves_files_that_do_not_differ_alone() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    let before = std::fs::metadata(repo.path.join("same.txt")).unwrap();
    repo.write("notes.txt", "my untracked notes\n");
    repo.start("fix").ok();
    let after = std::fs::metadata(repo.path.join("same.txt")).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
    assert_eq!(repo.read("notes.txt"), "my untracked notes\n");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "?? notes.txt\n",
        "only the untracked file differs"
    );
}

#[test]
fn eol_attribute_at_the_root_converts_the_files_written() {
    let env = Env::new();
    let repo = released(&env, |r| {
        r.commit_file(".gitattributes", "*.txt text eol=crlf\n", "line endings");
    });
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\r\nline two\r\n");
    assert_eq!(bytes(&repo, "sub/deep/lib.txt"), b"lib 1.0\r\n");
    clean(&repo);
}

#[test]
fn eol_attribute_in_a_subdirectory_converts_the_files_below_it() {
    let env = Env::new();
    let repo = released(&env, |r| {
        r.commit_file(
            "sub/.gitattributes",
            "*.txt text eol=crlf\n",
            "line endings",
        );
    });
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "sub/deep/lib.txt"), b"lib 1.0\r\n");
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\nline two\n");
    clean(&repo);
}

#[test]
fn info_attributes_and_autocrlf_convert_too() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    let info = repo.git_dir().join("info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(info.join("attributes"), "app.txt text eol=crlf\n").unwrap();
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\r\nline two\r\n");

    let env = Env::new();
    let repo = released(&env, |_| {});
    repo.git(&["config", "core.autocrlf", "true"]);
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "sub/deep/lib.txt"), b"lib 1.0\r\n");
}

#[test]
fn a_file_that_was_a_directory() {
    let env = Env::new();
    let repo = env.repo("app");
    repo.commit_file("lib", "lib as a file\n", "release 1.0");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo.git(&["rm", "-q", "lib"]);
    repo.commit_file("lib/a.txt", "lib as a directory\n", "lib grows");
    repo.start("fix").ok();
    assert_eq!(repo.read("lib"), "lib as a file\n");
    clean(&repo);
    repo.hotfix(&["abort", "--delete"]).ok();
    assert_eq!(repo.branch(), "develop");
    assert_eq!(repo.read("lib/a.txt"), "lib as a directory\n");
    clean(&repo);
}

#[test]
fn an_untracked_file_in_the_way_refuses_and_writes_nothing() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    // the release has extra.txt; develop removed it; an untracked one would be overwritten
    repo.git(&["switch", "-q", "-c", "tmp", "v1.0.0"]);
    repo.commit_file("extra.txt", "in the release\n", "extra");
    repo.git(&["tag", "-f", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.git(&["switch", "-q", "develop"]);
    repo.git(&["branch", "-q", "-D", "tmp"]);
    repo.write("extra.txt", "mine, not committed\n");
    repo.hotfix(&[
        "start",
        "fix",
        "--severity",
        "revenue-loss",
        "--reproduced",
        "--summary",
        "s",
    ])
    .fails(2, "would overwrite local files");
    assert_eq!(repo.branch(), "develop");
    assert_eq!(repo.read("extra.txt"), "mine, not committed\n");
    assert_eq!(repo.read("app.txt"), "version 2.0\n");
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? extra.txt\n");
    assert!(repo.state_entry("hotfix/fix").is_none());

    // the same when the untracked file happens to hold the release's content: still a
    // refusal before anything was written, not a switch stopped half way
    repo.write("extra.txt", "in the release\n");
    let run = repo.hotfix(&[
        "start",
        "fix",
        "--severity",
        "revenue-loss",
        "--reproduced",
        "--summary",
        "s",
    ]);
    let run = run.fails(2, "would overwrite local files");
    assert!(!run.stderr.contains("half way"), "{}", run.stderr);
    assert!(repo.state_entry("hotfix/fix").is_none());
    assert!(!repo.branches().contains(&"hotfix/fix".to_string()));
    assert_eq!(repo.read("extra.txt"), "in the release\n");
}

#[test]
fn the_index_keeps_its_tree_ids_after_a_switch() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    assert!(repo.tree_ids_cached(), "git's own index has them");
    repo.start("fix").ok();
    assert!(repo.tree_ids_cached(), "after start");
    repo.hotfix(&["abort"]).ok();
    assert!(repo.tree_ids_cached(), "after abort");
    clean(&repo);
}

/// The index as git would build it from nothing (no stat data to trust): every file is read.
fn index_from_scratch(repo: &Repo) -> String {
    let before = repo.git(&["ls-files", "-s"]);
    std::fs::remove_file(repo.git_dir().join("index")).unwrap();
    repo.git(&["reset", "-q"]);
    assert_eq!(
        repo.git(&["ls-files", "-s"]),
        before,
        "the index hotfix wrote"
    );
    repo.git(&["status", "--porcelain"])
}

#[test]
fn files_written_over_their_old_content_are_what_git_would_write() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    // longer on develop than in the release: the rewrite must cut the file to its new length
    repo.commit_file(
        "same.txt",
        "the same on both\nand then much more on develop\n",
        "grow",
    );
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "same.txt"), b"the same on both\n");
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\nline two\n");
    clean(&repo);
    assert_eq!(index_from_scratch(&repo), "");
    repo.hotfix(&["abort"]).ok();
    assert_eq!(bytes(&repo, "app.txt"), b"version 2.0\n");
    assert_eq!(index_from_scratch(&repo), "");
}

#[test]
fn a_file_with_another_hard_link_is_replaced_not_written_through() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    let outside = env.path().join("linked-app.txt");
    std::fs::hard_link(repo.path.join("app.txt"), &outside).unwrap();
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\nline two\n");
    assert_eq!(std::fs::read(&outside).unwrap(), b"version 2.0\n");
    clean(&repo);
}

#[test]
fn a_file_touched_but_not_changed_is_checked_by_content_and_written() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    // new times: the index's stat data no longer matches, the content still does
    let file = std::fs::File::options()
        .write(true)
        .open(repo.path.join("app.txt"))
        .unwrap();
    file.set_modified(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
    )
    .unwrap();
    drop(file);
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "app.txt"), b"version 1.0\nline two\n");
    clean(&repo);
    assert_eq!(index_from_scratch(&repo), "");
}

#[test]
fn a_file_whose_mode_and_content_change_gets_both() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let repo = released(&env, |r| {
        r.write("run.sh", "#!/bin/sh\necho release\n");
        std::fs::set_permissions(
            r.path.join("run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        r.git(&["add", "run.sh"]);
        r.git(&["commit", "-q", "-m", "runner"]);
    });
    repo.write("run.sh", "echo develop\n");
    std::fs::set_permissions(
        repo.path.join("run.sh"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    repo.git(&["commit", "-q", "-am", "not a script any more"]);
    repo.start("fix").ok();
    assert_eq!(bytes(&repo, "run.sh"), b"#!/bin/sh\necho release\n");
    let mode = std::fs::metadata(repo.path.join("run.sh")).unwrap().mode();
    assert_eq!(mode & 0o111, 0o111, "executable again: {mode:o}");
    clean(&repo);
    assert_eq!(index_from_scratch(&repo), "");
}

#[test]
fn a_lock_held_by_another_git_process_refuses_before_writing() {
    let env = Env::new();
    let repo = released(&env, |_| {});
    std::fs::write(repo.git_dir().join("index.lock"), "").unwrap();
    let run = repo.hotfix(&[
        "start",
        "fix",
        "--severity",
        "revenue-loss",
        "--reproduced",
        "--summary",
        "s",
    ]);
    let run = run.fails(2, "another git process may be running");
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    std::fs::remove_file(repo.git_dir().join("index.lock")).unwrap();
    assert_eq!(repo.branch(), "develop");
    assert_eq!(repo.read("app.txt"), "version 2.0\n");
    clean(&repo);
}
