//! A linear look at an incoming SAML message's XML before any parser builds a tree: refuses a document deeper,
//! wider or busier than a real message ever is.
//!
//! Both tree parsers a message meets (roxmltree here, libxml2 in xmlsec) check each element's attributes for
//! duplicates by comparing every pair, so one element with 37,000 attributes costs seconds of CPU before any rule
//! can refuse it, and a signature with thousands of references or transforms costs a full parse of it by both.
//! quick-xml's streaming reader, with its own duplicate check off, reads the same bytes once; the
//! limits below sit far above what Entra ID, Okta, Google, OneLogin, JumpCloud, ADFS, Shibboleth or Keycloak
//! send (a Response with an encrypted, signed assertion nests about nine elements deep; a 150-group Entra
//! response has about 200 elements, none with more than a dozen attributes and namespace declarations).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// How deep elements may nest.
pub const MAX_DEPTH: usize = 32;
/// How many elements one message may have: a 256 KB message of group names has about 2,000.
pub const MAX_ELEMENTS: usize = 10_000;
/// How many attributes (namespace declarations included) one element may have.
pub const MAX_ATTRIBUTES: usize = 32;
/// How many `Reference` elements a message may have: a Response and its Assertion signed have two. Counted by
/// local name, whatever the namespace, so that thousands of references cost only this pass.
pub const MAX_REFERENCES: usize = 4;
/// How many `Transform` elements a message may have: two per signature.
pub const MAX_TRANSFORMS: usize = 8;

/// Why a message's shape was refused before parsing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ShapeError {
    #[error("the XML nests elements more than {MAX_DEPTH} deep; no SAML message does")]
    TooDeep,
    #[error("the XML has more than {MAX_ELEMENTS} elements; no SAML message does")]
    TooManyElements,
    #[error("an element of the XML has more than {MAX_ATTRIBUTES} attributes; no SAML message has")]
    TooManyAttributes,
    #[error("the XML declares a DTD; SAML messages never do")]
    Dtd,
    #[error("the XML has more than {MAX_REFERENCES} signature References; SAML messages never do")]
    TooManyReferences,
    #[error("the XML has more than {MAX_TRANSFORMS} signature Transforms; SAML messages never do")]
    TooManyTransforms,
    #[error("{0}")]
    Malformed(String),
}

/// Reads `xml` once and refuses it at the first limit it passes; `Ok` says nothing about whether it is valid XML.
pub fn check(xml: &str) -> Result<(), ShapeError> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut references = 0usize;
    let mut transforms = 0usize;
    let mut opened = |start: &BytesStart| {
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(ShapeError::TooManyElements);
        }
        match start.local_name().as_ref() {
            b"Reference" => references += 1,
            b"Transform" => transforms += 1,
            _ => {}
        }
        if references > MAX_REFERENCES {
            return Err(ShapeError::TooManyReferences);
        }
        if transforms > MAX_TRANSFORMS {
            return Err(ShapeError::TooManyTransforms);
        }
        if start.attributes().with_checks(false).take(MAX_ATTRIBUTES + 1).count() > MAX_ATTRIBUTES {
            return Err(ShapeError::TooManyAttributes);
        }
        Ok(())
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                opened(&start)?;
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ShapeError::TooDeep);
                }
            }
            Ok(Event::Empty(start)) => opened(&start)?,
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::DocType(_)) => return Err(ShapeError::Dtd),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(ShapeError::Malformed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn real_shapes_pass() {
        assert_eq!(check(&nested(MAX_DEPTH)), Ok(()));
        let attributes: String = (0..MAX_ATTRIBUTES).map(|i| format!(" a{i}=\"v\"")).collect();
        assert_eq!(check(&format!("<r{attributes}/>")), Ok(()));
        let siblings = "<v/>".repeat(MAX_ELEMENTS - 1);
        assert_eq!(check(&format!("<r>{siblings}</r>")), Ok(()));
    }

    #[test]
    fn each_limit_is_enforced() {
        assert_eq!(check(&nested(MAX_DEPTH + 1)), Err(ShapeError::TooDeep));
        let attributes: String = (0..=MAX_ATTRIBUTES).map(|i| format!(" a{i}=\"v\"")).collect();
        assert_eq!(check(&format!("<r{attributes}/>")), Err(ShapeError::TooManyAttributes));
        let siblings = "<v/>".repeat(MAX_ELEMENTS);
        assert_eq!(check(&format!("<r>{siblings}</r>")), Err(ShapeError::TooManyElements));
        assert_eq!(
            check("<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>"),
            Err(ShapeError::Dtd)
        );
    }

    #[test]
    fn references_and_transforms_beyond_two_signatures_are_refused() {
        let reference =
            r##"<ds:Reference URI="#a"><ds:Transforms><ds:Transform/><ds:Transform/></ds:Transforms></ds:Reference>"##;
        let two = format!("<r xmlns:ds=\"d\">{}</r>", reference.repeat(2));
        assert_eq!(check(&two), Ok(()));
        let many = format!("<r xmlns:ds=\"d\">{}</r>", reference.repeat(MAX_REFERENCES + 1));
        assert_eq!(check(&many), Err(ShapeError::TooManyReferences));
        let transforms = format!("<r>{}</r>", "<Transform/>".repeat(MAX_TRANSFORMS + 1));
        assert_eq!(check(&transforms), Err(ShapeError::TooManyTransforms));
    }

    #[test]
    fn thousands_of_duplicate_attributes_are_refused_at_the_limit_not_compared() {
        let attributes = " a=\"v\"".repeat(37_000);
        assert_eq!(check(&format!("<r{attributes}/>")), Err(ShapeError::TooManyAttributes));
    }

    #[test]
    fn broken_xml_is_malformed() {
        assert!(matches!(check("<a><b></a>"), Err(ShapeError::Malformed(_))));
    }
}
