//! The command line: every command and flag of SPEC.md. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Make an emergency production fix safe: confirm, branch from the release tag, guard the diff
/// size, review, test, deploy, and merge back.
#[derive(Debug, Parser)]
#[command(name = "hotfix", version, max_term_width = 100)]
#[command(
    after_help = "Start with `hotfix demo` to see the whole pipeline on a throwaway repository."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Listed apart in each command's help, after the command's own options (as gh does).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Run as if hotfix was started in <PATH>
    #[arg(short = 'C', value_name = "PATH", global = true)]
    pub chdir: Option<PathBuf>,

    /// Answer confirmation prompts with yes (never skips a gate)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Never prompt; a missing answer is an error naming the flag that supplies it
    #[arg(long, global = true)]
    pub non_interactive: bool,

    /// Machine-readable output where the command prints data
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colour
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print less: only errors and data
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what is being done
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never touch the network (no fetch, no push); a command that needs it refuses
    #[arg(long, global = true)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--override <gate> --reason <text>`, accepted by every gate command.
#[derive(Debug, Clone, Default, Args)]
pub struct OverrideArgs {
    /// Let a gate pass that would fail, where the policy allows it (recorded in the release)
    #[arg(
        long = "override",
        value_enum,
        value_name = "GATE",
        requires = "reason"
    )]
    pub gates: Vec<Gate>,

    /// Why the gate is overridden (required with --override)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Gate {
    Guard,
    Review,
    Test,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write hotfix.toml with defaults detected from the repository
    Init,

    /// Confirm the incident, then branch from the newest production tag
    Start(StartArgs),

    /// Show the hotfix in progress: base, gates, and the next command
    Status,

    /// Check the diff size of base..HEAD and flag risky hunks
    Guard(GuardArgs),

    /// Approve the hotfix branch's current tree as a reviewer
    Approve(ApproveArgs),

    /// Push the hotfix branch and open (or find) its pull request on the forge
    Propose(ProposeArgs),

    /// Run the test command on HEAD's tree in a clean temporary checkout
    Test(TestArgs),

    /// Check every gate, deploy, verify, tag the release and notify
    Deploy(DeployArgs),

    /// Merge the released fix into the development and release branches
    MergeBack(MergeBackArgs),

    /// Run the remaining steps in order, stopping at the first that cannot pass
    Finish(FinishArgs),

    /// Move the fix onto the newest release of its line (the gates then judge the new tree)
    Rebase(RebaseArgs),

    /// Abandon the hotfix in progress and return to the branch it started from
    Abort(AbortArgs),

    /// Post-incident review: why it reached production and what would catch it earlier
    Retro(RetroArgs),

    /// List past hotfixes
    List(ListArgs),

    /// Hotfix frequency, trend, root causes and compliance, read from git history
    Stats(StatsArgs),

    /// CI check: every released hotfix is present in the development branch
    VerifyMerged,

    /// Print shell completions
    Completions(CompletionsArgs),

    /// Print the man page (roff), or install it where `man` finds it
    Man(ManArgs),

    /// Run the whole pipeline on a throwaway repository
    Demo(DemoArgs),

    /// The values the completion scripts ask for (hotfix branches, release tags, criteria)
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    #[arg(value_enum)]
    pub what: CompleteWhat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompleteWhat {
    Branches,
    Tags,
    Criteria,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only hotfixes since this day (YYYY-MM-DD) or month (YYYY-MM)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Name of the hotfix; the branch is <prefix><name>
    pub name: String,

    /// Branch from this tag or revision instead of the newest production tag
    #[arg(long, value_name = "TAG-OR-REV")]
    pub from: Option<String>,

    /// The severity criterion this incident meets (one of severity.criteria)
    #[arg(long, value_name = "CRITERION")]
    pub severity: Option<String>,

    /// Confirm the problem has been reproduced
    #[arg(long)]
    pub reproduced: bool,

    /// One line saying what is broken in production
    #[arg(long, value_name = "TEXT")]
    pub summary: Option<String>,

    /// The version to release (default: the base's with the patch raised); the version files
    /// are bumped to it
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    /// The problem was configuration, caching or a misunderstanding: record it, make no branch
    #[arg(long, conflicts_with_all = ["from", "reproduced", "detected", "version"])]
    pub not_code: bool,

    /// When the incident began, for time to restore: an RFC 3339 time or "40m ago" (default: now)
    #[arg(long, value_name = "TIME")]
    pub detected: Option<String>,
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The hotfix (default: the one checked out, else the only one in progress)
    pub name: Option<String>,

    /// Open the request as a draft
    #[arg(long)]
    pub draft: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The hotfix branch to approve (default: the current branch)
    pub branch: Option<String>,

    /// Push the approval (or the change request) to the remote so the author sees it
    #[arg(long)]
    pub push: bool,

    /// Do not approve: ask for changes, with a comment the author sees in `hotfix status`
    #[arg(long, value_name = "COMMENT")]
    pub request_changes: Option<String>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Push the release (the default when there is a remote; kept for scripts)
    #[arg(long, conflicts_with = "no_push")]
    pub push: bool,

    /// Keep the release in this clone: no reservation, no push (status and list then say so)
    #[arg(long)]
    pub no_push: bool,

    /// The new version (default: the base version with the patch number raised)
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

#[derive(Debug, Args)]
pub struct MergeBackArgs {
    /// Go on after the conflicts of the current target are resolved and staged
    #[arg(long, conflicts_with = "abort")]
    pub r#continue: bool,

    /// Give up the merge in progress and restore the target as it was
    #[arg(long)]
    pub abort: bool,

    /// Merge on a new branch merge-back/<name>-into-<target> and push it for a pull request
    #[arg(long)]
    pub via_branch: bool,
}

#[derive(Debug, Args)]
pub struct RebaseArgs {
    /// Go on after the conflicts are resolved and staged
    #[arg(long, conflicts_with = "abort")]
    pub r#continue: bool,

    /// Give up the rebase in progress and put the branch back as it was
    #[arg(long)]
    pub abort: bool,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// Push the release (the default when there is a remote; kept for scripts)
    #[arg(long, conflicts_with = "no_push")]
    pub push: bool,

    /// Keep the release in this clone: no reservation, no push (status and list then say so)
    #[arg(long)]
    pub no_push: bool,

    /// The new version, as for deploy (default: the base version with the patch number raised)
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    /// Merge back through a branch pushed for a pull request
    #[arg(long)]
    pub via_branch: bool,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

#[derive(Debug, Args)]
pub struct AbortArgs {
    /// The hotfix to abandon (default: the one checked out)
    pub name: Option<String>,

    /// Also delete the hotfix branch
    #[arg(long)]
    pub delete: bool,

    /// Abandon a hotfix that was already released (its merge-back is dropped), and with
    /// --delete, delete the branch even if it holds commits no other ref has
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RetroArgs {
    /// The release to review (default: the newest hotfix release)
    pub version: Option<String>,

    /// Why did this reach production?
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,

    /// What would catch it earlier next time?
    #[arg(long, value_name = "TEXT")]
    pub catch: Option<String>,

    /// The root-cause category
    #[arg(long, value_enum, value_name = "CATEGORY")]
    pub cause: Option<Cause>,

    /// Push the review to the remote so every teammate who fetches sees it
    #[arg(long)]
    pub push: bool,

    /// Where the bug came from: a commit (repeatable), `proposed` to confirm the commits
    /// proposed from blame, or `unknown`
    #[arg(long, value_name = "COMMIT")]
    pub origin: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cause {
    RegressionTesting,
    MissingCoverage,
    EnvironmentConfig,
    UntestedEdgeCase,
    ExternalDependency,
    Other,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only hotfixes since this day (YYYY-MM-DD) or month (YYYY-MM)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Also write the report as one self-contained HTML page with charts to <FILE>
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the page as hotfix.1 and git-hotfix.1 (for `git hotfix --help`) into the man
    /// folder instead of printing it
    #[arg(long)]
    pub install: bool,

    /// The folder for --install [default: $XDG_DATA_HOME/man/man1, else ~/.local/share/man/man1]
    #[arg(long, value_name = "DIR", requires = "install")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Remove the throwaway repository at the end
    #[arg(long)]
    pub clean: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
