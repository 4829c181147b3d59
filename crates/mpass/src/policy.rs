//! The decision policy in force (SPEC §6) and `mpass policy`.
//!
//! Every policy put in force is a row of the store's policy history, audited as
//! `policy.changed`; every node polls the newest row every [`POLL`] and swaps it in, so a
//! change reaches all API and worker nodes within seconds and without a restart. The
//! configured `policy_file`, when there is one, is watched: when its text changes it is
//! checked, and put in force only if valid — a bad file is refused with the key at fault
//! (logged as `policy.refused`) and the policy in force stays. `mpass policy reload` does
//! the same from the console, and `mpass policy test FILE` replays stored applications
//! under a proposed policy without writing anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use mpass_domain::audit::Actor;
use mpass_domain::policy::{Outcome, Policy, codes};
use mpass_domain::ports::{SharedPolicy, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;

use crate::config::Settings;

/// How often nodes look for a newer policy (and at the policy file).
pub const POLL: Duration = Duration::from_secs(2);

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print the version of the policy in force.
    Show,
    /// Check FILE (or the configured policy_file) and put it in force on every node
    /// within seconds; a bad file is refused and the policy in force stays.
    Reload { file: Option<PathBuf> },
    /// Replay the applications submitted in a time range under the policy in FILE and
    /// print, per reason code, how many decisions would change. Writes nothing.
    Test {
        file: PathBuf,
        /// Start of the range (RFC 3339) [default: 24 hours ago].
        #[arg(long)]
        from: Option<String>,
        /// End of the range (RFC 3339) [default: now].
        #[arg(long)]
        to: Option<String>,
    },
}

fn read_policy(path: &Path) -> anyhow::Result<(String, Policy)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let policy = Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((text, policy))
}

/// The policy in force and the sequence number of its history row (0: none stored yet).
struct InForce {
    seq: i64,
    version: String,
}

/// Puts the policy file in force if its text is not the policy in force already.
async fn adopt_file(store: &dyn Store, path: &Path, current: &str, actor: Actor) -> anyhow::Result<Option<i64>> {
    let (text, policy) = read_policy(path)?;
    if policy.version() == current {
        return Ok(None);
    }
    Ok(store
        .policy_put(policy.version(), &text, actor, OffsetDateTime::now_utc())
        .await?)
}

/// The policy for a starting node: the configured file if it changed since it was last
/// put in force, else the newest stored policy, else the built-in default. A bad file
/// stops the start (an operator is watching then); later, a bad file is only refused.
pub async fn start(settings: &Settings, store: &Arc<dyn Store>) -> anyhow::Result<(SharedPolicy, i64)> {
    let stored = store.policy_latest(0).await?;
    let current = stored.as_ref().map(|p| p.version.clone()).unwrap_or_default();
    if let Some(path) = &settings.policy_file {
        adopt_file(store.as_ref(), path, &current, Actor::system()).await?;
    }
    let (policy, seq) = match store.policy_latest(0).await? {
        Some(p) => {
            let policy = Policy::from_toml(&p.source).map_err(|e| anyhow::anyhow!("stored policy {}: {e}", p.seq))?;
            (policy, p.seq)
        }
        None => (Policy::default_policy(), 0),
    };
    tracing::info!(policy.version = policy.version(), policy.seq = seq, "policy.in_force");
    Ok((Arc::new(RwLock::new(Arc::new(policy))), seq))
}

/// Keeps `shared` up to date until `stopped` turns true: picks up newer stored policies
/// and puts a changed, valid policy file in force.
pub fn watch(
    settings: &Settings,
    store: Arc<dyn Store>,
    shared: SharedPolicy,
    seq: i64,
    mut stopped: watch::Receiver<bool>,
) {
    let file = settings.policy_file.clone();
    tokio::spawn(async move {
        let version = shared.read().map(|p| p.version().to_string()).unwrap_or_default();
        let mut state = InForce { seq, version };
        let mut refused: Option<String> = None;
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(POLL) => {}
            }
            if let Some(path) = &file {
                match adopt_file(store.as_ref(), path, &state.version, Actor::system()).await {
                    Ok(_) => refused = None,
                    Err(e) => {
                        let text = format!("{e:#}");
                        if refused.as_ref() != Some(&text) {
                            tracing::error!(error = %text, version_in_force = %state.version, "policy.refused");
                            refused = Some(text);
                        }
                    }
                }
            }
            match store.policy_latest(state.seq).await {
                Ok(Some(p)) => match Policy::from_toml(&p.source) {
                    Ok(policy) => {
                        tracing::info!(policy.version = policy.version(), policy.seq = p.seq, "policy.reloaded");
                        state = InForce {
                            seq: p.seq,
                            version: policy.version().to_string(),
                        };
                        if let Ok(mut slot) = shared.write() {
                            *slot = Arc::new(policy);
                        }
                    }
                    Err(e) => {
                        // Stored policies were checked when put; a newer binary may be
                        // stricter. Keep the one in force and do not ask again.
                        tracing::error!(policy.seq = p.seq, error = %e, "policy.stored_refused");
                        state.seq = p.seq;
                    }
                },
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "policy.poll_failed"),
            }
        }
    });
}

