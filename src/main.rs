use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use hotfix::cli::Cli;
use hotfix::error::{Refusal, exit_code_for};
use hotfix::ui::{Ui, err_line};

fn main() -> ExitCode {
    let cli = parse();
    let ui = Ui::from_args(&cli.global);
    match hotfix::run(cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            exit_code_for(&err)
        }
    }
}

/// The command line. Installed as `git-hotfix`, the program is run by git as `git hotfix`, and
/// its usage and help say so.
fn parse() -> Cli {
    let mut cmd = Cli::command();
    let as_git = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .is_some_and(|p| p.file_stem().is_some_and(|s| s == "git-hotfix"));
    if as_git {
        cmd = cmd.bin_name("git hotfix");
    }
    let matches = cmd.try_get_matches().unwrap_or_else(|e| exit_with(e));
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// clap's error, except the usage line it prints for a mistyped flag: that line is built from
/// the arguments as typed, suggestion applied (`deploy --psuh` gives "Usage: hotfix deploy
/// --push"), which reads as if it were the command's usage. The tip and `--help` stay.
fn exit_with(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if e.kind() != ErrorKind::UnknownArgument || !e.use_stderr() {
        e.exit();
    }
    let text = if console::colors_enabled_stderr() {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let plain = console::strip_ansi_codes(line);
        if plain.starts_with("Usage:") {
            // and the blank line after it
            if lines
                .peek()
                .is_some_and(|l| console::strip_ansi_codes(l).trim().is_empty())
            {
                lines.next();
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    eprint!("{out}");
    std::process::exit(2);
}

/// One sentence saying what is wrong, the causes under it, and how to proceed. A closed stderr
/// loses the text, never the exit code.
fn report(err: &anyhow::Error) {
    let red = console::Style::new().red().bold().for_stderr();
    err_line(&format!("{} {err}", red.apply_to("error:")));
    for cause in err.chain().skip(1) {
        err_line(&format!("  caused by: {cause}"));
    }
    if let Some(hint) = err
        .chain()
        .find_map(|e| e.downcast_ref::<Refusal>())
        .and_then(Refusal::hint_text)
    {
        let cyan = console::Style::new().cyan().for_stderr();
        err_line(&format!("{} {hint}", cyan.apply_to("hint:")));
    }
}
