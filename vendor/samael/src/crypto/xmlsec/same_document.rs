//! What a signature may make xmlsec process: same-document references and the transforms SAML signatures use,
//! nothing else.
//!
//! xmlsec digests every `<ds:Reference>` before it checks the `SignatureValue`, and by default it follows any
//! Reference URI (`http:`, `file:`) and runs any transform it knows (XPath, XPath Filter 2, XSLT). So a message
//! with a junk signature, which any stranger can post to a service provider, could make it fetch a URL, read a
//! file, or spend seconds of CPU before the signature fails. Two independent layers stop that, so that a mistake in
//! one is caught by the other (W3C "XML Signature Best Practices", section 2):
//!
//! - [`check_signature`] looks at each `<ds:Signature>` in the parsed document before xmlsec sees it: one
//!   Reference whose URI is empty (the whole document, for a signature on the root element) or `#` + the `ID` of
//!   the signature's own parent element, at most two transforms, each enveloped-signature or exclusive
//!   canonicalisation, no `Manifest` or `Object`, and nothing in `KeyInfo` that points elsewhere
//!   (`RetrievalMethod`, `KeyInfoReference`).
//! - [`restrict`] configures each signature context: only empty and same-document Reference URIs, manifests
//!   ignored, and only the canonicalisation, signature, transform and digest algorithms listed here enabled.

use super::wrapper::XmlSecSignatureContext;
use super::XMLNS_XML_DSIG;
use crate::crypto::{AllowedSignatureAlgorithm, CryptoError};

const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXCLUSIVE_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXCLUSIVE_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const INCLUSIVE_C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const INCLUSIVE_C14N_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
const XMLNS_XML_DSIG11: &str = "http://www.w3.org/2009/xmldsig11#";

/// The transforms a Reference may list: SAML's profile of XML Signature (SAML core 5.4.3, 5.4.4) uses the
/// enveloped-signature transform and exclusive canonicalisation.
const REFERENCE_TRANSFORMS: [&str; 3] = [ENVELOPED, EXCLUSIVE_C14N, EXCLUSIVE_C14N_WITH_COMMENTS];
/// SignedInfo's canonicalisation: exclusive, as SAML asks, or inclusive 1.0, which some older IdPs still use
/// and which, like the exclusive form, is a linear pass over SignedInfo alone.
const SIGNED_INFO_CANONICALIZATIONS: [&str; 4] = [
    EXCLUSIVE_C14N,
    EXCLUSIVE_C14N_WITH_COMMENTS,
    INCLUSIVE_C14N,
    INCLUSIVE_C14N_WITH_COMMENTS,
];
/// More than SAML ever lists (enveloped-signature, then exclusive canonicalisation).
const MAX_TRANSFORMS: usize = 2;

