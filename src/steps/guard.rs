//! The diff-size guard: how big the fix is (files, added + removed lines) from the base tag to
//! the hotfix branch, against the limits of the policy snapshotted at `start`, and flags on
//! what looks like bundled or risky work. Flags never fail the gate; they are shown to the
//! reviewer.

use std::borrow::Cow;
use std::sync::LazyLock;

use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::bytes::{Regex, RegexSet};
use serde::Serialize;

use crate::app::Ctx;
use crate::cli::{Gate, GuardArgs};
use crate::config;
use crate::error::Refusal;
use crate::git::diff::{Change, DiffVisitor, FileChange, Line, Origin};
use crate::git::{Oid, Repo, short};
use crate::state::{GuardRecord, Hotfix};
use crate::steps::{GateView, gate_name, record_overrides};
use crate::ui::{Ui, is_hiding, shell_word, visible};

/// The guard's view of a diff: what counts, what was left out, and what looks risky.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardReport {
    /// Every counted file (the `exclude` globs left out), in diff order.
    pub files: Vec<FileStat>,
    /// Changed files matching `guard.exclude`: not counted, not flagged.
    pub excluded: Vec<String>,
    pub totals: Totals,
    pub limits: Limits,
    pub over_files: bool,
    pub over_lines: bool,
    pub flags: Vec<Flag>,
    /// Added or retargeted symlinks that lead out of the tree: the gate fails while there is
    /// one, overrides or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links_outside: Vec<String>,
    /// The version bump `start` made, shown on its own line and not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionLine>,
}

/// "version 10.4.2 → 10.4.3: Cargo.toml, Cargo.lock".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionLine {
    pub from: String,
    pub to: String,
    /// The version files that say the new version at the tip.
    pub files: Vec<String>,
}

/// One counted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStat {
    pub path: String,
    /// The path before a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    pub status: Change,
    pub added: u32,
    pub removed: u32,
    /// Binary files count as one file and no lines.
    pub binary: bool,
}

impl FileStat {
    pub fn lines(&self) -> u32 {
        self.added.saturating_add(self.removed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub files: u32,
    /// Added + removed.
    pub lines: u32,
    pub added: u32,
    pub removed: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_files: u32,
    pub max_lines: u32,
}

/// What a flag points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagKind {
    /// A file renamed or moved.
    Renamed,
    /// A hunk whose removed and added lines differ only in whitespace.
    WhitespaceOnly,
    /// A hunk whose changed lines are all comments or blank.
    CommentOnly,
    /// `hotfix.toml` changed on the branch (the policy from `start` still applies).
    PolicyChange,
    /// An added line that swallows an error instead of fixing its cause.
    SwallowedError,
    /// An added line matching one of `guard.flag_patterns`.
    FlagPattern,
    /// A symlink added or retargeted: what runs then reads whatever its target holds.
    Symlink,
    /// A test file deleted, or a file with fewer tests than before.
    DeletesTests,
    /// An added line, or a file name, with a control character (an escape sequence, a carriage
    /// return) or a bidirectional-text control: on a terminal or in an editor it can read other
    /// than what runs.
    HiddenText,
    /// A submodule added or moved to another commit: what it holds is another repository's
    /// and is not in this diff.
    Submodule,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Renamed => "renamed",
            FlagKind::WhitespaceOnly => "whitespace-only",
            FlagKind::CommentOnly => "comment-only",
            FlagKind::PolicyChange => "policy-change",
            FlagKind::SwallowedError => "swallowed-error",
            FlagKind::FlagPattern => "flag-pattern",
            FlagKind::Symlink => "symlink",
            FlagKind::DeletesTests => "deletes-tests",
            FlagKind::HiddenText => "hidden-text",
            FlagKind::Submodule => "submodule",
        }
    }
}

/// Something for the reviewer to look at; never fails the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub path: String,
    /// The line in the new file it applies to (none for a whole file, such as a rename).
    pub line: Option<u32>,
    /// The offending text (an added line, or what the hunk or file does).
    pub text: String,
    /// Which rule matched, for error-swallowing and `flag_patterns` flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Cow<'static, str>>,
}

impl GuardReport {
    /// Within both limits.
    pub fn passed(&self) -> bool {
        !self.over_files && !self.over_lines
    }

    /// The refusal for a symlink out of the tree, which no override passes.
    fn links_refusal(&self) -> Option<Refusal> {
        let first = self.links_outside.first()?;
        let more = match self.links_outside.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        Some(
            Refusal::gate(format!(
                "the symlink {first} points outside the tree{more}; what it points at was never reviewed or tested and can change after both"
            ))
            .hint("commit the file itself instead of a link to it (an override does not pass this)"),
        )
    }

    /// "3 files, 42 lines (limits 5, 150)".
    pub fn summary(&self) -> String {
        format!(
            "{}, {} (limits {}, {})",
            plural(self.totals.files, "file"),
            plural(self.totals.lines, "line"),
            self.limits.max_files,
            self.limits.max_lines
        )
    }

