//! What a command works with: the output, the repository and its state file. Below the
//! commands and steps, so every layer can take it without reaching up to the dispatch.

use anyhow::Result;

use crate::error::Refusal;
use crate::git::Repo;
use crate::state::{Hotfix, State, Store};
use crate::ui::Ui;

/// What a command works with.
pub struct Ctx<'a> {
    pub ui: &'a Ui,
    pub repo: Repo,
    pub store: Store,
}

impl<'a> Ctx<'a> {
    pub fn open(ui: &'a Ui, dir: &std::path::Path) -> Result<Ctx<'a>> {
        let repo = Repo::discover(dir)?;
        let store = Store::new(&repo.common_dir());
        Ok(Ctx { ui, repo, store })
    }

    /// Before a command that writes the index changes anything: an `index.lock` a killed
    /// hotfix left is removed (and said), another program's refuses `doing` with one sentence.
    pub fn require_index_free(&self, doing: &str) -> Result<()> {
        if let Some(pid) = self.repo.require_index_free(doing)? {
            self.ui.warn(format!(
                "removed the index.lock that a killed hotfix process (pid {pid}) had left"
            ));
        }
        Ok(())
    }

    /// The hotfix checked out now, if any.
    pub fn current<'s>(&self, state: &'s State) -> Result<Option<&'s Hotfix>> {
        Ok(match self.repo.head()? {
            crate::git::Head::Branch(name, _) => state.hotfixes.get(&name),
            _ => None,
        })
    }

    /// The hotfix a command names (by name or branch), else the one checked out, else the only
    /// one in progress.
    pub fn select<'s>(&self, state: &'s State, name: Option<&str>) -> Result<&'s Hotfix> {
        if let Some(name) = name {
            return state
                .hotfixes
                .values()
                .find(|h| h.name == name || h.branch == name)
                .ok_or_else(|| {
                    Refusal::usage(format!("no hotfix named `{name}` is in progress"))
                        .hint("`hotfix status` lists the hotfixes in progress")
                        .into()
                });
        }
        if let Some(h) = self.current(state)? {
            return Ok(h);
        }
        let mut all = state.hotfixes.values();
        match (all.next(), all.next()) {
            (Some(h), None) => Ok(h),
            (None, _) => Err(Refusal::usage("no hotfix is in progress")
                .hint("start one with `hotfix start <name>`")
                .into()),
            (Some(_), Some(_)) => Err(Refusal::usage(format!(
                "several hotfixes are in progress ({}) and none is checked out",
                state
                    .hotfixes
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .hint("name one, or `git switch` to its branch")
            .into()),
        }
    }
}
