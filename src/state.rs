//! The per-repository state file: `<common git dir>/hotfix/state.toml`, shared by all worktrees.
//!
//! Written atomically (temp file in the same folder, sync, rename) under a lock file, so a
//! process killed at any moment leaves either the old or the new state, never a torn one.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Refusal;
use crate::fault;

/// The steps of a hotfix, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Confirm,
    Branch,
    /// The developer commits the fix on the hotfix branch.
    Fix,
    Guard,
    Review,
    Test,
    Deploy,
    MergeBack,
    Done,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Confirm => "confirm",
            Step::Branch => "branch",
            Step::Fix => "fix",
            Step::Guard => "guard",
            Step::Review => "review",
            Step::Test => "test",
            Step::Deploy => "deploy",
            Step::MergeBack => "merge-back",
            Step::Done => "done",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const STATE_VERSION: u32 = 1;
const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Hotfixes in progress, keyed by branch name.
    #[serde(default)]
    pub hotfixes: BTreeMap<String, Hotfix>,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: STATE_VERSION,
            hotfixes: BTreeMap::new(),
        }
    }
}

/// Where a hotfix is in its life; the gates themselves are judged live against the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// `start` recorded the hotfix and is creating and checking out its branch.
    Starting,
    /// The branch exists; the fix and the gates are under way.
    Open,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hotfix {
    pub name: String,
    pub branch: String,
    /// The production tag the branch started from; `None` when `--from` named a non-tag revision.
    pub base_tag: Option<String>,
    pub base_commit: String,
    /// The branch the user was on at `start`; `abort` returns there.
    pub return_to: String,
    pub severity: String,
    pub summary: String,
    pub reproduced: bool,
    pub author_name: String,
    pub author_email: String,
    pub started_at: jiff::Timestamp,
    /// When the incident began (`start --detected`); `None`: at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<jiff::Timestamp>,
    pub phase: Phase,
    /// Set by `start` just before it writes the files of the checkout: a kill after that may
    /// leave them half way, and only then may `start` or `abort` take up a half-switched tree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub switching: bool,
    /// The policy in force at `start` (SPEC promise 3): later edits to hotfix.toml do not apply.
    pub policy: Config,
    /// The version this hotfix releases: `start --version`, else the base release's with the
    /// patch raised; `None` when the base is no release tag and no version was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The version bump `start` commits as the first commit of the branch; `None` when the
    /// hotfix has no version files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bump: Option<Bump>,
    /// The allowed-signers file `review.allowed_signers` names, as committed where `start` took
    /// the policy: later edits to it do not apply either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_signers: Option<String>,
    /// The last guard run (the guard is re-judged live; this is what the release record keeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardRecord>,
    /// The last test run, bound to the tree it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestRecord>,
    /// Gate overrides, each bound to the tree it was given for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    /// The deploy of this hotfix, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployRecord>,
    /// Merge-back progress, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_back: Option<MergeBackRecord>,
    /// `hotfix rebase` under way (stopped on conflicts, or killed): where the fix is moving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebase: Option<RebaseRecord>,
}

/// A move of the fix onto a newer release of its line, until it is done or aborted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebaseRecord {
    /// The release the fix moves onto, and its commit.
    pub onto_tag: String,
    pub onto_commit: String,
    /// The branch's tip before the rebase (what `--abort` puts back).
    pub old_tip: String,
    /// The new version bump, committed on the release before the fix's commits are replayed
    /// onto it (`None` when the hotfix has no version files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bump_commit: Option<String>,
}

