//! All output and prompts go through `Ui`: data on stdout, status on stderr, `-q`/`-v`,
//! colour, and prompts that never hang without a terminal.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};

use anyhow::Result;
use console::{Style, Term};

use crate::cli::{ColorChoice, GlobalArgs};
use crate::error::Refusal;

pub struct Ui {
    pub quiet: bool,
    pub verbose: u8,
    pub json: bool,
    /// `--yes`: confirmation prompts are answered yes.
    pub yes: bool,
    /// Prompts may be shown (stdin and stderr are terminals, no `--non-interactive`, no `CI`).
    pub interactive: bool,
    /// Scripted answers for tests; when set, they are used instead of a terminal.
    answers: Option<RefCell<VecDeque<String>>>,
}

impl Ui {
    pub fn from_args(args: &GlobalArgs) -> Self {
        let color = match args.color {
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
            ColorChoice::Auto => std::env::var_os("NO_COLOR")
                .filter(|v| !v.is_empty())
                .map(|_| false),
        };
        if let Some(on) = color {
            console::set_colors_enabled(on);
            console::set_colors_enabled_stderr(on);
        }
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        // dialoguer reads keys from the tty behind stderr: both must be terminals or it can hang.
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Ui {
            quiet: args.quiet,
            verbose: args.verbose,
            json: args.json,
            yes: args.yes,
            interactive: terminal && !args.non_interactive && !ci,
            answers: None,
        }
    }

    /// A non-interactive Ui for library callers and tests, optionally with scripted answers.
    pub fn scripted(answers: &[&str]) -> Self {
        Ui {
            quiet: true,
            verbose: 0,
            json: false,
            yes: false,
            interactive: false,
            answers: Some(RefCell::new(
                answers.iter().map(|s| s.to_string()).collect(),
            )),
        }
    }

    /// Whether a question can be asked (a terminal, or scripted answers in tests).
    pub fn can_prompt(&self) -> bool {
        self.interactive || self.answers.is_some()
    }

    /// Data for the user or a script: stdout, never silenced by `-q`.
    pub fn data(&self, text: impl AsRef<str>) {
        out_bytes(format!("{}\n", text.as_ref()).as_bytes());
    }

    /// Human-readable report on stdout (not shown with `-q`).
    pub fn print(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.data(text);
        }
    }

    /// Progress and status on stderr (not shown with `-q`).
    pub fn status(&self, text: impl AsRef<str>) {
        if !self.quiet {
            err_line(text.as_ref());
        }
    }

    /// Extra detail, shown with `-v`.
    pub fn verbose(&self, text: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            err_line(&self.dim(text.as_ref()));
        }
    }

    pub fn warn(&self, text: impl AsRef<str>) {
        err_line(&format!(
            "{} {}",
            Style::new()
                .yellow()
                .bold()
                .for_stderr()
                .apply_to("warning:"),
            text.as_ref()
        ));
    }

    pub fn ok_mark(&self) -> String {
        Style::new().green().apply_to("✓").to_string()
    }

    pub fn fail_mark(&self) -> String {
        Style::new().red().apply_to("✗").to_string()
    }

    pub fn pending_mark(&self) -> String {
        Style::new().yellow().apply_to("·").to_string()
    }

    pub fn bold(&self, text: &str) -> String {
        Style::new().bold().apply_to(text).to_string()
    }

    pub fn dim(&self, text: &str) -> String {
        Style::new().dim().apply_to(text).to_string()
    }

    fn scripted_answer(&self, flag: &str) -> Option<Result<String>> {
        let answers = self.answers.as_ref()?;
        Some(
            answers
                .borrow_mut()
                .pop_front()
                .ok_or_else(|| missing_answer(flag)),
        )
    }

    fn require_terminal(&self, flag: &str) -> Result<()> {
        if self.interactive {
            Ok(())
        } else {
            Err(missing_answer(flag))
        }
    }

    /// A yes/no question. `--yes` answers yes; without a terminal the answer must come from `flag`.
    pub fn confirm(&self, prompt: &str, flag: &str) -> Result<bool> {
        if self.yes {
            return Ok(true);
        }
        self.confirm_fact(prompt, flag)
    }

    /// A yes/no question about a fact the user must state; `--yes` does not answer it.
    /// The answer takes Enter (a `y` alone does not answer, so the Enter a tired user types after
    /// it cannot land in the next prompt); Enter alone is no; Escape, then Enter, cancels.
    pub fn confirm_fact(&self, prompt: &str, flag: &str) -> Result<bool> {
        if let Some(answer) = self.scripted_answer(flag) {
            return Ok(matches!(answer?.as_str(), "y" | "yes" | "true"));
        }
        self.require_terminal(flag)?;
        let session = PromptSession::begin();
        let answer = dialoguer::Confirm::with_theme(&Punctuated)
            .with_prompt(prompt)
            .default(false)
            .wait_for_newline(true)
            .interact_on_opt(session.term());
        session.end(answer, 0)
    }

    /// A line of text; without a terminal the answer must come from `flag`.
    pub fn input(&self, prompt: &str, flag: &str) -> Result<String> {
        if let Some(answer) = self.scripted_answer(flag) {
            return answer;
        }
        self.require_terminal(flag)?;
        let session = PromptSession::begin();
        let answer = dialoguer::Input::<String>::with_theme(&Punctuated)
            .with_prompt(prompt)
            .interact_text_on(session.term())
            .map(Some);
        session.end(answer, 0)
    }

    /// One of `items`; returns its index. Without a terminal the answer must come from `flag`.
    /// Escape (or `q`) cancels.
    pub fn select(&self, prompt: &str, items: &[String], flag: &str) -> Result<usize> {
        if let Some(answer) = self.scripted_answer(flag) {
            let answer = answer?;
            return items.iter().position(|i| *i == answer).ok_or_else(|| {
                Refusal::usage(format!("`{answer}` is not one of {}", items.join(", "))).into()
            });
        }
        self.require_terminal(flag)?;
        let session = PromptSession::begin();
        // What the menu draws: its prompt line and the items of one page (dialoguer's paging
        // keeps two rows of the terminal free). Erased when the menu is left by Ctrl-C.
        let rows = usize::from(session.term().size().0).max(3) - 2;
        let drawn = 1 + items.len().min(rows);
        let answer = dialoguer::Select::with_theme(&Punctuated)
            .with_prompt(prompt)
            .items(items)
            .default(0)
            .interact_on_opt(session.term());
        session.end(answer, drawn)
    }
}

