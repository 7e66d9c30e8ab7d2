//! The stored SP private keys under the operator's key-encryption key: sealed at every start, re-sealed when the
//! operator rotates that key, all in one transaction.

use crate::saml::keys_at_rest::{KeyAtRestError, KeyEncryptionKey, KeyRow, resealed};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StoredKeysError {
    #[error(transparent)]
    KeyAtRest(#[from] KeyAtRestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seals every SP private key still stored as plain PEM (written before keys were sealed) with `key_encryption`,
/// in one transaction, and answers how many. Refuses, changing nothing, when a stored key was sealed with another
/// key-encryption key: then Gatehouse was started with the wrong key. Run at every start; once every key is
/// sealed with this key it reads no row.
pub async fn seal_stored_keys(store: &Store, key_encryption: &KeyEncryptionKey) -> Result<usize, StoredKeysError> {
    reseal(store, key_encryption, key_encryption).await
}

/// Re-seals every stored SP private key from `old` to `new` in one transaction, and answers how many: either all
/// are re-sealed or, on any error, none. Keys still in plain PEM are sealed with `new`; keys already sealed with
/// `new` are left as they are, so running it again changes nothing.
pub async fn rotate_key_encryption_key(
    store: &Store,
    old: &KeyEncryptionKey,
    new: &KeyEncryptionKey,
) -> Result<usize, StoredKeysError> {
    if old.id() == new.id() {
        return Err(KeyAtRestError::SameKey(new.id().to_owned()).into());
    }
    reseal(store, old, new).await
}

/// Seals with `new` every stored key not sealed with it yet.
async fn reseal(store: &Store, old: &KeyEncryptionKey, new: &KeyEncryptionKey) -> Result<usize, StoredKeysError> {
    store
        .rewrite_sp_private_keys(&new.prefix(), |row| {
            let key_row = KeyRow {
                connection: row.connection_id,
                key: row.id,
            };
            Ok::<_, StoredKeysError>(resealed(&row.sealed_private_key, key_row, old, new)?)
        })
        .await
}
