//! Shell completions and the man page, generated from the clap definition.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "hotfix", &mut out);
    // What only the repository knows comes from `hotfix __complete` when TAB is pressed.
    match shell {
        clap_complete::Shell::Bash => out.extend_from_slice(BASH_VALUES.as_bytes()),
        clap_complete::Shell::Fish => out.extend_from_slice(FISH_VALUES.as_bytes()),
        _ => {}
    }
    // `hotfix completions bash | head` closes the pipe early: not an error
    crate::ui::out_bytes(&out);
    Ok(())
}

/// bash: hotfix branches for `approve`, release tags for `retro` and `--from`, the criteria for
/// `--severity`; everything else from clap's `_hotfix`. And `git hotfix <TAB>`: git's completion
/// calls `_git_hotfix` with its own `words`/`cword`.
const BASH_VALUES: &str = r#"
# Values only the repository knows, from `hotfix __complete`; the rest from _hotfix above.
_hotfix_values() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local sub="" what="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -C|--color|--reason|--override|--summary|--severity|--from|--version|--why|--catch|--cause|--since|--dir) ((i++)) ;;
            -*) ;;
            *) sub="${COMP_WORDS[i]}"; break ;;
        esac
    done
    case "$prev" in
        --severity) what=criteria ;;
        --from) what=tags ;;
        -C|--color|--reason|--override|--summary|--version|--why|--catch|--cause|--since|--dir) ;;
        *)
            if [[ $cur != -* && $prev == "$sub" ]]; then
                case "$sub" in
                    approve) what=branches ;;
                    retro) what=tags ;;
                esac
            fi
            ;;
    esac
    if [[ -n $what ]]; then
        local IFS=$'
'
        COMPREPLY=($(compgen -W "$(${_HOTFIX_PROGRAM:-hotfix} __complete "$what" 2>/dev/null)" -- "$cur"))
        return 0
    fi
    _hotfix "$@"
}
complete -F _hotfix_values -o bashdefault -o default hotfix

# `git hotfix <TAB>` (installed as git-hotfix): git's completion calls _git_hotfix; the words
# after `hotfix` go to hotfix's completion.
_git_hotfix() {
    local i=1
    while (( i < cword )) && [[ ${words[i]} != hotfix ]]; do ((i++)); done
    local COMP_WORDS=(hotfix "${words[@]:i+1}") COMP_CWORD=$((cword - i))
    local _HOTFIX_PROGRAM="git hotfix"
    _hotfix_values hotfix "$cur" "${words[cword-1]}"
}
"#;

/// fish: the same values, added to the completions above.
const FISH_VALUES: &str = r#"
# Values only the repository knows, from `hotfix __complete`.
complete -c hotfix -n "__fish_seen_subcommand_from approve" -f -a "(hotfix __complete branches)"
complete -c hotfix -n "__fish_seen_subcommand_from retro" -f -a "(hotfix __complete tags)"
complete -c hotfix -n "__fish_seen_subcommand_from start" -l severity -f -r -a "(hotfix __complete criteria)"
complete -c hotfix -n "__fish_seen_subcommand_from start" -l from -f -r -a "(hotfix __complete tags)"
"#;

/// One page for everything: clap_mangen's page for `hotfix` (which names the subcommands),
/// then a COMMANDS IN DETAIL section with each subcommand's full help, so `man hotfix` (or
/// `git hotfix --help`, from a page installed as git-hotfix.1) never points at a missing page.
pub fn man(ui: &crate::ui::Ui, args: &crate::cli::ManArgs) -> Result<()> {
    let page = page()?;
    if !args.install {
        // `hotfix man | head` closes the pipe early: not an error
        crate::ui::out_bytes(&page);
        return Ok(());
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => default_man_dir()?,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    // `man hotfix` reads hotfix.1; `git hotfix --help` becomes `git help hotfix`, which reads
    // git-hotfix.1
    for name in ["hotfix.1", "git-hotfix.1"] {
        let path = dir.join(name);
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("could not write into {}", dir.display()))?;
        tmp.write_all(&page)
            .with_context(|| format!("could not write {}", path.display()))?;
        tmp.persist(&path)
            .with_context(|| format!("could not write {}", path.display()))?;
        ui.status(format!("Wrote {}", path.display()));
    }
    let root = dir.parent().unwrap_or(&dir).display().to_string();
    ui.status(format!(
        "`man hotfix` and `git hotfix --help` read it when {root} is searched by man; if man says \"No manual entry\", add `export MANPATH=\"{root}:$MANPATH\"` to your shell's profile"
    ));
    Ok(())
}

/// `$XDG_DATA_HOME/man/man1`, else `~/.local/share/man/man1`.
fn default_man_dir() -> Result<std::path::PathBuf> {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(std::path::PathBuf::from(data).join("man").join("man1"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(std::path::PathBuf::from(home)
            .join(".local/share/man")
            .join("man1")),
        None => Err(crate::error::Refusal::usage(
            "there is no HOME (nor XDG_DATA_HOME) to install the man page under",
        )
        .hint("name the folder: `hotfix man --install --dir <DIR>`")
        .into()),
    }
}

/// The page, rendered.
fn page() -> Result<Vec<u8>> {
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
    Ok(out)
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
