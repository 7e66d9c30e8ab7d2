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
    /// See the account's SSO set-up: its domains and identity-provider connections.
    ViewSsoSetup,
    /// Invite members, change their roles, remove them.
    ManageMembers,
    /// Rename the account and hand the Owner role to another member.
    ManageAccount,
    /// Add, verify and remove the account's email domains.
    ManageDomains,
    /// Look after the account's identity-provider connections without widening whom they may sign in: role
    /// mappings, sign-in options, Gatehouse's keys, metadata refreshes, and removing a connection or certificate.
    ManageConnections,
    /// Widen whom the account trusts to vouch for its users: add or replace an identity provider, add a signing
    /// certificate, change a metadata URL or its federation certificate, route a domain to a connection, choose
    /// where a connection reads the email.
    ManageTrust,
    /// Turn SSO on or off and choose how strictly it applies (enforcement, personal accounts).
    ManageSsoPolicy,
    /// Read the account's audit log.
    ViewAudit,
    /// Create and revoke setup links, which hand the SSO set-up (and so `ManageTrust`) to someone else.
    ManageSetupLinks,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Viewer, Role::NoAccess];

    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::ViewAccount | Permission::ViewSsoSetup => self != Role::NoAccess,
            Permission::ManageMembers | Permission::ManageAccount | Permission::ManageSetupLinks => self == Role::Owner,
            Permission::ManageDomains | Permission::ManageConnections | Permission::ViewAudit => {
                matches!(self, Role::Owner | Role::Admin)
            }
            // A connection signs in the users of the domains routed to it: whoever adds one could sign in as anyone
            // there, the Owner included, so only the Owner decides.
            Permission::ManageTrust | Permission::ManageSsoPolicy => self == Role::Owner,
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

    /// Every permission, as the documented table names them.
    const EVERY_PERMISSION: [Permission; 10] = [
        Permission::ViewAccount,
        Permission::ViewSsoSetup,
        Permission::ManageMembers,
        Permission::ManageAccount,
        Permission::ManageDomains,
        Permission::ManageConnections,
        Permission::ManageTrust,
        Permission::ManageSsoPolicy,
        Permission::ViewAudit,
        Permission::ManageSetupLinks,
    ];

    /// The permission table of docs/architecture.md is what `allows` answers: one row per permission, one
    /// column per role, "yes" or "no" in each cell.
    #[test]
    fn the_documented_permission_table_is_what_roles_allow() {
        let doc = include_str!("../../../docs/architecture.md");
        let mut lines = doc.lines().skip_while(|l| !l.starts_with("| Permission |"));
        let cells = |line: &str| -> Vec<String> {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        };
        let header = cells(
            lines
                .next()
                .expect("docs/architecture.md has a table headed \"| Permission |\""),
        );
        let roles: Vec<Role> = header[2..].iter().map(|label| label.parse().unwrap()).collect();
        assert_eq!(roles, Role::ALL, "one column per role, in order");
        let rows: Vec<Vec<String>> = lines.skip(1).take_while(|l| l.starts_with('|')).map(cells).collect();
        let documented: Vec<String> = rows.iter().map(|r| r[0].trim_matches('`').to_owned()).collect();
        let expected: Vec<String> = EVERY_PERMISSION.iter().map(|p| format!("{p:?}")).collect();
        assert_eq!(documented, expected, "one row per permission, in declaration order");
        for (permission, row) in EVERY_PERMISSION.into_iter().zip(&rows) {
            for (role, cell) in roles.iter().zip(&row[2..]) {
                let documented = match cell.as_str() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("{permission:?}, {role}: \"{other}\" is neither yes nor no"),
                };
                assert_eq!(role.allows(permission), documented, "{permission:?} for {role}");
            }
        }
    }

    #[test]
    fn only_the_owner_widens_trust() {
        assert!(Role::Owner.allows(Permission::ManageTrust));
        for role in [Role::Admin, Role::Viewer, Role::NoAccess] {
            assert!(!role.allows(Permission::ManageTrust), "{role}");
        }
        assert!(Role::Admin.allows(Permission::ManageConnections));
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
