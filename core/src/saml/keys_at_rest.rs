//! SP private keys at rest: stored sealed under a key-encryption key that the operator supplies, each bound to
//! its own row, so that a copy of the database alone yields no private key.
//!
//! The cipher is AES-256-GCM through the `openssl` crate: it is already linked for certificates, signing and
//! xmlsec, its AES-GCM runs on the processor's AES instructions, and it adds nothing to the lockfile, which holds
//! no RustCrypto AEAD crate.

use crate::ids::ConnectionId;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::error::ErrorStack;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use sha2::{Digest, Sha256};
use std::fmt;

/// The first part of every sealed value: a later format gets a new version, so that stored values say which
/// reading they need.
const VERSION: &str = "v1";
/// GCM's standard nonce size; a random nonce per sealing is safe far beyond the number of keys ever sealed.
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// How a private key written before keys were sealed begins.
const PLAIN_PEM: &str = "-----BEGIN";
/// The development default: public, since it is written here, so that Gatehouse starts without configuration.
/// Anyone with a database copy of an instance that uses it can read its SP private keys.
const DEVELOPMENT_KEY: &[u8; 32] = b"gatehouse-development-key-public";

/// The 32-byte key that seals SP private keys; printed only as its identifier.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEncryptionKey {
    bytes: [u8; 32],
    id: String,
}

impl KeyEncryptionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // The identifier names the key in stored values and messages without revealing it: a prefix of a hash
        // under a label of its own.
        let digest = Sha256::new()
            .chain_update(b"gatehouse key-encryption key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self { bytes, id }
    }

    /// 32 bytes in standard Base64 (`openssl rand -base64 32`); surrounding white space, such as a file's
    /// final newline, is ignored.
    pub fn from_base64(text: &str) -> Result<Self, KeyAtRestError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyAtRestError::BadKey("not Base64".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| KeyAtRestError::BadKey(format!("{} bytes long", b.len())))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The documented development default (docs/deployment.md), used when the operator supplies no key.
    pub fn development() -> Self {
        Self::from_bytes(*DEVELOPMENT_KEY)
    }

    pub fn is_development(&self) -> bool {
        self.bytes == *DEVELOPMENT_KEY
    }

    /// Eight hex digits naming the key in stored values (`v1:<id>:…`) and messages.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What a value sealed with this key begins with.
    pub fn prefix(&self) -> String {
        format!("{VERSION}:{}:", self.id)
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyEncryptionKey({})", self.id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyAtRestError {
    #[error("a key-encryption key is 32 random bytes in Base64 (`openssl rand -base64 32`); this one is {0}")]
    BadKey(String),
    #[error(
        "SP private key {key} was encrypted with key-encryption key {stored}, but the configured key is \
         {configured}: start Gatehouse with the key it was encrypted with, or re-encrypt the keys with \
         `gatehouse rotate-key-encryption-key`"
    )]
    OtherKey {
        key: uuid::Uuid,
        stored: String,
        configured: String,
    },
    #[error("SP private key {0} does not decrypt: its stored value was changed or copied from another key's row")]
    DoesNotOpen(uuid::Uuid),
    #[error("SP private key {0} is stored in an unknown format")]
    UnknownFormat(uuid::Uuid),
    #[error("the old and the new key-encryption key are the same key ({0})")]
    SameKey(String),
    #[error("the SP private key does not load: {0}")]
    OpenSsl(#[from] ErrorStack),
}

/// The row a sealed key belongs to. It is the associated data of the AEAD, with the format and the
/// key-encryption key's identifier, so a sealed value copied onto another row does not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub connection: ConnectionId,
    pub key: uuid::Uuid,
}

impl KeyRow {
    fn associated_data(self, key_encryption: &KeyEncryptionKey) -> String {
        format!("{}{}:{}", key_encryption.prefix(), self.connection, self.key)
    }

    /// A short digest naming a sealed value together with its row: the parsed-key cache's key, so a value
    /// opened for one row is never handed out for another.
    pub(super) fn digest(self, stored: &str) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.connection.as_uuid().as_bytes())
            .chain_update(self.key.as_bytes())
            .chain_update(stored.as_bytes())
            .finalize()
            .into()
    }
}

/// `v1:<key id>:<Base64 of nonce ‖ ciphertext ‖ tag>`.
pub(super) fn seal(pem: &[u8], row: KeyRow, key_encryption: &KeyEncryptionKey) -> Result<String, KeyAtRestError> {
    let mut nonce = [0u8; NONCE_BYTES];
    openssl::rand::rand_bytes(&mut nonce)?;
    let mut tag = [0u8; TAG_BYTES];
    let ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        &key_encryption.bytes,
        Some(&nonce),
        row.associated_data(key_encryption).as_bytes(),
        pem,
        &mut tag,
    )?;
    let sealed = [&nonce[..], &ciphertext, &tag].concat();
    Ok(format!("{}{}", key_encryption.prefix(), STANDARD.encode(sealed)))
}

