//! `hotfix.toml`: the team's policy. Every key is optional; a missing file means the defaults.
//!
//! Errors name the file, line, column and key, and nothing runs.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Refusal;

pub const FILE_NAME: &str = "hotfix.toml";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub branches: Branches,
    pub release: Release,
    pub severity: Severity,
    pub guard: Guard,
    pub review: Review,
    pub test: Test,
    pub deploy: Deploy,
    pub policy: Policy,
    pub forge: Forge,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Branches {
    /// Empty: detected (develop, else the remote's default branch, else main/master).
    pub development: String,
    /// A branch that tracks production (git-flow's master); empty for none.
    pub production: String,
    #[serde(deserialize_with = "de_prefix")]
    pub prefix: String,
    #[serde(deserialize_with = "de_globs")]
    pub also_merge_into: Vec<String>,
}

impl Default for Branches {
    fn default() -> Self {
        Branches {
            development: String::new(),
            production: String::new(),
            prefix: "hotfix/".into(),
            also_merge_into: vec!["release/*".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Release {
    #[serde(deserialize_with = "de_glob")]
    pub tag_pattern: String,
    #[serde(deserialize_with = "de_tag_format")]
    pub tag_format: String,
    /// The files `start` bumps to the new version. `None` (the key absent): the manifests at
    /// the root whose version is the base release's; `[]`: none.
    #[serde(
        default,
        deserialize_with = "de_version_files",
        skip_serializing_if = "Option::is_none"
    )]
    pub version_files: Option<Vec<VersionFileEntry>>,
}

impl Default for Release {
    fn default() -> Self {
        Release {
            tag_pattern: "v*".into(),
            tag_format: "v{version}".into(),
            version_files: None,
        }
    }
}

/// One entry of `release.version_files`: a manifest hotfix knows by name, or any file with the
/// text around its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VersionFileEntry {
    Path(String),
    Pattern { path: String, pattern: String },
}

impl VersionFileEntry {
    pub fn path(&self) -> &str {
        match self {
            VersionFileEntry::Path(p) | VersionFileEntry::Pattern { path: p, .. } => p,
        }
    }
}

fn de_version_files<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<VersionFileEntry>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Path(String),
        Table(std::collections::BTreeMap<String, String>),
    }
    let raw = Vec::<Raw>::deserialize(d)?;
    let mut out = Vec::new();
    for entry in raw {
        let entry = match entry {
            Raw::Path(p) => VersionFileEntry::Path(p),
            Raw::Table(mut t) => {
                let (Some(path), Some(pattern)) = (t.remove("path"), t.remove("pattern")) else {
                    return Err(serde::de::Error::custom(
                        "an entry is a path, or { path = \"…\", pattern = \"…{version}…\" }",
                    ));
                };
                if let Some(key) = t.keys().next() {
                    return Err(serde::de::Error::custom(format!(
                        "unknown key `{key}` in an entry (it takes path and pattern)"
                    )));
                }
                if pattern.matches("{version}").count() != 1 {
                    return Err(serde::de::Error::custom(format!(
                        "the pattern `{pattern}` must contain {{version}} once (e.g. \"DEF_VER=v{{version}}\")"
                    )));
                }
                if pattern.trim() == "{version}" {
                    return Err(serde::de::Error::custom(format!(
                        "the pattern of {path} needs text around {{version}}, or it would match any word"
                    )));
                }
                VersionFileEntry::Pattern { path, pattern }
            }
        };
        let p = entry.path();
        if p.is_empty()
            || p.starts_with('/')
            || p.contains('\\')
            || p.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(serde::de::Error::custom(format!(
                "`{p}` is not a path inside the repository (relative, with / between folders)"
            )));
        }
        if out.iter().any(|e: &VersionFileEntry| e.path() == p) {
            return Err(serde::de::Error::custom(format!("{p} is listed twice")));
        }
        out.push(entry);
    }
    Ok(Some(out))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Severity {
    #[serde(deserialize_with = "de_criteria")]
    pub criteria: Vec<String>,
}

