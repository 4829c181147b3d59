//! Errors from issuing passes, rendering them and reading trust lists.
//!
//! Verification never returns an error: a bad pass is a red [`super::Verification`]
//! with reason codes, because officers need a verdict, not a stack trace.

/// What went wrong while signing, rendering or loading pass material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    /// A claim does not satisfy the credential format (SPEC §7); `field` names it.
    #[error("invalid pass field {field}: {reason}")]
    InvalidField {
        /// The claim's name, e.g. `holder_name`.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The encoded pass would not fit the QR size budget.
    #[error("encoded pass is too large ({0} characters)")]
    TooLarge(usize),
    /// The OS random number generator failed.
    #[error("random number generator unavailable")]
    Random,
    /// QR or PNG rendering failed.
    #[error("rendering failed: {0}")]
    Render(String),
    /// A trust list document was rejected.
    #[error("invalid trust list: {0}")]
    TrustList(String),
}

impl PassError {
    pub(crate) fn field(field: &'static str, reason: &'static str) -> Self {
        PassError::InvalidField { field, reason }
    }
}
