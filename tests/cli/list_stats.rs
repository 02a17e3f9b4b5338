//! `hotfix list` and `hotfix stats` on a generated history of dozens of hotfix releases over a
//! year: release tags carrying real records, not-code refs, and reviews made with the binary.

use hotfix::record::{DiffSize, OverrideUsed, Person, ReleaseRecord, SCHEMA};
use hotfix::steps::confirm::NotCode;
use jiff::{SignedDuration, Timestamp};

use crate::support::{AUTHOR, Env, Repo, Run};

/// "This month" for every stats run here: June 2026.
pub const NOW: &str = "2026-06-20";

pub const SEVERITIES: [&str; 4] = [
    "revenue-loss",
    "data-corruption",
    "security-exploit",
    "core-workflow-blocked",
];

/// Commits a fix on the checked-out branch and tags it as a hotfix release whose annotated tag
/// carries the record `hotfix deploy` would write. Returns the fix commit.
pub fn make_release(
    env: &Env,
    repo: &Repo,
    tag: &str,
    deployed_at: &str,
    lead_mins: i64,
    severity: &str,
    overrides: &[&str],
) -> String {
    let base = repo.head();
    let commit = repo.commit_file(
        &format!("fixes/{tag}.txt"),
        &format!("fix for {tag}\n"),
        &format!("fix {tag}"),
    );
    let deployed_at: Timestamp = deployed_at.parse().unwrap();
    let author = Person {
        name: AUTHOR.0.into(),
        email: AUTHOR.1.into(),
    };
    let record = ReleaseRecord {
        schema: SCHEMA,
        tag: tag.into(),
        version: tag.trim_start_matches('v').into(),
        name: format!("fix-{tag}"),
        branch: format!("hotfix/fix-{tag}"),
        base_tag: None,
        base_commit: base,
        commit: commit.clone(),
        tree: repo.rev("HEAD^{tree}"),
        commits: vec![commit.clone()],
        version_bump: None,
        severity: severity.into(),
        summary: format!("Outage fixed by {tag}"),
        author: author.clone(),
        approvers: vec![],
        signed_commits: vec![],
        test: None,
        diff: DiffSize {
            files: 1,
            lines: 1,
            flags: vec![],
        },
        overrides: overrides
            .iter()
            .map(|g| OverrideUsed {
                gate: g.to_string(),
                reason: "the outage could not wait".into(),
                by: author.clone(),
                at: deployed_at,
            })
            .collect(),
        started_at: deployed_at - SignedDuration::from_mins(lead_mins),
        detected_at: None,
        deployed_at,
    };
    let msg = env.path().join(format!("tag-message-{tag}"));
    std::fs::write(&msg, record.tag_message().unwrap()).unwrap();
    repo.git(&["tag", "-a", tag, "-F", msg.to_str().unwrap()]);
    commit
}

