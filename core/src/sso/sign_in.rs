//! SSO sign-in, both legs: starting an AuthnRequest bound to the browser, and accepting the IdP's response at the
//! ACS under every rule (the response rules, one use per request, replay, the account's verified domains routed to
//! the connection), with each attempt recorded for the owner's SSO events log.

use super::certificate_uses::CertificateUses;
use super::connection::{Connection, ConnectionService};
use super::explanation::{ExplainedFor, Explanation, explain};
use super::junk::{Admission, JunkPolicy, RefusalLimiter, StartLimiter};
use super::kept_connections::{ConnectionInUse, KeptConnections};
use super::options::EmailSource;
use super::refusal::{EmailClaim, Refusal, kept_at_most};
use super::test_sso::{Check, TestReport, outcomes, shown_xml};
use crate::audit;
use crate::auth::return_path::same_site_path;
use crate::auth::{AuthService, Caller, EmailAddress, NewSession, personal_account_name};
use crate::ids::{AccountId, ConnectionId, UserId, new_reference};
use crate::metrics;
use crate::saml::authn_request::{Outgoing, RequestParams, outgoing};
use crate::saml::binding::BindingError;
use crate::saml::logout::IdpSession;
use crate::saml::response::{Checked, Expectations, MAX_RESPONSE_BYTES, SignedAssertion, check_response};
use crate::saml::sp_keys::KeyState;
use crate::saml::xmlsec;
use crate::store::{
    AcsWrites, AuditRow, ExistingUser, InsertsStored, LinkRefusal, LinkedMember, Newcomer, OwnerRun, OwnerRunPurpose,
    PendingRequestRow, Provisioned, Provisioning, SignInInserts, SsoEventRow, Store, StoreError, TakenRequest,
    ascii_email_domain,
};
use crate::tenancy::{Permission, Role, TenancyError};
use crate::token;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

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

/// What a response at the ACS is for, told by the request it answers (the Owner's own round trips are marked).
/// Every mode runs the same rules; they differ only where a rule writes.
#[derive(Clone, Debug)]
enum Mode {
    /// Sign a user in: SSO must be on; IdP-initiated where the connection allows it.
    SignIn,
    /// Link the Owner who started the request to their IdP identity.
    OwnerLink(OwnerRun),
    /// Test SSO, a dry run: the replay cache is only looked at, no one is provisioned and no session opened.
    Test,
}

impl Mode {
    /// The mode's name in the operator's metrics.
    fn key(&self) -> &'static str {
        match self {
            Mode::SignIn => "sign_in",
            Mode::OwnerLink(_) => "owner_link",
            Mode::Test => "test",
        }
    }
}

/// What the rules found on the way, whether or not the response passed them all: the SSO event keeps it and Test
/// SSO reports it.
#[derive(Default)]
struct Findings {
    request: Option<PendingRequestRow>,
    run: Option<OwnerRun>,
    /// Where an IdP-initiated sign-in lands.
    landing: Option<String>,
    xml: Option<Vec<u8>>,
    signature_verified: bool,
    /// The SHA-256 fingerprint of the configured certificate that verified the signature.
    signed_with: Option<String>,
    assertion: Option<SignedAssertion>,
    email: Option<EmailAddress>,
    /// Whether the email's domain counts as verified in the connection's account.
    email_domain_verified: Option<bool>,
    /// The member of the account the connection's link for the asserted NameID leads to, read with the domain.
    linked: Option<LinkedMember>,
    /// No link for the NameID and no user with the email when the domain was read.
    newcomer: bool,
    takes_over: bool,
}

/// What a sign-in or the Owner's link leaves to store, stored with the response's SSO event as the ACS ends.
enum Writes {
    /// A returning member's sign-in, which changes no user, or a newcomer's, which only inserts: stored in one go
    /// with the event ([`Store::store_sign_in_inserts`]), which applies its replay rule.
    Inserts(Box<SignInInserts>),
    /// The transaction of a first sign-in (provisioning) or the Owner's link, open since their replay rule, with what
    /// they wrote in it.
    Open(AcsWrites),
}

/// Why a response's writes were not stored.
enum NotStored {
    Refused(Refusal),
    /// Another sign-in stored the newcomer's user or link since the domain was read: the user rule runs again.
    Raced,
}

/// What a response that passed every rule did.
#[allow(clippy::large_enum_variant)]
enum Passed {
    SignedIn(SignedIn),
    Linked(OwnerLinked),
    Tested,
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

/// A refused response: why, and the reference joining what the user is shown to the owner's SSO events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The reference of the SSO event that records the refusal, for the user to hand to the owner. None when no
    /// event was recorded, so there is nothing to look up: a post refused unchecked by the refusal limits (their
    /// summary event stands for all of them) or before its connection was known.
    pub reference: Option<String>,
    pub refusal: Refusal,
    /// What the user can do about it, where they can (`sso::explanation`).
    pub user_hint: Option<&'static str>,
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Self {
        Refused {
            reference: None,
            user_hint: None,
            refusal,
        }
    }
}