    /// The counted files with the most changed lines, biggest first.
    pub fn biggest(&self, n: usize) -> Vec<&FileStat> {
        let mut files: Vec<&FileStat> = self.files.iter().collect();
        files.sort_by(|a, b| b.lines().cmp(&a.lines()).then_with(|| a.path.cmp(&b.path)));
        files.truncate(n);
        files
    }
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The diff from `base` to `head` judged against `policy`: a pure read.
pub fn analyze(repo: &Repo, base: Oid, head: Oid, config: &config::Config) -> Result<GuardReport> {
    analyze_over(repo, base, head, config, &Default::default())
}

fn analyze_over(
    repo: &Repo,
    base: Oid,
    head: Oid,
    config: &config::Config,
    old_sides: &crate::git::diff::OldSides,
) -> Result<GuardReport> {
    let policy = &config.guard;
    let mut whole = Analyzer::new(policy)?;
    // the allowed-signers file is policy too: the copy sealed at start rules, an edit is shown
    whole.signers = Some(config.review.allowed_signers.clone()).filter(|p| !p.is_empty());
    // a large diff is walked on several threads, in consecutive runs of files
    for part in repo.diff_commits_over(base, head, old_sides, || whole.fresh())? {
        whole.absorb(part);
    }
    let mut report = whole.finish(policy);
    for link in repo.changed_symlinks(base, head)? {
        let text = if link.outside {
            report
                .links_outside
                .push(format!("{} -> {}", link.path, link.target));
            format!("-> {} (outside the tree: refused)", link.target)
        } else {
            format!("-> {}", link.target)
        };
        report.flags.push(Flag {
            kind: FlagKind::Symlink,
            path: link.path,
            line: None,
            text: clip(text),
            rule: None,
        });
    }
    Ok(report)
}

/// A hotfix's diff from its base to `head`, against its policy, with the version bump `start`
/// made taken out: each version file is diffed from the base's content with the bump applied,
/// so the bump is not counted and any other change to the file is. The bump gets its own line.
pub fn analyze_hotfix(repo: &Repo, h: &Hotfix, head: Oid) -> Result<GuardReport> {
    let base = Oid::from_str(&h.base_commit)
        .with_context(|| format!("the state has a bad base commit for {}", h.branch))?;
    analyze_with_bump(repo, base, head, &h.policy, h.bump.as_ref())
}

/// The diff from `base` to `head`, with the version bump `bump` (when there is one) taken out
/// and shown on its own line: what [`analyze_hotfix`] does for a hotfix of this clone, and
/// the reviewer's view does for a bump it recognised.
pub fn analyze_with_bump(
    repo: &Repo,
    base: Oid,
    head: Oid,
    config: &config::Config,
    bump: Option<&crate::state::Bump>,
) -> Result<GuardReport> {
    let Some(bump) = bump else {
        return analyze(repo, base, head, config);
    };
    let bumped = crate::version_files::bumped(repo, base, &bump.files, &bump.to)?;
    let old_sides = bumped.into_iter().collect();
    let mut report = analyze_over(repo, base, head, config, &old_sides)?;
    let mut files = Vec::new();
    for f in &bump.files {
        if crate::version_files::read_at(repo, head, f)?.as_deref() == Some(bump.to.as_str()) {
            files.push(f.path.clone());
        }
    }
    if !files.is_empty() {
        report.version = Some(VersionLine {
            from: bump.from.clone(),
            to: bump.to.clone(),
            files,
        });
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// The walk: one pass over the lines of the counted files, counting and flagging.

/// A rule for added lines that swallow an error.
struct Rule {
    pattern: &'static str,
    what: RuleKind,
    /// Only for Rust files (`let _ =` means something else in JavaScript).
    rust_only: bool,
}

#[derive(Clone, Copy)]
enum RuleKind {
    /// The line swallows an error by itself; the text names the rule.
    Flag(&'static str),
    /// The line opens a block whose next added line decides (`catch (e) {` then `}`).
    Opens(Block),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Catch,
    Except,
}

const SUCCESS: &str = r"(?i:\b(?:success\w*|ok|true|200)\b)";

const RULES: &[Rule] = &[
    Rule {
        pattern: r"\bcatch\b\s*(?:\([^)]*\))?\s*\{\s*$",
        what: RuleKind::Opens(Block::Catch),
        rust_only: false,
    },
    Rule {
        pattern: r"^\s*except\b[^:]*:\s*(?:#.*)?$",
        what: RuleKind::Opens(Block::Except),
        rust_only: false,
    },
    Rule {
        pattern: r"\bcatch\b\s*(?:\([^)]*\))?\s*\{\s*\}",
        what: RuleKind::Flag("empty catch"),
        rust_only: false,
    },
    Rule {
        pattern: r"\bcatch\b\s*(?:\([^)]*\))?\s*\{\s*return\b[^}]*(?i:\b(?:success\w*|ok|true|200)\b)",
        what: RuleKind::Flag("catch returns success"),
        rust_only: false,
    },
    Rule {
        pattern: r"^\s*except\b[^:]*:\s*(?:pass|\.\.\.)\s*(?:#.*)?$",
        what: RuleKind::Flag("except: pass"),
        rust_only: false,
    },
    Rule {
        pattern: r"\brescue\s+nil\b",
        what: RuleKind::Flag("rescue nil"),
        rust_only: false,
    },
    Rule {
        pattern: r"\|\|\s*(?:true\b|:(?:\s|;|$))",
        what: RuleKind::Flag("|| true"),
        rust_only: false,
    },
    Rule {
        pattern: r"(?:2|&)>\s*/dev/null|>\s*/dev/null\s+2>&1",
        what: RuleKind::Flag("errors sent to /dev/null"),
        rust_only: false,
    },
    Rule {
        pattern: r"\.unwrap_or_default\(\)",
        what: RuleKind::Flag(".unwrap_or_default()"),
        rust_only: false,
    },
    Rule {
        pattern: r"^\s*let\s+_\s*(?::[^=]*)?=[^=>]",
        what: RuleKind::Flag("let _ = discards a Result"),
        rust_only: true,
    },
    Rule {
        pattern: r"\.ok\(\)\s*;",
        what: RuleKind::Flag(".ok(); discards a Result"),
        rust_only: true,
    },
    // `Err(_)` (or `Err(_e)`) that goes on as if nothing failed. `Err(e) => return Err(e)`
    // passes the error on and is not flagged, nor is `Err(_) => return Err(…)`, which still
    // fails (a poorer message, but not a hidden failure).
    Rule {
        pattern: r"\bErr\s*\(\s*_\w*\s*\)\s*=>\s*(?:continue\b|break\b|\{\s*\}|\(\s*\)|return\b\s*(?:$|;|[^E\s]|E[^r]))",
        what: RuleKind::Flag("Err(_) => continue/return drops the error"),
        rust_only: true,
    },
    Rule {
        pattern: r"\bcatch_unwind\b",
        what: RuleKind::Flag("catch_unwind turns a panic into a value"),
        rust_only: true,
    },
    Rule {
        pattern: r"^\s*#!?\[\s*allow\s*\(",
        what: RuleKind::Flag("#[allow(…)] silences a warning"),
        rust_only: true,
    },
];

/// Text every rule needs: most lines have none, and a search for literals alone (SIMD) is
/// several times faster than running the set on them. (`let  _` with two spaces is missed:
/// rustfmt never writes it.)
static TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"catch|except|rescue|\|\||/dev/null|unwrap_or_default|let _|\.ok\(|Err|allow")
        .expect("valid")
});
/// Each rule compiled on its own: after `TRIGGER`, trying them in order (each with its own
/// literal prefilter) is cheaper than an overlapping search of a set.
static RULE_REGEXES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("built-in guard rules are valid"))
        .collect()
});
/// The line after `catch (e) {`: the block closes at once.
static CLOSES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\}").expect("valid"));
/// The line after `catch (e) {`: it returns success.
static RETURNS_SUCCESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^\s*return\b.*{SUCCESS}")).expect("valid"));
/// The line after `except:`: it does nothing.
static PASSES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:pass|\.\.\.)\s*(?:#.*)?$").expect("valid"));

/// The longest offending text kept in a flag.
const MAX_TEXT: usize = 160;

struct Analyzer {
    exclude: GlobSet,
    patterns: Option<(RegexSet, Vec<String>)>,
    files: Vec<FileStat>,
    excluded: Vec<String>,
    flags: Vec<Flag>,
    file: Option<Current>,
    /// The removed and the added text of the hunk being walked, whitespace taken out; kept
    /// here so that a large diff allocates them once.
    removed_text: Vec<u8>,
    added_text: Vec<u8>,
    /// `review.allowed_signers`, flagged like `hotfix.toml`.
    signers: Option<String>,
}

/// The file being walked.
struct Current {
    path: String,
    /// Index into `files`; `None` for an excluded `hotfix.toml`, walked only to place its flag.
    stat: Option<usize>,
    comments: &'static [&'static str],
    rust: bool,
    /// Where the `hotfix.toml` flag stands, for that file.
    policy: PolicyMark,
    /// The new-file line number of the next line, which is where a removed line was.
    next_new: u32,
    hunk: Option<Hunk>,
    /// An added line that opened a catch/except block: (block, line, text).
    open: Option<(Block, u32, String)>,
    /// Test markers (`#[test]`, `def test_…`, `func Test…`, `it("…"`) removed and added, and
    /// where the first removed one was: fewer after than before is flagged at the file's end.
    tests_removed: u32,
    tests_added: u32,
    first_test_removed: Option<u32>,
    /// The whole file is deleted (a deleted test file is flagged once, as a file).
    deleted: bool,
}