impl Default for Severity {
    fn default() -> Self {
        Severity {
            criteria: [
                "revenue-loss",
                "data-corruption",
                "security-exploit",
                "core-workflow-blocked",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Guard {
    pub max_files: u32,
    pub max_lines: u32,
    #[serde(deserialize_with = "de_globs")]
    pub exclude: Vec<String>,
    #[serde(deserialize_with = "de_regexes")]
    pub flag_patterns: Vec<String>,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            max_files: 5,
            max_lines: 150,
            exclude: vec!["Cargo.lock".into(), "package-lock.json".into()],
            flag_patterns: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Review {
    #[serde(deserialize_with = "de_approvals")]
    pub approvals: u32,
    pub allow_self_approval: bool,
    pub via: ReviewVia,
    /// A path in the repository of an ssh allowed-signers file; empty: approvals and commits
    /// need no signature.
    #[serde(deserialize_with = "de_repo_path")]
    pub allowed_signers: String,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            approvals: 1,
            allow_self_approval: false,
            via: ReviewVia::Hotfix,
            allowed_signers: String::new(),
        }
    }
}

/// Where the review gate finds its approvals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewVia {
    /// `hotfix approve`, kept in git.
    #[default]
    Hotfix,
    /// The approving reviews of the branch's pull (merge) request.
    Forge,
}

/// Where the test gate finds its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestVia {
    /// `hotfix test` runs test.command in a clean checkout.
    #[default]
    Local,
    /// The CI results the forge reports for the exact commit.
    Forge,
}

/// Which forge the repository lives on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// From the remote's URL: github.com, gitlab.com, else none.
    #[default]
    #[serde(rename = "")]
    Detect,
    Github,
    Gitlab,
    None,
}

/// `[forge]`: the GitHub or GitLab the remote lives on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Forge {
    pub kind: ForgeKind,
    /// Empty: https://api.github.com, https://gitlab.com/api/v4, or the remote's host.
    #[serde(deserialize_with = "de_api_url")]
    pub api_url: String,
    /// "owner/name" or "group/sub/project"; empty: from the remote's URL.
    #[serde(deserialize_with = "de_repository")]
    pub repository: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Test {
    pub command: String,
    #[serde(deserialize_with = "de_duration")]
    pub timeout: String,
    pub via: TestVia,
    /// With via = "forge": the checks that must succeed; empty: every one reported.
    #[serde(deserialize_with = "de_checks")]
    pub checks: Vec<String>,
}

impl Default for Test {
    fn default() -> Self {
        Test {
            command: String::new(),
            timeout: "30m".into(),
            via: TestVia::Local,
            checks: Vec::new(),
        }
    }
}

