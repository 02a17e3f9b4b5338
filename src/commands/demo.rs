//! `hotfix demo`: a new user's first command. It builds a throwaway team in a temporary folder
//! (a bare origin, an author's clone, a reviewer's clone, a tiny app with three releases and a
//! development branch ahead of them) and runs the whole pipeline on it, one real command at a
//! time, printing each command the way a user would type it and letting its output through.
//!
//! Every step runs this very binary as a child process (`hotfix -C <clone> …`), so what the
//! demo shows is exactly what the commands do. The demo's repositories carry their own
//! identities and signing settings, so a user's global git config cannot break them; nothing
//! is written outside the temporary folder and nothing touches the network.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::cli::DemoArgs;
use crate::error::Refusal;
use crate::ui::Ui;

const HOTFIX_NAME: &str = "checkout-500";
const HOTFIX_BRANCH: &str = "hotfix/checkout-500";
const SUMMARY: &str = "Checkout fails with a 500 when the cart is empty";

/// The two people of the demo: each has a clone of the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Author,
    Reviewer,
}

impl Who {
    fn dir(self) -> &'static str {
        match self {
            Who::Author => "author",
            Who::Reviewer => "reviewer",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Who::Author => "Ann Author",
            Who::Reviewer => "Rita Reviewer",
        }
    }

    fn email(self) -> &'static str {
        match self {
            Who::Author => "ann@example.com",
            Who::Reviewer => "rita@example.com",
        }
    }
}

/// What a step's exit code must be for the demo to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    /// A refusal the demo shows on purpose (a gate saying no).
    Code(i32),
    /// Any failure: the bug reproduced in "production".
    Failure,
}

pub fn demo(ui: &Ui, args: &DemoArgs) -> Result<()> {
    let exe = std::env::current_exe().context("could not find the hotfix program to run")?;
    require_git()?;
    let root = tempfile::Builder::new()
        .prefix("hotfix-demo-")
        .tempdir()
        .context("could not create a temporary folder for the demo")?
        .keep();
    // The paths the demo prints are the ones a user can paste (no symlinked /tmp surprises).
    let root = root.canonicalize().unwrap_or(root);
    let mut demo = Demo {
        ui,
        exe,
        root,
        chapter: 0,
        last: String::new(),
    };
    let (result, stage) = match demo.seed() {
        Err(err) => (Err(err), "while setting up its repositories".to_string()),
        Ok(()) => {
            let result = demo.pipeline();
            (result, format!("at {}", demo.last))
        }
    };
    match result {
        Ok(()) => {
            demo.closing(args.clean);
            if args.clean {
                std::fs::remove_dir_all(&demo.root).with_context(|| {
                    format!("could not remove the demo folder {}", demo.root.display())
                })?;
            }
            Ok(())
        }
        Err(err) => {
            // Kept even with --clean: the folder is what explains the failure.
            let hint = format!(
                "the demo's repositories are kept in {} to look at",
                demo.root.display()
            );
            Err(match err.downcast::<Refusal>() {
                Ok(Refusal::Interrupted) => Refusal::Interrupted.into(),
                Ok(refusal) => refusal.hint(hint).into(),
                // One sentence with its causes: a Refusal must be the error itself for `main` to
                // find its hint.
                Err(other) => Refusal::usage(format!("the demo stopped {stage}: {other:#}"))
                    .hint(hint)
                    .into(),
            })
        }
    }
}

fn require_git() -> Result<()> {
    match Command::new("git")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(Refusal::usage(format!(
            "the demo needs the `git` program, and `git --version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .hint("fix what git says, then run `hotfix demo` again")
        .into()),
        Err(_) => Err(
            Refusal::usage("the demo needs the `git` program, and it is not on PATH")
                .hint("install git, then run `hotfix demo` again")
                .into(),
        ),
    }
}

struct Demo<'a> {
    ui: &'a Ui,
    exe: PathBuf,
    root: PathBuf,
    chapter: u32,
    /// The command shown last, to name the step that failed.
    last: String,
}