/// A line that declares a test: Rust `#[test]` (and `#[tokio::test]`…), Python `def test_…`,
/// Go `func TestX(t *testing.T)`, JavaScript/TypeScript `it(`/`test(` with a name, Ruby `it "…"`.
static TEST_MARK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:#\[(?:\w+::)*test\b|(?:async\s+)?def\s+test\w*\s*\(|func\s+Test\w*\s*\(|(?:it|test)(?:\.\w+)?\s*\(\s*['"`]|it\s+['"])"#)
        .expect("valid")
});

/// A path that holds tests by the usual conventions (a `tests/`, `test/`, `spec/` or
/// `__tests__/` folder; `_test.go`, `test_*.py`, `*_test.py`, `*.test.js`, `*.spec.ts`, `*_spec.rb`,
/// `*Test.java`).
static TEST_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|/)(?:tests?|spec|__tests__)/|_test\.go$|(?:^|/)test_[^/]*\.py$|_test\.py$|\.(?:test|spec)\.[cm]?[jt]sx?$|_spec\.rb$|Tests?\.(?:java|kt|cs)$")
        .expect("valid")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PolicyMark {
    /// Not `hotfix.toml`, or its flag is complete.
    Done,
    /// `hotfix.toml`: flagged at its first changed line.
    Pending,
    /// Flagged (index into `flags`) at a removed line; the next added line completes the text
    /// (`-max_lines = 150 → +max_lines = 1000`).
    Placed(usize),
}

#[derive(Default)]
struct Hunk {
    new_start: u32,
    first_line: Option<u32>,
    added: u32,
    removed: u32,
    /// Every changed line is blank or a comment.
    only_comments: bool,
    any_comment: bool,
}