/// The prompts' look: dialoguer's plain theme, with one punctuation mark at the end of a
/// prompt (a question keeps its `?`, anything else gets a `:`).
struct Punctuated;

impl Punctuated {
    fn mark(prompt: &str) -> &'static str {
        if prompt.ends_with(['?', ':']) {
            ""
        } else {
            ":"
        }
    }
}

impl dialoguer::theme::Theme for Punctuated {
    fn format_prompt(&self, f: &mut dyn std::fmt::Write, prompt: &str) -> std::fmt::Result {
        write!(f, "{prompt}{}", Self::mark(prompt))
    }

    fn format_input_prompt(
        &self,
        f: &mut dyn std::fmt::Write,
        prompt: &str,
        default: Option<&str>,
    ) -> std::fmt::Result {
        match default {
            Some(d) => write!(f, "{prompt} [{d}]{} ", Self::mark(prompt)),
            None => write!(f, "{prompt}{} ", Self::mark(prompt)),
        }
    }

    fn format_input_prompt_selection(
        &self,
        f: &mut dyn std::fmt::Write,
        prompt: &str,
        sel: &str,
    ) -> std::fmt::Result {
        write!(f, "{prompt}{} {sel}", Self::mark(prompt))
    }
}

/// One prompt on the terminal, and every way out of it: an answer, Escape, Ctrl-C (console
/// raises SIGINT for it; caught here, so the process is not killed with the cursor hidden and
/// the menu drawn), or an error. Keys typed before the prompt appeared are discarded, so an
/// extra Enter for the last question does not answer this one.
struct PromptSession {
    term: Term,
    _signals: crate::process::InterruptGuard,
}

impl PromptSession {
    fn begin() -> Self {
        let _signals = crate::process::catch_interrupts();
        // SAFETY: tcflush on the stdin descriptor (a terminal, or the call fails harmlessly).
        unsafe {
            libc::tcflush(libc::STDIN_FILENO, libc::TCIFLUSH);
        }
        PromptSession {
            term: Term::stderr(),
            _signals,
        }
    }

    fn term(&self) -> &Term {
        &self.term
    }

