//! What a refused response means and what to change at the IdP in use: one table of causes, each with its fix
//! in the words of that IdP's console and this connection's values filled in, and for some a hint the user can
//! act on. The SSO events, Test SSO and the user's refusal page all take their text from here.

use super::connection::Connection;
use super::idp_product::IdpProduct;
use super::refusal::{EmailClaim, Refusal};
use crate::saml::ServiceProviderValues;
use crate::saml::binding::QuerySignatureError;
use crate::saml::logout::LogoutRejection;
use crate::saml::response::Rejection;
use serde::{Deserialize, Serialize};

/// Why a response was refused, as far as an owner can act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The IdP sends responses to another ACS URL.
    Destination,
    /// The IdP's application has another entity ID (audience) for Gatehouse.
    Audience,
    /// The response names another IdP than the one configured.
    Issuer,
    /// Signed by a certificate the connection does not have (a rollover, or another application's certificate).
    UnknownSigner,
    /// Encrypted for an SP key the connection does not have (a retired key, or another SP's).
    EncryptionKey,
    /// Signed with an algorithm Gatehouse does not accept (SHA-1 without the Owner's option).
    WeakSignature,
    /// Neither the Response nor the Assertion is signed.
    Unsigned,
    /// The IdP's clock and Gatehouse's disagree.
    ClockSkew,
    /// The assertion carries no usable email where the connection takes it from.
    EmailMissing,
    /// Entra ID AADSTS50105 and its kin: the user is not assigned to the application.
    UserNotAssigned,
    /// Entra ID AADSTS700016: the IdP has no application with Gatehouse's entity ID.
    ApplicationNotFound,
    /// Entra ID AADSTS50011: the IdP's application lists other reply URLs.
    ReplyUrlNotListed,
    /// Entra ID AADSTS750054: the request arrived by a binding the IdP does not take there.
    Binding,
    /// Entra ID AADSTS75011, `NoAuthnContext`: the sign-in method does not match the one requested.
    AuthnContext,
    /// `NoPassive`: the IdP would have had to show a login page.
    NoPassive,
    /// `RequestDenied`, `AuthnFailed` and other refusals the IdP reports without a known code.
    IdpRefused,
}

/// What the owner reads under a refusal, and what the user may be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub cause: Cause,
    /// What to change, where, to which value.
    pub fix: String,
    /// A sentence for the user's refusal page, where the user can do something about it.
    pub user_hint: Option<&'static str>,
}

/// Where an IdP's console keeps the settings a fix names.
struct Console {
    /// The application's page, from the console's start.
    app: &'static str,
    acs: &'static str,
    /// Where the IdP sends its sign-out messages (the SP's single logout URL).
    logout: &'static str,
    entity_id: &'static str,
    assignment: &'static str,
    signing: &'static str,
    /// Where the IdP's next signing certificate is made and downloaded, from the console's start.
    certificates: &'static str,
    claims: &'static str,
    encryption: &'static str,
}

impl Console {
    /// Where `setting` is: a path through the console, or for an unknown IdP the setting in its words.
    fn place(&self, setting: &str) -> String {
        if self.app.starts_with("your IdP") {
            format!("{setting} in {}", self.app)
        } else {
            format!("{} › {setting}", self.app)
        }
    }

    /// The fix that gives `setting` the value `value`.
    fn set(&self, setting: &str, value: &str) -> String {
        format!("Set {} to {value}.", self.place(setting))
    }
}

