//! `hotfix start`: the confirm step, then a branch from the production release tag.

use anyhow::{Context, Result};

use crate::app::Ctx;
use crate::cli::StartArgs;
use crate::config::Config;
use crate::error::Refusal;
use crate::fault;
use crate::git::{Oid, Repo, short};
use crate::state::{Bump, Hotfix, Phase, State};
use crate::steps::confirm;
use crate::ui::shell_word;
use crate::version;

/// Where the hotfix branch starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub tag: Option<String>,
    pub commit: Oid,
}

/// `hotfix start`: the policy is taken once and everything is checked and answered before
/// anything changes; then the entry is recorded, the branch made (its first commit the version
/// bump), the files switched to it and the entry opened.
pub fn start(ctx: &Ctx, args: &StartArgs) -> Result<()> {
    let repo = &ctx.repo;
    let state = ctx.store.read()?;
    let (config, allowed_signers) = take_policy(repo, &state, args)?;
    let branch = check_name(&config, &args.name)?;
    let who = repo.identity()?;
    if args.not_code {
        return not_code_as_told(ctx, &who, &config, args);
    }

    // Everything read-only first: nothing changes until all checks passed and all answers are in.
    let (current, _) = repo.current_branch()?;
    let tip = repo.branch_tip(&branch)?;
    let resuming = check_resumable(repo, &state, &branch, &args.name, tip)?;
    let half_switched = check_clean(repo, resuming.as_ref(), tip)?;
    let plan = match plan(ctx, &config, args, resuming.as_ref(), current)? {
        Planned::Hotfix(plan) => plan,
        Planned::NotCode { severity, summary } => {
            return not_code(ctx, &who, &args.name, summary, Some(severity));
        }
    };
    let hotfix = entry(args, &branch, config, allowed_signers, who, &plan);

    record_start(ctx, &branch, tip, &hotfix)?;
    make_branch(ctx, &branch, tip, plan.base.commit)?;
    switch_files(ctx, args, &branch, &plan, half_switched, resuming.is_some())?;
    open(ctx, &branch)?;
    report(ctx, &state, &branch, &plan.base)
}

/// The policy is taken once, before anything changes: a resumed start uses the snapshot the
/// first attempt recorded, never hotfix.toml again (by then the checkout may have deleted or
/// replaced it with the release's old one, or HEAD may already be the release).
fn take_policy(repo: &Repo, state: &State, args: &StartArgs) -> Result<(Config, Option<String>)> {
    match state
        .hotfixes
        .values()
        .find(|h| h.name == args.name && h.phase == Phase::Starting)
    {
        Some(h) => Ok((h.policy.clone(), h.allowed_signers.clone())),
        None => {
            let config = policy_at_start(repo)?;
            let signers = signers_at_start(repo, &config)?;
            Ok((config, signers))
        }
    }
}

/// The hotfix branch for `name`, or a refusal of a name that cannot make one.
fn check_name(config: &Config, name: &str) -> Result<String> {
    let branch = format!("{}{}", config.branches.prefix, name);
    if name.starts_with('-') {
        // git would take the branch, but every printed command naming it would read as an option
        return Err(Refusal::usage(format!(
            "`{name}` cannot name a hotfix: a name must not start with '-'"
        ))
        .hint("use letters, digits, '-' and '/' (e.g. `hotfix start login-500`)")
        .into());
    }
    if name.trim().is_empty() || !Repo::is_valid_branch_name(&branch) {
        return Err(Refusal::usage(format!(
            "`{name}` cannot name a hotfix: {branch} is not a valid branch name"
        ))
        .hint("use letters, digits, '-' and '/' (e.g. `hotfix start login-500`)")
        .into());
    }
    Ok(branch)
}

/// `--not-code`: recorded as not a code change without the confirm step's questions.
fn not_code_as_told(
    ctx: &Ctx,
    who: &crate::git::Identity,
    config: &Config,
    args: &StartArgs,
) -> Result<()> {
    let summary = confirm::summary(ctx.ui, args)?;
    let severity = args
        .severity
        .as_deref()
        .map(|s| config.check_severity(s))
        .transpose()?;
    not_code(ctx, who, &args.name, summary, severity)
}

