//! What runs is exactly the tree the gates judged (issue 11, attacks 3 and 4): the test command
//! and the deploy hooks run on an export of the commit, written from the object database into a
//! fresh folder. Nothing in the author's working tree (an edit hidden from `git status`, an
//! ignored file) and nothing configured only in the author's clone (hooks, filters and
//! attributes, replace refs, an object file edited in place) changes what they see. Symlinks
//! the hotfix adds are flagged, and one out of the tree is refused.

use std::os::unix::fs::PermissionsExt;

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, Team};

/// The team's policy with a test command that runs the tree's own `check.sh`, and a deploy
/// command that records what it ships (`app.txt`) and whether an ignored file is there.
fn policy() -> String {
    let p = DEPLOY_POLICY
        .replace(
            r#"command = "test ! -e \"$OUT/tests-fails\"""#,
            r#"command = "sh check.sh""#,
        )
        .replace(
            r#"[deploy]
command = ""#,
            r#"[deploy]
command = "cat app.txt > \"$OUT/shipped.txt\"; ls -A > \"$OUT/shipped-files.txt\"; pwd -P > \"$OUT/cwd.txt\"; echo \"$HOTFIX_REPO_ROOT\" > \"$OUT/root.txt\"; "#,
        );
    assert!(
        p.contains("sh check.sh") && p.contains("shipped.txt"),
        "policy edit missed"
    );
    p
}

/// A team whose hotfix commits `check.sh` with `check` as its body (`exit 0` passes).
fn team(check: &str) -> Team {
    let t = Team::with_policy(&policy());
    t.author.commit_file("check.sh", check, "the check");
    t
}

fn shipped(t: &Team) -> String {
    std::fs::read_to_string(t.out.join("shipped.txt")).expect("the deploy command ran")
}

fn tests_passed(t: &Team) -> Option<bool> {
    let entry = t.author.state_entry(HOTFIX_BRANCH)?;
    entry.get("tests")?.get("passed")?.as_bool()
}

/// The committed app.txt of the fix.
const FIXED: &str = "line 1\nversion 1.1\nline 3 fixed\n";

// ---- 3: the deploy ships the checked tree, never the working tree ----

#[test]
fn an_edit_hidden_with_skip_worktree_or_assume_unchanged_does_not_ship() {
    for flag in ["--skip-worktree", "--assume-unchanged"] {
        let t = team("exit 0\n");
        t.gates_pass();
        t.author.git(&["update-index", flag, "app.txt"]);
        t.author.write("app.txt", "BACKDOOR\n");
        // git itself no longer sees the edit
        assert_eq!(t.author.git(&["status", "--porcelain"]), "", "{flag}");
        t.hf(&["deploy"]).ok();
        assert_eq!(shipped(&t), FIXED, "{flag}: the hidden edit shipped");
        // the author's edit is left where it was
        assert_eq!(t.author.read("app.txt"), "BACKDOOR\n");
    }
}

#[test]
fn ignored_files_are_not_there_for_the_deploy_hooks() {
    let t = team("exit 0\n");
    t.gates_pass();
    std::fs::write(t.author.git_dir().join("info").join("exclude"), "*.env\n").unwrap();
    t.author
        .write("production.env", "DEPLOY_FROM=somewhere-else\n");
    t.author.write("node_modules.env", "x\n");
    t.hf(&["deploy"]).ok();
    let files = std::fs::read_to_string(t.out.join("shipped-files.txt")).unwrap();
    assert!(!files.contains(".env"), "{files}");
    assert!(files.contains("app.txt"), "{files}");
    // the hooks' folder is not the clone, and they are told where the clone is
    let cwd = std::fs::read_to_string(t.out.join("cwd.txt")).unwrap();
    let root = std::fs::read_to_string(t.out.join("root.txt")).unwrap();
    assert_eq!(root.trim(), t.author.path.to_str().unwrap());
    assert_ne!(
        cwd.trim(),
        t.author.path.canonicalize().unwrap().to_str().unwrap()
    );
    // and the folder is gone afterwards
    assert!(!std::path::Path::new(cwd.trim()).exists(), "{cwd}");
}

#[test]
fn the_clones_hooks_do_not_touch_what_the_deploy_ships() {
    let t = team("exit 0\n");
    t.gates_pass();
    // a post-checkout hook would have rewritten app.txt in a `git worktree add` checkout
    hook(&t, "post-checkout", "echo BACKDOOR > app.txt\n");
    t.hf(&["deploy"]).ok();
    assert_eq!(shipped(&t), FIXED);
}

