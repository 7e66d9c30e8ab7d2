//! What the owner reads about a refused message: each refusal of the ACS and of the SLO URL worded from the facts
//! its SSO event keeps, for the SSO events and the Test SSO report. What the end user is told is the server's, by
//! variant.

use gatehouse_core::saml::logout::LogoutRejection;
use gatehouse_core::saml::response::{MAX_RESPONSE_BYTES, Rejection};
use gatehouse_core::sso::refusal::{EmailClaim, LogoutRefusal, Refusal};

/// An SSO event's reason: a refusal worded from its facts (a failed Test SSO run names the check it failed),
/// anything else as it was stored. An event whose facts this version cannot read says so rather than nothing.
pub fn event_reason(outcome: &str, reason: String, refusal: Option<&str>) -> String {
    let Some(stored) = refusal else {
        return reason;
    };
    let worded = match outcome {
        "logout-refused" => LogoutRefusal::from_stored(stored).map(|refusal| logout_reason(&refusal)),
        "test" => Refusal::from_stored(stored).map(|refusal| {
            format!(
                "Test SSO failed: {}: {}",
                refusal.check().label(),
                owner_reason(&refusal)
            )
        }),
        _ => Refusal::from_stored(stored).map(|refusal| owner_reason(&refusal)),
    };
    worded.unwrap_or_else(|| "refused for a reason this version of Gatehouse does not know how to show".to_owned())
}

/// Why the SLO URL refused a logout message, in the owner's words.
pub fn logout_reason(refusal: &LogoutRefusal) -> String {
    match refusal {
        LogoutRefusal::TooManyRefused => "refused unchecked: too many unverified messages".to_owned(),
        LogoutRefusal::Unavailable(error) => error.clone(),
        LogoutRefusal::UnknownConnection(connection) => format!("no connection {connection}"),
        LogoutRefusal::Request(rejection) => format!("LogoutRequest refused: {}", logout_rejection_reason(rejection)),
        LogoutRefusal::Response(rejection) => {
            format!("LogoutResponse refused: {}", logout_rejection_reason(rejection))
        }
        LogoutRefusal::ReplayedRequest(request) => {
            format!("LogoutRequest refused: {request} was already used (a replayed request)")
        }
        LogoutRefusal::UnansweredResponse(request) => format!(
            "LogoutResponse refused: it answers {request}, which is no pending LogoutRequest of this connection \
             (expired, already answered, or never sent)"
        ),
        LogoutRefusal::CannotAnswer { ended } => format!(
            "LogoutRequest carried out ({ended} session(s) ended), but the connection has no IdP SLO URL or no \
             active SP key to answer it"
        ),
    }
}

/// No signature of the `message` verifies with the `configured` certificates' fingerprints; the one it `offered`.
fn not_verified(configured: &str, offered: Option<&str>, message: &str) -> String {
    let named = offered
        .map(|offered| format!("; the {message} names a certificate with SHA-256 {offered}"))
        .unwrap_or_default();
    format!("the signature does not verify with the configured certificate(s) (SHA-256 {configured}){named}")
}

/// Why a logout message itself was refused, in the owner's words.
fn logout_rejection_reason(rejection: &LogoutRejection) -> String {
    match rejection {
        LogoutRejection::Malformed(problem) => {
            format!("the message is not well-formed XML, or declares a DTD ({problem})")
        }
        LogoutRejection::WrongMessage { found, expected } => format!("the message is a {found}, expected a {expected}"),
        LogoutRejection::Unsigned(kind) => {
            format!("the {kind} is not signed; Gatehouse acts only on signed logout messages")
        }
        LogoutRejection::QuerySignature(error) => error.to_string(),
        LogoutRejection::Signature { configured, offered } => not_verified(configured, offered.as_deref(), "message"),
        LogoutRejection::DisallowedSignature(problem) => {
            format!("{problem}; nothing the signature names was fetched or processed")
        }
        LogoutRejection::SignedElementMismatch(kind) => format!("the signature covers another element than the {kind}"),
        LogoutRejection::MissingId => "the message has no ID".to_owned(),
        LogoutRejection::Issuer { found, expected } => {
            format!("the issuer was {found}, expected the IdP entity ID {expected}")
        }
        LogoutRejection::Destination { found, expected } => {
            format!("the Destination was {found}, expected this connection's SLO URL {expected}")
        }
        LogoutRejection::MissingDestination => {
            "the message has no Destination; a signed logout message must name this connection's SLO URL".to_owned()
        }
        LogoutRejection::MissingIssueInstant => "the message has no valid IssueInstant".to_owned(),
        LogoutRejection::TooOld(ago) => {
            format!("the message was issued {ago} ago: too old to act on (check the server clocks, or a replay)")
        }
        LogoutRejection::FromTheFuture(ahead) => {
            format!("the message was issued {ahead} in the future: check the server clocks")
        }
        LogoutRejection::Expired(ago) => format!("the LogoutRequest expired {ago} ago (NotOnOrAfter)"),
        LogoutRejection::MissingNameId => "the LogoutRequest names no NameID".to_owned(),
        LogoutRejection::EncryptedNameId => {
            "the LogoutRequest carries an encrypted NameID, which Gatehouse does not accept".to_owned()
        }
        LogoutRejection::MissingInResponseTo => "the LogoutResponse answers no request (no InResponseTo)".to_owned(),
    }
}

