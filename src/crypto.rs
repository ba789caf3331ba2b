//! Small cryptographic building blocks: random tokens, SHA-256 digests of
//! tokens and keys, HMAC signing with the secret key, constant-time compares
//! and argon2id password hashes.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` random bytes from the OS generator, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` has the shape of a [`random_token`] or a [`SigningKey::sign`]
/// of 32 bytes (43 base64url characters): checked before any lookup.
pub fn is_token(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Hex SHA-256: how tokens and API keys are stored, never in the clear.
pub fn sha256_hex(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    hex(&digest)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Keys derived from the secret key, one per purpose, so that a value
/// signed for one use never verifies for another.
#[derive(Debug, Clone)]
pub struct Keys {
    pub csrf: SigningKey,
    pub flash: SigningKey,
    /// Derives participants' portal tokens.
    pub portal: SigningKey,
    /// Keys the click IP hash (with the daily salt).
    pub ip: SigningKey,
    /// Derives webhook endpoints' signing secrets.
    pub webhook: SigningKey,
    /// Signs the addresses of referees' reward pages.
    pub reward_page: SigningKey,
    /// Derives sign-in link tokens from their rows' ids.
    pub sign_in: SigningKey,
    /// Signs unsubscribe links.
    pub unsubscribe: SigningKey,
}

impl Keys {
    pub fn from_secret(secret: &str) -> Self {
        let root = SigningKey::new(secret.as_bytes());
        Self {
            csrf: root.derive("csrf"),
            flash: root.derive("flash"),
            portal: root.derive("portal"),
            ip: root.derive("ip-hash"),
            webhook: root.derive("webhook-secret"),
            reward_page: root.derive("reward-page"),
            sign_in: root.derive("sign-in-link"),
            unsubscribe: root.derive("unsubscribe"),
        }
    }
}

/// A key that signs values with HMAC-SHA256. Sub-keys for each purpose are
/// derived from the one secret so that a value signed for one use never
/// verifies for another.
#[derive(Clone)]
pub struct SigningKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    pub fn new(secret: &[u8]) -> Self {
        Self { key: secret.to_vec() }
    }

    /// A key for one purpose, e.g. `derive("csrf")`.
    pub fn derive(&self, purpose: &str) -> Self {
        Self { key: self.mac_bytes(purpose.as_bytes()) }
    }

    fn mac_bytes(&self, message: &[u8]) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    /// base64url HMAC of `message`.
    pub fn sign(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac_bytes(message.as_bytes()))
    }

    /// Whether `signature` is `sign(message)`, in constant time.
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        constant_time_eq(&self.sign(message), signature)
    }

    /// Raw HMAC bytes, for keyed hashes such as the click IP hash.
    pub fn mac(&self, message: &[u8]) -> Vec<u8> {
        self.mac_bytes(message)
    }

    /// An HMAC keyed with this key, to absorb a common prefix once and
    /// clone for each message that follows it (the click IP hash).
    pub fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP's first recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> String {
    argon2().hash_password(password.as_bytes()).expect("argon2 hashes any password with valid parameters").to_string()
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody has; verifying against it costs what a real
/// verification costs, so an unknown email answers as slowly as a wrong
/// password.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token(24)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_is_argon2id_with_the_chosen_cost() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn signatures_are_bound_to_their_purpose() {
        let root = SigningKey::new(b"0123456789abcdef0123456789abcdef");
        let csrf = root.derive("csrf");
        let other = root.derive("flash");
        let sig = csrf.sign("session-1");
        assert!(csrf.verify("session-1", &sig));
        assert!(!csrf.verify("session-2", &sig));
        assert!(!other.verify("session-1", &sig));
    }

    #[test]
    fn random_tokens_have_the_requested_entropy() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
