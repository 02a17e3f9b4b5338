//! `hotfix __complete <what>` (hidden): the values the completion scripts offer that only the
//! repository knows — hotfix branches, release tags, severity criteria. One per line; nothing
//! (and exit 0) outside a repository or on any error, since a completion must never print one.

use std::collections::BTreeSet;

use crate::cli::CompleteWhat;
use crate::config::Config;
use crate::git::Repo;

pub fn complete(dir: &std::path::Path, what: CompleteWhat) {
    let Ok(repo) = Repo::discover(dir) else {
        return;
    };
    let config = repo
        .workdir()
        .ok()
        .and_then(|root| Config::load(root).ok())
        .unwrap_or_default();
    let values = match what {
        CompleteWhat::Branches => hotfix_branches(&repo, &config),
        CompleteWhat::Tags => release_tags(&repo, &config),
        CompleteWhat::Criteria => config.severity.criteria.clone(),
    };
    let mut out = String::new();
    for v in values {
        // a name with a newline would complete as two words
        if !v.contains(['\n', '\r']) {
            out.push_str(&v);
            out.push('\n');
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().write_all(out.as_bytes());
}

/// Local and remote-tracking branches under the hotfix prefix, as `approve` takes them.
fn hotfix_branches(repo: &Repo, config: &Config) -> Vec<String> {
    let prefix = &config.branches.prefix;
    let Ok(glob) = globset::Glob::new(&format!("{}*", globset_escape(prefix))) else {
        return Vec::new();
    };
    let names: BTreeSet<String> = repo
        .branches_matching(&glob.compile_matcher())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.into_iter().collect()
}

/// Stable release tags of `release.tag_pattern`, newest first.
fn release_tags(repo: &Repo, config: &Config) -> Vec<String> {
    let pattern = &config.release.tag_pattern;
    let mut tags: Vec<(semver::Version, String)> = repo
        .tag_names(pattern)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| crate::version::version_of(&t, pattern).map(|v| (v, t)))
        .filter(|(v, _)| crate::version::is_stable(v))
        .collect();
    tags.sort_by(|a, b| b.cmp(a));
    tags.into_iter().map(|(_, t)| t).collect()
}

fn globset_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '*' | '?' | '[' | ']' | '{' | '}' | '\\' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}