/// The version bump of a hotfix: which files, from which version to which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bump {
    /// The version the files say at the base.
    pub from: String,
    pub to: String,
    pub files: Vec<crate::version_files::VersionFile>,
    /// The bump commit (its parent is the base), once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Bump {
    /// "Cargo.toml, Cargo.lock".
    pub fn paths(&self) -> String {
        self.files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The deploy of one tree, step by step, so a kill at any point is explained and resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployRecord {
    pub tree: String,
    pub commit: String,
    pub tag: String,
    pub version: String,
    pub phase: DeployPhase,
    pub started_at: jiff::Timestamp,
    pub finished_at: Option<jiff::Timestamp>,
    /// Where the output of deploy, verify and rollback went.
    pub log: String,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Whether the tag (and production branch) still have to be pushed.
    #[serde(default)]
    pub push_pending: bool,
    /// The remote where this deploy reserved its version (before the deploy command ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_on: Option<String>,
    /// Released with `--no-push` (or `--offline`): the release is only in this clone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployPhase {
    /// The deploy command was started (and may have run, in part or whole).
    Deploying,
    /// Deployed; verify is running.
    Verifying,
    /// Deploy or verify failed; rollback ran (if configured). No tag.
    Failed,
    /// Verified and tagged; production branch, push and notify may still be due.
    Tagged,
    /// Everything done: merge-back is next.
    Released,
}

/// Merge-back across its targets, so a conflict can stop it and `--continue` resume it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeBackRecord {
    pub tag: String,
    /// Every target in order (development branch first).
    pub targets: Vec<String>,
    #[serde(default)]
    pub done: Vec<String>,
    /// The target whose merge is in progress (conflicted), with its tip before the merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentMerge>,
    #[serde(default)]
    pub via_branch: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentMerge {
    pub target: String,
    /// The branch the merge is made on (the target, or merge-back/<name>-into-<target>).
    pub branch: String,
    pub before: String,
    pub conflicts: Vec<String>,
}

/// A guard run: the numbers for one tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardRecord {
    pub tree: String,
    pub files: u32,
    pub lines: u32,
    pub flags: u32,
    pub passed: bool,
    pub at: jiff::Timestamp,
}

/// A test run on one tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    pub tree: String,
    pub commit: String,
    pub passed: bool,
    /// The exit code, or `None` when it was killed (timeout, signal).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    pub at: jiff::Timestamp,
    /// Where the full output was saved.
    pub log: Option<String>,
}

/// `--override <gate> --reason <text>`, valid only for the tree it was given on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub gate: String,
    pub reason: String,
    pub tree: String,
    pub by_name: String,
    pub by_email: String,
    pub at: jiff::Timestamp,
}

impl Hotfix {
    /// The override of `gate` for exactly this tree, if one was given.
    pub fn override_for(&self, gate: &str, tree: &str) -> Option<&Override> {
        self.overrides
            .iter()
            .rev()
            .find(|o| o.gate == gate && o.tree == tree)
    }
}

impl Hotfix {
    /// The bump commit `start` made, if it made one.
    pub fn bump_commit(&self) -> Option<&str> {
        self.bump.as_ref().and_then(|b| b.commit.as_deref())
    }

    /// Whether the branch at `tip` holds nothing but what `start` made: the base, or the base
    /// and the version bump.
    pub fn has_no_fix(&self, tip: &str) -> bool {
        tip == self.base_commit || self.bump_commit() == Some(tip)
    }

    /// The commit `start` switches to: the bump commit, or the base.
    pub fn start_commit(&self) -> &str {
        self.bump_commit().unwrap_or(&self.base_commit)
    }
}

impl Hotfix {
    /// The first step not yet done, for display; gates are re-judged by their own modules.
    pub fn phase_step(&self) -> Step {
        match self.phase {
            Phase::Starting => Step::Branch,
            Phase::Open => Step::Fix,
        }
    }
}

