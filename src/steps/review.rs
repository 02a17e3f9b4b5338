//! The review gate: a teammate approves the exact tree that ships (SPEC promises 1 and 2).
//!
//! An approval is stored in git, so it travels with fetch and push: one ref per tree and
//! reviewer, `refs/hotfix/approvals/<branch>/<tree>/<reviewer-key>`, pointing at a blob that
//! holds the [`Approval`] as JSON. A ref is written once and never changed, so fetching the
//! namespace without `+` (which git allows for non-commit refs anyway) and pushing without force
//! can never lose or rewrite an approval.
//!
//! The author's side re-applies the self-approval rule when counting: an approval by someone who
//! authored or committed on the branch does not count, even if it was written by hand.
//!
//! An approval is bound to the base its reviewer was shown the diff from as well as to the tree,
//! and says what was shown (the whole diff, or its stat only): it counts only when its base is
//! the one sealed at `start`. The reviewer's clone has no state, so there the base is the
//! newest stable release tag in the branch's history **as the remote has its tags now** (a tag
//! only in a clone, or with build metadata such as `v1.1.0+ci`, is never a base); when the
//! author's sealed base is something else, the approval does not count and the author is told.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::app::Ctx;
use crate::cli::ApproveArgs;
use crate::config::Config;
use crate::error::Refusal;
use crate::git::{CommitInfo, Identity, Oid, Repo, short};
use crate::signing::{self, AllowedSigners, CommitSignature, Signer, SigningKey};
use crate::state::{Hotfix, State};
use crate::steps::guard::{self, GuardReport};
use crate::steps::{GateView, changes};
use crate::ui::{shell_word, visible, visible_lines};
use crate::version;

/// Where approvals live.
pub const APPROVAL_REFS: &str = "refs/hotfix/approvals/";

/// The framing of the approvals this version writes. Version 1 (no `schema` key) recorded
/// neither the base nor what was shown, so it counts for no hotfix; a later version (a signed
/// approval, say) bumps it, and a reader counts only the versions it knows.
pub const APPROVAL_SCHEMA: u32 = 2;

fn schema_1() -> u32 {
    1
}

/// What a reviewer was shown before approving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shown {
    /// The whole diff (stat and patch) through `git diff` on a terminal, paged as git pages.
    Diff,
    /// The diff stat only: not on a terminal, with `-q` or `--json`, or when `git diff` failed.
    Stat,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Diff => "diff",
            Shown::Stat => "stat",
        }
    }
}

/// One reviewer's approval of one tree of a hotfix branch, from one base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    #[serde(default = "schema_1")]
    pub schema: u32,
    pub branch: String,
    pub tree: String,
    /// The commit the reviewer saw (any commit with the same tree ships the same code).
    pub commit: String,
    /// The commit the reviewer was shown the diff from, and its tag.
    #[serde(default)]
    pub base: String,
    #[serde(default)]
    pub base_tag: Option<String>,
    /// What the reviewer was shown; `None` only in a version 1 approval.
    #[serde(default)]
    pub shown: Option<Shown>,
    pub reviewer_name: String,
    pub reviewer_email: String,
    pub approved_at: jiff::Timestamp,
    /// The reviewer's ssh signature of [`Approval::signed_payload`] (review.allowed_signers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ApprovalSignature>,
}

/// An approval's ssh signature: the key it claims (checked on every read) and the armored
/// signature `ssh-keygen -Y sign -n hotfix-approval` made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalSignature {
    /// The key's fingerprint, `SHA256:…`.
    pub key: String,
    pub signature: String,
}

/// What a signature covers: every field of the approval that a gate or the record reads, in a
/// fixed order, so that no field can be changed or moved to another tree, base or reviewer.
#[derive(Serialize)]
struct Signed<'a> {
    schema: u32,
    branch: &'a str,
    tree: &'a str,
    commit: &'a str,
    base: &'a str,
    base_tag: &'a Option<String>,
    shown: &'a Option<Shown>,
    reviewer_name: &'a str,
    reviewer_email: &'a str,
    approved_at: &'a jiff::Timestamp,
    key: &'a str,
}

/// The first line of every signed approval payload.
const SIGNED_HEADER: &str = "hotfix-approval-v1";

impl Approval {
    /// The bytes the reviewer's key signs, with `key` the key's fingerprint.
    pub fn signed_payload(&self, key: &str) -> Result<Vec<u8>> {
        let fields = Signed {
            schema: self.schema,
            branch: &self.branch,
            tree: &self.tree,
            commit: &self.commit,
            base: &self.base,
            base_tag: &self.base_tag,
            shown: &self.shown,
            reviewer_name: &self.reviewer_name,
            reviewer_email: &self.reviewer_email,
            approved_at: &self.approved_at,
            key,
        };
        let json = serde_json::to_string(&fields).context("could not serialise the approval")?;
        Ok(format!("{SIGNED_HEADER}\n{json}\n").into_bytes())
    }

    /// "Rita Reviewer <rita@example.com>"
    pub fn reviewer(&self) -> String {
        format!("{} <{}>", self.reviewer_name, self.reviewer_email)
    }

    fn key(&self) -> String {
        reviewer_key(
            &self.reviewer_email,
            self.signature.as_ref().map(|s| s.key.as_str()),
        )
    }

    /// True when this approval is of `tree` from `base`, in a framing this version knows.
    fn is_for(&self, tree: &str, base: &str) -> bool {
        self.schema == APPROVAL_SCHEMA
            && self.shown.is_some()
            && self.tree == tree
            && self.base == base
    }
}

/// The ref of one approval; a signed one is per key too, so an approval signed with the wrong
/// key (or not signed) never blocks the one signed with the listed key.
pub fn approval_ref(branch: &str, tree: Oid, email: &str, key: Option<&str>) -> String {
    format!(
        "{APPROVAL_REFS}{branch}/{tree}/{}",
        reviewer_key(email, key)
    )
}

fn reviewer_key(email: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{}-ssh-{:016x}", email_key(email), fnv(k.as_bytes())),
        None => email_key(email),
    }
}

// FNV-1a: stable across versions and platforms, which std's hasher is not
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A ref-safe, case-insensitive key for an email: readable, plus a hash so that two emails that
/// sanitise alike still get different keys.
fn email_key(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let mut readable = String::new();
    for c in email.chars() {
        match c {
            'a'..='z' | '0'..='9' => readable.push(c),
            '@' => readable.push_str("-at-"),
            _ => readable.push('-'),
        }
    }
    let hash = fnv(email.as_bytes());
    format!("{}-{hash:016x}", readable.trim_matches('-'))
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Every well-formed approval of `branch` stored here, any tree.
fn read_approvals(repo: &Repo, branch: &str) -> Result<Vec<Approval>> {
    let prefix = format!("{APPROVAL_REFS}{branch}/");
    let mut out = Vec::new();
    for (name, bytes) in repo.read_record_refs(&prefix)? {
        // `<tree>/<key>`; anything deeper belongs to another branch (hotfix/a vs hotfix/a/b)
        let Some((tree, key)) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('/'))
        else {
            continue;
        };
        let Ok(a) = serde_json::from_slice::<Approval>(&bytes) else {
            continue;
        };
        if a.branch == branch && a.tree == tree && key == a.key() {
            out.push(a);
        }
    }
    out.sort_by_key(|a| a.approved_at);
    Ok(out)
}