/// Refuses a signature that asks for more than checking a digest of its own parent element (see the module
/// documentation). `Ok` says nothing about whether the signature verifies.
pub(super) fn check_signature(signature: &libxml::tree::Node) -> Result<(), CryptoError> {
    let refuse = |reason: &str| {
        Err(CryptoError::DisallowedSignature {
            reason: reason.to_owned(),
        })
    };
    let children = signature.get_child_elements();
    if children.iter().any(|c| {
        !is_dsig(c, "SignedInfo") && !is_dsig(c, "SignatureValue") && !is_dsig(c, "KeyInfo")
    }) {
        return refuse(
            "the signature carries an Object or another element SAML signatures never have",
        );
    }
    let signed_infos: Vec<_> = children
        .iter()
        .filter(|c| is_dsig(c, "SignedInfo"))
        .collect();
    let [signed_info] = signed_infos.as_slice() else {
        return refuse("the signature must have exactly one SignedInfo");
    };
    for key_info in children.iter().filter(|c| is_dsig(c, "KeyInfo")) {
        if descendants(key_info).iter().any(|n| {
            is_dsig(n, "RetrievalMethod") || is_in(n, XMLNS_XML_DSIG11, "KeyInfoReference")
        }) {
            return refuse("the signature's KeyInfo refers to something outside the message");
        }
    }

    let signed_info_children = signed_info.get_child_elements();
    for child in &signed_info_children {
        if is_dsig(child, "CanonicalizationMethod") {
            let algorithm = child.get_attribute("Algorithm").unwrap_or_default();
            if !SIGNED_INFO_CANONICALIZATIONS.contains(&algorithm.as_str()) {
                return refuse("the signature's canonicalisation method is not one SAML uses");
            }
        } else if !is_dsig(child, "SignatureMethod") && !is_dsig(child, "Reference") {
            return refuse(
                "the signature's SignedInfo carries an element SAML signatures never have",
            );
        }
    }
    let references: Vec<_> = signed_info_children
        .iter()
        .filter(|c| is_dsig(c, "Reference"))
        .collect();
    let [reference] = references.as_slice() else {
        return refuse("the signature must have exactly one Reference");
    };
    if reference.get_attribute("Type").is_some() {
        return refuse("the signature's Reference names a type (a Manifest or Object): SAML signatures never do");
    }
    let Some(parent) = signature.get_parent() else {
        return refuse("the signature has no parent element");
    };
    let is_root = parent
        .get_parent()
        .is_some_and(|p| p.get_type() == Some(libxml::tree::NodeType::DocumentNode));
    let same_document = match reference.get_attribute("URI") {
        Some(uri) if uri.is_empty() => is_root,
        Some(uri) => uri
            .strip_prefix('#')
            .is_some_and(|id| !id.is_empty() && parent.get_attribute("ID").as_deref() == Some(id)),
        None => false,
    };
    if !same_document {
        return refuse(
            "the signature refers to something outside the message (its Reference URI must be the ID of the signed element)",
        );
    }
    for child in reference.get_child_elements() {
        if is_dsig(&child, "Transforms") {
            let transforms = child.get_child_elements();
            if transforms.len() > MAX_TRANSFORMS {
                return refuse("the signature's Reference lists more transforms than SAML uses");
            }
            for transform in &transforms {
                let algorithm = transform.get_attribute("Algorithm").unwrap_or_default();
                if !is_dsig(transform, "Transform")
                    || !REFERENCE_TRANSFORMS.contains(&algorithm.as_str())
                    || transform
                        .get_child_elements()
                        .iter()
                        .any(|c| !is_in(c, EXCLUSIVE_C14N, "InclusiveNamespaces"))
                {
                    return refuse(
                        "the signature uses a transform other than enveloped-signature and exclusive canonicalisation (XPath and XSLT are refused)",
                    );
                }
            }
        } else if !is_dsig(&child, "DigestMethod") && !is_dsig(&child, "DigestValue") {
            return refuse(
                "the signature's Reference carries an element SAML signatures never have",
            );
        }
    }
    Ok(())
}

/// Lets `context` follow only empty and same-document Reference URIs, never process a manifest, and run only
/// the algorithms [`check_signature`] accepts plus the signature and digest methods of `allowed` (of every
/// algorithm samael names when `None`). An algorithm xmlsec does not know is simply not enabled.
pub(super) fn restrict(
    context: &mut XmlSecSignatureContext,
    allowed: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<(), CryptoError> {
    let algorithms = allowed.unwrap_or(&AllowedSignatureAlgorithm::ALL);
    let signature_transforms = SIGNED_INFO_CANONICALIZATIONS.iter().copied().chain(
        algorithms
            .iter()
            .map(AllowedSignatureAlgorithm::signature_uri),
    );
    let reference_transforms = REFERENCE_TRANSFORMS
        .iter()
        .copied()
        .chain(algorithms.iter().map(AllowedSignatureAlgorithm::digest_uri));
    context.allow_only_same_document_references();
    for href in signature_transforms {
        context.enable_signature_transform(href)?;
    }
    for href in reference_transforms {
        context.enable_reference_transform(href)?;
    }
    Ok(())
}

fn is_in(node: &libxml::tree::Node, namespace: &str, name: &str) -> bool {
    node.get_name() == name
        && node
            .get_namespace()
            .is_some_and(|ns| ns.get_href() == namespace)
}

fn is_dsig(node: &libxml::tree::Node, name: &str) -> bool {
    is_in(node, XMLNS_XML_DSIG, name)
}

fn descendants(node: &libxml::tree::Node) -> Vec<libxml::tree::Node> {
    let mut found = Vec::new();
    let mut to_visit = node.get_child_elements();
    while let Some(next) = to_visit.pop() {
        to_visit.extend(next.get_child_elements());
        found.push(next);
    }
    found
}
