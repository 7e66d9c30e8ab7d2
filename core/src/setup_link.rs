//! Setup links: the Owner lets someone without a Gatehouse account (their IT admin) do one account's SSO set-up
//! (domains, identity providers, Test SSO) and nothing else, until the link expires or the Owner revokes it.
//!
//! The link's secret is shown once and stored as a digest. Opening the link asks for a press of a button, whose
//! POST exchanges the secret for a session of the link's own: its holder is no user and never acts as the Owner.
//! `TenancyService::require` lets the holder pass for `SETUP_PERMISSIONS` in the link's account only, every user-level
//! operation refuses them, and their changes are audited as made "via setup link <name> created by <Owner>".

use crate::audit;
use crate::auth::Caller;
use crate::ids::{AccountId, SetupLinkId, UserId};
use crate::mail::{self, MailOutcome, Mailer};
use crate::store::{SetupLinkRow, Store, StoreError};
use crate::tenancy::{Permission, Role, TenancyError, TenancyService};
use crate::token;
use chrono::{DateTime, Duration, Utc};
use url::Url;

/// What the holder of a setup link may do in its account: read the set-up (domains and identity providers), add and
/// verify domains, connect or replace an identity provider and run Test SSO. Not `ViewAccount` (members, settings),
/// nor the sign-in policy, members, the account itself or the audit log.
pub const SETUP_PERMISSIONS: [Permission; 3] = [
    Permission::ViewSsoSetup,
    Permission::ManageDomains,
    Permission::ManageTrust,
];

/// How long a link may be made to work, in days; the form offers these.
pub const LIFETIME_DAYS: [i64; 3] = [1, 7, 30];
/// A session the link opens ends after this long, or with the link if that is sooner; the link opens another.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
pub const MAX_NAME: usize = 80;

/// The holder of a setup link, as a `Caller` carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLinkGrant {
    pub link_id: SetupLinkId,
    pub account_id: AccountId,
    pub name: String,
    /// The Owner who created the link, and vouches for what is done with it.
    pub created_by: UserId,
    pub created_by_email: String,
}

impl SetupLinkGrant {
    pub fn allows(&self, permission: Permission) -> bool {
        SETUP_PERMISSIONS.contains(&permission)
    }

    /// Who made a change through the link, as the audit log names them.
    pub fn actor(&self) -> String {
        format!("via setup link {} created by {}", self.name, self.created_by_email)
    }

    fn of(link: &SetupLinkRow) -> Self {
        Self {
            link_id: link.id,
            account_id: link.account_id,
            name: link.name.clone(),
            created_by: link.created_by,
            created_by_email: link.created_by_email.clone(),
        }
    }
}

/// A link as the Owner's list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLink {
    pub id: SetupLinkId,
    pub name: String,
    pub created_by_email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: LinkStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Usable,
    Expired,
    Revoked,
}

impl SetupLink {
    fn of(row: SetupLinkRow, now: DateTime<Utc>) -> Self {
        Self {
            status: status(&row, now),
            id: row.id,
            name: row.name,
            created_by_email: row.created_by_email,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            finished_at: row.finished_at,
        }
    }
}

fn status(row: &SetupLinkRow, now: DateTime<Utc>) -> LinkStatus {
    match (row.revoked_at, row.expires_at <= now) {
        (Some(_), _) => LinkStatus::Revoked,
        (None, true) => LinkStatus::Expired,
        (None, false) => LinkStatus::Usable,
    }
}

/// A new link: `url` carries its secret and is shown to the Owner this once.
#[derive(Clone, Debug)]
pub struct CreatedSetupLink {
    pub link: SetupLink,
    pub url: String,
}

/// What the page a link opens says before anything is done: whose set-up, from whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLinkPreview {
    pub account_name: String,
    pub link_name: String,
    pub owner_email: String,
    pub expires_at: DateTime<Utc>,
}

/// A session opened with a link: the token goes into the cookie, never into the database.
#[derive(Clone, Debug)]
pub struct SetupSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Where the holder of a link stands, for their page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupProgress {
    pub account_id: AccountId,
    pub account_name: String,
    pub link_name: String,
    pub owner_email: String,
    pub expires_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupLinkError {
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("Enter a name of 1 to {MAX_NAME} characters, for example the person or company it is for.")]
    InvalidName,
    #[error("Choose how long the link works: 1, 7 or 30 days.")]
    InvalidLifetime,
    /// Also the answer for a link whose creator is no longer the account's Owner: they no longer vouch for it.
    #[error("This setup link is not valid. Ask the account's Owner for a new one.")]
    NotFound,
    #[error("This setup link has expired. Ask the account's Owner for a new one.")]
    Expired,
    #[error("This setup link was revoked. Ask the account's Owner for a new one.")]
    Revoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct SetupLinkService {
    store: Store,
    tenancy: TenancyService,
    public_url: Url,
    mailer: Option<Mailer>,
}

impl SetupLinkService {
    pub fn new(store: Store, tenancy: TenancyService, public_url: Url, mailer: Option<Mailer>) -> Self {
        Self {
            store,
            tenancy,
            public_url,
            mailer,
        }
    }

