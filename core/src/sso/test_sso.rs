//! Test SSO: what the Owner sees after running the flow with their own IdP. Every check a real sign-in applies,
//! in the order it applies them, each passed, failed with the reason, or not reached; and what the response
//! would have given (NameID, attributes, email, role). Nothing is provisioned and no session is opened.

use super::refusal::Refusal;
use crate::ids::{AccountId, ConnectionId};
use crate::saml::response::Rejection;
use crate::tenancy::Role;
use serde::{Deserialize, Serialize};

/// The decoded response is shown up to this many bytes.
pub const MAX_SHOWN_XML: usize = 64 * 1024;

/// One rule of the ACS, in the order a sign-in applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Request,
    Readable,
    Status,
    Destination,
    Issuer,
    InResponseTo,
    OneAssertion,
    Decryption,
    Signature,
    Subject,
    Validity,
    Audience,
    Replay,
    Email,
    Domain,
    User,
}

impl Check {
    pub const ALL: [Check; 16] = [
        Check::Request,
        Check::Readable,
        Check::Status,
        Check::Destination,
        Check::Issuer,
        Check::InResponseTo,
        Check::OneAssertion,
        Check::Decryption,
        Check::Signature,
        Check::Subject,
        Check::Validity,
        Check::Audience,
        Check::Replay,
        Check::Email,
        Check::Domain,
        Check::User,
    ];

    /// The check's name in the operator's metrics: its serialized name.
    pub fn key(self) -> &'static str {
        match self {
            Check::Request => "request",
            Check::Readable => "readable",
            Check::Status => "status",
            Check::Destination => "destination",
            Check::Issuer => "issuer",
            Check::InResponseTo => "in_response_to",
            Check::OneAssertion => "one_assertion",
            Check::Decryption => "decryption",
            Check::Signature => "signature",
            Check::Subject => "subject",
            Check::Validity => "validity",
            Check::Audience => "audience",
            Check::Replay => "replay",
            Check::Email => "email",
            Check::Domain => "domain",
            Check::User => "user",
        }
    }

    /// The check in plain words, as the report lists it.
    pub fn label(self) -> &'static str {
        match self {
            Check::Request => "The response came back to the browser that started the test, in time",
            Check::Readable => "The response is a well-formed SAML Response within the size limit",
            Check::Status => "The IdP reported success",
            Check::Destination => "The response is addressed to this connection's ACS URL",
            Check::Issuer => "The issuer is the configured IdP entity ID",
            Check::InResponseTo => "The response answers this test's request",
            Check::OneAssertion => "Exactly one assertion, in its expected place",
            Check::Decryption => "If the assertion is encrypted, it decrypts with this connection's SP keys",
            Check::Signature => "The IdP signed it with a configured certificate",
            Check::Subject => "The assertion names a user (NameID) for this ACS URL",
            Check::Validity => "The assertion is within its validity period (clock skew allowed)",
            Check::Audience => "The audience is this connection's SP entity ID",
            Check::Replay => "The assertion was not used before",
            Check::Email => "A usable email address (from the NameID or the configured attribute)",
            Check::Domain => "The email's domain is a verified domain of this account, routed to this connection",
            Check::User => "The identity may sign in its user here (the Owner only through their own link)",
        }
    }

    /// The check a response rule's refusal belongs to. Exhaustive on purpose: a new rule must be placed here.
    pub fn of(rejection: &Rejection) -> Check {
        match rejection {
            Rejection::TooLarge | Rejection::Malformed(_) | Rejection::Shape(_) | Rejection::NotAResponse(_) => {
                Check::Readable
            }
            Rejection::Status { .. } => Check::Status,
            Rejection::Destination { .. } | Rejection::MissingDestination => Check::Destination,
            Rejection::Issuer { .. } => Check::Issuer,
            Rejection::InResponseTo { .. } | Rejection::Unsolicited => Check::InResponseTo,
            Rejection::AssertionCount(_)
            | Rejection::EncryptedAssertionCount(_)
            | Rejection::MixedAssertions
            | Rejection::AssertionMisplaced
            | Rejection::CommentInAssertion => Check::OneAssertion,
            Rejection::NoDecryptionKey(_)
            | Rejection::UnsupportedEncryption(_)
            | Rejection::MalformedEncryption(_)
            | Rejection::Undecryptable(_)
            | Rejection::DecryptedContent(_)
            | Rejection::DecryptedDtd => Check::Decryption,
            Rejection::Signature { .. }
            | Rejection::DisallowedSignature(_)
            | Rejection::Unsigned
            | Rejection::UnsignedEncrypted
            | Rejection::SignedElementMismatch => Check::Signature,
            Rejection::NoNameId | Rejection::NoSubjectConfirmation(_) | Rejection::Recipient { .. } => Check::Subject,
            Rejection::Expired(_) | Rejection::NotYetValid { .. } | Rejection::MissingTime(_) => Check::Validity,
            Rejection::NoAudience(_) | Rejection::Audience { .. } => Check::Audience,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    Failed(Refusal),
    /// An earlier check failed, so a sign-in would have stopped before this one.
    NotReached,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub check: Check,
    pub outcome: CheckOutcome,
}

/// Every check in order: those before the refusal's check passed, that one failed with the refusal, the rest were
/// not reached.
pub fn outcomes(mut refusal: Option<Refusal>) -> Vec<CheckResult> {
    let failed_at = refusal.as_ref().map(Refusal::check);
    let mut reached = true;
    Check::ALL
        .iter()
        .map(|&check| {
            let outcome = match refusal.take_if(|_| failed_at == Some(check)) {
                Some(refusal) => {
                    reached = false;
                    CheckOutcome::Failed(refusal)
                }
                _ if reached => CheckOutcome::Passed,
                _ => CheckOutcome::NotReached,
            };
            CheckResult { check, outcome }
        })
        .collect()
}

/// What a Test SSO run found.
#[derive(Clone, Debug)]
pub struct TestReport {
    pub account: AccountId,
    pub connection: ConnectionId,
    pub connection_label: String,
    /// The reference of the run's entry in the SSO events.
    pub reference: String,
    /// The decoded response as received, cut at `MAX_SHOWN_XML` bytes.
    pub response_xml: String,
    pub response_truncated: bool,
    pub checks: Vec<CheckResult>,
    /// What to change at the IdP when a check failed (`sso::explanation`).
    pub fix: Option<String>,
    /// Set once the signature verified: the identity comes only from signed content.
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub email: Option<String>,
    /// Whether the email's domain is a verified domain of this account.
    pub email_domain_verified: Option<bool>,
    /// The role the current role mappings give this identity.
    pub role: Option<Role>,
    /// The email names an existing password user whom the first sign-in takes over for the IdP.
    pub takes_over: bool,
    /// Whether SSO is on for the account: while it is off, no one signs in even when every check passes.
    pub sso_enabled: bool,
    /// Whether a signature of the response verified with a configured certificate (then the run's event keeps
    /// the response for support).
    pub signature_verified: bool,
    /// The page the Owner started the run from, to show the run's summary there instead of this report.
    pub return_to: Option<String>,
}

/// What a run found, kept as the connection's last test after its report is gone: whether it passed (and if
/// not, the first failed check and why) and the identity it carried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSummary {
    /// The run's entry in the SSO events.
    pub reference: String,
    pub failed: Option<(Check, TestFailure)>,
    pub email: Option<String>,
    pub name_id: Option<String>,
    /// The role the role mappings gave the identity at the time of the run.
    pub role: Option<Role>,
    /// What to change at the IdP, for a failed run the owner can fix (empty in runs kept before fixes were).
    #[serde(default)]
    pub fix: Option<String>,
}

