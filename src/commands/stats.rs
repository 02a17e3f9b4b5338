//! `hotfix stats`: how often the team ships hotfixes and why, read from git (the release tags'
//! records, `refs/hotfix/retros/*`, `refs/hotfix/not-code/*`), so every teammate who fetches
//! sees the same numbers.

use std::collections::BTreeMap;

use anyhow::Result;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::civil::Time;
use jiff::tz::Offset;
use serde::Serialize;

use crate::app::Ctx;
use crate::cli::StatsArgs;
use crate::commands::list::{History, duration_text};
use crate::commands::retro::{CAUSES, cause_name};
use crate::error::Refusal;
use crate::history::Presence;

/// The reference time for "this month", for reproducible reports: an RFC 3339 time or a date.
const NOW_VAR: &str = "HOTFIX_NOW";
/// The widest bar of the chart, in characters.
const BAR_WIDTH: usize = 40;
/// How many tags a human-readable line names before it says "and N more".
const NAMED: usize = 10;

/// A month as a number: `year * 12 + month - 1`.
type Month = i32;

fn month_of(t: Timestamp) -> Month {
    let d = Offset::UTC.to_datetime(t).date();
    i32::from(d.year()) * 12 + i32::from(d.month()) - 1
}

fn month_of_date(d: Date) -> Month {
    i32::from(d.year()) * 12 + i32::from(d.month()) - 1
}

/// Midnight UTC at the start of `d`.
fn start_of_day(d: Date) -> Result<Timestamp> {
    Ok(Offset::UTC.to_timestamp(d.to_datetime(Time::midnight()))?)
}

fn month_label(m: Month) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

fn month_start(m: Month) -> Date {
    // Both parts come from a valid date's year and month.
    Date::new(m.div_euclid(12) as i16, (m.rem_euclid(12) + 1) as i8, 1).expect("a valid month")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Rising,
    Flat,
    Falling,
}

