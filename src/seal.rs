//! The seal: a copy, kept in git, of every part of a state entry that a gate trusts, so that a
//! state file edited by hand is caught on read (docs/security.md).
//!
//! `start` seals the entry as it made it (base, author, severity, summary and the policy
//! snapshot) when it opens it; `test` adds every test record it writes; an override adds itself.
//! Each write goes into a blob under `refs/hotfix-seals/<branch>` inside the same locked state
//! update, before the state file is replaced, so the seal is never behind the state. (An entry
//! still `starting` has no seal yet: it holds nothing a gate trusts.)
//!
//! On read, the entry must match: the start fields and the policy equal to the sealed ones, the
//! test record one that hotfix wrote, every override one that hotfix recorded. Records only ever
//! get added to the seal, so a reader racing a writer (or a writer killed between the seal and
//! the state) sees a state the seal covers. The refs live outside `refs/hotfix/`, which teams
//! push and fetch: a seal is this clone's own evidence and never comes from a remote.
//!
//! This is tamper-evidence against editing one file, not a defence against someone who forges
//! git objects in their own clone; the remote's release tags and approvals are that.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Refusal;
use crate::git::{Oid, Repo, short};
use crate::state::{Hotfix, Override, Phase, TestRecord};

/// Where seals live: one ref per hotfix branch, never pushed or fetched.
pub const SEAL_REFS: &str = "refs/hotfix-seals/";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seal {
    /// The entry as `start` wrote it.
    start: Hotfix,
    /// Every test record hotfix wrote for this hotfix, oldest first.
    #[serde(default)]
    tests: Vec<TestRecord>,
    /// Every override hotfix recorded for this hotfix.
    #[serde(default)]
    overrides: Vec<Override>,
    /// Every move of the fix onto a newer release (`hotfix rebase`), oldest first: the base
    /// the state may say is the last one's, not the one sealed at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rebases: Vec<Rebased>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Rebased {
    base_tag: Option<String>,
    base_commit: String,
    /// The version and the version bump the move gave the hotfix (a new release of the line
    /// means a new version: `hotfix rebase` bumps again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bump: Option<crate::state::Bump>,
    at: jiff::Timestamp,
}

/// The ref of a branch's seal. One flat name per branch (`/` escaped), so the seal of a finished
/// `hotfix/a` never blocks one for `hotfix/a/b`.
/// Removes the seal of a hotfix that ended (abandoned or merged back).
pub fn unseal(repo: &Repo, branch: &str) -> Result<()> {
    repo.delete_ref(&seal_ref(branch))
}

pub fn seal_ref(branch: &str) -> String {
    format!(
        "{SEAL_REFS}{}",
        branch.replace('%', "%25").replace('/', "%2F")
    )
}

/// A state entry that differs from its seal.
#[derive(Debug, Clone)]
pub struct Tamper {
    pub branch: String,
    pub name: String,
    /// What was edited, one phrase each ("policy review.allow_self_approval (false at start,
    /// true in the state)").
    pub edits: Vec<String>,
    /// The entry with the sealed values put back, when the seal could be read.
    pub restored: Option<Hotfix>,
    /// The seal itself is missing or damaged: a repository state to repair, not a gate's no.
    pub seal_unusable: bool,
}

impl Tamper {
    /// "the hotfix state of hotfix/x was edited by hand: …"
    pub fn sentence(&self) -> String {
        format!(
            "the hotfix state of {} was edited by hand: {}",
            self.branch,
            self.edits.join("; ")
        )
    }

    /// How to go on.
    pub fn hint(&self) -> String {
        format!(
            "hotfix trusts only what it recorded itself (`git cat-file -p {}` shows it): put the state file back as it was, or give the hotfix up with `hotfix abort {}` and start again",
            crate::ui::shell_word(&seal_ref(&self.branch)),
            crate::ui::shell_word(&self.name)
        )
    }

    /// The refusal of a command that would act on the edited state.
    pub fn refusal(&self, doing: &str) -> Refusal {
        let sentence = format!("{doing} refused: {}; nothing was run", self.sentence());
        let refusal = if self.seal_unusable {
            Refusal::usage(sentence)
        } else {
            Refusal::gate(sentence)
        };
        refusal.hint(self.hint())
    }
}

