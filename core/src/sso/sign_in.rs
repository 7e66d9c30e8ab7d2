//! SSO sign-in, both legs: starting an AuthnRequest bound to the browser, and accepting the IdP's response at the
//! ACS under every rule (the response rules, one use per request, replay, the account's verified domains routed to
//! the connection), with each attempt recorded for the owner's SSO events log.

use super::connection::{Connection, ConnectionService};
use super::junk::{Admission, JunkPolicy, RefusalLimiter};
use super::options::EmailSource;
use super::test_sso::{Check, TestReport, outcomes, shown_xml};
use crate::audit;
use crate::auth::return_path::same_site_path;
use crate::auth::{AuthService, Caller, EmailAddress, NewSession, personal_account_name};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::saml::authn_request::{Outgoing, RequestParams, outgoing};
use crate::saml::binding::BindingError;
use crate::saml::logout::IdpSession;
use crate::saml::response::{Checked, Expectations, MAX_RESPONSE_BYTES, SignedAssertion, check_response};
use crate::saml::sp_keys::KeyState;
use crate::store::{
    AuditRow, ExistingUser, LinkRefusal, OwnerRun, OwnerRunPurpose, PendingRequestRow, Provisioning, SsoEventRow,
    Store, StoreError, ascii_email_domain,
};
use crate::tenancy::{Permission, Role, TenancyError};
use crate::token;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use std::sync::Arc;

/// How long a user has at the IdP before the request expires.
pub const REQUEST_LIFETIME: Duration = Duration::minutes(10);

/// An AuthnRequest on its way: where the browser goes, and the cookie value that binds the request to it.
#[derive(Clone, Debug)]
pub struct Started {
    pub outgoing: Outgoing,
    pub browser_token: String,
    pub request_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("This sign-in link names no connection.")]
    NoConnection,
    #[error("Single sign-on is turned off for this account.")]
    SsoOff,
    #[error("{0}")]
    Request(#[from] BindingError),
    #[error("The connection has no active SP key.")]
    NoKey,
    #[error(
        "Your email address's domain ({0}) is not a verified domain of this account routed to this connection. \
         Route it here under Domains first: only then can this identity provider sign you in."
    )]
    OwnDomainNotRouted(String),
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the ACS did with a response: signed the user in, or, for the Owner's own round trips, only reported (Test
/// SSO) or linked the Owner to their identity at the IdP.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AcsOutcome {
    SignedIn(SignedIn),
    Tested(TestReport),
    Linked(OwnerLinked),
}

/// The Owner's deliberate link: from now on, assertions of this connection with this NameID sign the Owner in.
#[derive(Clone, Debug)]
pub struct OwnerLinked {
    pub account: AccountId,
    pub connection: ConnectionId,
    pub connection_label: String,
    pub email: String,
    pub name_id: String,
}

/// What a response at the ACS is expected to do, which decides the rules it is held to before the last step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// Sign a user in: SSO must be on; IdP-initiated where the connection allows it.
    SignIn,
    /// Link the Owner who started the request to their IdP identity: only as the answer to that request.
    OwnerLink,
}

/// A response that passed every rule short of provisioning: the request it answers (none when IdP-initiated),
/// where the user wanted to go, the assertion and the user's email.
struct Accepted {
    request: Option<PendingRequestRow>,
    landing: Option<String>,
    assertion: SignedAssertion,
    email: EmailAddress,
    /// The account's policy: SSO users get no personal account of their own.
    no_separate_account: bool,
    /// The Owner's own round trip the response answers, if it answers one.
    owner_run: Option<OwnerRun>,
}

/// A response that completed: a user signed in, or the Owner linked.
#[allow(clippy::large_enum_variant)]
enum Completed {
    SignedIn(SignedIn),
    Linked(OwnerLinked),
}

/// A response that passed every rule, and the signed-in user it provisioned.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub account: AccountId,
    pub connection: ConnectionId,
    pub email: String,
    pub assertion: SignedAssertion,
    /// Where the user wanted to go, as stored with the request.
    pub return_to: Option<String>,
    pub user_id: UserId,
    /// The user was created by this sign-in (just in time).
    pub created: bool,
    /// An existing password user was taken over for the IdP by this sign-in (password removed, sessions ended).
    pub taken_over: bool,
    pub role: Role,
    pub session: NewSession,
}

/// A refused response: a short reason for the user, the detail for the owner, and the reference joining them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub reference: String,
    pub user_message: &'static str,
    pub reason: String,
}

#[derive(Clone)]
pub struct SsoService {
    pub(super) store: Store,
    pub(super) connections: ConnectionService,
    pub(super) auth: AuthService,
    /// What junk at the ACS may cost: retention, caps and the refusal limits.
    junk: JunkPolicy,
    /// Unverified refusals per connection and client address, shared by every clone of the service.
    refusals: Arc<RefusalLimiter>,
}

/// What an SSO event says: its outcome ("accepted", "refused", "test", "signed-out", "logout-refused"), the
/// reason in the owner's words, and what the message told about the user.
pub(super) struct EventDetail {
    pub outcome: &'static str,
    pub reason: String,
    pub name_id: Option<String>,
    pub attributes: String,
    pub raw_response: Option<String>,
}

/// A short code joining what a user is shown to the owner's SSO events.
pub(super) fn reference() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_uppercase()
}

