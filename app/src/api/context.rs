//! Server-side glue for server functions: the services in their context, the signed-in caller, the session
//! cookie they set, error mapping.

use crate::error::{AppError, Choice};
use axum::extract::ConnectInfo;
use chrono::{DateTime, Utc};
use gatehouse_core::audit::AuditError;
use gatehouse_core::auth::AuthError;
use gatehouse_core::setup_link::SetupLinkError;
use gatehouse_core::sso::{ConnectionError, IdpChoice, PolicyError};
use gatehouse_core::tenancy::TenancyError;
use gatehouse_core::{AccountId, Caller, DomainError, UserId};
use gatehouse_web::Services;
use gatehouse_web::client_address;
use gatehouse_web::cookies::{SESSION_COOKIE, cookie_value, session_cookie};
use http::header::{ACCEPT, SET_COOKIE};
use http::{HeaderValue, StatusCode, request::Parts};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

pub fn services() -> Result<Arc<Services>, AppError> {
    use_context::<Arc<Services>>().ok_or_else(|| internal("services are not in the request context"))
}

fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| internal("request parts are not in the request context"))
}

/// The session token carried by the request's cookie, if any.
pub fn session_token() -> Option<String> {
    cookie_value(&use_context::<Parts>()?.headers, SESSION_COOKIE)
}

/// The signed-in caller, or `NotSignedIn`.
pub async fn caller() -> Result<Caller, AppError> {
    let token = session_token().ok_or_else(|| respond(AppError::NotSignedIn))?;
    Ok(services()?.auth.authenticate(&token, now()).await?)
}

