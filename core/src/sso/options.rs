//! How one connection signs users in: the per-connection switches an owner sets, checked as a whole, and the
//! difference between two versions in words for the audit log.

use super::idp_product::IdpProduct;
use crate::saml::authn_request::{AuthnContext, RequestBinding};
use crate::saml::metadata::Endpoint;
#[cfg(test)]
use crate::saml::metadata::{HTTP_POST, HTTP_REDIRECT};
use crate::tenancy::Permission;

/// The clock skew allowed when an owner sets none: enough for servers a little out of sync, short enough that
/// a captured response soon stops working.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u32 = 180;
/// Beyond ten minutes, a skew hides a broken clock rather than tolerating drift.
pub const MAX_CLOCK_SKEW_SECONDS: u32 = 600;
/// Attribute names are URIs at most (Entra's claim names are about 70 characters).
pub const MAX_EMAIL_ATTRIBUTE: usize = 256;

/// The email claim Microsoft's IdPs (Entra ID, ADFS) send; their NameID is often a UPN or an opaque ID instead.
pub const MICROSOFT_EMAIL_CLAIM: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

/// Where the user's email comes from in a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailSource {
    NameId,
    Attribute(String),
}

impl EmailSource {
    /// What an IdP sends by default: Microsoft's IdPs put the email in a claim, the others in the NameID when
    /// set up as the guides say.
    pub fn default_for(idp_entity_id: &str) -> Self {
        let microsoft = matches!(
            IdpProduct::detect(idp_entity_id, ""),
            IdpProduct::EntraId | IdpProduct::Adfs
        );
        if microsoft {
            EmailSource::Attribute(MICROSOFT_EMAIL_CLAIM.to_owned())
        } else {
            EmailSource::NameId
        }
    }

    /// As stored: empty for the NameID.
    pub fn as_stored(&self) -> &str {
        match self {
            EmailSource::NameId => "",
            EmailSource::Attribute(name) => name,
        }
    }

    pub fn from_stored(text: &str) -> Self {
        if text.is_empty() {
            EmailSource::NameId
        } else {
            EmailSource::Attribute(text.to_owned())
        }
    }

    fn describe(&self) -> String {
        match self {
            EmailSource::NameId => "the NameID".to_owned(),
            EmailSource::Attribute(name) => format!("attribute {name}"),
        }
    }
}

/// A connection's sign-in switches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// Accept responses the IdP sends without a request from Gatehouse (off: they cannot be tied to a browser).
    pub allow_idp_initiated: bool,
    pub sign_authn_requests: bool,
    pub binding: RequestBinding,
    pub authn_context: AuthnContext,
    pub email: EmailSource,
    /// Accept RSA-SHA1 signatures; only for legacy IdPs that cannot sign with SHA-256.
    pub allow_sha1: bool,
    pub clock_skew_seconds: u32,
}

impl ConnectionOptions {
    /// The options of a new connection to this IdP: everything strict, the binding the IdP prefers.
    pub fn defaults_for(idp_entity_id: &str, sso: &Endpoint) -> Self {
        Self {
            allow_idp_initiated: false,
            sign_authn_requests: true,
            binding: RequestBinding::of_urn(&sso.binding).unwrap_or(RequestBinding::Redirect),
            authn_context: AuthnContext::None,
            email: EmailSource::default_for(idp_entity_id),
            allow_sha1: false,
            clock_skew_seconds: DEFAULT_CLOCK_SKEW_SECONDS,
        }
    }

    /// What changed from `before`, in words for the audit log; empty when nothing did.
    pub fn changes_from(&self, before: &ConnectionOptions) -> Vec<String> {
        let on_off = |on: bool| if on { "on" } else { "off" };
        let mut changes = Vec::new();
        let mut note = |name: &str, was: String, now: String| {
            if was != now {
                changes.push(format!("{name}: {was} → {now}"));
            }
        };
        note(
            "IdP-initiated sign-in",
            on_off(before.allow_idp_initiated).into(),
            on_off(self.allow_idp_initiated).into(),
        );
        note(
            "Sign AuthnRequests",
            on_off(before.sign_authn_requests).into(),
            on_off(self.sign_authn_requests).into(),
        );
        note("Binding", before.binding.label().into(), self.binding.label().into());
        note(
            "Requested authentication context",
            before.authn_context.label().into(),
            self.authn_context.label().into(),
        );
        note("Email from", before.email.describe(), self.email.describe());
        note(
            "SHA-1 signatures",
            on_off(before.allow_sha1).into(),
            on_off(self.allow_sha1).into(),
        );
        note(
            "Clock skew",
            format!("{} s", before.clock_skew_seconds),
            format!("{} s", self.clock_skew_seconds),
        );
        changes
    }

