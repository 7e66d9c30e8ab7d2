//! Why the ACS refused a response, as facts: one variant per rule, with what that rule found. The owner's reason
//! is its `Display` (the SSO events keep it); what the user is told is the edge's choice, by variant.

use super::test_sso::Check;
use crate::ids::ConnectionId;
use crate::saml::response::Rejection;
use chrono::{DateTime, Utc};

/// Where a connection takes the user's email from, as a refusal names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailClaim {
    NameId(String),
    Attribute(String),
}

impl std::fmt::Display for EmailClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmailClaim::NameId(name_id) => write!(f, "the NameID {name_id}"),
            EmailClaim::Attribute(name) => write!(f, "the attribute {name}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("refused unchecked: too many posts were refused here within a minute")]
    TooManyRefused,
    /// The store could not answer; the text is the store's error.
    #[error("{0}")]
    Unavailable(String),
    #[error("no connection {0}")]
    UnknownConnection(ConnectionId),
    #[error("SSO is off for this account (the Owner turns it on under Sign-in policy)")]
    SsoOff,
    #[error("the request {0} was already used")]
    RequestUsed(String),
    #[error("the response arrived without the browser-binding cookie of its request")]
    OtherBrowser,
    #[error("no pending request {0}")]
    UnknownRequest(String),
    #[error("the request was made for another connection")]
    OtherConnection,
    #[error("the request expired at {}", .0.to_rfc3339())]
    RequestExpired(DateTime<Utc>),
    #[error("the request {0} is not a Test SSO run of the account's Owner")]
    NotOwnersTest(String),
    #[error("the SAMLResponse is too large")]
    TooLarge,
    #[error("the SAMLResponse is not Base64: {0}")]
    NotBase64(String),
    #[error("checking the response stopped: {0}")]
    CheckStopped(String),
    #[error(transparent)]
    Response(Rejection),
    #[error("the assertion {0} was already used (a replayed response)")]
    Replayed(String),
    #[error("{0} is missing")]
    EmailMissing(EmailClaim),
    #[error("{claim} is not a usable email address: {problem}")]
    EmailUnusable { claim: EmailClaim, problem: String },
    #[error("{0} is not a verified domain of this account")]
    DomainNotVerified(String),
    #[error("{domain} is routed to connection {connection}, not this one")]
    DomainRoutedElsewhere { domain: String, connection: String },
    #[error("{0} is routed to password sign-in, not this connection")]
    DomainRoutedToPassword(String),
    #[error(
        "{0} is the account's Owner, who signs in with their password until they link this identity (Link my \
         sign-in on the connection's page)"
    )]
    OwnerSignsInWithPassword(String),
    #[error(
        "the NameID {name_id} is linked to {linked_email}, whose domain is no longer verified in this account and \
         routed to this connection"
    )]
    LinkedDomainNotRouted { name_id: String, linked_email: String },
    #[error("{0} started the link but is no longer the account's Owner")]
    NoLongerOwner(String),
    #[error("the Owner {owner} started the link, but the IdP asserted {asserted}")]
    OtherIdentity { owner: String, asserted: String },
    #[error("the NameID {0} is already linked to another user")]
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

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Response(rejection)
    }
}