/// The signed-in caller, or `None`: for answers that differ for a visitor, to whom being signed out is no error.
pub async fn signed_in_caller() -> Result<Option<Caller>, AppError> {
    let Some(token) = session_token() else {
        return Ok(None);
    };
    match services()?.auth.authenticate(&token, now()).await {
        Ok(caller) => Ok(Some(caller)),
        Err(AuthError::NotSignedIn) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A moment as pages show it.
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The client's address, for the brute-force guard.
pub async fn client_ip() -> Option<IpAddr> {
    let services = services().ok()?;
    let parts = use_context::<Parts>()?;
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip());
    client_address(services.trust_forwarded_for, &parts.headers, peer)
}

pub fn set_session_cookie(token: &str, expires_at: DateTime<Utc>) -> Result<(), AppError> {
    write_cookie(session_cookie(token, expires_at, services()?.secure_cookies))
}

pub fn clear_session_cookie() -> Result<(), AppError> {
    write_cookie(session_cookie("", now(), services()?.secure_cookies))
}

fn write_cookie(cookie: String) -> Result<(), AppError> {
    let value = HeaderValue::from_str(&cookie).map_err(|e| internal(format!("cookie header: {e}")))?;
    expect_context::<ResponseOptions>().append_header(SET_COOKIE, value);
    Ok(())
}

pub fn parse_account_id(text: &str) -> Result<AccountId, AppError> {
    AccountId::from_str(text).map_err(|_| {
        respond(AppError::NotFound(
            "This account does not exist or you are not a member of it.".into(),
        ))
    })
}

pub fn parse_user_id(text: &str) -> Result<UserId, AppError> {
    UserId::from_str(text).map_err(|_| {
        respond(AppError::NotFound(
            "That person is not a member of this account.".into(),
        ))
    })
}

pub use gatehouse_core::auth::return_path::safe_return_path;

/// Logs an unexpected failure with a fresh reference and returns only the reference to the client.
pub fn internal(detail: impl std::fmt::Display) -> AppError {
    let reference = gatehouse_core::ids::new_reference();
    let path = use_context::<Parts>()
        .map(|p| p.uri.path().to_owned())
        .unwrap_or_default();
    tracing::error!(%reference, %path, error = %detail, "internal error");
    AppError::Internal { reference }
}

/// Sets the HTTP status that an API client sees for `error`. Plain HTML form posts keep the
/// redirect back to their page instead, which a status code would break.
pub fn respond(error: AppError) -> AppError {
    let wants_html = request_parts()
        .ok()
        .and_then(|p| {
            p.headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    if !wants_html && let Some(options) = use_context::<ResponseOptions>() {
        options.set_status(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    }
    error
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        let mapped = match error {
            AuthError::InvalidEmail(e) => AppError::invalid("email", e),
            AuthError::WeakPassword(e) => AppError::invalid("password", e),
            AuthError::EmailTaken => AppError::invalid("email", AuthError::EmailTaken),
            e @ AuthError::DomainClaimed { .. } => AppError::invalid("email", e),
            AuthError::InvalidCredentials => AppError::invalid("password", AuthError::InvalidCredentials),
            e @ AuthError::Throttled { .. } => AppError::TooManyAttempts(e.to_string()),
            AuthError::NotSignedIn => AppError::NotSignedIn,
            e @ AuthError::ProofNotFound => AppError::NotFound(e.to_string()),
            e @ (AuthError::ProofExpired | AuthError::EmailAlreadyProven) => AppError::Conflict(e.to_string()),
            e @ AuthError::ProofRecentlySent { .. } => AppError::TooManyAttempts(e.to_string()),
            AuthError::SsoRequired => AppError::invalid("password", AuthError::SsoRequired),
            e @ AuthError::SetupLinkOnly => AppError::Forbidden(e.to_string()),
            AuthError::Store(e) => internal(e),
        };
        respond(mapped)
    }
}

impl From<TenancyError> for AppError {
    fn from(error: TenancyError) -> Self {
        let message = error.to_string();
        let mapped = match error {
            TenancyError::AccountNotFound | TenancyError::MemberNotFound | TenancyError::InvitationNotFound => {
                AppError::NotFound(message)
            }
            TenancyError::Forbidden { .. }
            | TenancyError::InvitationForAnotherEmail { .. }
            | TenancyError::EmailUnproven { .. }
            | TenancyError::SetupLinkOnly => AppError::Forbidden(message),
            TenancyError::InvalidEmail(_) | TenancyError::AlreadyMember(_) => AppError::invalid("email", message),
            TenancyError::OwnerNotAssignable => AppError::invalid("role", message),
            TenancyError::InvalidAccountName => AppError::invalid("name", message),
            TenancyError::OwnerIsFixed | TenancyError::OwnRole => AppError::Conflict(message),
            TenancyError::InvitationExpired | TenancyError::InvitationUsed => AppError::Conflict(message),
            TenancyError::SsoSessionRequired {
                account,
                sign_in_through,
            } => AppError::SsoRequired {
                message,
                sign_in: sign_in_through.map(|connection| {
                    let back = crate::pages::encode(&format!("/accounts/{account}"));
                    format!("/saml/{connection}/login?return_to={back}")
                }),
            },
            TenancyError::Store(e) => internal(e),
        };
        respond(mapped)
    }
}

impl From<DomainError> for AppError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        let mapped = match error {
            DomainError::Tenancy(e) => return e.into(),
            DomainError::InvalidName(_) | DomainError::AlreadyAdded(_) => AppError::invalid("domain", message),
            DomainError::TooMany => AppError::Conflict(message),
            DomainError::NotFound => AppError::NotFound(message),
            DomainError::ConnectionNotFound => AppError::invalid("connection_id", message),
            DomainError::Store(e) => internal(e),
        };
        respond(mapped)
    }
}

impl From<ConnectionError> for AppError {
    fn from(error: ConnectionError) -> Self {
        let message = error.to_string();
        let mapped = match error {
            ConnectionError::Tenancy(e) => return e.into(),
            ConnectionError::Metadata(_) => AppError::invalid("metadata", message),
            ConnectionError::ChooseIdp(choices) => AppError::Choose {
                field: "entity_id".into(),
                message,
                choices: choices.into_iter().map(idp_choice).collect(),
            },
            ConnectionError::UnknownIdp(_) | ConnectionError::InvalidEntityId => {
                AppError::invalid("entity_id", message)
            }
            ConnectionError::Certificate(_) => AppError::invalid("certificate", message),
            ConnectionError::InvalidSsoUrl => AppError::invalid("sso_url", message),
            ConnectionError::InvalidSloUrl => AppError::invalid("slo_url", message),
            ConnectionError::InvalidLabel => AppError::invalid("label", message),
            ConnectionError::DuplicateIdp(_) | ConnectionError::TooMany | ConnectionError::AddedMeanwhile => {
                AppError::Conflict(message)
            }
            ConnectionError::NotFound => AppError::NotFound(message),
            ConnectionError::RoleMappings(_) => AppError::invalid("rules", message),
            ConnectionError::SigningCertificate(_) | ConnectionError::Signature(_) => {
                AppError::invalid("signing_certificate", message)
            }
            ConnectionError::Fetch(_) => AppError::invalid("url", message),
            ConnectionError::Options(e) => AppError::invalid(e.field(), message),
            ConnectionError::DuplicateCertificate(_)
            | ConnectionError::NoNewCertificate
            | ConnectionError::PastedMetadata(_)
            | ConnectionError::MetadataOfOtherIdp { .. } => AppError::invalid("certificate", message),
            ConnectionError::UnknownCertificate(_) => AppError::NotFound(message),
            ConnectionError::LastCertificate | ConnectionError::KeyRotation(_) | ConnectionError::NotMonitorable => {
                AppError::Conflict(message)
            }
            ConnectionError::Worker(e) => internal(e),
            ConnectionError::Store(e) => internal(e),
        };
        respond(mapped)
    }
}

fn idp_choice(idp: IdpChoice) -> Choice {
    Choice {
        name: idp.display_name.unwrap_or_else(|| idp.entity_id.clone()),
        facts: vec![
            ("Entity ID".into(), idp.entity_id.clone()),
            ("Sign-on URL".into(), idp.sign_on_url.to_string()),
        ],
        value: idp.entity_id,
    }
}

impl From<PolicyError> for AppError {
    fn from(error: PolicyError) -> Self {
        let message = error.to_string();
        let mapped = match error {
            PolicyError::Tenancy(e) => return e.into(),
            PolicyError::NotReady(_) => AppError::invalid("sso_enabled", message),
            PolicyError::Store(e) => internal(e),
        };
        respond(mapped)
    }
}

impl From<SetupLinkError> for AppError {
    fn from(error: SetupLinkError) -> Self {
        let message = error.to_string();
        let mapped = match error {
            SetupLinkError::Tenancy(e) => return e.into(),
            SetupLinkError::InvalidName => AppError::invalid("name", message),
            SetupLinkError::InvalidLifetime => AppError::invalid("lifetime_days", message),
            SetupLinkError::NotFound => AppError::NotFound(message),
            SetupLinkError::Expired | SetupLinkError::Revoked => AppError::Conflict(message),
            SetupLinkError::Store(e) => internal(e),
        };
        respond(mapped)
    }
}

impl From<AuditError> for AppError {
    fn from(error: AuditError) -> Self {
        match error {
            AuditError::Tenancy(e) => e.into(),
            AuditError::Store(e) => respond(internal(e)),
        }
    }
}