fn console(idp: IdpProduct) -> Console {
    match idp {
        IdpProduct::EntraId => Console {
            app: "Microsoft Entra admin center › Enterprise applications › (your Gatehouse app)",
            acs: "Single sign-on › Basic SAML Configuration › Reply URL (Assertion Consumer Service URL)",
            logout: "Single sign-on › Basic SAML Configuration › Logout Url (Optional)",
            entity_id: "Single sign-on › Basic SAML Configuration › Identifier (Entity ID)",
            assignment: "Users and groups › Add user/group",
            signing: "Single sign-on › SAML Certificates › Edit › Signing Algorithm",
            certificates: "Microsoft Entra admin center › Enterprise applications › (your Gatehouse app) › Single sign-on › SAML Certificates › Edit › New Certificate, then Certificate (Base64) › Download",
            claims: "Single sign-on › Attributes & Claims",
            encryption: "Single sign-on › Token encryption › Import certificate",
        },
        IdpProduct::Okta => Console {
            app: "Okta Admin Console › Applications › Applications › (your Gatehouse app)",
            acs: "General › SAML Settings › Edit › Single sign-on URL",
            logout: "General › SAML Settings › Edit › Show Advanced Settings › Single Logout URL",
            entity_id: "General › SAML Settings › Edit › Audience URI (SP Entity ID)",
            assignment: "Assignments › Assign",
            signing: "General › SAML Settings › Edit › Show Advanced Settings › Signature Algorithm",
            certificates: "Okta Admin Console › Applications › Applications › (your Gatehouse app) › Sign On › SAML Signing Certificates › Generate new certificate, then Actions › Download certificate",
            claims: "General › SAML Settings › Edit › Attribute Statements",
            encryption: "General › SAML Settings › Edit › Show Advanced Settings › Encryption Certificate",
        },
        IdpProduct::GoogleWorkspace => Console {
            app: "Google Admin console › Apps › Web and mobile apps › (your Gatehouse app)",
            acs: "Service provider details › ACS URL",
            logout: "Service provider details (Google Workspace sends no sign-out messages: one claiming to come from it is not its own)",
            entity_id: "Service provider details › Entity ID",
            assignment: "User access › ON for everyone, or for the user's organizational unit or group",
            signing: "Manage certificates › the certificate's signing algorithm",
            certificates: "Google Admin console › Apps › Web and mobile apps › (your Gatehouse app) › Manage certificates › Add certificate, then Download IdP metadata",
            claims: "SAML attribute mapping",
            encryption: "Service provider details (Google does not encrypt assertions: turn encryption off in the connection instead)",
        },
        IdpProduct::OneLogin => Console {
            app: "OneLogin Administration › Applications › (your Gatehouse app)",
            acs: "Configuration › ACS (Consumer) URL",
            logout: "Configuration › Single Logout URL",
            entity_id: "Configuration › Audience (EntityID)",
            assignment: "Users, or the user's role under Access",
            signing: "SSO › SAML Signature Algorithm",
            certificates: "OneLogin Administration › Security › Certificates › New, then Applications › (your Gatehouse app) › SSO › X.509 Certificate › Change",
            claims: "Parameters",
            encryption: "SSO › SAML Encryption certificate",
        },
        IdpProduct::JumpCloud => Console {
            app: "JumpCloud Admin Portal › SSO Applications › (your Gatehouse app)",
            acs: "SSO › ACS URLs",
            logout: "SSO › Single Logout URL",
            entity_id: "SSO › SP Entity ID",
            assignment: "User Groups: bind a group the user is in",
            signing: "SSO › Signature Algorithm",
            certificates: "JumpCloud Admin Portal › SSO Applications › (your Gatehouse app) › SSO › IdP Certificate › Replace IdP Certificate",
            claims: "SSO › Attributes",
            encryption: "SSO › SP Certificate",
        },
        IdpProduct::Adfs => Console {
            app: "AD FS Management › Relying Party Trusts › (your Gatehouse trust) › Properties",
            acs: "Endpoints › SAML Assertion Consumer Endpoints",
            logout: "Endpoints › Add SAML › SAML Logout endpoint",
            entity_id: "Identifiers › Relying party identifier",
            assignment: "Access control policy",
            signing: "Advanced › Secure hash algorithm",
            certificates: "AD FS Management › Service › Certificates › Token-signing (AD FS publishes the next one in its federation metadata before it switches)",
            claims: "Edit Claim Issuance Policy",
            encryption: "Encryption › Browse",
        },
        IdpProduct::Keycloak => Console {
            app: "Keycloak admin console › (your realm) › Clients › (your Gatehouse client)",
            acs: "Advanced › Assertion Consumer Service POST Binding URL",
            logout: "Advanced › Logout Service POST Binding URL",
            entity_id: "Settings › Client ID",
            assignment: "the client's roles or the realm's users (Keycloak signs in every user of the realm)",
            signing: "Keys › Signature algorithm",
            certificates: "Keycloak admin console › (your realm) › Realm settings › Keys › Add provider, then the new key's Certificate",
            claims: "Client scopes › Mappers",
            encryption: "Keys › Encryption keys config › Import",
        },
        IdpProduct::Auth0 | IdpProduct::Shibboleth | IdpProduct::Other => Console {
            app: "your IdP's settings for the Gatehouse application",
            acs: "the Assertion Consumer Service (ACS) URL",
            logout: "the single logout (SLO) URL",
            entity_id: "the SP entity ID (audience)",
            assignment: "the users or groups allowed to use the application",
            signing: "the signature algorithm",
            certificates: "your IdP's signing-certificate settings for the Gatehouse application",
            claims: "the attributes or claims it sends",
            encryption: "the encryption certificate it holds for Gatehouse",
        },
    }
}