impl Demo<'_> {
    fn clone_dir(&self, who: Who) -> PathBuf {
        self.root.join(who.dir())
    }

    fn origin(&self) -> PathBuf {
        self.root.join("origin.git")
    }

    // ---- output ----

    fn chapter(&mut self, title: &str) {
        self.chapter += 1;
        self.ui.print("");
        self.ui
            .print(self.ui.bold(&format!("── {}. {title}", self.chapter)));
    }

    fn note(&self, text: &str) {
        self.ui.print(self.ui.dim(&format!("# {text}")));
    }

    fn show(&mut self, who: Who, program: &str, args: &[&str]) {
        let line = std::iter::once(program)
            .chain(args.iter().copied())
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ");
        self.last = format!("`{line}` in {}/", who.dir());
        self.ui.print("");
        self.ui
            .print(format!("{}$ {}", who.dir(), self.ui.bold(&line)));
    }

    // ---- running the steps ----

    /// A child with the demo's environment: the user's, minus what would point git at another
    /// repository or lend every clone the same identity.
    fn command(&self, program: &Path, who: Who) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.clone_dir(who)).stdin(Stdio::null());
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_NAMESPACE",
            "GIT_PREFIX",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `hotfix <args>` in a clone, shown and streamed; the exit code must match `expect`.
    fn hotfix(&mut self, who: Who, args: &[&str], expect: Expect) -> Result<()> {
        self.show(who, "hotfix", args);
        let mut cmd = self.command(&self.exe.clone(), who);
        cmd.arg("-C").arg(self.clone_dir(who));
        // The user's output choices carry over, without cluttering the commands shown.
        let color = if console::colors_enabled_stderr() {
            "always"
        } else {
            "never"
        };
        cmd.args(["--color", color]);
        if self.ui.quiet {
            cmd.arg("--quiet");
        }
        for _ in 0..self.ui.verbose {
            cmd.arg("--verbose");
        }
        cmd.args(args);
        self.run(cmd, expect)
    }

    /// `<program> <args>` (git, sh) in a clone, shown and streamed.
    fn shell(&mut self, who: Who, program: &str, args: &[&str], expect: Expect) -> Result<()> {
        self.show(who, program, args);
        let mut cmd = self.command(Path::new(program), who);
        cmd.args(args);
        self.run(cmd, expect)
    }

    fn run(&mut self, mut cmd: Command, expect: Expect) -> Result<()> {
        use std::io::{IsTerminal, Write};
        let _ = std::io::stdout().flush();
        // On a terminal the child writes there itself (with its colours). Into a pipe, which a
        // reader may close (`hotfix demo | head`), its output comes through us, where a write
        // that fails is dropped: a child writing into the closed pipe itself would die of
        // SIGPIPE and stop the demo halfway.
        let status = if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
            cmd.status()
        } else {
            cmd.output().map(|out| {
                crate::ui::out_bytes(&out.stdout);
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&out.stderr);
                out.status
            })
        }
        .with_context(|| format!("could not run {}", self.last))?;
        let code = status.code();
        if code == Some(130) {
            return Err(Refusal::Interrupted.into());
        }
        let ok = match expect {
            Expect::Success => status.success(),
            Expect::Code(c) => code == Some(c),
            Expect::Failure => !status.success(),
        };
        if ok {
            return Ok(());
        }
        let how = match code {
            Some(c) => format!("it exited with {c}"),
            None => "it was killed by a signal".to_string(),
        };
        let wanted = match expect {
            Expect::Success => String::new(),
            Expect::Code(c) => format!(" where the demo expected {c}"),
            Expect::Failure => " where the demo expected a failure".to_string(),
        };
        Err(Refusal::gate(format!("the demo stopped at {}: {how}{wanted}", self.last)).into())
    }

    /// A git command of the set-up: not shown, output kept for the error.
    fn git_quiet(&self, dir: &Path, args: &[&str]) -> Result<()> {
        let mut cmd = self.command(Path::new("git"), Who::Author);
        let out = cmd
            .current_dir(dir)
            .args(args)
            .output()
            .with_context(|| format!("could not run git {}", args.join(" ")))?;
        if out.status.success() {
            Ok(())
        } else {
            anyhow::bail!(
                "`git {}` failed in {}: {}",
                args.join(" "),
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("no message")
            )
        }
    }

    fn write(&self, dir: &Path, file: &str, content: &str) -> Result<()> {
        let path = dir.join(file);
        std::fs::write(&path, content)
            .with_context(|| format!("could not write {}", path.display()))
    }

    fn commit(&self, dir: &Path, files: &[(&str, &str)], message: &str) -> Result<()> {
        for (file, content) in files {
            self.write(dir, file, content)?;
            self.git_quiet(dir, &["add", "--", file])?;
        }
        // The set-up is not the user's work: their global hooks apply from the first command shown.
        self.git_quiet(dir, &["commit", "-q", "--no-verify", "-m", message])
    }

    /// Settings local to each demo repository, so a user's global config (identity, signing)
    /// can neither break the demo nor leak into it.
    fn configure(&self, dir: &Path, who: Who) -> Result<()> {
        for (key, value) in [
            ("user.name", who.name()),
            ("user.email", who.email()),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("tag.forceSignAnnotated", "false"),
        ] {
            self.git_quiet(dir, &["config", key, value])?;
        }
        Ok(())
    }

    // ---- the story ----

    /// The team before the incident: releases v1.0.0, v1.1.0 and v1.2.0 on main, `develop` three
    /// commits ahead with `release/1.3` cut from it, all pushed to a bare origin; v1.2.0 is what
    /// runs in "production".
    fn seed(&mut self) -> Result<()> {
        let root = self.root.clone();
        let author = self.clone_dir(Who::Author);
        let origin = self.origin();
        let origin_s = origin.to_string_lossy().into_owned();
        std::fs::create_dir_all(&author)
            .with_context(|| format!("could not create {}", author.display()))?;
        self.git_quiet(&root, &["init", "-q", "--bare", "-b", "main", &origin_s])?;
        self.git_quiet(&author, &["init", "-q", "-b", "main"])?;
        self.configure(&author, Who::Author)?;
        self.git_quiet(&author, &["remote", "add", "origin", &origin_s])?;

        self.commit(
            &author,
            &[
                ("README.md", README),
                ("app.sh", APP_V1_0),
                ("test.sh", TEST_V1_0),
                ("hotfix.toml", POLICY),
            ],
            "The shop's checkout",
        )?;
        self.git_quiet(&author, &["tag", "-a", "v1.0.0", "-m", "Release 1.0.0"])?;
        self.commit(&author, &[("app.sh", APP_V1_1)], "Show the number of items")?;
        self.git_quiet(&author, &["tag", "-a", "v1.1.0", "-m", "Release 1.1.0"])?;
        self.commit(
            &author,
            &[("app.sh", APP_V1_2), ("test.sh", TEST_V1_2)],
            "Show the average price",
        )?;
        self.git_quiet(&author, &["tag", "-a", "v1.2.0", "-m", "Release 1.2.0"])?;

        self.git_quiet(&author, &["switch", "-q", "-c", "develop"])?;
        self.commit(&author, &[("CHANGELOG.md", CHANGELOG)], "Start a changelog")?;
        self.commit(
            &author,
            &[("receipt.sh", RECEIPT)],
            "Print a receipt header",
        )?;
        self.git_quiet(&author, &["branch", "release/1.3"])?;
        self.commit(
            &author,
            &[("README.md", README_DEVELOP)],
            "Document the receipt",
        )?;
        self.git_quiet(
            &author,
            &[
                "push",
                "-q",
                "--no-verify",
                "-u",
                "origin",
                "main",
                "develop",
                "release/1.3",
                "--tags",
            ],
        )?;
        // The author only has the branches a developer would: release/1.3 lives on the remote.
        self.git_quiet(&author, &["branch", "-q", "-D", "release/1.3"])?;

        self.git_quiet(&root, &["clone", "-q", &origin_s, Who::Reviewer.dir()])?;
        self.configure(&self.clone_dir(Who::Reviewer), Who::Reviewer)?;

        let production = root.join("production");
        std::fs::create_dir_all(&production)
            .with_context(|| format!("could not create {}", production.display()))?;
        self.write(&production, "app.sh", APP_V1_2)?;
        self.write(&production, "VERSION", "v1.2.0\n")?;

        self.ui.print(format!(
            "{}\n\
             \x20 origin.git/   the team's shared remote\n\
             \x20 author/       Ann Author's clone: she is on call today\n\
             \x20 reviewer/     Rita Reviewer's clone: she reviews the fix\n\
             \x20 production/   where the demo's deploy command copies the app (v1.2.0 runs there)\n\
             The app is a checkout script with releases v1.0.0, v1.1.0 and v1.2.0 on main, and\n\
             develop three commits ahead (release/1.3 is cut from it). hotfix.toml is committed:\n\
             tests are `sh test.sh`; deploy, verify and notify are shell commands writing into\n\
             production/. Nothing leaves this folder.",
            self.ui
                .bold(&format!("A throwaway team in {}:", self.root.display()))
        ));
        Ok(())
    }

    fn pipeline(&mut self) -> Result<()> {
        use Expect::{Code, Failure, Success};
        use Who::{Author, Reviewer};

        self.chapter("The repository: releases on main, develop ahead of them");
        self.shell(
            Author,
            "git",
            &["log", "--oneline", "--graph", "--decorate", "--all"],
            Success,
        )?;

        self.chapter("Production is broken: an empty cart makes checkout fail");
        self.shell(Author, "sh", &["../production/app.sh"], Failure)?;
        self.note("reproduced: v1.2.0 divides by the number of items, and there are none");
        self.hotfix(
            Author,
            &[
                "start",
                HOTFIX_NAME,
                "--severity",
                "revenue-loss",
                "--reproduced",
                "--summary",
                SUMMARY,
            ],
            Success,
        )?;
        self.note("in a terminal, `hotfix start checkout-500` asks these questions instead");

        self.chapter("Ann commits the smallest fix, and the guard checks its size");
        let author = self.clone_dir(Author);
        self.write(&author, "app.sh", APP_FIXED)?;
        self.write(&author, "test.sh", TEST_FIXED)?;
        self.note("Ann edits app.sh (no average for an empty cart) and test.sh (a test for it)");
        self.shell(Author, "git", &["diff"], Success)?;
        self.shell(
            Author,
            "git",
            &["commit", "-am", "No average price for an empty cart"],
            Success,
        )?;
        self.hotfix(Author, &["guard"], Success)?;
        self.shell(
            Author,
            "git",
            &["push", "-q", "-u", "origin", HOTFIX_BRANCH],
            Success,
        )?;

        self.chapter("Nothing ships without review: the gates say no");
        self.hotfix(Author, &["status"], Success)?;
        self.hotfix(Author, &["deploy"], Code(1))?;
        self.note("refused, as it should be: nobody has reviewed this tree yet");

        self.chapter("Rita reviews the fix in her own clone");
        self.shell(Reviewer, "git", &["fetch", "-q", "origin"], Success)?;
        self.hotfix(
            Reviewer,
            &["approve", HOTFIX_BRANCH, "--yes", "--push"],
            Success,
        )?;
        self.note(
            "without --yes, approve shows the diff and asks; the approval is bound to this tree",
        );

        self.chapter("Ann tests the reviewed tree and deploys it");
        self.hotfix(Author, &["status"], Success)?;
        self.hotfix(Author, &["test"], Success)?;
        self.hotfix(Author, &["deploy"], Success)?;
        self.shell(Author, "sh", &["../production/app.sh"], Success)?;
        self.note(
            "production runs the fix; `hotfix finish` runs test, deploy and merge-back in one go",
        );

        self.chapter("The fix goes back into develop and the open release line");
        self.hotfix(Author, &["merge-back"], Success)?;
        self.shell(
            Author,
            "git",
            &["push", "-q", "origin", "develop", "release/1.3"],
            Success,
        )?;

        self.chapter("CI checks that every hotfix reached develop");
        self.shell(Reviewer, "git", &["fetch", "-q", "origin"], Success)?;
        self.hotfix(Reviewer, &["verify-merged"], Success)?;

        self.chapter("Afterwards: the post-incident review and the history");
        self.hotfix(
            Author,
            &[
                "retro",
                "--why",
                "v1.2.0 added the average price and no test had an empty cart",
                "--catch",
                "a test for the empty cart (added with the fix)",
                "--cause",
                "untested-edge-case",
                "--push",
            ],
            Success,
        )?;
        self.hotfix(Author, &["list"], Success)?;
        self.hotfix(Author, &["stats"], Success)?;
        Ok(())
    }

    fn closing(&mut self, clean: bool) {
        self.chapter("Done");
        if clean {
            self.ui.print(format!(
                "The whole pipeline ran. The demo folder {} is removed (--clean).",
                self.root.display()
            ));
            return;
        }
        let root = self.root.display().to_string();
        let author = quote(&self.clone_dir(Who::Author).display().to_string());
        let hotfix = self.program_shown();
        self.ui.print(format!(
            "The whole pipeline ran. The repositories stay in {root} to explore:\n\
             \x20 cd {author} && git log --graph --oneline --all\n\
             \x20 git -C {author} show v1.2.1     # the release tag carries the hotfix record\n\
             \x20 {hotfix} -C {author} list --json\n\
             \x20 {hotfix} -C {author} status\n\
             Remove it with `rm -rf {}` (or run `{hotfix} demo --clean` next time).",
            quote(&root),
        ));
    }

    /// The command that runs this hotfix from where the user is: `hotfix` (or `git hotfix`)
    /// when that name on PATH is this program, `cargo run -q --` when cargo started it, else
    /// the program's own path.
    fn program_shown(&self) -> String {
        program_shown(&self.exe)
    }
}

