//! Proof that a user receives mail at their address: a single-use link sent at sign-up (and, for a user who never
//! proved theirs, at their next sign-in), mailed through the SMTP relay or, without one, written to the server log
//! in development only (a deployment's log is read by more people than the address's owner). Until the link is
//! followed the user can do nothing but follow it or ask for another.

use super::{AuthError, AuthService, Caller};
use crate::ids::UserId;
use crate::mail::{self, MailOutcome, Mailer};
use crate::store::{EmailProofRow, UserRow};
use crate::token;
use chrono::{DateTime, Duration, Utc};
use url::Url;

/// How long a link works.
pub const PROOF_LIFETIME: Duration = Duration::hours(24);
/// The least time between two links for one user, and the most links in a day: a sign-up with someone else's
/// address must not become a way to flood their inbox.
pub const RESEND_AFTER: Duration = Duration::seconds(60);
pub const LINKS_PER_DAY: u32 = 5;

/// Where proof links go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofDelivery {
    /// Through the SMTP relay.
    Mail,
    /// To the server log: no relay is configured, in development.
    ServerLog,
    /// Nowhere: no relay is configured on a deployment, so nobody can prove an address until one is.
    Nowhere,
}

/// How links reach their users: the SMTP relay, or without one the server log in development only.
#[derive(Clone)]
pub struct ProofMail {
    mailer: Option<Mailer>,
    public_url: Url,
    /// Whether links may be written to the server log when no relay is configured (development).
    log_without_relay: bool,
}

impl ProofMail {
    pub fn new(public_url: Url, mailer: Option<Mailer>, log_without_relay: bool) -> Self {
        Self {
            mailer,
            public_url,
            log_without_relay,
        }
    }

    pub fn delivery(&self) -> ProofDelivery {
        match (&self.mailer, self.log_without_relay) {
            (Some(_), _) => ProofDelivery::Mail,
            (None, true) => ProofDelivery::ServerLog,
            (None, false) => ProofDelivery::Nowhere,
        }
    }

    async fn deliver(&self, to: &str, link: &str, expires_at: DateTime<Utc>) -> MailOutcome {
        let Some(mailer) = &self.mailer else {
            if self.log_without_relay {
                tracing::warn!(%to, %link, "no SMTP relay configured: email address proof link written to the log");
            } else {
                tracing::error!(
                    %to,
                    "no SMTP relay configured: the email address proof link was not sent, and nobody can prove an \
                     address until one is (GATEHOUSE_SMTP_URL)"
                );
            }
            return MailOutcome::NotConfigured;
        };
        let body = format!(
            "Someone, probably you, created a Gatehouse account with this address or signed in with it.\n\n\
             Confirm that this address is yours here (the link works once, until {expires} UTC):\n{link}\n\n\
             If it was not you, ignore this message: without the link nobody can use the address on Gatehouse.\n",
            expires = expires_at.format("%Y-%m-%d %H:%M"),
        );
        match mailer.send(to, "Confirm your email address for Gatehouse", body).await {
            Ok(()) => MailOutcome::Sent,
            Err(e) => {
                tracing::warn!(error = %e, %to, "email address proof not sent");
                MailOutcome::Failed(e.to_string())
            }
        }
    }
}

/// Where a signed-in user stands with the proof of their address.
#[derive(Clone, Debug)]
pub struct ProofStatus {
    pub email: String,
    pub proven: bool,
    /// When the outstanding link was sent, if one is.
    pub sent_at: Option<DateTime<Utc>>,
    /// Where links go.
    pub delivery: ProofDelivery,
}

/// A followed link: whose address it proved and where they wanted to go.
#[derive(Clone, Debug)]
pub struct Proven {
    pub user_id: UserId,
    pub return_to: Option<String>,
}

impl AuthService {
    /// Sends `user` a new link in place of `replaced`, the outstanding one if any, counting it against the day's.
    pub(super) async fn send_email_proof(
        &self,
        user: &UserRow,
        email_key: &str,
        return_to: Option<&str>,
        replaced: Option<&EmailProofRow>,
        now: DateTime<Utc>,
    ) -> Result<MailOutcome, AuthError> {
        let secret = token::generate();
        let (links_sent, first_sent_at) = match replaced {
            Some(row) if row.first_sent_at + Duration::days(1) > now => (row.links_sent + 1, row.first_sent_at),
            _ => (1, now),
        };
        let row = EmailProofRow {
            token_hash: token::digest(&secret),
            user_id: user.id,
            email_key: email_key.to_owned(),
            return_to: return_to.map(str::to_owned),
            created_at: now,
            expires_at: now + PROOF_LIFETIME,
            links_sent,
            first_sent_at,
        };
        self.store.replace_email_proof(&row).await?;
        let link = mail::link(&self.proofs.public_url, &["confirm-email", &secret]);
        Ok(self.proofs.deliver(&user.email, &link, row.expires_at).await)
    }

