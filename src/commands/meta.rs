//! Shell completions and the man page, generated from the clap definition.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = Cli::command();
    // into memory first: clap_complete panics when its writer fails (a closed pipe)
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "hotfix", &mut out);
    crate::ui::out_bytes(&out);
    Ok(())
}

/// One page for everything: clap_mangen's page for `hotfix` (which names the subcommands),
/// then a COMMANDS IN DETAIL section with each subcommand's full help, so `man hotfix` (or
/// `git hotfix --help`, from a page installed as git-hotfix.1) never points at a missing page.
pub fn man() -> Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .context("could not render the man page")?;
    out.extend_from_slice(b".SH \"COMMANDS IN DETAIL\"\n");
    for sub in cmd.get_subcommands_mut().filter(|s| s.get_name() != "help") {
        let name = sub.get_name().to_string();
        let help = sub.render_long_help().to_string();
        out.extend_from_slice(format!(".SS \"hotfix {name}\"\n.nf\n").as_bytes());
        for line in help.lines() {
            out.extend_from_slice(roff_line(line).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b".fi\n");
    }
    // `hotfix man | head` closes the pipe early: not an error
    crate::ui::out_bytes(&out);
    Ok(())
}

/// A line of literal text for roff: backslashes escaped, and a leading `.` or `'` made inert.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
