//! The pipeline, one module per step. Each step runs as its own command; `finish` runs the
//! remaining ones in order.

use serde::{Deserialize, Serialize};

pub mod branch;
pub mod confirm;

/// The steps of a hotfix, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Confirm,
    Branch,
    /// The developer commits the fix on the hotfix branch.
    Fix,
    Guard,
    Review,
    Test,
    Deploy,
    MergeBack,
    Done,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Confirm => "confirm",
            Step::Branch => "branch",
            Step::Fix => "fix",
            Step::Guard => "guard",
            Step::Review => "review",
            Step::Test => "test",
            Step::Deploy => "deploy",
            Step::MergeBack => "merge-back",
            Step::Done => "done",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
