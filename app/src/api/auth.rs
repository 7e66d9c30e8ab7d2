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
    pub accounts: Vec<AccountChoice>,
}

impl SessionInfo {
    /// Where a signed-in user lands: their first account.
    pub fn home(&self) -> String {
        self.accounts
            .first()
            .map(|a| format!("/accounts/{}", a.id))
            .unwrap_or_else(|| "/no-account".into())
    }
}

/// Creates a user with a personal account they own, signs them in, and answers the path to go to.
#[server(prefix = "/api", endpoint = "auth/sign-up")]
pub async fn sign_up(email: String, password: String, next: Option<String>) -> Result<String, AppError> {
    use super::context::*;
    let services = services()?;
    let signed_up = services.auth.sign_up(&email, &password, now()).await?;
    set_session_cookie(&signed_up.session.token, signed_up.session.expires_at)?;
    let fallback = format!("/accounts/{}", signed_up.account_id);
    Ok(match safe_return_path(next.as_deref()) {
        p if p == "/" => fallback,
        p => p,
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
    Ok(safe_return_path(next.as_deref()))
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
    let caller = match caller().await {
        Ok(caller) => caller,
        Err(AppError::NotSignedIn) => return Ok(None),
        Err(e) => return Err(e),
    };
    let accounts = services()?.tenancy.accounts_of(&caller).await?;
    Ok(Some(SessionInfo {
        email: caller.email,
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
