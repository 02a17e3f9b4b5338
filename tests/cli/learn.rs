//! Learning from hotfixes: time to restore from `start --detected`, the change failure rate over
//! months of regular and hotfix releases, where the bug came from (`retro`'s proposal from
//! blame), and the HTML page.

use crate::list_stats::make_release;
use crate::support::{DEPLOY_POLICY, Env, REVIEWER, Repo, Team, start_args};

/// A team whose v1.1.0 shipped a bug in a commit merged from pull request #42: the average
/// price divides by the number of items, with no test for an empty cart.
fn team_with_a_bug() -> (Team, String) {
    let t = Team::released(DEPLOY_POLICY);
    let a = &t.author;
    a.git(&["switch", "-q", "main"]);
    a.commit_file(
        "cart.sh",
        "total=$1\nitems=$2\necho total\n",
        "Cart totals (#7)",
    );
    let bug = a.commit_file(
        "cart.sh",
        "total=$1\nitems=$2\necho total\necho average $((total / items))\n",
        "Average price in the cart (#42)",
    );
    a.git(&["tag", "-a", "v1.2.0", "-m", "v1.2.0"]);
    a.git(&["switch", "-q", "develop"]);
    a.git(&["merge", "-q", "--no-edit", "main"]);
    a.git(&["push", "-q", "origin", "main", "develop", "--tags"]);
    (t, bug)
}

/// Start (with `extra` flags), fix the bug, approve, test and deploy it.
fn ship_the_fix(t: &Team, extra: &[&str]) {
    t.hf(&start_args("empty-cart", extra)).ok();
    t.author.commit_file(
        "cart.sh",
        "total=$1\nitems=$2\necho total\n[ \"$items\" -gt 0 ] && echo average $((total / items))\n",
        "No average for an empty cart",
    );
    t.gates_pass();
    t.hf(&["deploy", "--push"]).ok();
}

fn stats_json(repo: &Repo) -> serde_json::Value {
    repo.hotfix(&["stats", "--json"]).ok().json()
}