impl Analyzer {
    fn new(policy: &config::Guard) -> Result<Analyzer> {
        let mut globs = GlobSetBuilder::new();
        for pattern in &policy.exclude {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    Refusal::usage(format!(
                        "guard.exclude pattern `{pattern}` in this hotfix's policy is not a valid glob: {}",
                        e.kind()
                    ))
                })?;
            globs.add(glob);
        }
        let exclude = globs
            .build()
            .context("could not build the guard.exclude globs")?;
        let patterns = if policy.flag_patterns.is_empty() {
            None
        } else {
            let set = RegexSet::new(&policy.flag_patterns).map_err(|e| {
                Refusal::usage(format!(
                    "guard.flag_patterns in this hotfix's policy has an invalid regular expression: {}",
                    e.to_string().lines().last().unwrap_or_default().trim()
                ))
            })?;
            Some((set, policy.flag_patterns.clone()))
        };
        Ok(Analyzer {
            exclude,
            patterns,
            files: Vec::new(),
            excluded: Vec::new(),
            flags: Vec::new(),
            file: None,
            removed_text: Vec::new(),
            added_text: Vec::new(),
            signers: None,
        })
    }

    /// An analyzer with the same compiled policy and nothing walked yet.
    fn fresh(&self) -> Analyzer {
        Analyzer {
            exclude: self.exclude.clone(),
            patterns: self.patterns.clone(),
            files: Vec::new(),
            excluded: Vec::new(),
            flags: Vec::new(),
            file: None,
            removed_text: Vec::new(),
            added_text: Vec::new(),
            signers: self.signers.clone(),
        }
    }

    /// Appends what `part` collected from the files that follow the ones walked here.
    fn absorb(&mut self, mut part: Analyzer) {
        self.end_file();
        part.end_file();
        self.files.append(&mut part.files);
        self.excluded.append(&mut part.excluded);
        self.flags.append(&mut part.flags);
    }

    /// Whether `change` is left out by `guard.exclude`, and whether it is `hotfix.toml`.
    fn classify(&self, change: &FileChange) -> (bool, bool) {
        let policy_file = |p: &str| p == config::FILE_NAME || self.signers.as_deref() == Some(p);
        let is_policy =
            policy_file(&change.path) || change.old_path.as_deref().is_some_and(policy_file);
        let excluded = self.is_excluded(&change.path)
            || change
                .old_path
                .as_deref()
                .is_some_and(|p| self.is_excluded(p));
        (excluded, is_policy)
    }

    /// Matched on the full path and on the file name, so `Cargo.lock` excludes it at any depth.
    fn is_excluded(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.exclude.is_match(path) || self.exclude.is_match(name)
    }

    fn finish(mut self, policy: &config::Guard) -> GuardReport {
        self.end_file();
        let (mut added, mut removed) = (0u32, 0u32);
        for f in &self.files {
            added = added.saturating_add(f.added);
            removed = removed.saturating_add(f.removed);
        }
        let files = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        let lines = added.saturating_add(removed);
        GuardReport {
            files: self.files,
            excluded: self.excluded,
            totals: Totals {
                files,
                lines,
                added,
                removed,
            },
            limits: Limits {
                max_files: policy.max_files,
                max_lines: policy.max_lines,
            },
            over_files: files > policy.max_files,
            over_lines: lines > policy.max_lines,
            flags: self.flags,
            links_outside: Vec::new(),
            version: None,
        }
    }

    fn end_hunk(&mut self) {
        self.judge_hunk();
        self.removed_text.clear();
        self.added_text.clear();
    }

    /// Flags the hunk just walked when it is only whitespace or only comments.
    fn judge_hunk(&mut self) {
        let Some(file) = &mut self.file else { return };
        let Some(hunk) = file.hunk.take() else { return };
        if hunk.added + hunk.removed == 0 || file.stat.is_none() {
            return;
        }
        let line = Some(hunk.first_line.unwrap_or(hunk.new_start).max(1));
        let counts = format!("+{} -{}", hunk.added, hunk.removed);
        if self.removed_text == self.added_text {
            self.flags.push(Flag {
                kind: FlagKind::WhitespaceOnly,
                path: file.path.clone(),
                line,
                text: format!("{counts} lines that change only whitespace"),
                rule: None,
            });
        } else if hunk.only_comments && hunk.any_comment {
            self.flags.push(Flag {
                kind: FlagKind::CommentOnly,
                path: file.path.clone(),
                line,
                text: format!("{counts} lines, all comments or blank"),
                rule: None,
            });
        }
    }

    fn end_file(&mut self) {
        self.end_hunk();
        let Some(file) = self.file.take() else { return };
        if !file.deleted && file.tests_removed > file.tests_added {
            let n = file.tests_removed - file.tests_added;
            self.flags.push(Flag {
                kind: FlagKind::DeletesTests,
                path: file.path.clone(),
                line: file.first_test_removed,
                text: format!(
                    "{} fewer after the fix ({} removed, {} added)",
                    plural(n, "test"),
                    file.tests_removed,
                    file.tests_added
                ),
                rule: Some(Cow::Borrowed("deletes tests")),
            });
        }
        if file.policy == PolicyMark::Pending {
            self.flags.push(policy_flag(file.path, None, String::new()));
        }
    }

    fn added_line(&mut self, lineno: u32, content: &[u8]) {
        let Some(file) = &mut self.file else { return };
        let trimmed = content.trim_ascii();
        if hides_text(trimmed) {
            self.flags.push(Flag {
                kind: FlagKind::HiddenText,
                path: file.path.clone(),
                line: Some(lineno),
                text: clip(visible(&lossy(trimmed)).into_owned()),
                rule: None,
            });
        }
        let comment = is_comment(trimmed, file.comments);
        if trimmed.is_empty() || comment {
            // a blank line or a comment inside `catch (e) {` keeps the block open
        } else {
            if let Some((block, at, opener)) = file.open.take() {
                let rule = match block {
                    Block::Catch if CLOSES.is_match(content) => Some("empty catch"),
                    Block::Catch if RETURNS_SUCCESS.is_match(content) => {
                        Some("catch returns success")
                    }
                    Block::Except if PASSES.is_match(content) => Some("except: pass"),
                    _ => None,
                };
                if let Some(rule) = rule {
                    self.flags.push(Flag {
                        kind: FlagKind::SwallowedError,
                        path: file.path.clone(),
                        line: Some(at),
                        text: clip(format!("{opener} {}", lossy(trimmed))),
                        rule: Some(Cow::Borrowed(rule)),
                    });
                }
            }
            if TRIGGER.is_match(content) {
                for (rule, regex) in RULES.iter().zip(RULE_REGEXES.iter()) {
                    if (rule.rust_only && !file.rust) || !regex.is_match(content) {
                        continue;
                    }
                    match rule.what {
                        RuleKind::Opens(block) => {
                            file.open = Some((block, lineno, lossy(trimmed)));
                        }
                        RuleKind::Flag(what) => {
                            self.flags.push(Flag {
                                kind: FlagKind::SwallowedError,
                                path: file.path.clone(),
                                line: Some(lineno),
                                text: clip(lossy(trimmed)),
                                rule: Some(Cow::Borrowed(what)),
                            });
                            break;
                        }
                    }
                }
            }
        }
        if let Some((set, sources)) = &self.patterns
            && let Some(idx) = set.matches(content).iter().next()
        {
            self.flags.push(Flag {
                kind: FlagKind::FlagPattern,
                path: file.path.clone(),
                line: Some(lineno),
                text: clip(lossy(trimmed)),
                rule: Some(Cow::Owned(sources[idx].clone())),
            });
        }
    }
}