/// Reads and writes the state file of one repository.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in `<common git dir>/hotfix/`.
    pub fn new(common_dir: &Path) -> Store {
        Store {
            dir: common_dir.join("hotfix"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("state.toml")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("state.lock")
    }

    /// The current state; a missing file is the empty state. Readers need no lock: the file is
    /// only ever replaced whole by a rename.
    pub fn read(&self) -> Result<State> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("could not read {}", path.display()))
                );
            }
        };
        // Garbage bytes are damage like any other, with the same way out (`abort`).
        let text = String::from_utf8(bytes)
            .map_err(|_| damaged(&path, "it is not text (invalid UTF-8)".into()))?;
        parse(&text, &path)
    }

    /// Reads the state under the lock, lets `change` edit it, and writes it back atomically.
    /// Nothing is written when `change` fails.
    pub fn update<T>(&self, change: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let out = change(&mut state)?;
        self.write_locked(&state)?;
        Ok(out)
    }

    /// Moves a damaged state file aside (nothing is deleted) and returns where it went.
    pub fn set_aside(&self) -> Result<PathBuf> {
        let _lock = self.lock()?;
        let stamp = jiff::Timestamp::now().as_second();
        // never onto an earlier damaged file set aside in the same second
        let aside = (1..)
            .map(|n| match n {
                1 => self.dir.join(format!("state.toml.damaged-{stamp}")),
                n => self.dir.join(format!("state.toml.damaged-{stamp}-{n}")),
            })
            .find(|p| !p.exists())
            .expect("an unused name");
        fs::rename(self.path(), &aside)
            .with_context(|| format!("could not move {} aside", self.path().display()))?;
        Ok(aside)
    }

    fn lock(&self) -> Result<File> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("could not create {}", self.dir.display()))?;
        let path = self.lock_path();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("could not open the lock file {}", path.display()))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Refusal::usage(format!(
                        "another hotfix command is changing this repository's hotfix state (lock held on {})",
                        path.display()
                    ))
                    .hint("wait for it to finish, then run this command again")
                    .into());
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("could not lock {}", path.display()))
                    );
                }
            }
        }
    }

    fn write_locked(&self, state: &State) -> Result<()> {
        let text = toml::to_string(state).context("could not serialise the hotfix state")?;
        write_atomic(&self.path(), text.as_bytes())?;
        self.remove_orphans();
        Ok(())
    }

    /// Temporary files of writers killed before their rename. Only the lock holder writes one,
    /// so under the lock any that is left is an orphan.
    fn remove_orphans(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".state.toml.")
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Replaces `path` with `bytes` so that a crash at any moment leaves the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("state path has no folder")?;
    // named after the file it replaces, so orphans of one file are told from another's
    let prefix = format!(
        ".{}.",
        path.file_name()
            .context("state path has no file name")?
            .to_string_lossy()
    );
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("could not write {}", tmp.path().display()))?;
    fault::point("state-before-rename");
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("could not replace {}", path.display()))?;
    // make the rename itself durable
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn damaged(path: &Path, what: String) -> Refusal {
    Refusal::usage(format!(
        "the hotfix state file {} is damaged: {what}",
        path.display()
    ))
    .hint("run `hotfix abort` to move it aside (it is kept, not deleted); branches and commits are not touched")
}

/// Parses the text of a state file the way [`Store::read`] does (errors name `state.toml`);
/// the fuzz target and the parser tests call it.
pub fn parse_state(text: &str) -> Result<State> {
    parse(text, Path::new("state.toml"))
}

fn parse(text: &str, path: &Path) -> Result<State> {
    let damaged = |what: String| damaged(path, what);
    #[derive(Deserialize)]
    struct Versioned {
        version: Option<u32>,
    }
    let located = |e: toml::de::Error| {
        let (line, col) = e
            .span()
            .map(|s| crate::config::line_col(text, s.start))
            .unwrap_or((1, 1));
        damaged(format!("{line}:{col}: {}", e.message().trim()))
    };
    let v: Versioned = toml::from_str(text).map_err(located)?;
    match v.version {
        Some(STATE_VERSION) => {}
        Some(n) if n > STATE_VERSION => {
            return Err(Refusal::usage(format!(
                "the hotfix state file {} was written by a newer hotfix (state version {n})",
                path.display()
            ))
            .hint("upgrade hotfix to go on with this hotfix, or run `hotfix abort` to move the file aside (it is kept, not deleted)")
            .into());
        }
        Some(n) => return Err(damaged(format!("unknown state version {n}")).into()),
        None => return Err(damaged("it has no version field".into()).into()),
    }
    toml::from_str(text).map_err(|e| located(e).into())
}