/// An interrupted start is finished by running it again: before the branch was made, or
/// after, as long as the branch is still the untouched one it made. `Some` with the first
/// attempt's entry when resuming; a refusal when the branch or the hotfix exists otherwise.
fn check_resumable(
    repo: &Repo,
    state: &State,
    branch: &str,
    name: &str,
    tip: Option<Oid>,
) -> Result<Option<Hotfix>> {
    let resuming = match state.hotfixes.get(branch) {
        Some(h)
            if h.phase == Phase::Starting && tip.is_none_or(|t| h.has_no_fix(&t.to_string())) =>
        {
            // what a resumed start seals must be what the first attempt wrote
            crate::seal::verify(repo, h, "resuming the start")?;
            Some(h.clone())
        }
        Some(_) => {
            return Err(Refusal::usage(format!("{branch} is already in progress"))
                .hint(format!(
                    "switch to it with `git switch {}`, or give it up with `hotfix abort {}`",
                    shell_word(branch),
                    shell_word(name)
                ))
                .into());
        }
        None => None,
    };
    if tip.is_some() && resuming.is_none() {
        return Err(
            Refusal::usage(format!("a branch named {branch} already exists"))
                .hint("pick another name, or delete the old branch if it is no longer needed")
                .into(),
        );
    }
    Ok(resuming)
}

/// A start killed while it switched the files left them half way, every one as either side
/// has it: then running it again finishes the switch (the paths already switched). Otherwise
/// the working tree must be clean.
fn check_clean(
    repo: &Repo,
    resuming: Option<&Hotfix>,
    tip: Option<Oid>,
) -> Result<Option<Vec<Vec<u8>>>> {
    let half_switched = match (resuming, tip) {
        (Some(h), Some(_)) => half_switched(repo, h)?,
        _ => None,
    };
    if half_switched.is_none() {
        repo.require_clean("starting a hotfix")?;
    }
    Ok(half_switched)
}

/// What the new entry says beyond the policy: all read or answered before anything changes,
/// or the first attempt's when resuming.
struct Plan {
    base: Base,
    detected_at: Option<jiff::Timestamp>,
    version: Option<String>,
    bump: Option<Bump>,
    confirmation: confirm::Confirmation,
    started_at: jiff::Timestamp,
    /// The branch the first attempt started from, not the hotfix branch if the user switched.
    return_to: String,
    /// A resumed start keeps the mark: a kill before it is set again must not lose it.
    switching: bool,
}

/// What the confirm step concluded, with the plan for a hotfix.
enum Planned {
    Hotfix(Box<Plan>),
    NotCode { severity: String, summary: String },
}

fn plan(
    ctx: &Ctx,
    config: &Config,
    args: &StartArgs,
    resuming: Option<&Hotfix>,
    current: String,
) -> Result<Planned> {
    let repo = &ctx.repo;
    let base = match resuming {
        Some(h) => Base {
            tag: h.base_tag.clone(),
            commit: Oid::from_str(&h.base_commit)?,
        },
        None => find_base(repo, config, args.from.as_deref())?,
    };
    let detected_at = match resuming {
        Some(h) => h.detected_at,
        None => args
            .detected
            .as_deref()
            .map(|t| crate::learn::parse_detected(t, jiff::Timestamp::now()))
            .transpose()?,
    };
    // the version and the files that say it, read before anything changes
    let (version, bump) = match resuming {
        Some(h) => (h.version.clone(), h.bump.clone()),
        None => plan_version(repo, config, &base, args.version.as_deref())?,
    };
    let (confirmation, started_at) = match resuming {
        Some(h) => (
            confirm::Confirmation {
                severity: h.severity.clone(),
                reproduced: h.reproduced,
                summary: h.summary.clone(),
            },
            h.started_at,
        ),
        None => match confirm::confirm(ctx.ui, config, args)? {
            confirm::Outcome::Hotfix(c) => (c, jiff::Timestamp::now()),
            confirm::Outcome::NotCode { severity, summary } => {
                return Ok(Planned::NotCode { severity, summary });
            }
        },
    };
    Ok(Planned::Hotfix(Box::new(Plan {
        base,
        detected_at,
        version,
        bump,
        confirmation,
        started_at,
        return_to: resuming.map_or(current, |h| h.return_to.clone()),
        switching: resuming.is_some_and(|h| h.switching),
    })))
}