/// Rising if the recent window has more releases than the one before, falling if fewer.
pub fn direction(recent: usize, previous: usize) -> Direction {
    match recent.cmp(&previous) {
        std::cmp::Ordering::Greater => Direction::Rising,
        std::cmp::Ordering::Equal => Direction::Flat,
        std::cmp::Ordering::Less => Direction::Falling,
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn parse_since(text: &str) -> Result<Date> {
    let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    match text.parse::<Date>() {
        Ok(d) if ok => Ok(d),
        _ => Err(Refusal::usage(format!(
            "--since {text} is not a date of the form YYYY-MM-DD"
        ))
        .hint("for example: hotfix stats --since 2026-01-01")
        .into()),
    }
}

fn now() -> Result<Timestamp> {
    let Some(value) = std::env::var_os(NOW_VAR) else {
        return Ok(Timestamp::now());
    };
    let text = value.to_string_lossy();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    match text.parse::<Date>() {
        Ok(d) => start_of_day(d),
        Err(_) => Err(Refusal::usage(format!(
            "{NOW_VAR}={text} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"
        ))
        .hint(format!("unset {NOW_VAR} to use the current time"))
        .into()),
    }
}

#[derive(Serialize)]
struct StatsJson {
    since: Option<String>,
    current_month: String,
    releases: usize,
    months: Vec<MonthJson>,
    trend: Option<TrendJson>,
    root_causes: Vec<CauseJson>,
    retros: RetrosJson,
    lead_time: Option<LeadJson>,
    not_code: NotCodeJson,
    overrides: OverridesJson,
    merge_back: Option<MergeJson>,
}

#[derive(Serialize)]
struct MonthJson {
    month: String,
    releases: usize,
    not_code: usize,
}

#[derive(Serialize)]
struct TrendJson {
    direction: Direction,
    recent: WindowJson,
    previous: WindowJson,
}

#[derive(Serialize)]
struct WindowJson {
    from: String,
    to: String,
    releases: usize,
}

#[derive(Serialize)]
struct CauseJson {
    cause: String,
    count: usize,
}

#[derive(Serialize)]
struct RetrosJson {
    done: usize,
    missing: usize,
    missing_tags: Vec<String>,
}

#[derive(Serialize)]
struct LeadJson {
    median_seconds: i64,
    worst_seconds: i64,
    worst_tag: String,
}

#[derive(Serialize)]
struct NotCodeJson {
    count: usize,
    /// Hotfix releases plus not-code outcomes.
    emergencies: usize,
    share: Option<f64>,
}

#[derive(Serialize)]
struct OverridesJson {
    total: usize,
    releases: usize,
    by_gate: BTreeMap<String, usize>,
}

#[derive(Serialize)]
struct MergeJson {
    development: String,
    checked: usize,
    merged: usize,
    cherry_picked: usize,
    missing: usize,
    compliance: Option<f64>,
    missing_tags: Vec<String>,
}

/// `hotfix stats`.
pub fn stats(ctx: &Ctx, args: &StatsArgs) -> Result<()> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let now = now()?;
    let history = History::load(&ctx.repo)?;
    let report = compute(&history, since, now)?;
    if ctx.ui.json {
        ctx.ui.data(serde_json::to_string_pretty(&report)?);
    } else {
        print(ctx, &report);
    }
    Ok(())
}

fn compute(h: &History, since: Option<Date>, now: Timestamp) -> Result<StatsJson> {
    let since_ts = since.map(start_of_day).transpose()?;
    let kept = |t: Timestamp| since_ts.is_none_or(|s| t >= s);
    let releases: Vec<usize> = (0..h.releases.len())
        .filter(|&i| kept(h.releases[i].record.deployed_at))
        .collect();
    let not_code: Vec<Timestamp> = h
        .not_code
        .iter()
        .map(|n| n.recorded_at)
        .filter(|t| kept(*t))
        .collect();

    // Months: from --since (or the first record) to this month, empty months included.
    let current = month_of(now);
    let mut per_month: BTreeMap<Month, (usize, usize)> = BTreeMap::new();
    for &i in &releases {
        per_month
            .entry(month_of(h.releases[i].record.deployed_at))
            .or_default()
            .0 += 1;
    }
    for t in &not_code {
        per_month.entry(month_of(*t)).or_default().1 += 1;
    }
    let first = since
        .map(month_of_date)
        .or_else(|| per_month.keys().next().copied());
    let last = per_month
        .keys()
        .next_back()
        .copied()
        .map_or(current, |m| m.max(current));
    let months: Vec<MonthJson> = match first {
        Some(first) => (first..=last)
            .map(|m| {
                let (releases, not_code) = per_month.get(&m).copied().unwrap_or_default();
                MonthJson {
                    month: month_label(m),
                    releases,
                    not_code,
                }
            })
            .collect(),
        None => Vec::new(),
    };

    // Trend: this month and the two before, against the three before those. A --since that cuts
    // into those six months would make the older window look empty, so there is no trend then.
    let window = |from: Month, to: Month| WindowJson {
        from: month_label(from),
        to: month_label(to),
        releases: (from..=to)
            .map(|m| per_month.get(&m).map_or(0, |c| c.0))
            .sum(),
    };
    let trend = since
        .is_none_or(|s| s <= month_start(current - 5))
        .then(|| {
            let recent = window(current - 2, current);
            let previous = window(current - 5, current - 3);
            TrendJson {
                direction: direction(recent.releases, previous.releases),
                recent,
                previous,
            }
        });

    // Root causes, from the newest review of each release.
    let mut causes: BTreeMap<String, usize> = CAUSES
        .iter()
        .map(|c| (cause_name(*c).to_string(), 0))
        .collect();
    let mut missing_retros = Vec::new();
    for &i in &releases {
        let tag = &h.releases[i].tag;
        match h.retros.get(tag) {
            Some(r) => *causes.entry(r.cause.clone()).or_default() += 1,
            None => missing_retros.push(tag.clone()),
        }
    }
    let rank = |name: &str| {
        CAUSES
            .iter()
            .position(|c| cause_name(*c) == name)
            .unwrap_or(CAUSES.len())
    };
    let mut root_causes: Vec<CauseJson> = causes
        .into_iter()
        .map(|(cause, count)| CauseJson { cause, count })
        .collect();
    root_causes.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| rank(&a.cause).cmp(&rank(&b.cause)))
            .then_with(|| a.cause.cmp(&b.cause))
    });

    let mut leads: Vec<(i64, &str)> = releases
        .iter()
        .map(|&i| {
            let r = &h.releases[i];
            (r.record.lead_time().as_secs(), r.tag.as_str())
        })
        .collect();
    leads.sort();
    let seconds: Vec<i64> = leads.iter().map(|l| l.0).collect();
    let lead_time = median(&seconds).map(|median_seconds| {
        // the first release to take that long, when several did
        let worst = seconds[seconds.len() - 1];
        let worst_tag = releases
            .iter()
            .map(|&i| &h.releases[i])
            .find(|r| r.record.lead_time().as_secs() == worst)
            .map_or_else(String::new, |r| r.tag.clone());
        LeadJson {
            median_seconds,
            worst_seconds: worst,
            worst_tag,
        }
    });

    let mut by_gate: BTreeMap<String, usize> = ["guard", "review", "test"]
        .iter()
        .map(|g| (g.to_string(), 0))
        .collect();
    let mut overridden = 0;
    for &i in &releases {
        let o = &h.releases[i].record.overrides;
        if !o.is_empty() {
            overridden += 1;
        }
        for o in o {
            *by_gate.entry(o.gate.clone()).or_default() += 1;
        }
    }

    let merge_back = h.merged.as_ref().map(|(dev, presence)| {
        let count = |want: Presence| releases.iter().filter(|&&i| presence[i] == want).count();
        let (merged, cherry_picked) = (count(Presence::Merged), count(Presence::CherryPicked));
        MergeJson {
            development: dev.clone(),
            checked: releases.len(),
            merged,
            cherry_picked,
            missing: count(Presence::Missing),
            compliance: share(merged + cherry_picked, releases.len()),
            missing_tags: releases
                .iter()
                .filter(|&&i| presence[i] == Presence::Missing)
                .map(|&i| h.releases[i].tag.clone())
                .collect(),
        }
    });

    let emergencies = releases.len() + not_code.len();
    Ok(StatsJson {
        since: since.map(|d| d.to_string()),
        current_month: month_label(current),
        releases: releases.len(),
        months,
        trend,
        root_causes,
        retros: RetrosJson {
            done: releases.len() - missing_retros.len(),
            missing: missing_retros.len(),
            missing_tags: missing_retros,
        },
        lead_time,
        not_code: NotCodeJson {
            count: not_code.len(),
            emergencies,
            share: share(not_code.len(), emergencies),
        },
        overrides: OverridesJson {
            total: by_gate.values().sum(),
            releases: overridden,
            by_gate,
        },
        merge_back,
    })
}