    /// The answer, or why there is none. `drawn`: the lines the prompt leaves on the screen when
    /// it is interrupted, erased then.
    fn end<T>(self, answer: dialoguer::Result<Option<T>>, drawn: usize) -> Result<T> {
        let result = match answer {
            Ok(Some(_)) if crate::process::interrupted() => Err(Refusal::Interrupted.into()),
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(Refusal::Interrupted.into()),
            Err(dialoguer::Error::IO(io)) if io.kind() == std::io::ErrorKind::Interrupted => {
                if drawn > 0 {
                    let _ = self.term.clear_last_lines(drawn);
                } else {
                    // the cursor is on the prompt's line: the error starts on a line of its own
                    let _ = self.term.write_line("");
                }
                Err(Refusal::Interrupted.into())
            }
            Err(dialoguer::Error::IO(io)) => {
                Err(anyhow::Error::new(io).context("could not read the answer from the terminal"))
            }
        };
        // dialoguer shows the cursor again only when a prompt is answered
        let _ = self.term.show_cursor();
        let _ = self.term.flush();
        result
    }
}

/// Writes `bytes` to stdout, ignoring a failure. Output is never a reason to stop: with
/// `hotfix deploy | head -1` the reader goes away after one line, and the deploy must still
/// finish (tag, state, notify) exactly as it would have; `println!` would panic halfway.
pub fn out_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// One line on stderr, ignoring a failure (a closed pipe, a full disk behind `2>file`): as
/// [`out_bytes`], the work goes on without its commentary.
pub fn err_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Whether `c` can make text on a terminal read other than it is: a control character (an
/// escape sequence, a carriage return, a backspace) or a bidirectional-text control (the
/// "Trojan Source" characters, which reorder what is displayed).
pub fn is_hiding(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character [`is_hiding`] written out as an escape (`\u{1b}`), for showing
/// something another person wrote (a commit summary, a file name, a line of the diff) on a
/// reviewer's terminal: an escape sequence in it must not move the cursor, hide the rest of
/// the line or rewrite what was printed before.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hiding) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_hiding(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// [`visible`] for text of several lines: each line on its own, the line breaks kept.
pub fn visible_lines(text: &str) -> String {
    text.split('\n')
        .map(|l| visible(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `s` as one word for a POSIX shell (or zsh), for the commands that hints and messages print
/// for the user to copy: unchanged when it is only ASCII letters, digits and `/._-+,:@%=` (and
/// neither empty nor starting with `=`), else in single quotes, each `'` written as `'\''`.
/// A branch fetched from a remote may be named `hotfix/$(touch pwned)`; pasted unquoted, the
/// shell would run it.
pub fn shell_word(s: &str) -> Cow<'_, str> {
    let plain = !s.is_empty()
        && !s.starts_with('=')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b));
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

fn missing_answer(flag: &str) -> anyhow::Error {
    Refusal::usage(format!(
        "this needs an answer and there is no terminal to ask on; pass {flag}"
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    /// What `sh` makes of `word` as the argument of `printf %s`.
    fn through_sh(word: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {word}"))
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{word}: {out:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    #[test]
    fn plain_names_are_left_as_they_are() {
        for s in [
            "hotfix/checkout-500",
            "v1.2.1",
            "origin",
            "release/1.3",
            "+refs/heads/develop:refs/remotes/origin/develop",
            "a_b,c@d%e=f",
            "-lead",
        ] {
            assert!(
                matches!(shell_word(s), std::borrow::Cow::Borrowed(_)),
                "{s}"
            );
            assert_eq!(shell_word(s), s);
        }
    }

    #[test]
    fn anything_else_is_single_quoted() {
        assert_eq!(shell_word("$(x)"), "'$(x)'");
        assert_eq!(
            shell_word("hotfix/a$(touch pwned)b"),
            "'hotfix/a$(touch pwned)b'"
        );
        assert_eq!(shell_word("quo'te"), r"'quo'\''te'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("=cmd"), "'=cmd'");
        assert_eq!(shell_word("ünïcödé"), "'ünïcödé'");
        assert_eq!(shell_word("a b"), "'a b'");
    }

    #[test]
    fn the_shell_gives_back_the_string_exactly() {
        for s in [
            "hotfix/checkout-500",
            "$(x)",
            "hotfix/a$(touch pwned)b",
            "quo'te",
            "'",
            "''a'",
            "dq\"x",
            "semi;colon&and|pipe<in>out",
            "`tick` ${HOME} !bang {a,b} *glob? ~tilde #hash",
            "back\\slash\\'",
            "ünïcödé-500 日本語",
            "new\nline\ttab",
            "",
            "-n",
            "=x",
        ] {
            let quoted = shell_word(s);
            assert_eq!(through_sh(&quoted), s, "{quoted}");
        }
    }
}