// ---- 3: symlinks ----

#[test]
fn a_symlink_out_of_the_tree_is_refused_by_the_guard_and_deploy_even_overridden() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("app.conf");
    std::fs::write(&target, "reviewed\n").unwrap();
    // absolute; `..` out of the tree; and out only through another link of the tree
    // (`d/up -> ..` stays inside, but `d/up/..` is the parent of the tree's root)
    let absolute = target.to_str().unwrap().to_string();
    for links in [
        vec![("config", absolute.as_str())],
        vec![("conf/app.conf", "../../outside/app.conf")],
        vec![("d/up", ".."), ("x", "d/up/../outside/app.conf")],
    ] {
        let t = team("exit 0\n");
        for (link, to) in &links {
            let path = t.author.path.join(link);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(to, &path).unwrap();
            t.author.git(&["add", link]);
        }
        t.author.git(&["commit", "-q", "-m", "link the config"]);
        let link = links.last().unwrap().0;
        let run = t.hf(&["guard"]).fails(1, "points outside the tree");
        assert!(
            run.stderr.contains(&format!("the symlink {link} -> ")),
            "{}",
            run.stderr
        );
        assert!(run.stdout.contains("symlink"), "{}", run.stdout);
        t.gates_pass();
        t.refused(&["deploy"], 1, "points outside the tree");
        t.hf(&["deploy", "--override", "guard", "--reason", "it is fine"])
            .fails(1, "points outside the tree");
        assert!(!t.out.join("shipped.txt").exists(), "{link}: deployed");
        assert!(!t.author.has_tag("v1.1.1"));
    }
}

#[test]
fn a_symlink_inside_the_tree_is_flagged_for_the_reviewer_and_passes() {
    let t = team("exit 0\n");
    std::fs::create_dir_all(t.author.path.join("docs")).unwrap();
    std::os::unix::fs::symlink("../app.txt", t.author.path.join("docs/app.txt")).unwrap();
    t.author.git(&["add", "docs/app.txt"]);
    t.author.git(&["commit", "-q", "-m", "link"]);
    let guard = t.hf(&["guard", "--json"]).ok().json();
    let flags = guard["flags"].as_array().unwrap();
    let link = flags
        .iter()
        .find(|f| f["kind"] == "symlink")
        .unwrap_or_else(|| panic!("no symlink flag: {guard}"));
    assert_eq!(link["path"], "docs/app.txt");
    assert_eq!(link["text"], "-> ../app.txt");
    // retargeting a link is a change too
    std::fs::remove_file(t.author.path.join("docs/app.txt")).unwrap();
    std::os::unix::fs::symlink("../check.sh", t.author.path.join("docs/app.txt")).unwrap();
    t.author.git(&["commit", "-q", "-am", "relink"]);
    let guard = t.hf(&["guard"]).ok();
    assert!(
        guard
            .stdout
            .contains("docs/app.txt: symlink: -> ../check.sh"),
        "{}",
        guard.stdout
    );
    t.gates_pass();
    t.hf(&["deploy"]).ok();
    // shipped as a link, as committed
    let files = std::fs::read_to_string(t.out.join("shipped-files.txt")).unwrap();
    assert!(files.contains("docs"), "{files}");
}

// ---- 4: the test checkout ignores what is configured only in the clone ----

