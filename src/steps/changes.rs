//! "Request changes": a reviewer who does not approve says what should change, and the author
//! sees it in `status` (and in the review gate's reason wherever it is shown). Stored in git
//! like an approval, so it travels with fetch and push: one ref per request,
//! `refs/hotfix/changes/<branch>/<tree>/<reviewer-key>-<unix seconds>`, pointing at a blob that
//! holds the [`ChangeRequest`] as JSON. A request never counts for or against the gate: it is
//! the reviewer's word to the author, and a new approval of the new tree answers it.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::git::{Identity, Oid, Repo};

pub const CHANGES_REFS: &str = "refs/hotfix/changes/";

/// The longest comment kept; a longer one is refused rather than cut.
pub const MAX_COMMENT: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub branch: String,
    pub tree: String,
    /// The commit the reviewer saw.
    pub commit: String,
    pub reviewer_name: String,
    pub reviewer_email: String,
    pub comment: String,
    pub requested_at: jiff::Timestamp,
}

/// A comment as the reviewer typed it, made fit to store and show: trimmed, one paragraph
/// (line breaks become spaces), no control characters (an escape sequence in a comment must
/// not reach the author's terminal). `None` when nothing is left or it is too long.
pub fn clean_comment(text: &str) -> Option<String> {
    let one_line: String = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let clean: String = one_line.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty() && clean.chars().count() <= MAX_COMMENT).then_some(clean)
}

/// Stores a change request; returns its ref.
pub fn record(
    repo: &Repo,
    branch: &str,
    tip: Oid,
    tree: Oid,
    who: &Identity,
    comment: &str,
    key: &str,
) -> Result<(String, ChangeRequest)> {
    let request = ChangeRequest {
        branch: branch.to_string(),
        tree: tree.to_string(),
        commit: tip.to_string(),
        reviewer_name: who.name.clone(),
        reviewer_email: who.email.clone(),
        comment: comment.to_string(),
        requested_at: jiff::Timestamp::now(),
    };
    let json = serde_json::to_vec_pretty(&request).context("could not serialise the request")?;
    let stem = format!(
        "{CHANGES_REFS}{branch}/{tree}/{key}-{}",
        request.requested_at.as_second()
    );
    let refname = repo.write_new_record_ref(&stem, &json, "hotfix approve --request-changes")?;
    Ok((refname, request))
}

/// Every well-formed change request of `branch` stored here, oldest first. A record whose text
/// fails [`clean_comment`] unchanged (hand-written, with control characters) is left out.
pub fn read(repo: &Repo, branch: &str) -> Result<Vec<ChangeRequest>> {
    let prefix = format!("{CHANGES_REFS}{branch}/");
    let mut out = Vec::new();
    for (name, bytes) in repo.read_record_refs(&prefix)? {
        let Some((tree, _)) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('/'))
        else {
            continue;
        };
        let Ok(r) = serde_json::from_slice::<ChangeRequest>(&bytes) else {
            continue;
        };
        let shown_as_is = clean_comment(&r.comment).is_some_and(|c| c == r.comment)
            && !r.reviewer_name.chars().any(char::is_control);
        if r.branch == branch && r.tree == tree && shown_as_is {
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.requested_at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::clean_comment;

    #[test]
    fn a_comment_is_one_clean_line() {
        assert_eq!(
            clean_comment("  check the null case\n\n  and add a test \r\n").as_deref(),
            Some("check the null case and add a test")
        );
        assert_eq!(
            clean_comment("red \u{1b}[31malert\u{7}").as_deref(),
            Some("red [31malert")
        );
        assert_eq!(clean_comment(" \n\t "), None);
        assert_eq!(clean_comment(&"x".repeat(super::MAX_COMMENT + 1)), None);
    }
}
