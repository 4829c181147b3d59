//! Movement Pass domain: the types, rules and credentials of the system, with no IO.
//!
//! Everything here is pure: validation turns untrusted input into typed values
//! ("parse, don't validate"), the policy engine turns an application and the facts
//! about its applicant into a decision, and the pass module signs and verifies the
//! offline credential. Side effects are reached only through the ports in [`ports`],
//! which the store, queue and HTTP crates implement.

pub mod application;
pub mod audit;
pub mod checkpoint;
pub mod error;
pub mod geo;
pub mod ids;
pub mod instant;
pub mod language;
pub mod legacy;
pub mod notify;
pub mod otp;
pub mod pass;
pub mod phone;
pub mod photo;
pub mod policy;
pub mod ports;
pub mod profile;
pub mod scan;
pub mod stats;
pub mod token;
