//! Single logout, both directions: signing out of Gatehouse ends the session and continues at the IdP with a
//! signed LogoutRequest whose LogoutResponse is checked; an IdP's LogoutRequest ends exactly the sessions it
//! names and is answered with a signed LogoutResponse. Each is recorded in the owner's SSO events.

use super::connection::Connection;
use super::explanation::{ExplainedFor, Explanation, explain_logout};
use super::refusal::LogoutRefusal;
use super::sign_in::{EventDetail, SsoService};
use crate::auth::AuthError;
use crate::ids::{AccountId, ConnectionId, new_reference};
use crate::saml::binding::{self, BindingError, Incoming, Outgoing, Parameter, SigningKey};
use crate::saml::logout::{
    IdpLogoutRequest, IdpLogoutResponse, LogoutExpectations, LogoutRejection, LogoutRequestParams,
    LogoutResponseParams, PARTIAL_LOGOUT, logout_request_xml, logout_response_xml, validate_logout_request,
    validate_logout_response,
};
use crate::saml::metadata::HTTP_POST;
use crate::saml::response::SUCCESS;
use crate::saml::sp_keys::KeyState;
use crate::store::{LogoutRequestRow, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;

/// A logout message after its rules were applied.
enum Verified {
    Request(Result<IdpLogoutRequest, LogoutRejection>),
    Response(Result<IdpLogoutResponse, LogoutRejection>),
}

/// How long a user has at the IdP to finish signing out before Gatehouse stops waiting for the answer.
pub const LOGOUT_REQUEST_LIFETIME: Duration = Duration::minutes(10);

/// Where a signed-out browser goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedOut {
    /// Nothing more to do: no SSO session, or its IdP has no single logout.
    Here,
    /// On to the IdP with the LogoutRequest stored under `request_id` ([`SsoService::logout_request`]).
    AtIdp {
        connection: ConnectionId,
        request_id: String,
    },
}

/// How a message at the connection's SLO URL ended.
#[derive(Clone, Debug)]
pub enum SloOutcome {
    /// The IdP's LogoutRequest was carried out: the browser takes the LogoutResponse back to the IdP.
    Answered { outgoing: Outgoing, ended_sessions: u64 },
    /// The IdP answered Gatehouse's LogoutRequest; `idp_failure` is its status when it could not sign the user
    /// out everywhere.
    Completed { idp_failure: Option<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("This sign-out link has expired. You are signed out of Gatehouse.")]
    UnknownRequest,
    #[error("{0}")]
    Binding(#[from] BindingError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A handled logout message: the outcome, the owner's words for it, and the NameID it concerned.
type Handled = (SloOutcome, String, Option<String>);
/// A refused one, with the NameID when it is known.
type Refused = (LogoutRefusal, Option<String>);

/// A refused logout message, and the reference of the SSO event that records it (what the user is told is the
/// edge's choice, by variant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutRefused {
    /// None when no event was recorded (refused unchecked by the refusal limits, or before its connection was
    /// known or while the database was unavailable).
    pub reference: Option<String>,
    pub refusal: LogoutRefusal,
}

/// The IdP's single logout endpoint and the connection's active SP key: without both there is no single logout.
fn slo_parts(connection: &Connection) -> Option<(&crate::saml::Endpoint, SigningKey<'_>)> {
    let endpoint = connection.idp.slo.as_ref()?;
    let key = connection.sp_keys.iter().find(|k| k.state == KeyState::Active)?;
    Some((endpoint, key.signing_key()))
}

/// A signed message to the IdP's SLO endpoint in its binding: the query signature for HTTP-Redirect, an
/// enveloped one for HTTP-POST. `write` gives the XML with the signature template it is handed.
fn to_idp(
    endpoint: &crate::saml::Endpoint,
    key: &SigningKey,
    parameter: Parameter,
    id: &str,
    relay_state: &str,
    write: impl Fn(&str) -> String,
) -> Result<Outgoing, BindingError> {
    if endpoint.binding == HTTP_POST {
        let template = binding::signature_template_xml(id, key.certificate_der)?;
        let signed = binding::sign_enveloped(&write(&template), key)?;
        Ok(binding::post(&endpoint.location, parameter, &signed, relay_state))
    } else {
        binding::redirect(&endpoint.location, parameter, &write(""), relay_state, Some(key)).map(Outgoing::Redirect)
    }
}

impl SsoService {
    /// Ends the session; when SSO opened it and the IdP has single logout, stores a LogoutRequest for it so the
    /// browser can continue at the IdP.
    pub async fn sign_out(&self, session_token: &str, now: DateTime<Utc>) -> Result<SignedOut, LogoutError> {
        let Some(idp_session) = self.auth.sign_out(session_token).await? else {
            return Ok(SignedOut::Here);
        };
        let Some(in_use) = self.connection(idp_session.connection_id).await? else {
            return Ok(SignedOut::Here);
        };
        let connection = &in_use.connection;
        if slo_parts(connection).is_none() {
            return Ok(SignedOut::Here);
        }
        let request_id = format!("_{}", uuid::Uuid::new_v4().simple());
        self.store
            .insert_logout_request(&LogoutRequestRow {
                id: request_id.clone(),
                idp_session,
                created_at: now,
                expires_at: now + LOGOUT_REQUEST_LIFETIME,
            })
            .await?;
        Ok(SignedOut::AtIdp {
            connection: connection.id,
            request_id,
        })
    }

