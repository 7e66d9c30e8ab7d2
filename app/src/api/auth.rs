//! Sign-up, sign-in, sign-out and who is signed in.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An account the signed-in user belongs to, for the account switcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChoice {
    pub id: String,
    pub name: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    /// Whether the user followed the link that proves their address; until then only that page is open to them.
    pub email_proven: bool,
    pub accounts: Vec<AccountChoice>,
    /// The name of the setup link this browser holds, instead of a user: then `email` is empty, `accounts` too,
    /// and only the set-up page opens.
    pub setup_link: Option<String>,
}

impl SessionInfo {
    /// Where a signed-in user lands: their first account, once their address is proven; the holder of a setup
    /// link lands on the set-up.
    pub fn home(&self) -> String {
        if self.setup_link.is_some() {
            return super::setup_links::SETUP_PATH.into();
        }
        if !self.email_proven {
            return CONFIRM_EMAIL_PATH.into();
        }
        self.accounts
            .first()
            .map(|a| format!("/accounts/{}", a.id))
            .unwrap_or_else(|| "/no-account".into())
    }
}

/// The page that asks a signed-in user to follow the link sent to their address.
pub const CONFIRM_EMAIL_PATH: &str = "/confirm-email";

/// The confirm-email page, going on to `next` once the address is proven.
pub fn confirm_email_path(next: &str) -> String {
    format!("{CONFIRM_EMAIL_PATH}?next={}", crate::pages::encode(next))
}

/// Creates a user with a personal account they own, signs them in, sends the link that proves the address, and
/// answers the page that asks for it.
#[server(prefix = "/api", endpoint = "auth/sign-up")]
pub async fn sign_up(email: String, password: String, next: Option<String>) -> Result<String, AppError> {
    use super::context::*;
    let services = services()?;
    let next = safe_return_path(next.as_deref());
    let return_to = (next != "/").then_some(next.as_str());
    let signed_up = services.auth.sign_up(&email, &password, return_to, now()).await?;
    set_session_cookie(&signed_up.session.token, signed_up.session.expires_at)?;
    Ok(confirm_email_path(&signed_up.return_to))
}

/// Where the signed-in user stands with the proof of their address; `None` when nobody is signed in.
#[server(prefix = "/api", endpoint = "auth/email-proof")]
pub async fn email_proof_status() -> Result<Option<EmailProofView>, AppError> {
    use super::context::*;
    use gatehouse_core::auth::ProofDelivery;
    let Some(caller) = signed_in_caller().await? else {
        return Ok(None);
    };
    let status = services()?.auth.email_proof_status(&caller).await?;
    Ok(Some(EmailProofView {
        email: status.email,
        proven: status.proven,
        sent_at: status.sent_at.map(date),
        links: match status.delivery {
            ProofDelivery::Mail => ProofLinks::Mailed,
            ProofDelivery::ServerLog => ProofLinks::Logged,
            ProofDelivery::Nowhere => ProofLinks::NotSent,
        },
    }))
}

/// What a user waiting for a proof link reads when the server has no SMTP relay and is not in development.
pub const NO_RELAY: &str = "This server sends no mail (no SMTP relay is configured), so no link can reach you. Ask \
                            whoever runs the server to configure one.";

/// Where proof links go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProofLinks {
    Mailed,
    /// To the server log: no SMTP relay is configured, in development.
    Logged,
    /// Nowhere: no SMTP relay is configured on a deployment.
    NotSent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailProofView {
    pub email: String,
    pub proven: bool,
    pub sent_at: Option<String>,
    pub links: ProofLinks,
}

/// Sends the signed-in user a new link in place of the last one; answers what happened, to show.
#[server(prefix = "/api", endpoint = "auth/resend-email-proof")]
pub async fn resend_email_proof() -> Result<String, AppError> {
    use super::context::*;
    use gatehouse_core::auth::ProofDelivery;
    use gatehouse_core::mail::MailOutcome;
    let caller = caller().await?;
    Ok(match services()?.auth.resend_email_proof(&caller, now()).await? {
        MailOutcome::Sent => format!("A new link is on its way to {}.", caller.email),
        MailOutcome::NotConfigured => match services()?.auth.proof_delivery() {
            ProofDelivery::ServerLog => "A new link was written to the server log (this server sends no mail).".into(),
            ProofDelivery::Mail | ProofDelivery::Nowhere => {
                return Err(respond(AppError::Conflict(NO_RELAY.into())));
            }
        },
        MailOutcome::Failed(_) => {
            return Err(respond(AppError::Conflict(
                "The mail could not be sent. Try again in a minute; if it keeps failing, tell the server's operator."
                    .into(),
            )));
        }
    })
}

