//! An account's overview, members, roles, ownership and invitations.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub role: String,
    /// May see the account's pages (every role but No access).
    pub can_view: bool,
    /// May invite, change roles, remove members and transfer ownership (the Owner).
    pub can_manage_members: bool,
    /// May add, verify and remove the account's email domains (Owner and Admin).
    pub can_manage_domains: bool,
    /// May read the SSO events and the audit log (Owner and Admin).
    pub can_view_audit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    /// Storage name of the role (`owner`, `admin`, `viewer`, `no_access`), the value forms send back.
    pub role: String,
    pub role_label: String,
    pub joined: String,
    pub is_owner: bool,
    pub is_you: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role_label: String,
    pub invited: String,
    pub expires: String,
    pub expired: bool,
}

/// One page of the Members tab: up to 100 members in email order, optionally those whose email contains the
/// search, and the pending invitations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub account: AccountView,
    pub members: Vec<MemberView>,
    /// Members matching the search (all members without one), on every page.
    pub total: u64,
    /// The search as the caller typed it ("" for none).
    pub search: String,
    /// This page starts after the first page.
    pub later_page: bool,
    /// Where the next page starts (`after`), when there is one.
    pub next_after: Option<String>,
    /// Pending invitations; empty unless the caller may manage members.
    pub invitations: Vec<InvitationView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCreated {
    pub invitation: InvitationView,
    pub link: String,
    /// How the invitation was delivered, in words for the owner.
    pub delivery: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationDetails {
    pub account_name: String,
    pub email: String,
    pub role_label: String,
    /// The email of whoever is signed in, if anyone.
    pub signed_in_as: Option<String>,
    /// Whoever is signed in is the user the invited address finds (compared in its canonical form).
    pub for_signed_in_user: bool,
    /// Whoever is signed in proved their address (else they prove it before accepting).
    pub signed_in_proven: bool,
}

/// The roles an owner can give by invitation or role change, as (value, label).
pub const ASSIGNABLE_ROLES: [(&str, &str); 3] = [("admin", "Admin"), ("viewer", "Viewer"), ("no_access", "No access")];

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    pub use crate::api::context::date;
    use gatehouse_core::tenancy::{AccountSummary, PendingInvitation, Permission};

    pub fn account_view(a: AccountSummary) -> AccountView {
        AccountView {
            id: a.id.to_string(),
            name: a.name,
            role: a.role.label().into(),
            can_view: a.role.allows(Permission::ViewAccount),
            can_manage_members: a.role.allows(Permission::ManageMembers),
            can_manage_domains: a.role.allows(Permission::ManageDomains),
            can_view_audit: a.role.allows(Permission::ViewAudit),
        }
    }

    pub fn invitation_view(i: PendingInvitation) -> InvitationView {
        InvitationView {
            id: i.id.to_string(),
            email: i.email,
            role_label: i.role.label().into(),
            invited: date(i.invited_at),
            expires: date(i.expires_at),
            expired: i.expired,
        }
    }

    pub fn role(text: &str) -> Result<gatehouse_core::Role, AppError> {
        text.parse().map_err(|e: gatehouse_core::tenancy::UnknownRole| {
            crate::api::context::respond(AppError::invalid("role", e))
        })
    }
}

/// The caller's view of one account: its name and what the caller's role allows.
#[server(prefix = "/api", endpoint = "accounts/overview")]
pub async fn account_overview(account_id: String) -> Result<AccountView, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let summary = services()?.tenancy.membership(&caller, account).await?;
    Ok(convert::account_view(summary))
}

#[cfg(feature = "ssr")]
fn member_view(caller: &gatehouse_core::auth::Caller, member: gatehouse_core::tenancy::Member) -> MemberView {
    MemberView {
        is_you: member.user_id == caller.user_id,
        is_owner: member.role == gatehouse_core::Role::Owner,
        user_id: member.user_id.to_string(),
        email: member.email,
        role: member.role.as_str().into(),
        role_label: member.role.label().into(),
        joined: crate::api::context::date(member.joined_at),
    }
}

/// One page of members with their roles (`search`: part of an email; `after`: the email the page starts after)
/// and, for the owner, pending invitations.
#[server(prefix = "/api", endpoint = "accounts/members")]
pub async fn list_members(
    account_id: String,
    #[server(default)] search: String,
    #[server(default)] after: String,
) -> Result<MembersPage, AppError> {
    use crate::api::context::*;
    use gatehouse_core::tenancy::{MEMBERS_PER_PAGE, MemberQuery};
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let tenancy = services()?.tenancy.clone();
    let summary = tenancy.membership(&caller, account).await?;
    let query = MemberQuery {
        search: &search,
        after: Some(after.as_str()).filter(|a| !a.is_empty()),
        per_page: MEMBERS_PER_PAGE,
    };
    let page = tenancy.member_page(&caller, account, &query).await?;
    let later_page = query.after.is_some();
    let view = convert::account_view(summary);
    let invitations = if view.can_manage_members {
        tenancy
            .pending_invitations(&caller, account, now())
            .await?
            .into_iter()
            .map(convert::invitation_view)
            .collect()
    } else {
        Vec::new()
    };
    Ok(MembersPage {
        account: view,
        members: page.members.into_iter().map(|m| member_view(&caller, m)).collect(),
        total: page.total,
        later_page,
        search,
        next_after: page.next_after,
        invitations,
    })
}

