//! Step-by-step guides for creating Gatehouse's SAML app at the common identity providers, with one
//! connection's own values filled in. Plain server-rendered HTML (`<details>`): nothing here hydrates.
//!
//! The same guides, with placeholders, are in docs/setup-guides.md; change both together.
//!
//! Texts are written with `**bold**` for what an IdP's console labels and `` `code` `` for what the admin types
//! (see [`rich`]); this connection's values are passed separately and always shown as code.

use crate::api::sso::ServiceProviderView;
use crate::components::CopyButton;
use leptos::prelude::*;

#[component]
pub fn SetupGuides(connection_id: String, sp: ServiceProviderView) -> impl IntoView {
    view! {
        <details class="section setup-guides">
            <summary><h4>"Setup guides"</h4></summary>
            <p class="hint">"How to create the SAML app for Gatehouse at your identity provider, with this connection's values filled in."</p>
            {guides(&sp)
                .into_iter()
                .map(|guide| {
                    let (slug, name) = (guide.slug, guide.name);
                    view! {
                        <details class="guide" id=format!("guide-{slug}-{connection_id}")>
                            <summary>{name}</summary>
                            <GuideSteps guide>
                                " Then bring it to this connection under " <strong>"Edit or replace the IdP settings"</strong>
                                " (the file, or its metadata URL with monitoring on, so certificate rollovers are picked up by themselves)."
                            </GuideSteps>
                        </details>
                    }
                })
                .collect_view()}
        </details>
    }
}

/// The guides of the common IdPs, in the order they are offered, for a connection with the values `sp`.
pub(crate) fn guides(sp: &ServiceProviderView) -> [Guide; 5] {
    [entra(sp), okta(sp), google(sp), onelogin(sp), jumpcloud(sp)]
}

/// One guide's numbered steps, closed by its download step and then `children` (where the metadata goes next),
/// and what the IdP sends.
#[component]
pub(crate) fn GuideSteps(guide: Guide, children: Children) -> impl IntoView {
    let Guide {
        steps, download, facts, ..
    } = guide;
    view! {
        <ol>
            {steps}
            <li>{rich(download)} {children()}</li>
        </ol>
        <details class="guide-facts">
            <summary>"What this IdP sends (attributes, NameID)"</summary>
            <dl class="facts">
                {facts
                    .into_iter()
                    .map(|(term, detail)| view! { <div><dt>{term}</dt><dd>{detail}</dd></div> })
                    .collect_view()}
            </dl>
        </details>
    }
}