/// Why the ACS refused a response, in the owner's words.
pub fn owner_reason(refusal: &Refusal) -> String {
    match refusal {
        Refusal::TooManyRefused => "refused unchecked: too many posts were refused here within a minute".to_owned(),
        Refusal::Unavailable(error) => error.clone(),
        Refusal::UnknownConnection(connection) => format!("no connection {connection}"),
        Refusal::SsoOff => "SSO is off for this account (the Owner turns it on under Sign-in policy)".to_owned(),
        Refusal::RequestUsed(request) => format!("the request {request} was already used"),
        Refusal::OtherBrowser => "the response arrived without the browser-binding cookie of its request".to_owned(),
        Refusal::UnknownRequest(request) => format!("no pending request {request}"),
        Refusal::OtherConnection => "the request was made for another connection".to_owned(),
        Refusal::RequestExpired(at) => format!("the request expired at {}", at.to_rfc3339()),
        Refusal::NotOwnersTest(request) => {
            format!("the request {request} is not a Test SSO run of the account's Owner")
        }
        Refusal::TooLarge => "the SAMLResponse is too large".to_owned(),
        Refusal::NotBase64(problem) => format!("the SAMLResponse is not Base64: {problem}"),
        Refusal::CheckStopped(problem) => format!("checking the response stopped: {problem}"),
        Refusal::Response(rejection) => rejection_reason(rejection),
        Refusal::Replayed(assertion) => format!("the assertion {assertion} was already used (a replayed response)"),
        Refusal::EmailMissing(claim) => format!("{} is missing", claimed_by(claim)),
        Refusal::EmailUnusable { claim, problem } => {
            format!("{} is not a usable email address: {problem}", claimed_by(claim))
        }
        Refusal::DomainNotVerified(domain) => format!("{domain} is not a verified domain of this account"),
        Refusal::DomainRoutedElsewhere { domain, connection } => {
            format!("{domain} is routed to connection {connection}, not this one")
        }
        Refusal::DomainRoutedToPassword(domain) => {
            format!("{domain} is routed to password sign-in, not this connection")
        }
        Refusal::OwnerSignsInWithPassword(owner) => format!(
            "{owner} is the account's Owner, who signs in with their password until they link this identity (Link \
             my sign-in on the connection's page)"
        ),
        Refusal::LinkedDomainNotRouted { name_id, linked_email } => format!(
            "the NameID {name_id} is linked to {linked_email}, whose domain is no longer verified in this account \
             and routed to this connection"
        ),
        Refusal::NoLongerOwner(owner) => format!("{owner} started the link but is no longer the account's Owner"),
        Refusal::OtherIdentity { owner, asserted } => {
            format!("the Owner {owner} started the link, but the IdP asserted {asserted}")
        }
        Refusal::NameIdTaken(name_id) => format!("the NameID {name_id} is already linked to another user"),
    }
}

fn claimed_by(claim: &EmailClaim) -> String {
    match claim {
        EmailClaim::NameId(name_id) => format!("the NameID {name_id}"),
        EmailClaim::Attribute(name) => format!("the attribute {name}"),
    }
}

