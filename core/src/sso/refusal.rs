//! Why the ACS refused a response, or the SLO URL a logout message, as facts: one variant per rule, with what that
//! rule found, and how an SSO event keeps them. No sentences: the owner's reason is worded where events are shown
//! (app `refusal_reasons`), what the user is told is the edge's choice, by variant.

use super::test_sso::Check;
use crate::ids::ConnectionId;
use crate::saml::logout::LogoutRejection;
use crate::saml::response::Rejection;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a connection takes the user's email from, as a refusal names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailClaim {
    NameId(String),
    /// The attribute's name.
    Attribute(String),
}

/// How many characters of each text an SSO event keeps: refusals quote what a message said (a Destination, an
/// issuer), which anyone can make as long as the message itself.
pub const MAX_KEPT_CHARS: usize = 500;

/// `text` cut to [`MAX_KEPT_CHARS`] characters, marked where it was cut.
pub(super) fn kept_at_most(mut text: String) -> String {
    if let Some((end, _)) = text.char_indices().nth(MAX_KEPT_CHARS) {
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Why the ACS refused a response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// Past the refusal limits: refused without being checked.
    TooManyRefused,
    /// The store could not answer; the text is the store's error.
    Unavailable(String),
    /// The response was posted to an ID that is no connection.
    UnknownConnection(ConnectionId),
    /// The account's SSO is off.
    SsoOff,
    /// The pending request (its ID) was already answered.
    RequestUsed(String),
    /// The browser lacks the binding cookie its request was given.
    OtherBrowser,
    /// The RelayState names no pending request.
    UnknownRequest(String),
    /// The request was made for another connection than the one posted to.
    OtherConnection,
    /// The request expired at this time.
    RequestExpired(DateTime<Utc>),
    /// A Test SSO answer whose request is not the Owner's run.
    NotOwnersTest(String),
    /// The SAMLResponse field is larger than any response may be.
    TooLarge,
    /// The decoder's error.
    NotBase64(String),
    /// The check could not finish (its worker failed); the text is why.
    CheckStopped(String),
    Response(Rejection),
    /// The assertion (its ID) was already used.
    Replayed(String),
    /// The claim the connection takes the email from is absent.
    EmailMissing(EmailClaim),
    EmailUnusable {
        claim: EmailClaim,
        problem: String,
    },
    /// The email's domain.
    DomainNotVerified(String),
    /// The domain and the label of the connection it is routed to.
    DomainRoutedElsewhere {
        domain: String,
        connection: String,
    },
    /// The domain, routed to password sign-in.
    DomainRoutedToPassword(String),
    /// The Owner's email: the Owner signs in with their password until they link this identity.
    OwnerSignsInWithPassword(String),
    /// The NameID's linked user has an email whose domain no longer leads to this connection.
    LinkedDomainNotRouted {
        name_id: String,
        linked_email: String,
    },
    /// The email of who started the link, no longer the Owner.
    NoLongerOwner(String),
    /// The Owner started a link and the IdP asserted someone else.
    OtherIdentity {
        owner: String,
        asserted: String,
    },
    /// The NameID is linked to another user already.
    NameIdTaken(String),
}

impl Refusal {
    /// The check of Test SSO's report this refusal fails. Exhaustive on purpose: a new rule must be placed here.
    pub fn check(&self) -> Check {
        match self {
            Refusal::TooManyRefused
            | Refusal::Unavailable(_)
            | Refusal::UnknownConnection(_)
            | Refusal::SsoOff
            | Refusal::RequestUsed(_)
            | Refusal::OtherBrowser
            | Refusal::UnknownRequest(_)
            | Refusal::OtherConnection
            | Refusal::RequestExpired(_)
            | Refusal::NotOwnersTest(_) => Check::Request,
            Refusal::TooLarge | Refusal::NotBase64(_) | Refusal::CheckStopped(_) => Check::Readable,
            Refusal::Response(rejection) => Check::of(rejection),
            Refusal::Replayed(_) => Check::Replay,
            Refusal::EmailMissing(_) | Refusal::EmailUnusable { .. } => Check::Email,
            Refusal::DomainNotVerified(_)
            | Refusal::DomainRoutedElsewhere { .. }
            | Refusal::DomainRoutedToPassword(_) => Check::Domain,
            Refusal::OwnerSignsInWithPassword(_)
            | Refusal::LinkedDomainNotRouted { .. }
            | Refusal::NoLongerOwner(_)
            | Refusal::OtherIdentity { .. }
            | Refusal::NameIdTaken(_) => Check::User,
        }
    }
}

impl Refusal {
    /// The refusal as an SSO event keeps it (see [`stored`]).
    pub fn to_stored(&self) -> String {
        stored(self)
    }

    /// A refusal as [`Refusal::to_stored`] kept it; `None` for one this version cannot read (a variant it lacks).
    pub fn from_stored(stored: &str) -> Option<Refusal> {
        read_stored(stored)
    }
}

/// Why the SLO URL refused a logout message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogoutRefusal {
    /// Past the refusal limits: refused without being checked.
    TooManyRefused,
    /// The store could not answer, or the answer could not be signed; the text is the error.
    Unavailable(String),
    /// The message was sent to an ID that is no connection.
    UnknownConnection(ConnectionId),
    /// The IdP's LogoutRequest broke a rule.
    Request(LogoutRejection),
    /// The IdP's LogoutResponse broke a rule.
    Response(LogoutRejection),
    /// The LogoutRequest (its ID) was already acted on.
    ReplayedRequest(String),
    /// The LogoutResponse answers this ID, which is no pending LogoutRequest of the connection.
    UnansweredResponse(String),
    /// The LogoutRequest's sessions were ended, this many, but the connection cannot answer it (no IdP SLO URL
    /// or no active SP key).
    CannotAnswer { ended: u64 },
}

