//! The release record: what every hotfix release tag carries (SPEC promise 6). `list`, `stats`
//! and `verify-merged` read history from these records, so everyone who fetches the tags sees
//! the same numbers.
//!
//! The tag message is a human summary followed by a marker line and the record as JSON:
//!
//! ```text
//! hotfix v1.1.1: Checkout returns 500
//!
//! Base v1.1.0, severity revenue-loss, 2 files, 14 lines.
//! Approved by Rita Reviewer <rita@example.com>.
//! Tests passed in 3.2s.
//!
//! hotfix-record-v1:
//! {"schema":1,"version":"1.1.1",...}
//! ```
//!
//! The framing is exact, because the human part holds text people typed (the summary, override
//! reasons, names and emails): every free-text value is written there on one line (line breaks
//! and other control characters become spaces), so no line of it can be the marker line, and
//! the reader takes only the LAST line that is exactly the marker, then exactly one line of JSON,
//! then nothing but an optional signature block. A record is a release's only when its `tag`,
//! `commit` and `tree` are the tag's own name, target and tree ([`ReleaseRecord::for_tag`]).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const MARKER: &str = "hotfix-record-v1:";
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approver {
    pub name: String,
    pub email: String,
    pub approved_at: jiff::Timestamp,
    /// The reviewer's login on the forge, when the forge was the review gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The review's page on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The commit the forge's review was given for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// What the reviewer was shown before approving: `diff` (the whole diff) or `stat` (the diff
    /// stat only). Absent in records written before approvals said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<String>,
    /// The key that signed the approval, when review.allowed_signers required one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<SignedBy>,
}

/// A key that made a good signature: the principal the allowed-signers file lists it for and
/// its fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedBy {
    pub principal: String,
    /// `SHA256:…`
    pub key: String,
}

/// Who signed one commit of the fix (review.allowed_signers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitSigned {
    pub commit: String,
    /// Every principal the key is listed for.
    pub principals: Vec<String>,
    pub key: String,
}

impl Approver {
    /// "Rita Reviewer <rita@example.com>", or "@rita" for a review on the forge.
    pub fn display(&self) -> String {
        match &self.login {
            Some(login) => format!("@{}", one_line(login)),
            None => {
                let signed = self
                    .signed_by
                    .as_ref()
                    .map(|s| format!(" (signed, {})", one_line(&s.key)))
                    .unwrap_or_default();
                format!(
                    "{} <{}>{signed}",
                    one_line(&self.name),
                    one_line(&self.email)
                )
            }
        }
    }
}

/// One CI check that passed, when the forge was the test gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub passed: bool,
    pub duration_ms: u64,
    pub exit_code: Option<i32>,
    /// The forge's checks that passed for the commit (test.via = "forge"); empty for a local run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSize {
    pub files: u32,
    pub lines: u32,
    /// One line per guard flag: `path:line: kind`.
    #[serde(default)]
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideUsed {
    pub gate: String,
    pub reason: String,
    pub by: Person,
    pub at: jiff::Timestamp,
}

/// Everything about one hotfix release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub schema: u32,
    pub tag: String,
    pub version: String,
    pub name: String,
    pub branch: String,
    pub base_tag: Option<String>,
    pub base_commit: String,
    /// The commit that was tested, reviewed and shipped, and its tree.
    pub commit: String,
    pub tree: String,
    /// The hotfix's own commits (base..commit), oldest first: `verify-merged` looks for each
    /// of them, as itself or as the same patch, in the development branch.
    pub commits: Vec<String>,
    /// The one of `commits` that is the version bump `start` made: only version text, which
    /// merge-back resolves to each target's own version, so `verify-merged` does not look for
    /// it as a patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_bump: Option<String>,
    pub severity: String,
    pub summary: String,
    pub author: Person,
    pub approvers: Vec<Approver>,
    /// Who signed each commit of the fix, when review.allowed_signers required it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_commits: Vec<CommitSigned>,
    pub test: Option<TestResult>,
    pub diff: DiffSize,
    #[serde(default)]
    pub overrides: Vec<OverrideUsed>,
    pub started_at: jiff::Timestamp,
    /// When the incident began (`start --detected`); absent: at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<jiff::Timestamp>,
    pub deployed_at: jiff::Timestamp,
}

