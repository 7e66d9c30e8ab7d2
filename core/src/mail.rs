//! Outgoing mail over SMTP (invitations, email address proofs) and the links such mail carries.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

/// What happened to a message the product wanted to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailOutcome {
    /// No SMTP relay is configured.
    NotConfigured,
    Sent,
    Failed(String),
}

/// The public address of a page below `public_url`, e.g. `["invitations", secret]`.
pub(crate) fn link(public_url: &Url, segments: &[&str]) -> String {
    let mut url = public_url.clone();
    url.path_segments_mut()
        .expect("the public URL is an http(s) URL")
        .pop_if_empty()
        .extend(segments);
    url.to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid SMTP URL: {0}")]
    Url(String),
    #[error("invalid sender address {0:?}")]
    Sender(String),
    #[error("invalid recipient address {0:?}")]
    Recipient(String),
    #[error("could not build the message: {0}")]
    Message(String),
    #[error("the SMTP server refused or could not be reached: {0}")]
    Send(String),
}

/// Sends plain-text mail through one SMTP relay (`smtp://host:port`, optionally with `user:password@`).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .build();
        let from = from.parse().map_err(|_| MailError::Sender(from.to_owned()))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Recipient(to.to_owned()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Message(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| MailError::Send(e.to_string()))
    }
}
