//! Single logout messages (SAML core §3.7) in plain Rust with the current time passed in: Gatehouse's
//! LogoutRequest and LogoutResponse, and the rules an IdP's LogoutRequest or LogoutResponse meets before it ends a
//! session or completes a sign-out. A logout message from the IdP must be signed with a configured certificate
//! (in the query string for HTTP-Redirect, enveloped for HTTP-POST) and every field is read from what the
//! signature covers: a forged LogoutRequest would otherwise sign anyone out of Gatehouse.

use super::binding::{Incoming, Parameter, QuerySignatureError, verify_query_signature};
use super::certificate::Certificate;
use super::response::{
    DS, SAML, SAMLP, SUCCESS, ago, allowed_algorithms, child, children, fingerprints, is, offered_certificate,
    whole_text,
};
use super::verification_keys;
use crate::ids::ConnectionId;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use quick_xml::escape::escape;
use roxmltree::{Document, Node};
use samael::crypto::{CryptoError, ReduceMode};
use serde::{Deserialize, Serialize};

/// Who the IdP said signed in, as a LogoutRequest names them: the connection, the NameID (with its format) and
/// the IdP's SessionIndex from the assertion's AuthnStatement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpSession {
    pub connection_id: ConnectionId,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
}

/// How long after its IssueInstant a logout message is acted on (beyond the clock skew). Front-channel logout
/// messages cross the browser within seconds; a longer window only widens replay.
pub const MESSAGE_LIFETIME: Duration = Duration::minutes(5);
/// The status of a LogoutResponse when some session could not be ended (SAML core §3.7.3.2).
pub const PARTIAL_LOGOUT: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";

/// Gatehouse's LogoutRequest to the IdP, naming the IdP session the signed-out session came from.
pub struct LogoutRequestParams<'a> {
    pub id: &'a str,
    pub now: DateTime<Utc>,
    pub destination: &'a str,
    pub issuer: &'a str,
    pub idp_session: &'a IdpSession,
}

/// Gatehouse's LogoutResponse to an IdP's LogoutRequest.
pub struct LogoutResponseParams<'a> {
    pub id: &'a str,
    pub now: DateTime<Utc>,
    pub destination: &'a str,
    pub issuer: &'a str,
    pub in_response_to: &'a str,
    pub status: &'a str,
}

fn instant(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The LogoutRequest as XML, with `signature` (an enveloped-signature template, or nothing) after the Issuer as
/// the schema orders it. Written here because samael's LogoutRequest puts SessionIndex before NameID, which the
/// schema forbids and strict IdPs refuse.
pub fn logout_request_xml(params: &LogoutRequestParams, signature: &str) -> String {
    let session = params.idp_session;
    let format = session
        .name_id_format
        .as_deref()
        .map(|f| format!(" Format=\"{}\"", escape(f)))
        .unwrap_or_default();
    let session_index = session
        .session_index
        .as_deref()
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(s)))
        .unwrap_or_default();
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{destination}" NotOnOrAfter="{until}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:NameID{format}>{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#,
        id = escape(params.id),
        now = instant(params.now),
        until = instant(params.now + MESSAGE_LIFETIME),
        destination = escape(params.destination),
        issuer = escape(params.issuer),
        name_id = escape(&session.name_id),
    )
}

/// The LogoutResponse as XML, with `signature` placed as in [`logout_request_xml`].
pub fn logout_response_xml(params: &LogoutResponseParams, signature: &str) -> String {
    format!(
        r#"<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{destination}" InResponseTo="{in_response_to}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status></samlp:LogoutResponse>"#,
        id = escape(params.id),
        now = instant(params.now),
        destination = escape(params.destination),
        in_response_to = escape(params.in_response_to),
        issuer = escape(params.issuer),
        status = escape(params.status),
    )
}

/// What this connection expects of a logout message from its IdP.
#[derive(Clone, Debug)]
pub struct LogoutExpectations<'a> {
    pub idp_entity_id: &'a str,
    /// The signing certificates the owner configured.
    pub certificates: &'a [Certificate],
    /// This connection's SLO URL: the message's Destination.
    pub slo_url: &'a str,
    pub allow_sha1: bool,
    pub clock_skew: Duration,
    pub now: DateTime<Utc>,
}

/// An IdP's LogoutRequest that passed every rule: whom it signs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpLogoutRequest {
    pub id: String,
    pub name_id: String,
    /// Empty: every session of the NameID through this connection.
    pub session_indexes: Vec<String>,
    /// Until when a replay could still pass the time rules: keep the ID at least that long.
    pub valid_until: DateTime<Utc>,
}

