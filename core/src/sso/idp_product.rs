//! Which IdP product a connection talks to, told from the IdP's entity ID and sign-on URL: it names a connection
//! its owner left unnamed, and picks the defaults that differ between products.

use super::connection::MAX_LABEL;

/// The IdP products whose entity IDs or sign-on URLs have a recognisable shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdpProduct {
    EntraId,
    Adfs,
    Okta,
    GoogleWorkspace,
    OneLogin,
    JumpCloud,
    Auth0,
    Keycloak,
    Shibboleth,
    Other,
}

impl IdpProduct {
    /// The product behind `entity_id`, or failing that behind the host of `sso_url` (Okta, JumpCloud and
    /// Auth0 tenants can be given entity IDs of the administrator's choosing, but their sign-on URLs keep the
    /// product's host).
    pub fn detect(entity_id: &str, sso_url: &str) -> IdpProduct {
        let entity = entity_id.trim().to_ascii_lowercase();
        let sso_host = host_of(sso_url).unwrap_or_default().to_ascii_lowercase();
        let entity_host = host_of(&entity).unwrap_or_default();
        let on = |host: &str, domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        if entity.starts_with("https://sts.windows.net/") || entity.starts_with("https://login.microsoftonline.com/") {
            IdpProduct::EntraId
        } else if entity.ends_with("/adfs/services/trust") {
            IdpProduct::Adfs
        } else if entity.starts_with("http://www.okta.com/")
            || on(&sso_host, "okta.com")
            || on(&sso_host, "oktapreview.com")
        {
            IdpProduct::Okta
        } else if entity.starts_with("https://accounts.google.com/o/saml2") {
            IdpProduct::GoogleWorkspace
        } else if on(&entity_host, "onelogin.com") || on(&sso_host, "onelogin.com") {
            IdpProduct::OneLogin
        } else if entity == "jumpcloud" || on(&sso_host, "jumpcloud.com") {
            IdpProduct::JumpCloud
        } else if (entity.starts_with("urn:") && entity.ends_with(".auth0.com")) || on(&sso_host, "auth0.com") {
            IdpProduct::Auth0
        } else if entity.contains("/realms/") {
            IdpProduct::Keycloak
        } else if entity.ends_with("/idp/shibboleth") {
            IdpProduct::Shibboleth
        } else {
            IdpProduct::Other
        }
    }

    /// The product's own name; `None` for an unrecognised IdP.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            IdpProduct::EntraId => "Microsoft Entra ID",
            IdpProduct::Adfs => "AD FS",
            IdpProduct::Okta => "Okta",
            IdpProduct::GoogleWorkspace => "Google Workspace",
            IdpProduct::OneLogin => "OneLogin",
            IdpProduct::JumpCloud => "JumpCloud",
            IdpProduct::Auth0 => "Auth0",
            IdpProduct::Keycloak => "Keycloak",
            IdpProduct::Shibboleth => "Shibboleth",
            IdpProduct::Other => return None,
        })
    }
}

/// The name of a connection its owner left unnamed: the product's name, else the host of the entity ID (a
/// Shibboleth IdP is better known by its organisation's host than by the product), else the entity ID itself.
pub fn default_label(entity_id: &str, sso_url: &str) -> String {
    let product = IdpProduct::detect(entity_id, sso_url);
    let label = match (product, host_of(entity_id)) {
        (IdpProduct::Shibboleth | IdpProduct::Other, Some(host)) => host,
        (IdpProduct::Other, None) => entity_id.trim().to_owned(),
        (known, _) => known.name().unwrap_or_default().to_owned(),
    };
    label.chars().filter(|c| !c.is_control()).take(MAX_LABEL).collect()
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url.trim()).ok()?.host_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_idps_are_told_apart() {
        let cases = [
            (
                "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/",
                "",
                IdpProduct::EntraId,
            ),
            ("http://fs.msidlab11.com/adfs/services/trust", "", IdpProduct::Adfs),
            ("http://www.okta.com/exkdoocxa1VmjpXmX697", "", IdpProduct::Okta),
            (
                "https://gatehouse.example/okta",
                "https://acme.okta.com/app/x/sso/saml",
                IdpProduct::Okta,
            ),
            (
                "https://accounts.google.com/o/saml2?idpid=C029op2ga",
                "",
                IdpProduct::GoogleWorkspace,
            ),
            (
                "https://app.onelogin.com/saml/metadata/645460",
                "",
                IdpProduct::OneLogin,
            ),
            (
                "IdP Entity ID",
                "https://sso.jumpcloud.com/saml2/ucariontest",
                IdpProduct::JumpCloud,
            ),
            ("urn:dev-tyj7qyzz.auth0.com", "", IdpProduct::Auth0),
            ("https://sso.example.org/realms/staff", "", IdpProduct::Keycloak),
            ("https://idp.fccn.pt/idp/shibboleth", "", IdpProduct::Shibboleth),
            (
                "https://idp.example.org/saml",
                "https://idp.example.org/sso",
                IdpProduct::Other,
            ),
            // A look-alike host is not the product.
            (
                "https://idp.example.org/saml",
                "https://evilokta.com/sso",
                IdpProduct::Other,
            ),
        ];
        for (entity_id, sso_url, product) in cases {
            assert_eq!(IdpProduct::detect(entity_id, sso_url), product, "{entity_id} {sso_url}");
        }
    }

    #[test]
    fn an_unnamed_connection_is_named_after_its_idp() {
        assert_eq!(default_label("https://sts.windows.net/t/", ""), "Microsoft Entra ID");
        assert_eq!(default_label("https://idp.fccn.pt/idp/shibboleth", ""), "idp.fccn.pt");
        assert_eq!(default_label("https://idp.example.org/saml", ""), "idp.example.org");
        assert_eq!(default_label("urn:example:idp", ""), "urn:example:idp");
        assert_eq!(default_label(&"x".repeat(500), "").chars().count(), MAX_LABEL);
    }
}