impl DiffVisitor for Analyzer {
    fn wants_lines(&self, change: &FileChange) -> bool {
        let (excluded, is_policy) = self.classify(change);
        !excluded || (is_policy && change.change != Change::Deleted)
    }

    fn file(&mut self, change: &FileChange) {
        self.end_file();
        let (excluded, is_policy) = self.classify(change);
        if let Some(commit) = &change.submodule {
            self.flags.push(Flag {
                kind: FlagKind::Submodule,
                path: change.path.clone(),
                line: None,
                text: format!(
                    "-> commit {commit}: what it holds is another repository's and this diff does not show it"
                ),
                rule: None,
            });
        }
        if change.path.chars().any(is_hiding) {
            self.flags.push(Flag {
                kind: FlagKind::HiddenText,
                path: change.path.clone(),
                line: None,
                text: format!(
                    "a file name with a control character: {}",
                    visible(&change.path)
                ),
                rule: None,
            });
        }
        if excluded {
            self.excluded.push(change.path.clone());
        } else {
            self.files.push(FileStat {
                path: change.path.clone(),
                old_path: change.old_path.clone(),
                status: change.change,
                added: 0,
                removed: 0,
                binary: false,
            });
            if change.change == Change::Renamed {
                let from = change.old_path.as_deref().unwrap_or_default();
                let moved = parent(from) != parent(&change.path);
                self.flags.push(Flag {
                    kind: FlagKind::Renamed,
                    path: change.path.clone(),
                    line: None,
                    text: format!("{} from {from}", if moved { "moved" } else { "renamed" }),
                    rule: None,
                });
            }
        }
        if is_policy && change.change == Change::Deleted {
            self.flags.push(policy_flag(
                change.path.clone(),
                None,
                format!("{} deleted on the hotfix branch", change.path),
            ));
        }
        let deleted = change.change == Change::Deleted;
        if !excluded && deleted && TEST_PATH.is_match(change.path.as_bytes()) {
            self.flags.push(Flag {
                kind: FlagKind::DeletesTests,
                path: change.path.clone(),
                line: None,
                text: "test file deleted".into(),
                rule: Some(Cow::Borrowed("deletes tests")),
            });
        }
        let policy_pending = is_policy && change.change != Change::Deleted;
        if excluded && !policy_pending {
            return;
        }
        let (comments, rust) = language(&change.path);
        self.file = Some(Current {
            path: change.path.clone(),
            stat: (!excluded).then(|| self.files.len() - 1),
            comments,
            rust,
            policy: if policy_pending {
                PolicyMark::Pending
            } else {
                PolicyMark::Done
            },
            next_new: 1,
            hunk: None,
            open: None,
            tests_removed: 0,
            tests_added: 0,
            first_test_removed: None,
            deleted,
        });
    }

    fn binary(&mut self) {
        if let Some(file) = &self.file
            && let Some(i) = file.stat
        {
            self.files[i].binary = true;
        }
    }

    fn hunk(&mut self, new_start: u32) {
        self.end_hunk();
        if let Some(file) = &mut self.file {
            file.open = None;
            file.next_new = new_start;
            if let PolicyMark::Placed(_) = file.policy {
                file.policy = PolicyMark::Done;
            }
            file.hunk = Some(Hunk {
                new_start,
                only_comments: true,
                ..Hunk::default()
            });
        }
    }

