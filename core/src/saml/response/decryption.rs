//! Decrypting an `EncryptedAssertion` with the connection's SP keys (XML Encryption: AES content encryption, the
//! content key transported under the SP's RSA key with OAEP). Only the cryptography and the shape of the
//! plaintext are decided here; the caller then applies every ACS rule to the decrypted assertion, exactly as to a
//! plain one.
//!
//! samael's helpers (`EncryptedAssertion::decrypt`, `decrypt_assertion_key_info`, `decrypt_assertion_value_info`)
//! are not used, for these reasons: they accept RSA PKCS#1 v1.5 key transport (Bleichenbacher's padding oracle),
//! ignore the OAEP DigestMethod and MGF, know only AES-128 (no AES-192/256, which Entra, ADFS and Okta use), slice
//! the ciphertext without checking its length (a short CipherValue panics), leave the CBC padding in the
//! plaintext, and read the structure with a second XML parser (quick-xml). The same OpenSSL primitives are called
//! here through the openssl crate instead. No libxml2 or xmlsec call is made in this module.

use super::{DS, MAX_RESPONSE_BYTES, Rejection, SAML, child, children, is, whole_text};
use crate::saml::certificate::Certificate;
use crate::saml::sp_keys::{KeyState, SpKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::encrypt::Decrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use roxmltree::{Document, Node};

const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const ELEMENT_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
/// An IdP encrypts the content key once for each SP certificate it uses; real responses carry one or two.
const MAX_ENCRYPTED_KEYS: usize = 4;
/// AES-GCM in XML Encryption 1.1: a 96-bit IV before the ciphertext and a 128-bit tag after it.
const GCM_IV: usize = 12;
const GCM_TAG: usize = 16;

#[derive(Clone, Copy)]
enum ContentCipher {
    Cbc(Cipher),
    Gcm(Cipher),
}

impl ContentCipher {
    fn from_uri(algorithm: &str) -> Option<Self> {
        Some(match algorithm {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Self::Cbc(Cipher::aes_128_cbc()),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Self::Cbc(Cipher::aes_192_cbc()),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Self::Cbc(Cipher::aes_256_cbc()),
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Self::Gcm(Cipher::aes_128_gcm()),
            "http://www.w3.org/2009/xmlenc11#aes192-gcm" => Self::Gcm(Cipher::aes_192_gcm()),
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Self::Gcm(Cipher::aes_256_gcm()),
            _ => return None,
        })
    }

    fn key_len(self) -> usize {
        match self {
            Self::Cbc(cipher) | Self::Gcm(cipher) => cipher.key_len(),
        }
    }
}

/// The digests an OAEP `DigestMethod` may name; SHA-1 when it names none.
fn oaep_digest(algorithm: &str) -> Option<MessageDigest> {
    Some(match algorithm {
        "http://www.w3.org/2000/09/xmldsig#sha1" => MessageDigest::sha1(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => MessageDigest::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => MessageDigest::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => MessageDigest::sha512(),
        _ => return None,
    })
}

/// The mask generation functions of XML Encryption 1.1's `rsa-oaep`; MGF1 with SHA-1 when it names none.
fn mgf_digest(algorithm: &str) -> Option<MessageDigest> {
    Some(match algorithm {
        "http://www.w3.org/2009/xmlenc11#mgf1sha1" => MessageDigest::sha1(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha224" => MessageDigest::sha224(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha256" => MessageDigest::sha256(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha384" => MessageDigest::sha384(),
        "http://www.w3.org/2009/xmlenc11#mgf1sha512" => MessageDigest::sha512(),
        _ => return None,
    })
}

fn malformed(what: impl Into<String>) -> Rejection {
    Rejection::MalformedEncryption(what.into())
}

fn damaged(what: &str) -> Rejection {
    Rejection::Undecryptable(what.to_owned())
}

/// One `EncryptedKey`: the content key under an SP key, and the SP certificate it names, if any.
struct WrappedKey {
    oaep: MessageDigest,
    mgf: MessageDigest,
    value: Vec<u8>,
    named: Option<Certificate>,
}

fn cipher_value(node: Node, what: &str) -> Result<Vec<u8>, Rejection> {
    let data = child(node, XENC, "CipherData").ok_or_else(|| malformed(format!("its {what} has no CipherData")))?;
    if child(data, XENC, "CipherReference").is_some() {
        return Err(Rejection::UnsupportedEncryption(
            "CipherReference (ciphertext kept outside the response)".into(),
        ));
    }
    let value = child(data, XENC, "CipherValue").ok_or_else(|| malformed(format!("its {what} has no CipherValue")))?;
    let compact: String = whole_text(value).chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| malformed(format!("its {what} CipherValue is not Base64")))
}

fn wrapped_key(encrypted_key: Node) -> Result<WrappedKey, Rejection> {
    let method = child(encrypted_key, XENC, "EncryptionMethod")
        .ok_or_else(|| malformed("an EncryptedKey names no EncryptionMethod"))?;
    let algorithm = method.attribute("Algorithm").unwrap_or("(none)");
    if algorithm != RSA_OAEP_MGF1P && algorithm != RSA_OAEP {
        return Err(Rejection::UnsupportedEncryption(algorithm.to_owned()));
    }
    if child(method, XENC, "OAEPparams").is_some() {
        return Err(Rejection::UnsupportedEncryption("OAEPparams (an OAEP label)".into()));
    }
    let named_algorithm = |node: Option<Node>, table: fn(&str) -> Option<MessageDigest>| match node {
        None => Ok(MessageDigest::sha1()),
        Some(node) => {
            let named = node.attribute("Algorithm").unwrap_or("(none)");
            table(named).ok_or_else(|| Rejection::UnsupportedEncryption(named.to_owned()))
        }
    };
    let oaep = named_algorithm(child(method, DS, "DigestMethod"), oaep_digest)?;
    // rsa-oaep-mgf1p fixes MGF1 with SHA-1; only XML Encryption 1.1's rsa-oaep may name another.
    let mgf = if algorithm == RSA_OAEP {
        named_algorithm(child(method, XENC11, "MGF"), mgf_digest)?
    } else {
        MessageDigest::sha1()
    };
    let named = child(encrypted_key, DS, "KeyInfo")
        .and_then(|info| info.descendants().find(|n| is(n, DS, "X509Certificate")))
        .and_then(|certificate| Certificate::from_base64(&whole_text(certificate)).ok());
    Ok(WrappedKey {
        oaep,
        mgf,
        value: cipher_value(encrypted_key, "EncryptedKey")?,
        named,
    })
}

fn unwrap_key(key: &PKey<Private>, wrapped: &WrappedKey) -> Option<Vec<u8>> {
    let mut decrypter = Decrypter::new(key).ok()?;
    decrypter.set_rsa_padding(Padding::PKCS1_OAEP).ok()?;
    decrypter.set_rsa_oaep_md(wrapped.oaep).ok()?;
    decrypter.set_rsa_mgf1_md(wrapped.mgf).ok()?;
    let mut out = vec![0; decrypter.decrypt_len(&wrapped.value).ok()?];
    let length = decrypter.decrypt(&wrapped.value, &mut out).ok()?;
    out.truncate(length);
    Some(out)
}

fn decrypt_content(cipher: ContentCipher, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Rejection> {
    const CHANGED: &str = "the ciphertext does not decrypt with its content key: the response was changed or damaged";
    match cipher {
        ContentCipher::Gcm(cipher) => {
            if data.len() < GCM_IV + GCM_TAG {
                return Err(damaged("the ciphertext is too short for AES-GCM"));
            }
            let (iv, rest) = data.split_at(GCM_IV);
            let (ciphertext, tag) = rest.split_at(rest.len() - GCM_TAG);
            openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ciphertext, tag).map_err(|_| damaged(CHANGED))
        }
        ContentCipher::Cbc(cipher) => {
            let block = cipher.block_size();
            if data.len() < 2 * block || !data.len().is_multiple_of(block) {
                return Err(damaged("the ciphertext is not whole AES-CBC blocks"));
            }
            let (iv, ciphertext) = data.split_at(block);
            let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(|_| damaged(CHANGED))?;
            // XML Encryption's padding is not PKCS#7: only the last byte (how many bytes were added, 1 to a block)
            // is defined, the others are arbitrary (.NET and Java write random ones), so OpenSSL's check is off.
            crypter.pad(false);
            let mut out = vec![0; ciphertext.len() + block];
            let mut length = crypter.update(ciphertext, &mut out).map_err(|_| damaged(CHANGED))?;
            length += crypter.finalize(&mut out[length..]).map_err(|_| damaged(CHANGED))?;
            out.truncate(length);
            let padding = usize::from(out.last().copied().unwrap_or(0));
            if padding == 0 || padding > block || padding > out.len() {
                return Err(damaged(CHANGED));
            }
            out.truncate(out.len() - padding);
            Ok(out)
        }
    }
}

/// Active first, then next, then previous: during a rotation the IdP may encrypt for either published key, and
/// assertions encrypted for the previous one may still be in flight.
fn trial_order(state: KeyState) -> u8 {
    match state {
        KeyState::Active => 0,
        KeyState::Next => 1,
        KeyState::Previous => 2,
    }
}

/// The plaintext of an `EncryptedAssertion`, decrypted with the first of the connection's SP keys that opens one
/// of its `EncryptedKey`s (inside the `EncryptedData`'s `KeyInfo`, or beside it as Shibboleth places it). An
/// `EncryptedKey` that names its certificate is tried with that SP key only.
pub(super) fn decrypt(encrypted: Node, sp_keys: &[SpKey]) -> Result<Vec<u8>, Rejection> {
    let data: Vec<Node> = children(encrypted, XENC, "EncryptedData").collect();
    let [data] = data.as_slice() else {
        return Err(malformed(format!(
            "it holds {} EncryptedData elements; exactly one is expected",
            data.len()
        )));
    };
    if let Some(kind) = data.attribute("Type")
        && kind != ELEMENT_TYPE
    {
        return Err(malformed(format!(
            "its EncryptedData has Type {kind}; an encrypted element is expected"
        )));
    }
    let algorithm = child(*data, XENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| malformed("its EncryptedData names no EncryptionMethod"))?;
    let cipher =
        ContentCipher::from_uri(algorithm).ok_or_else(|| Rejection::UnsupportedEncryption(algorithm.into()))?;
    let encrypted_keys: Vec<Node> = child(*data, DS, "KeyInfo")
        .into_iter()
        .flat_map(|info| children(info, XENC, "EncryptedKey"))
        .chain(children(encrypted, XENC, "EncryptedKey"))
        .collect();
    if encrypted_keys.is_empty() {
        return Err(malformed(
            "it carries no EncryptedKey (a content key agreed some other way is not supported)",
        ));
    }
    if encrypted_keys.len() > MAX_ENCRYPTED_KEYS {
        return Err(malformed(format!(
            "it carries {} EncryptedKeys; at most {MAX_ENCRYPTED_KEYS} are read",
            encrypted_keys.len()
        )));
    }
    let wrapped = encrypted_keys
        .into_iter()
        .map(wrapped_key)
        .collect::<Result<Vec<_>, _>>()?;
    let ciphertext = cipher_value(*data, "EncryptedData")?;

    let mut ours: Vec<&SpKey> = sp_keys.iter().collect();
    ours.sort_by_key(|k| trial_order(k.state));
    // A stored key that does not parse cannot decrypt anything; the refusal below then says no key fits.
    let ours: Vec<(&Certificate, PKey<Private>)> = ours
        .into_iter()
        .filter_map(|k| {
            let private = k.private_key.parsed().ok()?;
            Some((&k.certificate, private))
        })
        .collect();
    let mut named_ours = None;
    let mut named_other = None;
    for wrapped in &wrapped {
        let candidates: Vec<&(&Certificate, PKey<Private>)> = match &wrapped.named {
            Some(named) => match ours.iter().find(|(c, _)| c.der() == named.der()) {
                Some(key) => {
                    named_ours.get_or_insert_with(|| named.sha256_fingerprint.clone());
                    vec![key]
                }
                None => {
                    named_other.get_or_insert_with(|| named.sha256_fingerprint.clone());
                    continue;
                }
            },
            None => ours.iter().collect(),
        };
        for (_, key) in candidates {
            // OAEP carries its own integrity check: a key that unwraps is the key the IdP encrypted for.
            if let Some(content_key) = unwrap_key(key, wrapped) {
                if content_key.len() != cipher.key_len() {
                    return Err(damaged(&format!(
                        "the content key is {} bytes, {algorithm} needs {}",
                        content_key.len(),
                        cipher.key_len()
                    )));
                }
                return decrypt_content(cipher, &content_key, &ciphertext);
            }
        }
    }
    match named_ours {
        Some(fingerprint) => Err(damaged(&format!(
            "the encrypted key does not decrypt with the SP key it names (certificate SHA-256 {fingerprint}): the response was changed or damaged"
        ))),
        None => Err(Rejection::NoDecryptionKey(named_other)),
    }
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// The decrypted text, checked to be exactly one SAML `Assertion` element and nothing else, returned as it will
/// stand in the Response. It is parsed as the content of an element with the Response's namespaces in scope: the
/// very context it has once it replaces the `EncryptedAssertion` (a direct child of the Response), so the spliced
/// document holds this one element, whatever the plaintext tries.
pub(super) fn assertion_text(plaintext: Vec<u8>, response: Node) -> Result<String, Rejection> {
    if plaintext.len() > MAX_RESPONSE_BYTES {
        return Err(Rejection::TooLarge);
    }
    let text = String::from_utf8(plaintext).map_err(|_| Rejection::DecryptedContent("it is not UTF-8 text".into()))?;
    let mut text = text.trim_start_matches('\u{feff}').trim();
    // An encrypted element is a fragment; a declaration in front of it is tolerated and dropped.
    if let Some(rest) = text.strip_prefix("<?xml")
        && rest.starts_with(|c: char| c.is_whitespace())
        && let Some(end) = rest.find("?>")
    {
        text = rest[end + 2..].trim_start();
    }
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return Err(Rejection::DecryptedDtd);
    }
    let mut wrapped = String::from("<decrypted");
    for namespace in response.namespaces() {
        match namespace.name() {
            Some("xml") => {}
            Some(prefix) => wrapped.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape_attribute(namespace.uri()))),
            None => wrapped.push_str(&format!(" xmlns=\"{}\"", escape_attribute(namespace.uri()))),
        }
    }
    wrapped.push('>');
    wrapped.push_str(text);
    wrapped.push_str("</decrypted>");
    let document = Document::parse(&wrapped)
        .map_err(|e| Rejection::DecryptedContent(format!("it is not well-formed XML ({e})")))?;
    let mut elements = Vec::new();
    for node in document.root_element().children() {
        if node.is_element() {
            elements.push(node);
        } else if !(node.is_text() && node.text().is_some_and(|t| t.trim().is_empty())) {
            return Err(Rejection::DecryptedContent(
                "it holds text, a comment or an instruction beside the Assertion".into(),
            ));
        }
    }
    match elements.as_slice() {
        [one] if is(one, SAML, "Assertion") => Ok(text.to_owned()),
        [one] => Err(Rejection::DecryptedContent(format!(
            "it is a {}, not a SAML Assertion",
            one.tag_name().name()
        ))),
        many => Err(Rejection::DecryptedContent(format!(
            "it holds {} elements; exactly one Assertion is expected",
            many.len()
        ))),
    }
}
