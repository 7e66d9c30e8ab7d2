//! Identity-provider metadata (SAML 2.0 metadata documents) read into what a connection needs.
//!
//! Parsed with roxmltree, which refuses DTDs (no entity expansion, no external entities) and never fetches
//! anything; the root element is checked first because an `EntitiesDescriptor` aggregate must be offered as a
//! choice of IdPs rather than read as one. A document that fails any rule is rejected whole.

use super::certificate::{Certificate, CertificateError};
use url::Url;

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const MDUI: &str = "urn:oasis:names:tc:SAML:metadata:ui";
const XML: &str = "http://www.w3.org/XML/1998/namespace";
const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Larger than any single IdP's metadata (ADFS's, with its claim list, is about 70 KB), small enough that a
/// hostile upload cannot tie up the server.
pub const MAX_METADATA_BYTES: usize = 2 * 1024 * 1024;
/// SAML metadata limits `entityID` to 1024 characters.
pub const MAX_ENTITY_ID: usize = 1024;
const MAX_NODES: u32 = 200_000;

/// Where the IdP accepts requests, by binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub binding: String,
    pub location: Url,
}

/// One identity provider as its metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// The name the IdP gives itself (`mdui:DisplayName`, else its organisation's display name), in English
    /// when offered; for telling the IdPs of an aggregate apart.
    pub display_name: Option<String>,
    /// Certificates the IdP signs with: `KeyDescriptor use="signing"`, and those without `use` (valid for both).
    pub signing_certificates: Vec<Certificate>,
    /// SAML 2.0 single sign-on endpoints, HTTP-Redirect and HTTP-POST only (what Gatehouse can send).
    pub sso: Vec<Endpoint>,
    /// Single logout endpoints, HTTP-Redirect and HTTP-POST only.
    pub slo: Vec<Endpoint>,
    pub name_id_formats: Vec<String>,
    pub want_authn_requests_signed: bool,
    /// Whether the document carries its own `ds:Signature` (verified only when the owner supplies the
    /// federation's certificate).
    pub signed: bool,
}

impl IdpMetadata {
    /// The endpoint to send AuthnRequests to: HTTP-Redirect when offered, else HTTP-POST.
    pub fn preferred_sso(&self) -> Option<&Endpoint> {
        self.sso
            .iter()
            .find(|e| e.binding == HTTP_REDIRECT)
            .or_else(|| self.sso.iter().find(|e| e.binding == HTTP_POST))
    }
}

/// A metadata document: one IdP, or an aggregate listing several for the owner to pick from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataDocument {
    Single(IdpMetadata),
    Aggregate(Vec<IdpMetadata>),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("The file is empty. Upload the IdP's metadata XML, or paste it.")]
    Empty,
    #[error("The file is {0} bytes; IdP metadata is at most {MAX_METADATA_BYTES} bytes. Is this the right file?")]
    TooLarge(usize),
    #[error(
        "The file is not UTF-8 text. IdP metadata is an XML file; check that you exported the metadata, not a certificate."
    )]
    NotText,
    #[error(
        "This is an HTML web page, not SAML 2.0 metadata (a page saved from the IdP's admin console, or a sign-in page served instead of the document). Get the metadata XML itself: in Entra ID, on the app's Single sign-on page, download Federation Metadata XML under SAML Certificates (or use the App Federation Metadata Url shown there); in Okta, open the Metadata URL on the app's Sign On tab (Identity Provider metadata); in Google Workspace, select Download metadata in the SAML app."
    )]
    HtmlPage,
    #[error(
        "The XML declares a DTD (<!DOCTYPE …> with entities). SAML metadata never needs one, and such documents are refused because they are a known attack."
    )]
    Dtd,
    #[error("The XML is not well-formed: {0}.")]
    Malformed(String),
    #[error(
        "This is not SAML 2.0 metadata: the document starts with <{0}>, expected <EntityDescriptor> or <EntitiesDescriptor>."
    )]
    NotMetadata(String),
    #[error(
        "This metadata describes a service provider, not an identity provider (it has no IDPSSODescriptor). Export the metadata of the IdP instead."
    )]
    NotAnIdp,
    #[error("The metadata has no entityID.")]
    MissingEntityId,
    #[error("The entityID is longer than {MAX_ENTITY_ID} characters.")]
    EntityIdTooLong,
    #[error("The IdP {0} offers no single sign-on endpoint with the HTTP-Redirect or HTTP-POST binding.")]
    NoSsoEndpoint(String),
    #[error("The endpoint address \"{0}\" is not an http(s) URL.")]
    InvalidEndpoint(String),
    #[error(
        "The IdP {0} lists no signing certificate. Gatehouse cannot trust its responses without one: add the certificate by hand, or export the metadata again."
    )]
    NoSigningCertificate(String),
    #[error("A signing certificate in the metadata cannot be read: {0}")]
    BadCertificate(CertificateError),
}