/// An approval that counts, and the key that signed it when signatures are required.
#[derive(Debug, Clone)]
pub struct Counted {
    pub approval: Approval,
    pub signer: Option<Signer>,
}

/// Who made the fix: the emails git recorded on its commits, or, with review.allowed_signers,
/// the keys that signed them (and the principals the file lists those keys for).
pub struct Authors {
    people: Vec<CommitInfo>,
    signed: Option<SignedFix>,
}

/// The commits of the fix judged under the sealed allowed-signers file.
pub struct SignedFix {
    allowed: AllowedSigners,
    /// Each commit of the fix, oldest first, and how it is signed.
    pub commits: Vec<(CommitInfo, CommitSignature)>,
}

impl SignedFix {
    /// The commits signed by a listed key, and the key.
    pub fn signers(&self) -> impl Iterator<Item = (&CommitInfo, &Signer)> {
        self.commits.iter().filter_map(|(c, s)| match s {
            CommitSignature::Good(signer) => Some((c, signer)),
            _ => None,
        })
    }

    /// The commits that are not: unsigned, signed otherwise, or by a key not listed.
    pub fn bad(&self) -> Vec<(&CommitInfo, &CommitSignature)> {
        self.commits
            .iter()
            .filter(|(_, s)| !matches!(s, CommitSignature::Good(_)))
            .map(|(c, s)| (c, s))
            .collect()
    }
}

impl Authors {
    /// The authors of `base..tip`; under `signers` (an allowed-signers file's content and its
    /// path), the keys that signed each commit but `bump`: the version bump hotfix made, when
    /// it is exactly the bump, needs no signature (its content follows from the sealed policy
    /// and the base).
    pub fn of(
        repo: &Repo,
        base: Oid,
        tip: Oid,
        signers: Option<(&str, &str)>,
        bump: Option<Oid>,
    ) -> Result<Authors> {
        let people = repo.commits_between(base, tip)?;
        let signed = match signers {
            None => None,
            Some((content, path)) => {
                let allowed = AllowedSigners::new(content, path)?;
                let mut commits = Vec::new();
                for c in people.iter().filter(|c| Some(c.id) != bump) {
                    let how = signing::commit_signature(repo, &allowed, c.id)?;
                    commits.push((c.clone(), how));
                }
                Some(SignedFix { allowed, commits })
            }
        };
        Ok(Authors { people, signed })
    }

    pub fn signed(&self) -> Option<&SignedFix> {
        self.signed.as_ref()
    }

    /// Whether the reviewer of `a` (signed by `signer`, when signatures rule) worked on the fix:
    /// by key and principal when they rule, else by email.
    fn made(&self, a: &Approval, signer: Option<&Signer>) -> bool {
        match (&self.signed, signer) {
            (Some(fix), Some(signer)) => fix.signers().any(|(_, s)| {
                s.key == signer.key
                    || s.is_listed_for(&a.reviewer_email)
                    || signer.principals.iter().any(|p| s.is_listed_for(p))
            }),
            (Some(fix), None) => fix
                .signers()
                .any(|(_, s)| s.is_listed_for(&a.reviewer_email)),
            (None, _) => self.people.iter().any(|c| {
                same_email(&c.author.email, &a.reviewer_email)
                    || same_email(&c.committer.email, &a.reviewer_email)
            }),
        }
    }

    /// The key that signed `a` for its reviewer's email under the sealed file; `Err` says why
    /// it did not. Without signatures required, `Ok(None)`.
    fn verify(&self, a: &Approval) -> Result<std::result::Result<Option<Signer>, String>> {
        let Some(fix) = &self.signed else {
            return Ok(Ok(None));
        };
        let Some(sig) = &a.signature else {
            return Ok(Err(format!(
                "the approval by {} does not count: it is not signed, and {} (review.allowed_signers) rules this hotfix",
                a.reviewer_name, fix.allowed.path
            )));
        };
        let payload = a.signed_payload(&sig.key)?;
        match fix.allowed.verify(
            &a.reviewer_email,
            signing::APPROVAL_NAMESPACE,
            &payload,
            &sig.signature,
        )? {
            Some(key) if key == sig.key => Ok(Ok(Some(Signer {
                principals: vec![a.reviewer_email.clone()],
                key,
            }))),
            _ => Ok(Err(format!(
                "the approval by {} does not count: its signature does not verify for {} under {} as sealed at start",
                a.reviewer_name, a.reviewer_email, fix.allowed.path
            ))),
        }
    }
}

/// The approvals of one tree sorted into what counts and what does not.
#[derive(Debug, Default)]
struct Tally {
    /// One per distinct reviewer (and, signed, per distinct key), oldest first.
    counted: Vec<Counted>,
    /// For this tree, by someone who authored or committed on the branch (signed: whose key or
    /// principal signed a commit of it).
    own: Vec<Approval>,
    /// For this tree, with a signature that does not verify (or none): the reviewer's email and
    /// why.
    unverified: Vec<(String, String)>,
    /// The newest approval of an older tree (or of this tree from another base) by a reviewer
    /// who has not approved this one.
    stale: Option<Approval>,
}

fn tally(
    all: &[Approval],
    tree: Oid,
    base: &str,
    authors: &Authors,
    allow_self: bool,
) -> Result<Tally> {
    let tree = tree.to_string();
    let mut t = Tally::default();
    let seen = |t: &Tally, a: &Approval, signer: Option<&Signer>| {
        t.counted.iter().any(|c| {
            same_email(&c.approval.reviewer_email, &a.reviewer_email)
                || c.signer
                    .as_ref()
                    .zip(signer)
                    .is_some_and(|(x, y)| x.key == y.key)
        }) || t
            .own
            .iter()
            .any(|c| same_email(&c.reviewer_email, &a.reviewer_email))
    };
    for a in all.iter().filter(|a| a.is_for(&tree, base)) {
        let signer = match authors.verify(a)? {
            Ok(signer) => signer,
            Err(why) => {
                if !t.unverified.iter().any(|(_, w)| *w == why) {
                    t.unverified.push((a.reviewer_email.clone(), why));
                }
                continue;
            }
        };
        if seen(&t, a, signer.as_ref()) {
            continue;
        }
        if authors.made(a, signer.as_ref()) && !allow_self {
            t.own.push(a.clone());
        } else {
            t.counted.push(Counted {
                approval: a.clone(),
                signer,
            });
        }
    }
    // the reviewers who counted or approved this tree say nothing stale
    t.unverified.retain(|(email, _)| {
        !t.counted
            .iter()
            .any(|c| same_email(&c.approval.reviewer_email, email))
    });
    t.stale = all
        .iter()
        .filter(|a| !a.is_for(&tree, base))
        .filter(|a| {
            !t.counted
                .iter()
                .map(|c| &c.approval)
                .chain(&t.own)
                .any(|c| same_email(&c.reviewer_email, &a.reviewer_email))
        })
        .filter(|a| !authors.made(a, None) || allow_self)
        .max_by_key(|a| a.approved_at)
        .cloned();
    Ok(t)
}