/// Installs an executable hook in the clone's `.git/hooks`.
fn hook(t: &Team, name: &str, body: &str) {
    let path = t.author.git_dir().join("hooks").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `hotfix test` on a tree whose check fails: refused, and recorded as failed.
#[track_caller]
fn tests_fail(t: &Team, what: &str) {
    let run = t.hf(&["test"]);
    assert_eq!(run.code, 1, "{what}: {}\n{}", run.stdout, run.stderr);
    assert_eq!(tests_passed(t), Some(false), "{what}");
}

#[test]
fn a_post_checkout_hook_cannot_make_failing_tests_pass() {
    let t = team("exit 1\n");
    hook(&t, "post-checkout", "echo 'exit 0' > check.sh\n");
    tests_fail(&t, "post-checkout");
    // the same through core.hooksPath, into a folder of the author's
    let dir = t.env.path().join("my-hooks");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("post-checkout"),
        "#!/bin/sh\necho 'exit 0' > check.sh\n",
    )
    .unwrap();
    std::fs::set_permissions(
        dir.join("post-checkout"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    t.author
        .git(&["config", "core.hooksPath", dir.to_str().unwrap()]);
    tests_fail(&t, "core.hooksPath");
}

#[test]
fn a_filter_of_the_clone_cannot_rewrite_the_checkout() {
    // the attribute only in .git/info/attributes, the filter only in .git/config
    let t = team("exit 1\n");
    std::fs::write(
        t.author.git_dir().join("info").join("attributes"),
        "check.sh filter=pass\n",
    )
    .unwrap();
    t.author
        .git(&["config", "filter.pass.smudge", "sed s/1/0/"]);
    t.author.git(&["config", "filter.pass.clean", "cat"]);
    tests_fail(&t, "filter from info/attributes");
}

#[test]
fn a_filter_the_tree_names_but_the_clone_defines_is_not_run_and_is_said() {
    // the tree's own .gitattributes names it (as a team using git-lfs does); the program is
    // the clone's
    let t = team("exit 1\n");
    t.author
        .commit_file(".gitattributes", "*.sh filter=lfs\n", "lfs for scripts");
    t.author.git(&["config", "filter.lfs.smudge", "sed s/1/0/"]);
    t.author.git(&["config", "filter.lfs.clean", "cat"]);
    t.author.git(&["config", "filter.lfs.required", "true"]);
    let run = t.hf(&["test"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the tree's .gitattributes names filters (lfs)"),
        "{}",
        run.stderr
    );
    assert_eq!(tests_passed(&t), Some(false));
}

#[test]
fn git_replace_cannot_swap_what_the_tests_run() {
    let t = team("exit 1\n");
    let failing = t.author.rev("HEAD:check.sh");
    let passing = hash_object(&t, "exit 0\n");
    t.author.git(&["replace", &failing, &passing]);
    // git itself now shows the replacement
    assert_eq!(t.author.git(&["show", "HEAD:check.sh"]), "exit 0\n");
    tests_fail(&t, "git replace");
}

#[test]
fn an_object_file_edited_in_place_is_refused_not_tested() {
    let t = team("exit 1\n");
    let failing = t.author.rev("HEAD:check.sh");
    let passing = hash_object(&t, "exit 0\n");
    // the loose object of the failing check now holds the passing one's bytes
    let objects = t.author.git_dir().join("objects");
    let file = |id: &str| objects.join(&id[..2]).join(&id[2..]);
    std::fs::remove_file(file(&failing)).unwrap();
    std::fs::copy(file(&passing), file(&failing)).unwrap();
    let run = t.hf(&["test"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not hold what its id names"),
        "{}",
        run.stderr
    );
    assert_ne!(tests_passed(&t), Some(true));
}

#[test]
fn core_settings_of_the_clone_do_not_change_the_checkout() {
    // autocrlf would write CRLF, symlinks=false a text file for a link, fileMode=false is
    // about the working tree only: none reaches the export
    let t = team(
        "set -e\ntest \"$(cat app.txt)\" = \"$(printf 'line 1\\nversion 1.1\\nline 3 fixed')\"\ntest -L link\ntest -x run.sh\n",
    );
    std::os::unix::fs::symlink("app.txt", t.author.path.join("link")).unwrap();
    t.author.write("run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(
        t.author.path.join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    t.author.git(&["add", "link", "run.sh"]);
    t.author.git(&["commit", "-q", "-m", "a link and a script"]);
    for (key, value) in [
        ("core.autocrlf", "true"),
        ("core.eol", "crlf"),
        ("core.symlinks", "false"),
        ("core.fileMode", "false"),
    ] {
        t.author.git(&["config", key, value]);
    }
    t.hf(&["test"]).ok();
    assert_eq!(tests_passed(&t), Some(true));
}

#[test]
fn the_test_checkout_is_a_repository_at_the_tested_commit() {
    // test commands that ask git (`git rev-parse HEAD`, `git describe`) see the tested commit
    let t = team(
        "test \"$(git rev-parse HEAD)\" = \"$HOTFIX_COMMIT\" && test -z \"$(git status --porcelain)\"\n",
    );
    t.hf(&["test"]).ok();
    assert_eq!(tests_passed(&t), Some(true));
}

fn hash_object(t: &Team, content: &str) -> String {
    let path = t.env.path().join("blob.txt");
    std::fs::write(&path, content).unwrap();
    t.author
        .git(&["hash-object", "-w", path.to_str().unwrap()])
        .trim()
        .to_string()
}