/// `mpass policy ...`.
pub async fn run(settings: Settings, cmd: PolicyCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    let in_force = store.policy_latest(0).await?;
    let current_version = in_force
        .as_ref()
        .map_or_else(|| Policy::default_policy().version().to_string(), |p| p.version.clone());
    match cmd {
        PolicyCommand::Show => {
            match &in_force {
                Some(p) => println!(
                    "{} (policy #{}, put in force {})",
                    p.version,
                    p.seq,
                    rfc3339(p.created_at)
                ),
                None => println!("{current_version} (the built-in default)"),
            }
            Ok(())
        }
        PolicyCommand::Reload { file } => {
            let path = file
                .or_else(|| settings.policy_file.clone())
                .context("give a policy FILE, or set policy_file in the configuration")?;
            let stored_version = in_force.as_ref().map(|p| p.version.as_str()).unwrap_or_default();
            match adopt_file(store.as_ref(), &path, stored_version, Actor::cli()).await? {
                Some(seq) => println!(
                    "policy #{seq} from {} is in force; running nodes switch within {} seconds",
                    path.display(),
                    POLL.as_secs()
                ),
                None => println!("{} is already the policy in force", path.display()),
            }
            Ok(())
        }
        PolicyCommand::Test { file, from, to } => {
            let (_, proposed) = read_policy(&file)?;
            let now = OffsetDateTime::now_utc();
            let parse = |s: &Option<String>, default: OffsetDateTime| -> anyhow::Result<OffsetDateTime> {
                match s {
                    Some(s) => OffsetDateTime::parse(s, &Rfc3339).with_context(|| format!("{s:?} is not RFC 3339")),
                    None => Ok(default),
                }
            };
            let (from, to) = (parse(&from, now - time::Duration::DAY)?, parse(&to, now)?);
            if from >= to {
                bail!("--from must be before --to");
            }
            let report = replay(store.as_ref(), &proposed, from, to).await?;
            println!(
                "Replayed {} decided applications submitted {} to {} under {} (in force: {}).",
                report.replayed,
                rfc3339(from),
                rfc3339(to),
                proposed.version(),
                current_version
            );
            println!("Nothing was written. Facts (earlier passes, documents) are read as they are now.");
            print!("{}", report.render());
            Ok(())
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// What a replay found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replay {
    pub replayed: u64,
    pub unchanged: u64,
    /// `(was, would be)` → count, for the applications whose outcome changes.
    pub outcome_changes: BTreeMap<(&'static str, &'static str), u64>,
    /// Reason code → (applications that would gain it, that would lose it).
    pub by_code: BTreeMap<String, (u64, u64)>,
}

impl Replay {
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "\n{} would change, {} would stay as they were.\n",
            self.replayed - self.unchanged,
            self.unchanged
        ));
        if !self.outcome_changes.is_empty() {
            out.push_str("\nOutcome changes:\n");
            for ((was, now), n) in &self.outcome_changes {
                out.push_str(&format!("  {was:>7} -> {now:<7} {n:>8}\n"));
            }
        }
        if !self.by_code.is_empty() {
            out.push_str(&format!("\n{:<28} {:>8} {:>8}\n", "reason code", "gained", "lost"));
            for (code, (gain, lose)) in &self.by_code {
                out.push_str(&format!("{code:<28} {gain:>8} {lose:>8}\n"));
            }
        }
        out
    }
}

/// The policy's own verdict of a stored decision: a reviewer's decision replaces the
/// policy's reasons with the reviewer's, so it counts as the policy having said review.
fn policy_verdict(d: &mpass_domain::policy::Decision) -> (Outcome, Vec<String>) {
    let from_policy = d.reasons.iter().all(|r| codes::ALL.contains(&r.code.as_str()));
    if from_policy {
        (d.outcome, d.reasons.iter().map(|r| r.code.clone()).collect())
    } else {
        (Outcome::Review, Vec::new())
    }
}

/// Re-decides every decided application submitted in `[from, to)` under `proposed`, as
/// at its submission time, and counts the differences. Reads only.
pub async fn replay(
    store: &dyn Store,
    proposed: &Policy,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> anyhow::Result<Replay> {
    let mut report = Replay::default();
    let mut after = None;
    loop {
        let page = store.applications_submitted_between(from, to, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for app in &page {
            let Some(stored) = &app.decision else { continue };
            let (was, was_codes) = policy_verdict(stored);
            let facts = store
                .applicant_facts(app, app.details.start - proposed.weekly_window())
                .await?;
            let input = app.details.policy_input();
            let new = proposed.evaluate(&input, &facts.at(app.submitted_at));
            let new_codes: Vec<String> = new.reasons.iter().map(|r| r.code.clone()).collect();
            report.replayed += 1;
            let changed_outcome = new.outcome != was;
            // A reviewer's decision left no policy codes to compare: compare outcomes only.
            let comparable = !was_codes.is_empty();
            let mut changed_codes = false;
            if comparable {
                for code in new_codes.iter().filter(|c| !was_codes.contains(c)) {
                    report.by_code.entry(code.clone()).or_default().0 += 1;
                    changed_codes = true;
                }
                for code in was_codes.iter().filter(|c| !new_codes.contains(c)) {
                    report.by_code.entry(code.clone()).or_default().1 += 1;
                    changed_codes = true;
                }
            }
            if changed_outcome {
                *report
                    .outcome_changes
                    .entry((was.as_str(), new.outcome.as_str()))
                    .or_default() += 1;
            }
            if !changed_outcome && !changed_codes {
                report.unchanged += 1;
            }
        }
    }
    Ok(report)
}
