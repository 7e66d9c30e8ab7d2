//! The Assertion Consumer Service's rules for one SAML Response, in plain Rust with the current time passed in:
//! the envelope is checked on the document as received, the signature with the configured certificates only
//! (xmlsec through samael), and the identity is read from the signed content alone, which must be the very
//! assertion the envelope checks looked at. An encrypted assertion is decrypted with the connection's SP keys and
//! then meets every one of these rules as a plain one would. Replay and tenancy rules sit with the caller, which
//! has the store.

mod decryption;

use super::certificate::Certificate;
use super::message_shape::{self, ShapeError};
use super::sp_keys::SpKey;
use super::verification_keys;
use chrono::{DateTime, Duration, Utc};
use roxmltree::{Document, Node};
use samael::crypto::{AllowedSignatureAlgorithm, CryptoError, ReduceMode};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::ops::Range;

pub(super) const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(super) const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(super) const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Real responses are a few kilobytes; Entra's with 150 groups stays under 64 KB.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// SHA-256 and stronger; SHA-1 only where the owner allowed it for a legacy IdP.
pub(super) const STRONG: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// With the owner's SHA-1 option on (for a legacy IdP): the strong algorithms plus RSA-SHA1 with SHA-1 digests,
/// never "anything" (no HMAC keyed with a public certificate, no DSA-SHA1).
const STRONG_OR_SHA1: [AllowedSignatureAlgorithm; 7] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
    AllowedSignatureAlgorithm::RsaSha1,
];

/// The signature algorithms a connection accepts: SHA-256 and stronger, plus RSA-SHA1 where the owner allowed it.
pub(super) fn allowed_algorithms(allow_sha1: bool) -> &'static [AllowedSignatureAlgorithm] {
    if allow_sha1 { &STRONG_OR_SHA1 } else { &STRONG }
}

/// What this connection and this browser expect of a response.
#[derive(Clone, Debug)]
pub struct Expectations<'a> {
    pub idp_entity_id: &'a str,
    /// The signing certificates the owner configured; never empty for a saved connection.
    pub certificates: &'a [Certificate],
    /// The connection's SP key pairs: an encrypted assertion is decrypted with the active key, else the next,
    /// else the previous one.
    pub sp_keys: &'a [SpKey],
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    /// The ID of this browser's pending AuthnRequest; `None` when the browser has none.
    pub request_id: Option<&'a str>,
    /// Accept a response that answers no request (IdP-initiated sign-in).
    pub allow_unsolicited: bool,
    pub allow_sha1: bool,
    pub clock_skew: Duration,
    pub now: DateTime<Utc>,
}

/// The identity a verified response asserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAssertion {
    /// The Assertion's ID, for the replay cache.
    pub id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    /// Attribute name and all its values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Until when the assertion could be replayed: keep its ID at least that long.
    pub valid_until: DateTime<Utc>,
    pub in_response_to: Option<String>,
}

