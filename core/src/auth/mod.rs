//! Sign-up, proof of the email address, password sign-in with a brute-force guard, server-side sessions, sign-out.

mod account_name;
mod email;
pub mod email_proof;
pub mod password;
pub mod return_path;
mod session;
mod throttle;

pub use email::{EmailAddress, EmailError};
pub use email_proof::{ProofDelivery, ProofMail};
pub use password::PasswordError;
pub(crate) use session::TOUCH_INTERVAL;
pub use session::{SessionOrigin, SessionPolicy};
pub use throttle::ThrottlePolicy;

use crate::ids::{AccountId, UserId};
use crate::saml::logout::IdpSession;
use crate::setup_link::{self, SetupLinkGrant};
use crate::store::{Store, StoreError};
use crate::token;
use chrono::{DateTime, Utc};
use password::NewPassword;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    InvalidEmail(#[from] EmailError),
    #[error("{0}")]
    WeakPassword(#[from] PasswordError),
    #[error("An account with this email already exists. Sign in instead.")]
    EmailTaken,
    /// The email's domain is claimed (verified in an account with SSO on and routed to a connection): its users
    /// sign in through their organisation's IdP, which a password user there would otherwise pre-empt.
    #[error("{domain} signs in through its organisation's identity provider: use Sign in with just your email.")]
    DomainClaimed { domain: String },
    /// The same outcome for an unknown email and a wrong password, so neither is revealed.
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many failed sign-in attempts. Try again in {retry_after_seconds} seconds.")]
    Throttled { retry_after_seconds: i64 },
    #[error("Sign in to continue.")]
    NotSignedIn,
    #[error("This link is not valid: it was already used, or a newer one replaced it. Sign in to get a new one.")]
    ProofNotFound,
    #[error("This link has expired. Sign in to get a new one.")]
    ProofExpired,
    #[error("Your email address is already confirmed.")]
    EmailAlreadyProven,
    #[error(
        "A link was sent recently. Check your inbox (and spam folder), or ask again in {retry_after_seconds} seconds."
    )]
    ProofRecentlySent { retry_after_seconds: i64 },
    /// The user signs in through their organisation's IdP only.
    #[error("Your organisation requires single sign-on: leave the password empty and press Sign in.")]
    SsoRequired,
    /// The caller holds a setup link, which opens one account's SSO set-up and nothing of a user's.
    #[error("A setup link opens only the SSO set-up of its account.")]
    SetupLinkOnly,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The signed-in person behind a request, or the holder of a setup link.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: UserId,
    pub email: String,
    /// How the caller's session was opened.
    pub origin: SessionOrigin,
    /// The account whose SSO provisioned the caller, if any: that account may insist on `origin`.
    pub sso_account_id: Option<AccountId>,
    /// Whether the caller proved their address; until then they may only prove it.
    pub email_proven: bool,
    /// Set for the holder of a setup link, who is no user: `user_id` is then the link's own id, which finds no
    /// user or membership, `email` is empty and unproven, and only the link's grant opens anything.
    pub setup_link: Option<SetupLinkGrant>,
}

impl Caller {
    /// The holder of a setup link.
    fn holding(grant: SetupLinkGrant) -> Self {
        Self {
            user_id: UserId::from(grant.link_id.as_uuid()),
            email: String::new(),
            origin: SessionOrigin::Password,
            sso_account_id: None,
            email_proven: false,
            setup_link: Some(grant),
        }
    }

    /// Who made a change, as the audit log names them.
    pub fn actor(&self) -> String {
        match &self.setup_link {
            Some(grant) => grant.actor(),
            None => self.email.clone(),
        }
    }

    /// Who the caller is, as a page names them to the person in the browser (a setup link's holder has no address).
    pub fn shown_as(&self) -> String {
        match &self.setup_link {
            Some(grant) => format!("the holder of setup link “{}”", grant.name),
            None => self.email.clone(),
        }
    }

    /// Refuses the holder of a setup link an operation of a user's own.
    pub fn require_user(&self) -> Result<(), AuthError> {
        match self.setup_link {
            Some(_) => Err(AuthError::SetupLinkOnly),
            None => Ok(()),
        }
    }
}

/// A new session: the token goes into the cookie, never into the database.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: UserId,
}

impl NewSession {
    /// What the store keeps of the token.
    pub fn token_digest(&self) -> String {
        token::digest(&self.token)
    }
}

#[derive(Clone, Debug)]
pub struct SignedUp {
    pub session: NewSession,
    pub account_id: AccountId,
    /// Where the user goes once their address is proven.
    pub return_to: String,
}

#[derive(Clone)]
pub struct AuthService {
    store: Store,
    sessions: SessionPolicy,
    throttle: ThrottlePolicy,
    proofs: ProofMail,
}

impl AuthService {
    pub fn new(store: Store, sessions: SessionPolicy, throttle: ThrottlePolicy, proofs: ProofMail) -> Self {
        Self {
            store,
            sessions,
            throttle,
            proofs,
        }
    }