impl Test {
    pub fn timeout(&self) -> Duration {
        parse_duration(&self.timeout).unwrap_or(Duration::from_secs(30 * 60))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Deploy {
    pub command: String,
    pub verify: String,
    #[serde(deserialize_with = "de_verify_retries")]
    pub verify_retries: u32,
    pub rollback: String,
    pub notify: String,
}

impl Default for Deploy {
    fn default() -> Self {
        Deploy {
            command: String::new(),
            verify: String::new(),
            verify_retries: 3,
            rollback: String::new(),
            notify: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub allow_override: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow_override: true,
        }
    }
}

impl Config {
    /// Reads `hotfix.toml` from `root`; a missing file gives the defaults.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(Refusal::usage(format!("cannot read {}: {e}", path.display())).into());
            }
        };
        let text = String::from_utf8(text).map_err(|e| {
            Refusal::usage(format!(
                "{} is not valid UTF-8 (byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// The `hotfix.toml` committed in `commit` (the defaults when it has none): the team's
    /// policy as committed, never an uncommitted or untracked local edit. Errors name the file
    /// as `<root>/hotfix.toml` (`<commit>`).
    pub fn load_committed(repo: &crate::git::Repo, commit: crate::git::Oid) -> Result<Config> {
        let Some(bytes) = repo.file_at(commit, FILE_NAME)? else {
            return Ok(Config::default());
        };
        let origin = match repo.workdir() {
            Ok(root) => root.join(FILE_NAME).display().to_string(),
            Err(_) => FILE_NAME.to_string(),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            Refusal::usage(format!(
                "{origin} is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Config::parse(&text, &origin)
    }

    /// Parses config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let located = |message: &str, span: Option<std::ops::Range<usize>>, key: Option<String>| {
            let (line, col) = span.map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let message = message.trim().trim_end_matches('.');
            let key = key
                .filter(|k| !k.is_empty() && k != ".")
                .map(|k| format!(" (key `{k}`)"))
                .unwrap_or_default();
            Refusal::usage(format!("{origin}:{line}:{col}: {message}{key}"))
                .hint("fix hotfix.toml (see hotfix.toml.example for every key); nothing was run")
        };
        let de =
            toml::Deserializer::parse(text).map_err(|e| located(e.message(), e.span(), None))?;
        serde_path_to_error::deserialize::<_, Config>(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            located(inner.message(), inner.span(), Some(key)).into()
        })
    }

    /// The severity criterion as the policy spells it, or a refusal listing the valid ones.
    pub fn check_severity(&self, given: &str) -> Result<String> {
        self.severity
            .criteria
            .iter()
            .find(|c| c.eq_ignore_ascii_case(given))
            .cloned()
            .ok_or_else(|| {
                Refusal::usage(format!(
                    "`{given}` is not a severity criterion of this repository's policy ({})",
                    self.severity.criteria.join(", ")
                ))
                .hint("an incident that meets none of them goes through the normal release")
                .into()
            })
    }

    /// The config as TOML, for the state snapshot and `init`.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).context("could not serialise the configuration")
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses "30m", "90s", "1h30m", "2h", "500ms".
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        // checked: "99999999999999999999h" is not a duration, not a panic
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" | "sec" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
    }
    Some(total)
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    match parse_duration(&s) {
        Some(d) if !d.is_zero() => Ok(s),
        _ => Err(serde::de::Error::custom(format!(
            "`{s}` is not a duration; write it like \"90s\", \"30m\" or \"1h30m\""
        ))),
    }
}

fn de_glob<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_glob(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn de_globs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    for s in &v {
        check_glob(s).map_err(serde::de::Error::custom)?;
    }
    Ok(v)
}

fn check_glob(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("an empty pattern matches nothing".into());
    }
    globset::Glob::new(s)
        .map(|_| ())
        .map_err(|e| format!("`{s}` is not a valid glob: {}", e.kind()))
}

fn de_regexes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    for s in &v {
        regex::Regex::new(s).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{s}` is not a valid regular expression: {}",
                e.to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches("error: ")
            ))
        })?;
    }
    Ok(v)
}

fn de_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty()
        || s.starts_with('-')
        || s.contains([' ', '~', '^', ':', '?', '*', '[', '\\'])
        || s.contains("..")
    {
        return Err(serde::de::Error::custom(format!(
            "`{s}` cannot start a branch name (e.g. \"hotfix/\")"
        )));
    }
    Ok(s)
}

fn de_tag_format<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !s.contains("{version}") {
        return Err(serde::de::Error::custom(format!(
            "`{s}` must contain {{version}} (e.g. \"v{{version}}\")"
        )));
    }
    Ok(s)
}

fn de_criteria<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    if v.is_empty() || v.iter().any(|c| c.trim().is_empty()) {
        return Err(serde::de::Error::custom(
            "needs at least one non-empty criterion, or no hotfix could ever start",
        ));
    }
    Ok(v)
}

fn de_approvals<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n == 0 {
        return Err(serde::de::Error::custom(
            "must be at least 1: a hotfix always gets a second pair of eyes",
        ));
    }
    Ok(n)
}

fn de_checks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    if v.iter().any(|c| c.trim().is_empty()) {
        return Err(serde::de::Error::custom(
            "a check's name cannot be empty (the names are those the forge shows)",
        ));
    }
    Ok(v)
}

/// A file's path inside the repository, as git names it: relative, `/`-separated, no `.` or
/// `..` part.
fn de_repo_path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !s.is_empty()
        && s.split('/').any(|p| {
            p.is_empty()
                || p == "."
                || p == ".."
                || p.contains('\\')
                || p.chars().any(char::is_control)
        })
    {
        return Err(serde::de::Error::custom(format!(
            "`{s}` is not a path in the repository; write it from the repository's root, like \".github/allowed_signers\""
        )));
    }
    Ok(s)
}

fn de_api_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !s.is_empty() {
        crate::forge::ApiUrl::parse(&s).map_err(serde::de::Error::custom)?;
    }
    Ok(s)
}

fn de_repository<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let parts: Vec<&str> = s.split('/').collect();
    if !s.is_empty()
        && (parts.len() < 2
            || parts.iter().any(|p| {
                p.is_empty()
                    || *p == "."
                    || *p == ".."
                    || !p
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            }))
    {
        return Err(serde::de::Error::custom(format!(
            "`{s}` is not a repository path; write it like \"owner/name\" or \"group/sub/project\""
        )));
    }
    Ok(s)
}

/// The most verify retries a policy may ask for: with the back-off capped at 30s, that is
/// already most of an hour of checking.
pub const MAX_VERIFY_RETRIES: u32 = 100;

fn de_verify_retries<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n > MAX_VERIFY_RETRIES {
        return Err(serde::de::Error::custom(format!(
            "must be at most {MAX_VERIFY_RETRIES}, or a failing production check would be retried for days"
        )));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip() {
        let c = Config::default();
        assert_eq!(Config::parse(&c.to_toml().unwrap(), "x").unwrap(), c);
        assert_eq!(Config::parse("", "x").unwrap(), c);
    }

    #[test]
    fn unknown_key_is_located() {
        let err = Config::parse("[guard]\nmax_file = 3\n", "hotfix.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("hotfix.toml:2:1: unknown field `max_file`"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_type_names_key() {
        let err = Config::parse("[guard]\nmax_files = \"five\"\n", "hotfix.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("hotfix.toml:2:13: "), "{msg}");
        assert!(msg.contains("(key `guard.max_files`)"), "{msg}");
    }

    #[test]
    fn bad_duration_is_located() {
        let err = Config::parse("[test]\ntimeout = \"soon\"\n", "hotfix.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("hotfix.toml:2:11: "), "{msg}");
        assert!(msg.contains("test.timeout"), "{msg}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5 days"), None);
    }

    #[test]
    fn durations_that_overflow_are_not_durations() {
        // found by reading for the fuzz run: `n * 3600` and the sum overflowed and panicked
        assert_eq!(parse_duration("18446744073709551615h"), None);
        assert_eq!(parse_duration("18446744073709551615m"), None);
        assert_eq!(parse_duration("18446744073709551615s1s"), None);
        assert_eq!(
            parse_duration("18446744073709551615s"),
            Some(Duration::from_secs(u64::MAX))
        );
        let err =
            Config::parse("[test]\ntimeout = \"99999999999999999h\"\n", "hotfix.toml").unwrap_err();
        assert!(err.to_string().contains("is not a duration"), "{err}");
    }
}

/// The commented `hotfix.toml` that `init` writes; `hotfix.toml.example` is this text with the
/// defaults (a test keeps the two the same).
pub fn template(development: &str, tag_pattern: &str) -> String {
    template_with_production(development, "", tag_pattern, &[])
}

/// [`template`] with a production branch (git-flow's `master`) and the version files `init`
/// detected (none: the key stays commented out, so detection applies at each start).
pub fn template_with_production(
    development: &str,
    production: &str,
    tag_pattern: &str,
    version_files: &[String],
) -> String {
    let version_files = if version_files.is_empty() {
        "# version_files = [\"Cargo.toml\", \"Cargo.lock\"]".to_string()
    } else {
        let list: Vec<String> = version_files.iter().map(|p| toml_string(p)).collect();
        format!("version_files = [{}]", list.join(", "))
    };
    TEMPLATE
        .replace("{version_files}", &version_files)
        .replace("{development}", &toml_string(development))
        .replace("{production}", &toml_string(production))
        .replace("{tag_pattern}", &toml_string(tag_pattern))
        .replace("{tag_format}", &toml_string(&tag_format_for(tag_pattern)))
}

/// The tag format that makes tags `pattern` matches: its literal prefix, then the version
/// (`v*` → `v{version}`, `[0-9]*` → `{version}`, `release-*` → `release-{version}`).
pub fn tag_format_for(pattern: &str) -> String {
    let prefix = &pattern[..pattern.find(['*', '?', '[']).unwrap_or(pattern.len())];
    format!("{prefix}{{version}}")
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

const TEMPLATE: &str = r#"# hotfix.toml: the team's hotfix policy, read by `hotfix` (https://crates.io/crates/hotfix).
# Every key is optional; the value shown is the default. The policy in force for a hotfix is the
# one at `hotfix start`: editing this file on a hotfix branch does not loosen that hotfix's gates.

[branches]
# Where fixes are merged back. Empty: `develop` if it exists, else the remote's default branch,
# else main, else master.
development = {development}
# A branch that tracks production (git-flow's master); deploy fast-forwards it. Empty: none.
production = {production}
# Hotfix branches are <prefix><name>.
prefix = "hotfix/"
# Open release lines that also get the fix at merge-back (globs over local and remote branches).
also_merge_into = ["release/*"]

[release]
# Production tags; the newest by semantic version is the base, pre-releases (v1.2.0-rc1) excluded.
tag_pattern = {tag_pattern}
# The new tag: the base version with the patch number raised.
tag_format = {tag_format}
# The files `start` bumps to the new version, as the first commit of the hotfix branch. Absent:
# the manifests at the root whose version is the base release's (Cargo.toml with the workspace's
# own entries in Cargo.lock, package.json with package-lock.json, pyproject.toml, pom.xml,
# Chart.yaml, VERSION). [] bumps nothing. Any other file takes a pattern:
# { path = "GIT-VERSION-GEN", pattern = "DEF_VER=v{version}" }.
{version_files}

[severity]
# The thresholds that justify a hotfix; anything else goes through the normal release.
criteria = ["revenue-loss", "data-corruption", "security-exploit", "core-workflow-blocked"]

[guard]
# Limits on the diff between the base tag and the hotfix (files and added + removed lines).
max_files = 5
max_lines = 150
# Files left out of the diff (globs).
exclude = ["Cargo.lock", "package-lock.json"]
# Extra regular expressions: added lines matching one are flagged for the reviewer.
flag_patterns = []

[review]
# Distinct reviewers who must approve the exact tree that ships.
approvals = 1
# Let an author of a commit on the hotfix branch approve it.
allow_self_approval = false
# Where approvals come from: "hotfix" (`hotfix approve`, kept in git) or "forge" (the approving
# reviews of the hotfix branch's pull or merge request; see [forge] and docs/forge.md).
via = "hotfix"
# A path in the repository of an ssh allowed-signers file (ssh-keygen(1), as git's
# gpg.ssh.allowedSignersFile). Set: an approval counts only when signed by a key listed there for
# the reviewer's email, and every commit of the fix must be signed by a listed key (docs/security.md).
allowed_signers = ""

[test]
# Runs through `sh -c` in a clean checkout of the hotfix tree, e.g. "cargo test". Empty: the test
# gate fails with a message saying to configure it.
command = ""
# Killed (with its whole process group) after this long: "90s", "30m", "1h30m". With via = "forge",
# how long `hotfix test` waits for CI.
timeout = "30m"
# Where the result comes from: "local" (test.command, run by `hotfix test`) or "forge" (the checks
# and statuses the forge reports for the exact commit being shipped).
via = "local"
# With via = "forge": the names of the checks that must succeed. Empty: every check and status
# reported for the commit, and at least one.
checks = []

[deploy]
# Commands run through `sh -c` in a fresh export of the commit being shipped (not the working
# tree) with HOTFIX_BRANCH, HOTFIX_BASE_TAG, HOTFIX_TAG, HOTFIX_VERSION, HOTFIX_COMMIT,
# HOTFIX_TREE, HOTFIX_SEVERITY, HOTFIX_SUMMARY and HOTFIX_REPO_ROOT (the clone's root, for its
# remotes and tags) in the environment; values are never spliced into the command text.
command = ""
# Checks production after deploy; retried with a back-off.
verify = ""
verify_retries = 3
# Runs when deploy or verify fails.
rollback = ""
# Receives the release record as JSON on stdin; a failure warns and does not undo the deploy.
notify = ""

[policy]
# Allow `--override <gate> --reason <text>` on a gate command; overrides are recorded in the release.
allow_override = true

[forge]
# "github", "gitlab" or "none". Empty: from the remote's URL (github.com, gitlab.com), else none.
kind = ""
# Empty: https://api.github.com or https://gitlab.com/api/v4. GitHub Enterprise:
# https://HOST/api/v3; self-managed GitLab: https://HOST/api/v4. Must be https (loopback excepted).
api_url = ""
# "owner/name" (GitHub) or "group/sub/project" (GitLab). Empty: from the remote's URL.
repository = ""
"#;

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn template_parses_to_the_defaults() {
        let parsed = Config::parse(&template("", "v*"), "template").unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn example_file_is_the_default_template() {
        let example = include_str!("../hotfix.toml.example");
        assert_eq!(
            example,
            template("", "v*"),
            "regenerate hotfix.toml.example from config::template"
        );
    }

    #[test]
    fn init_tag_format_matches_its_pattern() {
        for (pattern, format) in [
            ("v*", "v{version}"),
            ("[0-9]*", "{version}"),
            ("release-*", "release-{version}"),
        ] {
            let c = Config::parse(&template("develop", pattern), "t").unwrap();
            assert_eq!(c.release.tag_format, format);
            let tag = crate::version::format_tag(format, &semver::Version::new(1, 2, 4));
            assert!(
                crate::version::version_of(&tag, pattern).is_some(),
                "{tag} under {pattern}"
            );
        }
    }

    #[test]
    fn template_names_every_key() {
        let defaults: toml::Table = toml::from_str(&Config::default().to_toml().unwrap()).unwrap();
        let text = template("", "v*");
        for (section, keys) in &defaults {
            assert!(
                text.contains(&format!("[{section}]")),
                "missing [{section}]"
            );
            for key in keys.as_table().unwrap().keys() {
                assert!(
                    text.contains(&format!("\n{key} = ")),
                    "missing {section}.{key}"
                );
            }
        }
    }
}