/// How much of a refusal's reason an SSO event keeps: reasons quote what a message said (a Destination, an
/// issuer), which anyone can make as long as the message itself.
pub const MAX_REASON_CHARS: usize = 500;

/// `reason` cut to [`MAX_REASON_CHARS`] characters, marked where it was cut.
fn capped(mut reason: String) -> String {
    if let Some((end, _)) = reason.char_indices().nth(MAX_REASON_CHARS) {
        reason.truncate(end);
        reason.push('…');
    }
    reason
}

/// The posted `SAMLResponse` decoded from Base64 (line breaks allowed), refused beyond the size limit.
fn decode_response(saml_response: &str) -> Result<Vec<u8>, String> {
    let compact: String = saml_response.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4 {
        return Err("the SAMLResponse is too large".into());
    }
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("the SAMLResponse is not Base64: {e}"))
}

/// The posted response as text, for the events' raw copy.
fn raw_text(saml_response: &str) -> Option<String> {
    String::from_utf8(decode_response(saml_response).ok()?).ok()
}

/// Attributes as the SSO events show them: one `name = value, value` line each.
fn attribute_lines(attributes: &[(String, Vec<String>)]) -> String {
    attributes
        .iter()
        .map(|(name, values)| format!("{name} = {}", values.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The email a verified assertion gives under the connection's settings, or why it gives none.
fn email_of(connection: &Connection, assertion: &SignedAssertion) -> Result<EmailAddress, String> {
    let email_text = match &connection.options.email {
        EmailSource::NameId => Some(assertion.name_id.clone()),
        EmailSource::Attribute(name) => assertion
            .attributes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, values)| values.first().cloned()),
    };
    let source = match &connection.options.email {
        EmailSource::NameId => format!("the NameID {}", assertion.name_id),
        EmailSource::Attribute(name) => format!("the attribute {name}"),
    };
    let text = email_text.ok_or_else(|| format!("{source} is missing"))?;
    EmailAddress::parse(&text).map_err(|e| format!("{source} is not a usable email address: {e}"))
}

/// What the audit log and the SSO events say when a sign-in takes an existing password user over.
fn takeover_detail(email: &str, connection_label: &str) -> String {
    format!("existing user {email} now signs in through {connection_label}; their password was removed")
}

/// What the owner's SSO events and audit log say of the Owner's deliberate link.
fn owner_link_detail(linked: &OwnerLinked) -> String {
    format!(
        "the Owner {} linked their identity at {} (NameID {}): it now signs them in, beside their password",
        linked.email, linked.connection_label, linked.name_id
    )
}

/// Where an IdP-initiated sign-in lands: its RelayState when that is a page of this site, as a path or as a URL
/// on Gatehouse's own origin (`own_url` is any URL of it); IdP admins enter either.
fn landing_page(relay_state: &str, own_url: &str) -> Option<String> {
    if let Some(path) = same_site_path(relay_state) {
        return Some(path.to_owned());
    }
    let url = url::Url::parse(relay_state.trim()).ok()?;
    let own = url::Url::parse(own_url).ok()?;
    if url.origin() != own.origin() {
        return None;
    }
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    same_site_path(&path).map(str::to_owned)
}

/// Why a connection may not sign in an email address: the user's message, the owner's reason, and whether the
/// domain counts as verified in the connection's account at all (Test SSO shows it).
struct DomainRefusal {
    user_message: &'static str,
    reason: String,
    verified_here: bool,
}

/// Why [`SsoService::check`] refused a response: the user's message, the owner's reason, the assertion once the
/// response passed every rule of its own, and whether its signature verified (only then is it kept for support).
struct Refusal {
    user_message: &'static str,
    reason: String,
    assertion: Option<SignedAssertion>,
    signature_verified: bool,
}

impl From<(&'static str, String, Option<SignedAssertion>)> for Refusal {
    fn from((user_message, reason, assertion): (&'static str, String, Option<SignedAssertion>)) -> Self {
        Refusal {
            user_message,
            reason,
            signature_verified: assertion.is_some(),
            assertion,
        }
    }
}

/// What a browser is told when its post was refused unchecked under the refusal limits.
pub const TOO_MANY_REFUSED: &str = "Too many sign-in attempts were refused here in the last minute. Wait a minute, then start again from the sign-in page.";

const EXPIRED: &str = "This sign-in has expired or was already used. Start again from the sign-in page.";
const REFUSED: &str = "Your identity provider's answer was refused.";
const UNAVAILABLE: &str = "Single sign-on is unavailable right now.";

impl SsoService {
    pub fn new(store: Store, connections: ConnectionService, auth: AuthService, junk: JunkPolicy) -> Self {
        Self {
            store,
            connections,
            auth,
            junk,
            refusals: Arc::new(RefusalLimiter::new(junk)),
        }
    }

    pub(super) async fn connection(&self, id: ConnectionId) -> Result<Option<(AccountId, Connection)>, StoreError> {
        let Some(row) = self.store.connection_by_id(id).await? else {
            return Ok(None);
        };
        let account = row.account_id;
        match self.connections.assemble(row).await {
            Ok(connection) => Ok(Some((account, connection))),
            Err(super::connection::ConnectionError::Store(e)) => Err(e),
            Err(e) => Err(StoreError::Damaged(e.to_string())),
        }
    }

    /// The connection that signs in users of `domain` (any case, ASCII or Unicode form): set when the domain is
    /// verified in an account with SSO on and routed to one of its connections.
    pub async fn connection_for_domain(&self, domain: &str) -> Result<Option<ConnectionId>, StoreError> {
        let Ok(name) = crate::domains::DomainName::parse(domain) else {
            return Ok(None);
        };
        Ok(self
            .store
            .domain_claim(name.as_str())
            .await?
            .map(|(_, connection)| connection))
    }

    /// Why `connection` may not sign in `email`, if it may not: a connection signs in only the users of domains
    /// that count as verified in its account and are routed to it, so that an IdP or certificate added for one
    /// group of users never vouches for another (the Owner's domain routed elsewhere, above all).
    async fn domain_refusal(
        &self,
        account: AccountId,
        connection: &Connection,
        email: &EmailAddress,
    ) -> Result<Option<DomainRefusal>, StoreError> {
        let routed = match self.store.domain_route(email.domain()).await? {
            Some((holder, routed)) if holder == account => routed,
            _ => {
                return Ok(Some(DomainRefusal {
                    user_message: "Your email address's domain is not set up for single sign-on with this account.",
                    reason: format!("{} is not a verified domain of this account", email.domain()),
                    verified_here: false,
                }));
            }
        };
        let reason = match routed {
            Some(id) if id == connection.id => return Ok(None),
            Some(other) => {
                let label = self
                    .store
                    .connection(account, other)
                    .await?
                    .map_or_else(|| other.to_string(), |row| row.label);
                format!("{} is routed to connection {label}, not this one", email.domain())
            }
            None => format!("{} is routed to password sign-in, not this connection", email.domain()),
        };
        Ok(Some(DomainRefusal {
            user_message: "Your email address's domain does not sign in through this identity provider. Start again from the sign-in page with your email address.",
            reason,
            verified_here: true,
        }))
    }

    /// Deletes pending requests and remembered assertions that can no longer be used, raw responses past their
    /// retention, SSO events past theirs, and each account's events beyond its cap.
    pub async fn remove_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let state = self.store.delete_expired_sso_state(now).await?;
        let raw = self.store.forget_raw_responses(now - self.junk.raw_retention).await?;
        let tests = self.store.delete_expired_test_requests(now).await?;
        let old_events = self.store.forget_sso_events(now - self.junk.event_retention).await?;
        let capped = self.store.cap_sso_events(self.junk.events_per_account).await?;
        Ok(state + raw + tests + old_events + capped)
    }

    /// Creates a pending AuthnRequest for the connection and the browser's way to the IdP.
    pub async fn start(
        &self,
        connection_id: ConnectionId,
        return_to: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        let (account, connection) = self.connection(connection_id).await?.ok_or(StartError::NoConnection)?;
        if !self.store.sso_policy(account).await?.sso_enabled {
            return Err(StartError::SsoOff);
        }
        self.issue(&connection, return_to, now).await
    }

    /// Starts a Test SSO run of the connection for the account's Owner, or the holder of a setup link the Owner
    /// created, also while SSO is off: they test before the Owner turns it on. The response to it is reported and
    /// signs no one in. With `return_to` the browser goes back there after the run, where the connection's last
    /// test shows what it found.
    pub async fn start_test(
        &self,
        caller: &Caller,
        connection_id: ConnectionId,
        return_to: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        let (account, connection) = self.connection(connection_id).await?.ok_or(StartError::NoConnection)?;
        self.connections
            .tenancy
            .require(caller, account, Permission::ManageTrust)
            .await?;
        let started = self.issue(&connection, return_to, now).await?;
        // A run through a setup link is the run of the Owner who created the link and vouches for it: the report
        // goes to the browser that started it either way, and a run stops counting if they stop being the Owner.
        let tester = caller
            .setup_link
            .as_ref()
            .map_or(caller.user_id, |grant| grant.created_by);
        self.store
            .insert_owner_run(
                &started.request_id,
                tester,
                OwnerRunPurpose::Test,
                now + REQUEST_LIFETIME,
            )
            .await?;
        if caller.setup_link.is_some() {
            let entry = audit::entry(account, caller, now, "Test SSO started", connection.label.clone());
            self.store.insert_audit_entry(&entry).await?;
        }
        Ok(started)
    }

    /// Starts the Owner's deliberate link to their own identity at the connection's IdP (also while SSO is off).
    /// An assertion never signs the Owner in unlinked (break-glass); completing this round trip in the Owner's
    /// own signed-in browser is the one way to link them. The Owner's email domain must count as verified in the
    /// account and be routed to the connection, as for every link.
    pub async fn start_link(
        &self,
        caller: &Caller,
        connection_id: ConnectionId,
        return_to: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        let (account, connection) = self.connection(connection_id).await?.ok_or(StartError::NoConnection)?;
        if caller.setup_link.is_some() {
            return Err(TenancyError::SetupLinkOnly.into());
        }
        self.connections
            .tenancy
            .require(caller, account, Permission::ManageTrust)
            .await?;
        let domain = ascii_email_domain(&caller.email);
        match self.store.domain_route(&domain).await? {
            Some((holder, Some(routed))) if holder == account && routed == connection_id => {}
            _ => return Err(StartError::OwnDomainNotRouted(domain)),
        }
        let started = self.issue(&connection, return_to, now).await?;
        self.store
            .insert_owner_run(
                &started.request_id,
                caller.user_id,
                OwnerRunPurpose::Link,
                now + REQUEST_LIFETIME,
            )
            .await?;
        Ok(started)
    }

    /// Stores a pending AuthnRequest for the connection and builds the browser's way to the IdP.
    async fn issue(
        &self,
        connection: &Connection,
        return_to: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        let connection_id = connection.id;
        let request_id = format!("_{}", uuid::Uuid::new_v4().simple());
        let browser_token = token::generate();
        let values = self.connections.service_provider_values(connection_id);
        let active = connection
            .sp_keys
            .iter()
            .find(|k| k.state == KeyState::Active)
            .ok_or(StartError::NoKey)?;
        let signing = active.signing_key();
        let params = RequestParams {
            id: &request_id,
            now,
            destination: &connection.sso_endpoint().location,
            sp_entity_id: &values.entity_id,
            acs_url: &values.acs_url,
            authn_context: connection.options.authn_context,
            binding: connection.options.binding,
            relay_state: &request_id,
        };
        let outgoing = outgoing(&params, connection.options.sign_authn_requests.then_some(&signing))?;
        self.store
            .insert_pending_request(&PendingRequestRow {
                id: request_id.clone(),
                connection_id,
                browser_digest: token::digest(&browser_token),
                return_to,
                created_at: now,
                expires_at: now + REQUEST_LIFETIME,
            })
            .await?;
        Ok(Started {
            outgoing,
            browser_token,
            request_id,
        })
    }

    /// Applies every rule to a response posted to the connection's ACS and, when it passes, provisions the user
    /// and opens their session. `browser_token` is the request-binding cookie, if the browser sent one.
    pub async fn sign_in(
        &self,
        connection_id: ConnectionId,
        saml_response: &str,
        relay_state: &str,
        browser_token: Option<&str>,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, Refused> {
        let completed = self
            .complete(
                connection_id,
                saml_response,
                relay_state,
                browser_token,
                client,
                Purpose::SignIn,
                now,
            )
            .await?;
        match completed {
            Completed::SignedIn(signed_in) => Ok(signed_in),
            Completed::Linked(_) => unreachable!("a sign-in never links the Owner"),
        }
    }

    /// A response for `purpose` under every rule, recorded in the SSO events and counted by the refusal limits.
    #[allow(clippy::too_many_arguments)]
    async fn complete(
        &self,
        connection_id: ConnectionId,
        saml_response: &str,
        relay_state: &str,
        browser_token: Option<&str>,
        client: Option<IpAddr>,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Completed, Refused> {
        let found = self.connection(connection_id).await.map_err(|e| Refused {
            reference: reference(),
            user_message: UNAVAILABLE,
            reason: e.to_string(),
        })?;
        let Some((account, connection)) = found else {
            return Err(Refused {
                reference: reference(),
                user_message: "This sign-in address is not a known SSO connection.",
                reason: format!("no connection {connection_id}"),
            });
        };
        let accepted = self
            .accept(
                account,
                &connection,
                saml_response,
                relay_state,
                browser_token,
                purpose,
                now,
            )
            .await;
        let outcome = match (accepted, purpose) {
            (Err(refusal), _) => Err(refusal),
            (Ok(accepted), Purpose::SignIn) => self
                .provision(account, &connection, accepted, now)
                .await
                .map(Completed::SignedIn),
            (Ok(accepted), Purpose::OwnerLink) => self
                .link_owner(account, &connection, accepted, now)
                .await
                .map(Completed::Linked),
        };
        // Kept only for a message whose signature verified: that is what support needs, and junk that anyone
        // can post must cost no storage.
        let from_idp = outcome
            .as_ref()
            .map_or_else(|refusal| refusal.signature_verified, |_| true);
        if !from_idp {
            self.refusals.refused(connection_id, client, now);
        }
        let raw_response = (from_idp && self.junk.raw_retention > Duration::zero())
            .then(|| raw_text(saml_response))
            .flatten();
        let (detail, result) = match outcome {
            Ok(Completed::SignedIn(accepted)) => (
                EventDetail {
                    outcome: "accepted",
                    reason: if accepted.taken_over {
                        format!(
                            "signed in as {email}: {}",
                            takeover_detail(&accepted.email, &connection.label),
                            email = accepted.email
                        )
                    } else {
                        format!("signed in as {}", accepted.email)
                    },
                    name_id: Some(accepted.assertion.name_id.clone()),
                    attributes: attribute_lines(&accepted.assertion.attributes),
                    raw_response,
                },
                Ok(Completed::SignedIn(accepted)),
            ),
            Ok(Completed::Linked(linked)) => (
                EventDetail {
                    outcome: "accepted",
                    reason: owner_link_detail(&linked),
                    name_id: Some(linked.name_id.clone()),
                    attributes: String::new(),
                    raw_response,
                },
                Ok(Completed::Linked(linked)),
            ),
            Err(Refusal {
                user_message,
                reason,
                assertion,
                ..
            }) => (
                EventDetail {
                    outcome: "refused",
                    reason: reason.clone(),
                    name_id: assertion.as_ref().map(|a| a.name_id.clone()),
                    attributes: assertion
                        .as_ref()
                        .map(|a| attribute_lines(&a.attributes))
                        .unwrap_or_default(),
                    raw_response,
                },
                Err(Refused {
                    reference: reference(),
                    user_message,
                    reason,
                }),
            ),
        };
        let event_reference = result.as_ref().err().map_or_else(reference, |r| r.reference.clone());
        self.record_event(account, connection_id, now, &event_reference, detail)
            .await;
        result
    }

    /// Writes one SSO event of a connection under `reference`; a failure to write is logged and the sign-in or
    /// sign-out itself goes on.
    pub(super) async fn record_event(
        &self,
        account: AccountId,
        connection_id: ConnectionId,
        now: DateTime<Utc>,
        reference: &str,
        detail: EventDetail,
    ) {
        let event = SsoEventRow {
            account_id: account,
            connection_id: Some(connection_id),
            at: now,
            outcome: detail.outcome.into(),
            reference: reference.to_owned(),
            reason: capped(detail.reason),
            name_id: detail.name_id,
            attributes: detail.attributes,
            raw_response: detail.raw_response,
        };
        if let Err(e) = self.store.insert_sso_event(&event).await {
            tracing::error!(error = %e, reference = %event.reference, "recording an SSO event failed");
        }
    }

    /// Why the pending request named by a response's RelayState could not be taken, for the user and the owner.
    async fn why_not_taken(&self, reference: &str, browser: &str) -> (&'static str, String, Option<SignedAssertion>) {
        match self.store.pending_request(reference).await {
            Ok(Some((_, true))) => (EXPIRED, format!("the request {reference} was already used"), None),
            Ok(Some((request, false))) if request.browser_digest != browser => (
                "This sign-in was started in another browser, or your browser blocked its cookie. Start again here.",
                "the response arrived without the browser-binding cookie of its request".into(),
                None,
            ),
            Ok(_) => (EXPIRED, format!("no pending request {reference}"), None),
            Err(e) => (UNAVAILABLE, e.to_string(), None),
        }
    }

    /// Every rule short of provisioning, in order; a refusal carries the user's message, the owner's reason and,
    /// once the signature verified, the assertion (its NameID and attributes help the owner).
    #[allow(clippy::too_many_arguments)]
    async fn accept(
        &self,
        account: AccountId,
        connection: &Connection,
        saml_response: &str,
        relay_state: &str,
        browser_token: Option<&str>,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Accepted, Refusal> {
        let store_error = |e: StoreError| (UNAVAILABLE, e.to_string(), None);
        let policy = self.store.sso_policy(account).await.map_err(store_error)?;
        if purpose == Purpose::SignIn && !policy.sso_enabled {
            return Err((
                "Single sign-on is turned off for this account.",
                "SSO is off for this account (the Owner turns it on under Sign-in policy)".into(),
                None,
            )
                .into());
        }
        let mut landing = None;
        let request = match relay_state.trim() {
            "" => None,
            reference => {
                let browser = browser_token.map(token::digest).unwrap_or_default();
                match self
                    .store
                    .take_pending_request(reference, &browser, now)
                    .await
                    .map_err(store_error)?
                {
                    Some(request) => Some(request),
                    // An IdP-initiated sign-in's RelayState is the IdP admin's landing page, never a request of
                    // ours; a response that does answer a request is refused below by its InResponseTo.
                    None if purpose == Purpose::SignIn
                        && connection.options.allow_idp_initiated
                        && self
                            .store
                            .pending_request(reference)
                            .await
                            .map_err(store_error)?
                            .is_none() =>
                    {
                        let acs_url = self.connections.service_provider_values(connection.id).acs_url;
                        landing = landing_page(reference, &acs_url);
                        None
                    }
                    None => return Err(self.why_not_taken(reference, &browser).await.into()),
                }
            }
        };
        if purpose == Purpose::OwnerLink && request.is_none() {
            return Err((EXPIRED, "the Owner's link was not answered to its request".into(), None).into());
        }
        let mut owner_run = None;
        if let Some(request) = &request {
            owner_run = self.store.owner_run(&request.id).await.map_err(store_error)?;
            let was = match (purpose, owner_run.as_ref().map(|r| r.purpose)) {
                (Purpose::SignIn, None) | (Purpose::OwnerLink, Some(OwnerRunPurpose::Link)) => None,
                (_, Some(OwnerRunPurpose::Test)) => Some("a Test SSO run, which signs no one in"),
                (Purpose::SignIn, Some(OwnerRunPurpose::Link)) => {
                    Some("the Owner's link to their IdP identity, which signs no one in")
                }
                (Purpose::OwnerLink, None) => Some("an ordinary sign-in, not the Owner's link"),
            };
            if let Some(was) = was {
                return Err((EXPIRED, format!("the request {} was {was}", request.id), None).into());
            }
            if request.connection_id != connection.id {
                return Err((EXPIRED, "the request was made for another connection".into(), None).into());
            }
            if request.expires_at <= now {
                return Err((
                    EXPIRED,
                    format!("the request expired at {}", request.expires_at.to_rfc3339()),
                    None,
                )
                    .into());
            }
        }
        let xml = decode_response(saml_response).map_err(|reason| (REFUSED, reason, None))?;
        let validated = self
            .validate(connection, xml, request.as_ref().map(|r| r.id.clone()), now)
            .await
            .map_err(|reason| (REFUSED, reason, None))?;
        let assertion = validated.result.map_err(|rejection| Refusal {
            user_message: REFUSED,
            reason: rejection.to_string(),
            assertion: None,
            signature_verified: validated.signature_verified,
        })?;
        let skew = Duration::seconds(connection.options.clock_skew_seconds.into());
        let fresh = self
            .store
            .remember_message(connection.id, &assertion.id, assertion.valid_until + skew)
            .await
            .map_err(store_error)?;
        if !fresh {
            return Err((
                REFUSED,
                format!("the assertion {} was already used (a replayed response)", assertion.id),
                Some(assertion),
            )
                .into());
        }
        let email = match email_of(connection, &assertion) {
            Ok(email) => email,
            Err(reason) => {
                return Err((
                    "Your identity provider did not send a usable email address.",
                    reason,
                    Some(assertion),
                )
                    .into());
            }
        };
        if let Some(refusal) = self
            .domain_refusal(account, connection, &email)
            .await
            .map_err(store_error)?
        {
            return Err((refusal.user_message, refusal.reason, Some(assertion)).into());
        }
        Ok(Accepted {
            request,
            landing,
            assertion,
            email,
            no_separate_account: policy.no_separate_account,
            owner_run,
        })
    }

    /// Provisions the user of an accepted response and opens their session.
    async fn provision(
        &self,
        account: AccountId,
        connection: &Connection,
        accepted: Accepted,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, Refusal> {
        let Accepted {
            request,
            landing,
            assertion,
            email,
            no_separate_account,
            ..
        } = accepted;
        let store_error = |e: StoreError| (UNAVAILABLE, e.to_string(), None);
        let personal = personal_account_name(email.display());
        let mapped_role = connection.mappings.role_for(&assertion.attributes);
        let email_text = email.display().to_owned();
        let role_change_audit = |before: Role| {
            audit::system_entry(
                account,
                now,
                "Gatehouse role mapping",
                "Role changed at SSO sign-in",
                format!("{email_text}: {before} → {mapped_role}"),
            )
        };
        let takeover_audit = audit::system_entry(
            account,
            now,
            "Gatehouse SSO sign-in",
            "Existing user taken over by SSO",
            takeover_detail(&email_text, &connection.label),
        );
        let provisioned = self
            .store
            .provision_sso_user(&Provisioning {
                account_id: account,
                connection_id: connection.id,
                name_id: &assertion.name_id,
                email: &email,
                mapped_role,
                reapply: connection.mappings.reapply_on_sign_in,
                personal_account: (!no_separate_account).then_some(personal.as_str()),
                role_change_audit: &role_change_audit,
                takeover_audit: &takeover_audit,
                now,
            })
            .await
            .map_err(store_error)?;
        let provisioned = match provisioned {
            Ok(provisioned) => provisioned,
            Err(LinkRefusal::Owner) => {
                return Err((
                    "This account's Owner signs in with their password, not through single sign-on.",
                    "the assertion names the account's Owner, who signs in with their password; the Owner links \
                     their own IdP identity deliberately"
                        .to_owned(),
                    Some(assertion),
                )
                    .into());
            }
            Err(LinkRefusal::DomainNotRouted { linked_email }) => {
                return Err((
                    "Your account's email domain does not sign in through this identity provider any more. Ask \
                     your administrator.",
                    format!(
                        "the NameID {} is linked to {linked_email}, whose domain is no longer verified in this \
                         account and routed to this connection",
                        assertion.name_id
                    ),
                    Some(assertion),
                )
                    .into());
            }
        };
        let session = self
            .auth
            .start_session(
                provisioned.user_id,
                Some(&IdpSession {
                    connection_id: connection.id,
                    name_id: assertion.name_id.clone(),
                    name_id_format: assertion.name_id_format.clone(),
                    session_index: assertion.session_index.clone(),
                }),
                now,
            )
            .await
            .map_err(|e| (UNAVAILABLE, e.to_string(), None))?;
        Ok(SignedIn {
            account,
            connection: connection.id,
            email: email.display().to_owned(),
            assertion,
            return_to: request.and_then(|r| r.return_to).or(landing),
            user_id: provisioned.user_id,
            created: provisioned.created,
            taken_over: provisioned.taken_over,
            role: provisioned.role,
            session,
        })
    }
    /// Links the Owner who started the request to the IdP identity of an accepted response: only while they are
    /// still the Owner, only when the IdP vouches for the Owner's own address, and never over another user's link.
    async fn link_owner(
        &self,
        account: AccountId,
        connection: &Connection,
        accepted: Accepted,
        now: DateTime<Utc>,
    ) -> Result<OwnerLinked, Refusal> {
        let Accepted {
            assertion,
            email,
            owner_run,
            ..
        } = accepted;
        let store_error = |e: StoreError| (UNAVAILABLE, e.to_string(), None);
        let Some(owner) = owner_run else {
            return Err((
                EXPIRED,
                "the response answers no link of the Owner's".into(),
                Some(assertion),
            )
                .into());
        };
        if self.store.role_of(account, owner.user_id).await.map_err(store_error)? != Some(Role::Owner) {
            return Err((
                "Only the account's Owner can link their own sign-in.",
                format!("{} started the link but is no longer the account's Owner", owner.email),
                Some(assertion),
            )
                .into());
        }
        if EmailAddress::parse(&owner.email).ok().as_ref() != Some(&email) {
            return Err((
                "Your identity provider signed in someone else. Sign out there, then link again as yourself.",
                format!(
                    "the Owner {} started the link, but the IdP asserted {email}",
                    owner.email
                ),
                Some(assertion),
            )
                .into());
        }
        let linked = OwnerLinked {
            account,
            connection: connection.id,
            connection_label: connection.label.clone(),
            email: email.display().to_owned(),
            name_id: assertion.name_id.clone(),
        };
        let audit = AuditRow {
            account_id: account,
            at: now,
            actor_email: owner.email.clone(),
            action: "Owner linked their IdP identity".to_owned(),
            detail: owner_link_detail(&linked),
        };
        let fresh = self
            .store
            .link_owner(connection.id, &assertion.name_id, owner.user_id, &audit, now)
            .await
            .map_err(store_error)?;
        if !fresh {
            return Err((
                "This identity at your identity provider already signs in another user.",
                format!("the NameID {} is already linked to another user", assertion.name_id),
                Some(assertion),
            )
                .into());
        }
        Ok(linked)
    }

    /// The response rules of `validate_response` for this connection, off the async threads; `Err` only when the
    /// check could not run.
    async fn validate(
        &self,
        connection: &Connection,
        xml: Vec<u8>,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Checked, String> {
        let values = self.connections.service_provider_values(connection.id);
        let certificates = connection.idp.certificates.clone();
        let sp_keys = connection.sp_keys.clone();
        let idp_entity_id = connection.idp.entity_id.clone();
        let options = connection.options.clone();
        tokio::task::spawn_blocking(move || {
            check_response(
                &xml,
                &Expectations {
                    idp_entity_id: &idp_entity_id,
                    certificates: &certificates,
                    sp_keys: &sp_keys,
                    sp_entity_id: &values.entity_id,
                    acs_url: &values.acs_url,
                    request_id: request_id.as_deref(),
                    allow_unsolicited: options.allow_idp_initiated,
                    allow_sha1: options.allow_sha1,
                    clock_skew: Duration::seconds(options.clock_skew_seconds.into()),
                    now,
                },
            )
        })
        .await
        .map_err(|e| format!("checking the response stopped: {e}"))
    }

    /// The ACS: a response to a Test SSO run is only reported ([`Self::test_response`]); any other goes through
    /// [`Self::sign_in`]. A connection or client address past its allowance of unverified refusals
    /// ([`JunkPolicy`]) is refused unchecked, with one summarising SSO event instead of one per post.
    pub async fn acs(
        &self,
        connection_id: ConnectionId,
        saml_response: &str,
        relay_state: &str,
        browser_token: Option<&str>,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<AcsOutcome, Refused> {
        let mut summaries = Vec::new();
        let admission = self
            .refusals
            .admit(connection_id, client, now, |ended| summaries.push(ended));
        let admitted = match admission {
            Admission::Check => true,
            Admission::Refuse => false,
            Admission::RefuseAndSummarise(summary) => {
                summaries.push(summary);
                false
            }
        };
        if !summaries.is_empty() {
            self.record_summaries(connection_id, summaries, now).await;
        }
        if !admitted {
            return Err(Refused {
                reference: reference(),
                user_message: TOO_MANY_REFUSED,
                reason: "refused unchecked: too many posts were refused here within a minute".into(),
            });
        }
        let reference_id = relay_state.trim();
        let run = match reference_id {
            "" => None,
            id => self.store.owner_run(id).await.ok().flatten().map(|r| r.purpose),
        };
        let purpose = match run {
            Some(OwnerRunPurpose::Test) => {
                return self
                    .test_response(connection_id, saml_response, relay_state, browser_token, client, now)
                    .await
                    .map(AcsOutcome::Tested);
            }
            Some(OwnerRunPurpose::Link) => Purpose::OwnerLink,
            None => Purpose::SignIn,
        };
        let completed = self
            .complete(
                connection_id,
                saml_response,
                relay_state,
                browser_token,
                client,
                purpose,
                now,
            )
            .await?;
        Ok(match completed {
            Completed::SignedIn(signed_in) => AcsOutcome::SignedIn(signed_in),
            Completed::Linked(linked) => AcsOutcome::Linked(linked),
        })
    }

    /// Records what the refusal limits summarise, as refused events of the connection's account.
    async fn record_summaries(&self, connection_id: ConnectionId, summaries: Vec<String>, now: DateTime<Utc>) {
        let account = match self.store.connection_by_id(connection_id).await {
            Ok(Some(row)) => row.account_id,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "recording a refusal summary failed");
                return;
            }
        };
        for reason in summaries {
            let detail = EventDetail {
                outcome: "refused",
                reason,
                name_id: None,
                attributes: String::new(),
                raw_response: None,
            };
            self.record_event(account, connection_id, now, &reference(), detail)
                .await;
        }
    }

    /// Checks a response to a Test SSO run under every rule a sign-in applies, without remembering the assertion,
    /// provisioning anyone or opening a session, and reports each check. Only the browser that started the run
    /// gets the report; the run is recorded in the SSO events with the outcome "test".
    pub async fn test_response(
        &self,
        connection_id: ConnectionId,
        saml_response: &str,
        relay_state: &str,
        browser_token: Option<&str>,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<TestReport, Refused> {
        let unavailable = |e: StoreError| Refused {
            reference: reference(),
            user_message: UNAVAILABLE,
            reason: e.to_string(),
        };
        let Some((account, connection)) = self.connection(connection_id).await.map_err(unavailable)? else {
            return Err(Refused {
                reference: reference(),
                user_message: "This sign-in address is not a known SSO connection.",
                reason: format!("no connection {connection_id}"),
            });
        };
        let reference_id = relay_state.trim();
        let browser = browser_token.map(token::digest).unwrap_or_default();
        let taken = self
            .store
            .take_pending_request(reference_id, &browser, now)
            .await
            .map_err(unavailable)?;
        let Some(request) = taken else {
            let (user_message, reason, _) = self.why_not_taken(reference_id, &browser).await;
            return Err(Refused {
                reference: reference(),
                user_message,
                reason,
            });
        };
        let tester = self.store.owner_run(&request.id).await.map_err(unavailable)?;
        let still_owner = match tester {
            Some(run) if run.purpose == OwnerRunPurpose::Test => {
                self.store.role_of(account, run.user_id).await.map_err(unavailable)? == Some(Role::Owner)
            }
            _ => false,
        };
        if !still_owner {
            return Err(Refused {
                reference: reference(),
                user_message: "Only the account's Owner can test single sign-on.",
                reason: format!(
                    "the request {} is not a Test SSO run of the account's Owner",
                    request.id
                ),
            });
        }
        let sso_enabled = self.store.sso_policy(account).await.map_err(unavailable)?.sso_enabled;
        let decoded = decode_response(saml_response);
        let (response_xml, response_truncated) = decoded.as_deref().map(shown_xml).unwrap_or_default();
        let mut report = TestReport {
            account,
            connection: connection_id,
            connection_label: connection.label.clone(),
            reference: reference(),
            response_xml,
            response_truncated,
            checks: Vec::new(),
            name_id: None,
            name_id_format: None,
            attributes: Vec::new(),
            email: None,
            email_domain_verified: None,
            role: None,
            takes_over: false,
            sso_enabled,
            signature_verified: false,
            return_to: request.return_to.clone(),
        };
        let failed = self
            .test_checks(account, &connection, &request, decoded, now, &mut report)
            .await;
        let failed = match failed {
            Ok(failed) => failed,
            Err(e) => return Err(unavailable(e)),
        };
        report.checks = outcomes(failed);
        let reason = match report.first_failure() {
            None => "Test SSO passed".to_owned(),
            Some((check, why)) => format!("Test SSO failed: {}: {why}", check.label()),
        };
        if !report.passed() && !report.signature_verified {
            self.refusals.refused(connection_id, client, now);
        }
        let raw_response = (report.signature_verified && self.junk.raw_retention > Duration::zero())
            .then(|| raw_text(saml_response))
            .flatten();
        let detail = EventDetail {
            outcome: "test",
            reason,
            name_id: report.name_id.clone(),
            attributes: attribute_lines(&report.attributes),
            raw_response,
        };
        self.record_event(account, connection_id, now, &report.reference, detail)
            .await;
        if let Err(e) = self.store.record_last_test(connection_id, now, &report.summary()).await {
            tracing::error!(error = %e, reference = %report.reference, "recording the last Test SSO run failed");
        }
        Ok(report)
    }

    /// The checks of a test run in a sign-in's order, filling in what the response gives; the first failed
    /// check and why, if any.
    async fn test_checks(
        &self,
        account: AccountId,
        connection: &Connection,
        request: &PendingRequestRow,
        decoded: Result<Vec<u8>, String>,
        now: DateTime<Utc>,
        report: &mut TestReport,
    ) -> Result<Option<(Check, String)>, StoreError> {
        if request.connection_id != connection.id {
            return Ok(Some((
                Check::Request,
                "the test was started for another connection".into(),
            )));
        }
        if request.expires_at <= now {
            return Ok(Some((
                Check::Request,
                format!("the test request expired at {}", request.expires_at.to_rfc3339()),
            )));
        }
        let xml = match decoded {
            Ok(xml) => xml,
            Err(reason) => return Ok(Some((Check::Readable, reason))),
        };
        let assertion = match self.validate(connection, xml, Some(request.id.clone()), now).await {
            Err(reason) => return Ok(Some((Check::Readable, reason))),
            Ok(checked) => {
                report.signature_verified = checked.signature_verified;
                match checked.result {
                    Err(rejection) => return Ok(Some((Check::of(&rejection), rejection.to_string()))),
                    Ok(assertion) => assertion,
                }
            }
        };
        report.name_id = Some(assertion.name_id.clone());
        report.name_id_format = assertion.name_id_format.clone();
        report.attributes = assertion.attributes.clone();
        report.role = Some(connection.mappings.role_for(&assertion.attributes));
        // Only looked at: a test leaves the replay cache as it was, so the same login can still sign in later.
        if self.store.assertion_seen(connection.id, &assertion.id).await? {
            return Ok(Some((
                Check::Replay,
                format!("the assertion {} was already used (a replayed response)", assertion.id),
            )));
        }
        let email = match email_of(connection, &assertion) {
            Ok(email) => email,
            Err(reason) => return Ok(Some((Check::Email, reason))),
        };
        report.email = Some(email.display().to_owned());
        let refusal = self.domain_refusal(account, connection, &email).await?;
        report.email_domain_verified = Some(refusal.as_ref().is_none_or(|r| r.verified_here));
        if let Some(refusal) = refusal {
            return Ok(Some((Check::Domain, refusal.reason)));
        }
        let existing = self
            .store
            .sign_in_preview(account, connection.id, &assertion.name_id, &email)
            .await?;
        report.takes_over = existing == Some(ExistingUser::TakeOver);
        Ok((existing == Some(ExistingUser::Owner)).then(|| {
            (
                Check::User,
                format!(
                    "{email} is the account's Owner, who signs in with their password until they link this identity \
                     (Link my sign-in on the connection's page)"
                ),
            )
        }))
    }
}
