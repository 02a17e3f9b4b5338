//! Expected refusals: the outcomes a user can act on, each with an exit code and a hint.
//!
//! Anything else is an unexpected failure (`anyhow::Error`), reported with its whole chain and
//! exit 2.

use std::process::ExitCode;

/// Exit codes from SPEC: 0 done, 1 a gate said no, 2 bad input, 130 interrupted.
pub const EXIT_GATE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

/// An outcome the tool expected and explains: one sentence, plus the command that moves on.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A gate or check said no (exit 1).
    #[error("{message}")]
    Gate {
        message: String,
        hint: Option<String>,
    },
    /// Bad input or a repository state the command cannot work from (exit 2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// The user interrupted (exit 130).
    #[error("interrupted")]
    Interrupted,
}

impl Refusal {
    pub fn gate(message: impl Into<String>) -> Self {
        Refusal::Gate {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Refusal::Usage {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the line that tells the user how to proceed.
    pub fn hint(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            Refusal::Gate { hint, .. } | Refusal::Usage { hint, .. } => *hint = Some(text.into()),
            Refusal::Interrupted => {}
        }
        self
    }

    pub fn hint_text(&self) -> Option<&str> {
        match self {
            Refusal::Gate { hint, .. } | Refusal::Usage { hint, .. } => hint.as_deref(),
            Refusal::Interrupted => None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Refusal::Gate { .. } => EXIT_GATE,
            Refusal::Usage { .. } => EXIT_USAGE,
            Refusal::Interrupted => EXIT_INTERRUPTED,
        }
    }
}

/// Shorthand for returning a usage refusal: `bail_usage!("…")`.
#[macro_export]
macro_rules! bail_usage {
    ($($arg:tt)*) => {
        return Err($crate::error::Refusal::usage(format!($($arg)*)).into())
    };
}

/// The exit code for any error that reached `main`.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    let code = err
        .chain()
        .find_map(|e| e.downcast_ref::<Refusal>())
        .map(Refusal::exit_code)
        .unwrap_or(EXIT_USAGE);
    ExitCode::from(code)
}
