//! Version files: the manifests that say the release's version (SPEC "Version files").
//!
//! Four functions carry it, and the steps call them: [`resolve`] (which files a hotfix bumps:
//! the policy's list, or the manifests at the root whose version is the base release's),
//! [`read`] (the version a file says), [`set`] (the same text with only the version changed)
//! and [`merge_keeping_ours`] (the merge rule for the version lines at merge-back).
//!
//! Every file is edited as text at the exact places its version is written ([`spots`]): a TOML
//! manifest is parsed for the spans of its version values (`toml::Spanned`, so comments, key
//! order and quoting stay as they were), JSON and XML by small scanners that know the one key
//! or element they look for, Chart.yaml, VERSION and `{ path, pattern }` entries by line or
//! pattern. Nothing is ever re-serialised, so a bump changes the version text and nothing else.

use std::ops::Range;

use anyhow::Result;
use semver::Version;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::VersionFileEntry;
use crate::error::Refusal;
use crate::git::{Oid, Repo};

/// How a file writes its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `[package] version` and `[workspace.package] version`.
    CargoToml,
    /// The `[[package]]` entries of the workspace's own packages (and `"name version"`
    /// references to them).
    CargoLock,
    /// The top-level `"version"`.
    PackageJson,
    /// The top-level `"version"` and `packages[""].version`.
    PackageLock,
    /// `[project] version` or `[tool.poetry] version`.
    Pyproject,
    /// The project's own `<version>` (a direct child of `<project>`).
    Pom,
    /// The top-level `version:` line.
    Chart,
    /// The whole file is the version (VERSION).
    Plain,
    /// `pattern` with `{version}` in it.
    Pattern,
}

impl Kind {
    /// The kind a file name stands for, for the files hotfix knows by name.
    pub fn of_path(path: &str) -> Option<Kind> {
        Some(match path.rsplit('/').next().unwrap_or(path) {
            "Cargo.toml" => Kind::CargoToml,
            "Cargo.lock" => Kind::CargoLock,
            "package.json" => Kind::PackageJson,
            "package-lock.json" | "npm-shrinkwrap.json" => Kind::PackageLock,
            "pyproject.toml" => Kind::Pyproject,
            "pom.xml" => Kind::Pom,
            "Chart.yaml" => Kind::Chart,
            "VERSION" | "VERSION.txt" => Kind::Plain,
            _ => return None,
        })
    }
}

/// One file a hotfix bumps, as `start` resolved it (kept in the state, sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionFile {
    pub path: String,
    pub kind: Kind,
    /// For [`Kind::Pattern`]: the text around the version (`DEF_VER=v{version}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// For [`Kind::CargoLock`]: the workspace's packages whose version is bumped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

impl VersionFile {
    fn new(path: &str, kind: Kind) -> VersionFile {
        VersionFile {
            path: path.to_string(),
            kind,
            pattern: None,
            packages: Vec::new(),
        }
    }
}

/// Where a file writes the version: the byte range of the version text (without quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    pub range: Range<usize>,
    pub value: String,
}

/// Every place `text` writes the version, in file order; an error says why the text cannot be
/// read (it does not parse).
pub fn spots(file: &VersionFile, text: &str) -> Result<Vec<Spot>, String> {
    match file.kind {
        Kind::CargoToml => cargo_toml_spots(text),
        Kind::CargoLock => cargo_lock_spots(text, &file.packages),
        Kind::PackageJson => json_spots(text, &[&["version"]]),
        Kind::PackageLock => json_spots(text, &[&["version"], &["packages", "", "version"]]),
        Kind::Pyproject => pyproject_spots(text),
        Kind::Pom => pom_spot(text).map(|s| s.into_iter().collect()),
        Kind::Chart => Ok(chart_spot(text).into_iter().collect()),
        Kind::Plain => Ok(plain_spot(text).into_iter().collect()),
        Kind::Pattern => Ok(pattern_spots(text, file.pattern.as_deref().unwrap_or(""))),
    }
}

/// The version `text` says: `None` when it writes none, an error when it does not parse or
/// says two different versions.
pub fn read(file: &VersionFile, text: &str) -> Result<Option<String>, String> {
    let spots = spots(file, text)?;
    let Some(first) = spots.first() else {
        return Ok(None);
    };
    if let Some(other) = spots.iter().find(|s| s.value != first.value) {
        return Err(format!("it says both {} and {}", first.value, other.value));
    }
    Ok(Some(first.value.clone()))
}