/// One IdP's guide. The shell (summary, numbering, the closing import step, the facts list) is shared.
pub(crate) struct Guide {
    pub(crate) slug: &'static str,
    pub(crate) name: &'static str,
    /// The list items, in order, up to the last step.
    steps: Vec<AnyView>,
    /// How to get the IdP's metadata, in the IdP's own words; the last step.
    download: &'static str,
    /// What the IdP sends, as term and detail.
    facts: Vec<(&'static str, AnyView)>,
}

/// Renders `**label**` in bold and `` `text` `` as code; an unmatched marker is left as it is.
fn rich(text: &'static str) -> AnyView {
    let mut parts: Vec<AnyView> = Vec::new();
    let mut rest = text;
    while let Some((at, mark)) = ["**", "`"]
        .into_iter()
        .filter_map(|m| rest.find(m).map(|at| (at, m)))
        .min()
    {
        let after = &rest[at + mark.len()..];
        let Some(end) = after.find(mark) else { break };
        let (inner, plain) = (&after[..end], &rest[..at]);
        parts.push(plain.into_any());
        parts.push(if mark == "`" {
            view! { <code>{inner}</code> }.into_any()
        } else {
            view! { <strong>{inner}</strong> }.into_any()
        });
        rest = &after[end + mark.len()..];
    }
    parts.push(rest.into_any());
    parts.into_any()
}

/// A step in words.
fn step(text: &'static str) -> AnyView {
    view! { <li>{rich(text)}</li> }.into_any()
}

/// A step around one of this connection's values; `after` starts with its own space or punctuation.
fn step_with(before: &'static str, value: &str, after: &'static str) -> AnyView {
    view! { <li>{rich(before)} " " <code>{value.to_owned()}</code> {rich(after)}</li> }.into_any()
}

/// The optional step that hands the IdP Gatehouse's metadata document; none while the connection does not exist
/// yet (its metadata is served from then on, with its keys).
fn metadata_step(sp: &ServiceProviderView, before: &'static str, after: &'static str) -> Vec<AnyView> {
    if sp.metadata_url.is_empty() {
        return Vec::new();
    }
    vec![step_with(before, &sp.metadata_url, after)]
}

/// A step that fills in a form: the intro, then one line per field.
fn fields(intro: &'static str, fields: Vec<AnyView>) -> AnyView {
    view! {
        <li>
            {rich(intro)}
            <ul>{fields}</ul>
        </li>
    }
    .into_any()
}

/// A field the admin types one of this connection's values into, with the value to copy.
fn enter(field: &'static str, value: &str) -> AnyView {
    view! {
        <li>
            <strong>{field}</strong> ": "
            <span class="guide-value">
                <code>{value.to_owned()}</code>
                <CopyButton value=value.to_owned() what=field.to_owned() />
            </span>
        </li>
    }
    .into_any()
}

/// A field set to a fixed choice (or to something the text describes).
fn set(field: &'static str, choice: &'static str) -> AnyView {
    view! { <li><strong>{field}</strong> ": " {rich(choice)}</li> }.into_any()
}

/// An attribute the IdP should send: its name in the assertion, and where the IdP takes the value from.
fn attribute(name: &'static str, source: &'static str) -> AnyView {
    view! { <li><code>{name}</code> " from " {rich(source)}</li> }.into_any()
}

/// The list of claims an IdP sends, as claim name and what it holds.
fn claims(list: &[(&'static str, &'static str)]) -> AnyView {
    let items = list
        .iter()
        .map(|&(name, holds)| view! { <li><code>{name}</code> " " {rich(holds)}</li> })
        .collect_view();
    view! { <ul>{items}</ul> }.into_any()
}

/// The ACS URL as a regular expression that matches exactly it (OneLogin's ACS URL validator).
fn exact_regex(url: &str) -> String {
    let mut escaped = String::with_capacity(url.len() + 16);
    escaped.push('^');
    for c in url.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('$');
    escaped
}

const ATTRIBUTES: &str = "Attributes this IdP sends";
const NAME_ID: &str = "NameID";

fn entra(sp: &ServiceProviderView) -> Guide {
    Guide {
        slug: "entra",
        name: "Microsoft Entra ID",
        steps: [vec![
            step("Sign in to the **Microsoft Entra admin center** as at least a Cloud Application Administrator."),
            step(
                "Go to **Entra ID → Enterprise apps → New application → Create your own application**. Name it \
                 `Gatehouse`, select **Integrate any other application you don't find in the gallery (Non-gallery)**, \
                 and select **Create**.",
            ),
            step("In the new app, open **Single sign-on** and select **SAML**."),
        ],
        metadata_step(
            sp,
            "Optional: save Gatehouse's metadata from",
            " as a file, select **Upload metadata file** at the top of the page and choose it. Entra fills in the \
             next step's fields; check them against the values below.",
        ),
        vec![
            fields(
                "Under **Basic SAML Configuration**, select **Edit**, enter these values and select **Save**:",
                vec![
                    enter("Identifier (Entity ID)", &sp.entity_id),
                    enter("Reply URL (Assertion Consumer Service URL)", &sp.acs_url),
                    enter("Sign on URL (Optional)", &sp.sign_on_url),
                    enter("Logout Url (Optional)", &sp.slo_url),
                ],
            ),
            step(
                "Under **Attributes & Claims**, the default claims send the user's email address and names (below). \
                 To map groups to roles, select **Edit → Add a group claim**, choose **Groups assigned to the \
                 application**, keep **Source attribute** at **Group ID**, and select **Save**.",
            ),
            step(
                "Under **Users and groups**, select **Add user/group** and assign the users or groups who sign in \
                 to Gatehouse. Users who are not assigned cannot sign in.",
            ),
        ]]
        .into_iter()
        .flatten()
        .collect(),
        download: "Under **SAML Certificates**, next to **Federation Metadata XML**, select **Download**. (The **App \
                   Federation Metadata Url** shown there serves the same document.)",
        facts: vec![
            (
                ATTRIBUTES,
                claims(&[
                    (
                        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                        "email address (`user.mail`)",
                    ),
                    (
                        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                        "first name (`user.givenname`)",
                    ),
                    (
                        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                        "last name (`user.surname`)",
                    ),
                    (
                        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                        "user principal name (`user.userprincipalname`)",
                    ),
                    (
                        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                        "only with a group claim: the groups' **object IDs**, not their names, by default. Use \
                         the object ID as the value in role mappings. Entra sends at most 150 groups.",
                    ),
                ]),
            ),
            (
                NAME_ID,
                rich(
                    "The user principal name, in email-address format. If your users' UPNs differ from their email \
                     addresses, set **Unique User Identifier (Name ID)** to `user.mail`.",
                ),
            ),
        ],
    }
}

fn okta(sp: &ServiceProviderView) -> Guide {
    Guide {
        slug: "okta",
        name: "Okta",
        steps: vec![
            step(
                "In the Okta Admin Console, go to **Applications → Applications → Create App Integration**, select \
                 **SAML 2.0** and select **Next**.",
            ),
            step("Under **General Settings**, enter the **App name** `Gatehouse` and select **Next**."),
            fields(
                "Under **Configure SAML**, enter:",
                vec![
                    enter("Single sign-on URL", &sp.acs_url),
                    set("Use this for Recipient URL and Destination URL", "selected"),
                    enter("Audience URI (SP Entity ID)", &sp.entity_id),
                    set("Name ID format", "**EmailAddress**"),
                    set("Application username", "**Email**"),
                ],
            ),
            fields(
                "Under **Attribute Statements**, add:",
                vec![
                    attribute("email", "`user.email`"),
                    attribute("firstName", "`user.firstName`"),
                    attribute("lastName", "`user.lastName`"),
                ],
            ),
            step(
                "Under **Group Attribute Statements**, add the name `groups` with the filter **Matches regex** `.*` \
                 (or a narrower filter, such as **Starts with** a prefix your Gatehouse groups share).",
            ),
            fields(
                "Optional, to end the Okta session when users sign out of Gatehouse: select **Show Advanced \
                 Settings** and **Enable Single Logout**, then enter the values below. Okta also asks for a \
                 **Signature Certificate**: upload the signing certificate from Gatehouse's metadata.",
                vec![
                    enter("Single Logout URL", &sp.slo_url),
                    enter("SP Issuer", &sp.entity_id),
                ],
            ),
            step(
                "Select **Next**. On the feedback page, choose **This is an internal app that we have created** and \
                 select **Finish**.",
            ),
            step(
                "On the **Assignments** tab, select **Assign → Assign to People** or **Assign to Groups** for the \
                 users who sign in to Gatehouse.",
            ),
        ],
        download: "On the **Sign On** tab, under **SAML 2.0**, open the **Metadata URL** and save the XML it shows \
                   as a file.",
        facts: vec![
            (
                ATTRIBUTES,
                rich(
                    "Only the statements you add. With the steps above: `email`, `firstName`, `lastName`, and \
                     `groups` with one value per group name.",
                ),
            ),
            (NAME_ID, rich("The user's email address, format `EmailAddress`.")),
        ],
    }
}

fn google(sp: &ServiceProviderView) -> Guide {
    Guide {
        slug: "google",
        name: "Google Workspace",
        steps: vec![
            step(
                "Sign in to the Google Admin console as a super administrator and go to **Apps → Web and mobile apps \
                 → Add app → Add custom SAML app**.",
            ),
            step("Under **App details**, enter the **App name** `Gatehouse` and select **Continue**."),
            step("On **Google Identity Provider details**, select **Continue**; you download the metadata at the end."),
            fields(
                "Under **Service provider details**, enter these values and select **Continue**:",
                vec![
                    enter("ACS URL", &sp.acs_url),
                    enter("Entity ID", &sp.entity_id),
                    set("Name ID format", "**EMAIL**"),
                    set("Name ID", "**Basic Information > Primary email**"),
                ],
            ),
            fields(
                "Under **Attribute mapping**, select **Add mapping** for each of these app attributes:",
                vec![
                    attribute("email", "**Basic Information > Primary email**"),
                    attribute("firstName", "**Basic Information > First name**"),
                    attribute("lastName", "**Basic Information > Last name**"),
                ],
            ),
            step(
                "Under **Group membership**, add the groups that role mappings should see, enter `groups` as the \
                 **App attribute**, and select **Finish**.",
            ),
            step(
                "Open **User access**, turn the app **ON for everyone** or for the organizational units or groups \
                 who sign in to Gatehouse, and select **Save**. Changes can take up to 24 hours to reach all users.",
            ),
        ],
        download: "Open the app under **Apps → Web and mobile apps**, select **Download metadata**, and download the \
                   **IdP metadata**.",
        facts: vec![
            (
                ATTRIBUTES,
                rich(
                    "Only the mappings you add. With the steps above: `email`, `firstName`, `lastName`, and \
                     `groups` with the names of the listed groups the user belongs to (at most 75).",
                ),
            ),
            (NAME_ID, rich("The primary email address, format `EMAIL`.")),
            (
                "Logout",
                rich("Google Workspace does not support SAML single logout; Gatehouse's logout URL is not used."),
            ),
        ],
    }
}

fn onelogin(sp: &ServiceProviderView) -> Guide {
    Guide {
        slug: "onelogin",
        name: "OneLogin",
        steps: vec![
            step(
                "In OneLogin's administration, go to **Applications → Applications → Add App**, search for and select \
                 **SAML Custom Connector (Advanced)**, enter the **Display Name** `Gatehouse` and select **Save**.",
            ),
            fields(
                "On the **Configuration** tab, enter these values and select **Save**:",
                vec![
                    enter("Audience (EntityID)", &sp.entity_id),
                    enter("Recipient", &sp.acs_url),
                    enter("ACS (Consumer) URL Validator", &exact_regex(&sp.acs_url)),
                    enter("ACS (Consumer) URL", &sp.acs_url),
                    enter("Single Logout URL", &sp.slo_url),
                    set("SAML initiator", "**Service Provider**"),
                    set("SAML nameID format", "**Email**"),
                    set("SAML signature element", "**Both**"),
                ],
            ),
            fields(
                "On the **Parameters** tab, check that **NameID value** is **Email**. Then add each parameter below \
                 with **+**, select **Include in SAML assertion**, and choose its value:",
                vec![
                    attribute("email", "**Email**"),
                    attribute("firstName", "**First Name**"),
                    attribute("lastName", "**Last Name**"),
                    attribute("groups", "**User Roles**, with **Multi-value parameter** also selected"),
                ],
            ),
            step("On the **SSO** tab, set **SAML Signature Algorithm** to **SHA-256** and select **Save**."),
            step("On the **Access** tab, select the roles whose users sign in to Gatehouse, and select **Save**."),
        ],
        download: "Select **More Actions → SAML Metadata** to download the XML file.",
        facts: vec![
            (
                ATTRIBUTES,
                rich(
                    "Only parameters with **Include in SAML assertion**. With the steps above: `email`, `firstName`, \
                     `lastName`, and `groups` with the user's role names.",
                ),
            ),
            (NAME_ID, rich("The user's email address, format `Email`.")),
        ],
    }
}

fn jumpcloud(sp: &ServiceProviderView) -> Guide {
    Guide {
        slug: "jumpcloud",
        name: "JumpCloud",
        steps: [vec![
            step(
                "In the JumpCloud Admin Portal, go to **SSO Applications → Add New Application** and select the \
                 custom SAML app (**Custom Application**, then **Manage Single Sign-On (SSO)** with **Configure SSO \
                 with SAML**). Enter the **Display Label** `Gatehouse`, select **Save Application**, then \
                 **Configure Application**.",
            ),
        ],
        metadata_step(
            sp,
            "Optional: on the **SSO** tab, under **Service Provider Metadata**, select **Upload Metadata** and choose \
             Gatehouse's metadata saved from",
            ". JumpCloud fills in the SP Entity ID and ACS URL; check them against the values below.",
        ),
        vec![
            fields(
                "On the **SSO** tab, enter:",
                vec![
                    set(
                        "IdP Entity ID",
                        "a name no other app in your JumpCloud organization uses, such as `gatehouse`",
                    ),
                    enter("SP Entity ID", &sp.entity_id),
                    enter("ACS URLs (Default URL)", &sp.acs_url),
                    set("SAMLSubject NameID", "**email**"),
                    set(
                        "SAMLSubject NameID Format",
                        "`urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`",
                    ),
                    set("Signature Algorithm", "**RSA-SHA256**"),
                    set("Sign", "**Assertion**"),
                ],
            ),
            fields(
                "Under **Attributes**, add these **User Attributes** (service provider attribute name, then \
                 JumpCloud attribute):",
                vec![
                    attribute("email", "**email**"),
                    attribute("firstName", "**firstname**"),
                    attribute("lastName", "**lastname**"),
                ],
            ),
            step("Under **Group Attributes**, select **include group attribute** and name it `groups`."),
            step(
                "On the **User Groups** tab, select the groups whose users sign in to Gatehouse, and select **Save**.",
            ),
        ]]
        .into_iter()
        .flatten()
        .collect(),
        download: "Open the app again and, on the **SSO** tab, select **Export Metadata**.",
        facts: vec![
            (
                ATTRIBUTES,
                rich(
                    "Only the attributes you add. With the steps above: `email`, `firstName`, `lastName`, and \
                     `groups` with the names of the user's groups bound to the app.",
                ),
            ),
            (NAME_ID, rich("The user's email address, format `emailAddress`.")),
        ],
    }
}
