//! Typed identifiers, so an account's id can never be passed where a user's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

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