/// Every member but the owner, who may receive the ownership (Owner only: the settings page).
#[server(prefix = "/api", endpoint = "accounts/ownership-candidates")]
pub async fn ownership_candidates(account_id: String) -> Result<Vec<MemberView>, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let members = services()?.tenancy.members(&caller, account).await?;
    Ok(members
        .into_iter()
        .filter(|m| m.role != gatehouse_core::Role::Owner)
        .map(|m| member_view(&caller, m))
        .collect())
}

/// Invites a person by email with a role (Owner only); answers the single-use link to copy.
#[server(prefix = "/api", endpoint = "accounts/invite")]
pub async fn invite_member(account_id: String, email: String, role: String) -> Result<InvitationCreated, AppError> {
    use crate::api::context::*;
    use gatehouse_core::mail::MailOutcome;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let role = convert::role(&role)?;
    let created = services()?
        .tenancy
        .invite(&caller, account, &email, role, now())
        .await?;
    let email = &created.invitation.email;
    let delivery = match &created.mail {
        MailOutcome::NotConfigured => "No mail server is configured: send this link to the person yourself.".to_owned(),
        MailOutcome::Sent => format!("An email with this link was sent to {email}."),
        MailOutcome::Failed(reason) => format!("The email could not be sent ({reason}); send this link yourself."),
    };
    Ok(InvitationCreated {
        link: created.link,
        invitation: convert::invitation_view(created.invitation),
        delivery,
    })
}

/// Withdraws a pending invitation (Owner only); its link stops working. Answers the withdrawn invitation's id.
#[server(prefix = "/api", endpoint = "accounts/revoke-invitation")]
pub async fn revoke_invitation(account_id: String, invitation_id: String) -> Result<String, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let invitation = invitation_id
        .parse()
        .map_err(|_| respond(AppError::NotFound("This invitation does not exist.".into())))?;
    services()?
        .tenancy
        .revoke_invitation(&caller, account, invitation)
        .await?;
    Ok(invitation_id)
}

/// Gives a member another role (Owner only; the Owner role moves only by transfer).
#[server(prefix = "/api", endpoint = "accounts/change-role")]
pub async fn change_member_role(account_id: String, user_id: String, role: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let member = parse_user_id(&user_id)?;
    let role = convert::role(&role)?;
    Ok(services()?.tenancy.change_role(&caller, account, member, role).await?)
}

/// Removes a member from the account (Owner only; the owner cannot be removed).
#[server(prefix = "/api", endpoint = "accounts/remove-member")]
pub async fn remove_member(account_id: String, user_id: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let member = parse_user_id(&user_id)?;
    Ok(services()?.tenancy.remove_member(&caller, account, member).await?)
}

/// Hands the Owner role to another member; the current owner becomes an Admin.
#[server(prefix = "/api", endpoint = "accounts/transfer-ownership")]
pub async fn transfer_ownership(account_id: String, user_id: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let member = parse_user_id(&user_id)?;
    Ok(services()?.tenancy.transfer_ownership(&caller, account, member).await?)
}

/// What an invitation link offers; needs no sign-in.
#[server(prefix = "/api", endpoint = "invitations/details")]
pub async fn get_invitation(token: String) -> Result<InvitationDetails, AppError> {
    use crate::api::context::*;
    let preview = services()?.tenancy.preview_invitation(&token, now()).await?;
    let caller = signed_in_caller().await?;
    Ok(InvitationDetails {
        for_signed_in_user: caller.as_ref().is_some_and(|c| preview.invited_user == Some(c.user_id)),
        signed_in_proven: caller.as_ref().is_some_and(|c| c.email_proven),
        signed_in_as: caller.map(|c| c.email),
        account_name: preview.account_name,
        email: preview.email,
        role_label: preview.role.label().into(),
    })
}

/// Accepts an invitation as the signed-in user; answers the account's path.
#[server(prefix = "/api", endpoint = "invitations/accept")]
pub async fn accept_invitation(token: String) -> Result<String, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = services()?.tenancy.accept_invitation(&caller, &token, now()).await?;
    Ok(format!("/accounts/{account}"))
}

/// Renames the account (Owner only).
#[server(prefix = "/api", endpoint = "accounts/rename")]
pub async fn rename_account(account_id: String, name: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    Ok(services()?.tenancy.rename_account(&caller, account, &name).await?)
}