#[derive(Clone)]
pub struct SsoService {
    pub(super) store: Store,
    pub(super) connections: ConnectionService,
    pub(super) auth: AuthService,
    /// What junk at the ACS may cost: retention, caps and the refusal limits.
    junk: JunkPolicy,
    /// Unverified refusals per connection and client address, at the ACS and the SLO URL alike, shared by every
    /// clone of the service.
    pub(super) refusals: Arc<RefusalLimiter>,
    /// Sign-ins started per client address, shared by every clone of the service.
    starts: Arc<StartLimiter>,
    /// Connections at their stored revision, shared by every clone of the service.
    kept: Arc<KeptConnections>,
    /// The certificate uses this instance wrote last, shared by every clone of the service.
    certificate_uses: Arc<CertificateUses>,
}

/// What an SSO event says: its outcome ("accepted", "refused", "test", "signed-out", "logout-refused"), why (a
/// refusal as its stored facts, anything else in the owner's words), and what the message told about the user.
pub(super) struct EventDetail {
    pub outcome: &'static str,
    pub reason: String,
    /// `Refusal::to_stored` or `LogoutRefusal::to_stored`, as the outcome says.
    pub refusal: Option<String>,
    pub name_id: Option<String>,
    pub attributes: String,
    pub raw_response: Option<String>,
    pub explanation: Option<Explanation>,
}

/// The posted `SAMLResponse` decoded from Base64 (line breaks allowed), refused beyond the size limit.
fn decode_response(saml_response: &str) -> Result<Vec<u8>, Refusal> {
    let compact: String = saml_response.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4 {
        return Err(Refusal::TooLarge);
    }
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Refusal::NotBase64(e.to_string()))
}