/// Why a response was refused, as facts: what each check found and expected. The owner's words for each are the
/// dashboard's (app `refusal_reasons`), so stored refusals read in the words of the version that shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    TooLarge,
    /// Not well-formed XML, or it declares a DTD: the parser's error.
    Malformed(String),
    Shape(ShapeError),
    /// The signature names something outside the message or an algorithm not allowed: what it named.
    DisallowedSignature(String),
    /// The root element's name.
    NotAResponse(String),
    /// The IdP's status other than Success (with its nested code) and its message.
    Status {
        code: String,
        message: Option<String>,
    },
    AssertionCount(usize),
    EncryptedAssertionCount(usize),
    MixedAssertions,
    /// The SHA-256 fingerprint of the certificate the assertion is encrypted for, where the message names
    /// one.
    NoDecryptionKey(Option<String>),
    /// The algorithm's URI.
    UnsupportedEncryption(String),
    MalformedEncryption(String),
    Undecryptable(String),
    DecryptedContent(String),
    DecryptedDtd,
    UnsignedEncrypted,
    AssertionMisplaced,
    /// The Response's Destination is not this connection's ACS URL.
    Destination {
        found: String,
        expected: String,
    },
    MissingDestination,
    /// The issuer is not the connection's IdP entity ID.
    Issuer {
        found: String,
        expected: String,
    },
    /// No signature verifies with the configured certificates (their SHA-256 fingerprints); the certificate the
    /// message names, if any.
    Signature {
        configured: String,
        offered: Option<String>,
        /// The subject of the certificate the message names, for the owner to recognise it.
        offered_subject: Option<String>,
    },
    Unsigned,
    SignedElementMismatch,
    NoNameId,
    CommentInAssertion,
    /// No bearer SubjectConfirmation for this ACS URL.
    NoSubjectConfirmation(String),
    Recipient {
        found: String,
        expected: String,
    },
    /// No AudienceRestriction; the SP entity ID it must name.
    NoAudience(String),
    Audience {
        found: String,
        expected: String,
    },
    /// How long ago the response expired, in words of time ("5 minutes").
    Expired(String),
    /// When the response becomes valid and how far ahead that is.
    NotYetValid {
        from: String,
        ahead: String,
    },
    /// The time attribute the assertion lacks.
    MissingTime(String),
    /// The request the response answers, and this browser's pending request if there is one.
    InResponseTo {
        found: String,
        expected: Option<String>,
    },
    /// An IdP-initiated response to a connection that does not allow them.
    Unsolicited,
}

pub(super) fn is(node: &Node, namespace: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(namespace) && node.tag_name().name() == name
}

pub(super) fn child<'a, 'input>(node: Node<'a, 'input>, namespace: &str, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|n| is(n, namespace, name))
}

pub(super) fn children<'a, 'input>(
    node: Node<'a, 'input>,
    namespace: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(move |n| is(n, namespace, name))
}

/// All the text of an element, comments and element boundaries ignored, trimmed: `a@b.com<!---->.evil.com`
/// reads as the whole `a@b.com.evil.com`, never as its first text node.
pub(super) fn whole_text(node: Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

fn time(node: Node, attribute: &str) -> Option<Result<DateTime<Utc>, Rejection>> {
    node.attribute(attribute).map(|text| {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Rejection::Malformed(format!("{attribute}=\"{text}\" is not a date and time")))
    })
}

pub(super) fn ago(duration: Duration) -> String {
    let seconds = duration.num_seconds().max(1);
    match seconds {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7200 => format!("{} minutes", s / 60),
        s => format!("{} hours", s / 3600),
    }
}

/// Applies every rule; the first broken one is the answer.
pub fn validate_response(xml: &[u8], expected: &Expectations) -> Result<SignedAssertion, Rejection> {
    check_response(xml, expected).result
}

/// What [`check_response`] found.
#[derive(Clone, Debug)]
pub struct Checked {
    pub result: Result<SignedAssertion, Rejection>,
    /// Whether a signature of the message verified with a configured certificate before the answer was known:
    /// only then did the message come from the IdP, and only then is it worth keeping for support.
    pub signature_verified: bool,
    /// The SHA-256 fingerprint of the configured certificate whose key verified the signature (the last one
    /// checked, when the Response and a decrypted Assertion are both signed); `None` when none verified, or when
    /// only several keys together verified the signatures. What the owner's "last used" shows.
    pub signed_with: Option<String>,
}

/// Whether a signature verified so far, and with which configured certificate (its index).
#[derive(Clone, Copy, Debug, Default)]
struct Verification {
    verified: bool,
    by: Option<usize>,
}

/// [`validate_response`], telling also whether the message's signature verified, and with which certificate.
pub fn check_response(xml: &[u8], expected: &Expectations) -> Checked {
    let verification = Cell::new(Verification::default());
    let result = apply_rules(xml, expected, &verification);
    let Verification { verified, by } = verification.get();
    Checked {
        result,
        signature_verified: verified,
        signed_with: by
            .and_then(|i| expected.certificates.get(i))
            .map(|c| c.sha256_fingerprint.clone()),
    }
}

