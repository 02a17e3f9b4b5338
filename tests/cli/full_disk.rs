//! A disk that fills up while the deploy runs (issue 10 item 5): real ENOSPC, from a tiny tmpfs
//! mounted over the author's `.git` in a private mount namespace (`unshare -rm`: root, or
//! unprivileged user namespaces). The deploy hooks fill it with `head -c … /dev/zero`.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// Runs `script` (sh) in a new mount namespace where the author's `.git` is a copy on a tmpfs of
/// `size`; `$HOTFIX` is the binary, `$GITDIR` the git dir. `None` when this machine cannot make
/// a mount namespace (then the test says so on stderr and checks nothing).
fn on_a_small_disk(t: &Team, size: &str, script: &str) -> Option<()> {
    let probe_dir = t.env.path().join("probe");
    std::fs::create_dir_all(&probe_dir).unwrap();
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$0\""])
        .arg(&probe_dir)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: no mount namespace here (`unshare -rm` failed); the full-disk test did not run"
        );
        return None;
    }
    let gitdir = t.author.git_dir();
    let save = t.env.path().join("gitdir-copy");
    let full = format!(
        "set -e\ncp -a \"$GITDIR\" \"$SAVE\"\nmount -t tmpfs -o size={size} tmpfs \"$GITDIR\"\ncp -a \"$SAVE/.\" \"$GITDIR/\"\nset +e\ncd \"$WORK\"\n{script}\n"
    );
    let mut cmd = Command::new("unshare");
    pin(&mut cmd, &t.author.path);
    cmd.args(["-rm", "sh", "-c", &full])
        .current_dir(&t.author.path)
        .env("HOTFIX", assert_cmd::cargo::cargo_bin("hotfix"))
        .env("GITDIR", &gitdir)
        .env("SAVE", &save)
        .env("WORK", &t.author.path)
        .env("OUT", &t.out)
        .env("GIT_AUTHOR_NAME", AUTHOR.0)
        .env("GIT_AUTHOR_EMAIL", AUTHOR.1)
        .env("GIT_COMMITTER_NAME", AUTHOR.0)
        .env("GIT_COMMITTER_EMAIL", AUTHOR.1);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "the namespace script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

fn read(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name)).unwrap_or_default()
}

/// The deploy policy with `fill` put in front of the hook `hook` (`command`, `verify`,
/// `notify`): it writes zeros into the git dir until the disk is full.
fn filling(hooks: &[&str]) -> String {
    let mut policy = DEPLOY_POLICY.to_string();
    for hook in hooks {
        // the deploy section's own keys (the test section has a `command` too)
        let key = match *hook {
            "command" => "[deploy]\ncommand = \"".to_string(),
            other => format!("\n{other} = \""),
        };
        policy = policy.replace(
            &key,
            &format!(
                "{key}test -e \\\"$OUT/no-fill\\\" || {{ head -c 64M /dev/zero > \\\"$GITDIR/fill-{hook}\\\" 2>/dev/null; echo filled; }}; "
            ),
        );
    }
    policy
}

#[test]
fn a_deploy_command_that_fills_the_disk_still_gets_its_release_recorded() {
    let t = Team::with_policy(&filling(&["command"]));
    t.gates_pass();
    let Some(()) = on_a_small_disk(
        &t,
        "3m",
        "\"$HOTFIX\" deploy > \"$OUT/deploy.out\" 2>&1; echo $? > \"$OUT/deploy.code\"\n\
         df -k \"$GITDIR\" | tail -1 > \"$OUT/df\"\n\
         git tag -l v1.1.1 > \"$OUT/tags\"",
    ) else {
        return;
    };
    let df = read(&t.out, "df");
    let run = read(&t.out, "deploy.out");
    assert_eq!(read(&t.out, "deploy.code").trim(), "0", "{run}\n{df}");
    assert!(run.contains("Released v1.1.1"), "{run}");
    assert_eq!(read(&t.out, "tags").trim(), "v1.1.1");
    assert_eq!(t.log("deploy.log").len(), 1);
    // pushed from the full disk: the team has it
    assert!(t.origin.has_tag("v1.1.1"));
}

#[test]
fn a_disk_full_after_the_tag_says_production_changed_and_deploy_goes_on() {
    // verify fills what the deploy command left, notify what the tag left: the last state
    // write (released) finds no space
    let t = Team::with_policy(&filling(&["verify", "notify"]));
    t.gates_pass();
    let Some(()) = on_a_small_disk(
        &t,
        "3m",
        "\"$HOTFIX\" deploy > \"$OUT/deploy.out\" 2>&1; echo $? > \"$OUT/deploy.code\"\n\
         \"$HOTFIX\" status > \"$OUT/status.out\" 2>&1\n\
         rm -f \"$GITDIR\"/fill-*\n\
         touch \"$OUT/no-fill\"\n\
         \"$HOTFIX\" deploy > \"$OUT/again.out\" 2>&1; echo $? > \"$OUT/again.code\"",
    ) else {
        return;
    };
    let run = read(&t.out, "deploy.out");
    assert_ne!(read(&t.out, "deploy.code").trim(), "0", "{run}");
    assert!(
        run.contains("production may run v1.1.1 now: the deploy command ran"),
        "the error does not say production changed:\n{run}"
    );
    assert!(!run.contains("Released v1.1.1"), "{run}");
    // the verify output that could not reach the log is said, not lost in silence
    assert!(
        run.contains("could not write the output of verify to the log"),
        "{run}"
    );
    let status = read(&t.out, "status.out");
    assert!(
        status.contains("v1.1.1 is verified and tagged, but the run stopped before"),
        "{status}"
    );
    let again = read(&t.out, "again.out");
    assert_eq!(read(&t.out, "again.code").trim(), "0", "{again}");
    assert!(again.contains("Released v1.1.1"), "{again}");
    assert_eq!(t.log("deploy.log").len(), 1, "deployed twice");
    assert!(t.origin.has_tag("v1.1.1"));
}