/// Reads an uploaded or downloaded metadata document.
pub fn parse_metadata(bytes: &[u8]) -> Result<MetadataDocument, MetadataError> {
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(MetadataError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| MetadataError::NotText)?;
    // Entra ID's federation metadata starts with a byte-order mark.
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(MetadataError::Empty);
    }
    // Checked before parsing: a web page's `<!DOCTYPE html>` would otherwise be reported as a DTD attack.
    if is_html_page(text) {
        return Err(MetadataError::HtmlPage);
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..Default::default()
    };
    let document = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => MetadataError::Dtd,
        other => MetadataError::Malformed(other.to_string()),
    })?;
    let root = document.root_element();
    match (root.tag_name().namespace(), root.tag_name().name()) {
        (Some(MD), "EntityDescriptor") => Ok(MetadataDocument::Single(read_entity(root)?)),
        (Some(MD), "EntitiesDescriptor") => {
            // The owner picks one IdP of an aggregate, so an unusable entry elsewhere in it must not block the
            // others; only when none is usable is the first problem reported.
            let (usable, unusable): (Vec<_>, Vec<_>) = root
                .descendants()
                .filter(|n| is_md(n, "EntityDescriptor") && n.children().any(|c| is_md(&c, "IDPSSODescriptor")))
                .map(read_entity)
                .partition(Result::is_ok);
            let idps: Vec<IdpMetadata> = usable.into_iter().filter_map(Result::ok).collect();
            if idps.is_empty() {
                return Err(unusable
                    .into_iter()
                    .find_map(Result::err)
                    .unwrap_or(MetadataError::NotAnIdp));
            }
            Ok(MetadataDocument::Aggregate(idps))
        }
        (_, name) => Err(MetadataError::NotMetadata(name.to_owned())),
    }
}

/// Whether the document is a web page: it opens (after any XML declaration and comments, as XHTML may) with
/// `<!DOCTYPE html` or an `<html` element, in any letter case.
fn is_html_page(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let skipped = if rest.starts_with("<?") {
            rest.find("?>").map(|end| end + "?>".len())
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|end| end + "-->".len())
        } else {
            None
        };
        match skipped {
            Some(end) => rest = &rest[end..],
            None => break,
        }
    }
    let opens_with = |tag: &str| {
        rest.get(..tag.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(tag))
            && rest[tag.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_whitespace() || c == '>' || c == '/')
    };
    opens_with("<!doctype html") || opens_with("<html")
}

fn is_md(node: &roxmltree::Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(MD) && node.tag_name().name() == name
}

