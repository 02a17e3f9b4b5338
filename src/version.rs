//! Production tags: which tags are releases, which is newest, and what the next one is called.

use anyhow::Result;
use semver::Version;

use crate::git::{Oid, Repo};

/// A production release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag {
    pub name: String,
    pub version: Version,
}

/// The version a tag names under `pattern` (`v*` → `v1.2.3` is 1.2.3), or `None` when the tag
/// is not a release version. `1.2` reads as 1.2.0.
pub fn version_of(tag: &str, pattern: &str) -> Option<Version> {
    let wild = |c: char| matches!(c, '*' | '?' | '[');
    let prefix = &pattern[..pattern.find(wild).unwrap_or(pattern.len())];
    let suffix = pattern.rfind(wild).map_or("", |i| {
        // a `[...]` class ends at `]`; the literal suffix starts after the last wildcard
        let rest = &pattern[i..];
        if rest.starts_with('[') {
            rest.find(']').map_or("", |j| &rest[j + 1..])
        } else {
            &rest[1..]
        }
    });
    let core = tag.strip_prefix(prefix)?.strip_suffix(suffix)?;
    let core = if prefix.is_empty() {
        core.strip_prefix('v').unwrap_or(core)
    } else {
        core
    };
    parse_lenient(core)
}

fn parse_lenient(s: &str) -> Option<Version> {
    if let Ok(v) = Version::parse(s) {
        return Some(v);
    }
    // `1.2` means 1.2.0; anything else that is not semver is not a release
    let (major, minor) = s.split_once('.')?;
    if minor.contains(['.', '-', '+']) {
        return None;
    }
    Some(Version::new(major.parse().ok()?, minor.parse().ok()?, 0))
}

/// True for a stable release: no pre-release part such as `-rc1`, and no build metadata such as
/// `+ci` (semver orders `1.1.0+ci` after `1.1.0`, so a tag anyone can push would otherwise pass
/// for the newest release and become a base).
pub fn is_stable(v: &Version) -> bool {
    v.pre.is_empty() && v.build.is_empty()
}

/// True for a version of `base`'s line (same major and minor) that is newer than `base`: a
/// fix for v1.2.x meets v1.2.y, not v2.0.0.
pub fn later_in_line(v: &Version, base: &Version) -> bool {
    v.major == base.major && v.minor == base.minor && v > base
}

/// The stable releases of `base`'s line newer than `base` among the tag names `names`, newest
/// first.
pub fn releases_after<'n>(
    names: impl Iterator<Item = &'n str>,
    base: &Version,
    pattern: &str,
) -> Vec<ReleaseTag> {
    let mut newer: Vec<ReleaseTag> = names
        .filter_map(|name| {
            version_of(name, pattern).map(|version| ReleaseTag {
                name: name.to_string(),
                version,
            })
        })
        .filter(|t| is_stable(&t.version) && later_in_line(&t.version, base))
        .collect();
    newer.sort_by(|a, b| b.version.cmp(&a.version));
    newer
}

/// The newest stable release among tags matching `pattern`, by semantic version.
pub fn newest_release(repo: &Repo, pattern: &str) -> Result<Option<ReleaseTag>> {
    let best = repo
        .tag_names(pattern)?
        .into_iter()
        .filter_map(|name| version_of(&name, pattern).map(|version| ReleaseTag { name, version }))
        .filter(|t| is_stable(&t.version))
        // equal versions (v1.2 and v1.2.0): prefer the shorter, then alphabetical, to be stable
        .max_by(|a, b| {
            a.version
                .cmp(&b.version)
                .then_with(|| b.name.len().cmp(&a.name.len()))
                .then_with(|| b.name.cmp(&a.name))
        });
    Ok(best)
}

/// The newest stable release and the commit it points at.
pub fn newest_release_commit(repo: &Repo, pattern: &str) -> Result<Option<(ReleaseTag, Oid)>> {
    let Some(tag) = newest_release(repo, pattern)? else {
        return Ok(None);
    };
    Ok(repo.tag_commit(&tag.name)?.map(|oid| (tag, oid)))
}

/// The next hotfix version: the patch number raised, pre-release and build dropped.
pub fn next_patch(v: &Version) -> Version {
    Version::new(v.major, v.minor, v.patch + 1)
}

/// A tag name from `tag_format` (`v{version}`).
pub fn format_tag(format: &str, v: &Version) -> String {
    format.replace("{version}", &v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_under_patterns() {
        assert_eq!(version_of("v1.2.3", "v*"), Some(Version::new(1, 2, 3)));
        assert_eq!(version_of("v2.47", "v*"), Some(Version::new(2, 47, 0)));
        assert_eq!(version_of("vfoo", "v*"), None);
        assert_eq!(
            version_of("release-1.0.0", "release-*"),
            Some(Version::new(1, 0, 0))
        );
        assert_eq!(version_of("1.0.0", "[0-9]*"), Some(Version::new(1, 0, 0)));
        assert_eq!(version_of("v3.0.0", "*"), Some(Version::new(3, 0, 0)));
        assert_eq!(version_of("v1.5.0.1", "v*"), None);
        assert!(!is_stable(&version_of("v2.55.0-rc2", "v*").unwrap()));
        assert!(!is_stable(&version_of("v1.1.0+ci", "v*").unwrap()));
        assert!(is_stable(&version_of("v1.1.0", "v*").unwrap()));
    }

    #[test]
    fn next_versions() {
        let v = Version::parse("10.4.2").unwrap();
        assert_eq!(format_tag("v{version}", &next_patch(&v)), "v10.4.3");
        let v = Version::parse("14.1.1").unwrap();
        assert_eq!(format_tag("{version}", &next_patch(&v)), "14.1.2");
    }
}