    /// The browser's way to the IdP with a stored LogoutRequest, signed with the connection's active SP key.
    pub async fn logout_request(
        &self,
        connection_id: ConnectionId,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, LogoutError> {
        let row = self
            .store
            .logout_request(request_id, connection_id, now)
            .await?
            .ok_or(LogoutError::UnknownRequest)?;
        let in_use = self
            .connection(connection_id)
            .await?
            .ok_or(LogoutError::UnknownRequest)?;
        let (endpoint, key) = slo_parts(&in_use.connection).ok_or(LogoutError::UnknownRequest)?;
        let values = self.connections.service_provider_values(connection_id);
        let params = LogoutRequestParams {
            id: &row.id,
            now: row.created_at,
            destination: endpoint.location.as_str(),
            issuer: &values.entity_id,
            idp_session: &row.idp_session,
        };
        Ok(to_idp(
            endpoint,
            &key,
            Parameter::SamlRequest,
            &row.id,
            "",
            |signature| logout_request_xml(&params, signature),
        )?)
    }

    /// A message arriving at the connection's SLO URL: the IdP's own LogoutRequest, or its LogoutResponse to
    /// Gatehouse's. Nothing changes unless every rule holds.
    pub async fn slo(
        &self,
        connection_id: ConnectionId,
        incoming: &Incoming,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<SloOutcome, LogoutRefused> {
        let unrecorded = |refusal| LogoutRefused {
            reference: None,
            refusal,
        };
        let unavailable = |e: &dyn std::fmt::Display| unrecorded(LogoutRefusal::Unavailable(e.to_string()));
        // The same limits as at the ACS: a refused message costs a signature check and an SSO event.
        if !self.admitted(connection_id, client, now).await {
            return Err(unrecorded(LogoutRefusal::TooManyRefused));
        }
        let Some(in_use) = self.connection(connection_id).await.map_err(|e| unavailable(&e))? else {
            self.refusals.refused(None, client, now);
            return Err(unrecorded(LogoutRefusal::UnknownConnection(connection_id)));
        };
        let (account, connection) = (in_use.account, &in_use.connection);
        // A refused message: counted towards the refusal limits when nothing of it verified, and explained.
        let mut explanation = None;
        let mut note_refusal = |rejection: &LogoutRejection| {
            if rejection.before_signature() {
                self.refusals.refused(Some(connection_id), client, now);
            }
            let sp = self.connections.service_provider_values(connection_id);
            explanation = explain_logout(rejection, &ExplainedFor::of(connection, &sp));
        };
        let verified = match self.verify_logout_message(connection, incoming, now).await {
            Ok(verified) => verified,
            Err(e) => return Err(unavailable(&e)),
        };
        let outcome = match verified {
            Verified::Request(result) => match result {
                Ok(request) => {
                    let relay_state = incoming.relay_state.as_deref().unwrap_or_default();
                    self.end_idp_sessions(connection, request, relay_state, now).await
                }
                Err(rejection) => {
                    note_refusal(&rejection);
                    Err((LogoutRefusal::Request(rejection), None))
                }
            },
            Verified::Response(result) => match result {
                Ok(response) => {
                    match self
                        .store
                        .take_logout_request(&response.in_response_to, connection_id, now)
                        .await
                    {
                        Ok(Some(request)) => Ok((
                            SloOutcome::Completed {
                                idp_failure: response.failure.clone(),
                            },
                            match &response.failure {
                                None => "signed out at the IdP".to_owned(),
                                Some(status) => format!("the IdP could not sign the user out everywhere: {status}"),
                            },
                            Some(request.idp_session.name_id),
                        )),
                        Ok(None) => Err((LogoutRefusal::UnansweredResponse(response.in_response_to), None)),
                        Err(e) => Err((LogoutRefusal::Unavailable(e.to_string()), None)),
                    }
                }
                Err(rejection) => {
                    note_refusal(&rejection);
                    Err((LogoutRefusal::Response(rejection), None))
                }
            },
        };
        self.record_logout(account, connection_id, now, outcome, explanation)
            .await
    }

    /// Applies the logout message rules for this connection off the async threads (signature verification is C
    /// and CPU-bound); `Err` only when the check could not run.
    async fn verify_logout_message(
        &self,
        connection: &Connection,
        incoming: &Incoming,
        now: DateTime<Utc>,
    ) -> Result<Verified, tokio::task::JoinError> {
        let slo_url = self.connections.service_provider_values(connection.id).slo_url;
        let idp_entity_id = connection.idp.entity_id.clone();
        let certificates = connection.idp.certificates.clone();
        let allow_sha1 = connection.options.allow_sha1;
        let clock_skew = Duration::seconds(connection.options.clock_skew_seconds.into());
        let incoming = incoming.clone();
        tokio::task::spawn_blocking(move || {
            let expected = LogoutExpectations {
                idp_entity_id: &idp_entity_id,
                certificates: &certificates,
                slo_url: &slo_url,
                allow_sha1,
                clock_skew,
                now,
            };
            match incoming.parameter {
                Parameter::SamlRequest => Verified::Request(validate_logout_request(&incoming, &expected)),
                Parameter::SamlResponse => Verified::Response(validate_logout_response(&incoming, &expected)),
            }
        })
        .await
    }

    /// Ends the sessions a verified LogoutRequest names (once: a replayed one is refused) and answers it, with
    /// the request's RelayState as the bindings require.
    async fn end_idp_sessions(
        &self,
        connection: &Connection,
        request: IdpLogoutRequest,
        relay_state: &str,
        now: DateTime<Utc>,
    ) -> Result<Handled, Refused> {
        let store_error = |e: StoreError| (LogoutRefusal::Unavailable(e.to_string()), None);
        let fresh = self
            .store
            .remember_message(connection.id, &request.id, request.valid_until)
            .await
            .map_err(store_error)?;
        if !fresh {
            return Err((LogoutRefusal::ReplayedRequest(request.id), Some(request.name_id)));
        }
        let (ended, status) = match self
            .store
            .delete_idp_sessions(connection.id, &request.name_id, &request.session_indexes)
            .await
        {
            Ok(ended) => (ended, SUCCESS),
            Err(e) => {
                tracing::error!(error = %e, "ending sessions for an IdP LogoutRequest failed");
                (0, PARTIAL_LOGOUT)
            }
        };
        let Some((endpoint, key)) = slo_parts(connection) else {
            return Err((LogoutRefusal::CannotAnswer { ended }, Some(request.name_id)));
        };
        let values = self.connections.service_provider_values(connection.id);
        let response_id = format!("_{}", uuid::Uuid::new_v4().simple());
        let params = LogoutResponseParams {
            id: &response_id,
            now,
            destination: endpoint.location.as_str(),
            issuer: &values.entity_id,
            in_response_to: &request.id,
            status,
        };
        let outgoing = to_idp(
            endpoint,
            &key,
            Parameter::SamlResponse,
            &response_id,
            relay_state,
            |signature| logout_response_xml(&params, signature),
        )
        .map_err(|e| (LogoutRefusal::Unavailable(e.to_string()), None))?;
        let sessions = match request.session_indexes.as_slice() {
            [] => "every session".to_owned(),
            indexes => format!("SessionIndex {}", indexes.join(", ")),
        };
        Ok((
            SloOutcome::Answered {
                outgoing,
                ended_sessions: ended,
            },
            format!("signed out by the IdP ({sessions}): {ended} Gatehouse session(s) ended"),
            Some(request.name_id),
        ))
    }

    /// Records a single logout message in the SSO events, with the fix of a refusal the owner can act on, and
    /// answers it.
    async fn record_logout(
        &self,
        account: AccountId,
        connection_id: ConnectionId,
        now: DateTime<Utc>,
        outcome: Result<Handled, Refused>,
        explanation: Option<Explanation>,
    ) -> Result<SloOutcome, LogoutRefused> {
        let (detail, result) = match outcome {
            Ok((done, reason, name_id)) => (
                EventDetail {
                    outcome: "signed-out",
                    reason,
                    refusal: None,
                    name_id,
                    attributes: String::new(),
                    raw_response: None,
                    explanation: None,
                },
                Ok(done),
            ),
            Err((refusal, name_id)) => (
                EventDetail {
                    outcome: "logout-refused",
                    reason: String::new(),
                    refusal: Some(refusal.to_stored()),
                    name_id,
                    attributes: String::new(),
                    raw_response: None,
                    explanation,
                },
                Err(LogoutRefused {
                    reference: Some(new_reference()),
                    refusal,
                }),
            ),
        };
        let event_reference = result
            .as_ref()
            .err()
            .and_then(|r| r.reference.clone())
            .unwrap_or_else(new_reference);
        self.record_event(account, connection_id, now, &event_reference, detail)
            .await;
        result
    }
}
