//! `hotfix guard`: limits from the policy snapshotted at start, exclusions, flags, overrides.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{Env, Repo};

/// A released repository whose newest release, v1.2.0, holds `files` (and `policy` as
/// hotfix.toml when given), with the hotfix `fix` started from it.
fn hotfix_on(files: &[(&str, &str)], policy: Option<&str>) -> (Env, Repo) {
    let env = Env::new();
    let repo = env.released_repo();
    for (path, content) in files {
        repo.write(path, content);
    }
    if let Some(p) = policy {
        repo.write("hotfix.toml", p);
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "release 1.2"]);
    repo.git(&["tag", "v1.2.0"]);
    repo.start("fix").ok();
    assert_eq!(repo.branch(), "hotfix/fix");
    (env, repo)
}

fn commit_all(repo: &Repo, message: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", message]);
}

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

fn guard_entry(repo: &Repo) -> toml::Value {
    repo.state_entry("hotfix/fix").expect("hotfix in state")["guard"].clone()
}

/// (kind, path, line) of every flag in a `guard --json` report.
fn flag_set(json: &Value) -> BTreeSet<(String, String, Option<u64>)> {
    json["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64(),
            )
        })
        .collect()
}

fn flag(kind: &str, path: &str, line: Option<u64>) -> (String, String, Option<u64>) {
    (kind.to_string(), path.to_string(), line)
}

#[test]
fn within_limits_passes_and_is_recorded() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.commit_file("app.txt", "version 1.1, fixed\n", "fix the version");
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stdout.contains("files  1 of at most 5"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("lines  2 of at most 150 (+1 -1)"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("The guard passes"), "{}", run.stderr);
    let g = guard_entry(&repo);
    assert_eq!(g["files"].as_integer(), Some(1));
    assert_eq!(g["lines"].as_integer(), Some(2));
    assert_eq!(g["flags"].as_integer(), Some(0));
    assert_eq!(g["passed"].as_bool(), Some(true));
    assert_eq!(g["tree"].as_str(), Some(repo.rev("HEAD^{tree}").as_str()));
}

#[test]
fn nothing_committed_yet_is_refused() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.refused(&["guard"], 1, "nothing to guard yet");
}

#[test]
fn over_files_fails_with_the_numbers() {
    let (_env, repo) = hotfix_on(&[], None);
    for i in 1..=6 {
        repo.write(&format!("src/f{i}.txt"), &numbered(i));
    }
    commit_all(&repo, "six files");
    let run = repo
        .hotfix(&["guard"])
        .fails(1, "over the guard's limit: 6 files (max 5)");
    assert!(
        run.stderr.contains("--override guard --reason"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("files  6 of at most 5  over the limit"),
        "{}",
        run.stdout
    );
    // the biggest files, biggest first
    let biggest = run
        .stdout
        .split("biggest files:")
        .nth(1)
        .expect("biggest files listed");
    let first = biggest.lines().nth(1).unwrap();
    assert!(first.contains("src/f6.txt"), "{biggest}");
    assert_eq!(guard_entry(&repo)["passed"].as_bool(), Some(false));
}

#[test]
fn over_lines_fails_at_one_past_the_limit() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.commit_file("big.txt", &numbered(150), "150 lines");
    repo.hotfix(&["guard"]).ok();
    repo.commit_file("big.txt", &numbered(151), "151 lines");
    let run = repo
        .hotfix(&["guard"])
        .fails(1, "over the guard's limit: 151 lines (max 150)");
    assert!(
        run.stdout
            .contains("lines  151 of at most 150 (+151 -0)  over the limit"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("151  big.txt  (+151 -0)"),
        "{}",
        run.stdout
    );
}

#[test]
fn default_excludes_ignore_lock_files_at_any_depth() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.write("Cargo.lock", &numbered(2000));
    repo.write("web/package-lock.json", &numbered(3000));
    repo.write("app.txt", "version 1.1, fixed\n");
    commit_all(&repo, "fix, with lock file churn");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(json["totals"]["files"], 1);
    assert_eq!(json["totals"]["lines"], 2);
    assert_eq!(
        json["excluded"],
        serde_json::json!(["Cargo.lock", "web/package-lock.json"])
    );
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stdout
            .contains("not counted (guard.exclude): Cargo.lock, web/package-lock.json"),
        "{}",
        run.stdout
    );
}