/// The state entry of the new hotfix, still starting.
fn entry(
    args: &StartArgs,
    branch: &str,
    config: Config,
    allowed_signers: Option<String>,
    who: crate::git::Identity,
    plan: &Plan,
) -> Hotfix {
    Hotfix {
        name: args.name.clone(),
        branch: branch.to_string(),
        base_tag: plan.base.tag.clone(),
        base_commit: plan.base.commit.to_string(),
        return_to: plan.return_to.clone(),
        severity: plan.confirmation.severity.clone(),
        summary: plan.confirmation.summary.clone(),
        reproduced: plan.confirmation.reproduced,
        author_name: who.name,
        author_email: who.email,
        started_at: plan.started_at,
        detected_at: plan.detected_at,
        phase: Phase::Starting,
        switching: plan.switching,
        policy: config,
        version: plan.version.clone(),
        bump: plan.bump.clone(),
        allowed_signers,
        guard: None,
        tests: None,
        overrides: Vec::new(),
        deploy: None,
        merge_back: None,
        rebase: None,
    }
}

/// Records the entry before the branch exists, so a kill between the two is explained by
/// `status`.
fn record_start(ctx: &Ctx, branch: &str, tip: Option<Oid>, hotfix: &Hotfix) -> Result<()> {
    let repo = &ctx.repo;
    // the switch writes the index: a lock left by a killed hotfix goes, another's refuses
    // before anything is recorded
    ctx.require_index_free("starting a hotfix")?;
    if tip.is_none()
        && let Some(pid) = repo.require_branch_unlocked(branch)?
    {
        ctx.ui.warn(format!(
            "removed the lock of {branch} that a killed hotfix process (pid {pid}) had left"
        ));
    }
    ctx.store.update(|s| {
        s.hotfixes.insert(branch.to_string(), hotfix.clone());
        Ok(())
    })?;
    fault::point("start-before-branch");
    Ok(())
}

/// The branch at the base (unless a first attempt made it), then its version bump commit.
fn make_branch(ctx: &Ctx, branch: &str, tip: Option<Oid>, base: Oid) -> Result<()> {
    if tip.is_none() {
        // under the writer record: a ref lock a kill leaves here is known to be hotfix's
        let _claim = ctx.repo.claim_index("making the branch")?;
        ctx.repo.create_branch(branch, base)?;
    }
    fault::point("start-before-bump");
    commit_bump(ctx, branch, base)?;
    fault::point("start-before-checkout");
    Ok(())
}

