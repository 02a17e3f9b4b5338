//! The confirm step: is the issue real, reproduced, and severe enough for a hotfix? Or was it
//! not a code problem at all (configuration, caching, a misunderstanding)?

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cli::StartArgs;
use crate::config::Config;
use crate::error::Refusal;
use crate::git::{Identity, Repo};
use crate::ui::Ui;

/// The answers of the confirm step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub severity: String,
    pub reproduced: bool,
    pub summary: String,
}

/// Asks (or reads from flags) severity, reproduction and summary.
pub fn confirm(ui: &Ui, config: &Config, args: &StartArgs) -> Result<Confirmation> {
    // Without a terminal, name every missing answer at once rather than one per run.
    if !ui.can_prompt() {
        let missing: Vec<&str> = [
            (args.severity.is_none(), "--severity <criterion>"),
            (!args.reproduced, "--reproduced"),
            (args.summary.is_none(), "--summary <text>"),
        ]
        .into_iter()
        .filter_map(|(absent, flag)| absent.then_some(flag))
        .collect();
        if missing.len() > 1 {
            let (last, rest) = missing.split_last().expect("more than one");
            return Err(Refusal::usage(format!(
                "the confirm step needs answers and there is no terminal to ask on; pass {} and {last}",
                rest.join(", ")
            ))
            .into());
        }
    }
    let severity = match &args.severity {
        Some(s) => config.check_severity(s)?,
        None => {
            let items = &config.severity.criteria;
            let i = ui.select(
                "Which severity criterion does this incident meet?",
                items,
                "--severity <criterion>",
            )?;
            items[i].clone()
        }
    };
    // Reproduction is a fact to state, not a prompt to wave through: `--yes` does not answer it.
    let reproduced =
        args.reproduced || ui.confirm_fact("Have you reproduced the problem?", "--reproduced")?;
    if !reproduced {
        return Err(Refusal::gate("a hotfix starts from a reproduced problem, and this one is not reproduced yet")
            .hint("reproduce it, then run start again with --reproduced; if it was configuration or caching, use `hotfix start <name> --not-code`")
            .into());
    }
    let summary = summary(ui, args)?;
    Ok(Confirmation {
        severity,
        reproduced,
        summary,
    })
}

/// The one-line summary, from `--summary` or a prompt.
pub fn summary(ui: &Ui, args: &StartArgs) -> Result<String> {
    let text = match &args.summary {
        Some(s) => s.clone(),
        None => ui.input(
            "One line: what is broken in production?",
            "--summary <text>",
        )?,
    };
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(Refusal::usage("the summary is empty; say in one line what is broken").into());
    }
    if text.contains(['\n', '\r']) {
        return Err(Refusal::usage("the summary must be one line").into());
    }
    Ok(text)
}

/// A "not a code change" outcome, kept in git for `stats` (`refs/hotfix/not-code/…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCode {
    pub name: String,
    pub summary: String,
    pub severity: Option<String>,
    pub recorded_at: jiff::Timestamp,
    pub by_name: String,
    pub by_email: String,
}

pub const NOT_CODE_REFS: &str = "refs/hotfix/not-code/";

/// Records a `--not-code` outcome; returns the ref it was stored under.
pub fn record_not_code(
    repo: &Repo,
    who: &Identity,
    name: &str,
    summary: String,
    severity: Option<String>,
) -> Result<String> {
    let record = NotCode {
        name: name.to_string(),
        summary,
        severity,
        recorded_at: jiff::Timestamp::now(),
        by_name: who.name.clone(),
        by_email: who.email.clone(),
    };
    let stem = not_code_stem(&record);
    // two records of one name in the same second must not replace each other
    let json = serde_json::to_vec_pretty(&record)?;
    repo.write_new_record_ref(&stem, &json, "hotfix start --not-code")
}

/// Where `record_not_code` stores a record: `<name>-<unix-seconds>` (then `-2`, `-3`…).
fn not_code_stem(record: &NotCode) -> String {
    format!(
        "{NOT_CODE_REFS}{}-{}",
        record.name.replace('/', "-"),
        record.recorded_at.as_second()
    )
}

/// Every recorded "not a code change" outcome: a blob that parses and sits where
/// `record_not_code` would have stored it (a copy under another name counts nothing twice).
pub fn read_not_code(repo: &Repo) -> Result<Vec<NotCode>> {
    Ok(repo
        .read_record_refs(NOT_CODE_REFS)?
        .into_iter()
        .filter_map(|(refname, bytes)| {
            let record: NotCode = serde_json::from_slice(&bytes).ok()?;
            let stem = not_code_stem(&record);
            let rest = refname.strip_prefix(&stem)?;
            let numbered = rest
                .strip_prefix('-')
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2));
            (rest.is_empty() || numbered).then_some(record)
        })
        .collect())
}