/// The fix of a clock that is off, whichever way (the skew's limit is `options::MAX_CLOCK_SKEW_SECONDS`).
const CLOCK_FIX: &str = "Set the IdP's server clock by NTP; if it cannot be corrected at once, raise this connection's allowed clock skew (Sign-in options, up to 600 seconds) meanwhile.";

/// Where at `idp` its next signing certificate is made and downloaded, for the steps of a roll-over.
pub fn next_certificate_place(idp: IdpProduct) -> &'static str {
    console(idp).certificates
}

/// The connection a refusal is explained for: its IdP's product, the values Gatehouse gives the IdP, and whether
/// its metadata URL is monitored (then a new certificate the IdP publishes is picked up by itself).
pub struct ExplainedFor<'a> {
    pub idp: IdpProduct,
    pub sp: &'a ServiceProviderValues,
    pub monitored: bool,
}

impl<'a> ExplainedFor<'a> {
    /// `connection`, whose values for the IdP are `sp`.
    pub fn of(connection: &Connection, sp: &'a ServiceProviderValues) -> Self {
        ExplainedFor {
            idp: IdpProduct::detect(&connection.idp.entity_id, connection.sso_endpoint().location.as_str()),
            sp,
            monitored: connection.origin.url.is_some() && connection.origin.monitor,
        }
    }

    /// What to do about a message signed with a certificate the connection lacks: a monitored metadata URL adds
    /// the IdP's next certificate by itself; otherwise the owner adds it.
    fn roll_over(&self) -> String {
        if self.monitored {
            "This connection's metadata URL is monitored: when the IdP publishes its new certificate there, it is added by itself; press Refresh now on the connection to fetch the metadata at once. If the metadata does not list it, the message was signed with a key that is not this IdP's for Gatehouse.".to_owned()
        } else {
            format!(
                "If it rolled its certificate over, download the new signing certificate ({}), or import the metadata again, and add it to this connection; keep the old one until the new one has signed a sign-in.",
                console(self.idp).certificates
            )
        }
    }
}

/// The explanation of `refusal` for a connection; `None` where the refusal is Gatehouse's own business (a replay,
/// the refusal limits, an unverified domain, which the reason says in full).
pub fn explain(refusal: &Refusal, connection: &ExplainedFor) -> Option<Explanation> {
    let (idp, sp) = (connection.idp, connection.sp);
    let at = console(idp);
    let (cause, fix, user_hint) = match refusal {
        Refusal::Response(Rejection::Destination { found, .. } | Rejection::Recipient { found, .. }) => (
            Cause::Destination,
            format!(
                "Your IdP sends responses to {}. {}",
                quoted(found),
                at.set(at.acs, &sp.acs_url)
            ),
            None,
        ),
        Refusal::Response(Rejection::Audience { found, .. }) => (
            Cause::Audience,
            format!(
                "Your IdP names Gatehouse {}. {}",
                quoted(found),
                at.set(at.entity_id, &sp.entity_id)
            ),
            None,
        ),
        Refusal::Response(Rejection::NoAudience(_)) => (Cause::Audience, at.set(at.entity_id, &sp.entity_id), None),
        Refusal::Response(Rejection::NoDecryptionKey(_)) => (
            Cause::EncryptionKey,
            format!(
                "The IdP encrypts for an SP certificate this connection no longer has (or never had). Give the IdP this connection's current SP certificate, from its SP metadata at {}, as the certificate it encrypts assertions for ({}).",
                sp.metadata_url,
                at.place(at.encryption)
            ),
            None,
        ),
        Refusal::Response(Rejection::Issuer { found, .. }) => (
            Cause::Issuer,
            {
                let found = quoted(found);
                format!(
                    "The response comes from the IdP {found}. If that is your IdP, enter {found} as this connection's IdP entity ID, or import its metadata again; if not, the user signed in through another application at the IdP: have them start from Gatehouse's sign-in page."
                )
            },
            None,
        ),
        Refusal::Response(Rejection::Signature {
            offered,
            offered_subject,
            ..
        }) => (
            Cause::UnknownSigner,
            format!(
                "The IdP signed with {} that this connection does not have. {}",
                match (offered, offered_subject) {
                    (Some(sha), Some(subject)) => format!("the certificate {} (SHA-256 {sha})", quoted(subject)),
                    (Some(sha), None) => format!("the certificate SHA-256 {sha}"),
                    _ => "a certificate".to_owned(),
                },
                connection.roll_over()
            ),
            None,
        ),
        Refusal::Response(Rejection::DisallowedSignature(_)) => (Cause::WeakSignature, weak_signature_fix(&at), None),
        Refusal::Response(Rejection::Unsigned) => (
            Cause::Unsigned,
            format!(
                "Have the IdP sign the response or the assertion ({}).",
                at.place(at.signing)
            ),
            None,
        ),
        Refusal::Response(Rejection::NotYetValid { ahead, .. }) => (
            Cause::ClockSkew,
            format!(
                "The IdP's clock is about {ahead} ahead of Gatehouse's (the response is not valid yet). {CLOCK_FIX}"
            ),
            None,
        ),
        Refusal::Response(Rejection::Expired(late)) => (
            Cause::ClockSkew,
            format!(
                "The response had expired {late} before it arrived: the IdP's clock is about that far behind Gatehouse's, or the browser held the response that long (a sign-in page left open). {CLOCK_FIX}"
            ),
            None,
        ),
        Refusal::EmailMissing(claim) | Refusal::EmailUnusable { claim, .. } => (
            Cause::EmailMissing,
            match claim {
                EmailClaim::NameId(_) => format!(
                    "Send the user's email address as the NameID: under {}, set the NameID (Unique User Identifier) to the email (user.mail or user.userprincipalname), format emailAddress.",
                    at.place(at.claims)
                ),
                EmailClaim::Attribute(name) => format!(
                    "Send the user's email address in the attribute {name}: add it under {}, or change this connection's email attribute to the one the IdP sends (listed under the event's attributes).",
                    at.place(at.claims)
                ),
            },
            Some(
                "Your identity provider did not send your email address. Ask your IT administrator to check the Gatehouse app's claims.",
            ),
        ),
        Refusal::Response(Rejection::Status { code, message }) => idp_status(code, message.as_deref(), &at, sp)?,
        _ => return None,
    };
    Some(Explanation { cause, fix, user_hint })
}

