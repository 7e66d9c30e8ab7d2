//! X.509 signing certificates as owners paste or upload them, and what the page shows about each one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// How soon before its end a certificate is flagged on the page.
pub const EXPIRY_WARNING: Duration = Duration::days(30);

/// A parsed certificate: its DER bytes (what signature checks use) and the facts shown to the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// Hexadecimal, as certificate viewers show it.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-256 over the DER bytes, colon-separated uppercase hex (what IdP consoles show as the thumbprint).
    pub sha256_fingerprint: String,
    /// Key algorithm and size, e.g. "RSA 2048 bits" or "EC P-256".
    pub key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    NotYetValid,
    Valid,
    /// Ends within [`EXPIRY_WARNING`].
    ExpiresSoon,
    /// Past its end date. Still used for verification: many IdPs keep signing with such a certificate, and the
    /// trust comes from the owner having configured this very certificate, not from its dates.
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("Paste or upload the IdP's signing certificate (Base64, with or without the BEGIN/END lines).")]
    Empty,
    #[error("This is not Base64 text or a certificate file: {0}.")]
    NotBase64(String),
    #[error("This is a private key, not a certificate. Never share private keys; paste the IdP's public certificate.")]
    PrivateKey,
    #[error("The text decodes, but is not an X.509 certificate ({0}).")]
    NotACertificate(String),
}

impl Certificate {
    /// Parses what an owner pasted or uploaded: PEM (one or several `BEGIN CERTIFICATE` blocks, such as a
    /// chain), bare Base64 with or without line breaks, or a binary DER `.cer` file.
    pub fn parse_all(input: &[u8]) -> Result<Vec<Certificate>, CertificateError> {
        if X509Certificate::from_der(input).is_ok() {
            return Ok(vec![Self::from_der(input.to_vec())?]);
        }
        let text = String::from_utf8_lossy(input);
        if text.contains("PRIVATE KEY-----") {
            return Err(CertificateError::PrivateKey);
        }
        let blocks = pem_blocks(&text);
        if blocks.is_empty() {
            let base64: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if base64.is_empty() {
                return Err(CertificateError::Empty);
            }
            return Ok(vec![Self::from_base64(&base64)?]);
        }
        blocks.iter().map(|block| Self::from_base64(block)).collect()
    }

    /// Parses the Base64 content of an `X509Certificate` element (whitespace inside is ignored).
    pub fn from_base64(text: &str) -> Result<Certificate, CertificateError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| CertificateError::NotBase64(e.to_string()))?;
        Self::from_der(der)
    }

    /// Parses DER bytes, keeping them as they are.
    pub fn from_der(der: Vec<u8>) -> Result<Certificate, CertificateError> {
        let (rest, cert) =
            X509Certificate::from_der(&der).map_err(|e| CertificateError::NotACertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertificateError::NotACertificate(format!(
                "{} unexpected bytes after the certificate",
                rest.len()
            )));
        }
        let validity = cert.validity();
        let timestamp = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let info = Certificate {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string().to_uppercase(),
            not_before: timestamp(validity.not_before.timestamp()),
            not_after: timestamp(validity.not_after.timestamp()),
            sha256_fingerprint: colon_hex(&Sha256::digest(&der)),
            key: describe_key(&cert),
            der: Vec::new(),
        };
        Ok(Certificate { der, ..info })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as Base64 DER, the form SAML metadata and storage use.
    /// `BEGIN CERTIFICATE` armour around Base64 in 64-character lines, as RFC 7468 writes it.
    pub fn to_pem(&self) -> String {
        let base64 = self.to_base64();
        let lines: Vec<&str> = base64
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).expect("Base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.der)
    }

    pub fn validity(&self, now: DateTime<Utc>) -> Validity {
        if now < self.not_before {
            Validity::NotYetValid
        } else if now >= self.not_after {
            Validity::Expired
        } else if now + EXPIRY_WARNING >= self.not_after {
            Validity::ExpiresSoon
        } else {
            Validity::Valid
        }
    }
}

/// The Base64 bodies of the `BEGIN CERTIFICATE` blocks in `text`.
fn pem_blocks(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            // An unterminated block still holds the Base64; let the decoder say whether it is complete.
            blocks.push(after.to_owned());
            break;
        };
        blocks.push(after[..end].to_owned());
        rest = &after[end + END.len()..];
    }
    blocks
}

fn describe_key(cert: &X509Certificate<'_>) -> String {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {} bits", rsa.key_size()),
        Ok(PublicKey::EC(point)) => {
            let curve = cert
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_owned(),
                    "1.3.132.0.34" => "P-384".to_owned(),
                    "1.3.132.0.35" => "P-521".to_owned(),
                    other => other.to_owned(),
                })
                .unwrap_or_else(|| format!("{} bits", point.key_size()));
            format!("EC {curve}")
        }
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        Ok(other) => format!("{other:?}").split('(').next().unwrap_or("unknown").to_owned(),
        Err(_) => "unknown".to_owned(),
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}