impl ReleaseRecord {
    /// From `start` to a verified deploy.
    pub fn lead_time(&self) -> jiff::SignedDuration {
        self.deployed_at.duration_since(self.started_at)
    }

    /// From when the incident began (`start --detected`, else the start) to a verified deploy.
    pub fn time_to_restore(&self) -> jiff::SignedDuration {
        self.deployed_at
            .duration_since(self.detected_at.unwrap_or(self.started_at))
    }

    /// "ann@example.com (SHA256:…)" once per key that signed a commit of the fix, first
    /// commit first.
    pub fn commit_signers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.signed_commits {
            let who = format!(
                "{} ({})",
                one_line(&c.principals.join(", ")),
                one_line(&c.key)
            );
            if !out.contains(&who) {
                out.push(who);
            }
        }
        out
    }

    /// The annotated tag's message: a summary a person reads, then the record a program reads.
    pub fn tag_message(&self) -> Result<String> {
        let mut m = format!("hotfix {}: {}\n\n", self.tag, one_line(&self.summary));
        let base = self
            .base_tag
            .clone()
            .unwrap_or_else(|| short(&self.base_commit));
        m.push_str(&format!(
            "Base {}, severity {}, {} file{}, {} line{}.\n",
            one_line(&base),
            one_line(&self.severity),
            self.diff.files,
            plural(self.diff.files as usize),
            self.diff.lines,
            plural(self.diff.lines as usize),
        ));
        if !self.approvers.is_empty() {
            let names: Vec<String> = self.approvers.iter().map(Approver::display).collect();
            m.push_str(&format!("Approved by {}.\n", names.join(", ")));
        }
        if !self.signed_commits.is_empty() {
            m.push_str(&format!(
                "Commits signed by {}.\n",
                self.commit_signers().join(", ")
            ));
        }
        match &self.test {
            Some(t) if t.passed && !t.checks.is_empty() => {
                let names: Vec<String> = t.checks.iter().map(|c| one_line(&c.name)).collect();
                m.push_str(&format!("CI passed: {}.\n", names.join(", ")));
            }
            // "in 0.0s" says nothing about a fast suite
            Some(t) if t.passed && t.duration_ms < 1000 => {
                m.push_str(&format!("Tests passed in {}ms.\n", t.duration_ms))
            }
            Some(t) if t.passed => m.push_str(&format!(
                "Tests passed in {:.1}s.\n",
                t.duration_ms as f64 / 1000.0
            )),
            Some(_) => m.push_str("Tests did not pass.\n"),
            None => {}
        }
        for o in &self.overrides {
            m.push_str(&format!(
                "Override of the {} gate by {}: {}\n",
                one_line(&o.gate),
                one_line(&o.by.email),
                one_line(&o.reason)
            ));
        }
        m.push('\n');
        m.push_str(MARKER);
        m.push('\n');
        m.push_str(&serde_json::to_string(self).context("could not serialise the release record")?);
        m.push('\n');
        Ok(m)
    }

    /// The record in a tag message, if it has one in the exact framing [`Self::tag_message`]
    /// writes (a tag not made by hotfix has none): the last line that is exactly the marker,
    /// one line of JSON after it, then the end or a signature block (`git tag -s`). Text before
    /// the last marker line, however it looks, is never read as a record.
    pub fn from_tag_message(message: &str) -> Option<ReleaseRecord> {
        let line = format!("\n{MARKER}\n");
        let at = message.rfind(&line)?;
        let rest = &message[at + line.len()..];
        let (json, after) = rest.split_once('\n').unwrap_or((rest, ""));
        if !(after.is_empty() || after.starts_with("-----BEGIN ")) {
            return None;
        }
        let record: ReleaseRecord = serde_json::from_str(json).ok()?;
        (record.schema == SCHEMA).then_some(record)
    }

    /// The record of the annotated tag `name`, which points at `commit` with tree `tree`: the
    /// record in its message, only when it names that very tag, commit and tree. A record copied
    /// into another tag, or a tag moved to another commit, is no release.
    pub fn for_tag(name: &str, commit: &str, tree: &str, message: &str) -> Option<ReleaseRecord> {
        Self::from_tag_message(message)
            .filter(|r| r.tag == name && r.commit == commit && r.tree == tree)
    }
}