/// `text` with every version spot saying `to`, and nothing else changed.
pub fn set(file: &VersionFile, text: &str, to: &str) -> Result<String, String> {
    let spots = spots(file, text)?;
    Ok(replace(text, &spots, |_| Some(to)))
}

fn replace<'a>(text: &str, spots: &[Spot], with: impl Fn(&Spot) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for s in spots {
        if let Some(new) = with(s) {
            out.push_str(&text[at..s.range.start]);
            out.push_str(new);
            at = s.range.end;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Whether a version text names `version` (`1.2` is 1.2.0; a leading `v` is allowed).
pub fn same_version(text: &str, version: &Version) -> bool {
    let t = text.strip_prefix('v').unwrap_or(text);
    match Version::parse(t) {
        Ok(v) => v == *version,
        Err(_) => crate::version::version_of(t, "*").is_some_and(|v| v == *version),
    }
}

// ---------------------------------------------------------------------------------------------
// Which files: the policy's list, or detection.

/// The files a hotfix from `commit` bumps: `release.version_files` as the policy gives it
/// (`None`: detected, `[]`: none), each checked to write a version at `commit`. Detection needs
/// the base release's version; without one (a base that is no release tag) it finds nothing.
pub fn resolve(
    repo: &Repo,
    commit: Oid,
    entries: Option<&[VersionFileEntry]>,
    base: Option<&Version>,
) -> Result<Vec<VersionFile>> {
    let Some(entries) = entries else {
        return match base {
            Some(v) => detect(repo, commit, v),
            None => Ok(Vec::new()),
        };
    };
    let mut out = Vec::new();
    for entry in entries {
        let (path, pattern) = match entry {
            VersionFileEntry::Path(p) => (p.as_str(), None),
            VersionFileEntry::Pattern { path, pattern } => (path.as_str(), Some(pattern.clone())),
        };
        let kind = match (&pattern, Kind::of_path(path)) {
            (Some(_), _) => Kind::Pattern,
            (None, Some(k)) => k,
            (None, None) => {
                return Err(Refusal::usage(format!(
                    "release.version_files names {path}, and hotfix does not know how that file writes its version"
                ))
                .hint(format!(
                    "give it a pattern: {{ path = \"{path}\", pattern = \"VERSION = {{version}}\" }} (the text around the version)"
                ))
                .into());
            }
        };
        let mut file = VersionFile::new(path, kind);
        file.pattern = pattern;
        let text = text_at(repo, commit, path)?.ok_or_else(|| {
            Refusal::usage(format!(
                "release.version_files names {path}, which the base {} does not have",
                crate::git::short(commit)
            ))
            .hint("fix the list in hotfix.toml (or `version_files = []` to bump nothing)")
        })?;
        if kind == Kind::CargoLock {
            file.packages = cargo_packages(repo, commit, parent_dir(path), None)?;
        }
        match read(&file, &text) {
            Ok(Some(_)) => out.push(file),
            Ok(None) => {
                return Err(Refusal::usage(format!(
                    "release.version_files names {path}, and hotfix finds no version in it at the base {}",
                    crate::git::short(commit)
                ))
                .hint(match kind {
                    Kind::Pattern => "check the pattern: the text around the version, with {version} where it stands".to_string(),
                    _ => "fix the list in hotfix.toml (or `version_files = []` to bump nothing)".to_string(),
                })
                .into());
            }
            Err(e) => {
                return Err(Refusal::usage(format!(
                    "release.version_files names {path}, and its version cannot be read at the base {}: {e}",
                    crate::git::short(commit)
                ))
                .hint("fix the file, or the list in hotfix.toml")
                .into());
            }
        }
    }
    Ok(out)
}

/// The manifests at the root of `commit` whose version is `base`, with their lock files.
pub fn detect(repo: &Repo, commit: Oid, base: &Version) -> Result<Vec<VersionFile>> {
    let says_base = |file: &VersionFile, text: &str| -> bool {
        spots(file, text)
            .is_ok_and(|s| !s.is_empty() && s.iter().all(|s| same_version(&s.value, base)))
    };
    let mut out = Vec::new();
    for name in [
        "Cargo.toml",
        "package.json",
        "pyproject.toml",
        "pom.xml",
        "Chart.yaml",
        "VERSION",
    ] {
        let kind = Kind::of_path(name).expect("known");
        let file = VersionFile::new(name, kind);
        let Some(text) = text_at(repo, commit, name)? else {
            continue;
        };
        if !says_base(&file, &text) {
            continue;
        }
        out.push(file);
        let lock = match kind {
            Kind::CargoToml => {
                let mut lock = VersionFile::new("Cargo.lock", Kind::CargoLock);
                lock.packages = cargo_packages(repo, commit, "", Some(&text))?;
                (!lock.packages.is_empty()).then_some(lock)
            }
            Kind::PackageJson => Some(VersionFile::new("package-lock.json", Kind::PackageLock)),
            _ => None,
        };
        if let Some(lock) = lock
            && let Some(text) = text_at(repo, commit, &lock.path)?
            && says_base(&lock, &text)
        {
            out.push(lock);
        }
    }
    Ok(out)
}

/// The version `file` says in `commit` (`None`: no such file, or no version in it).
pub fn read_at(repo: &Repo, commit: Oid, file: &VersionFile) -> Result<Option<String>> {
    Ok(text_at(repo, commit, &file.path)?.and_then(|t| read(file, &t).ok().flatten()))
}

fn text_at(repo: &Repo, commit: Oid, path: &str) -> Result<Option<String>> {
    Ok(repo
        .file_at(commit, path)?
        .and_then(|b| String::from_utf8(b).ok()))
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The packages of the Cargo workspace rooted at `dir` whose version the root manifest sets:
/// the root package (its own version, or the workspace's), and every member that inherits
/// `version.workspace = true`. Members with a version of their own keep it, and so do their
/// lock entries.
fn cargo_packages(repo: &Repo, commit: Oid, dir: &str, root: Option<&str>) -> Result<Vec<String>> {
    let root_text = match root {
        Some(t) => t.to_string(),
        None => match text_at(repo, commit, &join(dir, "Cargo.toml"))? {
            Some(t) => t,
            None => return Ok(Vec::new()),
        },
    };
    let Ok(manifest) = toml::from_str::<CargoManifest>(&root_text) else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    let ws_version = manifest
        .workspace
        .as_ref()
        .and_then(|w| w.package.as_ref())
        .and_then(|p| p.version.as_ref())
        .is_some_and(|v| v.get_ref().is_str());
    if let Some(p) = &manifest.package
        && let Some(name) = &p.name
        && p.version
            .as_ref()
            .is_some_and(|v| v.get_ref().is_str() || (ws_version && inherits(v.get_ref())))
    {
        names.push(name.clone());
    }
    if let Some(ws) = &manifest.workspace
        && ws_version
        && !ws.members.is_empty()
    {
        let glob = |p: &str| {
            globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
        };
        let members: Vec<_> = ws.members.iter().filter_map(|m| glob(m).ok()).collect();
        let excluded: Vec<_> = ws.exclude.iter().filter_map(|m| glob(m).ok()).collect();
        let depth = ws
            .members
            .iter()
            .map(|m| {
                if m.contains("**") {
                    8
                } else {
                    m.split('/').count()
                }
            })
            .max()
            .unwrap_or(1);
        for member in repo.dirs_at(commit, dir, depth)? {
            let rel = member
                .strip_prefix(dir)
                .map(|r| r.trim_start_matches('/'))
                .unwrap_or(&member);
            if !members.iter().any(|g| g.is_match(rel)) || excluded.iter().any(|g| g.is_match(rel))
            {
                continue;
            }
            let Some(text) = text_at(repo, commit, &join(&member, "Cargo.toml"))? else {
                continue;
            };
            if let Ok(m) = toml::from_str::<CargoManifest>(&text)
                && let Some(p) = m.package
                && let Some(name) = p.name
                && p.version.as_ref().is_some_and(|v| inherits(v.get_ref()))
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// `{ workspace = true }`.
fn inherits(v: &toml::Value) -> bool {
    v.as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(toml::Value::as_bool)
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// The bump and the merge rule.

/// The content of each of `files` at `commit` with its version set to `to`: what the bump
/// commit writes. Files whose content would not change are left out.
pub fn bumped(
    repo: &Repo,
    commit: Oid,
    files: &[VersionFile],
    to: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for f in files {
        let Some(text) = text_at(repo, commit, &f.path)? else {
            continue;
        };
        let new = set(f, &text, to).map_err(|e| {
            Refusal::usage(format!("cannot set the version in {}: {e}", f.path))
                .hint("fix the file, or `version_files = []` in hotfix.toml to bump nothing")
        })?;
        if new != text {
            out.push((f.path.clone(), new.into_bytes()));
        }
    }
    Ok(out)
}

/// What the merge rule did with one conflicted version file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// The version lines kept the target's version (`kept`), everything else merged.
    Kept { content: Vec<u8>, kept: String },
    /// The conflict is not confined to the version lines: it stays for the user.
    Conflict,
}

/// The merge rule: the conflict of one version file between the merge base `base`, the
/// target's `ours` and the release's `theirs`, where the release's version lines say `to`.
///
/// The release's side is taken back to the base's version at exactly the places that say
/// `to`, and the three sides are merged again: a conflict made only by the two versions
/// disappears (the target's version stands, as in any merge where one side did not change a
/// line), and every other change of the release to the file still merges. Anything still in
/// conflict is a real conflict.
pub fn merge_keeping_ours(
    file: &VersionFile,
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    to: &str,
) -> Merged {
    let (Ok(base_t), Ok(ours_t), Ok(theirs_t)) = (
        std::str::from_utf8(base),
        std::str::from_utf8(ours),
        std::str::from_utf8(theirs),
    ) else {
        return Merged::Conflict;
    };
    let (Ok(Some(from)), Ok(Some(kept)), Ok(theirs_spots)) = (
        read(file, base_t),
        read(file, ours_t),
        spots(file, theirs_t),
    ) else {
        return Merged::Conflict;
    };
    if !theirs_spots.iter().any(|s| s.value == to) {
        return Merged::Conflict;
    }
    let unbumped = replace(theirs_t, &theirs_spots, |s| {
        (s.value == to).then_some(from.as_str())
    });
    match crate::git::merge::merge_texts(base, ours, unbumped.as_bytes()) {
        Some(content) => Merged::Kept { content, kept },
        None => Merged::Conflict,
    }
}

// ---------------------------------------------------------------------------------------------
// TOML: the spans of the version values.

#[derive(Deserialize)]
struct CargoManifest {
    package: Option<CargoPackage>,
    workspace: Option<CargoWorkspace>,
}

#[derive(Deserialize)]
struct CargoPackage {
    name: Option<String>,
    version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct CargoWorkspace {
    package: Option<WorkspacePackage>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Deserialize)]
struct WorkspacePackage {
    version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: Spanned<String>,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
struct Pyproject {
    project: Option<WorkspacePackage>,
    tool: Option<PyTool>,
}

#[derive(Deserialize)]
struct PyTool {
    poetry: Option<WorkspacePackage>,
}

fn toml_error(e: toml::de::Error) -> String {
    format!("it is not valid TOML ({})", e.message().trim())
}

/// The text inside a one-line string literal at `span`, when it is exactly `value` (a version
/// has no escapes; a literal with any is left alone).
fn quoted_spot(text: &str, span: Range<usize>, value: &str) -> Option<Spot> {
    let lit = text.get(span.clone())?;
    let quote = lit.chars().next()?;
    if !matches!(quote, '"' | '\'')
        || lit.len() < 2
        || lit.starts_with("\"\"\"")
        || lit.starts_with("'''")
    {
        return None;
    }
    let inner = span.start + 1..span.end - 1;
    (text.get(inner.clone())? == value).then(|| Spot {
        range: inner,
        value: value.to_string(),
    })
}

fn string_spot(text: &str, v: &Spanned<toml::Value>) -> Option<Spot> {
    quoted_spot(text, v.span(), v.get_ref().as_str()?)
}

/// The spots of the string versions among `found` (the keys a manifest may hold its version
/// under), in the order they stand in the text.
fn spots_of(text: &str, found: &[Option<Spanned<toml::Value>>]) -> Vec<Spot> {
    let mut out: Vec<Spot> = found
        .iter()
        .flatten()
        .filter_map(|v| string_spot(text, v))
        .collect();
    out.sort_by_key(|s| s.range.start);
    out
}

fn cargo_toml_spots(text: &str) -> Result<Vec<Spot>, String> {
    let m: CargoManifest = toml::from_str(text).map_err(toml_error)?;
    Ok(spots_of(
        text,
        &[
            m.package.and_then(|p| p.version),
            m.workspace.and_then(|w| w.package).and_then(|p| p.version),
        ],
    ))
}

fn cargo_lock_spots(text: &str, packages: &[String]) -> Result<Vec<Spot>, String> {
    let lock: CargoLock = toml::from_str(text).map_err(toml_error)?;
    let mut out = Vec::new();
    for p in &lock.package {
        if p.source.is_none()
            && packages.contains(&p.name)
            && let Some(s) = quoted_spot(text, p.version.span(), p.version.get_ref())
        {
            out.push(s);
        }
        // `"name version"`: how a lock names a package when two versions of it are locked
        for d in &p.dependencies {
            let (name, rest) = d.get_ref().split_once(' ').unwrap_or((d.get_ref(), ""));
            if rest.is_empty() || rest.contains(' ') || !packages.iter().any(|n| n == name) {
                continue;
            }
            let span = d.span();
            if let Some(whole) = quoted_spot(text, span.clone(), d.get_ref()) {
                let start = whole.range.start + name.len() + 1;
                out.push(Spot {
                    range: start..whole.range.end,
                    value: rest.to_string(),
                });
            }
        }
    }
    out.sort_by_key(|s| s.range.start);
    Ok(out)
}

fn pyproject_spots(text: &str) -> Result<Vec<Spot>, String> {
    let p: Pyproject = toml::from_str(text).map_err(toml_error)?;
    Ok(spots_of(
        text,
        &[
            p.project.and_then(|p| p.version),
            p.tool.and_then(|t| t.poetry).and_then(|p| p.version),
        ],
    ))
}

// ---------------------------------------------------------------------------------------------
// JSON: a scanner that finds the string values at a few key paths.

fn json_spots(text: &str, wanted: &[&[&str]]) -> Result<Vec<Spot>, String> {
    let mut scan = Json {
        s: text.as_bytes(),
        i: 0,
        wanted,
        path: Vec::new(),
        off: 0,
        found: Vec::new(),
    };
    scan.ws();
    scan.value(0)?;
    scan.ws();
    if scan.i != scan.s.len() {
        return Err(scan.error("text after the end of the document"));
    }
    Ok(scan.found)
}

struct Json<'a> {
    s: &'a [u8],
    i: usize,
    wanted: &'a [&'a [&'a str]],
    /// The keys down to the value being read, while they lead to a wanted path.
    path: Vec<String>,
    /// How many levels below the last key that leads on the reader is (arrays count too).
    off: usize,
    found: Vec<Spot>,
}

const MAX_JSON_DEPTH: usize = 256;

impl Json<'_> {
    fn error(&self, what: &str) -> String {
        let (line, col) =
            crate::config::line_col(std::str::from_utf8(self.s).unwrap_or_default(), self.i);
        format!("it is not valid JSON ({what} at {line}:{col})")
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// Whether the path with `key` added still leads to a wanted path.
    fn leads_on(&self, key: &str) -> bool {
        let n = self.path.len();
        self.wanted
            .iter()
            .any(|w| w.len() > n && w[..n] == self.path[..] && w[n] == key)
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    let (key, _) = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(self.error("expected ':'"));
                    }
                    self.i += 1;
                    self.ws();
                    if self.off == 0 && self.leads_on(&key) {
                        self.path.push(key);
                        self.value(depth + 1)?;
                        self.path.pop();
                    } else {
                        self.off += 1;
                        self.value(depth + 1)?;
                        self.off -= 1;
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(());
                }
                self.off += 1;
                loop {
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            self.off -= 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => {
                let start = self.i;
                let (value, plain) = self.string()?;
                if plain && self.off == 0 && self.wanted.iter().any(|w| **w == self.path[..]) {
                    self.found.push(Spot {
                        range: start + 1..self.i - 1,
                        value,
                    });
                }
                Ok(())
            }
            Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric()
                        || matches!(self.s[self.i], b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
                Ok(())
            }
            _ => Err(self.error("expected a value")),
        }
    }

    /// A string token: its value, and whether it had no escapes (its text is its value).
    fn string(&mut self) -> Result<(String, bool), String> {
        if self.s.get(self.i) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        self.i += 1;
        let start = self.i;
        let mut plain = true;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'"' => {
                    let raw = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
                    self.i += 1;
                    let value = if plain {
                        raw.to_string()
                    } else {
                        serde_json::from_str::<String>(&format!("\"{raw}\""))
                            .map_err(|_| self.error("a bad escape"))?
                    };
                    return Ok((value, plain));
                }
                b'\\' => {
                    plain = false;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
        Err(self.error("an unterminated string"))
    }
}

// ---------------------------------------------------------------------------------------------
// XML (pom.xml): the project's own <version>.

fn pom_spot(text: &str) -> Result<Option<Spot>, String> {
    let s = text.as_bytes();
    let find = |from: usize, needle: &str| -> Result<usize, String> {
        text[from..]
            .find(needle)
            .map(|p| from + p + needle.len())
            .ok_or_else(|| format!("it is not valid XML (no {needle} after byte {from})"))
    };
    let mut stack: Vec<&str> = Vec::new();
    let mut i = 0;
    while let Some(p) = text[i..].find('<') {
        i += p;
        let rest = &text[i..];
        if rest.starts_with("<!--") {
            i = find(i + 4, "-->")?;
        } else if rest.starts_with("<![CDATA[") {
            i = find(i + 9, "]]>")?;
        } else if rest.starts_with("<?") {
            i = find(i + 2, "?>")?;
        } else if rest.starts_with("<!") {
            i = find(i + 2, ">")?;
        } else if rest.starts_with("</") {
            let end = find(i + 2, ">")?;
            let name = local(text[i + 2..end - 1].trim());
            if stack.pop() != Some(name) {
                return Err(format!("it is not valid XML (unexpected </{name}>)"));
            }
            i = end;
        } else {
            // a start tag: its name, then attributes (quoted values may hold '>') to '>'
            let mut j = i + 1;
            while j < s.len() && !matches!(s[j], b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>') {
                j += 1;
            }
            let name = local(&text[i + 1..j]);
            let mut quote = None;
            while j < s.len() {
                match (quote, s[j]) {
                    (None, b'"' | b'\'') => quote = Some(s[j]),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= s.len() {
                return Err("it is not valid XML (an unterminated tag)".into());
            }
            let self_closing = s[j - 1] == b'/';
            i = j + 1;
            if self_closing {
                continue;
            }
            if name == "version" && stack == ["project"] {
                let end = text[i..].find('<').map_or(text.len(), |p| i + p);
                let raw = &text[i..end];
                let lead = raw.len() - raw.trim_start().len();
                let value = raw.trim();
                if value.is_empty() || value.contains("${") {
                    return Ok(None);
                }
                return Ok(Some(Spot {
                    range: i + lead..i + lead + value.len(),
                    value: value.to_string(),
                }));
            }
            stack.push(name);
        }
    }
    Ok(None)
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

// ---------------------------------------------------------------------------------------------
// Lines and patterns.

/// Chart.yaml's top-level `version:` (quoted or not, a comment after it allowed).
fn chart_spot(text: &str) -> Option<Spot> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("version:") {
            let start = at + "version:".len();
            let body = rest.split(" #").next().unwrap_or(rest);
            let body = body.trim_end_matches(['\n', '\r']);
            let lead = body.len() - body.trim_start().len();
            let mut value = body.trim();
            let mut offset = start + lead;
            if value.len() >= 2
                && (value.starts_with('"') && value.ends_with('"')
                    || value.starts_with('\'') && value.ends_with('\''))
            {
                value = &value[1..value.len() - 1];
                offset += 1;
            }
            if value.is_empty() {
                return None;
            }
            return Some(Spot {
                range: offset..offset + value.len(),
                value: value.to_string(),
            });
        }
        at += line.len();
    }
    None
}

/// VERSION: the whole file is one version (a leading `v` stays as it is).
fn plain_spot(text: &str) -> Option<Spot> {
    let lead = text.len() - text.trim_start().len();
    let mut value = text.trim();
    let mut start = lead;
    if value.is_empty() || value.contains(char::is_whitespace) {
        return None;
    }
    if value.starts_with('v') && value[1..].starts_with(|c: char| c.is_ascii_digit()) {
        value = &value[1..];
        start += 1;
    }
    Some(Spot {
        range: start..start + value.len(),
        value: value.to_string(),
    })
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')
}

/// Every occurrence of `pattern` (`DEF_VER=v{version}`): the text before `{version}`, a version,
/// then the text after it.
fn pattern_spots(text: &str, pattern: &str) -> Vec<Spot> {
    let Some((before, after)) = pattern.split_once("{version}") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = text[from..].find(before) {
        let start = from + p + before.len();
        let run = text[start..]
            .find(|c: char| !is_version_char(c))
            .map_or(text.len(), |n| start + n);
        // the longest version the text after it follows (`v{version}-final` stops before `-final`)
        let end = (start + 1..=run).rev().find(|&end| {
            text[end..].starts_with(after)
                && text[start..end].starts_with(|c: char| c.is_ascii_digit())
        });
        match end {
            Some(end) => {
                out.push(Spot {
                    range: start..end,
                    value: text[start..end].to_string(),
                });
                from = end;
            }
            None => from = start.max(from + p + 1),
        }
        if before.is_empty() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: Kind) -> VersionFile {
        VersionFile::new("x", kind)
    }

    fn bump(kind: Kind, text: &str, to: &str) -> String {
        set(&file(kind), text, to).unwrap()
    }

    #[test]
    fn cargo_toml_keeps_everything_but_the_version() {
        let text = "[package]\nname = \"fd-find\"   # the crate\nversion = \"10.4.2\" # bump me\nedition = \"2021\"\n\n[dependencies]\nregex = { version = \"1.10.2\" }\n";
        let out = bump(Kind::CargoToml, text, "10.4.3");
        assert_eq!(out, text.replace("\"10.4.2\"", "\"10.4.3\""));
        assert_eq!(
            read(&file(Kind::CargoToml), &out).unwrap().as_deref(),
            Some("10.4.3")
        );
        let ws =
            "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = '2.0.1'\n";
        assert_eq!(
            bump(Kind::CargoToml, ws, "2.0.2"),
            ws.replace("'2.0.1'", "'2.0.2'")
        );
        let inherits = "[package]\nname = \"a\"\nversion.workspace = true\n";
        assert!(spots(&file(Kind::CargoToml), inherits).unwrap().is_empty());
    }

    #[test]
    fn cargo_lock_only_the_workspace_packages() {
        let text = "version = 3\n\n[[package]]\nname = \"aho-corasick\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"fd-find\"\nversion = \"1.0.0\"\ndependencies = [\n \"aho-corasick\",\n \"other 1.0.0\",\n]\n\n[[package]]\nname = \"other\"\nversion = \"1.0.0\"\n";
        let mut f = file(Kind::CargoLock);
        f.packages = vec!["fd-find".into()];
        let out = set(&f, text, "1.0.1").unwrap();
        assert_eq!(
            out,
            text.replacen(
                "name = \"fd-find\"\nversion = \"1.0.0\"",
                "name = \"fd-find\"\nversion = \"1.0.1\"",
                1
            )
        );
        f.packages.push("other".into());
        let out = set(&f, text, "1.0.1").unwrap();
        assert!(out.contains("\"other 1.0.1\""), "{out}");
        assert!(
            out.contains("name = \"aho-corasick\"\nversion = \"1.0.0\""),
            "{out}"
        );
    }

    #[test]
    fn package_json_and_lock() {
        let text = "{\n  \"name\": \"app\",\n  \"version\": \"1.2.3\",\n  \"dependencies\": {\"left-pad\": {\"version\": \"1.2.3\"}},\n  \"scripts\": [\"version\"]\n}\n";
        let out = bump(Kind::PackageJson, text, "1.2.4");
        assert_eq!(
            out,
            text.replacen("\"version\": \"1.2.3\"", "\"version\": \"1.2.4\"", 1)
        );
        let lock = "{\n  \"name\": \"app\",\n  \"version\": \"1.2.3\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n    \"\": {\n      \"name\": \"app\",\n      \"version\": \"1.2.3\"\n    },\n    \"node_modules/x\": {\n      \"version\": \"1.2.3\"\n    }\n  }\n}\n";
        let out = bump(Kind::PackageLock, lock, "1.2.4");
        assert_eq!(spots(&file(Kind::PackageLock), lock).unwrap().len(), 2);
        assert!(
            out.contains("\"node_modules/x\": {\n      \"version\": \"1.2.3\""),
            "{out}"
        );
        assert_eq!(out.matches("1.2.4").count(), 2, "{out}");
        assert!(json_spots("{\"version\": \"1\"", &[&["version"]]).is_err());
    }

    #[test]
    fn pom_own_version_only() {
        let text = "<?xml version=\"1.0\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <!-- <version>9</version> -->\n  <parent>\n    <groupId>g</groupId>\n    <version>1.0.0</version>\n  </parent>\n  <artifactId>a</artifactId>\n  <version>1.0.0</version>\n  <dependencies>\n    <dependency><version>1.0.0</version></dependency>\n  </dependencies>\n</project>\n";
        let out = bump(Kind::Pom, text, "1.0.1");
        assert_eq!(
            out,
            text.replace(
                "  <version>1.0.0</version>\n  <dependencies>",
                "  <version>1.0.1</version>\n  <dependencies>"
            )
        );
        let inherited = "<project><parent><version>1.0.0</version></parent><artifactId>a</artifactId></project>";
        assert!(spots(&file(Kind::Pom), inherited).unwrap().is_empty());
    }

    #[test]
    fn chart_plain_pattern_pyproject() {
        let chart = "apiVersion: v2\nname: app\nversion: 0.3.1  # chart\nappVersion: \"0.3.1\"\n";
        assert_eq!(
            bump(Kind::Chart, chart, "0.3.2"),
            chart.replacen("0.3.1", "0.3.2", 1)
        );
        assert_eq!(bump(Kind::Plain, "v1.2.3\n", "1.2.4"), "v1.2.4\n");
        let mut f = file(Kind::Pattern);
        f.pattern = Some("DEF_VER=v{version}".into());
        let script = "#!/bin/sh\nDEF_VER=v2.47.0\nLF='\n'\n";
        assert_eq!(
            set(&f, script, "2.47.1").unwrap(),
            script.replace("2.47.0", "2.47.1")
        );
        f.pattern = Some("v{version}-final".into());
        assert_eq!(spots(&f, "x v1.2.3-final").unwrap()[0].value, "1.2.3");
        let py =
            "[project]\nname = \"p\"\nversion = \"3.1.0\"\n[tool.poetry]\nversion = \"3.1.0\"\n";
        assert_eq!(
            bump(Kind::Pyproject, py, "3.1.1"),
            py.replace("3.1.0", "3.1.1")
        );
    }

    #[test]
    fn merge_keeps_ours_and_merges_the_rest() {
        let f = file(Kind::CargoToml);
        let base = "[package]\nname = \"a\"\nversion = \"1.0.0\"\n\n[dependencies]\nx = \"1\"\ny = \"1\"\n";
        let ours = base.replace("1.0.0", "1.1.0-dev");
        let theirs = base
            .replace("1.0.0", "1.0.1")
            .replace("x = \"1\"", "x = \"2\"");
        match merge_keeping_ours(
            &f,
            base.as_bytes(),
            ours.as_bytes(),
            theirs.as_bytes(),
            "1.0.1",
        ) {
            Merged::Kept { content, kept } => {
                assert_eq!(kept, "1.1.0-dev");
                assert_eq!(
                    String::from_utf8(content).unwrap(),
                    ours.replace("x = \"1\"", "x = \"2\"")
                );
            }
            other => panic!("{other:?}"),
        }
        // the target changed the same dependency line the fix changed: a real conflict
        let ours2 = ours.replace("x = \"1\"", "x = \"3\"");
        assert_eq!(
            merge_keeping_ours(
                &f,
                base.as_bytes(),
                ours2.as_bytes(),
                theirs.as_bytes(),
                "1.0.1"
            ),
            Merged::Conflict
        );
    }
}
