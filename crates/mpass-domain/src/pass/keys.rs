//! The Ed25519 pass-signing key and the key id (kid) that names it in passes.
//!
//! The secret never appears in `Debug` output, logs or errors; the key is zeroised
//! when dropped (ed25519-dalek's `zeroize` feature).

use super::error::PassError;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Computes a key id: the first 8 bytes of SHA-256 of the raw 32-byte public key.
pub fn kid_of(key: &VerifyingKey) -> [u8; 8] {
    let digest = Sha256::digest(key.as_bytes());
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// A secret Ed25519 key that signs passes.
pub struct PassSigningKey {
    inner: SigningKey,
}

impl PassSigningKey {
    /// Generates a fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Self, PassError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| PassError::Random)?;
        let key = Self::from_bytes(&seed);
        seed.fill(0);
        Ok(key)
    }

    /// Restores a key from its 32-byte secret seed.
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        PassSigningKey {
            inner: SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte secret seed, for storing the key; handle with care.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The public key to publish in the trust list.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.inner.verifying_key()
    }

    /// The key id written into every pass this key signs.
    pub fn kid(&self) -> [u8; 8] {
        kid_of(&self.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }
}

impl fmt::Debug for PassSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassSigningKey")
            .field("kid", &hex(&self.kid()))
            .finish_non_exhaustive()
    }
}

/// Where a node gets its pass keys: the key that signs new passes and the trust list that
/// verifies them. The binary's implementation re-reads the key file when it changes, so a
/// rotation or a compromised key takes effect without a restart.
pub trait PassKeySource: Send + Sync + 'static {
    /// The key that signs new passes now.
    fn signing_key(&self) -> std::sync::Arc<PassSigningKey>;
    /// Every key a verifier should know, with its validity and status.
    fn trust_list(&self) -> std::sync::Arc<super::TrustList>;
}

/// A fixed key and trust list (tests, and tools that never reload).
pub struct FixedPassKeys {
    pub signing: std::sync::Arc<PassSigningKey>,
    pub trust: std::sync::Arc<super::TrustList>,
}

impl PassKeySource for FixedPassKeys {
    fn signing_key(&self) -> std::sync::Arc<PassSigningKey> {
        self.signing.clone()
    }

    fn trust_list(&self) -> std::sync::Arc<super::TrustList> {
        self.trust.clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_kid_is_sha256_prefix() {
        let key = PassSigningKey::generate().unwrap();
        let again = PassSigningKey::from_bytes(&key.to_bytes());
        assert_eq!(again.verifying_key(), key.verifying_key());
        let digest = Sha256::digest(key.verifying_key().as_bytes());
        assert_eq!(key.kid(), digest[..8]);
        assert_ne!(PassSigningKey::generate().unwrap().kid(), key.kid());
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let key = PassSigningKey::from_bytes(&[7u8; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains(&hex(&key.kid())));
        assert!(!shown.contains(&hex(&[7u8; 32])));
        assert!(!shown.contains("7, 7"));
    }
}
