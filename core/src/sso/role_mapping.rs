//! Role mappings: rules from an IdP attribute (name and value) to a Gatehouse role, checked before they are saved.

use crate::tenancy::Role;

/// Enough for any real group-to-role table; bounds what one save can write.
pub const MAX_RULES: usize = 100;
pub const MAX_ATTRIBUTE_NAME: usize = 256;
pub const MAX_ATTRIBUTE_VALUE: usize = 1024;

/// When the attribute named `attribute` carries `value`, the user gets `role`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleMapping {
    pub attribute: String,
    pub value: String,
    pub role: Role,
}

/// A connection's rules, in the order they are tried (the first match decides), and what applies otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleMappings {
    pub rules: Vec<RoleMapping>,
    /// The role when no rule matches: No access unless the owner chose otherwise.
    pub default_role: Role,
    /// Apply the rules again at every sign-in, overriding roles changed by hand since.
    pub reapply_on_sign_in: bool,
}

impl RoleMappings {
    /// The role the rules give a user with these attributes (all values of multi-valued ones, such as groups,
    /// count): the first matching rule's, else the default. Names and values compare exactly.
    pub fn role_for(&self, attributes: &[(String, Vec<String>)]) -> Role {
        self.rules
            .iter()
            .find(|rule| {
                attributes
                    .iter()
                    .any(|(name, values)| *name == rule.attribute && values.contains(&rule.value))
            })
            .map_or(self.default_role, |rule| rule.role)
    }
}

/// One row of the mapping table as typed.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleInput<'a> {
    pub attribute: &'a str,
    pub value: &'a str,
    pub role: &'a str,
}

/// The whole mapping form as typed: the rows, the default role and the re-application switch.
#[derive(Clone, Copy, Debug)]
pub struct MappingForm<'a> {
    pub rows: &'a [RuleInput<'a>],
    pub default_role: &'a str,
    pub reapply_on_sign_in: bool,
}

