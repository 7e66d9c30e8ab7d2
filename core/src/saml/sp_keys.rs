//! The service provider's own key pairs, one set per connection: generated here, published in the SP metadata,
//! and rotated with an overlap so the IdP can learn the new certificate before Gatehouse starts using it.

use super::binding::SigningKey;
use super::certificate::{Certificate, CertificateError};
use super::keys_at_rest::{self, KeyAtRestError, KeyEncryptionKey, KeyRow};
use crate::ids::ConnectionId;
use chrono::{DateTime, Duration, Utc};
use lru::LruCache;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509NameBuilder};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex, PoisonError};

/// RSA 2048 is what every IdP accepts for SP signing and encryption certificates.
const KEY_BITS: u32 = 2048;
/// IdPs do not check the dates of an SP certificate they were given; ten years spares owners forced rotations.
pub const CERTIFICATE_LIFETIME: Duration = Duration::days(3650);

/// Where a key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyState {
    /// Published in the metadata ahead of a rotation; not used yet.
    Next,
    /// Signs AuthnRequests and decrypts assertions.
    Active,
    /// Replaced by a rotation; still decrypts assertions until the owner removes it.
    Previous,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Previous => "previous",
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        [KeyState::Next, KeyState::Active, KeyState::Previous]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Published in the SP metadata for the IdP to use.
    pub fn is_published(self) -> bool {
        matches!(self, KeyState::Next | KeyState::Active)
    }
}

/// A private key, never printed: an SP key as stored, sealed with the key-encryption key and opened only to be
/// parsed; or PEM text held in memory (a key just generated, an IdP's key in tests).
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(Held);

#[derive(Clone, PartialEq, Eq)]
enum Held {
    Pem(String),
    Sealed {
        stored: String,
        row: KeyRow,
        key_encryption: KeyEncryptionKey,
    },
}

impl PrivateKeyPem {
    pub fn new(pem: String) -> Self {
        Self(Held::Pem(pem))
    }

    /// A key as stored in its row, opened with `key_encryption` when first parsed.
    pub fn sealed(stored: String, row: KeyRow, key_encryption: KeyEncryptionKey) -> Self {
        Self(Held::Sealed {
            stored,
            row,
            key_encryption,
        })
    }

    /// The value to store in `row`: a sealed key as it is, a PEM sealed now.
    pub fn stored(&self, row: KeyRow, key_encryption: &KeyEncryptionKey) -> Result<Cow<'_, str>, KeyAtRestError> {
        match &self.0 {
            Held::Pem(pem) => Ok(Cow::Owned(keys_at_rest::seal(pem.as_bytes(), row, key_encryption)?)),
            Held::Sealed { stored, .. } => Ok(Cow::Borrowed(stored)),
        }
    }

    /// The key itself, opened and parsed once per process and kept. Parsing a PEM key costs about 0.3 ms with
    /// OpenSSL 3.0 (its decoder setup), more than the RSA signature made with it, and a fresh key also sets up
    /// its RSA blinding again on first use (docs/performance.md); every AuthnRequest is signed. A sealed key is
    /// decrypted only on the way into the cache, so signing costs no decryption.
    pub fn parsed(&self) -> Result<PKey<Private>, KeyAtRestError> {
        let mut kept = PARSED_PRIVATE_KEYS.lock().unwrap_or_else(PoisonError::into_inner);
        match &self.0 {
            Held::Pem(pem) => {
                let digest: [u8; 32] = Sha256::digest(pem.as_bytes()).into();
                kept.try_get_or_insert(digest, || Ok(PKey::private_key_from_pem(pem.as_bytes())?))
                    .cloned()
            }
            Held::Sealed {
                stored,
                row,
                key_encryption,
            } => {
                // Before the cache: a key kept for one key-encryption key is not handed out under another.
                keys_at_rest::check_sealed_with(stored, *row, key_encryption)?;
                kept.try_get_or_insert(row.digest(stored), || {
                    Ok(PKey::private_key_from_pem(&keys_at_rest::open(
                        stored,
                        *row,
                        key_encryption,
                    )?)?)
                })
                .cloned()
            }
        }
    }
}

