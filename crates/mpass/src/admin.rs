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
    },
}

pub async fn run(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    match cmd {
        AdminCommand::Grant { phone, role, districts } => {
            let phone = Phone::parse(&phone).context("not a Bangladeshi mobile number")?;
            let role = Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            for d in &districts {
                if geo::areas().district(d).is_none() {
                    bail!("unknown district code {d:?}");
                }
            }
            if role == Role::Reviewer && districts.is_empty() {
                bail!("a reviewer needs at least one --district");
            }
            let now = OffsetDateTime::now_utc();
            let user = store.user_by_phone_or_create(&phone, now).await?;
            store
                .grant_role(
                    user.id,
                    RoleGrant {
                        role,
                        districts: districts.clone(),
                    },
                    Actor::cli(),
                    now,
                )
                .await?;
            println!(
                "granted {} to {} (user {}); it applies from their next login",
                role.as_str(),
                phone,
                user.id
            );
        }
    }
    Ok(())
}