#[test]
fn exclude_globs_match_full_paths() {
    let policy = "[guard]\nexclude = [\"generated/**\"]\n";
    let (_env, repo) = hotfix_on(&[], Some(policy));
    repo.write("generated/api/client.rs", &numbered(500));
    repo.write("Cargo.lock", &numbered(10));
    commit_all(&repo, "regenerate");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(
        json["excluded"],
        serde_json::json!(["generated/api/client.rs"])
    );
    // the policy replaced the default list: Cargo.lock counts now
    assert_eq!(json["totals"]["files"], 1);
    assert_eq!(json["totals"]["lines"], 10);
    assert_eq!(json["files"][0]["path"], "Cargo.lock");
}

const JS: &str = "\
function f() {
  try {
    run();
  } catch (e) {}
  try { run(); } catch (err) {
  }
  try { run(); } catch (e) { return { success: true }; }
  try { run(); } catch (e) { report(e); throw e; }
}
";

const PY: &str = "\
try:
    go()
except: pass
try:
    go()
except Exception:
    pass
try:
    go()
except KeyError as e:
    raise Missing(e)
";

const SH: &str = "\
#!/bin/sh
rm -f /tmp/x || true
grep foo bar 2>/dev/null
# FIXME: check the exit code
test -f x || exit 1
";

const RS: &str = "\
fn f() -> u32 {
    let _ = std::fs::remove_file(\"x\");
    let _lock = m.lock();
    parse().unwrap_or_default()
}
";

#[test]
fn each_error_swallowing_line_is_flagged_where_it_is() {
    let policy = "[guard]\nmax_files = 50\nmax_lines = 1000\nflag_patterns = [\"FIXME\"]\n";
    let (_env, repo) = hotfix_on(&[], Some(policy));
    repo.write("web/a.js", JS);
    repo.write("tool.py", PY);
    repo.write("app.rb", "value = compute rescue nil\n");
    repo.write("deploy.sh", SH);
    repo.write("src/lib.rs", RS);
    repo.write("web/b.js", "let _ = require('lodash');\n");
    commit_all(&repo, "add code");
    let run = repo.hotfix(&["guard", "--json"]).ok();
    let json = run.json();
    let expected: BTreeSet<_> = [
        flag("swallowed-error", "web/a.js", Some(4)),
        flag("swallowed-error", "web/a.js", Some(5)),
        flag("swallowed-error", "web/a.js", Some(7)),
        flag("swallowed-error", "tool.py", Some(3)),
        flag("swallowed-error", "tool.py", Some(6)),
        flag("swallowed-error", "app.rb", Some(1)),
        flag("swallowed-error", "deploy.sh", Some(2)),
        flag("swallowed-error", "deploy.sh", Some(3)),
        flag("flag-pattern", "deploy.sh", Some(4)),
        flag("swallowed-error", "src/lib.rs", Some(2)),
        flag("swallowed-error", "src/lib.rs", Some(4)),
    ]
    .into_iter()
    .collect();
    assert_eq!(flag_set(&json), expected, "{}", run.stdout);
    let rules: Vec<&str> = json["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for rule in [
        "empty catch",
        "catch returns success",
        "except: pass",
        "rescue nil",
        "|| true",
        "FIXME",
    ] {
        assert!(rules.contains(&rule), "no flag for {rule}: {rules:?}");
    }

    // flags do not fail the gate, and the human report shows each as path:line: kind: text
    let run = repo.hotfix(&["guard"]).ok();
    for line in [
        "web/a.js:4: swallowed-error: } catch (e) {}",
        "tool.py:3: swallowed-error: except: pass",
        "deploy.sh:2: swallowed-error: rm -f /tmp/x || true",
        "deploy.sh:3: swallowed-error: grep foo bar 2>/dev/null",
        "deploy.sh:4: flag-pattern: # FIXME: check the exit code",
        "src/lib.rs:4: swallowed-error: parse().unwrap_or_default()",
        "app.rb:1: swallowed-error: value = compute rescue nil",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("11 flags for the reviewer"),
        "{}",
        run.stdout
    );
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    let gate = &status["hotfix"]["gates"][0];
    assert_eq!(gate["gate"], "guard");
    assert_eq!(gate["passed"], true);
    assert!(
        gate["reason"].as_str().unwrap().ends_with("; 11 flags"),
        "{gate}"
    );
}

