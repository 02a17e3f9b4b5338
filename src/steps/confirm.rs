//! The confirm step: is the issue real, reproduced, and severe enough for a hotfix? Or was it
//! not a code problem at all (configuration, caching, a misunderstanding)?

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cli::StartArgs;
use crate::config::Config;
use crate::error::Refusal;
use crate::git::{Identity, Repo};
use crate::ui::{Ui, shell_word};

/// The answers of the confirm step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub severity: String,
    pub reproduced: bool,
    pub summary: String,
}

/// What the confirm step concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A hotfix: the branch is made.
    Hotfix(Confirmation),
    /// Not reproduced, and the user says it was not a code problem: recorded, no branch.
    NotCode { severity: String, summary: String },
}

/// What the user may do when the problem is not reproduced, in the order offered.
pub const NOT_REPRODUCED_CHOICES: [&str; 2] = [
    "It was not a code problem (configuration, caching, a misunderstanding): record that, make no branch",
    "Stop here; I will reproduce it and start again",
];

/// Asks (or reads from flags) severity, reproduction and summary.
pub fn confirm(ui: &Ui, config: &Config, args: &StartArgs) -> Result<Outcome> {
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
        return not_reproduced(ui, args, severity);
    }
    let summary = summary(ui, args)?;
    Ok(Outcome::Hotfix(Confirmation {
        severity,
        reproduced,
        summary,
    }))
}

/// "No" to "Have you reproduced the problem?": the answers given so far are not thrown away.
/// The user says what it was: not a code problem (recorded for stats, no branch), or a problem
/// still to reproduce (nothing is recorded; the hint gives back the command with the answers).
fn not_reproduced(ui: &Ui, args: &StartArgs, severity: String) -> Result<Outcome> {
    let choices = NOT_REPRODUCED_CHOICES.map(String::from);
    let i = ui.select(
        "A hotfix starts from a reproduced problem. What now?",
        &choices,
        "--reproduced or --not-code",
    )?;
    if i == 0 {
        let summary = summary(ui, args)?;
        return Ok(Outcome::NotCode { severity, summary });
    }
    let name = shell_word(&args.name);
    let again = match &args.summary {
        Some(s) => format!(
            "hotfix start {name} --severity {} --summary {} --reproduced",
            shell_word(&severity),
            shell_word(s)
        ),
        None => format!(
            "hotfix start {name} --severity {} --reproduced",
            shell_word(&severity)
        ),
    };
    Err(
        Refusal::gate("stopped before the branch: the problem is not reproduced yet; nothing was recorded")
            .hint(format!(
                "once it is reproduced, run `{again}`; if it turns out to be configuration or caching, `hotfix start {name} --not-code`"
            ))
            .into(),
    )
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
    // it is printed on teammates' terminals (`status`, `list`) and goes into the release
    // record: an escape sequence there would clear or rewrite what they read
    if let Some(c) = text.chars().find(|c| crate::ui::is_hiding(*c)) {
        return Err(Refusal::usage(format!(
            "the summary holds a control character ({}); write it in plain text",
            c.escape_unicode()
        ))
        .into());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str) -> StartArgs {
        StartArgs {
            name: name.to_string(),
            from: None,
            severity: None,
            reproduced: false,
            summary: None,
            not_code: false,
            detected: None,
            version: None,
        }
    }

    fn hint(err: &anyhow::Error) -> String {
        err.downcast_ref::<Refusal>()
            .and_then(Refusal::hint_text)
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn every_answer_from_the_prompts() {
        let ui = Ui::scripted(&["revenue-loss", "y", "checkout returns 500"]);
        let out = confirm(&ui, &Config::default(), &args("checkout-500")).unwrap();
        assert_eq!(
            out,
            Outcome::Hotfix(Confirmation {
                severity: "revenue-loss".into(),
                reproduced: true,
                summary: "checkout returns 500".into(),
            })
        );
    }

    #[test]
    fn not_reproduced_can_be_recorded_as_not_a_code_change() {
        let ui = Ui::scripted(&[
            "data-corruption",
            "n",
            NOT_REPRODUCED_CHOICES[0],
            "a stale cache served old prices",
        ]);
        let out = confirm(&ui, &Config::default(), &args("prices")).unwrap();
        assert_eq!(
            out,
            Outcome::NotCode {
                severity: "data-corruption".into(),
                summary: "a stale cache served old prices".into(),
            }
        );
    }

    #[test]
    fn not_reproduced_and_stopped_gives_back_the_command_with_the_answers() {
        let ui = Ui::scripted(&["revenue-loss", "no", NOT_REPRODUCED_CHOICES[1]]);
        let err = confirm(&ui, &Config::default(), &args("checkout-500")).unwrap_err();
        let refusal = err.downcast_ref::<Refusal>().expect("a refusal");
        assert_eq!(refusal.exit_code(), crate::error::EXIT_GATE);
        assert!(err.to_string().contains("nothing was recorded"), "{err}");
        assert_eq!(
            hint(&err),
            "once it is reproduced, run `hotfix start checkout-500 --severity revenue-loss --reproduced`; if it turns out to be configuration or caching, `hotfix start checkout-500 --not-code`"
        );
    }

    #[test]
    fn the_summary_given_as_a_flag_is_kept_in_the_command_given_back() {
        let mut a = args("checkout-500");
        a.summary = Some("it's down".into());
        let ui = Ui::scripted(&["revenue-loss", "n", NOT_REPRODUCED_CHOICES[1]]);
        let err = confirm(&ui, &Config::default(), &a).unwrap_err();
        assert!(
            hint(&err).contains(r"--summary 'it'\''s down' --reproduced"),
            "{}",
            hint(&err)
        );
    }
}
