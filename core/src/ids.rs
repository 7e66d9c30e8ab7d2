//! Typed identifiers, so an account's id can never be passed where a user's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A short code that joins what a person is shown (a refused sign-in, an internal error) to what the owner finds
/// in the SSO events or the operator in the log.
pub fn new_reference() -> String {
    Uuid::new_v4().simple().to_string()[..10].to_uppercase()
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random identifier.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

typed_id!(
    /// A person who can sign in.
    UserId
);
typed_id!(
    /// A tenant: the unit that owns members, domains and SSO connections.
    AccountId
);
typed_id!(
    /// A pending invitation to join an account.
    InvitationId
);
typed_id!(
    /// An email domain claimed by an account.
    DomainId
);
typed_id!(
    /// A connection from an account to one SAML identity provider.
    ConnectionId
);
typed_id!(
    /// A link with which someone without a Gatehouse account does one account's SSO set-up.
    SetupLinkId
);

impl ConnectionId {
    /// The id an account's first connection gets: known before it exists, so the guided setup can show the values
    /// to enter at the IdP (its ACS URL and entity ID) before the IdP's metadata is imported. Derived from the
    /// account id (SHA-256, as a version 8 UUID), so no two accounts share it.
    pub fn first_of(account: AccountId) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"gatehouse first connection ")
            .chain_update(account.as_uuid().as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}