#[test]
fn whitespace_only_and_comment_only_hunks_are_flagged() {
    let base: String = (1..=40).map(|i| format!("let v{i} = {i};\n")).collect();
    let (_env, repo) = hotfix_on(&[("src/calc.rs", &base)], None);
    let mut lines: Vec<String> = base.lines().map(String::from).collect();
    // lines 5-6 re-indented: whitespace only
    lines[4] = format!("    {}", lines[4]);
    lines[5] = format!("  {}  ", lines[5]);
    // line 35 really changes (before the insert below, so indices stay right)
    lines[34] = "let v35 = 3500;".into();
    // a comment after line 20: comment only
    lines.insert(20, "// explains v20".into());
    let text = lines.join("\n") + "\n";
    repo.commit_file("src/calc.rs", &text, "fix v35, tidy");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    let expected: BTreeSet<_> = [
        flag("whitespace-only", "src/calc.rs", Some(5)),
        flag("comment-only", "src/calc.rs", Some(21)),
    ]
    .into_iter()
    .collect();
    assert_eq!(flag_set(&json), expected, "{json:#}");
    assert_eq!(json["totals"]["lines"], 7);
}

#[test]
fn binary_file_counts_as_one_and_is_named() {
    let (_env, repo) = hotfix_on(&[], None);
    let png = [
        0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0, 1, 2,
    ];
    std::fs::create_dir_all(repo.path.join("assets")).unwrap();
    std::fs::write(repo.path.join("assets/logo.png"), png).unwrap();
    repo.write("app.txt", "version 1.1, fixed\n");
    commit_all(&repo, "fix with an image");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(json["totals"]["files"], 2);
    assert_eq!(json["totals"]["lines"], 2);
    let logo = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "assets/logo.png")
        .expect("the binary file is listed");
    assert_eq!(logo["binary"], true);
    assert_eq!(logo["added"], 0);
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stdout
            .contains("binary (one file each, no lines): assets/logo.png"),
        "{}",
        run.stdout
    );
}

#[test]
fn renamed_file_is_flagged() {
    let guide = numbered(30);
    let (_env, repo) = hotfix_on(&[("docs/guide.md", &guide)], None);
    std::fs::create_dir_all(repo.path.join("handbook")).unwrap();
    repo.git(&["mv", "docs/guide.md", "handbook/guide.md"]);
    repo.git(&["commit", "-q", "-m", "move the guide"]);
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(json["totals"]["files"], 1);
    assert_eq!(json["totals"]["lines"], 0);
    let f = &json["files"][0];
    assert_eq!(f["status"], "renamed");
    assert_eq!(f["path"], "handbook/guide.md");
    assert_eq!(f["old_path"], "docs/guide.md");
    let flags = json["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["kind"], "renamed");
    assert!(flags[0]["line"].is_null());
    assert_eq!(flags[0]["text"], "moved from docs/guide.md");
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stdout
            .contains("handbook/guide.md: renamed: moved from docs/guide.md"),
        "{}",
        run.stdout
    );
}

#[test]
fn raising_the_limit_on_the_branch_does_not_loosen_the_gate() {
    let policy = "[guard]\nmax_lines = 150\n";
    let (_env, repo) = hotfix_on(&[], Some(policy));
    repo.write("hotfix.toml", "[guard]\nmax_lines = 10000\n");
    repo.write("big.txt", &numbered(200));
    commit_all(&repo, "big fix, bigger limit");
    let run = repo.hotfix(&["guard"]).fails(1, "202 lines (max 150)");
    assert!(
        run.stdout
            .contains("hotfix.toml:2: policy-change: -max_lines = 150 → +max_lines = 10000"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("policy in force for this hotfix is the one at `hotfix start`")
    );
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(status["hotfix"]["gates"][0]["passed"], false);
}

#[test]
fn override_passes_is_recorded_and_binds_to_the_tree() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.commit_file("big.txt", &numbered(200), "big fix");
    let run = repo
        .hotfix(&[
            "guard",
            "--override",
            "guard",
            "--reason",
            "payment outage, split later",
        ])
        .ok();
    assert!(
        run.stderr.contains("the guard gate is overridden"),
        "{}",
        run.stderr
    );
    let entry = repo.state_entry("hotfix/fix").unwrap();
    let overrides = entry["overrides"].as_array().expect("overrides recorded");
    assert_eq!(overrides.len(), 1);
    assert_eq!(overrides[0]["gate"].as_str(), Some("guard"));
    assert_eq!(
        overrides[0]["reason"].as_str(),
        Some("payment outage, split later")
    );
    assert_eq!(
        overrides[0]["tree"].as_str(),
        Some(repo.rev("HEAD^{tree}").as_str())
    );
    assert_eq!(overrides[0]["by_email"].as_str(), Some("ann@example.com"));
    assert_eq!(
        entry["guard"]["passed"].as_bool(),
        Some(false),
        "the numbers stay honest"
    );

    // the override holds for this tree
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stderr.contains("overridden for this tree"),
        "{}",
        run.stderr
    );
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    let gate = &status["hotfix"]["gates"][0];
    assert_eq!(gate["passed"], true);
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .starts_with("overridden: payment outage, split later"),
        "{gate}"
    );

    // and not for the next one
    repo.commit_file("big.txt", &numbered(201), "one more line");
    repo.hotfix(&["guard"]).fails(1, "201 lines (max 150)");
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(status["hotfix"]["gates"][0]["passed"], false);
}