impl LogoutRefusal {
    /// The refusal as an SSO event keeps it (see [`stored`]).
    pub fn to_stored(&self) -> String {
        stored(self)
    }

    /// A refusal as [`LogoutRefusal::to_stored`] kept it; `None` for one this version cannot read.
    pub fn from_stored(stored: &str) -> Option<LogoutRefusal> {
        read_stored(stored)
    }
}

/// Facts as an SSO event keeps them: JSON, each text cut to [`MAX_KEPT_CHARS`] characters and marked where it was
/// cut, so that a stored refusal costs at most a few kilobytes whatever the message quoted.
fn stored(facts: &impl Serialize) -> String {
    let mut facts = serde_json::to_value(facts).expect("a refusal is plain data");
    cap_texts(&mut facts);
    facts.to_string()
}

fn read_stored<T: DeserializeOwned>(stored: &str) -> Option<T> {
    serde_json::from_str(stored).ok()
}

fn cap_texts(value: &mut Value) {
    match value {
        Value::String(text) => *text = kept_at_most(std::mem::take(text)),
        Value::Array(items) => items.iter_mut().for_each(cap_texts),
        Value::Object(fields) => fields.values_mut().for_each(cap_texts),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Response(rejection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_refusal_keeps_each_text_cut_and_reads_back_as_the_same_facts() {
        let quoted = "é".repeat(100_000);
        let refusal = Refusal::Response(Rejection::Status {
            code: "urn:oasis:names:tc:SAML:2.0:status:Requester".into(),
            message: Some(quoted.clone()),
        });
        let stored = refusal.to_stored();
        assert!(stored.len() < 4 * MAX_KEPT_CHARS, "{} bytes", stored.len());
        let Some(Refusal::Response(Rejection::Status {
            message: Some(kept), ..
        })) = Refusal::from_stored(&stored)
        else {
            panic!("{stored}");
        };
        assert_eq!(kept, format!("{}…", "é".repeat(MAX_KEPT_CHARS)));

        let short = Refusal::EmailUnusable {
            claim: EmailClaim::Attribute("mail".into()),
            problem: "no @".into(),
        };
        assert_eq!(Refusal::from_stored(&short.to_stored()), Some(short));
        assert_eq!(
            Refusal::from_stored(&Refusal::SsoOff.to_stored()),
            Some(Refusal::SsoOff)
        );
    }

    #[test]
    fn facts_of_a_refusal_this_version_lacks_read_as_none() {
        assert_eq!(Refusal::from_stored(r#"{"RefusedByALaterRule":"x"}"#), None);
        assert_eq!(Refusal::from_stored("not json"), None);
    }
}
