//! ssh signatures, as git makes them with `gpg.format = ssh`: signing with the user's key and
//! checking a signature against an allowed-signers file (ssh-keygen(1), "ALLOWED SIGNERS").
//!
//! Signing runs the program git would (`gpg.ssh.program`, else `ssh-keygen`) on the key git
//! would (`user.signingKey`: a file, or a `key::` literal held by an ssh agent), so an agent
//! and hardware keys work. Checking never asks git's configuration: it runs `ssh-keygen` from
//! `PATH` with the allowed-signers content it is given (the copy sealed at `start`), so neither
//! `gpg.ssh.program` nor `gpg.ssh.allowedSignersFile` set to something permissive in a clone
//! changes what verifies.
//!
//! Nothing here knows of hotfixes: the steps say what is signed and which file rules.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::error::Refusal;
use crate::git::{Oid, Repo};

/// The namespace of an approval's signature: a signature made for a commit (namespace `git`)
/// or for anything else can never pass for an approval, nor one the other way round.
pub const APPROVAL_NAMESPACE: &str = "hotfix-approval";
/// The namespace git signs commits in.
pub const COMMIT_NAMESPACE: &str = "git";

/// The program that checks signatures. Never `gpg.ssh.program`: see the module's comment.
const VERIFIER: &str = "ssh-keygen";

/// A key that made a good signature: its fingerprint (`SHA256:…`) and the principals the
/// allowed-signers file lists it for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signer {
    pub principals: Vec<String>,
    pub key: String,
}

impl Signer {
    /// "ann@example.com (SHA256:…)"
    pub fn describe(&self) -> String {
        format!("{} ({})", self.principals.join(", "), self.key)
    }

    pub fn is_listed_for(&self, principal: &str) -> bool {
        self.principals
            .iter()
            .any(|p| p.trim().eq_ignore_ascii_case(principal.trim()))
    }
}

/// An allowed-signers file's content, written to a temporary file for `ssh-keygen`.
pub struct AllowedSigners {
    file: tempfile::NamedTempFile,
    /// Its path in the repository, for messages.
    pub path: String,
}

impl AllowedSigners {
    pub fn new(content: &str, path: &str) -> Result<AllowedSigners> {
        let mut file = tempfile::Builder::new()
            .prefix("hotfix-allowed-signers-")
            .tempfile()
            .context("could not write the allowed-signers file to a temporary file")?;
        file.write_all(content.as_bytes())
            .and_then(|()| file.flush())
            .context("could not write the allowed-signers file to a temporary file")?;
        Ok(AllowedSigners {
            file,
            path: path.to_string(),
        })
    }

    /// The fingerprint of the key that signed `payload`, when `signature` verifies for
    /// `principal` in `namespace` under this file; `None` when it does not.
    pub fn verify(
        &self,
        principal: &str,
        namespace: &str,
        payload: &[u8],
        signature: &str,
    ) -> Result<Option<String>> {
        if !is_ssh_signature(signature.as_bytes()) || principal.trim().is_empty() {
            return Ok(None);
        }
        let sig = temp_with(signature.as_bytes(), "signature")?;
        let data = temp_with(payload, "signed data")?;
        let out = verifier()
            .args(["-Y", "verify", "-f"])
            .arg(self.file.path())
            .args(["-I", principal, "-n", namespace, "-s"])
            .arg(sig.path())
            .stdin(std::fs::File::open(data.path()).context("could not read the signed data")?)
            .output()
            .map_err(no_verifier)?;
        if !out.status.success() {
            return Ok(None);
        }
        // `Good "<namespace>" signature for <principal> with <type> key <fingerprint>`: the
        // fingerprint is the last word ssh-keygen prints
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .split_whitespace()
            .last()
            .filter(|w| w.starts_with("SHA256:"))
            .map(String::from))
    }

    /// The principals this file lists the key of `signature` for (none: it is not listed).
    pub fn principals(&self, signature: &str) -> Result<Vec<String>> {
        if !is_ssh_signature(signature.as_bytes()) {
            return Ok(Vec::new());
        }
        let sig = temp_with(signature.as_bytes(), "signature")?;
        let out = verifier()
            .args(["-Y", "find-principals", "-f"])
            .arg(self.file.path())
            .arg("-s")
            .arg(sig.path())
            .stdin(Stdio::null())
            .output()
            .map_err(no_verifier)?;
        if !out.status.success() {
            return Ok(Vec::new());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// Who signed `payload` in `namespace`: the key, when it is listed and the signature
    /// verifies for one of its principals.
    pub fn signer(
        &self,
        namespace: &str,
        payload: &[u8],
        signature: &str,
    ) -> Result<Option<Signer>> {
        let principals = self.principals(signature)?;
        for p in &principals {
            if let Some(key) = self.verify(p, namespace, payload, signature)? {
                return Ok(Some(Signer {
                    principals: principals.clone(),
                    key,
                }));
            }
        }
        Ok(None)
    }
}

/// How one commit is signed, judged under an allowed-signers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitSignature {
    Unsigned,
    /// A signature that is not an ssh one (OpenPGP, X.509).
    NotSsh,
    /// An ssh signature by a key the file does not list, or that does not verify.
    Unverified,
    Good(Signer),
}

/// How commit `id` is signed, checked as `git verify-commit` with `gpg.format = ssh` would,
/// but with `allowed` and never git's own configuration.
pub fn commit_signature(repo: &Repo, allowed: &AllowedSigners, id: Oid) -> Result<CommitSignature> {
    let Some((signature, data)) = repo.commit_signature(id)? else {
        return Ok(CommitSignature::Unsigned);
    };
    if !is_ssh_signature(&signature) {
        return Ok(CommitSignature::NotSsh);
    }
    let signature = String::from_utf8_lossy(&signature);
    Ok(match allowed.signer(COMMIT_NAMESPACE, &data, &signature)? {
        Some(s) => CommitSignature::Good(s),
        None => CommitSignature::Unverified,
    })
}