impl MappingForm<'_> {
    /// Checks everything; nothing is kept when one row is wrong.
    pub fn parse(&self) -> Result<RoleMappings, RoleMappingError> {
        Ok(RoleMappings {
            rules: parse_rules(self.rows)?,
            default_role: parse_default_role(self.default_role)?,
            reapply_on_sign_in: self.reapply_on_sign_in,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleMappingError {
    #[error("Row {0}: enter the attribute name the IdP sends (for example groups or department).")]
    MissingAttribute(usize),
    #[error("Row {0}: enter the attribute value that gives the role.")]
    MissingValue(usize),
    #[error("Row {row}: the attribute name is longer than {MAX_ATTRIBUTE_NAME} characters.")]
    AttributeTooLong { row: usize },
    #[error("Row {row}: the value is longer than {MAX_ATTRIBUTE_VALUE} characters.")]
    ValueTooLong { row: usize },
    #[error("Row {row}: choose a role (Admin, Viewer or No access).")]
    UnknownRole { row: usize },
    #[error("Row {row}: the Owner role cannot be given by SSO; it moves only by transfer.")]
    OwnerRole { row: usize },
    #[error("Row {row} repeats row {first} (same attribute and value); remove one of them.")]
    Duplicate { row: usize, first: usize },
    #[error("At most {MAX_RULES} rules; group several values under one IdP group instead.")]
    TooMany,
    #[error("The default role must be Admin, Viewer or No access.")]
    BadDefault,
}

/// Checks the typed rows (numbered from 1 as shown) and keeps those that are not blank, in order.
pub fn parse_rules(rows: &[RuleInput<'_>]) -> Result<Vec<RoleMapping>, RoleMappingError> {
    let mut rules: Vec<(usize, RoleMapping)> = Vec::new();
    for (index, input) in rows.iter().enumerate() {
        let row = index + 1;
        let (attribute, value, role) = (input.attribute.trim(), input.value.trim(), input.role.trim());
        if attribute.is_empty() && value.is_empty() {
            continue;
        }
        if attribute.is_empty() {
            return Err(RoleMappingError::MissingAttribute(row));
        }
        if value.is_empty() {
            return Err(RoleMappingError::MissingValue(row));
        }
        if attribute.chars().count() > MAX_ATTRIBUTE_NAME {
            return Err(RoleMappingError::AttributeTooLong { row });
        }
        if value.chars().count() > MAX_ATTRIBUTE_VALUE {
            return Err(RoleMappingError::ValueTooLong { row });
        }
        let role = assignable_role(role).ok_or(RoleMappingError::UnknownRole { row })?;
        if role == Role::Owner {
            return Err(RoleMappingError::OwnerRole { row });
        }
        if let Some((first, _)) = rules.iter().find(|(_, r)| r.attribute == attribute && r.value == value) {
            return Err(RoleMappingError::Duplicate { row, first: *first });
        }
        rules.push((
            row,
            RoleMapping {
                attribute: attribute.to_owned(),
                value: value.to_owned(),
                role,
            },
        ));
        if rules.len() > MAX_RULES {
            return Err(RoleMappingError::TooMany);
        }
    }
    Ok(rules.into_iter().map(|(_, rule)| rule).collect())
}

/// The default role: any role but Owner.
pub fn parse_default_role(text: &str) -> Result<Role, RoleMappingError> {
    assignable_role(text)
        .filter(|r| *r != Role::Owner)
        .ok_or(RoleMappingError::BadDefault)
}

fn assignable_role(text: &str) -> Option<Role> {
    (!text.is_empty()).then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(attribute: &'a str, value: &'a str, role: &'a str) -> RuleInput<'a> {
        RuleInput { attribute, value, role }
    }

    #[test]
    fn keeps_filled_rows_in_order_and_skips_blank_ones() {
        let rules = parse_rules(&[
            row(" groups ", " Gatehouse Admins ", "admin"),
            row("", "", ""),
            row("department", "Finance", "Viewer"),
            row("", "", "no_access"),
        ])
        .unwrap();
        assert_eq!(
            rules,
            vec![
                RoleMapping {
                    attribute: "groups".into(),
                    value: "Gatehouse Admins".into(),
                    role: Role::Admin
                },
                RoleMapping {
                    attribute: "department".into(),
                    value: "Finance".into(),
                    role: Role::Viewer
                },
            ]
        );
    }

    #[test]
    fn names_the_row_that_is_wrong() {
        assert_eq!(
            parse_rules(&[row("", "x", "admin")]),
            Err(RoleMappingError::MissingAttribute(1))
        );
        assert_eq!(
            parse_rules(&[row("a", "b", "viewer"), row("groups", "", "admin")]),
            Err(RoleMappingError::MissingValue(2))
        );
        assert_eq!(
            parse_rules(&[row("a", "b", "superuser")]),
            Err(RoleMappingError::UnknownRole { row: 1 })
        );
        assert_eq!(
            parse_rules(&[row("a", "b", "")]),
            Err(RoleMappingError::UnknownRole { row: 1 })
        );
        assert_eq!(
            parse_rules(&[row("a", "b", "owner")]),
            Err(RoleMappingError::OwnerRole { row: 1 })
        );
        assert_eq!(
            parse_rules(&[
                row("a", "b", "admin"),
                row("c", "d", "viewer"),
                row(" a", "b ", "viewer")
            ]),
            Err(RoleMappingError::Duplicate { row: 3, first: 1 })
        );
        let long = "x".repeat(MAX_ATTRIBUTE_NAME + 1);
        assert_eq!(
            parse_rules(&[row(&long, "b", "admin")]),
            Err(RoleMappingError::AttributeTooLong { row: 1 })
        );
        let values: Vec<String> = (0..=MAX_RULES).map(|i| i.to_string()).collect();
        let many: Vec<RuleInput> = values.iter().map(|v| row("groups", v, "viewer")).collect();
        assert_eq!(parse_rules(&many), Err(RoleMappingError::TooMany));
    }

    #[test]
    fn the_default_role_is_never_owner() {
        assert_eq!(parse_default_role("no_access"), Ok(Role::NoAccess));
        assert_eq!(parse_default_role("Viewer"), Ok(Role::Viewer));
        assert_eq!(parse_default_role("owner"), Err(RoleMappingError::BadDefault));
        assert_eq!(parse_default_role(""), Err(RoleMappingError::BadDefault));
    }

    #[test]
    fn the_first_matching_rule_decides_over_every_value_of_an_attribute() {
        let mappings = RoleMappings {
            rules: vec![
                RoleMapping {
                    attribute: "groups".into(),
                    value: "Admins".into(),
                    role: Role::Admin,
                },
                RoleMapping {
                    attribute: "groups".into(),
                    value: "Staff".into(),
                    role: Role::Viewer,
                },
                RoleMapping {
                    attribute: "department".into(),
                    value: "IT".into(),
                    role: Role::Admin,
                },
            ],
            default_role: Role::NoAccess,
            reapply_on_sign_in: false,
        };
        let attributes = |pairs: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
            pairs
                .iter()
                .map(|(n, vs)| (n.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect()
        };
        assert_eq!(
            mappings.role_for(&attributes(&[("groups", &["Staff", "Admins"])])),
            Role::Admin
        );
        assert_eq!(mappings.role_for(&attributes(&[("groups", &["Staff"])])), Role::Viewer);
        assert_eq!(mappings.role_for(&attributes(&[("department", &["IT"])])), Role::Admin);
        assert_eq!(
            mappings.role_for(&attributes(&[("groups", &["admins"])])),
            Role::NoAccess,
            "exact match"
        );
        assert_eq!(mappings.role_for(&[]), Role::NoAccess);
    }
}