/// Switches the files to the branch (or finishes a switch a killed start left half way). A
/// switch that wrote nothing undoes what this command made.
fn switch_files(
    ctx: &Ctx,
    args: &StartArgs,
    branch: &str,
    plan: &Plan,
    half_switched: Option<Vec<Vec<u8>>>,
    resumed: bool,
) -> Result<()> {
    let repo = &ctx.repo;
    // recorded before any file is written: a kill from here on may leave the files half way,
    // and only then may `start` or `abort` take up a half-switched tree
    ctx.store.update(|s| {
        if let Some(h) = s.hotfixes.get_mut(branch) {
            h.switching = true;
        }
        Ok(())
    })?;
    let switched = match half_switched {
        Some(paths) => {
            ctx.ui.status(format!(
                "Finishing the switch to {branch} that was interrupted ({} files were already switched).",
                paths.len()
            ));
            repo.complete_switch(branch, &paths)
        }
        None => repo.switch(branch),
    };
    if switched.is_ok() {
        // HEAD is the hotfix branch; the state still says "starting"
        fault::point("start-after-switch");
    }
    let Err(e) = switched else {
        return Ok(());
    };
    // A refusal comes before any file is written. Any other failure may come after some
    // were: then the entry and branch stay, so that `start` again finishes the switch or
    // `abort` puts the files back (status says so).
    let base = plan.base.commit;
    let refused = e.downcast_ref::<Refusal>().is_some();
    let target = ctx
        .store
        .read()?
        .hotfixes
        .get(branch)
        .map_or(base, |h| Oid::from_str(h.start_commit()).unwrap_or(base));
    if !refused && !matches!(repo.half_switched_to(target), Ok(None)) {
        return Err(e.context(format!(
            "the switch to {branch} stopped half way; run `hotfix start {}` again to finish it, or `hotfix abort {} --delete` to put the files back",
            shell_word(&args.name),
            shell_word(&args.name)
        )));
    }
    // Nothing written: undo what this command made, the branch (empty but for the version
    // bump) and the state entry (a resumed start leaves the first attempt's, which `abort`
    // undoes).
    if !resumed {
        let _ = repo.delete_branch(branch);
        let _ = ctx.store.update(|s| {
            s.hotfixes.remove(branch);
            Ok(())
        });
    }
    Err(e)
}

/// The hotfix is open: HEAD is its branch, and its entry sealed.
fn open(ctx: &Ctx, branch: &str) -> Result<()> {
    ctx.store.update(|s| {
        if let Some(h) = s.hotfixes.get_mut(branch) {
            h.phase = Phase::Open;
            h.switching = false;
            // sealed in the same update: an open entry always has its seal
            crate::seal::seal_start(&ctx.repo, h)?;
        }
        Ok(())
    })
}

/// Where the hotfix starts, its bump commit, what to do next and the other hotfixes open.
fn report(ctx: &Ctx, state: &State, branch: &str, base: &Base) -> Result<()> {
    let from = match &base.tag {
        Some(t) => format!("{t} ({})", short(base.commit)),
        None => short(base.commit),
    };
    ctx.ui
        .status(format!("Switched to a new branch {branch}, from {from}."));
    let done = ctx.store.read()?;
    if let Some(b) = done.hotfixes.get(branch).and_then(|h| h.bump.as_ref())
        && let Some(c) = &b.commit
    {
        ctx.ui.status(format!(
            "Its first commit {} sets the version {} → {}: {}.",
            crate::git::short(Oid::from_str(c)?),
            b.from,
            b.to,
            b.paths()
        ));
    }
    ctx.ui
        .status("Commit the smallest fix that removes the cause, then run `hotfix guard`.");
    let others: Vec<&String> = state.hotfixes.keys().filter(|b| **b != branch).collect();
    if let Some(first) = others.first() {
        let names: Vec<&str> = others.iter().map(|b| b.as_str()).collect();
        ctx.ui.status(format!(
            "Still in progress: {}; go back to it with `git switch {}`.",
            names.join(", "),
            shell_word(first)
        ));
    }
    Ok(())
}

/// Records a "not a code change" outcome (`--not-code`, or chosen at the confirm step).
fn not_code(
    ctx: &Ctx,
    who: &crate::git::Identity,
    name: &str,
    summary: String,
    severity: Option<String>,
) -> Result<()> {
    let refname = confirm::record_not_code(&ctx.repo, who, name, summary, severity)?;
    ctx.ui.status(format!(
        "Recorded `{name}` as not a code change (configuration, caching or a misunderstanding); no branch was made."
    ));
    // the team's stats count it only once it is shared: say plainly where it is
    match ctx.repo.remote_for(None)? {
        Some(remote) => ctx.ui.status(format!(
            "The record ({refname}) is only in this clone; share it with `git push {} {}`.",
            shell_word(&remote),
            shell_word(&format!("{refname}:{refname}"))
        )),
        None => ctx.ui.verbose(format!("stored as {refname}")),
    }
    Ok(())
}

