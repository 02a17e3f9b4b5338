//! One truth for the whole team (issue 12): what one teammate records, another sees from their
//! own clone of the same bare origin; what is only in one clone is said; `status` never waits
//! long on the network.

use std::path::{Path, PathBuf};

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, REVIEWER, Repo, Team, start_args};

const SECOND: (&str, &str) = ("Sam Second", "sam@example.com");

/// A released team whose hotfix v1.1.1 is deployed (pushed) and merged back into develop by
/// the author, who pushes develop. The reviewer's clone was made before, with a local
/// `develop` that is now behind `origin/develop`.
fn released_and_merged_back() -> (Team, Repo) {
    let t = Team::released(DEPLOY_POLICY);
    let reviewer = t.env.clone_of(&t.origin, "reviewer", REVIEWER);
    reviewer.git(&["switch", "-q", "develop"]);
    t.hf(&start_args("login-500", &[])).ok();
    t.fix(
        "line 1\nversion 1.1\nline 3 fixed\n",
        "Fix the checkout 500",
    );
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    reviewer
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    t.hf(&["test"]).ok();
    t.hf(&["deploy", "--push"]).ok();
    t.hf(&["merge-back"]).ok();
    t.author.git(&["push", "-q", "origin", "develop"]);
    (t, reviewer)
}