fn read(repo: &Repo, branch: &str) -> Result<Option<std::result::Result<Seal, String>>> {
    let found = repo.read_record_ref(&seal_ref(branch))?;
    Ok(found.map(|bytes| serde_json::from_slice::<Seal>(&bytes).map_err(|e| e.to_string())))
}

/// Writes the seal of `branch`.
///
/// Every seal write happens inside a state update, under the state lock, and nothing but
/// hotfix writes seals: a ref lock file for the seal found then was left by a hotfix that was
/// killed while it wrote it. It is given half a second to go (should some git command such as
/// `pack-refs` hold it a moment), then removed, and the write tried once more.
fn write(repo: &Repo, branch: &str, seal: &Seal, log: &str) -> Result<()> {
    let json = serde_json::to_vec_pretty(seal).context("could not serialise the hotfix seal")?;
    let name = seal_ref(branch);
    let lock = repo.common_dir().join(format!("{name}.lock"));
    match repo.write_record_ref(&name, &json, log) {
        Ok(_) => Ok(()),
        Err(e) if lock.exists() => {
            let until = std::time::Instant::now() + std::time::Duration::from_millis(500);
            while lock.exists() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            if lock.exists() {
                std::fs::remove_file(&lock).map_err(|r| {
                    e.context(format!(
                        "{} was left by a killed hotfix and could not be removed ({r})",
                        lock.display()
                    ))
                })?;
            }
            repo.write_record_ref(&name, &json, log)?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Seals a new entry, replacing any seal a former hotfix of the same branch left. Called by
/// `start` inside the state update that inserts `h`.
pub fn seal_start(repo: &Repo, h: &Hotfix) -> Result<()> {
    let mut start = h.clone();
    start.guard = None;
    start.tests = None;
    start.overrides.clear();
    start.deploy = None;
    start.merge_back = None;
    start.rebase = None;
    let seal = Seal {
        start,
        tests: Vec::new(),
        overrides: Vec::new(),
        rebases: Vec::new(),
    };
    write(repo, &h.branch, &seal, "hotfix start")
}

fn existing(repo: &Repo, branch: &str) -> Result<Seal> {
    match read(repo, branch)? {
        Some(Ok(seal)) => Ok(seal),
        Some(Err(e)) => Err(Refusal::usage(format!(
            "the seal of {branch} ({}) is damaged: {e}",
            seal_ref(branch)
        ))
        .hint("give the hotfix up with `hotfix abort` and start again")
        .into()),
        None => Err(Refusal::usage(format!(
            "the seal of {branch} ({}) is missing, so hotfix cannot vouch for its state",
            seal_ref(branch)
        ))
        .hint("if `hotfix start` was interrupted, run it again; otherwise give the hotfix up with `hotfix abort` and start again")
        .into()),
    }
}

/// Adds a test record to the seal. Called inside the state update that stores it.
pub fn seal_test(repo: &Repo, branch: &str, record: &TestRecord) -> Result<()> {
    let mut seal = existing(repo, branch)?;
    seal.tests.push(record.clone());
    write(repo, branch, &seal, "hotfix test")
}

/// Adds overrides to the seal. Called inside the state update that stores them.
pub fn seal_overrides(repo: &Repo, branch: &str, overrides: &[Override]) -> Result<()> {
    let mut seal = existing(repo, branch)?;
    seal.overrides.extend_from_slice(overrides);
    write(repo, branch, &seal, "hotfix override")
}

/// Records that the fix moved onto a new base (`hotfix rebase`). Called inside the state update
/// that stores the new base.
pub fn seal_rebase(
    repo: &Repo,
    branch: &str,
    base_tag: Option<&str>,
    base_commit: &str,
    version: Option<&str>,
    bump: Option<&crate::state::Bump>,
) -> Result<()> {
    let mut seal = existing(repo, branch)?;
    seal.rebases.push(Rebased {
        base_tag: base_tag.map(String::from),
        base_commit: base_commit.to_string(),
        version: version.map(String::from),
        bump: bump.cloned(),
        at: jiff::Timestamp::now(),
    });
    write(repo, branch, &seal, "hotfix rebase")
}

/// Compares a state entry with its seal; `None` when the state is what hotfix wrote.
pub fn check(repo: &Repo, h: &Hotfix) -> Result<Option<Tamper>> {
    let tamper = |edits: Vec<String>, restored: Option<Hotfix>| Tamper {
        branch: h.branch.clone(),
        name: h.name.clone(),
        edits,
        restored,
        seal_unusable: false,
    };
    let unusable = |edit: String| Tamper {
        seal_unusable: true,
        ..tamper(vec![edit], None)
    };
    let found = match read(repo, &h.branch)? {
        // a seal left by an earlier hotfix of the same branch is not this start's
        Some(Ok(seal)) if h.phase == Phase::Starting && seal.start.started_at != h.started_at => {
            None
        }
        found => found,
    };
    let seal = match found {
        Some(Ok(seal)) => seal,
        Some(Err(e)) => {
            return Ok(Some(unusable(format!(
                "its seal {} does not parse ({e})",
                seal_ref(&h.branch)
            ))));
        }
        // `start` seals the entry as it opens it: an interrupted one holds nothing a gate
        // trusts, and a test record or an override in it was not written by hotfix
        None if h.phase == Phase::Starting => {
            let mut edits = Vec::new();
            if h.tests.is_some() {
                edits.push("a test record in a hotfix whose start never finished".to_string());
            }
            if !h.overrides.is_empty() {
                edits.push("an override in a hotfix whose start never finished".to_string());
            }
            return Ok((!edits.is_empty()).then(|| tamper(edits, None)));
        }
        None => {
            return Ok(Some(unusable(format!(
                "its seal {} is missing (the entry was written by hand, or the ref deleted)",
                seal_ref(&h.branch)
            ))));
        }
    };
    // after a rebase the base is the last one hotfix recorded, not the one of start
    // (a rebase killed between sealing its new base and writing the state still shows the
    // base before it, with its rebase record naming the sealed one: that is what hotfix wrote)
    let mut sealed_start = seal.start.clone();
    let n = seal.rebases.len();
    let killed_in_move = n > 0
        && h.rebase
            .as_ref()
            .is_some_and(|r| r.onto_commit == seal.rebases[n - 1].base_commit);
    let last = if killed_in_move { n - 1 } else { n };
    if let Some(r) = seal.rebases[..last].last() {
        sealed_start.base_tag = r.base_tag.clone();
        sealed_start.base_commit = r.base_commit.clone();
        sealed_start.version = r.version.clone();
        sealed_start.bump = r.bump.clone();
    }
    let mut edits = start_edits(&sealed_start, h)?;
    if let Some(t) = &h.tests
        && !seal.tests.contains(t)
    {
        let outcome = if t.passed { "passed" } else { "failed" };
        let tree = Oid::from_str(&t.tree).map_or_else(|_| t.tree.clone(), short);
        edits.push(format!(
            "the test record ({outcome}, tree {tree}) is not one that `hotfix test` wrote"
        ));
    }
    for o in h.overrides.iter().filter(|o| !seal.overrides.contains(o)) {
        let why = if seal.start.policy.policy.allow_override {
            "that hotfix never recorded".to_string()
        } else {
            "although this hotfix's policy forbids overrides (policy.allow_override = false)"
                .to_string()
        };
        edits.push(format!("an override of the {} gate {why}", o.gate));
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let mut restored = sealed_start;
    restored.phase = h.phase;
    restored.return_to = h.return_to.clone();
    restored.guard = h.guard.clone();
    restored.tests = seal.tests.last().cloned();
    restored.overrides = seal.overrides.clone();
    restored.deploy = h.deploy.clone();
    restored.merge_back = h.merge_back.clone();
    restored.rebase = h.rebase.clone();
    Ok(Some(tamper(edits, Some(restored))))
}

/// Refuses `doing` when the entry differs from its seal.
pub fn verify(repo: &Repo, h: &Hotfix, doing: &str) -> Result<()> {
    match check(repo, h)? {
        Some(t) => Err(t.refusal(doing).into()),
        None => Ok(()),
    }
}

/// The start fields of `now` that differ from the sealed ones.
fn start_edits(sealed: &Hotfix, now: &Hotfix) -> Result<Vec<String>> {
    let mut edits = Vec::new();
    let mut field = |name: &str, was: String, is: String| {
        if was != is {
            edits.push(format!("{name} ({was} at start, {is} in the state)"));
        }
    };
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
    field("name", sealed.name.clone(), now.name.clone());
    field("branch", sealed.branch.clone(), now.branch.clone());
    field("base_tag", opt(&sealed.base_tag), opt(&now.base_tag));
    field(
        "base_commit",
        sealed.base_commit.clone(),
        now.base_commit.clone(),
    );
    field("severity", sealed.severity.clone(), now.severity.clone());
    field("summary", sealed.summary.clone(), now.summary.clone());
    field(
        "reproduced",
        sealed.reproduced.to_string(),
        now.reproduced.to_string(),
    );
    field(
        "author_name",
        sealed.author_name.clone(),
        now.author_name.clone(),
    );
    field(
        "author_email",
        sealed.author_email.clone(),
        now.author_email.clone(),
    );
    field(
        "started_at",
        sealed.started_at.to_string(),
        now.started_at.to_string(),
    );
    let when = |t: &Option<jiff::Timestamp>| t.map_or_else(|| "none".into(), |t| t.to_string());
    field(
        "detected_at",
        when(&sealed.detected_at),
        when(&now.detected_at),
    );
    field("version", opt(&sealed.version), opt(&now.version));
    if sealed.bump != now.bump {
        let show = |b: &Option<crate::state::Bump>| {
            b.as_ref().map_or("none".to_string(), |b| {
                format!("{} → {} in {}", b.from, b.to, b.paths())
            })
        };
        edits.push(format!(
            "the version bump ({} at start, {} in the state)",
            show(&sealed.bump),
            show(&now.bump)
        ));
    }
    if sealed.allowed_signers != now.allowed_signers {
        edits.push(
            "allowed_signers (the allowed-signers file differs from the one sealed at start)"
                .to_string(),
        );
    }
    if sealed.policy != now.policy {
        edits.push(format!(
            "policy {}",
            policy_edits(&sealed.policy, &now.policy)?
        ));
    }
    Ok(edits)
}

/// "review.allow_self_approval (false at start, true in the state)", for the first few keys.
fn policy_edits(sealed: &Config, now: &Config) -> Result<String> {
    let (was, is) = (flatten(sealed)?, flatten(now)?);
    let mut keys: Vec<&String> = was.keys().chain(is.keys()).collect();
    keys.sort();
    keys.dedup();
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| was.get(*k) != is.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "unset".into());
            format!(
                "{k} ({} at start, {} in the state)",
                show(was.get(k)),
                show(is.get(k))
            )
        })
        .collect();
    Ok(match changed.len() {
        0 => "(changed)".to_string(),
        1..=3 => changed.join(", "),
        n => format!("{} and {} more keys", changed[..3].join(", "), n - 3),
    })
}

/// The policy as `section.key` → value, as TOML writes it.
fn flatten(c: &Config) -> Result<std::collections::BTreeMap<String, String>> {
    let table: toml::Table =
        toml::from_str(&c.to_toml()?).context("could not read back the policy as TOML")?;
    let mut out = std::collections::BTreeMap::new();
    for (section, keys) in table {
        match keys {
            toml::Value::Table(keys) => {
                for (key, value) in keys {
                    out.insert(format!("{section}.{key}"), value.to_string());
                }
            }
            other => {
                out.insert(section, other.to_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_refs_are_flat_and_valid() {
        assert_eq!(
            seal_ref("hotfix/login-500"),
            "refs/hotfix-seals/hotfix%2Flogin-500"
        );
        assert_ne!(seal_ref("hotfix/a%2Fb"), seal_ref("hotfix/a/b"));
        assert!(git2::Reference::is_valid_name(&seal_ref("hotfix/a/b.c")));
    }

    #[test]
    fn policy_edits_name_the_keys() {
        let sealed = Config::default();
        let mut now = sealed.clone();
        now.guard.max_lines = 99999;
        now.review.allow_self_approval = true;
        assert_eq!(
            policy_edits(&sealed, &now).unwrap(),
            "guard.max_lines (150 at start, 99999 in the state), review.allow_self_approval (false at start, true in the state)"
        );
    }
}