fn apply_rules(
    xml: &[u8],
    expected: &Expectations,
    verified: &Cell<Verification>,
) -> Result<SignedAssertion, Rejection> {
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(Rejection::TooLarge);
    }
    let text = std::str::from_utf8(xml).map_err(|_| Rejection::Malformed("not UTF-8".into()))?;
    message_shape::check(text).map_err(Rejection::Shape)?;
    let original = Document::parse(text).map_err(|e| Rejection::Malformed(e.to_string()))?;
    let root = original.root_element();
    if !is(&root, SAMLP, "Response") {
        return Err(Rejection::NotAResponse(root.tag_name().name().to_owned()));
    }
    check_envelope(root, expected)?;
    match the_one_assertion(root)? {
        Carried::Plain(assertion) => {
            let assertion_id = no_comments(assertion)?;
            if child(root, DS, "Signature").is_none() && child(assertion, DS, "Signature").is_none() {
                return Err(Rejection::Unsigned);
            }
            let signed_xml = verify_signature(text, root, expected, verified)?;
            read_signed(&signed_xml, root, &assertion_id, expected)
        }
        Carried::Encrypted(encrypted) => read_encrypted(text, root, encrypted, expected, verified),
    }
}

/// Canonicalisation drops comments before signing, so a comment can be added to a signed assertion without
/// breaking the signature; no IdP sends one, and none is accepted. Returns the assertion's ID.
fn no_comments(assertion: Node) -> Result<String, Rejection> {
    if assertion.descendants().any(|n| n.is_comment()) {
        return Err(Rejection::CommentInAssertion);
    }
    Ok(assertion.attribute("ID").unwrap_or_default().to_owned())
}

/// The assertion with the identity, from the signed content, which must hold the very assertion (`assertion_id`)
/// that the checks on the document saw.
fn read_signed(
    signed_xml: &str,
    root: Node,
    assertion_id: &str,
    expected: &Expectations,
) -> Result<SignedAssertion, Rejection> {
    let signed = Document::parse(signed_xml).map_err(|e| Rejection::Malformed(e.to_string()))?;
    let signed_root = signed.root_element();
    let signed_assertion = if is(&signed_root, SAML, "Assertion") {
        signed_root
    } else if is(&signed_root, SAMLP, "Response") && signed_root.attribute("ID") == root.attribute("ID") {
        child(signed_root, SAML, "Assertion").ok_or(Rejection::SignedElementMismatch)?
    } else {
        return Err(Rejection::SignedElementMismatch);
    };
    if assertion_id.is_empty() || signed_assertion.attribute("ID") != Some(assertion_id) {
        return Err(Rejection::SignedElementMismatch);
    }
    read_assertion(signed_assertion, expected)
}