fn read_entity(entity: roxmltree::Node<'_, '_>) -> Result<IdpMetadata, MetadataError> {
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(MetadataError::MissingEntityId)?
        .to_owned();
    if entity_id.chars().count() > MAX_ENTITY_ID {
        return Err(MetadataError::EntityIdTooLong);
    }
    let idp = entity
        .children()
        .find(|n| {
            is_md(n, "IDPSSODescriptor")
                && n.attribute("protocolSupportEnumeration")
                    .is_some_and(|p| p.split_whitespace().any(|p| p == SAML2_PROTOCOL))
        })
        .ok_or(MetadataError::NotAnIdp)?;

    let mut signing_certificates: Vec<Certificate> = Vec::new();
    for key in idp.children().filter(|n| is_md(n, "KeyDescriptor")) {
        // A KeyDescriptor without `use` holds a key for both signing and encryption (metadata spec 2.4.1.1).
        if !matches!(key.attribute("use"), None | Some("signing")) {
            continue;
        }
        for cert in key.descendants().filter(|n| {
            n.is_element() && n.tag_name().namespace() == Some(DS) && n.tag_name().name() == "X509Certificate"
        }) {
            let parsed =
                Certificate::from_base64(cert.text().unwrap_or_default()).map_err(MetadataError::BadCertificate)?;
            if !signing_certificates.iter().any(|c| c.der() == parsed.der()) {
                signing_certificates.push(parsed);
            }
        }
    }
    if signing_certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate(entity_id));
    }

    let sso = endpoints(idp, "SingleSignOnService")?;
    if sso.is_empty() {
        return Err(MetadataError::NoSsoEndpoint(entity_id));
    }
    let slo = endpoints(idp, "SingleLogoutService")?;
    let name_id_formats = idp
        .children()
        .filter(|n| is_md(n, "NameIDFormat"))
        .filter_map(|n| n.text().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned))
        .collect();
    Ok(IdpMetadata {
        display_name: display_name(entity, idp),
        entity_id,
        signing_certificates,
        sso,
        slo,
        name_id_formats,
        want_authn_requests_signed: idp.attribute("WantAuthnRequestsSigned") == Some("true"),
        signed: entity
            .children()
            .any(|n| n.is_element() && n.tag_name().namespace() == Some(DS) && n.tag_name().name() == "Signature"),
    })
}

/// `mdui:DisplayName` of the IdP role, else `OrganizationDisplayName`: federation lists name their members so.
fn display_name(entity: roxmltree::Node<'_, '_>, idp: roxmltree::Node<'_, '_>) -> Option<String> {
    let ui_names = idp
        .children()
        .filter(|n| is_md(n, "Extensions"))
        .flat_map(|extensions| extensions.children())
        .filter(|n| n.is_element() && n.tag_name().namespace() == Some(MDUI) && n.tag_name().name() == "UIInfo")
        .flat_map(|info| info.children())
        .filter(|n| n.is_element() && n.tag_name().namespace() == Some(MDUI) && n.tag_name().name() == "DisplayName");
    let organization_names = entity
        .children()
        .filter(|n| is_md(n, "Organization"))
        .flat_map(|organization| organization.children())
        .filter(|n| is_md(n, "OrganizationDisplayName"));
    in_english_or_first(ui_names).or_else(|| in_english_or_first(organization_names))
}

fn in_english_or_first<'a, 'input: 'a>(names: impl Iterator<Item = roxmltree::Node<'a, 'input>>) -> Option<String> {
    let names: Vec<(Option<&str>, &str)> = names
        .filter_map(|n| Some((n.attribute((XML, "lang")), n.text()?.trim())))
        .filter(|(_, text)| !text.is_empty())
        .collect();
    names
        .iter()
        .find(|(lang, _)| lang.is_some_and(|l| l.eq_ignore_ascii_case("en") || l.starts_with("en-")))
        .or(names.first())
        .map(|(_, text)| (*text).to_owned())
}

/// The element's endpoints with a binding Gatehouse speaks; others (SOAP, Artifact, SAML 1) are skipped.
fn endpoints(idp: roxmltree::Node<'_, '_>, element: &str) -> Result<Vec<Endpoint>, MetadataError> {
    idp.children()
        .filter(|n| is_md(n, element))
        .filter(|n| matches!(n.attribute("Binding"), Some(HTTP_REDIRECT | HTTP_POST)))
        .map(|n| {
            let location = n.attribute("Location").unwrap_or_default().trim();
            Ok(Endpoint {
                binding: n.attribute("Binding").unwrap_or_default().to_owned(),
                location: parse_http_url(location)
                    .ok_or_else(|| MetadataError::InvalidEndpoint(location.to_owned()))?,
            })
        })
        .collect()
}

/// An absolute http or https URL with a host.
pub fn parse_http_url(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}
