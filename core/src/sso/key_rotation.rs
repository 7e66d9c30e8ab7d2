//! Rotating a connection's SP key pair with an overlap: publish the next key, switch to it once the IdP has
//! it, and keep the previous one for decryption until the owner removes it.

use super::connection::{ConnectionError, ConnectionService};
use super::connection_rows::key_row;
use crate::audit;
use crate::auth::Caller;
use crate::ids::{AccountId, ConnectionId};
use crate::saml::sp_keys::{KeyState, SpKeyError};
use crate::tenancy::Permission;
use chrono::{DateTime, Utc};

impl ConnectionService {
    /// Generates the next key and publishes it in the SP metadata beside the active one.
    pub async fn prepare_next_key(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        let connection = self.load(caller, account, id, Permission::ManageConnections).await?;
        if connection.sp_keys.iter().any(|k| k.state == KeyState::Next) {
            return Err(ConnectionError::KeyRotation(
                "A new key is already published. Switch to it, or discard it first.",
            ));
        }
        let key = self.generate_key(id, KeyState::Next, now).await?;
        let detail = format!(
            "{}: new SP certificate published (SHA-256 {})",
            connection.label, key.certificate.sha256_fingerprint
        );
        let entry = audit::entry(account, caller, now, "SP key rotation started", detail);
        let row = key_row(id, &key, &self.key_encryption).map_err(SpKeyError::from)?;
        match self.store.add_sp_key(account, &row, &entry).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ConnectionError::NotFound),
            Err(e) if e.is_unique_violation() => Err(ConnectionError::KeyRotation(
                "A new key is already published. Switch to it, or discard it first.",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes the next key the active one; the active one becomes the previous (it still decrypts), replacing
    /// any older previous key.
    pub async fn activate_next_key(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        self.shift_keys(
            caller,
            account,
            id,
            KeyState::Next,
            Some(KeyState::Previous),
            &[
                (KeyState::Active, KeyState::Previous),
                (KeyState::Next, KeyState::Active),
            ],
            ("SP key rotated", "the new key signs and decrypts from now on"),
            now,
        )
        .await
    }

    /// Deletes the next key without using it.
    pub async fn discard_next_key(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        self.shift_keys(
            caller,
            account,
            id,
            KeyState::Next,
            Some(KeyState::Next),
            &[],
            ("SP key rotation cancelled", "the unused new key was deleted"),
            now,
        )
        .await
    }

    /// Deletes the previous key: assertions encrypted for it no longer decrypt.
    pub async fn remove_previous_key(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        self.shift_keys(
            caller,
            account,
            id,
            KeyState::Previous,
            Some(KeyState::Previous),
            &[],
            (
                "Previous SP key removed",
                "assertions encrypted for it no longer decrypt",
            ),
            now,
        )
        .await
    }

    /// One step of a rotation, refused unless a key in the `requires` state exists.
    #[allow(clippy::too_many_arguments)]
    async fn shift_keys(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        requires: KeyState,
        delete: Option<KeyState>,
        moves: &[(KeyState, KeyState)],
        (action, what): (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        let connection = self.load(caller, account, id, Permission::ManageConnections).await?;
        if !connection.sp_keys.iter().any(|k| k.state == requires) {
            return Err(ConnectionError::KeyRotation(match requires {
                KeyState::Previous => "There is no previous key to remove.",
                _ => "There is no new key; publish one first.",
            }));
        }
        let entry = audit::entry(account, caller, now, action, format!("{}: {what}", connection.label));
        let moves: Vec<(&str, &str)> = moves.iter().map(|(from, to)| (from.as_str(), to.as_str())).collect();
        if self
            .store
            .shift_sp_keys(
                account,
                id,
                requires.as_str(),
                delete.map(KeyState::as_str),
                &moves,
                &entry,
            )
            .await?
        {
            Ok(())
        } else {
            Err(ConnectionError::KeyRotation(
                "The keys changed meanwhile; reload the page and try again.",
            ))
        }
    }
}