/// The explanation of a refused logout message, as [`explain`] gives it for a response; `None` where the reason
/// says it all (a replay, an encrypted NameID, a message of the wrong kind).
pub fn explain_logout(rejection: &LogoutRejection, connection: &ExplainedFor) -> Option<Explanation> {
    let (idp, sp) = (connection.idp, connection.sp);
    let at = console(idp);
    let (cause, fix) = match rejection {
        LogoutRejection::Destination { found, .. } => (
            Cause::Destination,
            format!(
                "Your IdP sends sign-out messages to {}. {}",
                quoted(found),
                at.set(at.logout, &sp.slo_url)
            ),
        ),
        LogoutRejection::MissingDestination => (
            Cause::Destination,
            format!(
                "Your IdP's sign-out message names no Destination. {}",
                at.set(at.logout, &sp.slo_url)
            ),
        ),
        LogoutRejection::Issuer { found, .. } => (
            Cause::Issuer,
            format!(
                "The sign-out message comes from the IdP {}. If that is your IdP, enter it as this connection's IdP entity ID, or import its metadata again.",
                quoted(found)
            ),
        ),
        LogoutRejection::Signature { offered, .. } => (
            Cause::UnknownSigner,
            format!(
                "The IdP signed its sign-out message with {} that this connection does not have. {}",
                offered.as_ref().map_or_else(
                    || "a certificate".to_owned(),
                    |sha| format!("the certificate SHA-256 {sha}")
                ),
                connection.roll_over()
            ),
        ),
        LogoutRejection::QuerySignature(QuerySignatureError::Mismatch(_)) => (
            Cause::UnknownSigner,
            format!(
                "The IdP signed its sign-out message with a certificate this connection does not have. {}",
                connection.roll_over()
            ),
        ),
        LogoutRejection::DisallowedSignature(_)
        | LogoutRejection::QuerySignature(QuerySignatureError::Sha1 | QuerySignatureError::Algorithm(_)) => {
            (Cause::WeakSignature, weak_signature_fix(&at))
        }
        LogoutRejection::Unsigned(_) => (
            Cause::Unsigned,
            format!(
                "Gatehouse acts only on signed sign-out messages: have the IdP sign them ({}).",
                at.place(at.signing)
            ),
        ),
        LogoutRejection::TooOld(_) | LogoutRejection::FromTheFuture(_) | LogoutRejection::Expired(_) => (
            Cause::ClockSkew,
            format!("The sign-out message's time is outside what this connection allows. {CLOCK_FIX}"),
        ),
        _ => return None,
    };
    Some(Explanation {
        cause,
        fix,
        user_hint: None,
    })
}

