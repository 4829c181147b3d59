//! `mpass admin`: role grants, run against the same data as the server (also while it runs).

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use mpass_domain::audit::Actor;
use mpass_domain::geo;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{Role, RoleGrant, Store};
use time::OffsetDateTime;

use crate::config::Settings;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Grant ROLE (reviewer, police, police_supervisor, analyst, admin) to the user with PHONE.
    Grant {
        phone: String,
        role: String,
        /// District geocode the grant covers (repeatable; reviewers need at least one).
        #[arg(long = "district")]
        districts: Vec<String>,
        /// Grant the role to this many consecutive numbers from PHONE (a whole unit at once,
        /// or the officers of `mpass bench verify`); each grant is audited on its own.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
    },
}

pub async fn run(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    match cmd {
        AdminCommand::Grant {
            phone,
            role,
            districts,
            count,
        } => {
            let first = Phone::parse(&phone).context("not a Bangladeshi mobile number")?;
            let role = Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            for d in &districts {
                if geo::areas().district(d).is_none() {
                    bail!("unknown district code {d:?}");
                }
            }
            if role == Role::Reviewer && districts.is_empty() {
                bail!("a reviewer needs at least one --district");
            }
            let phones = consecutive(&first, count)?;
            // Concurrent grants share the store's group commits.
            let mut set = tokio::task::JoinSet::new();
            let mut granted = 0u32;
            for phone in phones {
                if set.len() >= 256
                    && let Some(done) = set.join_next().await
                {
                    done??;
                    granted += 1;
                }
                let (store, districts) = (store.clone(), districts.clone());
                set.spawn(async move { grant(store.as_ref(), phone, role, districts, count == 1).await });
            }
            while let Some(done) = set.join_next().await {
                done??;
                granted += 1;
            }
            if count > 1 {
                println!(
                    "granted {} to {granted} numbers from {first}; it applies from their next login",
                    role.as_str()
                );
            }
        }
    }
    Ok(())
}

/// `count` consecutive numbers from `first` (the 8 digits after the operator prefix run on).
fn consecutive(first: &Phone, count: u32) -> anyhow::Result<Vec<Phone>> {
    let national = first.national();
    let (prefix, digits) = national.split_at(3);
    let start: u64 = digits.parse().context("phone digits")?;
    (0..u64::from(count))
        .map(|k| {
            let n = start + k;
            anyhow::ensure!(
                n < 100_000_000,
                "{count} numbers from {first} run past {prefix}99999999"
            );
            Phone::parse(&format!("{prefix}{n:08}")).context("not a Bangladeshi mobile number")
        })
        .collect()
}

async fn grant(store: &dyn Store, phone: Phone, role: Role, districts: Vec<String>, say: bool) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let user = store.user_by_phone_or_create(&phone, now).await?;
    store
        .grant_role(user.id, RoleGrant { role, districts }, Actor::cli(), now)
        .await?;
    if say {
        println!(
            "granted {} to {} (user {}); it applies from their next login",
            role.as_str(),
            phone,
            user.id
        );
    }
    Ok(())
}