/// Stores a `start --not-code` outcome as `start` does: a JSON blob under refs/hotfix/not-code/.
pub fn make_not_code(
    env: &Env,
    repo: &Repo,
    name: &str,
    recorded_at: &str,
    severity: Option<&str>,
) {
    let recorded_at: Timestamp = recorded_at.parse().unwrap();
    let record = NotCode {
        name: name.into(),
        summary: format!("{name} was configuration"),
        severity: severity.map(String::from),
        recorded_at,
        by_name: AUTHOR.0.into(),
        by_email: AUTHOR.1.into(),
    };
    let file = env.path().join(format!("not-code-{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    let blob = repo.git(&["hash-object", "-w", file.to_str().unwrap()]);
    repo.git(&[
        "update-ref",
        &format!("refs/hotfix/not-code/{name}-{}", recorded_at.as_second()),
        blob.trim(),
    ]);
}

/// Releases per month, July 2025 to June 2026.
const RISING: [usize; 12] = [2, 1, 3, 2, 2, 3, 2, 3, 2, 4, 5, 7];
const FALLING: [usize; 12] = [7, 5, 4, 2, 3, 2, 3, 2, 2, 3, 1, 2];

/// (year, month) of the i-th month from July 2025.
fn month(i: usize) -> (i32, usize) {
    let m = 6 + i; // 0-based month index from January 2025
    (2025 + (m / 12) as i32, m % 12 + 1)
}

/// The releases of a per-month count table on `main`: tags v1.1.1…, deployed at 10:00 UTC on days
/// 1, 4, 7… of each month. Release i (from 0) took 10 + (7i mod 36) minutes from start to deploy,
/// has severity SEVERITIES[i % 4], and releases 3, 10 and 20 overrode gates. Returns the commits.
fn releases(env: &Env, repo: &Repo, counts: &[usize]) -> Vec<String> {
    repo.git(&["switch", "-q", "main"]);
    let mut commits = Vec::new();
    let mut i = 0;
    for (m, &count) in counts.iter().enumerate() {
        let (year, month) = month(m);
        for j in 0..count {
            let overrides: &[&str] = match i {
                3 => &["guard"],
                10 => &["test"],
                20 => &["guard", "review"],
                _ => &[],
            };
            commits.push(make_release(
                env,
                repo,
                &format!("v1.1.{}", i + 1),
                &format!("{year}-{month:02}-{:02}T10:00:00Z", 1 + 3 * j),
                10 + (7 * i as i64 % 36),
                SEVERITIES[i % 4],
                overrides,
            ));
            i += 1;
        }
    }
    commits
}

/// Causes given, in order, to the reviewed releases: 12, 8, 5, 3, 1, 1.
fn causes() -> Vec<&'static str> {
    let mut out = Vec::new();
    for (cause, n) in [
        ("regression-testing", 12),
        ("missing-coverage", 8),
        ("environment-config", 5),
        ("untested-edge-case", 3),
        ("external-dependency", 1),
        ("other", 1),
    ] {
        out.extend(std::iter::repeat_n(cause, n));
    }
    out
}

/// Releases that never got a review (index from 0).
const UNREVIEWED: [usize; 6] = [4, 9, 14, 19, 33, 35];

/// The rising history: 36 releases, 30 reviewed, 9 not-code outcomes, `develop` holding
/// releases 1–24 by merge and release 30 cherry-picked.
fn rising_history(env: &Env) -> Repo {
    let repo = env.released_repo();
    let commits = releases(env, &repo, &RISING);
    assert_eq!(commits.len(), 36);
    for (k, month) in [
        "2025-08", "2025-10", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
        "2026-06",
    ]
    .iter()
    .enumerate()
    {
        let severity = (k % 2 == 0).then_some("revenue-loss");
        make_not_code(
            env,
            &repo,
            &format!("cache-{k}"),
            &format!("{month}-05T09:00:00Z"),
            severity,
        );
    }
    repo.git(&["switch", "-q", "develop"]);
    repo.git(&["merge", "-q", "--no-edit", &commits[23]]);
    repo.git(&["cherry-pick", &commits[29]]);

    let mut causes = causes().into_iter();
    for i in (0..36).filter(|i| !UNREVIEWED.contains(i)) {
        let tag = format!("v1.1.{}", i + 1);
        let cause = causes.next().unwrap();
        // The first review is edited later: the newest revision is the one that counts.
        let first = if i == 0 { "other" } else { cause };
        repo.hotfix(&[
            "retro",
            &tag,
            "--why",
            &format!("why {tag}"),
            "--catch",
            "a test",
            "--cause",
            first,
        ])
        .ok();
        if i == 0 {
            repo.hotfix(&["retro", &tag, "--cause", cause]).ok();
        }
    }
    assert!(causes.next().is_none());
    repo
}

fn stats(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["stats"];
    all.extend(args);
    repo.hotfix_env(&all, &[("HOTFIX_NOW", NOW)])
}

#[test]
fn stats_on_a_rising_history() {
    let env = Env::new();
    let repo = rising_history(&env);
    let before = repo.snapshot();
    let run = stats(&repo, &["--json"]).ok();
    let json = run.json();

    assert_eq!(json["releases"], 36);
    assert_eq!(json["current_month"], "2026-06");
    let months: Vec<(String, u64, u64)> = json["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap().to_string(),
                m["releases"].as_u64().unwrap(),
                m["not_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(months[0], ("2025-07".into(), 2, 0));
    assert_eq!(months[1], ("2025-08".into(), 1, 1));
    assert_eq!(months[11], ("2026-06".into(), 7, 1));
    let per_month: Vec<u64> = months.iter().map(|m| m.1).collect();
    assert_eq!(per_month, RISING.map(|c| c as u64));

    let trend = &json["trend"];
    assert_eq!(trend["direction"], "rising");
    assert_eq!(trend["recent"]["from"], "2026-04");
    assert_eq!(trend["recent"]["to"], "2026-06");
    assert_eq!(trend["recent"]["releases"], 16);
    assert_eq!(trend["previous"]["from"], "2026-01");
    assert_eq!(trend["previous"]["to"], "2026-03");
    assert_eq!(trend["previous"]["releases"], 7);

    let ranking: Vec<(&str, u64)> = json["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["cause"].as_str().unwrap(), c["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        ranking,
        [
            ("regression-testing", 12),
            ("missing-coverage", 8),
            ("environment-config", 5),
            ("untested-edge-case", 3),
            ("external-dependency", 1),
            ("other", 1),
        ]
    );
    assert_eq!(json["retros"]["done"], 30);
    assert_eq!(json["retros"]["missing"], 6);
    assert_eq!(
        json["retros"]["missing_tags"],
        serde_json::json!([
            "v1.1.5", "v1.1.10", "v1.1.15", "v1.1.20", "v1.1.34", "v1.1.36"
        ])
    );

    // 10..45 minutes, each once: median (27 + 28) / 2 minutes; 45 minutes is release 6.
    assert_eq!(json["lead_time"]["median_seconds"], 27 * 60 + 30);
    assert_eq!(json["lead_time"]["worst_seconds"], 45 * 60);
    assert_eq!(json["lead_time"]["worst_tag"], "v1.1.6");

    assert_eq!(json["not_code"]["count"], 9);
    assert_eq!(json["not_code"]["emergencies"], 45);
    assert_eq!(json["not_code"]["share"], 0.2);

    assert_eq!(json["overrides"]["total"], 4);
    assert_eq!(json["overrides"]["releases"], 3);
    assert_eq!(
        json["overrides"]["by_gate"],
        serde_json::json!({"guard": 2, "review": 1, "test": 1})
    );

    let mb = &json["merge_back"];
    assert_eq!(mb["development"], "develop");
    assert_eq!(mb["checked"], 36);
    assert_eq!(mb["merged"], 24);
    assert_eq!(mb["cherry_picked"], 1);
    assert_eq!(mb["missing"], 11);
    assert_eq!(mb["compliance"], 0.694);
    let missing: Vec<String> = (25..=36)
        .filter(|n| *n != 30)
        .map(|n| format!("v1.1.{n}"))
        .collect();
    assert_eq!(mb["missing_tags"], serde_json::json!(missing));

    insta::assert_snapshot!("stats_json", run.stdout);
    let human = stats(&repo, &[]).ok();
    insta::assert_snapshot!("stats_human", human.stdout);
    assert!(
        !human.stdout.contains('\u{1b}'),
        "no colour codes with NO_COLOR"
    );
    assert_eq!(repo.snapshot(), before, "stats changes nothing");
}

#[test]
fn stats_since_a_date() {
    let env = Env::new();
    let repo = rising_history(&env);
    let json = stats(&repo, &["--json", "--since", "2026-04-01"])
        .ok()
        .json();
    assert_eq!(json["since"], "2026-04-01");
    assert_eq!(json["releases"], 16);
    assert_eq!(json["months"].as_array().unwrap().len(), 3);
    assert_eq!(json["months"][0]["month"], "2026-04");
    // the six months the trend compares are not all after --since
    assert!(json["trend"].is_null());
    assert_eq!(json["not_code"]["count"], 3);
    assert_eq!(json["not_code"]["emergencies"], 19);
    assert_eq!(json["retros"]["missing"], 2);
    assert_eq!(json["overrides"]["total"], 2);
    assert_eq!(json["merge_back"]["checked"], 16);
    assert_eq!(json["merge_back"]["merged"], 4);
    assert_eq!(json["merge_back"]["cherry_picked"], 1);

    let json = stats(&repo, &["--json", "--since", "2026-01-01"])
        .ok()
        .json();
    assert_eq!(json["releases"], 23);
    assert_eq!(json["trend"]["direction"], "rising");
    assert_eq!(json["trend"]["previous"]["releases"], 7);

    let human = stats(&repo, &["--since", "2026-04-01"]).ok();
    assert!(human.stdout.contains("Trend: none"), "{}", human.stdout);
    let empty = stats(&repo, &["--since", "2026-07-01"]).ok();
    assert_eq!(empty.stdout, "No hotfix releases since 2026-07-01.\n");

    for bad in ["2026-13-01", "yesterday", "2026-4-1"] {
        let before = repo.snapshot();
        stats(&repo, &["--since", bad]).fails(2, "is not a date of the form YYYY-MM-DD");
        assert_eq!(repo.snapshot(), before);
    }
}

#[test]
fn stats_on_a_falling_history() {
    let env = Env::new();
    let repo = env.released_repo();
    releases(&env, &repo, &FALLING);
    let json = stats(&repo, &["--json"]).ok().json();
    assert_eq!(json["releases"], 36);
    assert_eq!(json["trend"]["direction"], "falling");
    assert_eq!(json["trend"]["recent"]["releases"], 6);
    assert_eq!(json["trend"]["previous"]["releases"], 7);
    assert_eq!(json["retros"]["missing"], 36);
    assert_eq!(json["not_code"]["count"], 0);
    assert_eq!(json["not_code"]["share"], 0.0);
    // develop never got a hotfix
    assert_eq!(json["merge_back"]["missing"], 36);
    assert_eq!(json["merge_back"]["compliance"], 0.0);
    let human = stats(&repo, &[]).ok().stdout;
    assert!(
        human.contains("Trend: falling: 6 in 2026-04..2026-06 against 7 in 2026-01..2026-03"),
        "{human}"
    );

    // a year later nothing happened in either window
    let later = repo
        .hotfix_env(
            &["stats", "--json"],
            &[("HOTFIX_NOW", "2027-06-01T00:00:00Z")],
        )
        .ok()
        .json();
    assert_eq!(later["trend"]["direction"], "flat");
    assert_eq!(later["months"].as_array().unwrap().len(), 24);
    repo.hotfix_env(&["stats"], &[("HOTFIX_NOW", "soon")])
        .fails(2, "HOTFIX_NOW=soon is neither a date");
}

#[test]
fn list_on_the_generated_history() {
    let env = Env::new();
    let repo = rising_history(&env);
    let json = repo.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(json["development"], "develop");
    let releases = json["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 36);
    assert_eq!(json["not_code"].as_array().unwrap().len(), 9);
    let count = |key: &str, want: &str| {
        releases
            .iter()
            .filter(|r| r[key].as_str() == Some(want))
            .count()
    };
    assert_eq!(count("merged_back", "merged"), 24);
    assert_eq!(count("merged_back", "cherry-picked"), 1);
    assert_eq!(count("merged_back", "missing"), 11);
    assert_eq!(releases.iter().filter(|r| r["retro"].is_null()).count(), 6);
    // oldest first, and the edited review shows its newest revision
    assert_eq!(releases[0]["tag"], "v1.1.1");
    assert_eq!(releases[0]["date"], "2025-07-01");
    assert_eq!(releases[0]["retro"]["cause"], "regression-testing");
    assert_eq!(releases[0]["retro"]["why"], "why v1.1.1");
    assert_eq!(releases[35]["tag"], "v1.1.36");
    assert_eq!(
        releases[20]["overrides"],
        serde_json::json!(["guard", "review"])
    );

    let human = repo.hotfix(&["list"]).ok().stdout;
    assert_eq!(
        human
            .lines()
            .filter(|l| l.contains("Outage fixed by"))
            .count(),
        36
    );
    assert!(human.contains("Not a code change"), "{human}");
    assert_eq!(
        human
            .lines()
            .filter(|l| l.contains("was configuration"))
            .count(),
        9
    );
}

/// A small history for the exact --json and text of `list`.
fn small_history(env: &Env) -> Repo {
    let repo = env.released_repo();
    repo.git(&["switch", "-q", "main"]);
    let first = make_release(
        env,
        &repo,
        "v1.1.1",
        "2026-02-03T10:00:00Z",
        42,
        "revenue-loss",
        &[],
    );
    make_release(
        env,
        &repo,
        "v1.1.2",
        "2026-03-10T16:30:00Z",
        190,
        "data-corruption",
        &["guard"],
    );
    make_release(
        env,
        &repo,
        "v1.1.3",
        "2026-03-28T08:15:00Z",
        1600,
        "security-exploit",
        &[],
    );
    make_not_code(
        env,
        &repo,
        "stale-cdn",
        "2026-03-01T12:00:00Z",
        Some("core-workflow-blocked"),
    );
    repo.git(&["switch", "-q", "develop"]);
    repo.git(&["merge", "-q", "--no-edit", &first]);
    repo.hotfix(&[
        "retro",
        "v1.1.2",
        "--why",
        "Nobody tested an empty cart",
        "--catch",
        "An end-to-end test of checkout with an empty cart",
        "--cause",
        "untested-edge-case",
    ])
    .ok();
    repo
}

#[test]
fn list_json_and_text() {
    let env = Env::new();
    let repo = small_history(&env);
    let run = repo.hotfix(&["list", "--json"]).ok();
    // the review's time is when the test ran: the only value that is not fixed
    let json = run.json();
    let at = json["releases"][1]["retro"]["at"].as_str().unwrap();
    assert!(at.parse::<Timestamp>().is_ok(), "{at}");
    insta::assert_snapshot!("list_json", run.stdout.replace(at, "[at]"));
    let run = repo.hotfix(&["list"]).ok();
    insta::assert_snapshot!("list_text", run.stdout);
    assert!(
        run.stderr
            .contains("MERGED: whether the fix is in develop."),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_history() {
    let env = Env::new();
    let repo = env.released_repo();
    let json = repo.hotfix(&["list", "--json"]).ok().json();
    assert_eq!(json["releases"], serde_json::json!([]));
    assert_eq!(json["not_code"], serde_json::json!([]));
    assert_eq!(
        repo.hotfix(&["list"]).ok().stdout,
        "No hotfix releases yet.\n"
    );
    let run = stats(&repo, &[]).ok();
    assert_eq!(run.stdout, "No hotfix releases.\n");
    let json = stats(&repo, &["--json"]).ok().json();
    assert_eq!(json["releases"], 0);
    assert!(json["lead_time"].is_null());
    assert!(json["not_code"]["share"].is_null());
    assert_eq!(json["trend"]["direction"], "flat");
}

#[test]
fn no_development_branch() {
    let env = Env::new();
    let repo = env.repo("solo");
    repo.commit_file("app.txt", "1\n", "release");
    repo.git(&["branch", "-m", "trunk"]);
    make_release(
        &env,
        &repo,
        "v2.0.1",
        "2026-05-05T10:00:00Z",
        30,
        "revenue-loss",
        &[],
    );
    let json = repo.hotfix(&["list", "--json"]).ok().json();
    assert!(json["development"].is_null());
    assert!(json["releases"][0]["merged_back"].is_null());
    let json = stats(&repo, &["--json"]).ok().json();
    assert!(json["merge_back"].is_null());
    let text = stats(&repo, &[]).ok().stdout;
    assert!(
        text.contains("Merge-back: unknown, no development branch found"),
        "{text}"
    );
}