#[test]
fn a_teammate_behind_origin_sees_the_release_merged_back() {
    let (_t, reviewer) = released_and_merged_back();
    // a plain fetch: origin/develop has the merge, the local develop does not
    reviewer.git(&["fetch", "-q", "origin"]);
    assert_ne!(reviewer.rev("develop"), reviewer.rev("origin/develop"));

    let run = reviewer.hotfix(&["verify-merged"]).ok();
    assert_eq!(
        run.stdout,
        "✓ 1 hotfix release checked: all in origin/develop (newer than develop here) (1 merged, 0 cherry-picked)\n"
    );
    let json = reviewer.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(json["releases"][0]["merged_back"], "merged", "{json}");
    assert_eq!(json["checked_against"][0], "origin/develop", "{json}");
    let list = reviewer.hotfix(&["list"]).ok();
    assert!(
        list.stderr
            .contains("MERGED: whether the fix is in origin/develop (newer than develop here)."),
        "{}",
        list.stderr
    );
    let stats = reviewer.hotfix(&["stats", "--json"]).ok().json();
    assert_eq!(stats["merge_back"]["missing"], 0, "{stats}");
    assert_eq!(stats["merge_back"]["checked_against"][0], "origin/develop");

    // the local branch is used again once it is the newer one
    reviewer.git(&["merge", "-q", "--ff-only", "origin/develop"]);
    let run = reviewer.hotfix(&["verify-merged"]).ok();
    assert!(
        run.stdout.contains("all in develop (1 merged"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_history_comes_from_the_remote_without_a_fetch_by_hand() {
    let (t, reviewer) = released_and_merged_back();
    t.hf(&[
        "retro",
        "--why",
        "No test with an apostrophe",
        "--catch",
        "A login test with O'Brien",
        "--cause",
        "untested-edge-case",
        "--push",
    ])
    .ok();
    let not_code = t
        .author
        .hotfix(&[
            "start",
            "cdn",
            "--not-code",
            "--summary",
            "Stale prices were the CDN cache",
        ])
        .ok();
    assert!(
        not_code.stderr.contains(
            "is only in this clone; share it with `git push origin refs/hotfix/not-code/cdn-"
        ),
        "{}",
        not_code.stderr
    );
    t.author.git(&[
        "push",
        "-q",
        "origin",
        "refs/hotfix/not-code/*:refs/hotfix/not-code/*",
    ]);

    // offline, the reviewer's clone shows what it has, and says so
    let offline = reviewer.hotfix(&["list", "--offline", "--json"]).ok();
    assert!(
        offline
            .stderr
            .contains("History as of the last fetch from origin"),
        "{}",
        offline.stderr
    );
    assert!(offline.json()["releases"].as_array().unwrap().is_empty());
    assert!(!reviewer.has_tag("v1.1.1"));

    // online, list reads the tags and records from the remote (no `git fetch` was run)
    let json = reviewer.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(json["releases"][0]["tag"], "v1.1.1", "{json}");
    assert_eq!(json["releases"][0]["merged_back"], "merged", "{json}");
    assert_eq!(json["releases"][0]["retro"]["cause"], "untested-edge-case");
    assert_eq!(json["not_code"][0]["name"], "cdn", "{json}");
    assert!(reviewer.has_tag("v1.1.1"));
    let stats = reviewer.hotfix(&["stats", "--json"]).ok().json();
    assert_eq!(stats["merge_back"]["merged"], 1, "{stats}");
    assert_eq!(stats["not_code"]["count"], 1, "{stats}");
    // and they are now in the clone itself, for the next offline run
    let again = reviewer
        .hotfix(&["list", "--offline", "--json"])
        .ok()
        .json();
    assert_eq!(again["releases"][0]["retro"]["cause"], "untested-edge-case");

    // a third clone's verify-merged in CI: a fresh clone of origin, no local develop
    let ci = t.env.clone_of(&t.origin, "ci", SECOND);
    let run = ci.hotfix(&["verify-merged"]).ok();
    assert!(
        run.stdout
            .contains("1 hotfix release checked: all in origin/develop"),
        "{}",
        run.stdout
    );
}

#[test]
fn fetching_never_replaces_a_record_or_a_tag_of_this_clone() {
    let (t, reviewer) = released_and_merged_back();
    t.hf(&[
        "retro", "--why", "w", "--catch", "c", "--cause", "other", "--push",
    ])
    .ok();
    let on_origin = t
        .origin
        .git(&["for-each-ref", "--format=%(refname)", "refs/hotfix/retros/"]);
    let name = on_origin.trim().to_string();
    assert!(!name.is_empty());
    // the reviewer's clone holds another record under the same name, and its own v1.1.1
    let mine = reviewer.path.join("mine.json");
    std::fs::write(&mine, "{\"mine\": true}\n").unwrap();
    let blob = reviewer.git(&["hash-object", "-w", mine.to_str().unwrap()]);
    reviewer.git(&["update-ref", &name, blob.trim()]);
    reviewer.git(&["tag", "v1.1.1", "develop"]);
    let my_tag = reviewer.rev("v1.1.1");

    let run = reviewer.hotfix(&["list"]).ok();
    assert_eq!(
        reviewer.rev(&name),
        blob.trim(),
        "a record here was replaced"
    );
    assert_eq!(reviewer.rev("v1.1.1"), my_tag, "a tag here was replaced");
    assert!(
        run.stderr.contains("this clone's tag v1.1.1 (") && run.stderr.contains("is not origin's"),
        "{}",
        run.stderr
    );
    // the remote's view is kept apart, where hotfix reads nothing as this clone's own
    assert_eq!(
        reviewer.rev(&format!(
            "refs/hotfix-remote/origin/{}",
            &name["refs/".len()..]
        )),
        t.origin.rev(&name)
    );
}

#[test]
fn init_offers_the_fetch_configuration_a_plain_fetch_needs() {
    let (t, reviewer) = released_and_merged_back();
    t.hf(&[
        "retro", "--why", "w", "--catch", "c", "--cause", "other", "--push",
    ])
    .ok();
    let fetch_config = |r: &Repo| r.git_try(&["config", "--get-all", "remote.origin.fetch"]).1;

    // hotfix.toml is committed: init offers only the clone's part, and without a terminal or
    // --yes it prints the exact commands and changes nothing
    let before = fetch_config(&reviewer);
    let run = reviewer.hotfix(&["init"]).ok();
    assert!(
        run.stderr
            .contains("hotfix.toml already exists; kept it as it is."),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(
            "git config --add remote.origin.fetch '+refs/hotfix/*:refs/hotfix-remote/origin/hotfix/*'"
        ) && run.stdout.contains(
            "git config --add remote.origin.fetch '+refs/tags/*:refs/hotfix-remote/origin/tags/*'"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(fetch_config(&reviewer), before);

    reviewer.hotfix(&["init", "--yes"]).ok();
    let after = fetch_config(&reviewer);
    assert!(
        after.contains("+refs/heads/*:refs/remotes/origin/*"),
        "{after}"
    );
    assert!(
        after.contains("+refs/hotfix/*:refs/hotfix-remote/origin/hotfix/*"),
        "{after}"
    );
    // set once: init has nothing left to do and says it as before
    reviewer.refused(&["init"], 2, "already exists; init never overwrites it");

    // now a plain `git fetch` brings the team's records: list sees them without the network
    reviewer.git(&["fetch", "-q"]);
    let json = reviewer
        .hotfix(&["list", "--offline", "--json"])
        .ok()
        .json();
    assert_eq!(json["releases"][0]["tag"], "v1.1.1", "{json}");
    assert_eq!(json["releases"][0]["retro"]["cause"], "other", "{json}");
}

#[test]
fn status_and_guard_say_what_is_only_in_this_clone_and_the_push_comes_next() {
    let t = Team::new();
    let run = t.status();
    assert!(
        run.stdout
            .contains("✗ hotfix/login-500 is only in this clone (not pushed to origin)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "next: git push -u origin hotfix/login-500, then a teammate runs `hotfix approve hotfix/login-500`"
        ),
        "{}",
        run.stdout
    );
    let guard = t.hf(&["guard"]).ok();
    assert!(
        guard.stderr.contains(
            "hotfix/login-500 is only in this clone (not pushed to origin): push it with `git push -u origin hotfix/login-500`, then a teammate reviews with `hotfix approve hotfix/login-500`"
        ),
        "{}",
        guard.stderr
    );

    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let run = t.status();
    assert!(!run.stdout.contains("only in this clone"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("next: a teammate runs `hotfix approve hotfix/login-500`"),
        "{}",
        run.stdout
    );

    // a new commit after the push: the reviewer would approve the old tree
    t.fix("line 1\nversion 1.1\nline 3 fixed twice\n", "Fix it better");
    let json = t.hf(&["status", "--json"]).ok().json();
    assert_eq!(json["hotfix"]["sharing"]["only_here"], 1, "{json}");
    assert_eq!(
        json["hotfix"]["next"],
        "git push origin hotfix/login-500, then a teammate runs `hotfix approve hotfix/login-500`"
    );
    let guard = t.hf(&["guard"]).ok();
    assert!(
        guard
            .stderr
            .contains("the newest commit of hotfix/login-500 is only in this clone"),
        "{}",
        guard.stderr
    );
}

// ---- a slow remote: ssh that takes its time ----

/// A fake `ssh` for GIT_SSH_COMMAND: counts each connection in `$SSH_COUNT`, sleeps as long as
/// the file `$SSH_DELAY` says, then runs the git command it was asked for here, whatever host.
fn slow_ssh(dir: &Path) -> PathBuf {
    let script = dir.join("slow-ssh");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         echo connect >> \"$SSH_COUNT\"\n\
         sleep \"$(cat \"$SSH_DELAY\" 2>/dev/null || echo 0)\"\n\
         shift\n\
         cmd=$1\n\
         exec sh -c \"git ${cmd#git-}\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

struct Slow {
    count: PathBuf,
    delay: PathBuf,
    ssh: String,
}

impl Slow {
    fn new(t: &Team, clones: &[&Repo]) -> Slow {
        let ssh = slow_ssh(t.env.path()).to_str().unwrap().to_string();
        let url = format!("fakehost:{}", t.origin.path.display());
        for c in clones {
            c.git(&["remote", "set-url", "origin", &url]);
        }
        Slow {
            count: t.env.path().join("ssh-count"),
            delay: t.env.path().join("ssh-delay"),
            ssh,
        }
    }

    fn delay(&self, seconds: u32) {
        std::fs::write(&self.delay, seconds.to_string()).unwrap();
    }

    fn connections(&self) -> usize {
        std::fs::read_to_string(&self.count)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        vec![
            ("GIT_SSH_COMMAND", self.ssh.as_str()),
            ("GIT_SSH_VARIANT", "simple"),
            ("SSH_COUNT", self.count.to_str().unwrap()),
            ("SSH_DELAY", self.delay.to_str().unwrap()),
        ]
    }
}

#[test]
fn status_does_not_wait_on_a_slow_remote_nor_ask_it_again_at_once() {
    let t = Team::new();
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let slow = Slow::new(&t, &[&t.author]);

    // a remote that answers after 5 s: status gives up on it and says what it shows
    slow.delay(5);
    let run = t.hf_env(&["status"], &slow.vars()).ok();
    assert_eq!(slow.connections(), 1);
    assert!(
        run.stdout
            .contains("remote    as of the last fetch from origin (")
            && run
                .stdout
                .contains("origin did not answer within 1.5 seconds"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("✗ review  not approved yet"),
        "{}",
        run.stdout
    );

    // run again at once: no new connection, and it still says so
    let again = t.hf_env(&["status"], &slow.vars()).ok();
    assert_eq!(
        slow.connections(),
        1,
        "status asked the remote again at once"
    );
    assert!(
        again.stdout.contains("as of the last fetch from origin"),
        "{}",
        again.stdout
    );

    // --offline never connects
    let offline = t
        .hf_env(&["status", "--offline", "--json"], &slow.vars())
        .ok();
    assert_eq!(slow.connections(), 1);
    assert_eq!(offline.json()["remote"]["stale"]["reason"], "offline");

    // a remote that answers in time, once the last try is old: fetched, nothing to say
    slow.delay(0);
    t.author.forget_last_fetch();
    let fresh = t.hf_env(&["status", "--json"], &slow.vars()).ok();
    assert_eq!(slow.connections(), 2);
    let remote = &fresh.json()["remote"];
    assert_eq!(remote["fetched"], true, "{remote}");
    assert!(remote["stale"].is_null(), "{remote}");
}

#[test]
fn commands_that_decide_wait_for_a_slow_remote() {
    let t = Team::new();
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let reviewer = t.env.clone_of(&t.origin, "reviewer", REVIEWER);
    let slow = Slow::new(&t, &[&t.author, &reviewer]);
    // slower than status would wait, well within what approve waits for
    slow.delay(2);
    reviewer
        .hotfix_env(&["approve", HOTFIX_BRANCH, "--yes", "--push"], &slow.vars())
        .ok();
    assert!(slow.connections() >= 2, "approve fetched and pushed");
    assert_eq!(
        t.origin
            .git(&[
                "for-each-ref",
                "--format=%(refname)",
                "refs/hotfix/approvals/"
            ])
            .lines()
            .count(),
        1
    );
}

#[test]
fn retro_reads_a_teammates_release_and_review_without_a_fetch_by_hand() {
    let (t, reviewer) = released_and_merged_back();
    // the reviewer never fetched since the release: retro brings it, and shows it
    assert!(!reviewer.has_tag("v1.1.1"));
    reviewer
        .hotfix(&[
            "retro",
            "v1.1.1",
            "--why",
            "No test with an apostrophe",
            "--catch",
            "A login test with O'Brien",
            "--cause",
            "untested-edge-case",
            "--push",
        ])
        .ok();
    // and the author's retro shows the reviewer's answers without a fetch by hand
    let json = t.hf(&["retro", "v1.1.1", "--json"]).ok().json();
    assert_eq!(json["why"], "No test with an apostrophe", "{json}");
}
