//! A SAML IdP for tests: an RSA key pair and responses signed with xmlsec at test time, every part of which a
//! test may change before signing, and the assertion optionally encrypted for an SP certificate afterwards.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_core::ConnectionId;
use gatehouse_core::saml::sp_keys::PrivateKeyPem;
use gatehouse_core::saml::xmlsec;
use gatehouse_core::saml::{Certificate, KeyState, SpKey};
use openssl::encrypt::Encrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use openssl::x509::X509;
use samael::crypto::{SigningKey, XmlSec};
use std::sync::OnceLock;

pub const IDP: &str = "https://idp.example.com/saml";
pub const SP: &str = "https://sso.example.com/saml/6f1c1c1e-8d59-4c4e-9c55-2f3f0a0b7e11/metadata";
pub const ACS: &str = "https://sso.example.com/saml/6f1c1c1e-8d59-4c4e-9c55-2f3f0a0b7e11/acs";
pub const REQUEST: &str = "_request-1";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// An IdP's key pair (made with the same generator as SP keys, which is just an RSA key and a certificate).
pub struct Signer {
    pub der: Vec<u8>,
    pub certificate: Certificate,
    /// The private key as xmlsec signs with it, read once: reading it costs more than a signature, and the load
    /// generator signs a response for every sign-in it makes.
    xmlsec_key: SigningKey,
}

impl Signer {
    /// A signer with the private key `der` (PKCS#1 or PKCS#8) and its `certificate`.
    pub fn new(der: Vec<u8>, certificate: Certificate) -> Result<Self, String> {
        Ok(Self {
            xmlsec_key: SigningKey::from_der(&der).map_err(|e| format!("the IdP key does not read: {e}"))?,
            der,
            certificate,
        })
    }

    /// The private key as PEM, for signing HTTP-Redirect query strings and enveloped logout messages.
    pub fn private_key(&self) -> PrivateKeyPem {
        let key = PKey::private_key_from_der(&self.der).unwrap();
        PrivateKeyPem::new(String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap())
    }
}

pub fn signer(which: usize) -> &'static Signer {
    static SIGNERS: OnceLock<Vec<Signer>> = OnceLock::new();
    &SIGNERS.get_or_init(|| {
        (0..3)
            .map(|_| {
                let key = SpKey::generate(ConnectionId::new(), "idp.example.com", KeyState::Active, now()).unwrap();
                let der = key.private_key.parsed().unwrap().private_key_to_der().unwrap();
                Signer::new(der, key.certificate).unwrap()
            })
            .collect()
    })[which]
}

pub fn idp() -> &'static Signer {
    signer(0)
}

pub fn attacker() -> &'static Signer {
    signer(1)
}

/// The IdP's next key pair, as it publishes ahead of a certificate roll-over.
pub fn next_idp() -> &'static Signer {
    signer(2)
}

/// The SP's key pairs during a rotation, as a connection holds them: the active, the next and the previous key.
pub fn sp_keys() -> &'static [SpKey] {
    static KEYS: OnceLock<Vec<SpKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [KeyState::Active, KeyState::Next, KeyState::Previous]
            .into_iter()
            .map(|state| SpKey::generate(ConnectionId::new(), "sso.example.com", state, now()).unwrap())
            .collect()
    })
}

/// The SP key in `state` of [`sp_keys`].
pub fn sp_key(state: KeyState) -> &'static SpKey {
    sp_keys().iter().find(|k| k.state == state).unwrap()
}

/// A key pair of some other service provider.
pub fn other_sp_key() -> &'static SpKey {
    static KEY: OnceLock<SpKey> = OnceLock::new();
    KEY.get_or_init(|| SpKey::generate(ConnectionId::new(), "other-sp.example.com", KeyState::Active, now()).unwrap())
}

#[derive(Clone, Copy, PartialEq)]
pub enum Signed {
    Assertion,
    Response,
    /// The assertion, then the Response around it.
    Both,
    Nothing,
}

/// Content encryption algorithms, as IdPs offer them (Entra and ADFS: AES-256-CBC; Okta: AES-128/256 in CBC or
/// GCM; Shibboleth: AES-128-GCM).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DataCipher {
    Aes128Cbc,
    Aes192Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes192Gcm,
    Aes256Gcm,
}