/// An IdP's LogoutResponse that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpLogoutResponse {
    pub in_response_to: String,
    /// `None` for Success; otherwise the IdP's status code(s) and message.
    pub failure: Option<String>,
}

/// Why a logout message was refused, as facts; the owner's words for each are the dashboard's (app
/// `refusal_reasons`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogoutRejection {
    Malformed(String),
    /// The message's root (or how it arrived), and the message expected.
    WrongMessage {
        found: String,
        expected: String,
    },
    /// The kind of message that arrived unsigned.
    Unsigned(String),
    QuerySignature(QuerySignatureError),
    Signature {
        configured: String,
        offered: Option<String>,
    },
    DisallowedSignature(String),
    /// The kind of message whose root the signature does not cover.
    SignedElementMismatch(String),
    MissingId,
    Issuer {
        found: String,
        expected: String,
    },
    Destination {
        found: String,
        expected: String,
    },
    MissingDestination,
    MissingIssueInstant,
    TooOld(String),
    FromTheFuture(String),
    Expired(String),
    MissingNameId,
    EncryptedNameId,
    MissingInResponseTo,
}

impl From<QuerySignatureError> for LogoutRejection {
    fn from(error: QuerySignatureError) -> Self {
        LogoutRejection::QuerySignature(error)
    }
}

impl LogoutRejection {
    /// Refused before any signature of the message verified: it could have come from anyone, so it counts
    /// towards the refusal limits of unverified posts.
    pub fn before_signature(&self) -> bool {
        matches!(
            self,
            LogoutRejection::Malformed(_)
                | LogoutRejection::WrongMessage { .. }
                | LogoutRejection::Unsigned(_)
                | LogoutRejection::QuerySignature(_)
                | LogoutRejection::Signature { .. }
                | LogoutRejection::DisallowedSignature(_)
                | LogoutRejection::SignedElementMismatch(_)
        )
    }
}

/// Applies every rule to an IdP's LogoutRequest.
pub fn validate_logout_request(
    incoming: &Incoming,
    expected: &LogoutExpectations,
) -> Result<IdpLogoutRequest, LogoutRejection> {
    let signed = signed_message(incoming, "LogoutRequest", expected)?;
    let document = Document::parse(&signed).map_err(|e| LogoutRejection::Malformed(e.to_string()))?;
    let root = document.root_element();
    let issued = check_envelope(root, expected)?;
    if let Some(until) = time(root, "NotOnOrAfter")?
        && expected.now >= until + expected.clock_skew
    {
        return Err(LogoutRejection::Expired(ago(expected.now - until)));
    }
    if child(root, SAML, "EncryptedID").is_some() {
        return Err(LogoutRejection::EncryptedNameId);
    }
    let name_id = child(root, SAML, "NameID")
        .map(whole_text)
        .filter(|n| !n.is_empty())
        .ok_or(LogoutRejection::MissingNameId)?;
    Ok(IdpLogoutRequest {
        id: root.attribute("ID").unwrap_or_default().to_owned(),
        name_id,
        session_indexes: children(root, SAMLP, "SessionIndex").map(whole_text).collect(),
        valid_until: issued + MESSAGE_LIFETIME + expected.clock_skew,
    })
}

/// Applies every rule to an IdP's LogoutResponse; which request it answers is for the caller to match.
pub fn validate_logout_response(
    incoming: &Incoming,
    expected: &LogoutExpectations,
) -> Result<IdpLogoutResponse, LogoutRejection> {
    let signed = signed_message(incoming, "LogoutResponse", expected)?;
    let document = Document::parse(&signed).map_err(|e| LogoutRejection::Malformed(e.to_string()))?;
    let root = document.root_element();
    check_envelope(root, expected)?;
    let in_response_to = root
        .attribute("InResponseTo")
        .filter(|v| !v.is_empty())
        .ok_or(LogoutRejection::MissingInResponseTo)?;
    let status = child(root, SAMLP, "Status");
    let code = status.and_then(|s| child(s, SAMLP, "StatusCode"));
    let failure = match code.and_then(|c| c.attribute("Value")) {
        Some(SUCCESS) => None,
        found => {
            let nested = code
                .and_then(|c| child(c, SAMLP, "StatusCode"))
                .and_then(|c| c.attribute("Value"));
            let message = status
                .and_then(|s| child(s, SAMLP, "StatusMessage"))
                .map(whole_text)
                .filter(|m| !m.is_empty());
            Some(format!(
                "{}{}{}",
                found.unwrap_or("(no status)"),
                nested.map(|n| format!(" / {n}")).unwrap_or_default(),
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ))
        }
    };
    Ok(IdpLogoutResponse {
        in_response_to: in_response_to.to_owned(),
        failure,
    })
}

