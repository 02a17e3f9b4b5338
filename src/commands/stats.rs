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
use crate::learn::{self, ProductionRelease};

mod html;

/// The reference time for "this month", for reproducible reports: an RFC 3339 time or a date.
const NOW_VAR: &str = "HOTFIX_NOW";
/// The widest bar of the chart, in characters.
const BAR_WIDTH: usize = 40;
/// How many tags a human-readable line names before it says "and N more".
const NAMED: usize = 10;
/// How many releases, origins and paths the hot-spot lists rank.
const HOT_SPOTS: usize = 10;

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
pub fn start_of_day(d: Date) -> Result<Timestamp> {
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

/// Fewer releases than this in the six months compared: no direction is claimed.
const TREND_MIN_RELEASES: usize = 3;

/// `--since`: a day (YYYY-MM-DD), or a month (YYYY-MM) meaning its first day.
pub fn parse_since(text: &str) -> Result<Date> {
    let b = text.as_bytes();
    let day = text.len() == 10 && b[4] == b'-' && b[7] == b'-';
    let month = text.len() == 7 && b[4] == b'-';
    let parsed = if month {
        format!("{text}-01").parse::<Date>()
    } else {
        text.parse::<Date>()
    };
    match parsed {
        Ok(d) if day || month => Ok(d),
        _ => Err(Refusal::usage(format!(
            "--since {text} is not a date of the form YYYY-MM-DD or a month YYYY-MM"
        ))
        .hint("for example: --since 2026-01-01, or --since 2026-12 for December 2026 on")
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
    change_failure_rate: FailureRateJson,
    time_to_restore: Option<RestoreJson>,
    hot_spots: HotSpotsJson,
}

/// Hotfix releases among all production releases.
#[derive(Serialize)]
struct FailureRateJson {
    hotfixes: usize,
    releases: usize,
    rate: Option<f64>,
    months: Vec<FailureMonthJson>,
    /// How many production releases were dated by their tag (no record gives a deploy time).
    dated_by_tag: usize,
    note: &'static str,
}

#[derive(Serialize)]
struct FailureMonthJson {
    month: String,
    hotfixes: usize,
    releases: usize,
    rate: Option<f64>,
}

/// From when the incident began to the verified deploy.
#[derive(Serialize)]
struct RestoreJson {
    median_seconds: i64,
    worst_seconds: i64,
    worst_tag: String,
    /// Releases whose record says when the incident was detected; the others count from start.
    with_detected_time: usize,
    months: Vec<RestoreMonthJson>,
}

#[derive(Serialize)]
struct RestoreMonthJson {
    month: String,
    releases: usize,
    median_seconds: i64,
    worst_seconds: i64,
}

#[derive(Serialize)]
struct HotSpotsJson {
    /// The releases hotfixes were made for (their base), most hotfixes first.
    releases: Vec<CountJson>,
    /// The releases that first shipped the bugs, from the reviews' origins.
    origins: Vec<OriginCountJson>,
    /// The files hotfixes changed, most hotfixes first.
    paths: Vec<CountJson>,
}

#[derive(Serialize)]
struct CountJson {
    name: String,
    hotfixes: usize,
}

#[derive(Serialize)]
struct OriginCountJson {
    release: String,
    hotfixes: usize,
    confirmed: usize,
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
    /// The refs judged against: the newer of the local branch and its remote-tracking one.
    checked_against: Vec<String>,
    #[serde(skip)]
    label: String,
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
    let history = History::load(ctx)?;
    let production = learn::production_releases(&ctx.repo, &learn::tag_pattern(&ctx.repo)?)?;
    let paths = changed_paths(&ctx.repo, &history)?;
    let report = compute(&history, &production, &paths, since, now)?;
    if let Some(file) = &args.html {
        let page = html::render(&report);
        crate::state::write_atomic(&absolute(file)?, page.as_bytes()).map_err(|e| {
            Refusal::usage(format!("could not write {}: {e:#}", file.display()))
                .hint("name a file in a folder that exists and you can write to")
        })?;
        ctx.ui
            .status(format!("Wrote the report to {}.", file.display()));
    }
    if ctx.ui.json {
        ctx.ui.data(serde_json::to_string_pretty(&report)?);
    } else {
        print(ctx, &report);
    }
    Ok(())
}

/// A file name as given, made absolute against the current directory (its folder must exist).
fn absolute(file: &std::path::Path) -> Result<std::path::PathBuf> {
    if file.as_os_str().is_empty() || file.is_dir() {
        return Err(Refusal::usage(format!(
            "--html needs a file name, and `{}` is a folder or empty",
            file.display()
        ))
        .into());
    }
    let path = if file.is_absolute() {
        file.to_path_buf()
    } else {
        std::env::current_dir()?.join(file)
    };
    if file.file_name().is_none() || path.parent().is_none_or(|p| !p.is_dir()) {
        return Err(Refusal::usage(format!(
            "cannot write {}: its folder does not exist",
            file.display()
        ))
        .into());
    }
    Ok(path)
}

/// The files each release's commits changed (a union per release), in release order.
fn changed_paths(repo: &crate::git::Repo, h: &History) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::with_capacity(h.releases.len());
    for r in &h.releases {
        let mut paths: Vec<String> = Vec::new();
        for c in &r.record.commits {
            let Ok(oid) = crate::git::Oid::from_str(c) else {
                continue;
            };
            // a commit this clone lacks (a shallow clone) leaves its paths out, not the report
            let Ok(changed) = repo.commit_changed_paths(oid) else {
                continue;
            };
            for p in changed {
                let p = String::from_utf8_lossy(&p).into_owned();
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        out.push(paths);
    }
    Ok(out)
}

fn compute(
    h: &History,
    production: &[ProductionRelease],
    paths: &[Vec<String>],
    since: Option<Date>,
    now: Timestamp,
) -> Result<StatsJson> {
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

    let current = month_of(now);
    let per_month = per_month(h, &releases, &not_code);
    let (root_causes, missing_retros) = root_causes(h, &releases);
    let emergencies = releases.len() + not_code.len();
    Ok(StatsJson {
        since: since.map(|d| d.to_string()),
        current_month: month_label(current),
        releases: releases.len(),
        months: months(&per_month, since, current),
        trend: trend(&per_month, since, current),
        root_causes,
        retros: RetrosJson {
            done: releases.len() - missing_retros.len(),
            missing: missing_retros.len(),
            missing_tags: missing_retros,
        },
        lead_time: lead_time(h, &releases),
        not_code: NotCodeJson {
            count: not_code.len(),
            emergencies,
            share: share(not_code.len(), emergencies),
        },
        overrides: overrides(h, &releases),
        merge_back: merge_back(h, &releases),
        change_failure_rate: failure_rate(h, production, &kept),
        time_to_restore: restore(h, &releases),
        hot_spots: hot_spots(h, &releases, paths),
    })
}

/// Releases and not-a-code-change records per month.
fn per_month(
    h: &History,
    releases: &[usize],
    not_code: &[Timestamp],
) -> BTreeMap<Month, (usize, usize)> {
    let mut per_month: BTreeMap<Month, (usize, usize)> = BTreeMap::new();
    for &i in releases {
        per_month
            .entry(month_of(h.releases[i].record.deployed_at))
            .or_default()
            .0 += 1;
    }
    for t in not_code {
        per_month.entry(month_of(*t)).or_default().1 += 1;
    }
    per_month
}

/// Months: from --since (or the first record) to this month, empty months included.
fn months(
    per_month: &BTreeMap<Month, (usize, usize)>,
    since: Option<Date>,
    current: Month,
) -> Vec<MonthJson> {
    let first = since
        .map(month_of_date)
        .or_else(|| per_month.keys().next().copied());
    let last = per_month
        .keys()
        .next_back()
        .copied()
        .map_or(current, |m| m.max(current));
    match first {
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
    }
}

/// Trend: this month and the two before, against the three before those. A --since that cuts
/// into those six months would make the older window look empty, so there is no trend then.
fn trend(
    per_month: &BTreeMap<Month, (usize, usize)>,
    since: Option<Date>,
    current: Month,
) -> Option<TrendJson> {
    let window = |from: Month, to: Month| WindowJson {
        from: month_label(from),
        to: month_label(to),
        releases: (from..=to)
            .map(|m| per_month.get(&m).map_or(0, |c| c.0))
            .sum(),
    };
    since
        .is_none_or(|s| s <= month_start(current - 5))
        .then(|| {
            let recent = window(current - 2, current);
            let previous = window(current - 5, current - 3);
            TrendJson {
                direction: direction(recent.releases, previous.releases),
                recent,
                previous,
            }
        })
}

/// Root causes, from the newest review of each release, most frequent first; and the releases
/// with no review yet.
fn root_causes(h: &History, releases: &[usize]) -> (Vec<CauseJson>, Vec<String>) {
    let mut causes: BTreeMap<String, usize> = CAUSES
        .iter()
        .map(|c| (cause_name(*c).to_string(), 0))
        .collect();
    let mut missing_retros = Vec::new();
    for &i in releases {
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
    (root_causes, missing_retros)
}

/// Lead time (start to deploy): the median, and the worst with the first release that took it.
fn lead_time(h: &History, releases: &[usize]) -> Option<LeadJson> {
    let mut leads: Vec<(i64, &str)> = releases
        .iter()
        .map(|&i| {
            let r = &h.releases[i];
            (r.record.lead_time().as_secs(), r.tag.as_str())
        })
        .collect();
    leads.sort();
    let seconds: Vec<i64> = leads.iter().map(|l| l.0).collect();
    median(&seconds).map(|median_seconds| {
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
    })
}

/// Overrides: how many releases had any, and per gate.
fn overrides(h: &History, releases: &[usize]) -> OverridesJson {
    let mut by_gate: BTreeMap<String, usize> = ["guard", "review", "test"]
        .iter()
        .map(|g| (g.to_string(), 0))
        .collect();
    let mut overridden = 0;
    for &i in releases {
        let o = &h.releases[i].record.overrides;
        if !o.is_empty() {
            overridden += 1;
        }
        for o in o {
            *by_gate.entry(o.gate.clone()).or_default() += 1;
        }
    }
    OverridesJson {
        total: by_gate.values().sum(),
        releases: overridden,
        by_gate,
    }
}

/// Merge-back compliance against the development branch, when there is one.
fn merge_back(h: &History, releases: &[usize]) -> Option<MergeJson> {
    h.merged.as_ref().map(|(dev, presence)| {
        let count = |want: Presence| releases.iter().filter(|&&i| presence[i] == want).count();
        let (merged, cherry_picked) = (count(Presence::Merged), count(Presence::CherryPicked));
        MergeJson {
            development: dev.branch.clone(),
            checked_against: dev.refs.clone(),
            label: dev.label.clone(),
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
    })
}

/// Hotfix releases among all production releases in the window, per month and overall. A
/// hotfix release is dated by its record's deploy time; any other release by its tag.
fn failure_rate(
    h: &History,
    production: &[ProductionRelease],
    kept: &dyn Fn(Timestamp) -> bool,
) -> FailureRateJson {
    let hotfix: std::collections::HashMap<&str, Timestamp> = h
        .releases
        .iter()
        .map(|r| (r.tag.as_str(), r.record.deployed_at))
        .collect();
    // every production tag, and the hotfix releases whose tags the pattern does not match
    let mut dated: Vec<(Timestamp, bool)> = Vec::new();
    let mut by_tag = 0;
    for p in production {
        match hotfix.get(p.tag.as_str()) {
            Some(at) => dated.push((*at, true)),
            None => {
                by_tag += usize::from(kept(p.at));
                dated.push((p.at, false));
            }
        }
    }
    for r in &h.releases {
        if !production.iter().any(|p| p.tag == r.tag) {
            dated.push((r.record.deployed_at, true));
        }
    }
    dated.retain(|(t, _)| kept(*t));
    let mut per_month: BTreeMap<Month, (usize, usize)> = BTreeMap::new();
    for (t, is_hotfix) in &dated {
        let e = per_month.entry(month_of(*t)).or_default();
        e.1 += 1;
        e.0 += usize::from(*is_hotfix);
    }
    let hotfixes = dated.iter().filter(|d| d.1).count();
    FailureRateJson {
        hotfixes,
        releases: dated.len(),
        rate: share(hotfixes, dated.len()),
        months: per_month
            .into_iter()
            .map(|(m, (hotfixes, releases))| FailureMonthJson {
                month: month_label(m),
                hotfixes,
                releases,
                rate: share(hotfixes, releases),
            })
            .collect(),
        dated_by_tag: by_tag,
        note: "a release without a hotfix record is dated by its tag, which stands for its deploy date",
    }
}

/// Median and worst of `values` (seconds), with the index of the first worst.
fn median_worst(values: &[(i64, usize)]) -> Option<(i64, i64, usize)> {
    let mut secs: Vec<i64> = values.iter().map(|v| v.0).collect();
    secs.sort();
    let median = median(&secs)?;
    let worst = *secs.last()?;
    let at = values.iter().find(|v| v.0 == worst)?.1;
    Some((median, worst, at))
}

fn restore(h: &History, releases: &[usize]) -> Option<RestoreJson> {
    let all: Vec<(i64, usize)> = releases
        .iter()
        .map(|&i| (h.releases[i].record.time_to_restore().as_secs(), i))
        .collect();
    let (median_seconds, worst_seconds, worst) = median_worst(&all)?;
    let mut per_month: BTreeMap<Month, Vec<(i64, usize)>> = BTreeMap::new();
    for &(secs, i) in &all {
        per_month
            .entry(month_of(h.releases[i].record.deployed_at))
            .or_default()
            .push((secs, i));
    }
    Some(RestoreJson {
        median_seconds,
        worst_seconds,
        worst_tag: h.releases[worst].tag.clone(),
        with_detected_time: releases
            .iter()
            .filter(|&&i| h.releases[i].record.detected_at.is_some())
            .count(),
        months: per_month
            .into_iter()
            .filter_map(|(m, v)| {
                let (median_seconds, worst_seconds, _) = median_worst(&v)?;
                Some(RestoreMonthJson {
                    month: month_label(m),
                    releases: v.len(),
                    median_seconds,
                    worst_seconds,
                })
            })
            .collect(),
    })
}

/// Names ranked by count (then by name), the first HOT_SPOTS.
fn ranked(counts: BTreeMap<String, usize>) -> Vec<CountJson> {
    let mut v: Vec<CountJson> = counts
        .into_iter()
        .map(|(name, hotfixes)| CountJson { name, hotfixes })
        .collect();
    v.sort_by(|a, b| {
        b.hotfixes
            .cmp(&a.hotfixes)
            .then_with(|| a.name.cmp(&b.name))
    });
    v.truncate(HOT_SPOTS);
    v
}

fn hot_spots(h: &History, releases: &[usize], paths: &[Vec<String>]) -> HotSpotsJson {
    let mut bases: BTreeMap<String, usize> = BTreeMap::new();
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    let mut origins: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for &i in releases {
        let r = &h.releases[i];
        let base = r
            .record
            .base_tag
            .clone()
            .unwrap_or_else(|| r.record.base_commit.chars().take(10).collect());
        *bases.entry(base).or_default() += 1;
        for p in paths.get(i).into_iter().flatten() {
            *files.entry(p.clone()).or_default() += 1;
        }
        // one count per hotfix for each release its bug's commits first shipped in
        if let Some(o) = h.retros.get(&r.tag).and_then(|x| x.origin.as_ref()) {
            let mut seen: Vec<&str> = Vec::new();
            for c in &o.commits {
                let release = c.release.as_deref().unwrap_or("no release");
                if !seen.contains(&release) {
                    seen.push(release);
                    let e = origins.entry(release.to_string()).or_default();
                    e.0 += 1;
                    e.1 += usize::from(o.confirmed);
                }
            }
        }
    }
    let mut origins: Vec<OriginCountJson> = origins
        .into_iter()
        .map(|(release, (hotfixes, confirmed))| OriginCountJson {
            release,
            hotfixes,
            confirmed,
        })
        .collect();
    origins.sort_by(|a, b| {
        b.hotfixes
            .cmp(&a.hotfixes)
            .then_with(|| a.release.cmp(&b.release))
    });
    origins.truncate(HOT_SPOTS);
    HotSpotsJson {
        releases: ranked(bases),
        origins,
        paths: ranked(files),
    }
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
        // one or two releases in six months say nothing about a direction
        Some(t) if t.recent.releases + t.previous.releases < TREND_MIN_RELEASES => {
            ui.data(format!(
                "{} too few releases to tell: {} in {}..{} against {} in {}..{}",
                ui.bold("Trend:"),
                t.recent.releases,
                t.recent.from,
                t.recent.to,
                t.previous.releases,
                t.previous.from,
                t.previous.to,
            ))
        }
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

    let cfr = &s.change_failure_rate;
    ui.data(format!(
        "{} {} of {} production releases were hotfixes ({})",
        ui.bold("Change failure rate:"),
        cfr.hotfixes,
        cfr.releases,
        percent(cfr.rate)
    ));
    if let Some(t) = &s.time_to_restore {
        ui.data(format!(
            "{} median {}, worst {} ({}), from when the incident was detected ({} of {} releases say; the others from the start)",
            ui.bold("Time to restore:"),
            duration_text(t.median_seconds),
            duration_text(t.worst_seconds),
            t.worst_tag,
            t.with_detected_time,
            s.releases
        ));
    }
    if !cfr.months.is_empty() {
        ui.data("  month    hotfixes  releases  failure rate  restore: median  worst");
        for m in &cfr.months {
            let restore = s
                .time_to_restore
                .as_ref()
                .and_then(|t| t.months.iter().find(|r| r.month == m.month));
            let (median, worst) = restore.map_or_else(
                || ("-".to_string(), "-".to_string()),
                |r| {
                    (
                        duration_text(r.median_seconds),
                        duration_text(r.worst_seconds),
                    )
                },
            );
            ui.data(format!(
                "  {}  {:>8}  {:>8}  {:>12}  {:>15}  {:>5}",
                m.month,
                m.hotfixes,
                m.releases,
                percent(m.rate),
                median,
                worst
            ));
        }
    }
    if cfr.dated_by_tag > 0 {
        ui.data(format!(
            "  {} release{} without a hotfix record {} dated by {} tag, which stands for the deploy date",
            cfr.dated_by_tag,
            if cfr.dated_by_tag == 1 { "" } else { "s" },
            if cfr.dated_by_tag == 1 { "is" } else { "are" },
            if cfr.dated_by_tag == 1 { "its" } else { "their" }
        ));
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
    // a ranking of ones says nothing: only what needed more than one hotfix is named
    let hs = &s.hot_spots;
    let counts = |v: &[CountJson]| {
        let many: Vec<String> = v
            .iter()
            .filter(|c| c.hotfixes > 1)
            .map(|c| format!("{} {}", c.name, c.hotfixes))
            .collect();
        if many.is_empty() {
            "none needed more than one hotfix".to_string()
        } else {
            many.join(", ")
        }
    };
    if !hs.releases.is_empty() {
        ui.data(format!(
            "{} {}",
            ui.bold("Releases hotfixed most:"),
            counts(&hs.releases)
        ));
    }
    if !hs.origins.is_empty() {
        let o: Vec<String> = hs
            .origins
            .iter()
            .map(|o| format!("{} {} ({} confirmed)", o.release, o.hotfixes, o.confirmed))
            .collect();
        ui.data(format!(
            "{} {}",
            ui.bold("Bugs first shipped in:"),
            o.join(", ")
        ));
    }
    if !hs.paths.is_empty() {
        ui.data(format!(
            "{} {}",
            ui.bold("Files fixed most:"),
            counts(&hs.paths)
        ));
    }
    ui.data(format!(
        "{} {} of {} emergencies ({}); about 20% is usual, and a much lower share may mean that configuration, caching and misunderstandings are not ruled out before a fix is started",
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
                m.label,
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