/// An encrypted assertion. A Response signature covers the ciphertext: it is verified on the document as
/// received before anything is decrypted, and only the ciphertext it covers is decrypted. The plaintext then
/// takes the `EncryptedAssertion`'s place in the document as received, and that document meets every rule of a
/// plain assertion (one assertion, directly under the Response, no comments, its own signature verified with the
/// configured certificates, the identity read from the signed content). Encryption alone proves nothing (anyone
/// can encrypt for the SP's public key): the Response or the decrypted Assertion must be signed.
fn read_encrypted(
    text: &str,
    root: Node,
    encrypted: Node,
    expected: &Expectations,
    verified: &Cell<Verification>,
) -> Result<SignedAssertion, Rejection> {
    let response_signature = child(root, DS, "Signature");
    let plaintext = match response_signature {
        Some(_) => {
            let signed_xml = verify_signature(text, root, expected, verified)?;
            let signed = Document::parse(&signed_xml).map_err(|e| Rejection::Malformed(e.to_string()))?;
            let signed_root = signed.root_element();
            if !is(&signed_root, SAMLP, "Response") || signed_root.attribute("ID") != root.attribute("ID") {
                return Err(Rejection::SignedElementMismatch);
            }
            let signed_encrypted =
                child(signed_root, SAML, "EncryptedAssertion").ok_or(Rejection::SignedElementMismatch)?;
            decryption::decrypt(signed_encrypted, expected.sp_keys)?
        }
        None => decryption::decrypt(encrypted, expected.sp_keys)?,
    };
    let assertion_text = decryption::assertion_text(plaintext, root)?;
    // The Response's signature covers the ciphertext, not the plaintext, and was verified above: it is left out.
    let mut replacements = vec![(encrypted.range(), assertion_text.as_str())];
    if let Some(signature) = response_signature {
        replacements.push((signature.range(), ""));
    }
    let decrypted_text = splice(text, replacements);
    if decrypted_text.len() > MAX_RESPONSE_BYTES {
        return Err(Rejection::TooLarge);
    }
    // Anyone can encrypt for Gatehouse's public key: the plaintext gets the same look as a message as received.
    message_shape::check(&decrypted_text).map_err(Rejection::Shape)?;
    let decrypted = Document::parse(&decrypted_text).map_err(|e| Rejection::DecryptedContent(e.to_string()))?;
    let decrypted_root = decrypted.root_element();
    let Carried::Plain(assertion) = the_one_assertion(decrypted_root)? else {
        return Err(Rejection::MixedAssertions);
    };
    let assertion_id = no_comments(assertion)?;
    if child(assertion, DS, "Signature").is_some() {
        let signed_xml = verify_signature(&decrypted_text, decrypted_root, expected, verified)?;
        read_signed(&signed_xml, decrypted_root, &assertion_id, expected)
    } else if response_signature.is_some() {
        // Decrypted from the ciphertext the Response's signature covers: the whole assertion is signed content.
        if assertion_id.is_empty() {
            return Err(Rejection::SignedElementMismatch);
        }
        read_assertion(assertion, expected)
    } else {
        Err(Rejection::UnsignedEncrypted)
    }
}