/// The message's XML as its signature covers it: the whole inflated message for a query signature, xmlsec's
/// pre-digest content of an enveloped one (which must be the very root element that arrived).
fn signed_message(
    incoming: &Incoming,
    kind: &'static str,
    expected: &LogoutExpectations,
) -> Result<String, LogoutRejection> {
    let document = Document::parse(&incoming.xml).map_err(|e| LogoutRejection::Malformed(e.to_string()))?;
    let root = document.root_element();
    if !is(&root, SAMLP, kind) {
        return Err(LogoutRejection::WrongMessage {
            found: root.tag_name().name().to_owned(),
            expected: kind.to_owned(),
        });
    }
    let parameter = if kind == "LogoutRequest" {
        Parameter::SamlRequest
    } else {
        Parameter::SamlResponse
    };
    if incoming.parameter != parameter {
        return Err(LogoutRejection::WrongMessage {
            found: format!("{kind} sent as {}", incoming.parameter.name()),
            expected: kind.to_owned(),
        });
    }
    if let Some(signature) = &incoming.query_signature {
        verify_query_signature(signature, expected.certificates, expected.allow_sha1)?;
        return Ok(incoming.xml.clone());
    }
    if child(root, DS, "Signature").is_none() {
        return Err(LogoutRejection::Unsigned(kind.to_owned()));
    }
    let allowed = Some(allowed_algorithms(expected.allow_sha1));
    let verified =
        verification_keys::reduce_to_signed(&incoming.xml, expected.certificates, ReduceMode::PreDigest, allowed);
    let signed = verified.map_err(|e| match e {
        CryptoError::DisallowedSignature { reason } => LogoutRejection::DisallowedSignature(reason),
        _ => LogoutRejection::Signature {
            configured: fingerprints(expected.certificates),
            offered: offered_certificate(root).map(|c| c.sha256_fingerprint),
        },
    })?;
    let signed_root_matches = Document::parse(&signed).is_ok_and(|d| {
        let signed_root = d.root_element();
        is(&signed_root, SAMLP, kind)
            && root.attribute("ID").is_some()
            && signed_root.attribute("ID") == root.attribute("ID")
    });
    if !signed_root_matches {
        return Err(LogoutRejection::SignedElementMismatch(kind.to_owned()));
    }
    Ok(signed)
}

fn time(node: Node, attribute: &str) -> Result<Option<DateTime<Utc>>, LogoutRejection> {
    node.attribute(attribute)
        .map(|text| {
            DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| LogoutRejection::Malformed(format!("{attribute}=\"{text}\" is not a date and time")))
        })
        .transpose()
}

/// ID, Issuer, Destination and IssueInstant, on the signed message; answers when it was issued.
fn check_envelope(root: Node, expected: &LogoutExpectations) -> Result<DateTime<Utc>, LogoutRejection> {
    if root.attribute("ID").is_none_or(str::is_empty) {
        return Err(LogoutRejection::MissingId);
    }
    let issuer = child(root, SAML, "Issuer").map(whole_text).unwrap_or_default();
    if issuer != expected.idp_entity_id {
        return Err(LogoutRejection::Issuer {
            found: if issuer.is_empty() { "(none)".into() } else { issuer },
            expected: expected.idp_entity_id.to_owned(),
        });
    }
    match root.attribute("Destination") {
        Some(found) if found == expected.slo_url => {}
        Some(found) => {
            return Err(LogoutRejection::Destination {
                found: found.to_owned(),
                expected: expected.slo_url.to_owned(),
            });
        }
        None => return Err(LogoutRejection::MissingDestination),
    }
    let issued = time(root, "IssueInstant")?.ok_or(LogoutRejection::MissingIssueInstant)?;
    let now = expected.now;
    if issued > now + expected.clock_skew {
        return Err(LogoutRejection::FromTheFuture(ago(issued - now)));
    }
    if issued + MESSAGE_LIFETIME + expected.clock_skew <= now {
        return Err(LogoutRejection::TooOld(ago(now - issued)));
    }
    Ok(issued)
}
