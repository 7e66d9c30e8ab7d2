//! Accounts and their members: who belongs where, with which role, and who may change that.

mod role;

pub use role::{Permission, Role, UnknownRole};

/// What the caller may do in one account: what their role there allows, or, holding a setup link for it, the
/// SSO set-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Member(Role),
    SetupLink,
}

impl Access {
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Access::Member(role) => role.allows(permission),
            Access::SetupLink => crate::setup_link::SETUP_PERMISSIONS.contains(&permission),
        }
    }
}

use crate::auth::{Caller, EmailAddress, EmailError, SessionOrigin};
use crate::ids::{AccountId, ConnectionId, InvitationId, UserId};
use crate::mail::{MailOutcome, Mailer};
use crate::store::{InvitationRow, Store, StoreError, ascii_email_domain};
use crate::token;
use chrono::{DateTime, Duration, Utc};
use url::Url;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: AccountId,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// Which members to show: those whose email contains `search` (any case), after the email `after`, `per_page`
/// at most.
#[derive(Clone, Debug)]
pub struct MemberQuery<'a> {
    pub search: &'a str,
    pub after: Option<&'a str>,
    pub per_page: u64,
}

/// One page of members in email order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Members matching the search, on every page.
    pub total: u64,
    /// Where the next page starts, when there is one.
    pub next_after: Option<String>,
}

/// Members shown on one page of the Members tab: an account that thousands signed in to through SSO must still
/// load in milliseconds.
pub const MEMBERS_PER_PAGE: u64 = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub expired: bool,
}