    fn line(&mut self, line: &Line<'_>) {
        let Some(file) = &mut self.file else { return };
        // a removed line sits where the next line of the new file is
        let lineno = line.new_lineno.unwrap_or(file.next_new).max(1);
        if let Some(n) = line.new_lineno {
            file.next_new = n.saturating_add(1);
        }
        let added = line.origin == Origin::Added;
        let trimmed = line.content.trim_ascii();
        if line.origin == Origin::Context {
            file.open = None;
            if let PolicyMark::Placed(_) = file.policy {
                file.policy = PolicyMark::Done;
            }
            return;
        }
        match file.policy {
            PolicyMark::Pending => {
                let sign = if added { '+' } else { '-' };
                let text = clip(format!("{sign}{}", lossy(trimmed)));
                self.flags
                    .push(policy_flag(file.path.clone(), Some(lineno), text));
                file.policy = if added {
                    PolicyMark::Done
                } else {
                    PolicyMark::Placed(self.flags.len() - 1)
                };
            }
            PolicyMark::Placed(idx) if added => {
                let flag = &mut self.flags[idx];
                flag.text = clip(format!("{} → +{}", flag.text, lossy(trimmed)));
                file.policy = PolicyMark::Done;
            }
            _ => {}
        }
        let Some(i) = file.stat else { return };
        if TEST_MARK.is_match(line.content) {
            if added {
                file.tests_added += 1;
            } else {
                file.tests_removed += 1;
                file.first_test_removed.get_or_insert(lineno);
            }
        }
        if let Some(hunk) = &mut file.hunk {
            hunk.first_line.get_or_insert(lineno);
            let (count, text) = if added {
                (&mut hunk.added, &mut self.added_text)
            } else {
                (&mut hunk.removed, &mut self.removed_text)
            };
            *count += 1;
            text.extend(
                line.content
                    .iter()
                    .filter(|b| !b.is_ascii_whitespace())
                    .copied(),
            );
            if !trimmed.is_empty() {
                if is_comment(trimmed, file.comments) {
                    hunk.any_comment = true;
                } else {
                    hunk.only_comments = false;
                }
            }
        }
        let stat = &mut self.files[i];
        if added {
            stat.added = stat.added.saturating_add(1);
            self.added_line(lineno, line.content);
        } else {
            stat.removed = stat.removed.saturating_add(1);
            file.open = None;
        }
    }

    fn file_end(&mut self) {
        self.end_file();
    }
}

fn policy_flag(path: String, line: Option<u32>, text: String) -> Flag {
    let text = if text.is_empty() {
        format!("{path} changed on the hotfix branch")
    } else {
        text
    };
    Flag {
        kind: FlagKind::PolicyChange,
        path,
        line,
        text,
        rule: None,
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether an added line (trimmed) holds a character that can make it read other than it is
/// ([`is_hiding`]); a tab is no such character. Bytes first: most lines have none.
fn hides_text(trimmed: &[u8]) -> bool {
    let suspect = trimmed
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2);
    suspect
        && String::from_utf8_lossy(trimmed)
            .chars()
            .any(|c| c != '\t' && is_hiding(c))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn clip(mut text: String) -> String {
    if text.len() > MAX_TEXT && text.chars().count() > MAX_TEXT {
        text = text.chars().take(MAX_TEXT - 1).collect();
        text.push('…');
    }
    text
}

/// A changed line (already trimmed) that is a comment in a language with `markers`.
fn is_comment(trimmed: &[u8], markers: &[&str]) -> bool {
    markers.iter().any(|m| {
        let m = m.as_bytes();
        if m == b"*" {
            // a block comment's continuation (` * text`, ` */`), not a dereference (`*p = 1`)
            matches!(trimmed, [b'*'] | [b'*', b' ' | b'\t' | b'/', ..])
        } else {
            trimmed.starts_with(m)
        }
    })
}

const C_LIKE: &[&str] = &["//", "/*", "*"];
const HASH: &[&str] = &["#"];
const DASH: &[&str] = &["--"];
const MARKUP: &[&str] = &["<!--"];

/// The comment markers of a file's language, and whether it is Rust. Unknown languages have no
/// markers, so no hunk of theirs is called comment-only.
fn language(path: &str) -> (&'static [&'static str], bool) {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "Makefile" | "makefile" | "GNUmakefile" | "Dockerfile" | "Containerfile" | "Gemfile"
        | "Rakefile" | "Procfile" | "Vagrantfile" | "Brewfile" | "CMakeLists.txt"
        | ".gitignore" | ".gitattributes" | ".dockerignore" | ".editorconfig" | ".env" => {
            return (HASH, false);
        }
        _ => {}
    }
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return (&[], false),
    };
    let markers: &'static [&'static str] = match ext.as_str() {
        "rs" => return (C_LIKE, true),
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" | "m" | "mm" | "java" | "js"
        | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx" | "go" | "swift" | "kt" | "kts"
        | "scala" | "sc" | "cs" | "fs" | "dart" | "groovy" | "gradle" | "proto" | "zig" | "sol"
        | "scss" | "less" | "jsonc" | "json5" => C_LIKE,
        "css" => &["/*", "*"],
        "php" => &["//", "#", "/*", "*"],
        "py" | "pyi" | "rb" | "sh" | "bash" | "zsh" | "fish" | "ksh" | "pl" | "pm" | "r"
        | "yaml" | "yml" | "toml" | "cfg" | "conf" | "tf" | "tfvars" | "hcl" | "nix" | "ex"
        | "exs" | "cmake" | "mk" | "ps1" | "psm1" | "properties" | "dockerfile" | "jl" | "cr"
        | "coffee" | "tcl" | "awk" | "sed" | "gitignore" | "env" => HASH,
        "ini" => &[";", "#"],
        "sql" | "lua" | "hs" | "elm" | "ada" | "adb" | "ads" | "vhd" | "vhdl" => DASH,
        "html" | "htm" | "xhtml" | "xml" | "svg" | "md" | "markdown" | "xsd" | "xsl" | "plist"
        | "csproj" | "vbproj" | "props" | "targets" => MARKUP,
        "vue" | "svelte" => &["<!--", "//", "/*", "*"],
        "erl" | "hrl" | "tex" | "sty" | "m4" => &["%"],
        "clj" | "cljs" | "edn" | "el" | "lisp" | "scm" | "rkt" | "asm" | "s" => &[";"],
        "vim" => &["\""],
        _ => &[],
    };
    (markers, false)
}

// ---------------------------------------------------------------------------------------------
// Output.