impl DataCipher {
    pub const ALL: [DataCipher; 6] = [
        DataCipher::Aes128Cbc,
        DataCipher::Aes192Cbc,
        DataCipher::Aes256Cbc,
        DataCipher::Aes128Gcm,
        DataCipher::Aes192Gcm,
        DataCipher::Aes256Gcm,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            DataCipher::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            DataCipher::Aes192Cbc => "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
            DataCipher::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            DataCipher::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            DataCipher::Aes192Gcm => "http://www.w3.org/2009/xmlenc11#aes192-gcm",
            DataCipher::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    fn cipher(self) -> Cipher {
        match self {
            DataCipher::Aes128Cbc => Cipher::aes_128_cbc(),
            DataCipher::Aes192Cbc => Cipher::aes_192_cbc(),
            DataCipher::Aes256Cbc => Cipher::aes_256_cbc(),
            DataCipher::Aes128Gcm => Cipher::aes_128_gcm(),
            DataCipher::Aes192Gcm => Cipher::aes_192_gcm(),
            DataCipher::Aes256Gcm => Cipher::aes_256_gcm(),
        }
    }

    fn is_gcm(self) -> bool {
        matches!(
            self,
            DataCipher::Aes128Gcm | DataCipher::Aes192Gcm | DataCipher::Aes256Gcm
        )
    }
}

/// How the content key travels to the SP: always RSA-OAEP, as the two spellings IdPs use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyTransport {
    /// `xmlenc#rsa-oaep-mgf1p` with SHA-1 (what Entra, ADFS, Okta and Shibboleth send).
    RsaOaepMgf1p,
    /// `xmlenc11#rsa-oaep` with SHA-256 for the digest and MGF1.
    RsaOaepSha256,
}

/// Encrypts the (signed) assertion for an SP certificate.
#[derive(Clone)]
pub struct Encryption {
    pub certificate: Certificate,
    pub data: DataCipher,
    pub key_transport: KeyTransport,
    /// Names the SP certificate in the EncryptedKey's KeyInfo, as Okta and ADFS do.
    pub name_certificate: bool,
    /// Puts the EncryptedKey beside the EncryptedData (as Shibboleth does) instead of inside its KeyInfo.
    pub key_beside_data: bool,
}

impl Encryption {
    /// AES-256-CBC with the key under RSA-OAEP, naming the certificate: what Entra ID sends.
    pub fn to(certificate: &Certificate) -> Self {
        Self {
            certificate: certificate.clone(),
            data: DataCipher::Aes256Cbc,
            key_transport: KeyTransport::RsaOaepMgf1p,
            name_certificate: true,
            key_beside_data: false,
        }
    }
}

/// The parts of a response a test may change before it is signed.
#[derive(Clone)]
pub struct Spec {
    /// Values of the `groups` attribute.
    pub groups: Vec<String>,
    /// Further attributes after `groups` and `email`, each with its values (e.g. Entra ID's claims).
    pub attributes: Vec<(String, Vec<String>)>,
    pub assertion_id: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub status: String,
    /// The `StatusMessage` beside the status, as Entra ID sends its AADSTS code.
    pub status_message: Option<String>,
    pub issuer: String,
    pub name_id: String,
    /// The AuthnStatement's SessionIndex: the IdP session single logout names.
    pub session_index: String,
    pub recipient: String,
    pub confirmation_in_response_to: Option<String>,
    pub confirmation_until: Option<DateTime<Utc>>,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub audience: Option<String>,
    pub signed: Signed,
    pub sha1: bool,
    pub key_info: bool,
    pub signer: &'static Signer,
    /// Encrypt the assertion (after signing it, when it is signed) into an EncryptedAssertion.
    pub encryption: Option<Encryption>,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            groups: vec!["Gatehouse Admins".into(), "Staff".into()],
            attributes: Vec::new(),
            assertion_id: "_assertion-1".into(),
            destination: Some(ACS.into()),
            in_response_to: Some(REQUEST.into()),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            status_message: None,
            issuer: IDP.into(),
            name_id: "ada@acme.example".into(),
            session_index: "_session-7".into(),
            recipient: ACS.into(),
            confirmation_in_response_to: Some(REQUEST.into()),
            confirmation_until: Some(now() + Duration::minutes(5)),
            not_before: now() - Duration::minutes(1),
            not_on_or_after: now() + Duration::minutes(5),
            audience: Some(SP.into()),
            signed: Signed::Assertion,
            sha1: false,
            key_info: true,
            signer: idp(),
            encryption: None,
        }
    }
}

