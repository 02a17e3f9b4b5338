//! A reader that goes away (`hotfix test | head -1`, `hotfix deploy 2>&1 | head -1`): no
//! command panics, and none stops its work halfway because its output could not be written.
//! The tests, the deploy, the tag and the state end exactly as they would with a terminal.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use crate::support::{DEPLOY_POLICY, HOTFIX_BRANCH, Repo, Team, hotfix_cmd};

/// Which of the command's streams the reader closes.
#[derive(Clone, Copy, Debug)]
enum Closed {
    /// stdout closed before the first byte; stderr read to the end
    Stdout,
    /// stderr closed before the first byte; stdout read to the end
    Stderr,
    /// both into one pipe (`2>&1`), closed after its first line, as `| head -1` does
    AfterFirstLine,
}

/// The exit code of `hotfix args` in `repo` (with `OUT` for the team's hooks) when the reader
/// of its output goes away as `closed` says, and what the stream left open received.
fn run_closed(t: &Team, repo: &Repo, args: &[&str], closed: Closed) -> (i32, String) {
    let mut cmd = hotfix_cmd(&repo.path);
    cmd.args(args)
        .env("OUT", &t.out)
        .env("GIT_AUTHOR_NAME", &repo.identity.0)
        .env("GIT_AUTHOR_EMAIL", &repo.identity.1)
        .env("GIT_COMMITTER_NAME", &repo.identity.0)
        .env("GIT_COMMITTER_EMAIL", &repo.identity.1)
        .stdin(Stdio::null());
    let (code, seen) = match closed {
        Closed::Stdout | Closed::Stderr => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
            let mut open: Box<dyn Read> = match closed {
                Closed::Stdout => {
                    drop(out);
                    Box::new(err)
                }
                _ => {
                    drop(err);
                    Box::new(out)
                }
            };
            let mut seen = String::new();
            open.read_to_string(&mut seen).unwrap();
            (child.wait().unwrap().code(), seen)
        }
        Closed::AfterFirstLine => {
            let (reader, writer) = std::io::pipe().unwrap();
            cmd.stdout(writer.try_clone().unwrap()).stderr(writer);
            let mut child = cmd.spawn().unwrap();
            // the command's own copies of the writer are in the child; ours went with `cmd`
            drop(cmd);
            let mut first = String::new();
            BufReader::new(reader).read_line(&mut first).unwrap();
            (child.wait().unwrap().code(), first)
        }
    };
    let code = code.unwrap_or(-1);
    assert_ne!(code, 101, "`hotfix {args:?}` panicked ({closed:?}): {seen}");
    assert!(!seen.contains("panicked"), "{seen}");
    (code, seen)
}

fn state_of<'a>(entry: &'a toml::Value, path: &[&str]) -> Option<&'a toml::Value> {
    path.iter().try_fold(entry, |v, k| v.get(k))
}

#[test]
fn the_tests_run_to_their_end_and_are_recorded_with_the_output_gone() {
    // a test command that writes far more than a pipe holds, all of it streamed by hotfix
    let policy = DEPLOY_POLICY.replace(
        r#"command = "test ! -e"#,
        r#"command = "seq 1 50000; seq 1 50000 >&2; test ! -e"#,
    );
    assert!(policy.contains("seq 1 50000;"), "policy edit missed");
    let t = Team::with_policy(&policy);
    t.approve();
    for closed in [Closed::Stderr, Closed::Stdout, Closed::AfterFirstLine] {
        t.make_fail("tests");
        let (code, _) = run_closed(&t, &t.author, &["test"], closed);
        assert_eq!(code, 1, "a failed test run is the gate's no ({closed:?})");
        let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
        assert_eq!(
            state_of(&entry, &["tests", "passed"]).and_then(|v| v.as_bool()),
            Some(false),
            "{closed:?}"
        );
        t.make_pass("tests");
        let (code, _) = run_closed(&t, &t.author, &["test", "--json"], closed);
        assert_eq!(code, 0, "{closed:?}");
        let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
        assert_eq!(
            state_of(&entry, &["tests", "passed"]).and_then(|v| v.as_bool()),
            Some(true),
            "{closed:?}"
        );
    }
}

#[test]
fn a_deploy_whose_reader_went_away_still_releases_completely() {
    for closed in [Closed::AfterFirstLine, Closed::Stderr, Closed::Stdout] {
        let t = Team::new();
        t.gates_pass();
        let (code, _) = run_closed(&t, &t.author, &["deploy"], closed);
        assert_eq!(code, 0, "{closed:?}");
        // everything a deploy does, done once: hooks, tag, production record, notify, state
        assert_eq!(t.log("deploy.log").len(), 1, "{closed:?}");
        assert_eq!(t.log("verify.log"), vec!["v1.1.1"], "{closed:?}");
        assert!(t.log("rollback.log").is_empty(), "{closed:?}");
        assert_eq!(t.author.tag_record("v1.1.1")["tag"], "v1.1.1");
        assert_eq!(t.notified().unwrap()["tag"], "v1.1.1", "{closed:?}");
        let entry = t.author.state_entry(HOTFIX_BRANCH).unwrap();
        assert_eq!(
            state_of(&entry, &["deploy", "phase"]).and_then(|v| v.as_str()),
            Some("released"),
            "{closed:?}"
        );
        // and the next step goes on from there
        let (code, _) = run_closed(&t, &t.author, &["merge-back"], closed);
        assert_eq!(code, 0, "{closed:?}");
        assert!(t.author.contains("develop", "v1.1.1"), "{closed:?}");
    }
}

#[test]
fn reports_help_refusals_and_generated_text_survive_a_closed_pipe() {
    let t = Team::new();
    for closed in [Closed::Stdout, Closed::Stderr, Closed::AfterFirstLine] {
        for args in [
            &["status"][..],
            &["status", "--json"],
            &["guard"],
            &["list"],
            &["stats"],
            &["--help"],
            &["deploy", "--help"],
            &["--version"],
            &["completions", "bash"],
            &["man"],
        ] {
            let (code, _) = run_closed(&t, &t.author, args, closed);
            assert_eq!(code, 0, "`hotfix {args:?}` ({closed:?})");
        }
        // a refusal still ends with the gate's exit code, its sentence lost with the pipe
        let (code, _) = run_closed(&t, &t.author, &["deploy"], closed);
        assert_eq!(code, 1, "{closed:?}");
        let (code, _) = run_closed(&t, &t.author, &["no-such-command"], closed);
        assert_eq!(code, 2, "{closed:?}");
    }
    assert!(t.log("deploy.log").is_empty());
}

#[test]
fn the_demo_runs_to_its_end_for_a_reader_that_left() {
    let env = crate::support::Env::new();
    let tmp = env.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    let mut cmd = hotfix_cmd(env.path());
    cmd.args(["demo", "--clean"])
        .env("TMPDIR", &tmp)
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer);
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut first = String::new();
    BufReader::new(reader).read_line(&mut first).unwrap();
    let status = child.wait().unwrap();
    // the git commands it shows wrote into the closed pipe too, and did not stop it
    assert_eq!(status.code(), Some(0), "{first}");
    // --clean: its folder removed at the end, which only the last step does
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}