    /// The permission a change from `before` needs: the two switches that trade security for compatibility
    /// are the Owner's, in either direction, and so is where the email comes from: it decides whom an assertion
    /// names, and an attribute the IdP lets its users edit would let them name anyone.
    pub fn permission_to_change_from(&self, before: &ConnectionOptions) -> Permission {
        if self.allow_idp_initiated != before.allow_idp_initiated || self.allow_sha1 != before.allow_sha1 {
            Permission::ManageSsoPolicy
        } else if self.email != before.email {
            Permission::ManageTrust
        } else {
            Permission::ManageConnections
        }
    }
}

/// The options form as typed.
#[derive(Clone, Copy, Debug, Default)]
pub struct OptionsForm<'a> {
    pub allow_idp_initiated: bool,
    pub sign_authn_requests: bool,
    /// `redirect` or `post`.
    pub binding: &'a str,
    pub authn_context: &'a str,
    /// `nameid`, or `attribute` with `email_attribute` naming it.
    pub email_source: &'a str,
    pub email_attribute: &'a str,
    pub allow_sha1: bool,
    pub clock_skew_seconds: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("This IdP does not offer the {0} binding in its metadata; choose the other one.")]
    BindingNotOffered(&'static str),
    #[error("Choose HTTP-Redirect or HTTP-POST.")]
    UnknownBinding,
    #[error("Choose one of the offered authentication contexts.")]
    UnknownAuthnContext,
    #[error(
        "Enter the name of the attribute that carries the email (for example email), up to {MAX_EMAIL_ATTRIBUTE} characters."
    )]
    InvalidEmailAttribute,
    #[error("Enter the clock skew in seconds, from 0 to {MAX_CLOCK_SKEW_SECONDS}.")]
    InvalidClockSkew,
}

impl OptionsError {
    /// The form field the message belongs next to.
    pub fn field(&self) -> &'static str {
        match self {
            OptionsError::BindingNotOffered(_) | OptionsError::UnknownBinding => "binding",
            OptionsError::UnknownAuthnContext => "authn_context",
            OptionsError::InvalidEmailAttribute => "email_attribute",
            OptionsError::InvalidClockSkew => "clock_skew_seconds",
        }
    }
}