fn bar(count: usize, max: usize) -> String {
    if count == 0 || max == 0 {
        return String::new();
    }
    let width = max.min(BAR_WIDTH);
    "█".repeat((count * width).div_ceil(max))
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".into(), |s| format!("{:.1}%", s * 100.0))
}

/// At most NAMED tags, then how many more.
fn named(tags: &[String]) -> String {
    let mut text = tags
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tags.len() > NAMED {
        text.push_str(&format!(" and {} more", tags.len() - NAMED));
    }
    text
}

fn print(ctx: &Ctx, s: &StatsJson) {
    let ui = ctx.ui;
    let since = s
        .since
        .as_ref()
        .map_or_else(String::new, |d| format!(" since {d}"));
    if s.releases == 0 && s.not_code.count == 0 {
        ui.data(format!("No hotfix releases{since}."));
        return;
    }

    ui.data(ui.bold(&format!(
        "Hotfix releases per month{since} (by deploy date, UTC)"
    )));
    let max = s.months.iter().map(|m| m.releases).max().unwrap_or(0);
    for m in &s.months {
        let bar = bar(m.releases, max);
        let gap = if bar.is_empty() { "" } else { " " };
        ui.data(format!("  {}  {bar}{gap}{}", m.month, m.releases));
    }
    ui.data(format!("  total: {}", s.releases));
    ui.data("");

    match &s.trend {
        Some(t) => ui.data(format!(
            "{} {}: {} in {}..{} against {} in {}..{}",
            ui.bold("Trend:"),
            match t.direction {
                Direction::Rising => "rising",
                Direction::Flat => "flat",
                Direction::Falling => "falling",
            },
            t.recent.releases,
            t.recent.from,
            t.recent.to,
            t.previous.releases,
            t.previous.from,
            t.previous.to,
        )),
        None => ui.data(format!(
            "{} none: --since leaves fewer than the six months it compares",
            ui.bold("Trend:")
        )),
    }

    ui.data(format!(
        "{} ({} of {} releases reviewed)",
        ui.bold("Root causes"),
        s.retros.done,
        s.releases
    ));
    let listed: Vec<&CauseJson> = s.root_causes.iter().filter(|c| c.count > 0).collect();
    let width = listed.iter().map(|c| c.cause.len()).max().unwrap_or(0);
    let top = listed.first().map_or(0, |c| c.count);
    for (n, c) in listed.iter().enumerate() {
        ui.data(format!(
            "  {}. {:<width$}  {} {}",
            n + 1,
            c.cause,
            bar(c.count, top),
            c.count
        ));
    }
    if listed.is_empty() {
        ui.data("  none yet: `hotfix retro <version>` records one");
    }
    if s.retros.missing > 0 {
        ui.data(format!(
            "{} {} ({})",
            ui.bold("Retros missing:"),
            s.retros.missing,
            named(&s.retros.missing_tags)
        ));
    } else {
        ui.data(format!("{} none", ui.bold("Retros missing:")));
    }

    if let Some(l) = &s.lead_time {
        ui.data(format!(
            "{} median {}, worst {} ({})",
            ui.bold("Start to deploy:"),
            duration_text(l.median_seconds),
            duration_text(l.worst_seconds),
            l.worst_tag
        ));
    }
    ui.data(format!(
        "{} {} of {} emergencies ({}); the aim is at least 20%",
        ui.bold("Not a code change:"),
        s.not_code.count,
        s.not_code.emergencies,
        percent(s.not_code.share)
    ));
    let gates: Vec<String> = s
        .overrides
        .by_gate
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(g, n)| format!("{g} {n}"))
        .collect();
    ui.data(if gates.is_empty() {
        format!("{} none", ui.bold("Gate overrides:"))
    } else {
        format!(
            "{} {} in {} release{} ({})",
            ui.bold("Gate overrides:"),
            s.overrides.total,
            s.overrides.releases,
            if s.overrides.releases == 1 { "" } else { "s" },
            gates.join(", ")
        )
    });
    match &s.merge_back {
        Some(m) => {
            let mut line = format!(
                "{} {} of {} in {} ({}: {} merged, {} cherry-picked)",
                ui.bold("Merge-back:"),
                m.merged + m.cherry_picked,
                m.checked,
                m.development,
                percent(m.compliance),
                m.merged,
                m.cherry_picked
            );
            if m.missing > 0 {
                line.push_str(&format!("; missing: {}", named(&m.missing_tags)));
            }
            ui.data(line);
        }
        None => ui.data(format!(
            "{} unknown, no development branch found",
            ui.bold("Merge-back:")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_numbered_and_labelled() {
        let t: Timestamp = "2026-03-31T23:59:59Z".parse().unwrap();
        assert_eq!(month_label(month_of(t)), "2026-03");
        assert_eq!(month_label(month_of(t) - 3), "2025-12");
        assert_eq!(month_start(month_of(t) - 5).to_string(), "2025-10-01");
    }

    #[test]
    fn trend_compares_counts() {
        assert_eq!(direction(5, 4), Direction::Rising);
        assert_eq!(direction(4, 4), Direction::Flat);
        assert_eq!(direction(0, 1), Direction::Falling);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3]), Some(3));
        assert_eq!(median(&[1, 2, 9]), Some(2));
        assert_eq!(median(&[1, 2, 4, 9]), Some(3));
    }

    #[test]
    fn bars_scale_to_the_widest() {
        assert_eq!(bar(0, 5), "");
        assert_eq!(bar(3, 5).chars().count(), 3);
        assert_eq!(bar(80, 80).chars().count(), BAR_WIDTH);
        assert_eq!(bar(1, 80).chars().count(), 1);
    }

    #[test]
    fn since_is_a_plain_date() {
        assert!(parse_since("2026-02-01").is_ok());
        for bad in [
            "2026-13-01",
            "2026-2-1",
            "yesterday",
            "2026-02-01T00:00:00Z",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
