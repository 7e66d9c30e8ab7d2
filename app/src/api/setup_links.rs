//! Setup links: the Owner creates, lists and revokes them; whoever holds one opens it, starts the set-up and says
//! when it is done.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The lifetimes the create form offers, in days, with the default first.
pub const LIFETIME_CHOICES: [(i64, &str); 3] = [(7, "7 days"), (1, "1 day"), (30, "30 days")];

/// One link as the Owner's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkView {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created: String,
    pub expires: String,
    pub last_used: Option<String>,
    pub finished: Option<String>,
    /// `usable`, `expired` or `revoked`.
    pub status: String,
}

/// A new link, with its address shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkCreated {
    pub link: SetupLinkView,
    pub url: String,
}

/// What the page a link opens shows before the set-up starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkOffer {
    pub account_name: String,
    pub link_name: String,
    pub owner_email: String,
    pub expires: String,
}

/// The set-up the holder of a link works on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupProgressView {
    pub account_id: String,
    pub account_name: String,
    pub link_name: String,
    pub owner_email: String,
    pub expires: String,
    pub finished: Option<String>,
}

#[cfg(feature = "ssr")]
fn link_view(link: gatehouse_core::setup_link::SetupLink) -> SetupLinkView {
    use crate::api::context::date;
    use gatehouse_core::setup_link::LinkStatus;
    SetupLinkView {
        id: link.id.to_string(),
        name: link.name,
        created_by: link.created_by_email,
        created: date(link.created_at),
        expires: date(link.expires_at),
        last_used: link.last_used_at.map(date),
        finished: link.finished_at.map(date),
        status: match link.status {
            LinkStatus::Usable => "usable",
            LinkStatus::Expired => "expired",
            LinkStatus::Revoked => "revoked",
        }
        .into(),
    }
}

/// The account's setup links, newest first (Owner only).
#[server(prefix = "/api", endpoint = "setup-links/list")]
pub async fn list_setup_links(account_id: String) -> Result<Vec<SetupLinkView>, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let links = services()?.setup_links.list(&caller, account, now()).await?;
    Ok(links.into_iter().map(link_view).collect())
}

/// Creates a setup link (Owner only) and answers its address, which is shown this once.
#[server(prefix = "/api", endpoint = "setup-links/create")]
pub async fn create_setup_link(
    account_id: String,
    name: String,
    lifetime_days: i64,
) -> Result<SetupLinkCreated, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let created = services()?
        .setup_links
        .create(&caller, account, &name, lifetime_days, now())
        .await?;
    Ok(SetupLinkCreated {
        link: link_view(created.link),
        url: created.url,
    })
}

/// Revokes a setup link (Owner only); whoever holds it is signed out at once.
#[server(prefix = "/api", endpoint = "setup-links/revoke")]
pub async fn revoke_setup_link(account_id: String, link_id: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = link_id.parse().map_err(|_| {
        respond(AppError::NotFound(
            gatehouse_core::setup_link::SetupLinkError::NotFound.to_string(),
        ))
    })?;
    Ok(services()?.setup_links.revoke(&caller, account, id, now()).await?)
}

/// What a setup link offers; needs no sign-in and changes nothing.
#[server(prefix = "/api", endpoint = "setup/details")]
pub async fn setup_link_details(token: String) -> Result<SetupLinkOffer, AppError> {
    use crate::api::context::*;
    let preview = services()?.setup_links.preview(&token, now()).await?;
    Ok(SetupLinkOffer {
        account_name: preview.account_name,
        link_name: preview.link_name,
        owner_email: preview.owner_email,
        expires: date(preview.expires_at),
    })
}

/// Exchanges a setup link for a session of the link (in place of any session this browser had); answers the
/// set-up page.
#[server(prefix = "/api", endpoint = "setup/start")]
pub async fn start_setup(token: String) -> Result<String, AppError> {
    use crate::api::context::*;
    let session = services()?.setup_links.start(&token, now()).await?;
    set_session_cookie(&session.token, session.expires_at)?;
    Ok(SETUP_PATH.into())
}

/// The set-up the signed-in setup link is for.
#[server(prefix = "/api", endpoint = "setup/progress")]
pub async fn setup_progress() -> Result<SetupProgressView, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let progress = services()?.setup_links.progress(&caller).await?;
    Ok(SetupProgressView {
        account_id: progress.account_id.to_string(),
        account_name: progress.account_name,
        link_name: progress.link_name,
        owner_email: progress.owner_email,
        expires: date(progress.expires_at),
        finished: progress.finished_at.map(date),
    })
}

/// The holder of a setup link says the set-up is done; the Owner is told (once). Answers what happened, in words.
#[server(prefix = "/api", endpoint = "setup/finish")]
pub async fn finish_setup() -> Result<String, AppError> {
    use crate::api::context::*;
    use gatehouse_core::mail::MailOutcome;
    let caller = caller().await?;
    let owner = caller
        .setup_link
        .as_ref()
        .map(|grant| grant.created_by_email.clone())
        .unwrap_or_default();
    Ok(match services()?.setup_links.finish(&caller, now()).await? {
        None => format!("{owner} was already told that the set-up is done."),
        Some(MailOutcome::Sent) => format!("Thank you. {owner} was told by email that the set-up is done."),
        Some(MailOutcome::NotConfigured | MailOutcome::Failed(_)) => {
            format!("Thank you. {owner} sees that the set-up is done in the account's audit log; tell them too.")
        }
    })
}

/// Where the holder of a setup link works.
pub const SETUP_PATH: &str = "/setup";