    /// Creates a link for `lifetime_days` (one of `LIFETIME_DAYS`); the Owner's alone, since it hands out the
    /// Owner's power to widen trust.
    pub async fn create(
        &self,
        caller: &Caller,
        account: AccountId,
        name: &str,
        lifetime_days: i64,
        now: DateTime<Utc>,
    ) -> Result<CreatedSetupLink, SetupLinkError> {
        self.tenancy
            .require(caller, account, Permission::ManageSetupLinks)
            .await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(SetupLinkError::InvalidName);
        }
        if !LIFETIME_DAYS.contains(&lifetime_days) {
            return Err(SetupLinkError::InvalidLifetime);
        }
        let secret = token::generate();
        let row = SetupLinkRow {
            id: SetupLinkId::new(),
            account_id: account,
            name: name.to_owned(),
            created_by: caller.user_id,
            created_by_email: caller.email.clone(),
            created_at: now,
            expires_at: now + Duration::days(lifetime_days),
            revoked_at: None,
            last_used_at: None,
            finished_at: None,
        };
        let entry = audit::entry(
            account,
            caller,
            now,
            "Setup link created",
            format!("{name}, works until {}", when(row.expires_at)),
        );
        self.store
            .insert_setup_link(&row, &token::digest(&secret), &entry)
            .await?;
        Ok(CreatedSetupLink {
            link: SetupLink::of(row, now),
            url: mail::link(&self.public_url, &["setup", &secret]),
        })
    }