/// Why the response itself was refused, in the owner's words.
fn rejection_reason(rejection: &Rejection) -> String {
    match rejection {
        Rejection::TooLarge => format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
        Rejection::Malformed(problem) => {
            format!("the response is not well-formed XML, or declares a DTD ({problem})")
        }
        Rejection::Shape(shape) => format!("the response is refused before parsing: {shape}"),
        Rejection::DisallowedSignature(problem) => {
            format!("{problem}; nothing the signature names was fetched or processed")
        }
        Rejection::NotAResponse(kind) => format!("the message is a {kind}, not a SAML 2.0 Response"),
        Rejection::Status { code, message } => match message {
            Some(message) => format!("the IdP answered with status {code}: {message}"),
            None => format!("the IdP answered with status {code}"),
        },
        Rejection::AssertionCount(count) => {
            format!("the response carries {count} assertions; exactly one is accepted")
        }
        Rejection::EncryptedAssertionCount(count) => {
            format!("the response carries {count} encrypted assertions; exactly one is accepted")
        }
        Rejection::MixedAssertions => "the response carries both a plain and an encrypted assertion; exactly one \
                                       assertion is accepted (a known signature-wrapping layout)"
            .to_owned(),
        Rejection::NoDecryptionKey(fingerprint) => {
            let what = match fingerprint {
                Some(fingerprint) => format!(
                    "the assertion is encrypted for a key this connection does not have (certificate SHA-256 \
                     {fingerprint})"
                ),
                None => "the assertion does not decrypt with any of this connection's SP keys (active, next or \
                         previous): it is encrypted for another key"
                    .to_owned(),
            };
            format!("{what}; give the IdP this connection's current SP certificate (in its SP metadata)")
        }
        Rejection::UnsupportedEncryption(algorithm) => format!(
            "the assertion is encrypted with {algorithm}, which Gatehouse does not decrypt (it accepts AES-128, \
             AES-192 or AES-256 in GCM or CBC mode, with the key transported by RSA-OAEP)"
        ),
        Rejection::MalformedEncryption(problem) => format!("the EncryptedAssertion is not usable: {problem}"),
        Rejection::Undecryptable(problem) => format!("the encrypted assertion does not decrypt: {problem}"),
        Rejection::DecryptedContent(problem) => {
            format!("the decrypted assertion is not a single SAML Assertion: {problem}")
        }
        Rejection::DecryptedDtd => "the decrypted assertion declares a DTD; none is accepted".to_owned(),
        Rejection::UnsignedEncrypted => "the encrypted assertion is not signed, and neither is the Response; anyone \
                                         can encrypt for Gatehouse's public key, so the IdP must sign the Response \
                                         or the Assertion"
            .to_owned(),
        Rejection::AssertionMisplaced => {
            "the assertion is not a direct child of the Response (a known signature-wrapping layout)".to_owned()
        }
        Rejection::Destination { found, expected } => {
            format!("the response names its destination {found}, expected {expected}")
        }
        Rejection::MissingDestination => "the Response is signed but names no Destination".to_owned(),
        Rejection::Issuer { found, expected } => format!("the issuer is {found}, expected the IdP {expected}"),
        Rejection::Signature {
            configured, offered, ..
        } => not_verified(configured, offered.as_deref(), "response"),
        Rejection::Unsigned => {
            "the response is not signed; the Response or the Assertion must be signed by the IdP".to_owned()
        }
        Rejection::SignedElementMismatch => {
            "the signature does not cover the assertion that carries the identity (a signature-wrapping attempt)"
                .to_owned()
        }
        Rejection::NoNameId => "the assertion names no user (NameID missing or empty)".to_owned(),
        Rejection::CommentInAssertion => {
            "the assertion contains an XML comment, a known way to make an SP read only part of a NameID or value"
                .to_owned()
        }
        Rejection::NoSubjectConfirmation(acs_url) => {
            format!("the assertion has no bearer SubjectConfirmation for {acs_url}")
        }
        Rejection::Recipient { found, expected } => {
            format!("the SubjectConfirmationData Recipient is {found}, expected {expected}")
        }
        Rejection::NoAudience(entity_id) => {
            format!("the assertion has no AudienceRestriction; Gatehouse requires one naming {entity_id}")
        }
        Rejection::Audience { found, expected } => format!("the audience was {found}, expected {expected}"),
        Rejection::Expired(ago) => format!("the response expired {ago} ago: check the server clocks"),
        Rejection::NotYetValid { from, ahead } => {
            format!("the response is valid only from {from}, {ahead} from now: check the server clocks")
        }
        Rejection::MissingTime(attribute) => {
            format!("the assertion carries no {attribute} time; Gatehouse requires one")
        }
        Rejection::InResponseTo { found, expected } => match expected {
            Some(expected) => {
                format!("the response answers the request {found}, not this browser's pending request {expected}")
            }
            None => format!("the response answers the request {found}, not this browser's pending request"),
        },
        Rejection::Unsolicited => {
            "the response answers no request of this browser, and IdP-initiated sign-in is off for this connection"
                .to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_event_reads_its_facts_in_words() {
        let refusal = Refusal::DomainNotVerified("evil.example".into());
        assert_eq!(
            event_reason("refused", String::new(), Some(&refusal.to_stored())),
            "evil.example is not a verified domain of this account"
        );
        assert_eq!(
            event_reason(
                "test",
                String::new(),
                Some(&Refusal::Response(Rejection::Unsigned).to_stored())
            ),
            "Test SSO failed: The IdP signed it with a configured certificate: the response is not signed; the \
             Response or the Assertion must be signed by the IdP"
        );
    }

    #[test]
    fn a_refused_logout_message_reads_its_facts_in_words() {
        let replayed = LogoutRefusal::ReplayedRequest("_r1".into());
        assert_eq!(
            event_reason("logout-refused", String::new(), Some(&replayed.to_stored())),
            "LogoutRequest refused: _r1 was already used (a replayed request)"
        );
        let unsigned = LogoutRefusal::Response(LogoutRejection::Unsigned("LogoutResponse".into()));
        assert_eq!(
            logout_reason(&unsigned),
            "LogoutResponse refused: the LogoutResponse is not signed; Gatehouse acts only on signed logout messages"
        );
        // The outcome says which facts an event keeps: an ACS refusal's facts are no logout refusal's.
        assert_eq!(
            event_reason("logout-refused", String::new(), Some(&Refusal::SsoOff.to_stored())),
            "refused for a reason this version of Gatehouse does not know how to show"
        );
    }

    #[test]
    fn events_without_facts_keep_their_stored_reason_and_unknown_facts_say_so() {
        assert_eq!(
            event_reason("accepted", "signed in as ada@acme.example".into(), None),
            "signed in as ada@acme.example"
        );
        assert_eq!(
            event_reason("refused", "the request r1 was already used".into(), None),
            "the request r1 was already used"
        );
        assert_eq!(
            event_reason("refused", String::new(), Some(r#"{"RefusedByALaterRule":"x"}"#)),
            "refused for a reason this version of Gatehouse does not know how to show"
        );
    }

    #[test]
    fn a_key_the_connection_lacks_is_named_and_the_fix_given() {
        let named = rejection_reason(&Rejection::NoDecryptionKey(Some("AB:CD".into())));
        assert!(
            named.starts_with(
                "the assertion is encrypted for a key this connection does not have (certificate SHA-256 AB:CD)"
            ),
            "{named}"
        );
        let unnamed = rejection_reason(&Rejection::NoDecryptionKey(None));
        assert!(unnamed.contains("(active, next or previous)"), "{unnamed}");
        for reason in [named, unnamed] {
            assert!(reason.ends_with("give the IdP this connection's current SP certificate (in its SP metadata)"));
        }
        assert!(
            rejection_reason(&Rejection::UnsignedEncrypted).contains("the IdP must sign the Response or the Assertion")
        );
    }

    #[test]
    fn what_a_message_or_the_owner_said_is_quoted_whole() {
        assert_eq!(
            rejection_reason(&Rejection::Status {
                code: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
                message: Some("AADSTS50105: not assigned".into())
            }),
            "the IdP answered with status urn:oasis:names:tc:SAML:2.0:status:Responder: AADSTS50105: not assigned"
        );
        assert_eq!(
            owner_reason(&Refusal::EmailUnusable {
                claim: EmailClaim::Attribute("mail".into()),
                problem: "it has no @".into()
            }),
            "the attribute mail is not a usable email address: it has no @"
        );
        assert_eq!(
            owner_reason(&Refusal::Response(Rejection::Signature {
                configured: "11:22".into(),
                offered: Some("33:44".into()),
                offered_subject: Some("CN=attacker".into()),
            })),
            "the signature does not verify with the configured certificate(s) (SHA-256 11:22); the response names a \
             certificate with SHA-256 33:44"
        );
    }
}
