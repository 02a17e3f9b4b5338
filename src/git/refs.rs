//! Listing refs by prefix and creating one only where none exists: what copying a remote's
//! refs in without ever replacing one of this clone's needs.

use anyhow::{Context, Result, anyhow};
use git2::ErrorCode;

use super::{Oid, Repo};

/// What [`Repo::create_ref_if_absent`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// The ref already pointed here.
    Same,
    /// The ref exists and points elsewhere; it was left as it is.
    Differs(Oid),
}

impl Repo {
    /// Every direct ref whose name starts with `prefix`, with what it points at.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>> {
        let glob = format!("{prefix}*");
        let mut out = Vec::new();
        for r in self
            .repo
            .references_glob(&glob)
            .with_context(|| format!("could not list {glob}"))?
        {
            let r = r.context("could not read a reference")?;
            if let Some(target) = r.target() {
                out.push((String::from_utf8_lossy(r.name_bytes()).into_owned(), target));
            }
        }
        Ok(out)
    }

    /// Every value of a multi-valued configuration key (`remote.origin.fetch`), none when unset.
    pub fn config_multivar(&self, key: &str) -> Vec<String> {
        let Ok(config) = self.repo.config() else {
            return Vec::new();
        };
        let Ok(mut entries) = config.multivar(key, None) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while let Some(Ok(entry)) = entries.next() {
            if let Ok(v) = entry.value() {
                out.push(v.to_string());
            }
        }
        out
    }

    /// The object a ref points at, if the ref exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<Oid>> {
        match self.repo.find_reference(name) {
            Ok(r) => Ok(r.target()),
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("could not read {name}"))),
        }
    }

    /// Points `name` at `target` only when `name` does not exist yet: an existing ref is never
    /// moved, even by a concurrent writer (libgit2 creates it under its lock, without force).
    pub fn create_ref_if_absent(&self, name: &str, target: Oid, log: &str) -> Result<Created> {
        if let Some(now) = self.ref_target(name)? {
            return Ok(if now == target {
                Created::Same
            } else {
                Created::Differs(now)
            });
        }
        match self.repo.reference(name, target, false, log) {
            Ok(_) => Ok(Created::Created),
            // made by someone else between the look and the write
            Err(e) if e.code() == ErrorCode::Exists => match self.ref_target(name)? {
                Some(now) if now == target => Ok(Created::Same),
                Some(now) => Ok(Created::Differs(now)),
                None => Err(anyhow!(e).context(format!("could not create {name}"))),
            },
            Err(e) => Err(anyhow!(e).context(format!("could not create {name}"))),
        }
    }
}