    /// The account's links, newest first (the Owner's).
    pub async fn list(
        &self,
        caller: &Caller,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<SetupLink>, SetupLinkError> {
        self.tenancy
            .require(caller, account, Permission::ManageSetupLinks)
            .await?;
        Ok(self
            .store
            .setup_links(account)
            .await?
            .into_iter()
            .map(|row| SetupLink::of(row, now))
            .collect())
    }

    /// Revokes a link (the Owner's); the sessions it opened end at once.
    pub async fn revoke(
        &self,
        caller: &Caller,
        account: AccountId,
        id: SetupLinkId,
        now: DateTime<Utc>,
    ) -> Result<(), SetupLinkError> {
        self.tenancy
            .require(caller, account, Permission::ManageSetupLinks)
            .await?;
        let name = self
            .store
            .setup_links(account)
            .await?
            .into_iter()
            .find(|link| link.id == id)
            .ok_or(SetupLinkError::NotFound)?
            .name;
        let entry = audit::entry(account, caller, now, "Setup link revoked", name);
        match self.store.revoke_setup_link(account, id, &entry, now).await? {
            true => Ok(()),
            false => Err(SetupLinkError::Revoked),
        }
    }

    /// What a link offers, for the page it opens; needs no sign-in and changes nothing (mail scanners open links).
    pub async fn preview(&self, secret: &str, now: DateTime<Utc>) -> Result<SetupLinkPreview, SetupLinkError> {
        let link = self.usable(secret, now).await?;
        Ok(SetupLinkPreview {
            account_name: self.store.account_name(link.account_id).await?.unwrap_or_default(),
            link_name: link.name,
            owner_email: link.created_by_email,
            expires_at: link.expires_at,
        })
    }

    /// Exchanges a link's secret for a session of the link (a POST: the person pressed "Start set-up").
    pub async fn start(&self, secret: &str, now: DateTime<Utc>) -> Result<SetupSession, SetupLinkError> {
        let link = self.usable(secret, now).await?;
        let token = token::generate();
        let expires_at = (now + SESSION_LIFETIME).min(link.expires_at);
        let grant = SetupLinkGrant::of(&link);
        let entry = audit::system_entry(link.account_id, now, &grant.actor(), "Setup link opened", link.name);
        self.store
            .insert_setup_link_session(grant.link_id, &token::digest(&token), expires_at, &entry, now)
            .await?;
        Ok(SetupSession { token, expires_at })
    }

    /// The set-up the caller's link is for (only the holder of a link asks).
    pub async fn progress(&self, caller: &Caller) -> Result<SetupProgress, SetupLinkError> {
        let grant = holder(caller)?;
        let link = self.link_of(grant).await?;
        Ok(SetupProgress {
            account_id: link.account_id,
            account_name: self.store.account_name(link.account_id).await?.unwrap_or_default(),
            link_name: link.name,
            owner_email: link.created_by_email,
            expires_at: link.expires_at,
            finished_at: link.finished_at,
        })
    }

    /// The holder says the set-up is done: the first time, an audit entry, and mail to the Owner who created the
    /// link when SMTP is configured. Answers the mail's fate, or `None` when the link had finished already.
    pub async fn finish(&self, caller: &Caller, now: DateTime<Utc>) -> Result<Option<MailOutcome>, SetupLinkError> {
        let grant = holder(caller)?;
        let link = self.link_of(grant).await?;
        let account_name = self.store.account_name(link.account_id).await?.unwrap_or_default();
        let entry = audit::entry(link.account_id, caller, now, "SSO set-up finished", link.name.clone());
        if !self.store.finish_setup_link(link.id, &entry, now).await? {
            return Ok(None);
        }
        Ok(Some(self.mail_owner(&link, &account_name).await))
    }

    async fn mail_owner(&self, link: &SetupLinkRow, account_name: &str) -> MailOutcome {
        let Some(mailer) = &self.mailer else {
            return MailOutcome::NotConfigured;
        };
        let review = mail::link(&self.public_url, &["accounts", &link.account_id.to_string(), "sso"]);
        let subject = format!("SSO set-up of {account_name} is done");
        let body = format!(
            "The person you gave the setup link \"{name}\" says the single sign-on set-up of {account_name} on \
             Gatehouse is done.\n\n\
             Review the domains, the identity provider and the audit log, run Test SSO yourself, and turn single \
             sign-on on when you are ready:\n{review}\n\n\
             The link keeps working until {expires} UTC; revoke it there if it is no longer needed.\n",
            name = link.name,
            expires = link.expires_at.format("%Y-%m-%d %H:%M"),
        );
        match mailer.send(&link.created_by_email, &subject, body).await {
            Ok(()) => MailOutcome::Sent,
            Err(e) => {
                tracing::warn!(error = %e, link = %link.id, "setup finished mail not sent");
                MailOutcome::Failed(e.to_string())
            }
        }
    }

    async fn link_of(&self, grant: &SetupLinkGrant) -> Result<SetupLinkRow, SetupLinkError> {
        self.store
            .setup_links(grant.account_id)
            .await?
            .into_iter()
            .find(|link| link.id == grant.link_id)
            .ok_or(SetupLinkError::NotFound)
    }

    async fn usable(&self, secret: &str, now: DateTime<Utc>) -> Result<SetupLinkRow, SetupLinkError> {
        let link = self
            .store
            .setup_link_by_token_hash(&token::digest(secret.trim()))
            .await?
            .ok_or(SetupLinkError::NotFound)?;
        match status(&link, now) {
            LinkStatus::Revoked => return Err(SetupLinkError::Revoked),
            LinkStatus::Expired => return Err(SetupLinkError::Expired),
            LinkStatus::Usable => {}
        }
        if !vouched_for(&self.store, &link).await? {
            return Err(SetupLinkError::NotFound);
        }
        Ok(link)
    }
}

/// The link behind the caller, or the refusal a user gets.
fn holder(caller: &Caller) -> Result<&SetupLinkGrant, SetupLinkError> {
    caller
        .setup_link
        .as_ref()
        .ok_or(SetupLinkError::Tenancy(TenancyError::AccountNotFound))
}

/// Whether the link's creator is still the account's Owner: a link works only while they are.
async fn vouched_for(store: &Store, link: &SetupLinkRow) -> Result<bool, StoreError> {
    Ok(store.role_of(link.account_id, link.created_by).await? == Some(Role::Owner))
}

/// The holder of the session `session_token_hash`, if the session, its link and the Owner behind it still hold;
/// a session that no longer holds is deleted.
pub(crate) async fn session_holder(
    store: &Store,
    session_token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SetupLinkGrant>, StoreError> {
    let Some(session) = store.setup_link_session(session_token_hash).await? else {
        return Ok(None);
    };
    let link = &session.link;
    if now >= session.expires_at || status(link, now) != LinkStatus::Usable || !vouched_for(store, link).await? {
        store.delete_setup_link_session(session_token_hash).await?;
        return Ok(None);
    }
    if link
        .last_used_at
        .is_none_or(|used| now - used >= crate::auth::TOUCH_INTERVAL)
    {
        store.touch_setup_link(link.id, now).await?;
    }
    Ok(Some(SetupLinkGrant::of(link)))
}

/// A moment as audit details and mail show it.
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