impl OptionsForm<'_> {
    /// Checks every field against what the IdP offers (`sso_endpoints`).
    pub fn parse(&self, sso_endpoints: &[Endpoint]) -> Result<ConnectionOptions, OptionsError> {
        let binding = match self.binding {
            "redirect" => RequestBinding::Redirect,
            "post" => RequestBinding::Post,
            _ => return Err(OptionsError::UnknownBinding),
        };
        if !sso_endpoints.iter().any(|e| e.binding == binding.urn()) {
            return Err(OptionsError::BindingNotOffered(binding.label()));
        }
        let authn_context = AuthnContext::parse(self.authn_context).ok_or(OptionsError::UnknownAuthnContext)?;
        let email = match self.email_source {
            "nameid" => EmailSource::NameId,
            _ => {
                let name = self.email_attribute.trim();
                if name.is_empty()
                    || name.chars().count() > MAX_EMAIL_ATTRIBUTE
                    || name.chars().any(|c| c.is_control() || c.is_whitespace())
                {
                    return Err(OptionsError::InvalidEmailAttribute);
                }
                EmailSource::Attribute(name.to_owned())
            }
        };
        let clock_skew_seconds = self
            .clock_skew_seconds
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|s| *s <= MAX_CLOCK_SKEW_SECONDS)
            .ok_or(OptionsError::InvalidClockSkew)?;
        Ok(ConnectionOptions {
            allow_idp_initiated: self.allow_idp_initiated,
            sign_authn_requests: self.sign_authn_requests,
            binding,
            authn_context,
            email,
            allow_sha1: self.allow_sha1,
            clock_skew_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(bindings: &[&str]) -> Vec<Endpoint> {
        bindings
            .iter()
            .map(|b| Endpoint {
                binding: (*b).to_owned(),
                location: "https://idp.example.com/sso".parse().unwrap(),
            })
            .collect()
    }

    fn form() -> OptionsForm<'static> {
        OptionsForm {
            allow_idp_initiated: false,
            sign_authn_requests: true,
            binding: "redirect",
            authn_context: "none",
            email_source: "nameid",
            email_attribute: "",
            allow_sha1: false,
            clock_skew_seconds: "180",
        }
    }

    #[test]
    fn defaults_are_strict_and_follow_the_idp() {
        let post_only = &endpoints(&[HTTP_POST])[0];
        let options = ConnectionOptions::defaults_for("https://sts.windows.net/tenant/", post_only);
        assert_eq!(options.binding, RequestBinding::Post);
        assert_eq!(options.email, EmailSource::Attribute(MICROSOFT_EMAIL_CLAIM.into()));
        assert!(!options.allow_idp_initiated && !options.allow_sha1 && options.sign_authn_requests);
        assert_eq!(options.clock_skew_seconds, 180);
        let okta = ConnectionOptions::defaults_for("http://www.okta.com/exk1", &endpoints(&[HTTP_REDIRECT])[0]);
        assert_eq!(okta.email, EmailSource::NameId);
        assert_eq!(okta.binding, RequestBinding::Redirect);
        assert_eq!(
            EmailSource::default_for("http://adfs.example.com/adfs/services/trust"),
            EmailSource::Attribute(MICROSOFT_EMAIL_CLAIM.into())
        );
    }

    #[test]
    fn a_binding_the_idp_does_not_offer_is_refused() {
        let redirect_only = endpoints(&[HTTP_REDIRECT]);
        let post = OptionsForm {
            binding: "post",
            ..form()
        };
        assert_eq!(
            post.parse(&redirect_only),
            Err(OptionsError::BindingNotOffered("HTTP-POST"))
        );
        assert_eq!(
            OptionsForm {
                binding: "artifact",
                ..form()
            }
            .parse(&redirect_only),
            Err(OptionsError::UnknownBinding)
        );
        assert_eq!(
            post.parse(&endpoints(&[HTTP_REDIRECT, HTTP_POST])).unwrap().binding,
            RequestBinding::Post
        );
    }

    #[test]
    fn fields_are_checked() {
        let offered = endpoints(&[HTTP_REDIRECT]);
        for skew in ["", "-1", "601", "3m", "1e3"] {
            let wrong = OptionsForm {
                clock_skew_seconds: skew,
                ..form()
            };
            assert_eq!(wrong.parse(&offered), Err(OptionsError::InvalidClockSkew), "{skew}");
        }
        assert_eq!(
            OptionsForm {
                clock_skew_seconds: " 0 ",
                ..form()
            }
            .parse(&offered)
            .unwrap()
            .clock_skew_seconds,
            0
        );
        for name in ["", "  ", "e mail", &"x".repeat(257)] {
            let wrong = OptionsForm {
                email_source: "attribute",
                email_attribute: name,
                ..form()
            };
            assert_eq!(
                wrong.parse(&offered),
                Err(OptionsError::InvalidEmailAttribute),
                "{name:?}"
            );
        }
        let attribute = OptionsForm {
            email_source: "attribute",
            email_attribute: " mail ",
            ..form()
        };
        assert_eq!(
            attribute.parse(&offered).unwrap().email,
            EmailSource::Attribute("mail".into())
        );
        assert_eq!(
            OptionsForm {
                authn_context: "kerberos",
                ..form()
            }
            .parse(&offered),
            Err(OptionsError::UnknownAuthnContext)
        );
        let windows = OptionsForm {
            authn_context: "integrated_windows",
            ..form()
        }
        .parse(&offered)
        .unwrap();
        assert_eq!(
            windows.authn_context.class_ref(),
            Some("urn:federation:authentication:windows")
        );
    }

    #[test]
    fn changes_are_described_and_the_owner_switches_need_the_owner() {
        let before = form().parse(&endpoints(&[HTTP_REDIRECT])).unwrap();
        assert!(before.changes_from(&before).is_empty());
        assert_eq!(before.permission_to_change_from(&before), Permission::ManageConnections);
        let skew = ConnectionOptions {
            clock_skew_seconds: 60,
            ..before.clone()
        };
        assert_eq!(skew.changes_from(&before), vec!["Clock skew: 180 s → 60 s".to_owned()]);
        assert_eq!(skew.permission_to_change_from(&before), Permission::ManageConnections);
        let email = ConnectionOptions {
            email: EmailSource::Attribute("mail".into()),
            ..before.clone()
        };
        assert_eq!(email.permission_to_change_from(&before), Permission::ManageTrust);
        assert_eq!(before.permission_to_change_from(&email), Permission::ManageTrust);
        let sha1 = ConnectionOptions {
            allow_sha1: true,
            ..before.clone()
        };
        assert_eq!(
            sha1.changes_from(&before),
            vec!["SHA-1 signatures: off → on".to_owned()]
        );
        assert_eq!(sha1.permission_to_change_from(&before), Permission::ManageSsoPolicy);
        let idp_initiated = ConnectionOptions {
            allow_idp_initiated: true,
            ..before.clone()
        };
        assert_eq!(
            idp_initiated.permission_to_change_from(&before),
            Permission::ManageSsoPolicy
        );
        assert_eq!(
            before.permission_to_change_from(&idp_initiated),
            Permission::ManageSsoPolicy
        );
    }
}
