//! Member roles and what each one may do in its account.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's one role in an account. An account has exactly one Owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Owner,
    Admin,
    Viewer,
    /// Member without permissions: the default for users provisioned by SSO.
    NoAccess,
}

/// Things a member may try to do in an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// See the account's dashboard, members and settings.
    ViewAccount,
    /// Invite members, change their roles, remove them.
    ManageMembers,
    /// Rename the account and hand the Owner role to another member.
    ManageAccount,
    /// Add, verify and remove the account's email domains.
    ManageDomains,
    /// Create, change and delete the account's identity-provider connections.
    ManageConnections,
    /// Turn SSO on or off and choose how strictly it applies (enforcement, personal accounts).
    ManageSsoPolicy,
    /// Read the account's audit log.
    ViewAudit,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Viewer, Role::NoAccess];

    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::ViewAccount => self != Role::NoAccess,
            Permission::ManageMembers | Permission::ManageAccount => self == Role::Owner,
            Permission::ManageDomains | Permission::ManageConnections | Permission::ViewAudit => {
                matches!(self, Role::Owner | Role::Admin)
            }
            Permission::ManageSsoPolicy => self == Role::Owner,
        }
    }

    /// Roles that can be given by invitation or role change; Owner moves only by transfer.
    pub fn is_assignable(self) -> bool {
        self != Role::Owner
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
            Role::NoAccess => "no_access",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Viewer => "Viewer",
            Role::NoAccess => "No access",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a role; choose Admin, Viewer or No access.")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()) || r.label().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_by_role() {
        use Permission::*;
        let table = [
            (Role::Owner, [true, true, true, true, true, true, true]),
            (Role::Admin, [true, false, false, true, true, false, true]),
            (Role::Viewer, [true, false, false, false, false, false, false]),
            (Role::NoAccess, [false, false, false, false, false, false, false]),
        ];
        for (role, expected) in table {
            let actual = [
                ViewAccount,
                ManageMembers,
                ManageAccount,
                ManageDomains,
                ManageConnections,
                ManageSsoPolicy,
                ViewAudit,
            ]
            .map(|p| role.allows(p));
            assert_eq!(actual, expected, "{role:?}");
        }
    }

    #[test]
    fn round_trips_through_storage_names_and_labels() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(role.label().parse::<Role>().unwrap(), role);
        }
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn owner_is_never_assignable() {
        assert!(!Role::Owner.is_assignable());
        assert!(Role::NoAccess.is_assignable());
    }
}