#[test]
fn override_within_limits_is_not_recorded() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.commit_file("app.txt", "fixed\n", "fix");
    let run = repo
        .hotfix(&["guard", "--override", "guard", "--reason", "just in case"])
        .ok();
    assert!(
        run.stderr.contains("no override was needed"),
        "{}",
        run.stderr
    );
    assert!(
        repo.state_entry("hotfix/fix")
            .unwrap()
            .get("overrides")
            .is_none()
    );
}

#[test]
fn override_refused_when_the_policy_forbids_it() {
    let (_env, repo) = hotfix_on(&[], Some("[policy]\nallow_override = false\n"));
    repo.commit_file("big.txt", &numbered(200), "big fix");
    repo.refused(
        &["guard", "--override", "guard", "--reason", "please"],
        2,
        "does not allow overrides",
    );
    let run = repo.hotfix(&["guard"]).fails(1, "200 lines (max 150)");
    assert!(
        run.stderr.contains("does not allow overrides"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--override"), "{}", run.stderr);
}

#[test]
fn overriding_another_gate_here_is_refused() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.commit_file("big.txt", &numbered(200), "big fix");
    repo.refused(
        &["guard", "--override", "test", "--reason", "flaky"],
        2,
        "overrides only the guard gate",
    );
}

#[test]
fn json_shape() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.write("app.txt", "version 1.1, fixed\n");
    repo.write("fix.sh", "run || true\n");
    commit_all(&repo, "fix");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(json["branch"], "hotfix/fix");
    assert_eq!(json["base_tag"], "v1.2.0");
    assert_eq!(json["base"], repo.rev("v1.2.0").as_str());
    assert_eq!(json["head"], repo.head().as_str());
    assert_eq!(json["tree"], repo.rev("HEAD^{tree}").as_str());
    assert_eq!(json["passed"], true);
    assert_eq!(json["within_limits"], true);
    assert!(json["override"].is_null());
    assert_eq!(
        json["totals"],
        serde_json::json!({"files": 2, "lines": 3, "added": 2, "removed": 1})
    );
    assert_eq!(
        json["limits"],
        serde_json::json!({"max_files": 5, "max_lines": 150})
    );
    assert_eq!(json["over_files"], false);
    assert_eq!(json["over_lines"], false);
    assert_eq!(json["excluded"], serde_json::json!([]));
    assert_eq!(
        json["files"][0],
        serde_json::json!({"path": "app.txt", "status": "modified", "added": 1, "removed": 1, "binary": false})
    );
    assert_eq!(
        json["flags"],
        serde_json::json!([{
            "kind": "swallowed-error",
            "path": "fix.sh",
            "line": 1,
            "text": "run || true",
            "rule": "|| true"
        }])
    );
}

#[test]
fn status_shows_the_guard_gate() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.commit_file("app.txt", "version 1.1, fixed\n", "fix");
    let run = repo.hotfix(&["status"]).ok();
    assert!(
        run.stdout
            .contains("✓ guard   1 file, 2 lines (limits 5, 150)"),
        "{}",
        run.stdout
    );
    repo.commit_file("big.txt", &numbered(200), "more");
    let run = repo.hotfix(&["status"]).ok();
    assert!(
        run.stdout
            .contains("✗ guard   over the limit: 2 files, 202 lines (limits 5, 150)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("next: make the fix smaller, then `hotfix guard`; or `hotfix guard --override guard --reason <text>`"),
        "{}",
        run.stdout
    );
}

