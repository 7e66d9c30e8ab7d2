//! XML signature verification with the public keys of configured certificates, each key read once and kept for
//! the process.
//!
//! Reading a key from certificate DER costs about 0.1 ms with OpenSSL 3.0 (its decoder setup), a quarter of a
//! whole ACS check and three times the RSA verification itself (docs/performance.md). So the key of every
//! certificate a message is checked against is read once into a [`VerificationKey`] (samael's prepared-keys
//! API, vendor/samael/PATCH.md) and kept here, looked up by the certificate's full DER: a key is only ever used
//! for the certificate it was read from, and the caller decides which certificates count, exactly as before.
//! Nothing a message carries (its KeyInfo) is ever a key.

use super::certificate::Certificate;
use super::xmlsec;
use lru::LruCache;
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoError, ReduceMode, VerificationKey};
use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// How many certificates' keys are kept: far more than an instance's IdPs sign with at once (each connection has
/// one or two, during a roll-over three). Past it the least recently used key goes; it is read again when needed.
const KEPT_KEYS: NonZeroUsize = NonZeroUsize::new(1024).unwrap();

/// Taken only while the xmlsec lock is held (reading or dropping a key is an xmlsec call), so never contended.
static KEYS: LazyLock<Mutex<VerificationKeyCache>> = LazyLock::new(|| Mutex::new(VerificationKeyCache::new(KEPT_KEYS)));

/// Verifies every XML signature in `xml` with the keys of `certificates` only, with an algorithm from
/// `allowed` (any when `None`), and returns what samael keeps in `mode`. A certificate whose key xmlsec cannot
/// read is skipped; with none left nothing verifies. xmlsec is C and CPU-bound: call this off the async runtime.
pub(super) fn reduce_to_signed(
    xml: &str,
    certificates: &[Certificate],
    mode: ReduceMode,
    allowed: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<String, CryptoError> {
    let _xmlsec = xmlsec::lock();
    let keys = KEYS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .keys_for(certificates);
    let result = Crypto::reduce_xml_to_signed_with_keys(xml, &keys, mode, allowed);
    // Released before the xmlsec lock: an evicted key's last reference may be among them.
    drop(keys);
    result
}

/// [`reduce_to_signed`], also telling which certificate's key verified (its index in `certificates`), for the
/// owner's "last used". With one certificate that is the one. With several, each is tried alone, `named_first`
/// (the one the message's KeyInfo names: a hint only, as KeyInfo is not signed) before the others, so that a
/// roll-over costs one check when the hint is right; only when no single key verifies every signature (an IdP
/// signing the Response and the Assertion with different keys) are they tried together, and then none is named.
pub(super) fn reduce_to_signed_naming_key(
    xml: &str,
    certificates: &[Certificate],
    named_first: Option<usize>,
    mode: ReduceMode,
    allowed: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<(String, Option<usize>), CryptoError> {
    if certificates.len() <= 1 {
        return reduce_to_signed(xml, certificates, mode, allowed).map(|signed| (signed, Some(0)));
    }
    let others = (0..certificates.len()).filter(|i| Some(*i) != named_first);
    for i in named_first.into_iter().chain(others) {
        match reduce_to_signed(xml, &certificates[i..=i], mode, allowed) {
            Ok(signed) => return Ok((signed, Some(i))),
            // The algorithm is refused whatever the key: no other key can change the answer.
            Err(e @ CryptoError::DisallowedSignature { .. }) => return Err(e),
            Err(_) => {}
        }
    }
    reduce_to_signed(xml, certificates, mode, allowed).map(|signed| (signed, None))
}

/// Keys by the full DER of the certificate each was read from.
struct VerificationKeyCache(LruCache<Vec<u8>, Arc<VerificationKey>>);

impl VerificationKeyCache {
    fn new(capacity: NonZeroUsize) -> Self {
        Self(LruCache::new(capacity))
    }

    /// The key of each certificate that has one, in the certificates' order, read now where not yet kept.
    fn keys_for(&mut self, certificates: &[Certificate]) -> Vec<Arc<VerificationKey>> {
        certificates.iter().filter_map(|c| self.key_for(c.der())).collect()
    }

    fn key_for(&mut self, der: &[u8]) -> Option<Arc<VerificationKey>> {
        // Nothing is kept for DER that does not read, so junk costs a read each time but no room.
        self.0
            .try_get_or_insert_ref(der, || {
                VerificationKey::from_certificate_der(&CertificateDer::from(der.to_vec())).map(Arc::new)
            })
            .ok()
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ConnectionId;
    use crate::saml::binding::{sign_enveloped, signature_template_xml};
    use crate::saml::sp_keys::{KeyState, SpKey};
    use chrono::Utc;

    fn key_pair() -> SpKey {
        SpKey::generate(ConnectionId::new(), "idp.example.com", KeyState::Active, Utc::now()).unwrap()
    }

    /// A LogoutRequest signed with `signer`'s private key, naming `signer`'s certificate in KeyInfo.
    fn signed_by(signer: &SpKey) -> String {
        let template = signature_template_xml("_1", signer.certificate.der()).unwrap();
        let xml = format!(
            "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_1\">{template}</samlp:LogoutRequest>"
        );
        let signing = signer.signing_key();
        sign_enveloped(&xml, &signing).unwrap()
    }

    fn verifies(xml: &str, key: &Arc<VerificationKey>) -> bool {
        let _xmlsec = xmlsec::lock();
        Crypto::reduce_xml_to_signed_with_keys(xml, &[key], ReduceMode::PreDigest, None).is_ok()
    }

    #[test]
    fn a_kept_key_is_its_certificates_and_verifies_nothing_else() {
        let (a, b) = (key_pair(), key_pair());
        let (by_a, by_b) = (signed_by(&a), signed_by(&b));
        let mut kept = VerificationKeyCache::new(NonZeroUsize::new(8).unwrap());
        let key_a = {
            let _xmlsec = xmlsec::lock();
            kept.key_for(a.certificate.der()).unwrap()
        };
        assert!(verifies(&by_a, &key_a));
        assert!(!verifies(&by_b, &key_a), "B's message, B's certificate in its KeyInfo");
        // Asked again, the same key comes back, not a new read; another certificate gets its own.
        let _xmlsec = xmlsec::lock();
        assert!(Arc::ptr_eq(&kept.key_for(a.certificate.der()).unwrap(), &key_a));
        let key_b = kept.key_for(b.certificate.der()).unwrap();
        assert!(!Arc::ptr_eq(&key_a, &key_b));
        assert_eq!(kept.0.len(), 2);
        // A roll-over list keeps its order; what is not a certificate xmlsec can read is left out.
        let keys = kept.keys_for(&[b.certificate.clone(), a.certificate.clone()]);
        assert!(Arc::ptr_eq(&keys[0], &key_b) && Arc::ptr_eq(&keys[1], &key_a));
        assert!(kept.key_for(b"not a certificate").is_none());
        assert_eq!(kept.0.len(), 2);
    }
}