/// The address a proof link is for, for the page it opens.
#[server(prefix = "/api", endpoint = "auth/email-proof-preview")]
pub async fn email_proof_preview(token: String) -> Result<String, AppError> {
    use super::context::*;
    Ok(services()?.auth.preview_email_proof(&token, now()).await?)
}

/// Follows a proof link; answers where to go: on to where the user was going when this browser holds their
/// session, else to sign-in.
#[server(prefix = "/api", endpoint = "auth/confirm-email")]
pub async fn confirm_email(token: String) -> Result<String, AppError> {
    use super::context::*;
    let services = services()?;
    let proven = services.auth.prove_email(&token, now()).await?;
    let next = safe_return_path(proven.return_to.as_deref());
    let signed_in_here = signed_in_caller()
        .await?
        .is_some_and(|caller| caller.user_id == proven.user_id);
    Ok(match signed_in_here {
        true => next,
        false => format!("/sign-in?confirmed=1&next={}", crate::pages::encode(&next)),
    })
}

/// Checks email and password, starts a session, and answers the path to go to. Without a password, the email's
/// domain decides: when it signs in through an identity provider, the answer is the path that starts SSO.
#[server(prefix = "/api", endpoint = "auth/sign-in")]
pub async fn sign_in(
    email: String,
    #[server(default)] password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use super::context::*;
    let services = services()?;
    if password.is_empty() {
        let domain = gatehouse_core::auth::EmailAddress::parse(&email)
            .map_err(|e| respond(AppError::invalid("email", e)))?
            .domain()
            .to_owned();
        let connection = services.sso.connection_for_domain(&domain).await.map_err(internal)?;
        return match connection {
            Some(_) => {
                let encode = crate::pages::encode;
                let mut start = format!("/sso/start?saml_domain={}", encode(&domain));
                // Without a page to return to, the ACS lands the user in the account whose IdP they came through.
                if let Some(next) = next.as_deref().filter(|n| !n.trim().is_empty()) {
                    start.push_str(&format!("&return_to={}", encode(&safe_return_path(Some(next)))));
                }
                Ok(start)
            }
            None => Err(respond(AppError::invalid(
                "password",
                "Enter your password. Single sign-on is not set up for this email address.",
            ))),
        };
    }
    let session = services
        .auth
        .sign_in(&email, &password, client_ip().await, now())
        .await?;
    set_session_cookie(&session.token, session.expires_at)?;
    let next = safe_return_path(next.as_deref());
    // A user who never proved their address was just sent a link: that page comes first.
    let proven = services.auth.authenticate(&session.token, now()).await?.email_proven;
    Ok(if proven { next } else { confirm_email_path(&next) })
}

/// Ends the session (its row is deleted) and clears the cookie; answers the page to open next: the sign-in
/// page, or, for a session SSO opened through an IdP with single logout, the way on to sign out there too.
#[server(prefix = "/api", endpoint = "auth/sign-out")]
pub async fn sign_out() -> Result<String, AppError> {
    use super::context::*;
    use gatehouse_core::sso::single_logout::{LogoutError, SignedOut};
    let mut next = "/sign-in".to_owned();
    if let Some(token) = session_token() {
        match services()?.sso.sign_out(&token, now()).await {
            Ok(SignedOut::Here) => {}
            Ok(SignedOut::AtIdp { connection, request_id }) => {
                next = format!("/saml/{connection}/logout?request={request_id}")
            }
            Err(LogoutError::Auth(e)) => return Err(e.into()),
            Err(e) => return Err(internal(e)),
        }
    }
    clear_session_cookie()?;
    Ok(next)
}

/// The signed-in user and their accounts, or `None` when nobody is signed in.
#[server(prefix = "/api", endpoint = "auth/session")]
pub async fn current_session() -> Result<Option<SessionInfo>, AppError> {
    use super::context::*;
    let Some(caller) = signed_in_caller().await? else {
        return Ok(None);
    };
    if let Some(grant) = caller.setup_link {
        // No user, so no address to prove: the pages' own checks refuse it everything but the set-up.
        return Ok(Some(SessionInfo {
            email: String::new(),
            email_proven: true,
            accounts: Vec::new(),
            setup_link: Some(grant.name),
        }));
    }
    let accounts = services()?.tenancy.accounts_of(&caller).await?;
    Ok(Some(SessionInfo {
        setup_link: None,
        email: caller.email,
        email_proven: caller.email_proven,
        accounts: accounts
            .into_iter()
            .map(|a| AccountChoice {
                id: a.id.to_string(),
                name: a.name,
                role: a.role.label().into(),
            })
            .collect(),
    }))
}