/// Attributes as the SSO events show them: one `name = value, value` line each.
fn attribute_lines(attributes: &[(String, Vec<String>)]) -> String {
    attributes
        .iter()
        .map(|(name, values)| format!("{name} = {}", values.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The email a verified assertion gives under the connection's settings.
fn email_of(connection: &Connection, assertion: &SignedAssertion) -> Result<EmailAddress, Refusal> {
    let (claim, text) = match &connection.options.email {
        EmailSource::NameId => (
            EmailClaim::NameId(assertion.name_id.clone()),
            Some(assertion.name_id.as_str()),
        ),
        EmailSource::Attribute(name) => (
            EmailClaim::Attribute(name.clone()),
            assertion
                .attributes
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, values)| values.first())
                .map(String::as_str),
        ),
    };
    let Some(text) = text else {
        return Err(Refusal::EmailMissing(claim));
    };
    EmailAddress::parse(text).map_err(|e| Refusal::EmailUnusable {
        claim,
        problem: e.to_string(),
    })
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

impl SsoService {
    pub fn new(store: Store, connections: ConnectionService, auth: AuthService, junk: JunkPolicy) -> Self {
        Self {
            store,
            connections,
            auth,
            junk,
            refusals: Arc::new(RefusalLimiter::new(junk)),
            starts: Arc::new(StartLimiter::new(junk)),
            kept: Arc::default(),
            certificate_uses: Arc::default(),
        }
    }

    /// The connection as messages use it, with its account's policy: one read of its revision while this
    /// instance keeps it at that revision, the connection's rows and policy otherwise.
    pub(super) async fn connection(&self, id: ConnectionId) -> Result<Option<Arc<ConnectionInUse>>, StoreError> {
        self.connection_at(id, None).await
    }

    /// [`Self::connection`], with its revision when a statement already read it.
    async fn connection_at(
        &self,
        id: ConnectionId,
        known_revision: Option<i64>,
    ) -> Result<Option<Arc<ConnectionInUse>>, StoreError> {
        let revision = match known_revision {
            Some(revision) => revision,
            None => match self.store.connection_revision(id).await? {
                Some(revision) => revision,
                None => return Ok(None),
            },
        };
        if let Some(in_use) = self.kept.at(id, revision) {
            return Ok(Some(in_use));
        }
        let Some(row) = self.store.connection_by_id(id).await? else {
            return Ok(None);
        };
        let account = row.account_id;
        let connection = match self.connections.assemble_for_messages(row).await {
            Ok(connection) => connection,
            Err(super::connection::ConnectionError::Store(e)) => return Err(e),
            Err(e) => return Err(StoreError::Damaged(e.to_string())),
        };
        let policy = self.store.sso_policy(account).await?;
        let in_use = Arc::new(ConnectionInUse {
            revision,
            account,
            connection,
            policy,
        });
        self.kept.keep(in_use.clone());
        Ok(Some(in_use))
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

    /// The domain rule: a connection signs in only the users of domains that count as verified in its account
    /// and are routed to it, so that an IdP or certificate added for one group of users never vouches for another
    /// (the Owner's domain routed elsewhere, above all). Notes in `findings` whether the domain is verified here,
    /// and the member the NameID's link leads to, which the same statement reads for the user rule.
    async fn domain_rule(
        &self,
        account: AccountId,
        connection: &Connection,
        email: &EmailAddress,
        name_id: &str,
        findings: &mut Findings,
    ) -> Result<(), Refusal> {
        let domain = email.domain();
        let found = self
            .store
            .sign_in_domain(email, connection.id, name_id)
            .await
            .map_err(unavailable)?;
        let routed = match found {
            Some(found) if found.account == account => {
                findings.linked = found.linked;
                findings.newcomer = found.newcomer;
                found.routed
            }
            _ => {
                findings.email_domain_verified = Some(false);
                return Err(Refusal::DomainNotVerified(domain.to_owned()));
            }
        };
        findings.email_domain_verified = Some(true);
        match routed {
            Some(id) if id == connection.id => Ok(()),
            Some(other) => {
                let label = self
                    .store
                    .connection(account, other)
                    .await
                    .map_err(unavailable)?
                    .map_or_else(|| other.to_string(), |row| row.label);
                Err(Refusal::DomainRoutedElsewhere {
                    domain: domain.to_owned(),
                    connection: label,
                })
            }
            None => Err(Refusal::DomainRoutedToPassword(domain.to_owned())),
        }
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

    /// Counts a sign-in `address` starts; `false` when it has started its allowance this minute and must wait
    /// (each start stores a pending request and signs an AuthnRequest: a stranger's flood must not cost that).
    pub fn may_start(&self, address: Option<IpAddr>, now: DateTime<Utc>) -> bool {
        self.starts.admit(address, now)
    }

    /// Creates a pending AuthnRequest for the connection and the browser's way to the IdP.
    pub async fn start(
        &self,
        connection_id: ConnectionId,
        return_to: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Started, StartError> {
        // A connection kept with SSO on is used without reading its revision first: the request is stored only
        // if the revision is still the kept one. Otherwise, and whenever the kept connection cannot start a
        // sign-in (no key, say: one may have been added since), the connection is read again below.
        if let Some(kept) = self.kept.latest(connection_id).filter(|kept| kept.policy.sso_enabled)
            && let Ok(Some(started)) = self
                .issue_at_revision(&kept.connection, return_to.clone(), Some(kept.revision), now)
                .await
        {
            return Ok(started);
        }
        let in_use = self.connection(connection_id).await?.ok_or(StartError::NoConnection)?;
        if !in_use.policy.sso_enabled {
            return Err(StartError::SsoOff);
        }
        self.issue(&in_use.connection, return_to, now).await
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
        let in_use = self.connection(connection_id).await?.ok_or(StartError::NoConnection)?;
        let (account, connection) = (in_use.account, &in_use.connection);
        self.connections
            .tenancy
            .require(caller, account, Permission::ManageTrust)
            .await?;
        let started = self.issue(connection, return_to, now).await?;
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
        let in_use = self.connection(connection_id).await?.ok_or(StartError::NoConnection)?;
        let (account, connection) = (in_use.account, &in_use.connection);
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
        let started = self.issue(connection, return_to, now).await?;
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
        // Without a revision to hold to, nothing is stored only when the connection is gone.
        self.issue_at_revision(connection, return_to, None, now)
            .await?
            .ok_or(StartError::NoConnection)
    }

    /// [`Self::issue`], only while the connection is stored `at_revision`: none when it changed since.
    async fn issue_at_revision(
        &self,
        connection: &Connection,
        return_to: Option<String>,
        at_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Option<Started>, StartError> {
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
        let row = PendingRequestRow {
            id: request_id.clone(),
            connection_id,
            browser_digest: token::digest(&browser_token),
            return_to,
            created_at: now,
            expires_at: now + REQUEST_LIFETIME,
        };
        if !self.store.insert_pending_request(&row, at_revision).await? {
            return Ok(None);
        }
        Ok(Some(Started {
            outgoing,
            browser_token,
            request_id,
        }))
    }

    /// The ACS: every response posted to a connection goes through the same rules, in [`Check::ALL`]'s order. A
    /// response to an ordinary request (or none, IdP-initiated) signs its user in; one to the Owner's Test SSO run
    /// is only reported; one to the Owner's link links them. A connection or client address past its allowance
    /// of unverified refusals ([`JunkPolicy`]) is refused unchecked, with one summarising SSO event instead of one
    /// per post. `browser_token` is the request-binding cookie, if the browser sent one.
    pub async fn acs(
        &self,
        connection_id: ConnectionId,
        saml_response: &str,
        relay_state: &str,
        browser_token: Option<&str>,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<AcsOutcome, Refused> {
        let started = Instant::now();
        if !self.admitted(connection_id, client, now).await {
            metrics::sso_response("unknown", "limited", Check::Request.key(), started.elapsed());
            return Err(Refusal::TooManyRefused.into());
        }
        let reference = relay_state.trim();
        let browser = browser_token.map(token::digest).unwrap_or_default();
        // A connection this instance keeps has its revision read by the statement that takes the request. Any
        // other ID is read first, from a reader: a post to an ID that is no connection never reaches the writer.
        let (context, taken) = if self.kept.latest(connection_id).is_some() {
            let taken = self.take_request(connection_id, reference, &browser, now).await;
            let known_revision = taken
                .as_ref()
                .ok()
                .and_then(|taken| taken.as_ref())
                .map(|taken| taken.posted_to_revision);
            (self.context(connection_id, known_revision).await, taken)
        } else {
            let context = self.context(connection_id, None).await;
            let taken = match context {
                Ok(_) => self.take_request(connection_id, reference, &browser, now).await,
                Err(_) => Ok(None),
            };
            (context, taken)
        };
        let context = match context {
            Ok(context) => context,
            Err(refused) => {
                if matches!(refused.refusal, Refusal::UnknownConnection(_)) {
                    self.refusals.refused(None, client, now);
                }
                metrics::sso_response("unknown", "refused", refused.refusal.check().key(), started.elapsed());
                return Err(refused);
            }
        };
        let mut findings = Findings::default();
        let taken = self
            .request_rule(&context, reference, &browser, taken, &mut findings)
            .await;
        let mode = match findings.run.clone() {
            Some(run) if run.purpose == OwnerRunPurpose::Link => Mode::OwnerLink(run),
            Some(_) => Mode::Test,
            None => Mode::SignIn,
        };
        let mut writes = None;
        let passed = match taken {
            Ok(()) => {
                self.rules(&context, &mode, saml_response, &mut findings, &mut writes, now)
                    .await
            }
            Err(refusal) => Err(refusal),
        };
        if passed.is_err() && !findings.signature_verified {
            self.refusals.refused(Some(connection_id), client, now);
        }
        let event_reference = new_reference();
        let raw_response = (findings.signature_verified && self.junk.raw_retention > Duration::zero())
            .then(|| {
                findings
                    .xml
                    .as_ref()
                    .and_then(|xml| String::from_utf8(xml.clone()).ok())
            })
            .flatten();
        let assertion = findings.assertion.clone();
        let described = |passed: &Result<Passed, Refusal>| {
            let assertion = assertion.as_ref();
            let (outcome, reason) = match (passed, &mode) {
                (Ok(Passed::SignedIn(signed_in)), _) if signed_in.taken_over => (
                    "accepted",
                    format!(
                        "signed in as {email}: {}",
                        takeover_detail(&signed_in.email, &context.connection.label),
                        email = signed_in.email
                    ),
                ),
                (Ok(Passed::SignedIn(signed_in)), _) => ("accepted", format!("signed in as {}", signed_in.email)),
                (Ok(Passed::Linked(linked)), _) => ("accepted", owner_link_detail(linked)),
                (Ok(Passed::Tested), _) => ("test", "Test SSO passed".to_owned()),
                (Err(_), Mode::Test) => ("test", String::new()),
                (Err(_), _) => ("refused", String::new()),
            };
            let explanation = passed.as_ref().err().and_then(|refusal| {
                let sp = self.connections.service_provider_values(connection_id);
                explain(refusal, &ExplainedFor::of(&context.connection, &sp))
            });
            let detail = EventDetail {
                outcome,
                reason,
                refusal: passed.as_ref().err().map(Refusal::to_stored),
                name_id: assertion.map(|a| a.name_id.clone()),
                attributes: assertion.map(|a| attribute_lines(&a.attributes)).unwrap_or_default(),
                raw_response: raw_response.clone(),
                explanation: explanation.clone(),
            };
            let event = event_row(context.account, connection_id, now, &event_reference, detail);
            (event, explanation)
        };
        let (mut passed, mut writes) = (passed, writes);
        let (passed, explanation) = loop {
            let (event, explanation) = described(&passed);
            let Some(to_store) = writes.take() else {
                self.insert_event(&event).await;
                break (passed, explanation);
            };
            match self.commit(to_store, &event, &findings, now).await {
                Ok(()) => break (passed, explanation),
                // Another sign-in provisioned the newcomer meanwhile: the user rule runs again, in the transaction,
                // which reads what that one stored and never races, so this happens once at most.
                Err(NotStored::Raced) => {
                    findings.newcomer = false;
                    passed = match (passed, findings.email.clone()) {
                        (Ok(Passed::SignedIn(signed_in)), Some(email)) => self
                            .provision(&context, signed_in.assertion, email, &mut findings, &mut writes, now)
                            .await
                            .map(Passed::SignedIn),
                        (other, _) => other,
                    };
                }
                // Nothing of the response was stored (no session, no link): the event says why instead.
                Err(NotStored::Refused(refusal)) => {
                    let refused = Err(refusal);
                    let (event, explanation) = described(&refused);
                    self.insert_event(&event).await;
                    break (refused, explanation);
                }
            }
        };
        let (outcome, check) = match &passed {
            Ok(_) => ("accepted", "none"),
            Err(refusal) => ("refused", refusal.check().key()),
        };
        metrics::sso_response(mode.key(), outcome, check, started.elapsed());
        // The same reference as the SSO event and the user's page, so the log line and the event find each other.
        tracing::info!(
            reference = %event_reference,
            account = %context.account,
            connection = %connection_id,
            mode = mode.key(),
            outcome,
            check,
            "SAML response"
        );
        if let (Ok(Passed::SignedIn(_)), Some(request)) = (&passed, &findings.request) {
            metrics::sign_in(now - request.created_at);
        }
        match passed {
            // Only the Owner who started a run gets its report.
            Err(refusal) if !matches!(mode, Mode::Test) || matches!(refusal, Refusal::NotOwnersTest(_)) => {
                Err(Refused {
                    reference: Some(event_reference),
                    refusal,
                    user_hint: explanation.and_then(|e| e.user_hint),
                })
            }
            Ok(Passed::SignedIn(signed_in)) => Ok(AcsOutcome::SignedIn(signed_in)),
            Ok(Passed::Linked(linked)) => Ok(AcsOutcome::Linked(linked)),
            tested => {
                let fix = explanation.map(|e| e.fix);
                let report = test_report(&context, findings, tested.err(), fix, event_reference);
                if let Err(e) = self.store.record_last_test(connection_id, now, &report.summary()).await {
                    tracing::error!(error = %e, reference = %report.reference, "recording the last Test SSO run failed");
                }
                Ok(AcsOutcome::Tested(report))
            }
        }
    }

    /// Whether the refusal limits let a post be checked at all; records what they summarise.
    pub(super) async fn admitted(
        &self,
        connection_id: ConnectionId,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> bool {
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
        admitted
    }

    /// The connection a response was posted to and its account's policy; `known_revision` when a statement
    /// already read it.
    async fn context(
        &self,
        connection_id: ConnectionId,
        known_revision: Option<i64>,
    ) -> Result<Arc<ConnectionInUse>, Refused> {
        self.connection_at(connection_id, known_revision)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Refusal::UnknownConnection(connection_id).into())
    }

    /// The request the RelayState `reference` names, taken once by the browser whose token's digest is
    /// `browser`, with the Owner's mark when it was their own round trip. The same statement reads the revision
    /// of the connection it was posted to, and takes nothing when that is no connection.
    async fn take_request(
        &self,
        connection_id: ConnectionId,
        reference: &str,
        browser: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TakenRequest>, Refusal> {
        if reference.is_empty() {
            return Ok(None);
        }
        self.store
            .take_pending_request(reference, browser, connection_id, now)
            .await
            .map_err(unavailable)
    }

    /// The first rule: the request the RelayState names was taken by the browser that started it; or, where the
    /// connection allows it, an IdP-initiated sign-in lands where the RelayState says.
    async fn request_rule(
        &self,
        context: &ConnectionInUse,
        reference: &str,
        browser: &str,
        taken: Result<Option<TakenRequest>, Refusal>,
        findings: &mut Findings,
    ) -> Result<(), Refusal> {
        if reference.is_empty() {
            return Ok(());
        }
        if let Some(taken) = taken? {
            if taken.owners_run {
                findings.run = self.store.owner_run(&taken.request.id).await.map_err(unavailable)?;
            }
            findings.request = Some(taken.request);
            return Ok(());
        }
        match self.store.pending_request(reference).await.map_err(unavailable)? {
            Some((_, true)) => Err(Refusal::RequestUsed(reference.to_owned())),
            Some((request, false)) if request.browser_digest != browser => Err(Refusal::OtherBrowser),
            Some(_) => Err(Refusal::UnknownRequest(reference.to_owned())),
            // An IdP-initiated sign-in's RelayState is the IdP admin's landing page, never a request of ours; a
            // response that does answer a request is refused by its InResponseTo.
            None if context.connection.options.allow_idp_initiated => {
                let acs_url = self.connections.service_provider_values(context.connection.id).acs_url;
                findings.landing = landing_page(reference, &acs_url);
                Ok(())
            }
            None => Err(Refusal::UnknownRequest(reference.to_owned())),
        }
    }

    /// Every rule after the request's, in order, the same for each mode; the modes differ only where a rule
    /// writes (the replay cache, the user, the Owner's link).
    async fn rules(
        &self,
        context: &Arc<ConnectionInUse>,
        mode: &Mode,
        saml_response: &str,
        findings: &mut Findings,
        writes: &mut Option<Writes>,
        now: DateTime<Utc>,
    ) -> Result<Passed, Refusal> {
        let connection = &context.connection;
        if matches!(mode, Mode::SignIn) && !context.policy.sso_enabled {
            return Err(Refusal::SsoOff);
        }
        if matches!(mode, Mode::Test)
            && let (Some(request), Some(run)) = (&findings.request, &findings.run)
            && self
                .store
                .role_of(context.account, run.user_id)
                .await
                .map_err(unavailable)?
                != Some(Role::Owner)
        {
            return Err(Refusal::NotOwnersTest(request.id.clone()));
        }
        if let Some(request) = &findings.request {
            if request.connection_id != connection.id {
                return Err(Refusal::OtherConnection);
            }
            if request.expires_at <= now {
                return Err(Refusal::RequestExpired(request.expires_at));
            }
        }
        let xml = decode_response(saml_response)?;
        let request_id = findings.request.as_ref().map(|r| r.id.clone());
        let (checked, xml) = self.validate(context, xml, request_id, now).await?;
        findings.xml = Some(xml);
        findings.signature_verified = checked.signature_verified;
        findings.signed_with = checked.signed_with;
        let assertion = checked.result?;
        findings.assertion = Some(assertion.clone());
        // The replay rule. A sign-in or link records the assertion as used as its writes begin, and a copy that got
        // there first makes that insert find it (`begin_writes`): reading here as well would cost every sign-in a
        // statement that only repeats the insert's answer. The dry run writes nothing, so it reads.
        if matches!(mode, Mode::Test)
            && self
                .store
                .assertion_seen(connection.id, &assertion.id)
                .await
                .map_err(unavailable)?
        {
            return Err(Refusal::Replayed(assertion.id));
        }
        let email = email_of(connection, &assertion)?;
        findings.email = Some(email.clone());
        self.domain_rule(context.account, connection, &email, &assertion.name_id, findings)
            .await?;
        match mode {
            Mode::SignIn => self
                .provision(context, assertion, email, findings, writes, now)
                .await
                .map(Passed::SignedIn),
            Mode::OwnerLink(owner) => self
                .link_owner(context, owner.clone(), assertion, email, writes, now)
                .await
                .map(Passed::Linked),
            // The dry run: what a sign-in would do, previewed; the replay cache is left as it was, so the same
            // login can still sign in later.
            Mode::Test => {
                let existing = self
                    .store
                    .sign_in_preview(context.account, connection.id, &assertion.name_id, &email)
                    .await
                    .map_err(unavailable)?;
                findings.takes_over = existing == Some(ExistingUser::TakeOver);
                if existing == Some(ExistingUser::Owner) {
                    return Err(Refusal::OwnerSignsInWithPassword(email.display().to_owned()));
                }
                Ok(Passed::Tested)
            }
        }
    }

    /// Opens the response's write transaction and records the assertion as used in it, which also guards the
    /// replay rule against the same response arriving twice at once.
    async fn begin_writes<'w>(
        &self,
        writes: &'w mut Option<Writes>,
        connection: &Connection,
        assertion: &SignedAssertion,
    ) -> Result<&'w AcsWrites, Refusal> {
        let transaction = self.store.begin_acs_writes().await.map_err(unavailable)?;
        let Writes::Open(opened) = writes.insert(Writes::Open(transaction)) else {
            unreachable!("the transaction was put there on the line before");
        };
        if !opened
            .remember_message(connection.id, &assertion.id, kept_until(connection, assertion))
            .await
            .map_err(unavailable)?
        {
            return Err(Refusal::Replayed(assertion.id.clone()));
        }
        Ok(opened)
    }

    /// Stores a response's writes with its SSO event and, when due, the use of the certificate that verified it.
    /// A returning member's replay rule is applied here, by the same statement ([`Writes::Returning`]).
    async fn commit(
        &self,
        writes: Writes,
        event: &SsoEventRow,
        findings: &Findings,
        now: DateTime<Utc>,
    ) -> Result<(), NotStored> {
        let certificate_used = match (event.connection_id, &findings.signed_with) {
            (Some(connection), Some(fingerprint))
                if event.outcome == "accepted" && self.certificate_uses.due(connection, fingerprint, now) =>
            {
                Some(fingerprint.as_str())
            }
            _ => None,
        };
        let failed = |e: StoreError| {
            tracing::error!(error = %e, reference = %event.reference, "storing a response's writes failed");
            NotStored::Refused(unavailable(e))
        };
        match writes {
            Writes::Inserts(sign_in) => {
                match self
                    .store
                    .store_sign_in_inserts(&sign_in, event, certificate_used)
                    .await
                    .map_err(failed)?
                {
                    InsertsStored::Stored => Ok(()),
                    InsertsStored::Replayed => Err(NotStored::Refused(Refusal::Replayed(sign_in.assertion_id))),
                    InsertsStored::Raced => Err(NotStored::Raced),
                }
            }
            Writes::Open(transaction) => {
                transaction.insert_sso_event(event).await.map_err(failed)?;
                if let (Some(connection), Some(fingerprint)) = (event.connection_id, certificate_used) {
                    transaction
                        .record_certificate_use(connection, fingerprint, now)
                        .await
                        .map_err(failed)?;
                }
                transaction.commit().await.map_err(failed)
            }
        }
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
        self.insert_event(&event_row(account, connection_id, now, reference, detail))
            .await;
    }

    async fn insert_event(&self, event: &SsoEventRow) {
        if let Err(e) = self.store.insert_sso_event(event).await {
            tracing::error!(error = %e, reference = %event.reference, "recording an SSO event failed");
        }
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
                refusal: None,
                name_id: None,
                attributes: String::new(),
                raw_response: None,
                explanation: None,
            };
            self.record_event(account, connection_id, now, &new_reference(), detail)
                .await;
        }
    }

    /// Provisions the user of a response that passed every rule before this one and opens their session: the
    /// user rule of a sign-in, which the store applies as it writes (the Owner signs in only through their link).
    async fn provision(
        &self,
        context: &ConnectionInUse,
        assertion: SignedAssertion,
        email: EmailAddress,
        findings: &mut Findings,
        writes: &mut Option<Writes>,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, Refusal> {
        let return_to = findings
            .request
            .as_ref()
            .and_then(|r| r.return_to.clone())
            .or_else(|| findings.landing.clone());
        let (account, connection) = (context.account, &context.connection);
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
        let provisioning = Provisioning {
            account_id: account,
            connection_id: connection.id,
            name_id: &assertion.name_id,
            email: &email,
            mapped_role,
            reapply: connection.mappings.reapply_on_sign_in,
            personal_account: (!context.policy.no_separate_account).then_some(personal.as_str()),
            role_change_audit: &role_change_audit,
            takeover_audit: &takeover_audit,
            now,
        };
        // Most sign-ins are a returning user's, which change no user: read with the domain, and stored with the
        // event in one go at the end, without a transaction open meanwhile. So is a newcomer's, which only inserts.
        let returning = findings
            .linked
            .take()
            .and_then(|member| returning_without_writes(&member, &provisioning));
        let mut newcomer = None;
        let provisioned = match returning {
            Some(provisioned) => provisioned,
            None if findings.newcomer => {
                newcomer = Some(Newcomer {
                    account_id: account,
                    email: email.clone(),
                    name_id: assertion.name_id.clone(),
                    role: mapped_role,
                    personal_account: provisioning.personal_account.map(str::to_owned),
                });
                Provisioned {
                    user_id: UserId::new(),
                    created: true,
                    role: mapped_role,
                    role_before: None,
                    taken_over: false,
                }
            }
            None => self
                .begin_writes(writes, connection, &assertion)
                .await?
                .provision_sso_user(&provisioning)
                .await
                .map_err(unavailable)?
                .map_err(|refusal| match refusal {
                    LinkRefusal::Owner => Refusal::OwnerSignsInWithPassword(email_text.clone()),
                    LinkRefusal::DomainNotRouted { linked_email } => Refusal::LinkedDomainNotRouted {
                        name_id: assertion.name_id.clone(),
                        linked_email,
                    },
                })?,
        };
        let session = self.auth.new_session(provisioned.user_id, now);
        let idp_session = IdpSession {
            connection_id: connection.id,
            name_id: assertion.name_id.clone(),
            name_id_format: assertion.name_id_format.clone(),
            session_index: assertion.session_index.clone(),
        };
        match writes {
            Some(Writes::Open(transaction)) => transaction
                .insert_session(
                    &session.token_digest(),
                    provisioned.user_id,
                    Some(&idp_session),
                    now,
                    session.expires_at,
                )
                .await
                .map_err(unavailable)?,
            _ => {
                *writes = Some(Writes::Inserts(Box::new(SignInInserts {
                    connection_id: connection.id,
                    assertion_id: assertion.id.clone(),
                    assertion_kept_until: kept_until(connection, &assertion),
                    session_token_hash: session.token_digest(),
                    user_id: provisioned.user_id,
                    idp_session,
                    at: now,
                    session_expires_at: session.expires_at,
                    newcomer,
                })))
            }
        }
        Ok(SignedIn {
            account,
            connection: connection.id,
            email: email_text,
            assertion,
            return_to,
            user_id: provisioned.user_id,
            created: provisioned.created,
            taken_over: provisioned.taken_over,
            role: provisioned.role,
            session,
        })
    }

    /// The user rule of the Owner's link: links the Owner who started the request to the asserted identity, only
    /// while they are still the Owner, only when the IdP vouches for the Owner's own address, and never over
    /// another user's link.
    async fn link_owner(
        &self,
        context: &ConnectionInUse,
        owner: OwnerRun,
        assertion: SignedAssertion,
        email: EmailAddress,
        writes: &mut Option<Writes>,
        now: DateTime<Utc>,
    ) -> Result<OwnerLinked, Refusal> {
        let (account, connection) = (context.account, &context.connection);
        let writes = self.begin_writes(writes, connection, &assertion).await?;
        if writes.role_of(account, owner.user_id).await.map_err(unavailable)? != Some(Role::Owner) {
            return Err(Refusal::NoLongerOwner(owner.email));
        }
        if EmailAddress::parse(&owner.email).ok().as_ref() != Some(&email) {
            return Err(Refusal::OtherIdentity {
                owner: owner.email,
                asserted: email.display().to_owned(),
            });
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
        let fresh = writes
            .link_owner(connection.id, &assertion.name_id, owner.user_id, &audit, now)
            .await
            .map_err(unavailable)?;
        if !fresh {
            return Err(Refusal::NameIdTaken(assertion.name_id));
        }
        Ok(linked)
    }

    /// The response rules of `check_response` for this connection; the message comes back with the answer. A
    /// small plain message is checked on this worker when no other thread is in xmlsec, anything else on the
    /// blocking pool.
    async fn validate(
        &self,
        context: &Arc<ConnectionInUse>,
        xml: Vec<u8>,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(Checked, Vec<u8>), Refusal> {
        let values = self.connections.service_provider_values(context.connection.id);
        let check = move |xml: &[u8], connection: &Connection, request_id: Option<&str>| {
            let options = &connection.options;
            check_response(
                xml,
                &Expectations {
                    idp_entity_id: &connection.idp.entity_id,
                    certificates: &connection.idp.certificates,
                    sp_keys: &connection.sp_keys,
                    sp_entity_id: &values.entity_id,
                    acs_url: &values.acs_url,
                    request_id,
                    allow_unsolicited: options.allow_idp_initiated,
                    allow_sha1: options.allow_sha1,
                    clock_skew: Duration::seconds(options.clock_skew_seconds.into()),
                    now,
                },
            )
        };
        if checks_inline(&xml)
            && let Some(checked) = xmlsec::run_if_free(|| {
                // A panic ends this check as it ends one on the blocking pool: refused, the worker unharmed.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    check(&xml, &context.connection, request_id.as_deref())
                }))
            })
        {
            let checked = checked.map_err(|_| Refusal::CheckStopped("the response check panicked".to_owned()))?;
            return Ok((checked, xml));
        }
        // The connection as this instance keeps it, shared rather than copied.
        let context = Arc::clone(context);
        tokio::task::spawn_blocking(move || (check(&xml, &context.connection, request_id.as_deref()), xml))
            .await
            .map_err(|e| Refusal::CheckStopped(e.to_string()))
    }
}

/// A returning member's sign-in, when it needs no write: their address is at the asserted email's domain (which the
/// ACS found routed here) and their role stays. `None` sends the sign-in through [`AcsWrites`]' provisioning, which
/// decides everything again in its transaction.
fn returning_without_writes(member: &LinkedMember, p: &Provisioning<'_>) -> Option<Provisioned> {
    let role_changes = p.reapply && member.role != Role::Owner && member.role != p.mapped_role;
    if ascii_email_domain(&member.email) != p.email.domain() || role_changes {
        return None;
    }
    Some(Provisioned {
        user_id: member.user_id,
        created: false,
        role: member.role,
        role_before: None,
        taken_over: false,
    })
}

/// The largest decoded message an async worker checks itself. Its check is bounded by its size and by the shape
/// limits (`message_shape`: at most four references and eight transforms), against the owner's certificates only:
/// an Entra ID response with its default claims (about 5 KB) is checked in about 0.14 ms; one with 150 group IDs
/// (17 KB, 0.37 ms) goes to the blocking pool (docs/performance.md).
const INLINE_CHECK_BYTES: usize = 16 * 1024;

/// Whether a message is small and carries no encrypted assertion (whose RSA decryption, with each SP key tried,
/// costs more than the rest of the check), so that checking it on an async worker costs less than handing it to
/// the blocking pool.
fn checks_inline(xml: &[u8]) -> bool {
    xml.len() <= INLINE_CHECK_BYTES && memchr::memmem::find(xml, b"EncryptedAssertion").is_none()
}

/// The SSO event of a connection under `reference`.
fn event_row(
    account: AccountId,
    connection_id: ConnectionId,
    now: DateTime<Utc>,
    reference: &str,
    detail: EventDetail,
) -> SsoEventRow {
    SsoEventRow {
        account_id: account,
        connection_id: Some(connection_id),
        at: now,
        outcome: detail.outcome.into(),
        reference: reference.to_owned(),
        reason: kept_at_most(detail.reason),
        refusal: detail.refusal,
        name_id: detail.name_id,
        attributes: detail.attributes,
        raw_response: detail.raw_response,
        cause: detail
            .explanation
            .as_ref()
            .and_then(|e| serde_json::to_value(e.cause).ok())
            .and_then(|cause| cause.as_str().map(str::to_owned)),
        fix: detail.explanation.map(|e| e.fix),
    }
}

/// Until when a connection keeps an accepted assertion as used: as long as the assertion could be accepted.
fn kept_until(connection: &Connection, assertion: &SignedAssertion) -> DateTime<Utc> {
    assertion.valid_until + Duration::seconds(connection.options.clock_skew_seconds.into())
}

/// A store error as the refusal it causes.
fn unavailable(e: StoreError) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

/// Test SSO's report of a run: every check in order and what the response gave.
fn test_report(
    context: &ConnectionInUse,
    findings: Findings,
    refusal: Option<Refusal>,
    fix: Option<String>,
    reference: String,
) -> TestReport {
    let (response_xml, response_truncated) = findings.xml.as_deref().map(shown_xml).unwrap_or_default();
    let assertion = findings.assertion;
    TestReport {
        account: context.account,
        connection: context.connection.id,
        connection_label: context.connection.label.clone(),
        reference,
        response_xml,
        response_truncated,
        checks: outcomes(refusal),
        fix,
        name_id: assertion.as_ref().map(|a| a.name_id.clone()),
        name_id_format: assertion.as_ref().and_then(|a| a.name_id_format.clone()),
        role: assertion
            .as_ref()
            .map(|a| context.connection.mappings.role_for(&a.attributes)),
        attributes: assertion.map(|a| a.attributes).unwrap_or_default(),
        email: findings.email.map(|e| e.display().to_owned()),
        email_domain_verified: findings.email_domain_verified,
        takes_over: findings.takes_over,
        sso_enabled: context.policy.sso_enabled,
        signature_verified: findings.signature_verified,
        return_to: findings.request.and_then(|r| r.return_to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_messages_without_an_encrypted_assertion_are_checked_on_the_async_worker() {
        let plain = |padding: usize| {
            format!(
                "<samlp:Response><saml:Assertion>{}</saml:Assertion></samlp:Response>",
                " ".repeat(padding)
            )
        };
        assert!(checks_inline(plain(100).as_bytes()));
        let at_limit = INLINE_CHECK_BYTES - plain(0).len();
        assert!(checks_inline(plain(at_limit).as_bytes()));
        assert!(!checks_inline(plain(at_limit + 1).as_bytes()));
        let encrypted = "<samlp:Response><saml:EncryptedAssertion/></samlp:Response>";
        assert!(!checks_inline(encrypted.as_bytes()));
    }
}