pub fn signature_template(reference: &str, sha1: bool, key_info: Option<&Certificate>) -> String {
    let (method, digest) = if sha1 {
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
    } else {
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        )
    };
    let key_info = key_info
        .map(|c| {
            format!(
                "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                c.to_base64()
            )
        })
        .unwrap_or_default();
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>{key_info}</ds:Signature>"##
    )
}

pub fn attribute(name: &str, value: Option<&str>) -> String {
    value.map(|v| format!(" {name}=\"{v}\"")).unwrap_or_default()
}

pub fn assertion_xml(spec: &Spec, id: &str, signature: &str) -> String {
    let audience = spec
        .audience
        .as_ref()
        .map(|a| format!("<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>"))
        .unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{until}{recipient}{irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{session_index}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="groups">{groups}</saml:Attribute><saml:Attribute Name="email"><saml:AttributeValue>ada@acme.example</saml:AttributeValue></saml:Attribute>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
        now = now().to_rfc3339(),
        issuer = spec.issuer,
        name_id = spec.name_id,
        session_index = spec.session_index,
        groups = values(&spec.groups),
        attributes = spec
            .attributes
            .iter()
            .map(|(name, v)| format!(r#"<saml:Attribute Name="{name}">{}</saml:Attribute>"#, values(v)))
            .collect::<String>(),
        until = attribute(
            "NotOnOrAfter",
            spec.confirmation_until.map(|t| t.to_rfc3339()).as_deref()
        ),
        recipient = attribute("Recipient", Some(&spec.recipient)),
        irt = attribute("InResponseTo", spec.confirmation_in_response_to.as_deref()),
        nb = spec.not_before.to_rfc3339(),
        noa = spec.not_on_or_after.to_rfc3339(),
    )
}

fn values(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>"))
        .collect()
}

pub fn response_xml(spec: &Spec, assertion: &str, signature: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_response-1" Version="2.0" IssueInstant="{now}"{destination}{irt}><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="{status}"/>{status_message}</samlp:Status>{assertion}</samlp:Response>"#,
        now = now().to_rfc3339(),
        destination = attribute("Destination", spec.destination.as_deref()),
        irt = attribute("InResponseTo", spec.in_response_to.as_deref()),
        issuer = spec.issuer,
        status = spec.status,
        status_message = spec
            .status_message
            .as_ref()
            .map(|m| format!("<samlp:StatusMessage>{m}</samlp:StatusMessage>"))
            .unwrap_or_default(),
    )
}

pub fn sign(xml: &str, signer: &Signer) -> String {
    let _xmlsec = xmlsec::lock();
    XmlSec::sign_xml_with_key(xml, &signer.xmlsec_key).expect("xmlsec signs the template")
}

pub fn build(spec: &Spec) -> String {
    if spec.encryption.is_some() || spec.signed == Signed::Both {
        return build_in_steps(spec);
    }
    let key_info = spec.key_info.then_some(&spec.signer.certificate);
    let assertion_signature = if spec.signed == Signed::Assertion {
        signature_template(&spec.assertion_id, spec.sha1, key_info)
    } else {
        String::new()
    };
    let response_signature = if spec.signed == Signed::Response {
        signature_template("_response-1", spec.sha1, key_info)
    } else {
        String::new()
    };
    let assertion = assertion_xml(spec, &spec.assertion_id, &assertion_signature);
    let xml = response_xml(spec, &assertion, &response_signature);
    if spec.signed == Signed::Nothing {
        xml
    } else {
        strip_declaration(&sign(&xml, spec.signer))
    }
}

pub fn strip_declaration(xml: &str) -> String {
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim_start().to_owned(),
        None => xml.to_owned(),
    }
}

/// As real IdPs do it: the assertion is signed on its own, then encrypted, then the Response around it is signed.
fn build_in_steps(spec: &Spec) -> String {
    let key_info = spec.key_info.then_some(&spec.signer.certificate);
    let assertion_signed = matches!(spec.signed, Signed::Assertion | Signed::Both);
    let response_signed = matches!(spec.signed, Signed::Response | Signed::Both);
    let mut assertion = if assertion_signed {
        let template = assertion_xml(
            spec,
            &spec.assertion_id,
            &signature_template(&spec.assertion_id, spec.sha1, key_info),
        );
        strip_declaration(&sign(&template, spec.signer))
    } else {
        assertion_xml(spec, &spec.assertion_id, "")
    };
    if let Some(encryption) = &spec.encryption {
        assertion = encrypt(&assertion, encryption);
    }
    if response_signed {
        let template = response_xml(
            spec,
            &assertion,
            &signature_template("_response-1", spec.sha1, key_info),
        );
        strip_declaration(&sign(&template, spec.signer))
    } else {
        response_xml(spec, &assertion, "")
    }
}