#[test]
fn large_diff_is_counted_in_git_order() {
    // enough files for the diff to be walked on several threads
    let (_env, repo) = hotfix_on(&[], None);
    for i in 0..300 {
        repo.write(&format!("m{}/f{i}.sh", i % 7), "echo start\nrun || true\n");
    }
    commit_all(&repo, "many files");
    let run = repo.hotfix(&["guard", "--json"]).code(1);
    let json = run.json();
    let git_order: Vec<String> = repo
        .git(&["diff", "--name-only", "v1.2.0", "HEAD"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(git_order.len(), 300);
    let paths = |key: &str| -> Vec<String> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths("files"), git_order);
    assert_eq!(paths("flags"), git_order);
    assert!(
        json["flags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["line"] == 2)
    );
    assert_eq!(json["totals"]["files"], 300);
    assert_eq!(json["totals"]["lines"], 600);
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("300 files (max 5), 600 lines (max 150)"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_attribute_marks_a_text_file_binary() {
    let (_env, repo) = hotfix_on(&[(".gitattributes", "*.dat -diff\n")], None);
    repo.write("table.dat", &numbered(400));
    repo.write("app.txt", "version 1.1, fixed\n");
    commit_all(&repo, "fix with a data table");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(json["totals"]["files"], 2);
    assert_eq!(json["totals"]["lines"], 2, "{json:#}");
    let table = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "table.dat")
        .unwrap();
    assert_eq!(table["binary"], true);
}

/// The `diff` attribute counts only as the base's own `.gitattributes` sets it: a `-diff` set in
/// this clone alone (`.git/info/attributes`, an uncommitted `.gitattributes`) or committed by
/// the fix itself would let the author decide that none of the fix's lines count.
#[test]
fn diff_attribute_set_outside_the_base_counts_nothing() {
    let (_env, repo) = hotfix_on(&[], None);
    repo.write("big.sh", &numbered(400));
    commit_all(&repo, "a big change");
    let lines =
        |repo: &Repo| repo.hotfix(&["guard", "--json"]).code(1).json()["totals"]["lines"].clone();
    assert_eq!(lines(&repo), 400);
    // only in this clone
    std::fs::write(repo.git_dir().join("info").join("attributes"), "* -diff\n").unwrap();
    assert_eq!(lines(&repo), 400);
    repo.write(".gitattributes", "* binary\n");
    assert_eq!(lines(&repo), 400);
    // committed on the hotfix branch: the fix's own attributes do not judge the fix
    commit_all(&repo, "mark everything binary");
    assert_eq!(lines(&repo), 401);
    let run = repo.hotfix(&["guard"]).code(1);
    assert!(run.stdout.contains("over the limit"), "{}", run.stdout);
}

/// A submodule's content is another repository's: the diff shows only the commit it names, so
/// a submodule added, or moved to another commit, is flagged for the reviewer (a deploy hook
/// that runs `git submodule update` ships what nobody was shown).
#[test]
fn a_submodule_added_or_moved_is_flagged() {
    let (_env, repo) = hotfix_on(&[], None);
    let first = "1111111111111111111111111111111111111111";
    let second = "2222222222222222222222222222222222222222";
    let gitlink = |id: &str| {
        repo.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{id},vendor/lib"),
        ]);
        repo.git(&["commit", "-q", "-m", "vendor lib"]);
    };
    let submodule_flags = |repo: &Repo| -> Vec<String> {
        repo.hotfix(&["guard", "--json"]).ok().json()["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "submodule")
            .map(|f| {
                format!(
                    "{} {}",
                    f["path"].as_str().unwrap(),
                    f["text"].as_str().unwrap()
                )
            })
            .collect()
    };
    gitlink(first);
    let flags = submodule_flags(&repo);
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(
        flags[0].starts_with(&format!("vendor/lib -> commit {first}")),
        "{flags:?}"
    );
    gitlink(second);
    let flags = submodule_flags(&repo);
    assert!(
        flags[0].starts_with(&format!("vendor/lib -> commit {second}")),
        "{flags:?}"
    );
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stdout.contains("vendor/lib: submodule: -> commit"),
        "{}",
        run.stdout
    );
}

#[cfg(unix)]
#[test]
fn non_utf8_path_is_counted_and_shown() {
    use std::os::unix::ffi::OsStrExt;
    let (_env, repo) = hotfix_on(&[], None);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(repo.path.join(name), "one\ntwo\n").unwrap();
    commit_all(&repo, "odd name");
    let json = repo.hotfix(&["guard", "--json"]).ok().json();
    assert_eq!(json["totals"]["files"], 1);
    assert_eq!(json["totals"]["lines"], 2);
    assert_eq!(json["files"][0]["path"], "caf\u{fffd}.txt");
}

/// Rust's ways to hide an error, each flagged where it is, and the ordinary error handling
/// around them left alone.
const RS_HIDDEN: &str = "\
fn f() -> Result<()> {
    for x in xs {
        match parse(x) {
            Ok(v) => use_it(v),
            Err(_) => continue,
        }
    }
    let v = match load() {
        Ok(v) => v,
        Err(_) => return Ok(()),
    };
    match save() {
        Err(_e) => {}
        Ok(()) => {}
    }
    let r = std::panic::catch_unwind(|| risky());
    write(v).ok();
    match read() {
        Ok(v) => v,
        Err(e) => return Err(e),
    };
    match read() {
        Err(_) => return Err(anyhow!(\"unreadable\")),
        Ok(v) => v,
    };
    let n = read().ok().unwrap_or(0);
    Ok(())
}
#[allow(dead_code)]
fn g() {}
";

#[test]
fn rust_ways_of_hiding_an_error_are_flagged_and_ordinary_handling_is_not() {
    let (_env, repo) = hotfix_on(&[], Some("[guard]\nmax_files = 50\nmax_lines = 1000\n"));
    repo.write("src/lib.rs", RS_HIDDEN);
    // the same text in another language is not Rust's business
    repo.write("notes.txt", RS_HIDDEN);
    commit_all(&repo, "add code");
    let run = repo.hotfix(&["guard", "--json"]).ok();
    let json = run.json();
    let expected: BTreeSet<_> = [5, 10, 13, 16, 17, 29]
        .into_iter()
        .map(|l| flag("swallowed-error", "src/lib.rs", Some(l)))
        .collect();
    assert_eq!(flag_set(&json), expected, "{}", run.stdout);
    let rules: Vec<&str> = json["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for rule in [
        "Err(_) => continue/return drops the error",
        "catch_unwind turns a panic into a value",
        ".ok(); discards a Result",
        "#[allow(…)] silences a warning",
    ] {
        assert!(rules.contains(&rule), "no flag for {rule}: {rules:?}");
    }
    let run = repo.hotfix(&["guard"]).ok();
    assert!(
        run.stdout
            .contains("src/lib.rs:5: swallowed-error: Err(_) => continue,"),
        "{}",
        run.stdout
    );
}

#[test]
fn deleting_a_test_file_or_a_test_function_is_flagged() {
    let tests_rs = "#[test]\nfn one() {}\n\n#[test]\nfn two() {}\n";
    let lib_rs = "pub fn f() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn works() {}\n\n    #[tokio::test]\n    async fn also() {}\n}\n";
    let py = "def test_a():\n    assert f()\n\ndef helper():\n    pass\n";
    let (_env, repo) = hotfix_on(
        &[
            ("tests/cli.rs", tests_rs),
            ("src/lib.rs", lib_rs),
            ("test_app.py", py),
            ("web/app.test.js", "it('works', () => {});\n"),
        ],
        None,
    );
    repo.git(&["rm", "-q", "tests/cli.rs", "web/app.test.js"]);
    repo.write(
        "src/lib.rs",
        "pub fn f() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn works() {}\n}\n",
    );
    // a test renamed (one removed, one added) is not fewer tests
    repo.write(
        "test_app.py",
        "def test_b():\n    assert f()\n\ndef helper():\n    pass\n",
    );
    commit_all(&repo, "drop tests");
    let run = repo.hotfix(&["guard", "--json"]).ok();
    let expected: BTreeSet<_> = [
        flag("deletes-tests", "tests/cli.rs", None),
        flag("deletes-tests", "web/app.test.js", None),
        // removed lines sit where the next line of the new file is
        flag("deletes-tests", "src/lib.rs", Some(7)),
    ]
    .into_iter()
    .collect();
    assert_eq!(flag_set(&run.json()), expected, "{}", run.stdout);
    let run = repo.hotfix(&["guard"]).ok();
    for line in [
        "tests/cli.rs: deletes-tests: test file deleted",
        "src/lib.rs:7: deletes-tests: 1 test fewer after the fix (1 removed, 0 added)",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?}:\n{}",
            run.stdout
        );
    }
}