impl PendingInvitation {
    fn from_row(row: InvitationRow, now: DateTime<Utc>) -> Self {
        Self {
            id: row.id,
            expired: row.expires_at <= now,
            email: row.email,
            role: row.role,
            invited_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CreatedInvitation {
    pub invitation: PendingInvitation,
    /// The single-use link, shown once to the owner to copy; only its digest is stored.
    pub link: String,
    /// Whether the invitation also went out by mail.
    pub mail: MailOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationPreview {
    pub account_name: String,
    pub email: String,
    pub role: Role,
    /// The user the invited address (canonical form) finds, the only one who may accept.
    pub invited_user: Option<UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// Also the answer for accounts the caller is not a member of, so their existence is not revealed.
    #[error("This account does not exist or you are not a member of it.")]
    AccountNotFound,
    #[error("Your role ({role}) does not allow this. Ask the account owner.")]
    Forbidden { role: Role },
    #[error("{0}")]
    InvalidEmail(#[from] EmailError),
    #[error("The Owner role cannot be given this way; use \"Transfer ownership\".")]
    OwnerNotAssignable,
    #[error("{0} is already a member of this account.")]
    AlreadyMember(String),
    #[error("That person is not a member of this account.")]
    MemberNotFound,
    #[error("The owner's role cannot be changed or removed; transfer ownership first.")]
    OwnerIsFixed,
    #[error("You cannot change your own role.")]
    OwnRole,
    #[error("This invitation link is not valid. Ask the account owner for a new one.")]
    InvitationNotFound,
    #[error("This invitation has expired. Ask the account owner for a new one.")]
    InvitationExpired,
    #[error("This invitation has already been used.")]
    InvitationUsed,
    #[error("This invitation was sent to {invited}. Sign in with that address to accept it.")]
    InvitationForAnotherEmail { invited: String },
    /// The account enforces SSO and its SSO provisioned the caller, whose session was not opened through one of
    /// its connections; `sign_in_through` is the connection the caller's email domain is routed to there, if any.
    #[error("Sign in through your organisation's identity provider to open this account.")]
    SsoSessionRequired {
        account: AccountId,
        sign_in_through: Option<ConnectionId>,
    },
    /// Until the caller follows the link sent to their address, no account opens to them and no invitation joins
    /// them anywhere: an address nobody proved is not evidence of who the caller is.
    #[error("Confirm your email address first: follow the link we sent to {email}.")]
    EmailUnproven { email: String },
    #[error("Enter a name of 1 to {MAX_ACCOUNT_NAME} characters.")]
    InvalidAccountName,
    /// The caller holds a setup link: it opens the SSO set-up of its account (domains, identity providers, Test
    /// SSO) and nothing else, nothing of a user's own either.
    #[error("A setup link opens only the SSO set-up of its account.")]
    SetupLinkOnly,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const MAX_ACCOUNT_NAME: usize = 120;

/// Refuses the holder of a setup link, who is no user.
fn require_user(caller: &Caller) -> Result<(), TenancyError> {
    match caller.setup_link {
        Some(_) => Err(TenancyError::SetupLinkOnly),
        None => Ok(()),
    }
}

/// Refuses the holder of a setup link, and a user who has not proven their address yet.
fn require_proven(caller: &Caller) -> Result<(), TenancyError> {
    require_user(caller)?;
    match caller.email_proven {
        true => Ok(()),
        false => Err(TenancyError::EmailUnproven {
            email: caller.email.clone(),
        }),
    }
}

/// What became of a notice mailed to several members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailReport {
    pub sent: usize,
    pub failed: usize,
}

#[derive(Clone)]
pub struct TenancyService {
    store: Store,
    public_url: Url,
    mailer: Option<Mailer>,
    invitation_lifetime: Duration,
}

impl TenancyService {
    pub fn new(store: Store, public_url: Url, mailer: Option<Mailer>, invitation_lifetime: Duration) -> Self {
        Self {
            store,
            public_url,
            mailer,
            invitation_lifetime,
        }
    }

    /// Every account the caller belongs to, by name: what the account switcher lists.
    pub async fn accounts_of(&self, caller: &Caller) -> Result<Vec<AccountSummary>, TenancyError> {
        require_user(caller)?;
        Ok(self.store.accounts_of_user(caller.user_id).await?)
    }

    /// The caller's role in `account`; any member may ask, even one with No access.
    pub async fn membership(&self, caller: &Caller, account: AccountId) -> Result<AccountSummary, TenancyError> {
        let role = self.role_in(caller, account).await?;
        let name = self
            .store
            .account_name(account)
            .await?
            .ok_or(TenancyError::AccountNotFound)?;
        Ok(AccountSummary {
            id: account,
            name,
            role,
        })
    }

    pub async fn members(&self, caller: &Caller, account: AccountId) -> Result<Vec<Member>, TenancyError> {
        self.require(caller, account, Permission::ViewAccount).await?;
        Ok(self.store.members(account).await?)
    }

    /// One page of the account's members (any member with a role may look).
    pub async fn member_page(
        &self,
        caller: &Caller,
        account: AccountId,
        query: &MemberQuery<'_>,
    ) -> Result<MemberPage, TenancyError> {
        self.require(caller, account, Permission::ViewAccount).await?;
        let search = EmailAddress::fold(query.search.trim());
        let per_page = query.per_page.max(1);
        let mut members = self
            .store
            .members_page(account, &search, query.after, per_page + 1)
            .await?;
        let next_after = (members.len() as u64 > per_page).then(|| {
            members.truncate(per_page as usize);
            members.last().map(|m| m.email.clone()).unwrap_or_default()
        });
        Ok(MemberPage {
            total: self.store.count_members(account, &search).await?,
            members,
            next_after,
        })
    }

    pub async fn pending_invitations(
        &self,
        caller: &Caller,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingInvitation>, TenancyError> {
        self.require(caller, account, Permission::ManageMembers).await?;
        Ok(self
            .store
            .pending_invitations(account)
            .await?
            .into_iter()
            .map(|row| PendingInvitation::from_row(row, now))
            .collect())
    }

    /// Creates a single-use, expiring invitation and mails it when SMTP is configured.
    /// A new invitation to the same address replaces the pending one (its old link stops working).
    pub async fn invite(
        &self,
        caller: &Caller,
        account: AccountId,
        email: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<CreatedInvitation, TenancyError> {
        self.require(caller, account, Permission::ManageMembers).await?;
        let email = EmailAddress::parse(email)?;
        if !role.is_assignable() {
            return Err(TenancyError::OwnerNotAssignable);
        }
        if let Some(user) = self.store.user_by_email(email.key()).await?
            && self.store.role_of(account, user.id).await?.is_some()
        {
            return Err(TenancyError::AlreadyMember(email.to_string()));
        }
        let secret = token::generate();
        let row = InvitationRow {
            id: InvitationId::new(),
            account_id: account,
            email: email.to_string(),
            email_key: Some(email.key().to_owned()),
            role,
            invited_by: caller.user_id,
            created_at: now,
            expires_at: now + self.invitation_lifetime,
            accepted_at: None,
        };
        self.store.replace_invitation(&row, &token::digest(&secret)).await?;
        let link = self.invitation_link(&secret);
        let account_name = self.store.account_name(account).await?.unwrap_or_default();
        let mail = self.mail_invitation(caller, &row, &account_name, &link).await;
        Ok(CreatedInvitation {
            invitation: PendingInvitation::from_row(row, now),
            link,
            mail,
        })
    }

    pub async fn revoke_invitation(
        &self,
        caller: &Caller,
        account: AccountId,
        invitation: InvitationId,
    ) -> Result<(), TenancyError> {
        self.require(caller, account, Permission::ManageMembers).await?;
        if self.store.delete_invitation(account, invitation).await? {
            Ok(())
        } else {
            Err(TenancyError::InvitationNotFound)
        }
    }

    /// What an invitation link offers, for the page the link opens; needs no sign-in.
    pub async fn preview_invitation(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<InvitationPreview, TenancyError> {
        let row = self.usable_invitation(secret, now).await?;
        let account_name = self.store.account_name(row.account_id).await?.unwrap_or_default();
        Ok(InvitationPreview {
            account_name,
            invited_user: self.invited_user(&row).await?,
            email: row.email,
            role: row.role,
        })
    }

    /// Joins the caller to the invitation's account. The caller must be the user the invited address (canonical
    /// form) finds, so a forwarded or leaked link cannot be used by someone else.
    pub async fn accept_invitation(
        &self,
        caller: &Caller,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<AccountId, TenancyError> {
        require_proven(caller)?;
        let row = self.usable_invitation(secret, now).await?;
        if self.invited_user(&row).await? != Some(caller.user_id) {
            return Err(TenancyError::InvitationForAnotherEmail { invited: row.email });
        }
        if self.store.role_of(row.account_id, caller.user_id).await?.is_some() {
            return Err(TenancyError::AlreadyMember(caller.email.clone()));
        }
        match self.store.accept_invitation(&row, caller.user_id, now).await {
            Ok(()) => Ok(row.account_id),
            Err(StoreError::Conflict(_)) => Err(TenancyError::InvitationUsed),
            Err(e) if e.is_unique_violation() => Err(TenancyError::AlreadyMember(caller.email.clone())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn change_role(
        &self,
        caller: &Caller,
        account: AccountId,
        member: UserId,
        role: Role,
    ) -> Result<(), TenancyError> {
        self.require(caller, account, Permission::ManageMembers).await?;
        if member == caller.user_id {
            return Err(TenancyError::OwnRole);
        }
        if !role.is_assignable() {
            return Err(TenancyError::OwnerNotAssignable);
        }
        self.require_non_owner_member(account, member).await?;
        if self.store.set_member_role(account, member, role).await? {
            Ok(())
        } else {
            Err(TenancyError::MemberNotFound)
        }
    }

    pub async fn remove_member(&self, caller: &Caller, account: AccountId, member: UserId) -> Result<(), TenancyError> {
        self.require(caller, account, Permission::ManageMembers).await?;
        self.require_non_owner_member(account, member).await?;
        if self.store.delete_member(account, member).await? {
            Ok(())
        } else {
            Err(TenancyError::MemberNotFound)
        }
    }

    pub async fn rename_account(&self, caller: &Caller, account: AccountId, name: &str) -> Result<(), TenancyError> {
        self.require(caller, account, Permission::ManageAccount).await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_ACCOUNT_NAME || name.chars().any(char::is_control) {
            return Err(TenancyError::InvalidAccountName);
        }
        self.store.rename_account(account, name).await?;
        Ok(())
    }

    /// Hands the Owner role to another member; the previous owner becomes an Admin.
    pub async fn transfer_ownership(
        &self,
        caller: &Caller,
        account: AccountId,
        new_owner: UserId,
    ) -> Result<(), TenancyError> {
        self.require(caller, account, Permission::ManageAccount).await?;
        if new_owner == caller.user_id {
            return Err(TenancyError::OwnRole);
        }
        self.require_non_owner_member(account, new_owner).await?;
        self.store
            .transfer_ownership(account, caller.user_id, new_owner)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => TenancyError::MemberNotFound,
                other => other.into(),
            })
    }

    /// The caller's role in `account`, if the account admits the caller's session: every account access passes
    /// here.
    async fn role_in(&self, caller: &Caller, account: AccountId) -> Result<Role, TenancyError> {
        require_proven(caller)?;
        let role = self
            .store
            .role_of(account, caller.user_id)
            .await?
            .ok_or(TenancyError::AccountNotFound)?;
        // The Owner is never locked out (break-glass), and members from elsewhere answer to their own accounts.
        if role != Role::Owner && caller.sso_account_id == Some(account) {
            self.require_own_sso_session(caller, account).await?;
        }
        Ok(role)
    }

    /// An account that enforces SSO vouches for the members its SSO provisioned only through its own IdPs: a
    /// password session (left from before enforcement, or a password that should not exist) or one opened through
    /// another account's connection does not open it.
    async fn require_own_sso_session(&self, caller: &Caller, account: AccountId) -> Result<(), TenancyError> {
        if !self.store.sso_policy(account).await?.enforces_sso() {
            return Ok(());
        }
        if let SessionOrigin::Sso(connection) = caller.origin
            && self.store.is_connection_of(account, connection).await?
        {
            return Ok(());
        }
        let sign_in_through = match self.store.domain_route(&ascii_email_domain(&caller.email)).await? {
            Some((holder, connection)) if holder == account => connection,
            _ => None,
        };
        Err(TenancyError::SsoSessionRequired {
            account,
            sign_in_through,
        })
    }

    /// What the caller may do in `account`: as its member, or holding a setup link for it.
    pub async fn access(&self, caller: &Caller, account: AccountId) -> Result<Access, TenancyError> {
        match &caller.setup_link {
            Some(grant) if grant.account_id == account => Ok(Access::SetupLink),
            Some(_) => Err(TenancyError::AccountNotFound),
            None => Ok(Access::Member(self.role_in(caller, account).await?)),
        }
    }

    /// The caller's access, if it allows `permission`; checked on the server for every account read or write.
    pub async fn require(
        &self,
        caller: &Caller,
        account: AccountId,
        permission: Permission,
    ) -> Result<Access, TenancyError> {
        let access = self.access(caller, account).await?;
        match access {
            _ if access.allows(permission) => Ok(access),
            Access::Member(role) => Err(TenancyError::Forbidden { role }),
            Access::SetupLink => Err(TenancyError::SetupLinkOnly),
        }
    }

    async fn require_non_owner_member(&self, account: AccountId, member: UserId) -> Result<(), TenancyError> {
        match self.store.role_of(account, member).await? {
            None => Err(TenancyError::MemberNotFound),
            Some(Role::Owner) => Err(TenancyError::OwnerIsFixed),
            Some(_) => Ok(()),
        }
    }

    async fn usable_invitation(&self, secret: &str, now: DateTime<Utc>) -> Result<InvitationRow, TenancyError> {
        let row = self
            .store
            .invitation_by_token_hash(&token::digest(secret.trim()))
            .await?
            .ok_or(TenancyError::InvitationNotFound)?;
        if row.accepted_at.is_some() {
            return Err(TenancyError::InvitationUsed);
        }
        if row.expires_at <= now {
            return Err(TenancyError::InvitationExpired);
        }
        Ok(row)
    }

    async fn invited_user(&self, row: &InvitationRow) -> Result<Option<UserId>, TenancyError> {
        Ok(match &row.email_key {
            Some(key) => self.store.user_by_email(key).await?.map(|user| user.id),
            None => None,
        })
    }

    fn invitation_link(&self, secret: &str) -> String {
        crate::mail::link(&self.public_url, &["invitations", secret])
    }

    /// Mails every member whose role allows `permission` (each separately: one address's failure stops none of
    /// the others). How many were sent and how many failed; nothing is sent without an SMTP relay.
    pub async fn mail_members_allowed(
        &self,
        account: AccountId,
        permission: Permission,
        subject: &str,
        body: &str,
    ) -> Result<MailReport, TenancyError> {
        let Some(mailer) = &self.mailer else {
            return Ok(MailReport::default());
        };
        let roles: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|role| role.allows(permission))
            .map(Role::as_str)
            .collect();
        let mut report = MailReport::default();
        for to in self.store.member_emails_with_roles(account, &roles).await? {
            match mailer.send(&to, subject, body.to_owned()).await {
                Ok(()) => report.sent += 1,
                Err(e) => {
                    tracing::warn!(error = %e, account = %account, "notice mail not sent");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// The address of a page under the public URL, as mail links to it.
    pub fn page_link(&self, segments: &[&str]) -> String {
        crate::mail::link(&self.public_url, segments)
    }

    async fn mail_invitation(
        &self,
        caller: &Caller,
        row: &InvitationRow,
        account_name: &str,
        link: &str,
    ) -> MailOutcome {
        let Some(mailer) = &self.mailer else {
            return MailOutcome::NotConfigured;
        };
        let subject = format!("You are invited to {account_name} on Gatehouse");
        let body = format!(
            "{inviter} invited you to join {account_name} on Gatehouse as {role}.\n\n\
             Accept the invitation here (the link works once, until {expires} UTC):\n{link}\n\n\
             If you did not expect this, you can ignore this message.\n",
            inviter = caller.email,
            role = row.role.label(),
            expires = row.expires_at.format("%Y-%m-%d %H:%M"),
        );
        match mailer.send(&row.email, &subject, body).await {
            Ok(()) => MailOutcome::Sent,
            Err(e) => {
                tracing::warn!(error = %e, invitation = %row.id, "invitation mail not sent");
                MailOutcome::Failed(e.to_string())
            }
        }
    }
}