/// The version a hotfix from `base` releases, and the bump of its version files: read-only.
/// `--version` names it (it must be newer than the base release), else the base release's
/// with the patch raised; the files are the policy's `release.version_files` (detected when
/// the key is absent).
pub(crate) fn plan_version(
    repo: &Repo,
    config: &Config,
    base: &Base,
    given: Option<&str>,
) -> Result<(Option<String>, Option<Bump>)> {
    let release = &config.release;
    let base_version = base
        .tag
        .as_deref()
        .and_then(|t| version::version_of(t, &release.tag_pattern));
    let version = match given {
        Some(v) => {
            let parsed = semver::Version::parse(v.trim().trim_start_matches('v')).map_err(|_| {
                Refusal::usage(format!("`{v}` is not a semantic version (like 1.4.2)"))
                    .hint("pass --version <x.y.z>, or leave it out for the base's with the patch raised")
            })?;
            if let Some(b) = &base_version
                && parsed <= *b
            {
                return Err(Refusal::usage(format!(
                    "--version {parsed} is not newer than the base release {b}"
                ))
                .hint(format!(
                    "name a newer version (the next patch is {}), or leave --version out",
                    version::next_patch(b)
                ))
                .into());
            }
            Some(parsed)
        }
        None => base_version.as_ref().map(version::next_patch),
    };
    if let Some(v) = &version {
        let tag = version::format_tag(&release.tag_format, v);
        if repo.tag_exists(&tag)? {
            return Err(Refusal::usage(format!(
                "the tag {tag} already exists, so this hotfix cannot release {v}"
            ))
            .hint("name another version with `--version <x.y.z>`; nothing was changed")
            .into());
        }
    }
    let files = crate::version_files::resolve(
        repo,
        base.commit,
        release.version_files.as_deref(),
        base_version.as_ref(),
    )?;
    let Some(to) = version.as_ref().map(ToString::to_string) else {
        if !files.is_empty() {
            return Err(Refusal::usage(format!(
                "the base is not a release tag, so there is no version to bump {} to",
                files
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .hint("name the version with `--version <x.y.z>`; nothing was changed")
            .into());
        }
        return Ok((None, None));
    };
    if files.is_empty() {
        return Ok((Some(to), None));
    }
    let from = match &base_version {
        Some(b) => b.to_string(),
        None => crate::version_files::read_at(repo, base.commit, &files[0])?.unwrap_or_default(),
    };
    Ok((
        Some(to.clone()),
        Some(Bump {
            from,
            to,
            files,
            commit: None,
        }),
    ))
}

/// The bump phase of `start`: the version bump committed on the new branch, before anything
/// is checked out (so the one switch that follows writes the bumped files). Safe to run again:
/// a branch already at the recorded bump commit is left as it is; one still at the base gets
/// it. The commit is recorded before the branch moves to it, so a kill in between leaves a
/// branch at the base, which the next `start` bumps (once: the branch moves only from the
/// base).
fn commit_bump(ctx: &Ctx, branch: &str, base: Oid) -> Result<()> {
    let repo = &ctx.repo;
    let state = ctx.store.read()?;
    let Some(h) = state.hotfixes.get(branch) else {
        return Ok(());
    };
    let Some(bump) = &h.bump else {
        return Ok(());
    };
    let tip = repo
        .branch_tip(branch)?
        .with_context(|| format!("the branch {branch} vanished"))?;
    if bump.commit.as_deref() == Some(tip.to_string().as_str()) {
        return Ok(());
    }
    if tip != base {
        return Err(Refusal::usage(format!(
            "{branch} moved while the hotfix was starting ({} is not its base {})",
            short(tip),
            short(base)
        ))
        .hint(format!(
            "give this start up with `hotfix abort {}` and start again",
            shell_word(&h.name)
        ))
        .into());
    }
    let Some(commit) = bump_commit(repo, base, bump, &h.name, "start")? else {
        return Ok(());
    };
    ctx.store.update(|s| {
        if let Some(b) = s.hotfixes.get_mut(branch).and_then(|h| h.bump.as_mut()) {
            b.commit = Some(commit.to_string());
        }
        Ok(())
    })?;
    fault::point("start-before-bump-ref");
    repo.fast_forward_branch(branch, commit, "hotfix start: version bump")?;
    Ok(())
}

/// Commits `bump` on `base` (the version files with the new version, nothing else), as a
/// commit no branch points at yet; `None` when the files say that version already. `by` is
/// the command that made it, for the message.
pub(crate) fn bump_commit(
    repo: &Repo,
    base: Oid,
    bump: &Bump,
    name: &str,
    by: &str,
) -> Result<Option<Oid>> {
    let files = crate::version_files::bumped(repo, base, &bump.files, &bump.to)?;
    if files.is_empty() {
        return Ok(None);
    }
    let message = format!(
        "Version {} for hotfix {name}\n\nSet by `hotfix {by}` (was {}) in {}.\n",
        bump.to,
        bump.from,
        bump.paths()
    );
    Ok(Some(repo.commit_files(base, &files, &message)?))
}

/// Whether `commit` is exactly the version bump `bump` on `base`: its one parent is `base`,
/// and its tree is the base's with the version files bumped and nothing else. Such a commit's
/// content follows from the sealed policy and the base alone (hotfix made it; nobody signs it).
pub fn is_bump_of(repo: &Repo, commit: Oid, base: Oid, bump: &Bump) -> Result<bool> {
    match repo.parents_of(commit) {
        Ok(parents) if parents == [base] => {}
        _ => return Ok(false),
    }
    let files = crate::version_files::bumped(repo, base, &bump.files, &bump.to)?;
    Ok(repo.tree_of(commit)? == repo.tree_with_files(base, &files)?)
}

/// The hotfix's bump commit, when the state names one and it is exactly the bump
/// ([`is_bump_of`]).
pub fn verified_bump(repo: &Repo, h: &Hotfix) -> Result<Option<Oid>> {
    let (Some(bump), Some(commit)) = (&h.bump, h.bump_commit()) else {
        return Ok(None);
    };
    let (Ok(commit), Ok(base)) = (Oid::from_str(commit), Oid::from_str(&h.base_commit)) else {
        return Ok(None);
    };
    Ok(is_bump_of(repo, commit, base, bump)?.then_some(commit))
}

/// The files a `start` killed while it wrote them left half way ([`Repo::half_switched_to`]),
/// for a hotfix whose start recorded that it had begun writing them; `None` otherwise. Only
/// then may `start` finish, or `abort` undo, such a tree.
pub fn half_switched(repo: &Repo, h: &Hotfix) -> Result<Option<Vec<Vec<u8>>>> {
    if h.phase != Phase::Starting || !h.switching {
        return Ok(None);
    }
    repo.half_switched_to(Oid::from_str(h.start_commit())?)
}

/// The policy a hotfix starts under: `hotfix.toml` as committed at HEAD. A working-tree file
/// that differs (untracked, or edited) is refused rather than silently ignored or obeyed: a
/// local edit must not become a hotfix's policy (SPEC promise 3).
fn policy_at_start(repo: &Repo) -> Result<Config> {
    let root = repo.workdir()?;
    // a broken working-tree file is reported with its line and column first
    let local = Config::load(root)?;
    let head = match repo.head()? {
        crate::git::Head::Branch(_, oid) | crate::git::Head::Detached(oid) => oid,
        crate::git::Head::Unborn(_) => return Ok(local),
    };
    let committed = Config::load_committed(repo, head)?;
    let on_disk = std::fs::read(root.join(crate::config::FILE_NAME)).ok();
    let in_head = repo.file_at(head, crate::config::FILE_NAME)?;
    if on_disk.is_some() && in_head.is_none() && local != committed {
        return Err(Refusal::usage(format!(
            "{} is not committed, and a hotfix's policy must be the team's committed policy (without it, this hotfix would run on the defaults)",
            crate::config::FILE_NAME
        ))
        .hint("commit it (`git add hotfix.toml && git commit`) or move it aside, then start again; nothing was changed")
        .into());
    }
    if on_disk != in_head && local != committed {
        return Err(Refusal::usage(format!(
            "{} differs from the committed one, and a hotfix's policy must be the team's committed policy",
            crate::config::FILE_NAME
        ))
        .hint("commit it (`git add hotfix.toml && git commit`) or undo the edit, then start again; nothing was changed")
        .into());
    }
    Ok(committed)
}

/// The allowed-signers file `review.allowed_signers` names, as committed at HEAD (where the
/// policy comes from), refused like `hotfix.toml` when the working tree says otherwise: the
/// keys a hotfix trusts are the team's committed ones, never a local edit.
fn signers_at_start(repo: &Repo, config: &Config) -> Result<Option<String>> {
    let path = config.review.allowed_signers.as_str();
    if path.is_empty() {
        return Ok(None);
    }
    let root = repo.workdir()?;
    let on_disk = std::fs::read(root.join(path)).ok();
    let committed = match repo.head()? {
        crate::git::Head::Branch(_, oid) | crate::git::Head::Detached(oid) => {
            repo.file_at(oid, path)?
        }
        crate::git::Head::Unborn(_) => on_disk.clone(),
    };
    let Some(bytes) = committed else {
        return Err(Refusal::usage(format!(
            "review.allowed_signers names {path}, which is not committed here, so no key could be trusted"
        ))
        .hint(format!(
            "commit the allowed-signers file as {} (one line per teammate: `email ssh-ed25519 AAAA…`), or unset review.allowed_signers; nothing was changed",
            shell_word(path)
        ))
        .into());
    };
    if on_disk.as_ref() != Some(&bytes) {
        return Err(Refusal::usage(format!(
            "{path} (review.allowed_signers) differs from the committed one, and a hotfix trusts only the team's committed keys"
        ))
        .hint(format!(
            "commit it (`git add {p} && git commit`) or undo the edit, then start again; nothing was changed",
            p = shell_word(path)
        ))
        .into());
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Refusal::usage(format!(
            "{path} (review.allowed_signers) is not UTF-8 text, so it is no allowed-signers file"
        ))
    })?;
    Ok(Some(text))
}

/// The base: `--from` (a tag or any revision) or the newest stable production tag.
pub fn find_base(repo: &Repo, config: &Config, from: Option<&str>) -> Result<Base> {
    if let Some(rev) = from {
        if let Some(commit) = repo.tag_commit(rev)? {
            return Ok(Base {
                tag: Some(rev.to_string()),
                commit,
            });
        }
        let commit = repo.resolve_commit(rev)?.ok_or_else(|| {
            Refusal::usage(format!(
                "`{rev}` is not a tag or revision in this repository"
            ))
            .hint("pass a tag (e.g. --from v1.2.3), a branch or a commit id")
        })?;
        return Ok(Base { tag: None, commit });
    }
    let pattern = &config.release.tag_pattern;
    match version::newest_release_commit(repo, pattern)? {
        Some((tag, commit)) => Ok(Base {
            tag: Some(tag.name),
            commit,
        }),
        // a shallow clone (CI's default) usually lacks the tags rather than the releases
        None if repo.is_shallow() => Err(Refusal::usage(format!(
            "this clone is shallow and has no stable release tag matching `{pattern}` to branch from"
        ))
        .hint("fetch the history and tags with `git fetch --unshallow --tags`, or pass --from <tag-or-rev>")
        .into()),
        None => Err(Refusal::usage(format!(
            "no stable release tag matches `{pattern}`, so there is no production release to branch from"
        ))
        .hint("pass --from <tag-or-rev>, or set release.tag_pattern in hotfix.toml")
        .into()),
    }
}
