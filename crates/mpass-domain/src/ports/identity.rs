//! Who a user is to the store: roles and their grants, users, stored profiles, login codes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::phone::Phone;
use crate::profile::Profile;

/// Roles of SPEC §1. Every user is a citizen; the others are granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Reviewer,
    Police,
    PoliceSupervisor,
    Analyst,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Citizen,
        Role::Reviewer,
        Role::Police,
        Role::PoliceSupervisor,
        Role::Analyst,
        Role::Admin,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Reviewer => "reviewer",
            Role::Police => "police",
            Role::PoliceSupervisor => "police_supervisor",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A role held by a user, limited to some districts where that matters (reviewers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    pub role: Role,
    pub districts: Vec<String>,
}

/// A person known by phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub phone: Phone,
    pub grants: Vec<RoleGrant>,
}

impl User {
    /// Role names for the access token; `citizen` always included.
    pub fn role_names(&self) -> Vec<String> {
        let mut roles = vec![Role::Citizen.as_str().to_string()];
        roles.extend(
            self.grants
                .iter()
                .filter(|g| g.role != Role::Citizen)
                .map(|g| g.role.as_str().to_string()),
        );
        roles
    }

    /// Districts of every grant, deduplicated.
    pub fn districts(&self) -> Vec<String> {
        let mut d: Vec<String> = self.grants.iter().flat_map(|g| g.districts.iter().cloned()).collect();
        d.sort();
        d.dedup();
        d
    }
}

/// A profile with its photo reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    pub profile: Profile,
    pub photo_key: Option<String>,
    pub photo_content_type: Option<String>,
}

/// Where a request for a login code came from, and how many codes that address may ask
/// for in any 60 seconds. The store counts the codes sent to any phone for the address, in the
/// transaction that would send this one, so the limit holds across API nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpOrigin {
    /// The client's address as it is counted: an IPv4 address, or an IPv6 client's /64.
    pub address: String,
    /// At least 1.
    pub max_per_minute: u32,
}

/// Why an OTP could not be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpSendRefused {
    /// Too soon or too many; try again after this many seconds.
    RetryAfter(i64),
}

/// The result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCheck {
    Valid,
    /// Wrong, expired, burnt or never sent: the caller cannot tell which, on purpose.
    Invalid,
}

/// A granted role with its holder, for the admin pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub user: UserId,
    pub phone: Phone,
    pub grant: RoleGrant,
    pub granted_at: OffsetDateTime,
}
