//! What the fuzz targets share: the connection a response or logout message is checked against, with the test
//! IdP's signing key and the SP's decryption key.
//!
//! The keys are made by the seed step (`seeds`), which signs and encrypts the seed messages with them and writes
//! them beside the seeds; a target reads them from the folder named by `GATEHOUSE_FUZZ_KEYS`, so that the seeds'
//! signatures verify and their assertions decrypt, and the fuzzer starts past the signature check. Without that
//! variable a target makes keys of its own: it still runs, but no seed signature verifies.

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::saml::logout::LogoutExpectations;
use gatehouse_core::saml::response::Expectations;
use gatehouse_core::saml::sp_keys::PrivateKeyPem;
use gatehouse_core::saml::{Certificate, KeyState, SpKey};
use std::path::Path;
use std::sync::OnceLock;
use test_idp::Signer;

/// The connection's single logout URL (the ACS URL and entity IDs are the test IdP's own constants).
pub const SLO: &str = "https://sso.example.com/saml/6f1c1c1e-8d59-4c4e-9c55-2f3f0a0b7e11/slo";
/// Where a target finds the keys the seeds were made with.
pub const KEYS_VARIABLE: &str = "GATEHOUSE_FUZZ_KEYS";

const IDP_KEY: &str = "idp-key.der";
const IDP_CERTIFICATE: &str = "idp-certificate.der";
const SP_KEY: &str = "sp-key.pem";
const SP_CERTIFICATE: &str = "sp-certificate.der";

/// The IdP's signing key and the SP's active key pair.
pub struct Keys {
    pub idp: Signer,
    pub sp: Vec<SpKey>,
}

impl Keys {
    /// New keys, as the test IdP makes them.
    pub fn generate() -> Self {
        let idp = test_idp::idp();
        Keys {
            idp: Signer::new(idp.der.clone(), idp.certificate.clone()).expect("the test IdP's key reads"),
            sp: vec![test_idp::sp_key(KeyState::Active).clone()],
        }
    }

    pub fn save(&self, folder: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(folder)?;
        let sp = &self.sp[0];
        std::fs::write(folder.join(IDP_KEY), &self.idp.der)?;
        std::fs::write(folder.join(IDP_CERTIFICATE), self.idp.certificate.der())?;
        let sp_pem = sp
            .private_key
            .parsed()
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .private_key_to_pem_pkcs8()
            .map_err(std::io::Error::other)?;
        std::fs::write(folder.join(SP_KEY), sp_pem)?;
        std::fs::write(folder.join(SP_CERTIFICATE), sp.certificate.der())
    }

    pub fn load(folder: &Path) -> Result<Self, String> {
        let read = |name: &str| std::fs::read(folder.join(name)).map_err(|e| format!("{name}: {e}"));
        let certificate = |name: &str| Certificate::from_der(read(name)?).map_err(|e| format!("{name}: {e}"));
        let sp_pem = String::from_utf8(read(SP_KEY)?).map_err(|e| format!("{SP_KEY}: {e}"))?;
        Ok(Keys {
            idp: Signer::new(read(IDP_KEY)?, certificate(IDP_CERTIFICATE)?)?,
            sp: vec![SpKey {
                id: uuid::Uuid::nil(),
                state: KeyState::Active,
                certificate: certificate(SP_CERTIFICATE)?,
                private_key: PrivateKeyPem::new(sp_pem),
                created_at: test_idp::now(),
            }],
        })
    }
}

/// The keys of `GATEHOUSE_FUZZ_KEYS`, else new ones; read once per process.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| match std::env::var_os(KEYS_VARIABLE) {
        Some(folder) => Keys::load(Path::new(&folder))
            .unwrap_or_else(|e| panic!("{KEYS_VARIABLE}={}: {e}", Path::new(&folder).display())),
        None => Keys::generate(),
    })
}

/// The moment every check runs at: the test IdP's clock, so seeds never expire.
pub fn now() -> DateTime<Utc> {
    test_idp::now()
}

/// A connection that accepts the most: SHA-1 allowed, and IdP-initiated responses as well as answers to the
/// pending request, so that every seed the test IdP makes can pass all the rules.
pub fn response_expectations() -> Expectations<'static> {
    let keys = keys();
    static CERTIFICATES: OnceLock<Vec<Certificate>> = OnceLock::new();
    Expectations {
        idp_entity_id: test_idp::IDP,
        certificates: CERTIFICATES.get_or_init(|| vec![keys.idp.certificate.clone()]),
        sp_keys: &keys.sp,
        sp_entity_id: test_idp::SP,
        acs_url: test_idp::ACS,
        request_id: Some(test_idp::REQUEST),
        allow_unsolicited: true,
        allow_sha1: true,
        clock_skew: Duration::minutes(3),
        now: now(),
    }
}

pub fn logout_expectations() -> LogoutExpectations<'static> {
    let keys = keys();
    static CERTIFICATES: OnceLock<Vec<Certificate>> = OnceLock::new();
    LogoutExpectations {
        idp_entity_id: test_idp::IDP,
        certificates: CERTIFICATES.get_or_init(|| vec![keys.idp.certificate.clone()]),
        slo_url: SLO,
        allow_sha1: true,
        clock_skew: Duration::minutes(3),
        now: now(),
    }
}