/// Fetches the remote's approvals (with its other records, into the mirror and copied in
/// without replacing any here: `sync`); when that fails (offline), says so and goes on with the
/// ones here. Where the command's time for the network is spent (status fetched already), it
/// goes on quietly.
fn fetch_approvals(ctx: &Ctx, remote: &str) {
    ctx.ui.verbose(format!("fetching approvals from {remote}"));
    if let Err(e) = crate::sync::fetch_records(&ctx.repo, remote) {
        if e.downcast_ref::<crate::git::TimedOut>()
            .is_some_and(|t| t.allowed.is_zero())
        {
            ctx.ui.verbose(
                "not fetching approvals again: this command's time for the network is spent",
            );
            return;
        }
        ctx.ui.warn(format!(
            "{e:#}; going on with the approvals already in this clone"
        ));
    }
}

/// The authors of the hotfix's commits, judged under the allowed-signers file sealed at start
/// when the policy names one.
pub fn authors(ctx: &Ctx, h: &Hotfix, tip: Oid) -> Result<Authors> {
    let base = Oid::from_str(&h.base_commit)
        .with_context(|| format!("the state's base commit of {} is not an id", h.branch))?;
    let path = h.policy.review.allowed_signers.as_str();
    if path.is_empty() {
        return Authors::of(&ctx.repo, base, tip, None, None);
    }
    // a hotfix whose policy names the file was sealed with its content; none is no key at all
    let content = h.allowed_signers.as_deref().unwrap_or_default();
    let bump = crate::steps::branch::verified_bump(&ctx.repo, h)?;
    Authors::of(&ctx.repo, base, tip, Some((content, path)), bump)
}

