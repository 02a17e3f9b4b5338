//! Runs the commands from `hotfix.toml` (test, deploy, verify, rollback, notify): `sh -c` in a
//! process group of their own, output streamed to stderr and copied to a log, a spinner with
//! the elapsed time, a timeout and Ctrl-C that take the whole group down.
//!
//! Values reach the commands only through the environment ([`hook_env`]), never spliced into
//! the command text.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::git::Oid;
use crate::state::Hotfix;
use crate::ui::Ui;

/// After SIGTERM, how long the group gets before SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// After the command exited, how long to wait for output still in the pipes.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_millis(100);

/// A command from the config, ready to run.
#[derive(Debug, Clone)]
pub struct Hook {
    /// What the spinner and messages call it ("tests", "deploy").
    pub label: String,
    /// Run as `sh -c <command>`.
    pub command: String,
    /// The working directory.
    pub dir: PathBuf,
    /// Added to the inherited environment (the HOTFIX_* variables).
    pub env: Vec<(String, String)>,
    /// Killed with its whole process group after this long.
    pub timeout: Option<Duration>,
    /// Written to its stdin (then closed); `None`: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Its output is appended here as well.
    pub log: Option<PathBuf>,
    /// Kill what is left of the process group once the command itself exits (background jobs
    /// it forgot): right for a test run in a folder about to be deleted, wrong for a deploy
    /// that starts a service on purpose.
    pub kill_strays: bool,
}

impl Hook {
    pub fn new(label: impl Into<String>, command: impl Into<String>, dir: PathBuf) -> Hook {
        Hook {
            label: label.into(),
            command: command.into(),
            dir,
            env: Vec::new(),
            timeout: None,
            stdin: None,
            log: None,
            kill_strays: false,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// Ctrl-C (or SIGTERM/SIGHUP) reached hotfix; the caller cleans up and exits 130.
    pub interrupted: bool,
    pub duration: Duration,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.interrupted
    }

    /// "exit 3", "timed out after 30s", "killed by signal 9", "interrupted".
    pub fn describe(&self, timeout: Option<Duration>) -> String {
        if self.interrupted {
            "interrupted".into()
        } else if self.timed_out {
            match timeout {
                Some(t) => format!("timed out after {}", human_duration(t)),
                None => "timed out".into(),
            }
        } else if let Some(code) = self.exit_code {
            format!("exit {code}")
        } else if let Some(sig) = self.signal {
            format!("killed by signal {sig}")
        } else {
            "ended without an exit code".into()
        }
    }
}

/// The HOTFIX_* variables for a command run on `commit` (whose tree is `tree`). `new_tag` is the
/// release tag and version being made (deploy); without it HOTFIX_TAG and HOTFIX_VERSION are
/// empty. HOTFIX_BASE_TAG is empty when the hotfix did not start from a tag. `root` is the
/// clone's working tree, for HOTFIX_REPO_ROOT ([`repo_root_env`]).
pub fn hook_env(
    h: &Hotfix,
    commit: Oid,
    tree: Oid,
    new_tag: Option<(&str, &str)>,
    root: &std::path::Path,
) -> Vec<(String, String)> {
    let (tag, version) = new_tag.unwrap_or(("", ""));
    let mut env: Vec<(String, String)> = [
        ("HOTFIX_BRANCH", h.branch.as_str()),
        ("HOTFIX_BASE_TAG", h.base_tag.as_deref().unwrap_or("")),
        ("HOTFIX_TAG", tag),
        ("HOTFIX_VERSION", version),
        ("HOTFIX_COMMIT", &commit.to_string()),
        ("HOTFIX_TREE", &tree.to_string()),
        ("HOTFIX_SEVERITY", h.severity.as_str()),
        ("HOTFIX_SUMMARY", h.summary.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(repo_root_env(root));
    env
}

/// `HOTFIX_REPO_ROOT`: this clone's working tree, for a command (run in a folder of its own,
/// on an export of the tree) that needs the clone's remotes, tags or credentials, as
/// `git -C "$HOTFIX_REPO_ROOT" push …`. What it reads from there was checked by nobody.
fn repo_root_env(root: &std::path::Path) -> (String, String) {
    // libgit2 gives the working tree with a trailing `/`
    let root = root.components().as_path();
    ("HOTFIX_REPO_ROOT".to_string(), root.display().to_string())
}

/// "350ms", "12s", "4m 05s", "1h 02m".
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
    }
}

/// Runs `hook` to its end, a timeout, or Ctrl-C.
pub fn run(ui: &Ui, hook: &Hook) -> Result<Outcome> {
    run_with(ui, hook, |_| Ok(()))
}

/// [`run`], calling `on_spawn` with the process group id as soon as the command started (so a
/// caller can record it for a later run to clean up after a killed hotfix).
pub fn run_with(ui: &Ui, hook: &Hook, on_spawn: impl FnOnce(u32) -> Result<()>) -> Result<Outcome> {
    let _signals = catch_interrupts();
    let mut log = open_log(hook)?;
    let mut cmd = command(hook);
    if interrupted() {
        return Ok(Outcome {
            exit_code: None,
            signal: None,
            timed_out: false,
            interrupted: true,
            duration: Duration::ZERO,
        });
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `sh -c {}`", hook.command))?;
    let pgid = child.id();
    let mut group = Group {
        pgid,
        reaped: false,
    };
    let (rx, readers) = read_lines(&mut child);
    feed_stdin(hook, &mut child);
    if let Err(e) = on_spawn(pgid) {
        group.kill_now();
        let _ = child.wait();
        group.reaped = true;
        return Err(e);
    }

    let spinner = (!ui.quiet && std::io::stderr().is_terminal()).then(|| spinner(&hook.label));
    let mut out = Output {
        spinner: spinner.as_ref(),
        log: log.as_mut(),
        stream: !ui.quiet,
        log_failed: None,
    };
    let ended = wait_for_leader(hook, &group, &mut out, &rx, started);
    let duration = started.elapsed();
    if hook.kill_strays && !ended.timed_out && !ended.interrupted {
        // the leader is a zombie until reaped below, so the group id cannot be reused yet
        group.signal(libc::SIGKILL);
    }
    let open = drain(&mut out, &rx, ended.open);
    let status = child
        .wait()
        .with_context(|| format!("could not wait for `{}`", hook.command))?;
    group.reaped = true;
    if !open {
        for r in readers {
            let _ = r.join();
        }
    }
    finish_output(ui, hook, spinner.as_ref(), &mut out);
    Ok(Outcome {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out: ended.timed_out,
        interrupted: ended.interrupted,
        duration,
    })
}

/// The log the output is appended to, when the hook has one.
fn open_log(hook: &Hook) -> Result<Option<File>> {
    hook.log
        .as_ref()
        .map(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("could not open the log file {}", p.display()))
        })
        .transpose()
}