fn is_ssh_signature(bytes: &[u8]) -> bool {
    bytes
        .trim_ascii_start()
        .starts_with(b"-----BEGIN SSH SIGNATURE-----")
}

/// The user's signing key, as git would sign with it.
pub struct SigningKey {
    /// What `user.signingKey` says, for messages.
    pub setting: String,
    /// The key file `ssh-keygen -f` gets (a temporary one for a literal key).
    file: PathBuf,
    _literal: Option<tempfile::NamedTempFile>,
    /// The key is only in the agent (`-U`).
    in_agent: bool,
    program: String,
}

impl SigningKey {
    /// `user.signingKey` (a path, `~/` expanded, or a `key::` literal as git takes it); `None`
    /// when it is not set.
    pub fn from_git_config(repo: &Repo) -> Result<Option<SigningKey>> {
        let Some(setting) = repo.config_string("user.signingkey") else {
            return Ok(None);
        };
        let program = repo
            .config_string("gpg.ssh.program")
            .unwrap_or_else(|| VERIFIER.to_string());
        let literal = setting
            .strip_prefix("key::")
            .or_else(|| setting.starts_with("ssh-").then_some(setting.as_str()));
        if let Some(key) = literal {
            let file = temp_with(format!("{}\n", key.trim()).as_bytes(), "signing key")?;
            return Ok(Some(SigningKey {
                setting: setting.clone(),
                file: file.path().to_path_buf(),
                _literal: Some(file),
                in_agent: true,
                program,
            }));
        }
        let file = match setting.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(rest))
                .unwrap_or_else(|| PathBuf::from(&setting)),
            None => PathBuf::from(&setting),
        };
        Ok(Some(SigningKey {
            setting,
            file,
            _literal: None,
            in_agent: false,
            program,
        }))
    }

    /// The key's fingerprint (`SHA256:…`), from `ssh-keygen -l`.
    pub fn fingerprint(&self) -> Result<String> {
        let out = verifier()
            .arg("-l")
            .arg("-f")
            .arg(&self.file)
            .stdin(Stdio::null())
            .output()
            .map_err(no_verifier)?;
        let text = String::from_utf8_lossy(&out.stdout);
        match text.split_whitespace().nth(1) {
            Some(fp) if out.status.success() && fp.starts_with("SHA256:") => Ok(fp.to_string()),
            _ => Err(Refusal::usage(format!(
                "user.signingKey ({}) is not an ssh key that ssh-keygen can read: {}",
                self.setting,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .hint("set it to your public key file (`git config user.signingKey ~/.ssh/id_ed25519.pub`) or a `key::ssh-ed25519 …` literal; nothing was recorded")
            .into()),
        }
    }

    /// An armored ssh signature of `payload` in `namespace`. The program's prompts (a
    /// passphrase, "confirm user presence") reach the terminal when there is one.
    pub fn sign(&self, namespace: &str, payload: &[u8]) -> Result<String> {
        let dir = tempfile::Builder::new()
            .prefix("hotfix-sign-")
            .tempdir()
            .context("could not make a temporary folder to sign in")?;
        let data = dir.path().join("approval");
        std::fs::write(&data, payload).context("could not write the data to sign")?;
        let mut cmd = Command::new(&self.program);
        cmd.args(["-Y", "sign", "-n", namespace, "-f"])
            .arg(&self.file);
        if self.in_agent {
            cmd.arg("-U");
        }
        cmd.arg(&data).stdin(Stdio::null()).stdout(Stdio::null());
        let terminal = std::io::stderr().is_terminal();
        if !terminal {
            cmd.stderr(Stdio::piped());
        }
        let out = cmd.output().map_err(|e| {
            Refusal::usage(format!(
                "could not run {} to sign the approval: {e}",
                self.program
            ))
            .hint("install OpenSSH 8.2 or later (ssh-keygen), or fix gpg.ssh.program; nothing was recorded")
        })?;
        let sig = std::fs::read_to_string(dir.path().join("approval.sig")).unwrap_or_default();
        if !out.status.success() || !is_ssh_signature(sig.as_bytes()) {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said
                .lines()
                .filter(|l| !l.starts_with("Signing file"))
                .collect::<Vec<_>>()
                .join(" ");
            let said = if said.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", said.trim())
            };
            return Err(Refusal::usage(format!(
                "{} could not sign the approval with user.signingKey ({}){said}",
                self.program, self.setting
            ))
            .hint("check the key (`ssh-add -l` lists the agent's keys); nothing was recorded")
            .into());
        }
        Ok(sig)
    }
}

fn verifier() -> Command {
    let mut cmd = Command::new(VERIFIER);
    cmd.stderr(Stdio::piped()).stdout(Stdio::piped());
    cmd
}

fn no_verifier(e: std::io::Error) -> anyhow::Error {
    Refusal::usage(format!(
        "could not run {VERIFIER} to check ssh signatures: {e}"
    ))
    .hint("install OpenSSH 8.2 or later (ssh-keygen on PATH): review.allowed_signers needs it")
    .into()
}

fn temp_with(content: &[u8], what: &str) -> Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("hotfix-")
        .tempfile()
        .with_context(|| format!("could not write the {what} to a temporary file"))?;
    f.write_all(content)
        .and_then(|()| f.flush())
        .with_context(|| format!("could not write the {what} to a temporary file"))?;
    Ok(f)
}