    /// Asks a user who never proved their address once, when they sign in: a link goes out unless one still works.
    pub(super) async fn ask_for_email_proof(
        &self,
        user: &UserRow,
        email_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let outstanding = self.store.email_proof_of(user.id).await?;
        if outstanding.as_ref().is_none_or(|row| row.expires_at <= now) {
            self.send_email_proof(user, email_key, None, outstanding.as_ref(), now)
                .await?;
        }
        Ok(())
    }

    /// A new link for the caller, keeping where the last one led; at most one per `RESEND_AFTER`, and
    /// `LINKS_PER_DAY` in a day.
    pub async fn resend_email_proof(&self, caller: &Caller, now: DateTime<Utc>) -> Result<MailOutcome, AuthError> {
        caller.require_user()?;
        let user = self.unproven_user(caller).await?;
        let outstanding = self.store.email_proof_of(user.id).await?;
        if let Some(row) = &outstanding {
            let day_ends = row.first_sent_at + Duration::days(1);
            let next_allowed = match row.links_sent >= LINKS_PER_DAY && day_ends > now {
                true => day_ends,
                false => row.created_at + RESEND_AFTER,
            };
            if next_allowed > now {
                return Err(AuthError::ProofRecentlySent {
                    retry_after_seconds: (next_allowed - now).num_seconds().max(1),
                });
            }
        }
        let email_key = super::EmailAddress::parse(&user.email)?.key().to_owned();
        let return_to = outstanding.as_ref().and_then(|row| row.return_to.clone());
        self.send_email_proof(&user, &email_key, return_to.as_deref(), outstanding.as_ref(), now)
            .await
    }

    /// Where proof links go.
    pub fn proof_delivery(&self) -> ProofDelivery {
        self.proofs.delivery()
    }

    pub async fn email_proof_status(&self, caller: &Caller) -> Result<ProofStatus, AuthError> {
        caller.require_user()?;
        let sent_at = match caller.email_proven {
            true => None,
            false => self
                .store
                .email_proof_of(caller.user_id)
                .await?
                .map(|row| row.created_at),
        };
        Ok(ProofStatus {
            email: caller.email.clone(),
            proven: caller.email_proven,
            sent_at,
            delivery: self.proof_delivery(),
        })
    }

    /// The address a link proves, for the page it opens; needs no sign-in.
    pub async fn preview_email_proof(&self, secret: &str, now: DateTime<Utc>) -> Result<String, AuthError> {
        let row = self.usable_email_proof(secret, now).await?;
        let user = self
            .store
            .user_by_id(row.user_id)
            .await?
            .ok_or(AuthError::ProofNotFound)?;
        Ok(user.email)
    }

    /// Follows a link: the address it was sent to is proven, and the link is used up.
    pub async fn prove_email(&self, secret: &str, now: DateTime<Utc>) -> Result<Proven, AuthError> {
        let row = self.usable_email_proof(secret, now).await?;
        if !self.store.redeem_email_proof(&row, now).await? {
            return Err(AuthError::ProofNotFound);
        }
        Ok(Proven {
            user_id: row.user_id,
            return_to: row.return_to,
        })
    }

    async fn usable_email_proof(&self, secret: &str, now: DateTime<Utc>) -> Result<EmailProofRow, AuthError> {
        let row = self
            .store
            .email_proof(&token::digest(secret.trim()))
            .await?
            .ok_or(AuthError::ProofNotFound)?;
        if row.expires_at <= now {
            return Err(AuthError::ProofExpired);
        }
        Ok(row)
    }

    async fn unproven_user(&self, caller: &Caller) -> Result<UserRow, AuthError> {
        match self.store.user_by_id(caller.user_id).await? {
            Some(user) if user.email_proven => Err(AuthError::EmailAlreadyProven),
            Some(user) => Ok(user),
            None => Err(AuthError::NotSignedIn),
        }
    }
}