/// Why a kept run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TestFailure {
    Refused(Refusal),
    /// The reason in words, as runs kept before refusals were kept as facts have it.
    Worded(String),
}

impl TestReport {
    /// The first failed check and its refusal.
    pub fn first_failure(&self) -> Option<(Check, &Refusal)> {
        self.checks.iter().find_map(|c| match &c.outcome {
            CheckOutcome::Failed(refusal) => Some((c.check, refusal)),
            _ => None,
        })
    }

    pub fn passed(&self) -> bool {
        self.first_failure().is_none()
    }

    pub fn summary(&self) -> TestSummary {
        TestSummary {
            reference: self.reference.clone(),
            failed: self
                .first_failure()
                .map(|(check, refusal)| (check, TestFailure::Refused(refusal.clone()))),
            email: self.email.clone(),
            name_id: self.name_id.clone(),
            role: self.role,
            fix: self.fix.clone(),
        }
    }
}

/// The response for showing: at most `MAX_SHOWN_XML` bytes (cut at a character boundary), and whether it was cut.
pub fn shown_xml(xml: &[u8]) -> (String, bool) {
    let text = String::from_utf8_lossy(xml);
    if text.len() <= MAX_SHOWN_XML {
        return (text.into_owned(), false);
    }
    let mut end = MAX_SHOWN_XML;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_checks_metric_name_is_its_serialized_name() {
        for check in Check::ALL {
            assert_eq!(serde_json::to_value(check).unwrap(), check.key());
        }
    }

    #[test]
    fn a_run_kept_with_its_reason_in_words_still_reads_and_a_new_one_keeps_the_refusal() {
        let kept_before = r#"{"reference":"r1","failed":["signature","the response is not signed"],"email":null,
            "name_id":null,"role":null}"#;
        let summary: TestSummary = serde_json::from_str(kept_before).unwrap();
        assert_eq!(
            summary.failed,
            Some((
                Check::Signature,
                TestFailure::Worded("the response is not signed".into())
            ))
        );
        for refusal in [Refusal::SsoOff, Refusal::Response(Rejection::Unsigned)] {
            let failed = Some((refusal.check(), TestFailure::Refused(refusal)));
            let summary = TestSummary {
                failed: failed.clone(),
                ..summary.clone()
            };
            let kept: TestSummary = serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
            assert_eq!(kept.failed, failed);
        }
    }

    #[test]
    fn checks_before_the_failure_passed_and_after_it_were_not_reached() {
        let list = outcomes(Some(Refusal::Response(Rejection::Unsigned)));
        let at = list.iter().position(|c| c.check == Check::Signature).unwrap();
        assert!(list[..at].iter().all(|c| c.outcome == CheckOutcome::Passed));
        assert_eq!(
            list[at].outcome,
            CheckOutcome::Failed(Refusal::Response(Rejection::Unsigned))
        );
        assert!(list[at + 1..].iter().all(|c| c.outcome == CheckOutcome::NotReached));
        assert!(outcomes(None).iter().all(|c| c.outcome == CheckOutcome::Passed));
    }

    #[test]
    fn rejections_belong_to_their_checks() {
        assert_eq!(Check::of(&Rejection::Unsigned), Check::Signature);
        assert_eq!(
            Check::of(&Rejection::Audience {
                found: "a".into(),
                expected: "b".into()
            }),
            Check::Audience
        );
        assert_eq!(Check::of(&Rejection::Expired("1 hour".into())), Check::Validity);
    }

    #[test]
    fn long_responses_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_SHOWN_XML);
        let (shown, cut) = shown_xml(long.as_bytes());
        assert!(cut && shown.len() <= MAX_SHOWN_XML);
        assert_eq!(shown_xml(b"<a/>"), ("<a/>".into(), false));
    }
}