/// How many parsed private keys are kept: each connection signs with one active key.
const KEPT_PRIVATE_KEYS: NonZeroUsize = NonZeroUsize::new(4096).unwrap();

/// By the SHA-256 of the PEM, or of a sealed key and its row, so the map holds no second copy of the key's text.
/// Parsing happens under the lock: a key is parsed once even when many requests need it at the same moment.
static PARSED_PRIVATE_KEYS: LazyLock<Mutex<LruCache<[u8; 32], PKey<Private>>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(KEPT_PRIVATE_KEYS)));

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem(…)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpKey {
    pub id: uuid::Uuid,
    pub state: KeyState,
    pub certificate: Certificate,
    pub private_key: PrivateKeyPem,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpKeyError {
    #[error("generating the key pair failed: {0}")]
    OpenSsl(#[from] ErrorStack),
    #[error("the generated certificate does not parse: {0}")]
    Certificate(#[from] CertificateError),
    #[error("sealing the generated private key failed: {0}")]
    Sealing(#[from] KeyAtRestError),
}

impl SpKey {
    /// A new RSA key pair with a self-signed certificate naming the connection. Takes tens of milliseconds of
    /// CPU: call it off the async runtime.
    pub fn generate(
        connection: ConnectionId,
        host: &str,
        state: KeyState,
        now: DateTime<Utc>,
    ) -> Result<Self, SpKeyError> {
        let key = PKey::from_rsa(Rsa::generate(KEY_BITS)?)?;
        let mut name = X509NameBuilder::new()?;
        // X.509 limits these names to 64 characters.
        let host: String = host.chars().take(64).collect();
        name.append_entry_by_text("O", "Gatehouse")?;
        name.append_entry_by_text("OU", &host)?;
        name.append_entry_by_text("CN", &format!("SAML SP {connection}"))?;
        let name = name.build();
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let mut builder = X509::builder()?;
        builder.set_version(2)?;
        let serial = serial.to_asn1_integer()?;
        builder.set_serial_number(&serial)?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        let not_before = Asn1Time::from_unix(now.timestamp() - 60)?;
        let not_after = Asn1Time::from_unix((now + CERTIFICATE_LIFETIME).timestamp())?;
        builder.set_not_before(&not_before)?;
        builder.set_not_after(&not_after)?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .data_encipherment()
                .build()?,
        )?;
        builder.sign(&key, MessageDigest::sha256())?;
        let certificate = Certificate::from_der(builder.build().to_der()?)?;
        let pem = String::from_utf8(key.private_key_to_pem_pkcs8()?).expect("PEM is ASCII");
        Ok(Self {
            id: uuid::Uuid::new_v4(),
            state,
            certificate,
            private_key: PrivateKeyPem::new(pem),
            created_at: now,
        })
    }

    /// The same key pair with its private key sealed for the connection's row.
    pub fn sealed(self, connection: ConnectionId, key_encryption: &KeyEncryptionKey) -> Result<Self, SpKeyError> {
        let row = self.row(connection);
        let stored = self.private_key.stored(row, key_encryption)?.into_owned();
        Ok(Self {
            private_key: PrivateKeyPem::sealed(stored, row, key_encryption.clone()),
            ..self
        })
    }

    /// The row this key is stored in.
    pub fn row(&self, connection: ConnectionId) -> KeyRow {
        KeyRow {
            connection,
            key: self.id,
        }
    }

    /// This key pair as the one that signs a message.
    pub fn signing_key(&self) -> SigningKey<'_> {
        SigningKey {
            private_key: &self.private_key,
            certificate_der: self.certificate.der(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKeyRef;
    use openssl::x509::X509;

    #[test]
    fn a_generated_key_matches_its_self_signed_certificate() {
        let now = Utc::now();
        let id = ConnectionId::new();
        let key = SpKey::generate(id, "gatehouse.example.com", KeyState::Active, now).unwrap();
        assert_eq!(key.certificate.key, "RSA 2048 bits");
        assert!(key.certificate.subject.contains(&id.to_string()));
        assert!(key.certificate.not_after > now + Duration::days(3000));
        let x509 = X509::from_der(key.certificate.der()).unwrap();
        let private = key.private_key.parsed().unwrap();
        assert!(x509.public_key().unwrap().public_eq(&private));
        assert!(x509.verify(&x509.public_key().unwrap()).unwrap(), "self-signed");
        assert_eq!(format!("{:?}", key.private_key), "PrivateKeyPem(…)");
        let other = SpKey::generate(id, "gatehouse.example.com", KeyState::Next, now).unwrap();
        assert_ne!(other.certificate.serial, key.certificate.serial);
        assert_ne!(other.private_key, key.private_key);
    }

    #[test]
    fn a_private_key_is_parsed_once_and_is_the_pems_own() {
        let now = Utc::now();
        let (a, b) = (
            SpKey::generate(ConnectionId::new(), "a.example.com", KeyState::Active, now).unwrap(),
            SpKey::generate(ConnectionId::new(), "b.example.com", KeyState::Active, now).unwrap(),
        );
        // A key's address is its OpenSSL object: the same address is the same parsed key.
        let same = |x: &PKey<Private>, y: &PKey<Private>| std::ptr::eq::<PKeyRef<Private>>(&**x, &**y);
        let parsed_a = a.private_key.parsed().unwrap();
        assert!(
            same(&parsed_a, &a.private_key.parsed().unwrap()),
            "kept, not parsed again"
        );
        let parsed_b = b.private_key.parsed().unwrap();
        assert!(!same(&parsed_a, &parsed_b));
        let public_a = X509::from_der(a.certificate.der()).unwrap().public_key().unwrap();
        assert!(public_a.public_eq(&parsed_a) && !public_a.public_eq(&parsed_b));
        assert!(PrivateKeyPem::new("not a key".into()).parsed().is_err());
    }

    #[test]
    fn a_sealed_key_is_opened_once_and_only_with_its_key_encryption_key() {
        let id = ConnectionId::new();
        let plain = SpKey::generate(id, "a.example.com", KeyState::Active, Utc::now()).unwrap();
        let key_encryption = KeyEncryptionKey::from_bytes([3; 32]);
        let sealed = plain.clone().sealed(id, &key_encryption).unwrap();
        let stored = sealed.private_key.stored(sealed.row(id), &key_encryption).unwrap();
        assert!(stored.starts_with(&format!("v1:{}:", key_encryption.id())) && !stored.contains("PRIVATE KEY"));
        let parsed = sealed.private_key.parsed().unwrap();
        assert!(parsed.public_eq(&plain.private_key.parsed().unwrap()));
        assert!(std::ptr::eq::<PKeyRef<Private>>(
            &*parsed,
            &*sealed.private_key.parsed().unwrap()
        ));
        let under_another_key = PrivateKeyPem::sealed(
            stored.into_owned(),
            sealed.row(id),
            KeyEncryptionKey::from_bytes([4; 32]),
        );
        assert!(matches!(
            under_another_key.parsed(),
            Err(KeyAtRestError::OtherKey { .. })
        ));
    }

    #[test]
    fn states_round_trip_and_only_next_and_active_are_published() {
        for state in [KeyState::Next, KeyState::Active, KeyState::Previous] {
            assert_eq!(KeyState::from_stored(state.as_str()), Some(state));
        }
        assert_eq!(KeyState::from_stored("retired"), None);
        assert!(KeyState::Next.is_published() && KeyState::Active.is_published());
        assert!(!KeyState::Previous.is_published());
    }
}