/// Free text as one line for the human part of the tag message: line breaks and every other
/// control character become spaces, so that nothing a person typed can make a line of its own;
/// so do the bidirectional controls, which could make a line read other than it is.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
            {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn short(oid: &str) -> String {
    oid.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> ReleaseRecord {
        let t: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        ReleaseRecord {
            schema: SCHEMA,
            tag: "v1.1.1".into(),
            version: "1.1.1".into(),
            name: "login-500".into(),
            branch: "hotfix/login-500".into(),
            base_tag: Some("v1.1.0".into()),
            base_commit: "a".repeat(40),
            commit: "b".repeat(40),
            tree: "c".repeat(40),
            commits: vec!["b".repeat(40)],
            version_bump: None,
            severity: "revenue-loss".into(),
            summary: "Login gives 500".into(),
            author: Person {
                name: "Ann".into(),
                email: "ann@example.com".into(),
            },
            approvers: vec![Approver {
                name: "Rita".into(),
                email: "rita@example.com".into(),
                approved_at: t,
                login: None,
                url: None,
                commit: None,
                shown: Some("diff".into()),
                signed_by: None,
            }],
            signed_commits: vec![],
            test: Some(TestResult {
                passed: true,
                duration_ms: 3200,
                exit_code: Some(0),
                checks: vec![],
            }),
            diff: DiffSize {
                files: 2,
                lines: 14,
                flags: vec![],
            },
            overrides: vec![],
            started_at: t,
            detected_at: None,
            deployed_at: t + jiff::SignedDuration::from_mins(42),
        }
    }

    #[test]
    fn record_round_trips_through_the_tag_message() {
        let r = sample();
        let msg = r.tag_message().unwrap();
        assert!(msg.starts_with("hotfix v1.1.1: Login gives 500\n"));
        assert!(msg.contains("Approved by Rita <rita@example.com>."));
        assert!(msg.contains("Tests passed in 3.2s."));
        let signed =
            format!("{msg}-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n");
        assert_eq!(ReleaseRecord::from_tag_message(&signed), Some(r.clone()));
        assert_eq!(r.lead_time().as_mins(), 42);
    }

    #[test]
    fn free_text_cannot_frame_a_record() {
        let mut forged = sample();
        forged.commit = "d".repeat(40);
        forged.overrides.clear();
        let json = serde_json::to_string(&forged).unwrap();
        let mut r = sample();
        r.summary = format!("Totals wrong {MARKER}{json}\n\n{MARKER}\n{json}\n");
        r.approvers[0].name = format!("Rita\n{MARKER}\n{json}");
        r.overrides.push(OverrideUsed {
            gate: "guard".into(),
            reason: format!("x\r\n{MARKER}\n{json}\u{2028}"),
            by: r.author.clone(),
            at: r.started_at,
        });
        let msg = r.tag_message().unwrap();
        assert_eq!(msg.matches(&format!("\n{MARKER}\n")).count(), 1, "{msg}");
        assert_eq!(ReleaseRecord::from_tag_message(&msg), Some(r.clone()));
        // a message written before the framing was exact: the real record is the last one
        let old = format!("hotfix v1.1.1: x\n{MARKER}\n{json}\n\n{MARKER}\n{}\n", {
            serde_json::to_string(&r).unwrap()
        });
        assert_eq!(ReleaseRecord::from_tag_message(&old), Some(r.clone()));
        // anything but a signature after the record line is not the framing
        let trailing = format!("{msg}{MARKER}{json}\n");
        assert_eq!(ReleaseRecord::from_tag_message(&trailing), None);
        let c = "b".repeat(40);
        let t = "c".repeat(40);
        assert!(ReleaseRecord::for_tag("v1.1.1", &c, &t, &msg).is_some());
        assert!(ReleaseRecord::for_tag("v1.1.2", &c, &t, &msg).is_none());
        assert!(ReleaseRecord::for_tag("v1.1.1", &"d".repeat(40), &t, &msg).is_none());
    }

    #[test]
    fn other_tags_have_no_record() {
        assert_eq!(ReleaseRecord::from_tag_message("Release 1.2.0\n"), None);
        assert_eq!(
            ReleaseRecord::from_tag_message("hotfix-record-v1:\n{not json"),
            None
        );
    }
}