/// The most flags shown in the human report; `--json` lists them all.
const MAX_SHOWN_FLAGS: usize = 50;

/// The human report on stdout: numbers against limits, the biggest files when over, and every
/// flag as `path:line: kind: text`.
pub fn render(ui: &Ui, report: &GuardReport) {
    let mark = |over: bool| if over { ui.fail_mark() } else { ui.ok_mark() };
    let verdict = |over: bool| if over { "  over the limit" } else { "" };
    let t = &report.totals;
    let l = &report.limits;
    ui.data(format!(
        "{} files  {} of at most {}{}",
        mark(report.over_files),
        t.files,
        l.max_files,
        verdict(report.over_files)
    ));
    ui.data(format!(
        "{} lines  {} of at most {} (+{} -{}){}",
        mark(report.over_lines),
        t.lines,
        l.max_lines,
        t.added,
        t.removed,
        verdict(report.over_lines)
    ));
    if let Some(v) = &report.version {
        ui.data(format!(
            "  version {} → {}: {} (the bump; not counted)",
            v.from,
            v.to,
            v.files.join(", ")
        ));
    }
    let binary: Vec<&str> = report
        .files
        .iter()
        .filter(|f| f.binary)
        .map(|f| f.path.as_str())
        .collect();
    let binary: Vec<String> = binary.iter().map(|p| visible(p).into_owned()).collect();
    let binary: Vec<&str> = binary.iter().map(String::as_str).collect();
    if !binary.is_empty() {
        ui.data(format!(
            "  binary (one file each, no lines): {}",
            list(&binary, 10)
        ));
    }
    if !report.excluded.is_empty() {
        let excluded: Vec<String> = report
            .excluded
            .iter()
            .map(|p| visible(p).into_owned())
            .collect();
        let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
        ui.data(format!(
            "  not counted (guard.exclude): {}",
            list(&excluded, 10)
        ));
    }
    if !report.passed() {
        ui.data("biggest files:");
        for f in report.biggest(5) {
            let size = if f.binary {
                "binary".to_string()
            } else {
                format!("+{} -{}", f.added, f.removed)
            };
            ui.data(format!(
                "  {:>6}  {}  ({size})",
                f.lines(),
                visible(&f.path)
            ));
        }
    }
    if report.flags.is_empty() {
        return;
    }
    ui.data(format!(
        "{} for the reviewer (flags do not fail the guard):",
        plural(
            u32::try_from(report.flags.len()).unwrap_or(u32::MAX),
            "flag"
        )
    ));
    for flag in report.flags.iter().take(MAX_SHOWN_FLAGS) {
        let at = match flag.line {
            Some(n) => format!("{}:{n}", visible(&flag.path)),
            None => visible(&flag.path).into_owned(),
        };
        ui.data(format!(
            "  {at}: {}: {}",
            flag.kind.as_str(),
            visible(&flag.text)
        ));
    }
    if report.flags.len() > MAX_SHOWN_FLAGS {
        ui.data(format!(
            "  … and {} more (`hotfix guard --json` lists them all)",
            report.flags.len() - MAX_SHOWN_FLAGS
        ));
    }
    let policy_flags = || {
        report
            .flags
            .iter()
            .filter(|f| f.kind == FlagKind::PolicyChange)
    };
    if policy_flags().any(|f| f.path == config::FILE_NAME) {
        ui.data(
            "  note: the policy in force for this hotfix is the one at `hotfix start`; editing hotfix.toml does not change its gates",
        );
    }
    if let Some(f) = policy_flags().find(|f| f.path != config::FILE_NAME) {
        ui.data(format!(
            "  note: the keys in force for this hotfix are those of {} at `hotfix start`; editing it does not change whose signature counts",
            f.path
        ));
    }
}

fn list(items: &[&str], max: usize) -> String {
    let mut text = items
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The gate and the command.

fn override_hint(h: &Hotfix) -> String {
    if h.policy.policy.allow_override {
        "make the fix smaller (move unrelated changes to the normal release), or override with `hotfix guard --override guard --reason <text>`".into()
    } else {
        "make the fix smaller (move unrelated changes to the normal release); this hotfix's policy does not allow overrides".into()
    }
}

/// The guard gate judged now for `tree` (the tip of the hotfix branch).
pub fn evaluate(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid) -> Result<GateView> {
    let report = analyze_hotfix(&ctx.repo, h, tip)?;
    let flags = match report.flags.len() {
        0 => String::new(),
        n => format!("; {}", plural(u32::try_from(n).unwrap_or(u32::MAX), "flag")),
    };
    let summary = format!("{}{flags}", report.summary());
    if let Some(first) = report.links_outside.first() {
        return Ok(GateView {
            gate: "guard",
            passed: false,
            reason: format!("the symlink {first} points outside the tree"),
            next: Some("replace the link by the file itself, then `hotfix guard`".into()),
        });
    }
    if report.passed() {
        return Ok(GateView {
            gate: "guard",
            passed: true,
            reason: summary,
            next: None,
        });
    }
    if let Some(o) = h.override_for("guard", &tree.to_string()) {
        return Ok(GateView {
            gate: "guard",
            passed: true,
            reason: format!("overridden: {} ({summary})", o.reason),
            next: None,
        });
    }
    let next = if h.policy.policy.allow_override {
        "make the fix smaller, then `hotfix guard`; or `hotfix guard --override guard --reason <text>`"
    } else {
        "make the fix smaller, then `hotfix guard`"
    };
    Ok(GateView {
        gate: "guard",
        passed: false,
        reason: format!("over the limit: {summary}"),
        next: Some(next.into()),
    })
}

#[derive(Serialize)]
struct GuardJson<'a> {
    branch: &'a str,
    base: &'a str,
    base_tag: Option<&'a str>,
    head: String,
    tree: String,
    /// Within the limits, or overridden for this tree.
    passed: bool,
    within_limits: bool,
    #[serde(rename = "override")]
    override_: Option<&'a crate::state::Override>,
    #[serde(flatten)]
    report: &'a GuardReport,
}

