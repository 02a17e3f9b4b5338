//! Dispatch: opens the repository once and hands each command what it needs.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command};
use crate::error::Refusal;
use crate::ui::Ui;
use crate::{commands, steps};

/// Lives below the commands, so that the layers they build on (history) can take it too.
pub use crate::ctx::Ctx;

pub fn run(cli: Cli, ui: &Ui) -> Result<()> {
    let dir = match &cli.global.chdir {
        Some(p) => p.clone(),
        None => std::env::current_dir().context("could not read the current directory")?,
    };
    if !dir.is_dir() {
        return Err(Refusal::usage(format!(
            "cannot change to {}: no such directory",
            dir.display()
        ))
        .into());
    }
    match &cli.command {
        Command::Completions(args) => return commands::meta::completions(args.shell),
        Command::Man(args) => return commands::meta::man(ui, args),
        // The demo makes its own repositories: it runs anywhere, inside a repository or not.
        Command::Demo(args) => return commands::demo::demo(ui, args),
        Command::Complete(args) => {
            commands::complete::complete(&dir, args.what);
            return Ok(());
        }
        _ => {}
    }
    let mut ctx = Ctx::open(ui, &dir)?;
    ctx.repo.set_offline(cli.global.offline);
    // A bare repository has no working tree and no checked-out branch: only the commands that
    // read the release history work there; the others refuse with the bare-repository sentence.
    let reads_history = matches!(
        cli.command,
        Command::VerifyMerged | Command::Retro(_) | Command::List(_) | Command::Stats(_)
    );
    if !reads_history {
        ctx.repo.workdir()?;
    }
    match &cli.command {
        Command::Init => commands::init::init(&ctx),
        Command::Start(args) => steps::branch::start(&ctx, args),
        Command::Status => commands::status::status(&ctx),
        Command::Abort(args) => commands::abort::abort(&ctx, args),
        Command::Completions(_) | Command::Man(_) | Command::Demo(_) | Command::Complete(_) => {
            unreachable!("handled above")
        }
        Command::Approve(args) => steps::review::approve(&ctx, args),
        Command::Propose(args) => commands::propose::propose(&ctx, args),
        Command::Guard(args) => steps::guard::guard(&ctx, args),
        Command::Test(args) => steps::test::test(&ctx, args),
        Command::Deploy(args) => steps::deploy::deploy(&ctx, args),
        Command::MergeBack(args) => steps::merge_back::merge_back(&ctx, args),
        Command::Finish(args) => steps::finish::finish(&ctx, args),
        Command::Rebase(args) => steps::rebase::rebase(&ctx, args),
        Command::VerifyMerged => crate::history::verify_merged(&ctx),
        Command::Retro(args) => commands::retro::retro(&ctx, args),
        Command::List(args) => commands::list::list(&ctx, args),
        Command::Stats(args) => commands::stats::stats(&ctx, args),
    }
}

/// Where `-C` points, for commands that make paths relative to it.
pub fn start_dir(cli: &Cli) -> PathBuf {
    cli.global
        .chdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."))
}