/// `sh -c <command>` in the hook's folder with its environment, in a session of its own.
fn command(hook: &Hook) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&hook.command)
        .current_dir(&hook.dir)
        .envs(hook.env.iter().map(|(k, v)| (k, v)))
        // These would point git at the developer's repository from inside the command's own
        // folder (a temporary worktree, for the tests).
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_PREFIX")
        .env_remove("GIT_COMMON_DIR")
        .stdin(if hook.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own session, so its own process group: a timeout or Ctrl-C can take down everything
    // it started, and the terminal's Ctrl-C reaches hotfix, which decides. A session also has
    // no controlling terminal, so a prompt that opens /dev/tty (ssh, sudo) fails at once
    // instead of stopping the command forever in the background.
    // SAFETY: setsid(2) is async-signal-safe, the only kind of call allowed after fork.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// A thread a pipe (stdout, stderr) sending each line as it comes; the receiver disconnects
/// once both pipes are closed.
fn read_lines(
    child: &mut std::process::Child,
) -> (mpsc::Receiver<Vec<u8>>, Vec<std::thread::JoinHandle<()>>) {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut readers = Vec::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    (rx, readers)
}

/// Writes the hook's stdin, if it has one, and closes it.
fn feed_stdin(hook: &Hook, child: &mut std::process::Child) {
    if let (Some(bytes), Some(mut stdin)) = (hook.stdin.clone(), child.stdin.take()) {
        // A command that does not read its stdin must not block us: write from a thread.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
}

/// How the command itself ended, and whether its pipes are still open.
struct Ended {
    timed_out: bool,
    interrupted: bool,
    open: bool,
}

/// Phase 1: until the command itself exits (or we end it, at the deadline or on Ctrl-C).
fn wait_for_leader(
    hook: &Hook,
    group: &Group,
    out: &mut Output,
    rx: &mpsc::Receiver<Vec<u8>>,
    started: Instant,
) -> Ended {
    // a timeout too long to represent (`timeout = "99999999999h"`) is no deadline, not a panic
    let deadline = hook.timeout.and_then(|t| started.checked_add(t));
    let mut ended = Ended {
        timed_out: false,
        interrupted: false,
        open: true,
    };
    loop {
        if ended.open {
            ended.open = out.pump(rx, TICK);
        } else {
            std::thread::sleep(TICK);
        }
        if leader_exited(group.pgid) {
            break;
        }
        if interrupted() {
            ended.interrupted = true;
            group.terminate(out, rx, &mut ended.open);
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            ended.timed_out = true;
            group.terminate(out, rx, &mut ended.open);
            break;
        }
    }
    ended
}

/// Phase 2: what is still in the pipes. A background job that keeps them open (and that we
/// were told to leave alone) must not hold us forever. Whether they are still open.
fn drain(out: &mut Output, rx: &mpsc::Receiver<Vec<u8>>, mut open: bool) -> bool {
    let drain_until = Instant::now() + DRAIN_GRACE;
    while open && Instant::now() < drain_until {
        open = out.pump(rx, TICK);
    }
    open
}

/// Clears the spinner and flushes the log; a log that could not be written (a full disk) is
/// said, never lost in silence.
fn finish_output(ui: &Ui, hook: &Hook, spinner: Option<&indicatif::ProgressBar>, out: &mut Output) {
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    if let Some(f) = out.log.as_mut()
        && let Err(e) = f.flush()
    {
        out.log_failed.get_or_insert(e);
    }
    if let (Some(e), Some(path)) = (&out.log_failed, &hook.log) {
        ui.warn(format!(
            "could not write the output of {} to the log {} ({e}); it is only what was shown above",
            hook.label,
            path.display()
        ));
    }
}

fn spinner(label: &str) -> indicatif::ProgressBar {
    let pb =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.set_message(format!("running {label}"));
    pb.enable_steady_tick(TICK);
    pb
}

/// Where the command's lines go: the user's stderr (around the spinner) and the log.
struct Output<'a> {
    spinner: Option<&'a indicatif::ProgressBar>,
    log: Option<&'a mut File>,
    stream: bool,
    /// The first write to the log that failed.
    log_failed: Option<std::io::Error>,
}

impl Output<'_> {
    /// Shows the lines that arrive within `wait`; false once every pipe is closed.
    fn pump(&mut self, rx: &mpsc::Receiver<Vec<u8>>, wait: Duration) -> bool {
        let mut batch = Vec::new();
        let open = match rx.recv_timeout(wait) {
            Ok(line) => {
                batch.extend(line);
                // take what else is ready, so the spinner is redrawn once per batch
                loop {
                    match rx.try_recv() {
                        Ok(line) => batch.extend(line),
                        Err(mpsc::TryRecvError::Empty) => break true,
                        Err(mpsc::TryRecvError::Disconnected) => break false,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        if !batch.is_empty() {
            if let Some(log) = self.log.as_mut()
                && let Err(e) = log.write_all(&batch)
            {
                self.log_failed.get_or_insert(e);
            }
            if self.stream {
                let write = || {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(&batch);
                    let _ = err.flush();
                };
                match self.spinner {
                    Some(pb) => pb.suspend(write),
                    None => write(),
                }
            }
        }
        open
    }
}

/// The command's process group. Its leader is our child: until we reap it, the group id stays
/// taken, so signalling the group cannot hit an unrelated process.
struct Group {
    pgid: u32,
    reaped: bool,
}

impl Group {
    fn signal(&self, sig: libc::c_int) {
        if self.reaped {
            return;
        }
        // SAFETY: killpg has no memory-safety preconditions; a vanished group gives ESRCH.
        unsafe {
            libc::killpg(self.pgid as libc::pid_t, sig);
        }
    }

    fn kill_now(&self) {
        self.signal(libc::SIGKILL);
    }

    /// SIGTERM to the group, a grace period (still showing output), then SIGKILL.
    fn terminate(&self, out: &mut Output, rx: &mpsc::Receiver<Vec<u8>>, open: &mut bool) {
        self.signal(libc::SIGTERM);
        let until = Instant::now() + KILL_GRACE;
        while Instant::now() < until && !leader_exited(self.pgid) {
            if *open {
                *open = out.pump(rx, TICK);
            } else {
                std::thread::sleep(TICK);
            }
        }
        // whatever ignored SIGTERM, or was started by the leader and outlived it
        self.signal(libc::SIGKILL);
    }
}

impl Drop for Group {
    /// An error or a panic between spawn and reap must not leave the command running.
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// Whether our child `pid` has exited, without reaping it.
fn leader_exited(pid: u32) -> bool {
    // SAFETY: `info` is a plain C struct that waitid fills in; WNOWAIT leaves the child
    // waitable for `Child::wait`.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc == 0 && info.si_pid() != 0
    }
}

// ---- Ctrl-C ----------------------------------------------------------------------------------

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLERS: Mutex<(usize, Vec<(libc::c_int, libc::sigaction)>)> = Mutex::new((0, Vec::new()));

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// While alive, Ctrl-C, SIGTERM and SIGHUP do not end hotfix: they set a flag that
/// [`interrupted`] reads, so the command can be stopped and the temporary files removed before
/// hotfix exits with 130. Nested guards share one installation; the last one dropped restores
/// the previous handlers.
pub struct InterruptGuard(());

pub fn catch_interrupts() -> InterruptGuard {
    let mut handlers = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
    if handlers.0 == 0 {
        INTERRUPTED.store(false, Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction structs are zero-initialised C structs; the handler only stores
            // to an atomic, which is async-signal-safe.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                new.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut new.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &new, &mut old) != 0 {
                    continue;
                }
                if old.sa_sigaction == libc::SIG_IGN {
                    // started with it ignored (nohup, a background job): keep it that way
                    libc::sigaction(sig, &old, std::ptr::null_mut());
                    continue;
                }
                handlers.1.push((sig, old));
            }
        }
    }
    handlers.0 += 1;
    InterruptGuard(())
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        let mut handlers = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
        handlers.0 -= 1;
        if handlers.0 == 0 {
            for (sig, old) in handlers.1.drain(..) {
                // SAFETY: restores the disposition saved by `catch_interrupts`.
                unsafe {
                    libc::sigaction(sig, &old, std::ptr::null_mut());
                }
            }
        }
    }
}

/// Whether Ctrl-C (or SIGTERM/SIGHUP) arrived while an [`InterruptGuard`] was alive.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Ui {
        Ui::scripted(&[])
    }

    #[test]
    fn exit_code_and_output_reach_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let mut hook = Hook::new("check", "echo out; echo err >&2; exit 3", dir.path().into());
        hook.log = Some(log.clone());
        let o = run(&quiet(), &hook).unwrap();
        assert_eq!(o.exit_code, Some(3));
        assert!(!o.success());
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("out\n") && text.contains("err\n"), "{text}");
    }

    #[test]
    fn env_and_stdin_arrive_as_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut hook = Hook::new(
            "check",
            r#"test "$HOTFIX_SUMMARY" = '$(touch pwned)' && test "$(cat)" = 'in put'"#,
            dir.path().into(),
        );
        hook.env = vec![("HOTFIX_SUMMARY".into(), "$(touch pwned)".into())];
        hook.stdin = Some(b"in put".to_vec());
        let o = run(&quiet(), &hook).unwrap();
        assert!(o.success(), "{o:?}");
        assert!(!dir.path().join("pwned").exists());
    }

    #[test]
    fn timeout_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut hook = Hook::new(
            "check",
            "trap '' TERM; sleep 30 & sleep 30",
            dir.path().into(),
        );
        hook.timeout = Some(Duration::from_millis(300));
        let started = Instant::now();
        let o = run(&quiet(), &hook).unwrap();
        assert!(o.timed_out);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(350)), "350ms");
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4m 05s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1h 02m");
    }
}