/// The fix of a signature made with an algorithm the connection does not allow (SHA-1).
fn weak_signature_fix(at: &Console) -> String {
    format!(
        "{} Only for an IdP that cannot sign with SHA-256, the Owner can allow SHA-1 in this connection's options.",
        at.set(at.signing, "SHA-256")
    )
}

/// An error status the IdP answered with: Entra ID's AADSTS code in the message first, then the SAML status.
fn idp_status(
    code: &str,
    message: Option<&str>,
    at: &Console,
    sp: &ServiceProviderValues,
) -> Option<(Cause, String, Option<&'static str>)> {
    let entra = message.and_then(aadsts_code);
    let status = quoted(code.rsplit(':').next().unwrap_or(code));
    Some(match (entra, status.as_str()) {
        (Some(50105 | 50177 | 53003), _) | (None, "RequestDenied") => (
            Cause::UserNotAssigned,
            format!(
                "Assign the user (or a group they are in) to the application: {}.",
                at.place(at.assignment)
            ),
            Some("Ask your IT administrator to assign you to the Gatehouse app in your organisation's identity provider."),
        ),
        (Some(700016), _) => (
            Cause::ApplicationNotFound,
            format!(
                "The IdP has no application with Gatehouse's entity ID. {}",
                at.set(at.entity_id, &sp.entity_id)
            ),
            None,
        ),
        (Some(50011), _) => (Cause::ReplyUrlNotListed, at.set(at.acs, &sp.acs_url), None),
        (Some(750054), _) => (
            Cause::Binding,
            "The IdP received the request by a binding it does not take at that URL. In this connection's options, set the request binding to HTTP-Redirect (Entra ID takes AuthnRequests by redirect), and check the IdP's sign-on URL is its SAML endpoint.".to_owned(),
            None,
        ),
        (Some(75011), _) | (None, "NoAuthnContext") => (
            Cause::AuthnContext,
            "The user signed in with another method than the one requested. In this connection's options, set the authentication context to none (let the IdP choose), or ask for the method the IdP uses.".to_owned(),
            None,
        ),
        (None, "NoPassive") => (
            Cause::NoPassive,
            "The IdP would have had to show a login page to a request that asked it not to. Start the sign-in again from Gatehouse's sign-in page.".to_owned(),
            None,
        ),
        _ => (
            Cause::IdpRefused,
            format!(
                "The IdP refused the sign-in ({status}){}. Its sign-in logs ({}) say why for this user and time.",
                entra.map(|code| format!(", AADSTS{code}")).unwrap_or_default(),
                at.app
            ),
            Some("Your identity provider refused the sign-in. Ask your IT administrator, giving them the reference below."),
        ),
    })
}

/// Longest value from the message a fix quotes: what it says comes from whoever posted it (a refusal can come before
/// the signature check), and the event keeps the fix.
const MAX_QUOTED_CHARS: usize = 200;