/// See [`Demo::program_shown`].
fn program_shown(exe: &Path) -> String {
    let same = |p: &Path| {
        let (Ok(a), Ok(b)) = (std::fs::canonicalize(p), std::fs::canonicalize(exe)) else {
            return false;
        };
        a == b
    };
    let on_path = |name: &str| {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
                .is_some_and(|p| same(&p))
        })
    };
    if on_path("hotfix") {
        return "hotfix".into();
    }
    if on_path("git-hotfix") {
        return "git hotfix".into();
    }
    // `cargo run` sets CARGO and the package's name for the program it runs
    if std::env::var_os("CARGO").is_some()
        && std::env::var_os("CARGO_PKG_NAME").is_some_and(|n| n == "hotfix")
    {
        return "cargo run -q --".into();
    }
    quote(&exe.display().to_string())
}

/// An argument as a user would type it in a POSIX shell.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    let special = |c: char| "\\\"$`!".contains(c);
    if plain {
        arg.to_string()
    } else if !arg.contains(special) {
        format!("\"{arg}\"")
    } else if !arg.contains('\'') {
        format!("'{arg}'")
    } else {
        let mut out = String::from('"');
        for c in arg.chars() {
            if special(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}

// ---- the demo app: a checkout script and its tests ----

const README: &str = "# shop\n\nThe shop's checkout: `sh app.sh <price in cents>...` prints the receipt.\nTests: `sh test.sh`.\n";

const README_DEVELOP: &str = "# shop\n\nThe shop's checkout: `sh app.sh <price in cents>...` prints the receipt.\n`sh receipt.sh` prints the receipt header.\nTests: `sh test.sh`.\n";

const CHANGELOG: &str = "# Changelog\n\n## Unreleased\n- a receipt header\n";

const RECEIPT: &str = "#!/bin/sh\n# The receipt header.\necho \"THE SHOP\"\necho \"--------\"\n";

/// The team's policy, committed on main before the first release.
const POLICY: &str = r#"# The team's hotfix policy (see `hotfix.toml.example` for every key).
# Commands run with `sh -c` in a fresh export of the tree being tested or shipped (never the
# working tree); $HOTFIX_REPO_ROOT is the clone's root, and "production" the folder next to the clones.

[branches]
development = "develop"
also_merge_into = ["release/*"]

[release]
tag_pattern = "v*"

[guard]
max_files = 5
max_lines = 150

[review]
approvals = 1

[test]
command = "sh test.sh"
timeout = "5m"

[deploy]
command = "cp app.sh \"$HOTFIX_REPO_ROOT/../production/app.sh\" && echo \"$HOTFIX_TAG\" > \"$HOTFIX_REPO_ROOT/../production/VERSION\" && echo \"deployed $HOTFIX_TAG\""
verify = "sh \"$HOTFIX_REPO_ROOT/../production/app.sh\""
verify_retries = 2
rollback = "git -C \"$HOTFIX_REPO_ROOT\" show \"$HOTFIX_BASE_TAG:app.sh\" > \"$HOTFIX_REPO_ROOT/../production/app.sh\" && echo \"rolled back to $HOTFIX_BASE_TAG\""
notify = "cat > \"$HOTFIX_REPO_ROOT/../production/release.json\" && echo \"posted to #incidents: $HOTFIX_TAG released ($HOTFIX_SUMMARY)\""
"#;

/// The shop's app.sh or test.sh at one point of its history: the part every version shares,
/// then these lines.
macro_rules! shop_sh {
    (app: $($line:literal),* $(,)?) => {
        concat!(r##"#!/bin/sh
# The shop's checkout: prints the receipt for the item prices given, in cents.
total=0
for price in "$@"; do
  total=$((total + price))
done
"##, $($line, "\n"),*)
    };
    (test: $($line:literal),* $(,)?) => {
        concat!(r##"#!/bin/sh
# The shop's tests: sh test.sh
check() { # check <expected line> <prices>...
  expected=$1
  shift
  if ! out=$(sh app.sh "$@"); then
    echo "FAIL: sh app.sh${*:+ $*} failed"
    exit 1
  fi
  case "$out" in
    *"$expected"*) echo "ok: sh app.sh${*:+ $*} prints '$expected'" ;;
    *) echo "FAIL: sh app.sh${*:+ $*} does not print '$expected'"; exit 1 ;;
  esac
}
"##, $($line, "\n"),*)
    };
}

const APP_V1_0: &str = shop_sh!(app: r##"echo "total: $total""##);

const APP_V1_1: &str = shop_sh!(app: r##"echo "items: $#""##, r##"echo "total: $total""##);

const APP_V1_2: &str = shop_sh!(app: r##"echo "items: $#""##, r##"echo "total: $total""##, r##"echo "average: $((total / $#))""##);

const APP_FIXED: &str = shop_sh!(app: r##"echo "items: $#""##, r##"echo "total: $total""##, r##"if [ $# -gt 0 ]; then"##, r##"  echo "average: $((total / $#))""##, r##"fi"##);

const TEST_V1_0: &str = shop_sh!(test: r#"check "total: 350" 250 100"#);

const TEST_V1_2: &str = shop_sh!(test:
    r#"check "total: 350" 250 100"#,
    r#"check "average: 175" 250 100"#,
);

const TEST_FIXED: &str = shop_sh!(test:
    r#"check "total: 350" 250 100"#,
    r#"check "average: 175" 250 100"#,
    r#"check "total: 0""#,
);