    /// Creates a user, a personal account they own, and a session, and sends the link that proves the address
    /// (which leads on to `return_to`); never at a claimed domain, whose users only their organisation's IdP signs
    /// in.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &str,
        return_to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SignedUp, AuthError> {
        let email = EmailAddress::parse(email)?;
        if self.store.domain_claim(email.domain()).await?.is_some() {
            return Err(AuthError::DomainClaimed {
                domain: email.domain().to_owned(),
            });
        }
        let password = NewPassword::parse(password, email.local_part())?;
        if self.store.user_by_email(email.key()).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let hash = blocking(move || password.hash()).await;
        let account_name = account_name::new_account_name(&email);
        let (user_id, account_id) = self
            .store
            .insert_user_with_account(&email, &hash, &account_name, now)
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    AuthError::EmailTaken
                } else {
                    e.into()
                }
            })?;
        let session = self.start_session(user_id, None, now).await?;
        // Without a page asked for (an invitation, say), a new account's first stop is its guided SSO setup.
        let return_to = return_to.map_or_else(|| format!("/accounts/{account_id}/sso/setup"), str::to_owned);
        if let Some(user) = self.store.user_by_id(user_id).await? {
            self.send_email_proof(&user, email.key(), Some(&return_to), None, now)
                .await?;
        }
        Ok(SignedUp {
            session,
            account_id,
            return_to,
        })
    }

    /// Checks a password, guarded per email and per client address against guessing: every attempt is counted as
    /// a failure before its password is checked, and a right password takes its count back.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<NewSession, AuthError> {
        // A malformed email cannot match a user; answering like a wrong password reveals nothing.
        let email = EmailAddress::parse(email).map_err(|_| AuthError::InvalidCredentials)?;
        let email_key = format!("email:{}", email.key());
        let client_key = client.map(|ip| format!("client:{ip}"));
        let mut guards = vec![(email_key.as_str(), self.throttle.free_failures_per_email)];
        if let Some(key) = &client_key {
            guards.push((key.as_str(), self.throttle.free_failures_per_client));
        }
        let attempt = self.admit(&guards, now).await?;

        let user = self.store.user_by_email(email.key()).await?;
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password = password.to_owned();
        // An unknown user is checked against a dummy hash so both failures take the same time.
        let matches = blocking(move || {
            let hash = stored_hash.as_deref().unwrap_or(password::DUMMY_HASH.as_str());
            password::verify(&password, hash)
        })
        .await;

        match user {
            Some(user) if matches && user.password_hash.is_some() => {
                self.store.clear_throttle(&email_key).await?;
                self.take_back(&attempt, Some(&email_key)).await?;
                if self.sso_required(&user).await? {
                    return Err(AuthError::SsoRequired);
                }
                if !user.email_proven {
                    self.ask_for_email_proof(&user, email.key(), now).await?;
                }
                self.start_session(user.id, None, now).await
            }
            // Created by an account's SSO, without a password: no guess, so nothing counted; say where to sign in.
            Some(user) if user.password_hash.is_none() && user.sso_account_id.is_some() => {
                self.take_back(&attempt, None).await?;
                Err(AuthError::SsoRequired)
            }
            // Counted, and any lock it earns taken, before the check.
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Whether the account whose SSO provisioned this user enforces SSO for them. Its Owner keeps password
    /// sign-in (break-glass), so a broken IdP configuration cannot lock the account out.
    async fn sso_required(&self, user: &crate::store::UserRow) -> Result<bool, AuthError> {
        let Some(account) = user.sso_account_id else {
            return Ok(false);
        };
        let policy = self.store.sso_policy(account).await?;
        let role = self.store.role_of(account, user.id).await?;
        Ok(policy.enforces_sso() && role != Some(crate::tenancy::Role::Owner))
    }

    /// The caller behind a session token (a user's, or a setup link's), if the session is live; ends an expired
    /// session.
    pub async fn authenticate(&self, session_token: &str, now: DateTime<Utc>) -> Result<Caller, AuthError> {
        let hash = token::digest(session_token);
        let Some(row) = self.store.session(&hash).await? else {
            return match setup_link::session_holder(&self.store, &hash, now).await? {
                Some(grant) => Ok(Caller::holding(grant)),
                None => Err(AuthError::NotSignedIn),
            };
        };
        if !self.sessions.is_live(row.last_seen_at, row.expires_at, now) {
            self.store.delete_session(&hash).await?;
            return Err(AuthError::NotSignedIn);
        }
        if now - row.last_seen_at >= session::TOUCH_INTERVAL {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Caller {
            user_id: row.user.id,
            email: row.user.email,
            origin: row.origin,
            sso_account_id: row.user.sso_account_id,
            email_proven: row.user.email_proven,
            setup_link: None,
        })
    }

    /// Ends the session; answers the IdP session behind it when SSO opened it, for single logout.
    pub async fn sign_out(&self, session_token: &str) -> Result<Option<IdpSession>, AuthError> {
        let hash = token::digest(session_token);
        let idp_session = self.store.session(&hash).await?.and_then(|row| row.idp_session);
        self.store.delete_session(&hash).await?;
        self.store.delete_setup_link_session(&hash).await?;
        Ok(idp_session)
    }

    /// Removes sessions that can no longer be used (users' and setup links'), forgotten sign-in failure counts and
    /// expired proof links, so the tables do not grow with every visitor. Safe to run from several server instances at once.
    pub async fn remove_expired(&self, now: DateTime<Utc>) -> Result<Removed, AuthError> {
        Ok(Removed {
            sessions: self.store.delete_dead_sessions(now - self.sessions.idle, now).await?
                + self.store.delete_dead_setup_link_sessions(now).await?,
            throttles: self
                .store
                .delete_stale_throttles(now - self.throttle.forget_after, now)
                .await?,
            email_proofs: self.store.delete_expired_email_proofs(now).await?,
        })
    }

    /// Opens a session for a user whose identity is already established: by a password here, or by the IdP for
    /// single sign-on (`idp_session` names the IdP's session, which single logout ends together with this one).
    pub async fn start_session(
        &self,
        user_id: UserId,
        idp_session: Option<&IdpSession>,
        now: DateTime<Utc>,
    ) -> Result<NewSession, AuthError> {
        let session = self.new_session(user_id, now);
        self.store
            .insert_session(&session.token_digest(), user_id, idp_session, now, session.expires_at)
            .await?;
        Ok(session)
    }

    /// A session for `user_id` starting `now`, not yet stored: for callers that store it in a transaction of their
    /// own (the ACS).
    pub fn new_session(&self, user_id: UserId, now: DateTime<Utc>) -> NewSession {
        NewSession {
            token: token::generate(),
            expires_at: now + self.sessions.absolute,
            user_id,
        }
    }

    /// Counts the attempt against each `(key, free failures)` guard, then lets it on to the password check only if
    /// no guard is locked and, beyond a guard's free failures, it takes that guard's next lock first: so of any
    /// number of concurrent attempts at most the free failures, then one per lock, are checked.
    async fn admit(&self, guards: &[(&str, u32)], now: DateTime<Utc>) -> Result<Attempt, AuthError> {
        let forget_before = now - self.throttle.forget_after;
        let mut counted = Vec::with_capacity(guards.len());
        for &(key, free) in guards {
            let row = self.store.count_sign_in_attempt(key, forget_before, now).await?;
            counted.push((key, free, row));
        }
        let lock_in_force = counted
            .iter()
            .filter_map(|(_, _, row)| row.locked_until)
            .filter(|until| *until > now)
            .max();
        if let Some(until) = lock_in_force {
            return Err(throttled(until, now));
        }
        let mut attempt = Attempt { guards: Vec::new() };
        for (key, free, row) in counted {
            let lock_taken = match self.throttle.lock_after(row.failures, free) {
                Some(lock) if !self.store.take_throttle_lock(key, now + lock, now).await? => {
                    // Another attempt took this lock a moment ago.
                    let current = self.store.throttle(key).await?.and_then(|row| row.locked_until);
                    return Err(throttled(current.unwrap_or(now + lock), now));
                }
                lock => lock.map(|lock| now + lock),
            };
            attempt.guards.push((key.to_owned(), lock_taken));
        }
        Ok(attempt)
    }

    /// Takes back an attempt that guessed nothing (a right password, a user without one) from its guards, but
    /// `cleared`, whose count was deleted instead.
    async fn take_back(&self, attempt: &Attempt, cleared: Option<&str>) -> Result<(), StoreError> {
        for (key, lock_taken) in &attempt.guards {
            if Some(key.as_str()) != cleared {
                self.store.take_back_sign_in_attempt(key, *lock_taken).await?;
            }
        }
        Ok(())
    }
}

/// What one clean-up removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub sessions: u64,
    pub throttles: u64,
    pub email_proofs: u64,
}

/// A sign-in attempt let on to the password check: each guard's key it was counted against, with the lock it took
/// there, if any.
struct Attempt {
    guards: Vec<(String, Option<DateTime<Utc>>)>,
}

/// The refusal of an attempt while a lock holds until `until`, in whole seconds rounded up.
fn throttled(until: DateTime<Utc>, now: DateTime<Utc>) -> AuthError {
    let seconds = ((until - now).num_milliseconds() + 999) / 1000;
    AuthError::Throttled {
        retry_after_seconds: seconds.max(1),
    }
}

/// Runs CPU-heavy work (argon2) on the blocking pool so it does not stall other requests.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("password hashing does not panic")
}

/// The name of the account a new user owns from the start.
pub(crate) fn personal_account_name(email: &str) -> String {
    format!("{email}'s account")
}