/// The sealed value's key-encryption key must be `key_encryption`: checked before anything is decrypted or
/// taken from the cache of parsed keys.
pub(super) fn check_sealed_with(
    stored: &str,
    row: KeyRow,
    key_encryption: &KeyEncryptionKey,
) -> Result<(), KeyAtRestError> {
    if stored.starts_with(&key_encryption.prefix()) {
        return Ok(());
    }
    match sealed_with(stored) {
        Some(stored) => Err(KeyAtRestError::OtherKey {
            key: row.key,
            stored: stored.to_owned(),
            configured: key_encryption.id.clone(),
        }),
        None => Err(KeyAtRestError::UnknownFormat(row.key)),
    }
}

/// The PEM sealed in `stored`.
pub(super) fn open(stored: &str, row: KeyRow, key_encryption: &KeyEncryptionKey) -> Result<Vec<u8>, KeyAtRestError> {
    check_sealed_with(stored, row, key_encryption)?;
    let sealed = STANDARD
        .decode(&stored[key_encryption.prefix().len()..])
        .map_err(|_| KeyAtRestError::UnknownFormat(row.key))?;
    if sealed.len() < NONCE_BYTES + TAG_BYTES {
        return Err(KeyAtRestError::UnknownFormat(row.key));
    }
    let (nonce, rest) = sealed.split_at(NONCE_BYTES);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
    decrypt_aead(
        Cipher::aes_256_gcm(),
        &key_encryption.bytes,
        Some(nonce),
        row.associated_data(key_encryption).as_bytes(),
        ciphertext,
        tag,
    )
    .map_err(|_| KeyAtRestError::DoesNotOpen(row.key))
}

/// The identifier of the key-encryption key a stored value names, when it is a sealed value.
fn sealed_with(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(VERSION)?.strip_prefix(':')?;
    rest.split_once(':').map(|(id, _)| id)
}

/// `stored` sealed with `new`: a plain PEM (written before keys were sealed) as it is, any other value opened
/// with `old` first (which refuses a value sealed with a third key).
pub fn resealed(
    stored: &str,
    row: KeyRow,
    old: &KeyEncryptionKey,
    new: &KeyEncryptionKey,
) -> Result<String, KeyAtRestError> {
    if stored.starts_with(PLAIN_PEM) {
        seal(stored.as_bytes(), row, new)
    } else {
        seal(&open(stored, row, old)?, row, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> KeyRow {
        KeyRow {
            connection: ConnectionId::new(),
            key: uuid::Uuid::new_v4(),
        }
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_key_and_on_its_row() {
        let (key, other_key) = (
            KeyEncryptionKey::from_bytes([7; 32]),
            KeyEncryptionKey::from_bytes([8; 32]),
        );
        let (here, there) = (row(), row());
        let pem = b"-----BEGIN PRIVATE KEY-----\n...";
        let sealed = seal(pem, here, &key).unwrap();
        assert!(sealed.starts_with(&format!("v1:{}:", key.id())) && !sealed.contains("PRIVATE KEY"));
        assert_eq!(open(&sealed, here, &key).unwrap(), pem);
        assert_ne!(seal(pem, here, &key).unwrap(), sealed, "a fresh nonce each time");
        assert!(matches!(
            open(&sealed, there, &key),
            Err(KeyAtRestError::DoesNotOpen(_))
        ));
        let moved = KeyRow { key: there.key, ..here };
        assert!(matches!(
            open(&sealed, moved, &key),
            Err(KeyAtRestError::DoesNotOpen(_))
        ));
        let error = open(&sealed, here, &other_key).unwrap_err();
        assert!(matches!(error, KeyAtRestError::OtherKey { .. }));
        assert!(error.to_string().contains(key.id()) && error.to_string().contains(other_key.id()));
        let mut tampered = sealed.clone().into_bytes();
        let inside = key.prefix().len() + 20;
        tampered[inside] = if tampered[inside] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(matches!(
            open(&tampered, here, &key),
            Err(KeyAtRestError::DoesNotOpen(_))
        ));
        assert!(matches!(open("v1:", here, &key), Err(KeyAtRestError::UnknownFormat(_))));
    }

    #[test]
    fn keys_read_from_base64_and_print_only_their_identifier() {
        let key = KeyEncryptionKey::from_base64(&format!("{}\n", STANDARD.encode([9u8; 32]))).unwrap();
        assert_eq!(key, KeyEncryptionKey::from_bytes([9; 32]));
        assert_eq!(key.id().len(), 8);
        assert_eq!(format!("{key:?}"), format!("KeyEncryptionKey({})", key.id()));
        assert!(!key.is_development() && KeyEncryptionKey::development().is_development());
        let short = KeyEncryptionKey::from_base64(&STANDARD.encode([9u8; 16])).unwrap_err();
        assert_eq!(
            short.to_string(),
            "a key-encryption key is 32 random bytes in Base64 (`openssl rand -base64 32`); this one is 16 bytes long"
        );
        assert!(KeyEncryptionKey::from_base64("not base64!").is_err());
    }
}