/// `hotfix guard`: the diff from the base tag to the hotfix branch's tip, against the policy
/// snapshotted at `start`; records the run and any `--override guard` in the state.
pub fn guard(ctx: &Ctx, args: &GuardArgs) -> Result<()> {
    let repo = &ctx.repo;
    let ui = ctx.ui;
    if let Some(other) = args.overrides.gates.iter().find(|g| **g != Gate::Guard) {
        let name = gate_name(*other);
        let command = if *other == Gate::Test {
            "test"
        } else {
            "deploy"
        };
        return Err(Refusal::usage(format!(
            "`hotfix guard` overrides only the guard gate, not the {name} gate"
        ))
        .hint(format!(
            "override it where it is checked: `hotfix {command} --override {name} --reason <text>`"
        ))
        .into());
    }
    let state = ctx.store.read()?;
    let h = ctx.select(&state, None)?;
    crate::seal::verify(repo, h, "the guard")?;
    let Some(tip) = repo.branch_tip(&h.branch)? else {
        return Err(Refusal::usage(format!(
            "the branch {} no longer exists; was it deleted by hand?",
            h.branch
        ))
        .hint(format!(
            "`hotfix abort {}` forgets this hotfix",
            shell_word(&h.name)
        ))
        .into());
    };
    let base = Oid::from_str(&h.base_commit)
        .with_context(|| format!("the state has a bad base commit for {}", h.branch))?;
    let from = match &h.base_tag {
        Some(t) => format!("{t} ({})", short(base)),
        None => short(base),
    };
    if h.has_no_fix(&tip.to_string()) {
        let since = if tip == base {
            from.clone()
        } else {
            format!("{from} but the version bump")
        };
        return Err(Refusal::gate(format!(
            "there is nothing to guard yet: {} has no commits since {since}",
            h.branch
        ))
        .hint("commit the fix on the hotfix branch, then run `hotfix guard`")
        .into());
    }
    let tree = repo.tree_of(tip)?;
    let report = analyze_hotfix(repo, h, tip)?;

    let wants_override = !args.overrides.gates.is_empty();
    let mut overridden = h.override_for("guard", &tree.to_string()).cloned();
    if wants_override && (!report.passed() || !h.policy.policy.allow_override) {
        record_overrides(ctx, h, &args.overrides, tree)?;
        overridden = ctx
            .store
            .read()?
            .hotfixes
            .get(&h.branch)
            .and_then(|h| h.override_for("guard", &tree.to_string()).cloned());
    } else if wants_override {
        ui.status("The guard passes within its limits; no override was needed or recorded.");
    }
    let passed = (report.passed() || overridden.is_some()) && report.links_outside.is_empty();

    let record = GuardRecord {
        tree: tree.to_string(),
        files: report.totals.files,
        lines: report.totals.lines,
        flags: u32::try_from(report.flags.len()).unwrap_or(u32::MAX),
        passed: report.passed() && report.links_outside.is_empty(),
        at: jiff::Timestamp::now(),
    };
    ctx.store.update(|s| {
        let entry = s
            .hotfixes
            .get_mut(&h.branch)
            .ok_or_else(|| Refusal::usage(format!("{} is no longer in progress", h.branch)))?;
        entry.guard = Some(record);
        Ok(())
    })?;

    if ui.json {
        ui.data(serde_json::to_string_pretty(&GuardJson {
            branch: &h.branch,
            base: &h.base_commit,
            base_tag: h.base_tag.as_deref(),
            head: tip.to_string(),
            tree: tree.to_string(),
            passed,
            within_limits: report.passed(),
            override_: overridden.as_ref(),
            report: &report,
        })?);
    } else {
        ui.status(format!("Guarding {from} → {} ({}):", h.branch, short(tip)));
        render(ui, &report);
    }

    if let Some(refusal) = report.links_refusal() {
        return Err(refusal.into());
    }
    if report.passed() {
        // a teammate reviews what the remote has: while the branch is only here, push first
        match crate::sync::Sharing::of(repo, &h.branch)? {
            Some(s) if s.unshared() && s.not_here == 0 => ui.status(format!(
                "The guard passes. {}: push it with `{}`, then a teammate reviews with `hotfix approve {}`.",
                s.sentence().unwrap_or_default(),
                s.push_command(),
                shell_word(&h.branch)
            )),
            Some(s) if s.unshared() || s.not_here > 0 => {
                ui.status("The guard passes. Next: a teammate reviews with `hotfix approve`.");
                ui.warn(s.sentence().unwrap_or_default());
            }
            _ => ui.status("The guard passes. Next: a teammate reviews with `hotfix approve`."),
        }
        return Ok(());
    }
    if let Some(o) = &overridden {
        if !wants_override {
            ui.warn(format!(
                "over the limit, but the guard is overridden for this tree ({})",
                o.reason
            ));
        }
        return Ok(());
    }
    let mut over = Vec::new();
    if report.over_files {
        over.push(format!(
            "{} (max {})",
            plural(report.totals.files, "file"),
            report.limits.max_files
        ));
    }
    if report.over_lines {
        over.push(format!(
            "{} (max {})",
            plural(report.totals.lines, "line"),
            report.limits.max_lines
        ));
    }
    Err(Refusal::gate(format!(
        "the fix is over the guard's limit: {}",
        over.join(", ")
    ))
    .hint(override_hint(h))
    .into())
}