fn quoted(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// The number of the first `AADSTS<digits>` in an Entra ID status message.
fn aadsts_code(message: &str) -> Option<u32> {
    let (_, after) = message.split_once("AADSTS")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> ServiceProviderValues {
        ServiceProviderValues {
            entity_id: "https://gatehouse.example/saml/c1/metadata".into(),
            acs_url: "https://gatehouse.example/saml/c1/acs".into(),
            slo_url: "https://gatehouse.example/saml/c1/slo".into(),
            metadata_url: "https://gatehouse.example/saml/c1/metadata".into(),
            sign_on_url: "https://gatehouse.example/saml/c1/start".into(),
        }
    }

    fn status(code: &str, message: Option<&str>) -> Refusal {
        Refusal::Response(Rejection::Status {
            code: format!("urn:oasis:names:tc:SAML:2.0:status:Responder / urn:oasis:names:tc:SAML:2.0:status:{code}"),
            message: message.map(str::to_owned),
        })
    }

    fn explained(refusal: &Refusal, idp: IdpProduct) -> Explanation {
        explain(refusal, &typed_in(idp, &sp())).expect("explained")
    }

    /// A connection to `idp` typed in by hand, so not monitored.
    fn typed_in(idp: IdpProduct, sp: &ServiceProviderValues) -> ExplainedFor<'_> {
        ExplainedFor {
            idp,
            sp,
            monitored: false,
        }
    }

    #[test]
    fn a_destination_mismatch_names_the_setting_of_the_idp_in_use_and_our_acs_url() {
        let refusal = Refusal::Response(Rejection::Destination {
            found: "https://old.example/acs".into(),
            expected: sp().acs_url,
        });
        let entra = explained(&refusal, IdpProduct::EntraId);
        assert_eq!(entra.cause, Cause::Destination);
        assert!(entra.fix.contains("Enterprise applications"), "{}", entra.fix);
        assert!(entra.fix.contains("Reply URL (Assertion Consumer Service URL)"));
        assert!(
            entra.fix.ends_with(" to https://gatehouse.example/saml/c1/acs."),
            "{}",
            entra.fix
        );
        let other = explained(&refusal, IdpProduct::Other);
        assert_eq!(
            other.fix,
            "Your IdP sends responses to https://old.example/acs. Set the Assertion Consumer Service (ACS) URL in your IdP's settings for the Gatehouse application to https://gatehouse.example/saml/c1/acs."
        );
        assert!(
            entra
                .fix
                .starts_with("Your IdP sends responses to https://old.example/acs. "),
            "{}",
            entra.fix
        );
        let okta = explained(&refusal, IdpProduct::Okta);
        assert!(
            okta.fix.contains("Single sign-on URL") && okta.fix.contains(&sp().acs_url),
            "{}",
            okta.fix
        );
        let recipient = Refusal::Response(Rejection::Recipient {
            found: "x".into(),
            expected: "y".into(),
        });
        assert_eq!(
            explained(&recipient, IdpProduct::GoogleWorkspace).cause,
            Cause::Destination
        );
    }

    #[test]
    fn a_fix_quotes_at_most_a_little_of_what_the_message_says() {
        let huge = format!("https://{}.example/acs", "x".repeat(100_000));
        for refusal in [
            Refusal::Response(Rejection::Destination {
                found: huge.clone(),
                expected: sp().acs_url,
            }),
            Refusal::Response(Rejection::Issuer {
                found: huge.clone(),
                expected: "https://idp.example".into(),
            }),
            status(&huge, None),
        ] {
            let fix = explained(&refusal, IdpProduct::EntraId).fix;
            assert!(fix.chars().count() < 1_000, "{} characters", fix.len());
        }
    }

    #[test]
    fn an_audience_mismatch_names_the_entity_id_to_enter() {
        let refusal = Refusal::Response(Rejection::Audience {
            found: "gatehouse".into(),
            expected: sp().entity_id,
        });
        let fix = explained(&refusal, IdpProduct::EntraId).fix;
        assert!(
            fix.contains("Identifier (Entity ID)") && fix.contains(&sp().entity_id),
            "{fix}"
        );
        let fix = explained(&refusal, IdpProduct::OneLogin).fix;
        assert!(fix.contains("Audience (EntityID)"), "{fix}");
    }

    #[test]
    fn an_unknown_signer_names_its_certificate_and_the_rollover() {
        let refusal = Refusal::Response(Rejection::Signature {
            configured: "AA".into(),
            offered: Some("BB:CC".into()),
            offered_subject: Some("CN=Microsoft Azure Federated SSO Certificate".into()),
        });
        let explanation = explained(&refusal, IdpProduct::Okta);
        assert_eq!(explanation.cause, Cause::UnknownSigner);
        assert!(
            explanation.fix.starts_with(
                "The IdP signed with the certificate CN=Microsoft Azure Federated SSO Certificate (SHA-256 BB:CC)"
            ) && explanation.fix.contains("rolled")
                && explanation.fix.contains("SAML Signing Certificates"),
            "{}",
            explanation.fix
        );
        // A monitored metadata URL adds the IdP's next certificate by itself: the owner is told so.
        let sp = sp();
        let monitored = ExplainedFor {
            idp: IdpProduct::Okta,
            sp: &sp,
            monitored: true,
        };
        let fix = explain(&refusal, &monitored).unwrap().fix;
        assert!(
            fix.contains("metadata URL is monitored") && fix.contains("Refresh now"),
            "{fix}"
        );
    }

    #[test]
    fn an_assertion_for_a_retired_sp_key_points_at_the_current_certificate() {
        let refusal = Refusal::Response(Rejection::NoDecryptionKey(Some("DD:EE".into())));
        let explanation = explained(&refusal, IdpProduct::EntraId);
        assert_eq!(explanation.cause, Cause::EncryptionKey);
        assert!(
            explanation.fix.contains(&sp().metadata_url) && explanation.fix.contains("Token encryption"),
            "{}",
            explanation.fix
        );
    }

    #[test]
    fn a_refused_sign_out_message_is_explained_with_the_idps_logout_setting() {
        let misaddressed = LogoutRejection::Destination {
            found: "https://old.example/slo".into(),
            expected: sp().slo_url,
        };
        let explanation = explain_logout(&misaddressed, &typed_in(IdpProduct::EntraId, &sp())).unwrap();
        assert_eq!(explanation.cause, Cause::Destination);
        assert_eq!(
            explanation.fix,
            format!(
                "Your IdP sends sign-out messages to https://old.example/slo. Set Microsoft Entra admin center › Enterprise applications › (your Gatehouse app) › Single sign-on › Basic SAML Configuration › Logout Url (Optional) to {}.",
                sp().slo_url
            )
        );
        let forged = LogoutRejection::Signature {
            configured: "AA".into(),
            offered: Some("BB:CC".into()),
        };
        let explanation = explain_logout(&forged, &typed_in(IdpProduct::Okta, &sp())).unwrap();
        assert_eq!(explanation.cause, Cause::UnknownSigner);
        assert!(explanation.fix.contains("SHA-256 BB:CC") && explanation.fix.contains("SAML Signing Certificates"));
        // As at the ACS, a monitored metadata URL adds the IdP's next certificate by itself: the owner is told so.
        let values = sp();
        let monitored = ExplainedFor {
            monitored: true,
            ..typed_in(IdpProduct::Okta, &values)
        };
        for unknown_signer in [
            forged,
            LogoutRejection::QuerySignature(QuerySignatureError::Mismatch("signature".into())),
        ] {
            let fix = explain_logout(&unknown_signer, &monitored).unwrap().fix;
            assert!(
                fix.contains("metadata URL is monitored") && fix.contains("Refresh now"),
                "{fix}"
            );
            assert!(!fix.contains("download the new signing certificate"), "{fix}");
        }
        let redirect_sha1 = LogoutRejection::QuerySignature(QuerySignatureError::Sha1);
        assert_eq!(
            explain_logout(&redirect_sha1, &typed_in(IdpProduct::Other, &sp()))
                .unwrap()
                .cause,
            Cause::WeakSignature
        );
        assert_eq!(
            explain_logout(
                &LogoutRejection::TooOld("9 minutes".into()),
                &typed_in(IdpProduct::Other, &sp())
            )
            .unwrap()
            .cause,
            Cause::ClockSkew
        );
        assert!(explain_logout(&LogoutRejection::EncryptedNameId, &typed_in(IdpProduct::Other, &sp())).is_none());
    }

    #[test]
    fn a_clock_that_is_off_is_told_by_how_much_and_which_way() {
        let ahead = explained(
            &Refusal::Response(Rejection::NotYetValid {
                from: "2026-12-06T10:10:00+00:00".into(),
                ahead: "10 minutes".into(),
            }),
            IdpProduct::Other,
        );
        assert_eq!(ahead.cause, Cause::ClockSkew);
        assert!(
            ahead.fix.starts_with("The IdP's clock is about 10 minutes ahead"),
            "{}",
            ahead.fix
        );
        let behind = explained(
            &Refusal::Response(Rejection::Expired("7 minutes".into())),
            IdpProduct::Other,
        );
        assert!(
            behind.fix.contains("expired 7 minutes before it arrived"),
            "{}",
            behind.fix
        );
        assert!(behind.fix.contains("up to 600 seconds"));
        assert_eq!(
            super::super::options::MAX_CLOCK_SKEW_SECONDS,
            600,
            "the fix names the limit"
        );
    }

    #[test]
    fn a_weak_signature_names_the_algorithm_setting_and_the_owners_option() {
        let refusal = Refusal::Response(Rejection::DisallowedSignature("rsa-sha1 is not allowed".into()));
        let fix = explained(&refusal, IdpProduct::Adfs).fix;
        assert!(
            fix.contains("Secure hash algorithm") && fix.contains("allow SHA-1"),
            "{fix}"
        );
    }

    #[test]
    fn a_missing_email_names_the_claim_and_tells_the_user_whom_to_ask() {
        let refusal = Refusal::EmailMissing(EmailClaim::Attribute("email".into()));
        let explanation = explained(&refusal, IdpProduct::EntraId);
        assert_eq!(explanation.cause, Cause::EmailMissing);
        assert!(explanation.fix.contains("attribute email") && explanation.fix.contains("Attributes & Claims"));
        assert!(explanation.user_hint.is_some());
    }

    #[test]
    fn entra_status_codes_are_read_from_the_message() {
        let cases = [
            (
                "AADSTS50105: The signed in user is not assigned to a role",
                Cause::UserNotAssigned,
            ),
            (
                "AADSTS700016: Application with identifier 'x' was not found",
                Cause::ApplicationNotFound,
            ),
            ("AADSTS50011: The reply URL does not match", Cause::ReplyUrlNotListed),
            (
                "AADSTS750054: SAMLRequest or SAMLResponse must be present",
                Cause::Binding,
            ),
            (
                "AADSTS75011: Authentication method by which the user authenticated",
                Cause::AuthnContext,
            ),
            ("AADSTS90000: something else", Cause::IdpRefused),
        ];
        for (message, cause) in cases {
            let explanation = explained(&status("Requester", Some(message)), IdpProduct::EntraId);
            assert_eq!(explanation.cause, cause, "{message}");
        }
        let not_assigned = explained(&status("Requester", Some("AADSTS50105: no")), IdpProduct::EntraId);
        assert!(not_assigned.fix.contains("Users and groups"), "{}", not_assigned.fix);
        assert!(not_assigned.user_hint.unwrap().contains("assign you"));
        let not_found = explained(&status("Requester", Some("AADSTS700016")), IdpProduct::EntraId);
        assert!(not_found.fix.contains(&sp().entity_id));
        let other = explained(&status("Requester", Some("AADSTS90000: x")), IdpProduct::EntraId);
        assert!(other.fix.contains("AADSTS90000"), "{}", other.fix);
    }

    #[test]
    fn saml_status_codes_are_explained_without_a_vendor_code() {
        assert_eq!(
            explained(&status("RequestDenied", None), IdpProduct::Okta).cause,
            Cause::UserNotAssigned
        );
        assert_eq!(
            explained(&status("NoPassive", None), IdpProduct::Okta).cause,
            Cause::NoPassive
        );
        assert_eq!(
            explained(&status("NoAuthnContext", None), IdpProduct::Other).cause,
            Cause::AuthnContext
        );
        let failed = explained(&status("AuthnFailed", None), IdpProduct::GoogleWorkspace);
        assert_eq!(failed.cause, Cause::IdpRefused);
        assert!(failed.fix.contains("(AuthnFailed)"), "{}", failed.fix);
    }

    #[test]
    fn the_troubleshooting_table_lists_every_cause() {
        let page = include_str!("../../../docs/sso-sign-in.md");
        let causes = [
            Cause::Destination,
            Cause::Audience,
            Cause::Issuer,
            Cause::UnknownSigner,
            Cause::EncryptionKey,
            Cause::WeakSignature,
            Cause::Unsigned,
            Cause::ClockSkew,
            Cause::EmailMissing,
            Cause::UserNotAssigned,
            Cause::ApplicationNotFound,
            Cause::ReplyUrlNotListed,
            Cause::Binding,
            Cause::AuthnContext,
            Cause::NoPassive,
            Cause::IdpRefused,
        ];
        // A new variant does not compile until it is matched here, beside the list it belongs in.
        for cause in causes {
            match cause {
                Cause::Destination
                | Cause::Audience
                | Cause::Issuer
                | Cause::UnknownSigner
                | Cause::EncryptionKey
                | Cause::WeakSignature
                | Cause::Unsigned
                | Cause::ClockSkew
                | Cause::EmailMissing
                | Cause::UserNotAssigned
                | Cause::ApplicationNotFound
                | Cause::ReplyUrlNotListed
                | Cause::Binding
                | Cause::AuthnContext
                | Cause::NoPassive
                | Cause::IdpRefused => {}
            }
            let key = serde_json::to_value(cause).unwrap();
            let row = format!("| `{}` |", key.as_str().unwrap());
            assert!(
                page.lines().any(|line| line.starts_with(&row)),
                "docs/sso-sign-in.md lists {row}"
            );
        }
    }

    #[test]
    fn gatehouses_own_refusals_need_no_idp_fix() {
        let sp = sp();
        assert_eq!(
            explain(&Refusal::Replayed("_a".into()), &typed_in(IdpProduct::EntraId, &sp)),
            None
        );
        assert_eq!(
            explain(&Refusal::TooManyRefused, &typed_in(IdpProduct::Okta, &sp)),
            None
        );
    }
}