#[test]
fn detected_time_reaches_the_record_and_time_to_restore() {
    let (t, _) = team_with_a_bug();
    ship_the_fix(&t, &["--detected", "2h ago"]);
    let record = t.author.tag_record("v1.2.1");
    let detected: jiff::Timestamp = record["detected_at"].as_str().unwrap().parse().unwrap();
    let started: jiff::Timestamp = record["started_at"].as_str().unwrap().parse().unwrap();
    let gap = started.duration_since(detected).as_secs();
    assert!((7190..7300).contains(&gap), "detected {gap}s before start");

    let json = stats_json(&t.author);
    let restore = &json["time_to_restore"];
    assert_eq!(restore["with_detected_time"], 1);
    let secs = restore["median_seconds"].as_i64().unwrap();
    assert!(
        secs >= 7200,
        "time to restore counts from the detected time: {secs}"
    );
    // the start-to-deploy figure stays beside it, from the start
    assert!(json["lead_time"]["median_seconds"].as_i64().unwrap() < 3600);
    // v1.0.0, v1.1.0, v1.2.0 and the hotfix v1.2.1
    assert_eq!(json["change_failure_rate"]["hotfixes"], 1);
    assert_eq!(json["change_failure_rate"]["releases"], 4);

    let human = t.author.hotfix(&["stats"]).ok();
    assert!(
        human.stdout.contains("Time to restore: median 2h"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("1 of 4 production releases were hotfixes (25.0%)")
    );
}

#[test]
fn a_bad_or_future_detected_time_is_refused_before_anything_changes() {
    let t = Team::released(DEPLOY_POLICY);
    for bad in ["yesterday", "40 ago", "2999-01-01T00:00:00Z"] {
        t.refused(&start_args("x", &["--detected", bad]), 2, "--detected");
    }
    // without --detected, time to restore counts from the start
    ship_the_fix(&t, &[]);
    let record = t.author.tag_record("v1.1.1");
    assert!(record.get("detected_at").is_none(), "{record}");
    assert_eq!(
        stats_json(&t.author)["time_to_restore"]["with_detected_time"],
        0
    );
}

#[test]
fn retro_proposes_where_the_bug_came_from_and_the_reviewer_confirms_or_corrects_it() {
    let (t, bug) = team_with_a_bug();
    ship_the_fix(&t, &[]);
    let answers = [
        "--why",
        "no test had an empty cart",
        "--catch",
        "a test with an empty cart",
        "--cause",
        "untested-edge-case",
    ];
    let mut args = vec!["retro", "v1.2.1"];
    args.extend(answers);
    let run = t.hf(&args).ok();
    // shown before it is recorded: the commit, the release that first shipped it, its PR
    assert!(run.stderr.contains(&bug[..10]), "{}", run.stderr);
    assert!(run.stderr.contains("first in v1.2.0"), "{}", run.stderr);
    assert!(run.stderr.contains("#42"), "{}", run.stderr);
    assert!(run.stderr.contains("--origin proposed"), "{}", run.stderr);

    let shown = t.hf(&["retro", "v1.2.1", "--json"]).ok().json();
    let origin = &shown["origin"];
    assert_eq!(origin["confirmed"], false);
    assert_eq!(origin["source"], "blame");
    // the fix changed the average line only: that is the one commit blamed
    assert_eq!(origin["commits"].as_array().unwrap().len(), 1, "{origin}");
    assert_eq!(origin["commits"][0]["commit"], bug.as_str());
    assert_eq!(origin["commits"][0]["release"], "v1.2.0");
    assert_eq!(origin["commits"][0]["pull_request"], "#42");
    assert_eq!(origin["commits"][0]["paths"][0], "cart.sh");

    // the reviewer confirms it: a new revision, confirmed
    t.hf(&["retro", "v1.2.1", "--origin", "proposed"]).ok();
    let shown = t.hf(&["retro", "v1.2.1", "--json"]).ok().json();
    assert_eq!(shown["origin"]["confirmed"], true);
    assert_eq!(shown["why"], "no test had an empty cart");

    let stats = stats_json(&t.author);
    assert_eq!(stats["hot_spots"]["origins"][0]["release"], "v1.2.0");
    assert_eq!(stats["hot_spots"]["origins"][0]["confirmed"], 1);
    assert_eq!(stats["hot_spots"]["paths"][0]["name"], "cart.sh");
    assert_eq!(stats["hot_spots"]["releases"][0]["name"], "v1.2.0");

    // or corrects it: the commit named by hand, which first shipped in v1.0.0
    let first = t.author.rev("v1.0.0^{commit}");
    t.hf(&["retro", "v1.2.1", "--origin", &first]).ok();
    let shown = t.hf(&["retro", "v1.2.1", "--json"]).ok().json();
    assert_eq!(shown["origin"]["source"], "reviewer");
    assert_eq!(shown["origin"]["commits"][0]["commit"], first.as_str());
    assert_eq!(shown["origin"]["commits"][0]["release"], "v1.0.0");

    // a commit that does not exist is refused and changes nothing
    let before = t.author.refs();
    t.refused(
        &["retro", "v1.2.1", "--origin", "no-such-commit"],
        2,
        "no-such-commit",
    );
    t.refused(
        &[
            "retro", "v1.2.1", "--origin", "proposed", "--origin", &first,
        ],
        2,
        "stand alone",
    );
    assert_eq!(t.author.refs(), before);
}

/// A regular release: an annotated tag made at `date` (the tagger's date is the release date).
fn regular_release(repo: &Repo, tag: &str, date: &str) {
    repo.commit_file("app.txt", &format!("{tag}\n"), &format!("release {tag}"));
    repo.git_env(
        &["tag", "-a", tag, "-m", tag],
        &[("GIT_COMMITTER_DATE", date)],
    );
}

#[test]
fn change_failure_rate_per_month_over_regular_and_hotfix_releases() {
    let env = Env::new();
    let repo = env.repo("app");
    // January: two regular releases and one hotfix; February: one regular, two hotfixes;
    // March: a release candidate only (not a production release) and a lightweight tag, dated
    // by its commit.
    regular_release(&repo, "v1.0.0", "2026-01-05T10:00:00Z");
    regular_release(&repo, "v1.1.0", "2026-01-20T10:00:00Z");
    make_release(
        &env,
        &repo,
        "v1.1.1",
        "2026-01-25T10:00:00Z",
        30,
        "revenue-loss",
        &[],
    );
    regular_release(&repo, "v1.2.0", "2026-02-02T10:00:00Z");
    make_release(
        &env,
        &repo,
        "v1.2.1",
        "2026-02-10T10:00:00Z",
        30,
        "revenue-loss",
        &[],
    );
    make_release(
        &env,
        &repo,
        "v1.2.2",
        "2026-02-12T10:00:00Z",
        30,
        "revenue-loss",
        &[],
    );
    regular_release(&repo, "v1.3.0-rc1", "2026-03-01T10:00:00Z");
    repo.git_env(
        &["commit", "-q", "--allow-empty", "-m", "1.3"],
        &[("GIT_COMMITTER_DATE", "2026-03-09T10:00:00Z")],
    );
    repo.git(&["tag", "v1.3.0"]);

    let json = repo
        .hotfix_env(&["stats", "--json"], &[("HOTFIX_NOW", "2026-03-20")])
        .ok()
        .json();
    let cfr = &json["change_failure_rate"];
    assert_eq!(cfr["hotfixes"], 3);
    assert_eq!(cfr["releases"], 7, "{cfr}");
    assert_eq!(cfr["dated_by_tag"], 4);
    let months: Vec<(String, u64, u64)> = cfr["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap().into(),
                m["hotfixes"].as_u64().unwrap(),
                m["releases"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        months,
        vec![
            ("2026-01".into(), 1, 3),
            ("2026-02".into(), 2, 3),
            ("2026-03".into(), 0, 1),
        ]
    );
    assert_eq!(cfr["months"][1]["rate"], 0.667);

    // --since narrows the window for the rate too
    let json = repo
        .hotfix_env(
            &["stats", "--json", "--since", "2026-02-01"],
            &[("HOTFIX_NOW", "2026-03-20")],
        )
        .ok()
        .json();
    assert_eq!(json["change_failure_rate"]["hotfixes"], 2);
    assert_eq!(json["change_failure_rate"]["releases"], 4);
}

#[test]
fn stats_html_is_one_self_contained_page_with_every_name_escaped() {
    let (t, _) = team_with_a_bug();
    t.hf(&start_args("empty-cart", &["--detected", "30m ago"]))
        .ok();
    // a hostile file name: it reaches the page's hot spots
    t.author
        .commit_file("<script>alert(1)<", "x\n", "a file with a hostile name");
    t.author.commit_file(
        "cart.sh",
        "total=$1\nitems=$2\necho total\n[ \"$items\" -gt 0 ] && echo average $((total / items))\n",
        "No average for an empty cart",
    );
    t.gates_pass();
    t.hf(&["deploy", "--push"]).ok();
    let page_path = t.env.path().join("report.html");
    let run = t.hf(&["stats", "--html", page_path.to_str().unwrap()]).ok();
    assert!(run.stderr.contains("Wrote the report to"), "{}", run.stderr);
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for chart in [
        "Hotfix releases per month",
        "Change failure rate per month",
        "Median time to restore per month",
        "Root causes",
        "Files fixed most",
    ] {
        assert!(page.contains(chart), "no {chart}");
    }
    assert!(page.matches("<svg").count() >= 5);
    // self-contained: no script, nothing fetched from elsewhere
    assert!(
        !page.to_lowercase().contains("<script"),
        "a script on the page"
    );
    for outside in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!page.contains(outside), "the page refers to {outside}");
    }
    assert!(page.contains("&lt;script&gt;alert(1)&lt;"));

    // a folder that does not exist: refused, nothing written
    let missing = t.env.path().join("no-such-folder/report.html");
    t.refused(&["stats", "--html", missing.to_str().unwrap()], 2, "folder");
    assert!(!missing.exists());
}

#[test]
fn retro_in_a_reviewers_clone_proposes_the_same_origin() {
    let (t, bug) = team_with_a_bug();
    ship_the_fix(&t, &[]);
    let reviewer = t.env.clone_of(&t.origin, "reviewer", REVIEWER);
    reviewer.git(&["fetch", "-q", "--tags", "origin"]);
    let run = reviewer
        .hotfix(&[
            "retro", "v1.2.1", "--why", "w", "--catch", "c", "--cause", "other",
        ])
        .ok();
    assert!(run.stderr.contains(&bug[..10]), "{}", run.stderr);
}