/// Why the fix's commits are not all signed by listed keys, and the command that signs them;
/// `None` when they are (or signatures are not required).
fn unsigned_commits(h: &Hotfix, authors: &Authors, tip: Oid) -> Option<(String, String)> {
    let fix = authors.signed()?;
    let bad = fix.bad();
    let (first, why) = *bad.first()?;
    let what = match why {
        CommitSignature::Unsigned => "is not signed",
        CommitSignature::NotSsh => "has a signature that is not an ssh one",
        CommitSignature::Unverified | CommitSignature::Good(_) => {
            "is signed by a key that is not listed for anyone"
        }
    };
    let others = match bad.len() {
        1 => String::new(),
        n => format!(
            " (and {} more commit{})",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
    let reason = format!(
        "commit {} ({}) {what}{others}: every commit of the fix must be signed by a key in {} as sealed at start",
        short(first.id),
        first.summary,
        fix.allowed.path
    );
    let amend = "git -c gpg.format=ssh commit --amend --no-edit -S";
    let command = if bad.len() == 1 && first.id == tip {
        amend.to_string()
    } else {
        let base = Oid::from_str(&h.base_commit).map_or_else(|_| h.base_commit.clone(), short);
        format!("git rebase --exec {} {base}", shell_word(amend))
    };
    Some((
        reason,
        format!(
            "sign them with your listed key (git config user.signingKey): `{command}` on {}",
            h.branch
        ),
    ))
}

/// The review gate judged now for `tree` (the tip of the hotfix branch). Approvals are fetched
/// from the remote only while there are too few here, so a passed gate costs no network.
pub fn evaluate(ctx: &Ctx, h: &Hotfix, tip: Oid, tree: Oid) -> Result<GateView> {
    let tree_s = tree.to_string();
    if let Some(o) = h.override_for("review", &tree_s) {
        return Ok(GateView {
            gate: "review",
            passed: true,
            reason: format!("overridden by {} ({})", o.by_name, o.reason),
            next: None,
        });
    }
    if h.policy.review.via == crate::config::ReviewVia::Forge {
        return crate::steps::forge_gates::review(ctx, h, tip, tree);
    }
    let need = h.policy.review.approvals.max(1) as usize;
    let allow_self = h.policy.review.allow_self_approval;
    let authors = authors(ctx, h, tip)?;
    // a fix whose authors are not known by their keys cannot be told apart from its reviewers
    if let Some((reason, next)) = unsigned_commits(h, &authors, tip) {
        return Ok(GateView {
            gate: "review",
            passed: false,
            reason,
            next: Some(next),
        });
    }
    let base = &h.base_commit;
    let mut t = tally(
        &read_approvals(&ctx.repo, &h.branch)?,
        tree,
        base,
        &authors,
        allow_self,
    )?;
    if t.counted.len() < need
        && let Some(remote) = ctx.repo.remote_for(Some(&h.branch))?
    {
        fetch_approvals(ctx, &remote);
        t = tally(
            &read_approvals(&ctx.repo, &h.branch)?,
            tree,
            base,
            &authors,
            allow_self,
        )?;
    }
    let names = |list: &[Counted]| {
        list.iter()
            .map(|c| match &c.signer {
                Some(s) => format!("{} (signed, {})", c.approval.reviewer(), s.key),
                None => c.approval.reviewer(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let next = Some(format!(
        "a teammate runs `hotfix approve {}`",
        shell_word(&h.branch)
    ));
    if t.counted.len() >= need {
        return Ok(GateView {
            gate: "review",
            passed: true,
            reason: format!("approved by {}", names(&t.counted)),
            next: None,
        });
    }
    let mut parts = Vec::new();
    if t.counted.is_empty() {
        if need > 1 {
            parts.push(format!("0 of {need} approvals"));
        } else if t.stale.is_none() && t.unverified.is_empty() && t.own.is_empty() {
            parts.push("not approved yet".to_string());
        }
    } else {
        parts.push(format!(
            "{} of {need} approvals ({})",
            t.counted.len(),
            names(&t.counted)
        ));
    }
    if let Some(a) = &t.stale {
        parts.push(stale_reason(a, &tree_s, h));
    }
    // the reviewer's word to the author, until that reviewer approves the tree in question
    if let Some(r) = changes::read(&ctx.repo, &h.branch)?.into_iter().rfind(|r| {
        !t.counted
            .iter()
            .any(|a| same_email(&a.approval.reviewer_email, &r.reviewer_email))
    }) {
        let commit = Oid::from_str(&r.commit).map(short).unwrap_or_default();
        parts.push(format!(
            "{} asked for changes at commit {commit}: \"{}\"",
            r.reviewer_name, r.comment
        ));
    }
    if !t.own.is_empty() {
        let who: Vec<&str> = t.own.iter().map(|a| a.reviewer_name.as_str()).collect();
        let by = if authors.signed().is_some() {
            "a key or principal that signed the fix"
        } else {
            "an author of the fix"
        };
        parts.push(format!(
            "the approval by {} does not count: {by} cannot approve it",
            who.join(", ")
        ));
    }
    parts.extend(t.unverified.iter().map(|(_, why)| why.clone()));
    let reason = parts.join("; ");
    Ok(GateView {
        gate: "review",
        passed: false,
        reason,
        next,
    })
}

/// Why an approval by a reviewer does not count for `tree` of `h`: another tree, another base,
/// or a framing that does not say what was shown.
fn stale_reason(a: &Approval, tree: &str, h: &Hotfix) -> String {
    let who = &a.reviewer_name;
    if a.tree != tree {
        let commit = Oid::from_str(&a.commit).map(short).unwrap_or_default();
        return format!(
            "approval by {who} is for an older tree (at commit {commit}); ask for a new review"
        );
    }
    if a.schema != APPROVAL_SCHEMA || a.shown.is_none() {
        return format!(
            "approval by {who} was made by an older hotfix that did not record its base or what was shown; ask for a new review"
        );
    }
    let label = |tag: &Option<String>, commit: &str| {
        let id = Oid::from_str(commit).map_or_else(|_| commit.to_string(), short);
        match tag {
            Some(t) => format!("{t} ({id})"),
            None => id,
        }
    };
    format!(
        "approval by {who} was shown the diff from {}, not from this hotfix's base {}; ask for a new review",
        label(&a.base_tag, &a.base),
        label(&h.base_tag, &h.base_commit)
    )
}

/// The approvals that count for `tree` (distinct reviewers, none of them an author of the fix
/// unless the policy allows it), fetching the remote's first when `fetch` is set. For deploy and
/// the release record.
pub fn approvals_for(ctx: &Ctx, h: &Hotfix, tree: Oid, fetch: bool) -> Result<Vec<Counted>> {
    let tip = ctx.repo.branch_tip(&h.branch)?.ok_or_else(|| {
        Refusal::usage(format!(
            "the branch {} no longer exists; was it deleted by hand?",
            h.branch
        ))
        .hint(format!(
            "`hotfix abort {}` forgets this hotfix",
            shell_word(&h.name)
        ))
    })?;
    if fetch && let Some(remote) = ctx.repo.remote_for(Some(&h.branch))? {
        fetch_approvals(ctx, &remote);
    }
    let authors = authors(ctx, h, tip)?;
    if unsigned_commits(h, &authors, tip).is_some() {
        return Ok(Vec::new());
    }
    Ok(tally(
        &read_approvals(&ctx.repo, &h.branch)?,
        tree,
        &h.base_commit,
        &authors,
        h.policy.review.allow_self_approval,
    )?
    .counted)
}

/// What is being approved, found in this clone's state (the author's clone) or from the branch
/// alone (a reviewer's clone).
struct Target {
    branch: String,
    tip: Oid,
    base: Oid,
    /// The release tag the base is, when it is one.
    base_tag: Option<String>,
    /// How the base is described to the reviewer ("v1.1.0", "merge base with main").
    base_label: String,
    policy: Config,
    /// The allowed-signers file's content and path, when the policy names one: the copy sealed
    /// at start in the author's clone, the working tree's in a reviewer's.
    signers: Option<(String, String)>,
    remote: Option<String>,
    /// The version bump `start` made as the first commit of the fix, when it is exactly that
    /// bump: taken out of the guard's numbers, and needing no signature.
    bump: Option<(Oid, crate::state::Bump)>,
}

impl Target {
    /// The version bump at the bottom of the fix: in the author's clone the state's (when the
    /// commit is exactly it), in a reviewer's the default one (the base's version with the
    /// patch raised) when the fix's first commit is exactly that bump.
    fn find_bump(
        repo: &Repo,
        h: Option<&Hotfix>,
        base: Oid,
        base_tag: Option<&str>,
        policy: &Config,
        first: Option<Oid>,
    ) -> Result<Option<(Oid, crate::state::Bump)>> {
        use crate::steps::branch;
        if let Some(h) = h {
            return Ok(branch::verified_bump(repo, h)?.and_then(|c| h.bump.clone().map(|b| (c, b))));
        }
        let Some(first) = first else {
            return Ok(None);
        };
        let base_of = branch::Base {
            tag: base_tag.map(String::from),
            commit: base,
        };
        Ok(match branch::plan_version(repo, policy, &base_of, None) {
            Ok((_, Some(bump))) if branch::is_bump_of(repo, first, base, &bump)? => {
                Some((first, bump))
            }
            _ => None,
        })
    }
}

/// A reviewer's signing key, and the fix's authors known by their keys.
struct Signing {
    key: SigningKey,
    fingerprint: String,
    authors: Authors,
}

impl Signing {
    fn prepare(ctx: &Ctx, target: &Target, content: &str, path: &str) -> Result<Signing> {
        let branch = &target.branch;
        let key = SigningKey::from_git_config(&ctx.repo)?.ok_or_else(|| {
            Refusal::usage(format!(
                "an approval of {branch} counts only when it is signed (review.allowed_signers = {path}), and git has no user.signingKey to sign it with"
            ))
            .hint(format!(
                "point git at your ssh key (`git config user.signingKey ~/.ssh/id_ed25519.pub`), listed for your email in {path}; nothing was recorded"
            ))
        })?;
        let fingerprint = key.fingerprint()?;
        // the version bump `start` made is not signed and needs not be (see Target::find_bump)
        let authors = Authors::of(
            &ctx.repo,
            target.base,
            target.tip,
            Some((content, path)),
            target.bump.as_ref().map(|(c, _)| *c),
        )?;
        Ok(Signing {
            key,
            fingerprint,
            authors,
        })
    }

    /// Refuses a reviewer whose key, or email, signed a commit of the fix; warns of commits
    /// the author still has to sign.
    fn refuse_own(&self, ui: &crate::ui::Ui, target: &Target, me: &Identity) -> Result<()> {
        let branch = &target.branch;
        let Some(fix) = self.authors.signed() else {
            return Ok(());
        };
        let own = fix
            .signers()
            .find(|(_, s)| s.key == self.fingerprint || s.is_listed_for(&me.email));
        if let Some((c, s)) = own {
            if !target.policy.review.allow_self_approval {
                return Err(Refusal::gate(format!(
                    "you cannot approve {branch}: commit {} on it is signed by {}, and your key is {} ({})",
                    short(c.id),
                    s.describe(),
                    self.fingerprint,
                    me.email
                ))
                .hint(format!(
                    "ask a teammate who did not sign the fix to run `hotfix approve {}`",
                    shell_word(branch)
                ))
                .into());
            }
            ui.warn(format!(
                "you signed this fix (commit {}); review.allow_self_approval lets you approve it",
                short(c.id)
            ));
        }
        if let Some((c, _)) = fix.bad().first() {
            ui.warn(format!(
                "commit {} ({}) is not signed by a key in {}; the author's review gate fails until every commit of the fix is (signing them keeps the tree, and this approval)",
                short(c.id),
                c.summary,
                fix.allowed.path
            ));
        }
        Ok(())
    }

    /// Signs `approval` and checks the signature as the author's gate will: a key not listed
    /// for the reviewer's email is refused before anything is recorded.
    fn sign(&self, approval: &Approval) -> Result<ApprovalSignature> {
        let payload = approval.signed_payload(&self.fingerprint)?;
        let signature = self.key.sign(signing::APPROVAL_NAMESPACE, &payload)?;
        let fix = self
            .authors
            .signed()
            .context("signed approvals need the allowed-signers file")?;
        let verified = fix.allowed.verify(
            &approval.reviewer_email,
            signing::APPROVAL_NAMESPACE,
            &payload,
            &signature,
        )?;
        if verified.as_deref() != Some(self.fingerprint.as_str()) {
            return Err(Refusal::usage(format!(
                "your key {} is not listed for {} in {}, so the approval would not count",
                self.fingerprint, approval.reviewer_email, fix.allowed.path
            ))
            .hint(format!(
                "add a line `{} <your public key>` to {} on the development branch (the author's hotfix counts the file as it was at start), or sign with the key listed there (git config user.signingKey); nothing was recorded",
                approval.reviewer_email, fix.allowed.path
            ))
            .into());
        }
        Ok(ApprovalSignature {
            key: self.fingerprint.clone(),
            signature,
        })
    }
}

pub fn approve(ctx: &Ctx, args: &ApproveArgs) -> Result<()> {
    let repo = &ctx.repo;
    let ui = ctx.ui;
    let state = ctx.store.read()?;
    let target = find_target(ctx, &state, args.branch.as_deref())?;
    let branch = target.branch.as_str();
    if target.policy.review.via == crate::config::ReviewVia::Forge {
        return Err(Refusal::usage(format!(
            "{branch} is reviewed on the forge (review.via = \"forge\"): an approval made with `hotfix approve` would not count"
        ))
        .hint("approve its pull (merge) request on the forge; `hotfix status` in the author's clone shows its URL")
        .into());
    }
    let tree = repo.tree_of(target.tip)?;
    let commits = repo.commits_between(target.base, target.tip)?;
    if commits.is_empty() {
        return Err(Refusal::usage(format!(
            "{branch} has no commits on top of {}: there is nothing to approve",
            target.base_label
        ))
        .hint("the author commits the fix (and pushes it) first")
        .into());
    }
    let me = repo.identity()?;
    if args.push && target.remote.is_none() {
        return Err(Refusal::usage(
            "--push needs a remote, and this repository has none (no upstream, no `origin`)",
        )
        .hint(format!(
            "run `hotfix approve {}` without --push",
            shell_word(branch)
        ))
        .into());
    }

    // Signed approvals (review.allowed_signers): the reviewer's key, checked before anything
    // is shown, and the authors known by the keys that signed the fix.
    let signing = match &target.signers {
        Some((content, path)) => Some(Signing::prepare(ctx, &target, content, path)?),
        None => None,
    };

    // Nobody approves their own fix (SPEC promise 2): by key when signatures rule, else by email.
    match &signing {
        Some(s) => s.refuse_own(ui, &target, &me)?,
        None => {
            let own = commits.iter().find(|c| {
                same_email(&c.author.email, &me.email) || same_email(&c.committer.email, &me.email)
            });
            if let Some(c) = own {
                if !target.policy.review.allow_self_approval {
                    return Err(Refusal::gate(format!(
                        "you cannot approve {branch}: {} is an author or committer of commit {} on it",
                        me.email,
                        short(c.id)
                    ))
                    .hint(format!(
                        "ask a teammate who did not work on the fix to run `hotfix approve {}`",
                        shell_word(branch)
                    ))
                    .into());
                }
                ui.warn(format!(
                    "you worked on this fix (commit {}); review.allow_self_approval lets you approve it",
                    short(c.id)
                ));
            }
        }
    }

    let my_key = signing.as_ref().map(|s| s.fingerprint.as_str());
    let refname = approval_ref(branch, tree, &me.email, my_key);
    let existing = read_approvals(repo, branch)?.into_iter().find(|a| {
        a.tree == tree.to_string()
            && same_email(&a.reviewer_email, &me.email)
            && a.signature.as_ref().map(|s| s.key.as_str()) == my_key
    });
    if let Some(comment) = &args.request_changes {
        if existing.is_some() {
            return Err(Refusal::usage(format!(
                "you approved tree {} of {branch} already; an approval is never taken back",
                short(tree)
            ))
            .hint("ask for changes on the next tree the author commits")
            .into());
        }
        let comment = changes::clean_comment(comment).ok_or_else(|| {
            Refusal::usage(format!(
                "the comment is empty or longer than {} characters",
                changes::MAX_COMMENT
            ))
        })?;
        show(ctx, &target, &commits, tree)?;
        return request_changes(ctx, &target, tree, &me, &comment, args.push);
    }
    let mut guard_report = None;
    let approval = match existing {
        // an approval is never replaced, and this one says something else than this review would
        Some(a) if !a.is_for(&tree.to_string(), &target.base.to_string()) => {
            let base = if a.base.is_empty() {
                "an unrecorded base".to_string()
            } else {
                Oid::from_str(&a.base).map_or_else(|_| a.base.clone(), short)
            };
            return Err(Refusal::usage(format!(
                "you approved tree {} of {branch} before, from {base}, and {refname} is never replaced; this review is from {}",
                short(tree),
                target.base_label
            ))
            .hint("if the author's base differs, the author starts the fix again from a release tag the remote has; nothing was recorded")
            .into());
        }
        Some(a) => {
            ui.status(format!(
                "You already approved tree {} of {branch} ({}).",
                short(tree),
                a.approved_at.strftime("%Y-%m-%d %H:%M UTC")
            ));
            a
        }
        None => {
            let (report, shown) = show(ctx, &target, &commits, tree)?;
            guard_report = Some(report);
            let question = format!("Approve tree {} of {branch}?", short(tree));
            if !ui.confirm(&question, "--yes")? {
                return declined(ctx, &target, tree, &me, args.push);
            }
            record(repo, &target, tree, shown, &me, &refname, signing.as_ref())?
        }
    };

    let mut pushed = false;
    // in a terminal, the reviewer is asked rather than told to run the command again
    let push = args.push
        || match &target.remote {
            Some(remote) if ui.can_prompt() => ui.confirm(
                &format!("Push the approval to {remote} so the author sees it?"),
                "--push",
            )?,
            _ => false,
        };
    match (&target.remote, push) {
        (Some(remote), true) => {
            crate::fault::point("approve-before-push");
            push_approval(ctx, remote, &refname, branch)?;
            pushed = true;
            ui.status(format!(
                "Approved tree {} of {branch} as {} and pushed the approval to {remote}.",
                short(tree),
                approval.reviewer()
            ));
        }
        (Some(remote), false) => {
            ui.status(format!(
                "Approved tree {} of {branch} as {}.",
                short(tree),
                approval.reviewer()
            ));
            ui.status(format!(
                "The approval is only in this clone; `hotfix approve {} --push` sends it to {remote} for the author.",
                shell_word(branch)
            ));
        }
        (None, _) => ui.status(format!(
            "Approved tree {} of {branch} as {}.",
            short(tree),
            approval.reviewer()
        )),
    }
    if ui.json {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            approval: &'a Approval,
            r#ref: &'a str,
            pushed: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            guard: Option<&'a GuardReport>,
        }
        ui.data(serde_json::to_string_pretty(&Out {
            approval: &approval,
            r#ref: &refname,
            pushed,
            guard: guard_report.as_ref(),
        })?);
    }
    Ok(())
}

/// The reviewer said no to "Approve tree …?": ask for changes (a comment the author sees), or
/// leave it for now (nothing recorded, exit 0).
fn declined(ctx: &Ctx, target: &Target, tree: Oid, me: &Identity, push: bool) -> Result<()> {
    let ui = ctx.ui;
    let branch = target.branch.as_str();
    let choices = DECLINE_CHOICES.map(String::from);
    let i = ui.select(
        "Not approved. What now?",
        &choices,
        "--request-changes <comment>",
    )?;
    if i == 0 {
        let text = ui.input(
            "What should change? (the author sees it in `hotfix status`)",
            "--request-changes <comment>",
        )?;
        let comment = changes::clean_comment(&text).ok_or_else(|| {
            Refusal::usage("the comment is empty; nothing was recorded").hint(format!(
                "run `hotfix approve {} --request-changes <comment>`",
                shell_word(branch)
            ))
        })?;
        return request_changes(ctx, target, tree, me, &comment, push);
    }
    ui.status(format!(
        "{branch} was not approved; nothing was recorded. `hotfix approve {}` when you are ready.",
        shell_word(branch)
    ));
    Ok(())
}

/// What a reviewer who does not approve may do, in the order offered.
pub const DECLINE_CHOICES: [&str; 2] = [
    "Request changes: write a comment for the author",
    "Leave it for now: record nothing",
];

/// Records a change request for `tree`, and pushes it like an approval (asked in a terminal).
fn request_changes(
    ctx: &Ctx,
    target: &Target,
    tree: Oid,
    me: &Identity,
    comment: &str,
    push: bool,
) -> Result<()> {
    let ui = ctx.ui;
    let branch = target.branch.as_str();
    let key = email_key(&me.email);
    let (refname, request) =
        changes::record(&ctx.repo, branch, target.tip, tree, me, comment, &key)?;
    let push = push
        || match &target.remote {
            Some(remote) if ui.can_prompt() => ui.confirm(
                &format!("Push the request to {remote} so the author sees it?"),
                "--push",
            )?,
            _ => false,
        };
    match (&target.remote, push) {
        (Some(remote), true) => {
            let spec = format!("{refname}:{refname}");
            ctx.repo.push(remote, &[&spec]).with_context(|| {
                format!("the change request is recorded here ({refname}) but could not be pushed")
            })?;
            ui.status(format!(
                "Asked for changes to tree {} of {branch} and pushed the request to {remote}; the author sees it in `hotfix status`.",
                short(tree)
            ));
        }
        (Some(remote), false) => ui.status(format!(
            "Asked for changes to tree {} of {branch}. The request is only in this clone; `git push {remote} {}` sends it to the author.",
            short(tree),
            shell_word(&format!("{refname}:{refname}"))
        )),
        (None, _) => ui.status(format!(
            "Asked for changes to tree {} of {branch}.",
            short(tree)
        )),
    }
    if ui.json {
        ui.data(serde_json::to_string_pretty(&request)?);
    }
    Ok(())
}

fn record(
    repo: &Repo,
    target: &Target,
    tree: Oid,
    shown: Shown,
    me: &Identity,
    refname: &str,
    signing: Option<&Signing>,
) -> Result<Approval> {
    let mut approval = Approval {
        schema: APPROVAL_SCHEMA,
        branch: target.branch.clone(),
        tree: tree.to_string(),
        commit: target.tip.to_string(),
        base: target.base.to_string(),
        base_tag: target.base_tag.clone(),
        shown: Some(shown),
        reviewer_name: me.name.clone(),
        reviewer_email: me.email.clone(),
        approved_at: jiff::Timestamp::now(),
        signature: None,
    };
    if let Some(s) = signing {
        approval.signature = Some(s.sign(&approval)?);
    }
    let json = serde_json::to_vec_pretty(&approval).context("could not serialise the approval")?;
    repo.write_record_ref(refname, &json, "hotfix approve")?;
    Ok(approval)
}

/// Pushes one approval ref. The remote refuses to replace a non-commit ref without force, so a
/// rejection means the remote already holds an approval of this tree by this reviewer (made in
/// another clone): that is success too.
fn push_approval(ctx: &Ctx, remote: &str, refname: &str, branch: &str) -> Result<()> {
    let spec = format!("{refname}:{refname}");
    let Err(err) = ctx.repo.push(remote, &[&spec]) else {
        return Ok(());
    };
    if ctx.repo.fetch_records(remote, &[&spec]).is_ok() {
        ctx.ui.status(format!(
            "{remote} already had your approval of this tree (made in another clone); kept that one."
        ));
        return Ok(());
    }
    Err(Refusal::usage(format!(
        "the approval is recorded in this clone but could not be pushed to {remote}: {err:#}"
    ))
    .hint(format!(
        "run `hotfix approve {} --push` again when {remote} is reachable",
        shell_word(branch)
    ))
    .into())
}

/// Shows the reviewer what they approve: the commits, the diff (the whole diff, paged, on a
/// terminal; else its stat) and the guard's numbers and flags; returns what was shown. No flag
/// hides the stat: with `-q` it goes to stdout anyway, with `--json` to stderr (stdout is the
/// JSON), so nobody approves without at least the stat in front of them.
fn show(
    ctx: &Ctx,
    target: &Target,
    commits: &[CommitInfo],
    tree: Oid,
) -> Result<(GuardReport, Shown)> {
    let ui = ctx.ui;
    let repo = &ctx.repo;
    let report = guard::analyze_with_bump(
        repo,
        target.base,
        target.tip,
        &target.policy,
        target.bump.as_ref().map(|(_, b)| b),
    )?;
    let plural = if commits.len() == 1 { "" } else { "s" };
    let heading = format!(
        "{} {}: {} commit{plural} on top of {}, tree {}",
        ui.bold("Review"),
        ui.bold(&target.branch),
        commits.len(),
        target.base_label,
        short(tree)
    );
    let mut shown = Shown::Stat;
    if !ui.json && !ui.quiet {
        let mut header = format!("{heading}\n");
        // what the author typed is shown as typed, escapes written out: a summary or name
        // must not rewrite the lines around it on the reviewer's terminal
        for c in commits {
            header.push_str(&format!(
                "  {} {} ({} <{}>)\n",
                short(c.id),
                visible(&c.summary),
                visible(&c.author.name),
                visible(&c.author.email)
            ));
        }
        header.push('\n');
        if ui.interactive && std::io::stdout().is_terminal() {
            // the header goes into the paged text, where it is read with the diff
            if page_diff(ctx, target, &header)? {
                shown = Shown::Diff;
            }
        } else {
            ui.print(header.trim_end_matches('\n'));
            ui.print("");
            ui.print(visible_lines(
                repo.diff_stat(target.base, target.tip)?.trim_end(),
            ));
        }
        ui.print("");
        guard::render(ui, &report);
        ui.print("");
    } else {
        let text = format!(
            "{heading}\n{}",
            visible_lines(repo.diff_stat(target.base, target.tip)?.trim_end())
        );
        if ui.json {
            // a closed stderr is no reason to fail; the JSON says what was shown
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        } else {
            ui.data(text);
        }
    }
    if report.over_files || report.over_lines {
        ui.warn(format!(
            "the diff is over the guard's limits ({} files, {} lines); the guard gate fails until the fix is smaller or the gate is overridden",
            report.totals.files, report.totals.lines
        ));
    }
    Ok((report, shown))
}

/// `header`, then `git diff --stat --patch base tip` (through the git program, so the user's
/// diff settings apply), in git's pager (`git var GIT_PAGER`: core.pager, $GIT_PAGER, $PAGER,
/// less), so that what is being approved is on the pages the reviewer reads. False when `git
/// diff` failed and only the stat was shown.
fn page_diff(ctx: &Ctx, target: &Target, header: &str) -> Result<bool> {
    let diff = |color: &str| -> Result<std::process::Output> {
        let mut cmd = ctx.repo.git_command()?;
        cmd.args(["diff", color, "--stat", "--patch"])
            .arg(target.base.to_string())
            .arg(target.tip.to_string());
        // attributes as the base has them (git 2.40+; older gits ignore the variable), as the
        // guard reads them: never the fix's own `.gitattributes` of a checked-out hotfix
        // branch, whose `app.sh -diff` would show a changed script as "Binary files differ"
        cmd.env("GIT_ATTR_SOURCE", target.base.to_string());
        cmd.output().context("could not run `git diff`")
    };
    // The lines are the author's: an escape sequence in them (`ESC[8m` conceals the rest of a
    // line in `less -R`), a carriage return or a bidi control would make the page read other
    // than the change is. Such a diff is paged without colours, those characters written out.
    let plain = diff("--no-color")?;
    let raw = String::from_utf8_lossy(&plain.stdout);
    let hiding = raw
        .chars()
        .any(|c| c != '\n' && c != '\t' && crate::ui::is_hiding(c));
    let out = if hiding {
        ctx.ui.warn(
            "the diff holds control characters (escape sequences, carriage returns or bidi controls); the page shows them written out, like \\u{1b}",
        );
        let shown: String = raw
            .chars()
            .map(|c| {
                if c != '\n' && c != '\t' && crate::ui::is_hiding(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        std::process::Output {
            stdout: shown.into_bytes(),
            ..plain
        }
    } else if console::colors_enabled() {
        diff("--color=always")?
    } else {
        plain
    };
    let mut text = header.as_bytes().to_vec();
    let diffed = out.status.success();
    if diffed {
        text.extend_from_slice(&out.stdout);
    } else {
        ctx.ui.warn("`git diff` failed; this is what changed:");
        text.extend_from_slice(
            visible_lines(&ctx.repo.diff_stat(target.base, target.tip)?).as_bytes(),
        );
    }
    let pager = ctx
        .repo
        .git_command()?
        .args(["var", "GIT_PAGER"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "less".to_string());
    if pager.is_empty() || pager == "cat" {
        use std::io::Write;
        let _ = std::io::stdout().write_all(&text);
        return Ok(diffed);
    }
    let mut child = std::process::Command::new("sh");
    child
        .arg("-c")
        .arg(&pager)
        .stdin(std::process::Stdio::piped());
    // as git sets them: quit when it fits on one screen, keep colours, do not clear
    if std::env::var_os("LESS").is_none() {
        child.env("LESS", "FRX");
    }
    if std::env::var_os("LV").is_none() {
        child.env("LV", "-c");
    }
    let mut child = child
        .spawn()
        .with_context(|| format!("could not run the pager `{pager}`"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // the reviewer may quit the pager before the end: a closed pipe is no error
        let _ = stdin.write_all(&text);
    }
    let _ = child.wait();
    Ok(diffed)
}

/// Finds the branch to approve and its base.
fn find_target(ctx: &Ctx, state: &State, name: Option<&str>) -> Result<Target> {
    let repo = &ctx.repo;
    let name = match name {
        Some(n) => n.to_string(),
        None => match repo.head()? {
            crate::git::Head::Branch(b, _) => b,
            _ => {
                return Err(Refusal::usage(
                    "HEAD is not on a branch, so there is nothing to approve by default",
                )
                .hint("name the branch: `hotfix approve hotfix/<name>`")
                .into());
            }
        },
    };

    // The author's clone: the state knows the base and the policy in force.
    if let Some(h) = state
        .hotfixes
        .values()
        .find(|h| h.branch == name || h.name == name)
    {
        // the policy here decides whether an author may approve: it must be the sealed one
        crate::seal::verify(repo, h, "the approval")?;
        let tip = repo.branch_tip(&h.branch)?.ok_or_else(|| {
            Refusal::usage(format!(
                "the branch {} no longer exists; was it deleted by hand?",
                h.branch
            ))
            .hint(format!(
                "`hotfix abort {}` forgets this hotfix",
                shell_word(&h.name)
            ))
        })?;
        let remote = repo.remote_for(Some(&h.branch))?;
        if let Some(remote) = &remote {
            fetch_approvals(ctx, remote);
        }
        let base = Oid::from_str(&h.base_commit)
            .with_context(|| format!("the state's base commit of {} is not an id", h.branch))?;
        return Ok(Target {
            branch: h.branch.clone(),
            tip,
            base,
            base_tag: h.base_tag.clone(),
            base_label: h.base_tag.clone().unwrap_or_else(|| short(base)),
            policy: h.policy.clone(),
            signers: (!h.policy.review.allowed_signers.is_empty()).then(|| {
                (
                    h.allowed_signers.clone().unwrap_or_default(),
                    h.policy.review.allowed_signers.clone(),
                )
            }),
            remote,
            bump: Target::find_bump(repo, Some(h), base, None, &h.policy, None)?,
        });
    }

    // A reviewer's clone: everything comes from git and the committed hotfix.toml.
    let policy = match repo.workdir() {
        Ok(root) => Config::load(root)?,
        Err(_) => Config::default(),
    };
    let remote = if repo.branch_tip(&name)?.is_some() {
        repo.remote_for(Some(&name))?
    } else {
        match name.split_once('/') {
            Some((r, _)) if repo.has_remote(r)? => Some(r.to_string()),
            _ => repo.remote_for(None)?,
        }
    };
    let mut fetch_failed = None;
    if let Some(remote) = &remote {
        ctx.ui.status(format!(
            "Fetching {remote} for the hotfix branch and approvals…"
        ));
        if let Err(e) = repo.fetch(remote, &[], true) {
            ctx.ui
                .warn(format!("{e:#}; reviewing what this clone already has"));
            fetch_failed = Some(format!("{e:#}"));
        } else {
            fetch_approvals(ctx, remote);
        }
    }
    let (branch, tip) = match (
        find_branch(repo, &name, remote.as_deref(), &policy),
        (&fetch_failed, &remote),
    ) {
        // not here, and the remote could not be asked: that is not "it does not exist"
        (Err(_), (Some(why), Some(r))) => {
            return Err(Refusal::usage(format!(
                "{name} is not in this clone, and the fetch from {r} failed ({why}), so whether {r} has it is not known"
            ))
            .hint("fix what stopped the fetch (the network, disk space), then approve again; nothing was recorded")
            .into());
        }
        (found, _) => found?,
    };
    if let (Some(r), Some(local)) = (&remote, repo.branch_tip(&branch)?)
        && let Some(published) = repo.remote_branch_tip(&format!("{r}/{branch}"))?
        && local == tip
        && published != local
    {
        let advice = if repo.is_ancestor(local, published)? {
            format!("; to review the published one, `git pull` on {branch} first")
        } else {
            String::new()
        };
        ctx.ui.warn(format!(
            "your local {branch} ({}) differs from {r}/{branch} ({}); approving the local one{advice}",
            short(local),
            short(published)
        ));
    }
    let (base, base_tag, base_label) = find_base(ctx, tip, &policy, remote.as_deref(), &branch)?;
    let signers = reviewer_signers(repo, &policy)?;
    let first = repo.commits_between(base, tip)?.first().map(|c| c.id);
    let bump = Target::find_bump(repo, None, base, base_tag.as_deref(), &policy, first)?;
    Ok(Target {
        branch,
        tip,
        base,
        base_tag,
        base_label,
        policy,
        signers,
        remote,
        bump,
    })
}

/// In a reviewer's clone, the allowed-signers file the committed policy names, as the working
/// tree has it: what the reviewer's own signature and the fix's are checked against before
/// anything is recorded (the author's gate checks them again under the file sealed at start).
fn reviewer_signers(repo: &Repo, policy: &Config) -> Result<Option<(String, String)>> {
    let path = &policy.review.allowed_signers;
    if path.is_empty() {
        return Ok(None);
    }
    let file = repo.workdir()?.join(path);
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some((text, path.clone()))),
        Err(e) => Err(Refusal::usage(format!(
            "review.allowed_signers names {path}, which cannot be read here ({e})"
        ))
        .hint("check out the development branch, where the team keeps it, and approve again; nothing was recorded")
        .into()),
    }
}

/// A local branch, else a remote-tracking one (`origin/hotfix/x` or `hotfix/x` on the remote),
/// also with the hotfix prefix added (`login-500`). Returns the branch's own name and tip.
fn find_branch(
    repo: &Repo,
    name: &str,
    remote: Option<&str>,
    policy: &Config,
) -> Result<(String, Oid)> {
    let prefixed = format!("{}{name}", policy.branches.prefix);
    for candidate in [name, prefixed.as_str()] {
        if let Some(tip) = repo.branch_tip(candidate)? {
            return Ok((candidate.to_string(), tip));
        }
        if let Some(r) = remote {
            if let Some(own) = candidate.strip_prefix(&format!("{r}/"))
                && let Some(tip) = repo.remote_branch_tip(candidate)?
            {
                return Ok((own.to_string(), tip));
            }
            if let Some(tip) = repo.remote_branch_tip(&format!("{r}/{candidate}"))? {
                return Ok((candidate.to_string(), tip));
            }
        }
    }
    let where_ = remote.map_or(String::new(), |r| format!(" or on {r}"));
    Err(Refusal::usage(format!(
        "there is no branch {name} here{where_}"
    ))
    .hint(format!(
        "check the name with `git branch -a`; the author publishes it with `git push origin {}`",
        shell_word(if name.starts_with(&policy.branches.prefix) { name } else { &prefixed })
    ))
    .into())
}

/// Where a branch seen without state starts: the newest stable production tag in its history,
/// as the remote has its tags NOW (fetched, pruned: a tag pushed and deleted again, or made
/// only in a clone, is no base; with no remote, the tags here), else its merge base with the
/// development branch. A remote whose tags cannot be read is a refusal: the base could not be
/// checked.
fn find_base(
    ctx: &Ctx,
    tip: Oid,
    policy: &Config,
    remote: Option<&str>,
    branch: &str,
) -> Result<(Oid, Option<String>, String)> {
    let repo = &ctx.repo;
    let pattern = &policy.release.tag_pattern;
    let named: Vec<(String, Oid)> = match remote {
        Some(r) => repo.remote_tags(r).map_err(|e| {
            Refusal::usage(format!(
                "cannot check where {branch} starts: the release tags of {r} could not be read ({e:#})"
            ))
            .hint(format!(
                "approve when {r} is reachable: the diff shown starts at a release the remote has; nothing was recorded"
            ))
        })?,
        None => {
            let mut out = Vec::new();
            for name in repo.tag_names(pattern)? {
                if let Some(c) = repo.tag_commit(&name)? {
                    out.push((name, c));
                }
            }
            out
        }
    };
    let mut tags: Vec<_> = named
        .into_iter()
        .filter_map(|(name, c)| version::version_of(&name, pattern).map(|v| (v, name, c)))
        .filter(|(v, _, _)| version::is_stable(v))
        .collect();
    tags.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.len().cmp(&b.1.len())));
    for (_, name, commit) in &tags {
        // a tag on the tip itself is the release of this fix, not its base
        if *commit != tip && repo.is_ancestor(*commit, tip)? {
            return Ok((*commit, Some(name.clone()), name.clone()));
        }
    }
    let development = if policy.branches.development.is_empty() {
        repo.detect_development()?
    } else {
        Some(policy.branches.development.clone())
    };
    if let Some(dev) = development {
        let dev_tip = match repo.branch_tip(&dev)? {
            Some(t) => Some(t),
            None => match remote {
                Some(r) => repo.remote_branch_tip(&format!("{r}/{dev}"))?,
                None => None,
            },
        };
        if let Some(dev_tip) = dev_tip
            && let Some(base) = repo.merge_base(dev_tip, tip)?
        {
            ctx.ui.warn(format!(
                "no release tag matching `{pattern}` is in the history of {branch}; reviewing it against its merge base with {dev}"
            ));
            return Ok((
                base,
                None,
                format!("the merge base with {dev} ({})", short(base)),
            ));
        }
    }
    Err(Refusal::usage(format!(
        "cannot tell where {branch} starts: no release tag matching `{pattern}` is in its history and there is no development branch to compare with"
    ))
    .hint("fetch the release tags (`git fetch --tags`), or approve from the author's clone")
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keys_are_ref_safe_and_case_insensitive() {
        let k = email_key("Rita@Example.com");
        assert_eq!(k, email_key("rita@example.com"));
        assert!(k.starts_with("rita-at-example-com-"));
        assert_ne!(email_key("a+b@x.io"), email_key("a-b@x.io"));
        let refname = format!("refs/hotfix/approvals/hotfix/x/{}/{}", "0".repeat(40), k);
        assert!(git2::Reference::is_valid_name(&refname));
    }
}