fn base64_lines(bytes: &[u8]) -> String {
    // Wrapped at 76 characters, as most IdPs write it.
    let text = openssl::base64::encode_block(bytes);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    lines.join("\n")
}

fn random(length: usize) -> Vec<u8> {
    let mut bytes = vec![0; length];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    bytes
}

/// `plaintext` (normally one serialized Assertion) as a `saml:EncryptedAssertion` for `encryption.certificate`.
pub fn encrypt(plaintext: impl AsRef<[u8]>, encryption: &Encryption) -> String {
    let plaintext = plaintext.as_ref();
    let cipher = encryption.data.cipher();
    let key = random(cipher.key_len());
    let data = if encryption.data.is_gcm() {
        let iv = random(12);
        let mut tag = [0; 16];
        let ciphertext = openssl::symm::encrypt_aead(cipher, &key, Some(&iv), &[], plaintext, &mut tag).unwrap();
        [iv, ciphertext, tag.to_vec()].concat()
    } else {
        // XML Encryption padding as .NET and Java write it: random bytes, the last one their count.
        let block = cipher.block_size();
        let padding = block - plaintext.len() % block;
        let mut padded = plaintext.to_vec();
        padded.extend(random(padding - 1));
        padded.push(padding as u8);
        let iv = random(block);
        let mut crypter = Crypter::new(cipher, Mode::Encrypt, &key, Some(&iv)).unwrap();
        crypter.pad(false);
        let mut out = vec![0; padded.len() + block];
        let mut length = crypter.update(&padded, &mut out).unwrap();
        length += crypter.finalize(&mut out[length..]).unwrap();
        out.truncate(length);
        [iv, out].concat()
    };
    let public = X509::from_der(encryption.certificate.der())
        .unwrap()
        .public_key()
        .unwrap();
    let mut encrypter = Encrypter::new(&public).unwrap();
    encrypter.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    let method = match encryption.key_transport {
        KeyTransport::RsaOaepMgf1p => {
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>"#
        }
        KeyTransport::RsaOaepSha256 => {
            encrypter.set_rsa_oaep_md(MessageDigest::sha256()).unwrap();
            encrypter.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"/></xenc:EncryptionMethod>"#
        }
    };
    let mut wrapped = vec![0; encrypter.encrypt_len(&key).unwrap()];
    let length = encrypter.encrypt(&key, &mut wrapped).unwrap();
    wrapped.truncate(length);
    let named = if encryption.name_certificate {
        format!(
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            encryption.certificate.to_base64()
        )
    } else {
        String::new()
    };
    let encrypted_key = format!(
        r#"<xenc:EncryptedKey Id="_key-1" Recipient="{SP}">{method}{named}<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"#,
        base64_lines(&wrapped)
    );
    let (inside, beside) = if encryption.key_beside_data {
        (
            r##"<ds:KeyInfo><ds:RetrievalMethod Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#_key-1"/></ds:KeyInfo>"##.to_owned(),
            encrypted_key,
        )
    } else {
        (format!("<ds:KeyInfo>{encrypted_key}</ds:KeyInfo>"), String::new())
    };
    format!(
        r#"<saml:EncryptedAssertion xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedData Id="_data-1" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="{}"/>{inside}<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>{beside}</saml:EncryptedAssertion>"#,
        encryption.data.uri(),
        base64_lines(&data)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use samael::crypto::CryptoProvider;

    /// The key read once signs exactly as the DER read for each document would (RSA PKCS#1 v1.5 signatures are
    /// deterministic), every time.
    #[test]
    fn signing_with_the_key_read_once_gives_the_same_document() {
        let spec = Spec::default();
        let template = response_xml(
            &spec,
            &assertion_xml(&spec, &spec.assertion_id, ""),
            &signature_template("_response-1", false, None),
        );
        let from_der = {
            let _xmlsec = xmlsec::lock();
            XmlSec::sign_xml(&template, &idp().der).unwrap()
        };
        for _ in 0..3 {
            assert_eq!(sign(&template, idp()), from_der);
        }
    }
}