/// `text` with each (disjoint) range replaced.
fn splice(text: &str, mut replacements: Vec<(Range<usize>, &str)>) -> String {
    replacements.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in replacements {
        out.push_str(&text[at..range.start]);
        out.push_str(replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Status, Destination, the Response's own Issuer and InResponseTo, on the document as received.
fn check_envelope(root: Node, expected: &Expectations) -> Result<(), Rejection> {
    let status = child(root, SAMLP, "Status").and_then(|s| child(s, SAMLP, "StatusCode"));
    let code = status.and_then(|s| s.attribute("Value")).unwrap_or("(none)");
    if code != SUCCESS {
        let nested = status
            .and_then(|s| child(s, SAMLP, "StatusCode"))
            .and_then(|s| s.attribute("Value"));
        let message = child(root, SAMLP, "Status")
            .and_then(|s| child(s, SAMLP, "StatusMessage"))
            .map(whole_text)
            .filter(|m| !m.is_empty());
        let code = nested.map_or(code.to_owned(), |n| format!("{code} / {n}"));
        return Err(Rejection::Status { code, message });
    }
    match root.attribute("Destination") {
        Some(found) if found != expected.acs_url => {
            return Err(Rejection::Destination {
                found: found.to_owned(),
                expected: expected.acs_url.to_owned(),
            });
        }
        None if child(root, DS, "Signature").is_some() => return Err(Rejection::MissingDestination),
        _ => {}
    }
    if let Some(issuer) = child(root, SAML, "Issuer").map(whole_text)
        && issuer != expected.idp_entity_id
    {
        return Err(Rejection::Issuer {
            found: issuer,
            expected: expected.idp_entity_id.to_owned(),
        });
    }
    check_in_response_to(root.attribute("InResponseTo"), expected)
}

fn check_in_response_to(found: Option<&str>, expected: &Expectations) -> Result<(), Rejection> {
    match (found, expected.request_id) {
        (Some(found), Some(wanted)) if found == wanted => Ok(()),
        (Some(found), _) => Err(Rejection::InResponseTo {
            found: found.to_owned(),
            expected: expected.request_id.map(str::to_owned),
        }),
        (None, _) if expected.allow_unsolicited => Ok(()),
        (None, _) => Err(Rejection::Unsolicited),
    }
}

/// The one assertion a response carries, plain or encrypted.
enum Carried<'a, 'input> {
    Plain(Node<'a, 'input>),
    Encrypted(Node<'a, 'input>),
}

/// Exactly one assertion in the whole document, plain or encrypted (never both), directly under the Response.
fn the_one_assertion<'a, 'input>(root: Node<'a, 'input>) -> Result<Carried<'a, 'input>, Rejection> {
    let assertions: Vec<Node> = root.descendants().filter(|n| is(n, SAML, "Assertion")).collect();
    let encrypted: Vec<Node> = root
        .descendants()
        .filter(|n| is(n, SAML, "EncryptedAssertion"))
        .collect();
    match (assertions.as_slice(), encrypted.as_slice()) {
        ([one], []) if one.parent() == Some(root) => Ok(Carried::Plain(*one)),
        ([], [one]) if one.parent() == Some(root) => Ok(Carried::Encrypted(*one)),
        ([_], []) | ([], [_]) => Err(Rejection::AssertionMisplaced),
        (many, []) => Err(Rejection::AssertionCount(many.len())),
        ([], many) => Err(Rejection::EncryptedAssertionCount(many.len())),
        _ => Err(Rejection::MixedAssertions),
    }
}

/// Verifies every signature in the document with the configured certificates only and returns the signed
/// content; `verified` is set once a signature verified, with the certificate that verified it.
fn verify_signature(
    text: &str,
    root: Node,
    expected: &Expectations,
    verified: &Cell<Verification>,
) -> Result<String, Rejection> {
    let allowed = Some(allowed_algorithms(expected.allow_sha1));
    // The pre-digest content is exactly what a verified reference's digest covers (after the enveloped-signature
    // and exclusive-c14n transforms): reading the identity from it reads only signed bytes. With the Response and
    // the Assertion both signed, samael answers the Response's. It also skips samael's default reduction pass,
    // which re-walks the whole document and costs more than the signature check itself; the certificates' keys
    // are read once and kept rather than on every response (docs/performance.md).
    // The certificate KeyInfo names is read only where it can matter: which of several to try first, and a refusal.
    let named = (expected.certificates.len() > 1)
        .then(|| offered_certificate(root))
        .flatten()
        .and_then(|named| expected.certificates.iter().position(|c| *c == named));
    let result = verification_keys::reduce_to_signed_naming_key(
        text,
        expected.certificates,
        named,
        ReduceMode::PreDigest,
        allowed,
    );
    result
        .map(|(signed, by)| {
            verified.set(Verification { verified: true, by });
            signed
        })
        .map_err(|e| match e {
            CryptoError::DisallowedSignature { reason } => Rejection::DisallowedSignature(reason),
            _ => {
                let offered = offered_certificate(root);
                Rejection::Signature {
                    configured: fingerprints(expected.certificates),
                    offered_subject: offered.as_ref().map(|c| c.subject.clone()),
                    offered: offered.map(|c| c.sha256_fingerprint),
                }
            }
        })
}

/// The configured certificates' SHA-256 fingerprints, as a refusal names them.
pub(super) fn fingerprints(certificates: &[Certificate]) -> String {
    certificates
        .iter()
        .map(|c| c.sha256_fingerprint.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The certificate a message carries in a signature's KeyInfo: never trusted, only named in a refusal and tried
/// first among the configured ones. An encrypted assertion's KeyInfo names the SP's certificate, not a signer.
pub(super) fn offered_certificate(root: Node) -> Option<Certificate> {
    let base64 = root
        .descendants()
        .filter(|n| is(n, DS, "Signature"))
        .flat_map(|signature| signature.descendants())
        .find(|n| is(n, DS, "X509Certificate"))
        .map(whole_text)?;
    Certificate::from_base64(&base64).ok()
}

/// The identity and the assertion's own rules, read from the signed content.
fn read_assertion(assertion: Node, expected: &Expectations) -> Result<SignedAssertion, Rejection> {
    let skew = expected.clock_skew;
    let now = expected.now;
    let issuer = child(assertion, SAML, "Issuer").map(whole_text).unwrap_or_default();
    if issuer != expected.idp_entity_id {
        return Err(Rejection::Issuer {
            found: issuer,
            expected: expected.idp_entity_id.to_owned(),
        });
    }
    let subject = child(assertion, SAML, "Subject");
    let name_id_node = subject.and_then(|s| child(s, SAML, "NameID"));
    let name_id = name_id_node
        .map(whole_text)
        .filter(|n| !n.is_empty())
        .ok_or(Rejection::NoNameId)?;

    let confirmation = subject
        .into_iter()
        .flat_map(|s| children(s, SAML, "SubjectConfirmation"))
        .filter(|c| c.attribute("Method") == Some(BEARER))
        .find_map(|c| child(c, SAML, "SubjectConfirmationData"))
        .ok_or_else(|| Rejection::NoSubjectConfirmation(expected.acs_url.to_owned()))?;
    match confirmation.attribute("Recipient") {
        Some(recipient) if recipient == expected.acs_url => {}
        found => {
            return Err(Rejection::Recipient {
                found: found.unwrap_or("(none)").to_owned(),
                expected: expected.acs_url.to_owned(),
            });
        }
    }
    let confirmation_until = time(confirmation, "NotOnOrAfter")
        .ok_or_else(|| Rejection::MissingTime("SubjectConfirmationData NotOnOrAfter".to_owned()))??;
    // The Response's InResponseTo decided solicited or not; the confirmation may repeat it, never contradict it.
    let in_response_to = confirmation.attribute("InResponseTo");
    if let Some(found) = in_response_to
        && Some(found) != expected.request_id
    {
        return Err(Rejection::InResponseTo {
            found: found.to_owned(),
            expected: expected.request_id.map(str::to_owned),
        });
    }

    let conditions =
        child(assertion, SAML, "Conditions").ok_or_else(|| Rejection::NoAudience(expected.sp_entity_id.to_owned()))?;
    if let Some(not_before) = time(conditions, "NotBefore").transpose()?
        && not_before > now + skew
    {
        return Err(Rejection::NotYetValid {
            from: not_before.to_rfc3339(),
            ahead: ago(not_before - now),
        });
    }
    let conditions_until = time(conditions, "NotOnOrAfter").transpose()?;
    let valid_until = conditions_until.map_or(confirmation_until, |c| c.min(confirmation_until));
    if valid_until + skew <= now {
        return Err(Rejection::Expired(ago(now - valid_until)));
    }
    let audiences: Vec<String> = children(conditions, SAML, "AudienceRestriction")
        .flat_map(|r| children(r, SAML, "Audience"))
        .map(whole_text)
        .collect();
    if audiences.is_empty() {
        return Err(Rejection::NoAudience(expected.sp_entity_id.to_owned()));
    }
    // Several restrictions must all hold (SAML core 2.5.1.4): each must name Gatehouse.
    for restriction in children(conditions, SAML, "AudienceRestriction") {
        let named: Vec<String> = children(restriction, SAML, "Audience").map(whole_text).collect();
        if !named.iter().any(|a| a == expected.sp_entity_id) {
            return Err(Rejection::Audience {
                found: named.join(", "),
                expected: expected.sp_entity_id.to_owned(),
            });
        }
    }

    let session_index = child(assertion, SAML, "AuthnStatement")
        .and_then(|s| s.attribute("SessionIndex"))
        .map(str::to_owned);
    let attributes = children(assertion, SAML, "AttributeStatement")
        .flat_map(|s| children(s, SAML, "Attribute"))
        .filter_map(|a| {
            let name = a.attribute("Name")?.to_owned();
            let values = children(a, SAML, "AttributeValue").map(whole_text).collect();
            Some((name, values))
        })
        .collect();
    Ok(SignedAssertion {
        id: assertion.attribute("ID").unwrap_or_default().to_owned(),
        issuer,
        name_id,
        name_id_format: name_id_node.and_then(|n| n.attribute("Format")).map(str::to_owned),
        session_index,
        attributes,
        valid_until,
        in_response_to: in_response_to.map(str::to_owned),
    })
}
