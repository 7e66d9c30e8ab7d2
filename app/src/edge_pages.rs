//! The pages the SSO endpoints answer with outside the router (a refused sign-in, signing out, the move on to the
//! session, switching user, the Test SSO report): whole documents rendered on the server, with no script and
//! nothing to hydrate, every value escaped by the renderer.

use crate::refusal_reasons::owner_reason;
use gatehouse_core::sso::test_sso::{CheckOutcome, TestReport};
use leptos::prelude::*;

/// The document around one page: `title` in the tab, the site's stylesheet, and, for a page that moves on by
/// itself, where to.
fn document(title: String, moves_on_to: Option<String>, body: impl IntoView + 'static) -> String {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                {moves_on_to.map(|url| view! { <meta http-equiv="refresh" content=format!("0;url={url}") /> })}
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>{format!("{title} · Gatehouse")}</title>
                <link rel="stylesheet" href="/pkg/gatehouse.css" />
            </head>
            <body>{body}</body>
        </html>
    }
    .to_html()
}

/// A small page with a heading, a message, an optional reference for the owner, and the way back (`back` names
/// it, `back_to` is where it goes).
pub fn notice(heading: &str, message: &str, reference: Option<&str>, back: &str, back_to: &str) -> String {
    let (heading, message, back, back_to) = (
        heading.to_owned(),
        message.to_owned(),
        back.to_owned(),
        back_to.to_owned(),
    );
    let reference = reference.map(str::to_owned);
    document(
        heading.clone(),
        None,
        view! {
            <main class="auth-page">
                <div class="auth-card">
                    <h2>{heading}</h2>
                    <p>{message}</p>
                    {reference.map(|r| view! { <p>"Reference for your administrator: " <code>{r}</code></p> })}
                    <p><a class="button secondary" href=back_to>{back}</a></p>
                </div>
            </main>
        },
    )
}

/// The page that posts a SAML message to the IdP (HTTP-POST binding) by itself, with a button for a browser that
/// runs no script; `doing` names what is happening.
pub fn posting_to_idp(doing: &str, action: &str, parameter: &'static str, message: &str, relay_state: &str) -> String {
    let (action, message, relay_state) = (action.to_owned(), message.to_owned(), relay_state.to_owned());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <title>{format!("{doing} · Gatehouse")}</title>
            </head>
            <body onload="document.forms[0].submit()">
                <form method="post" action=action>
                    <input type="hidden" name=parameter value=message />
                    <input type="hidden" name="RelayState" value=relay_state />
                    <noscript><p>"Your browser does not run scripts; continue to your identity provider:"</p></noscript>
                    <button type="submit">"Continue"</button>
                </form>
            </body>
        </html>
    }
    .to_html()
}

/// The page that moves a finished sign-in on to `complete` by itself, with a link for a browser that does not.
pub fn moving_on(headline: &str, complete: &str) -> String {
    let (headline, complete) = (headline.to_owned(), complete.to_owned());
    document(
        headline.clone(),
        Some(complete.clone()),
        view! {
            <main class="auth-page">
                <div class="auth-card">
                    <h2>{headline}</h2>
                    <p><a class="button primary" href=complete>"Continue"</a></p>
                </div>
            </main>
        },
    )
}

/// Asks the browser's user whether the SSO sign-in that just finished (`incoming`) replaces the session of the
/// user already signed in here (`current`); the answer goes to `/sso/switch`, then on to `target`.
pub fn switch_user(current: &str, incoming: &str, target: &str) -> String {
    let (current, incoming, target) = (current.to_owned(), incoming.to_owned(), target.to_owned());
    document(
        "Switch user?".to_owned(),
        None,
        view! {
            <main class="auth-page">
                <div class="auth-card">
                    <h2>"Switch to another user?"</h2>
                    <p>"This browser is signed in to Gatehouse as " <strong>{current.clone()}</strong> "."</p>
                    <p>"Your identity provider has just signed you in as " <strong>{incoming.clone()}</strong> "."</p>
                    <p class="hint">
                        "If you did not start this sign-in yourself, someone may be trying to make you work in their account: stay as "
                        {current.clone()} "."
                    </p>
                    <form method="post" action="/sso/switch">
                        <input type="hidden" name="next" value=target />
                        <div class="actions">
                            <button class="button primary wide" type="submit" name="choice" value="stay">
                                {format!("Stay signed in as {current}")}
                            </button>
                            <button class="button secondary wide" type="submit" name="choice" value="switch">
                                {format!("Continue as {incoming}")}
                            </button>
                        </div>
                    </form>
                </div>
            </main>
        },
    )
}

/// The Owner's Test SSO report: the verdict, every check, what the response gives, and the response itself.
pub fn test_report(report: &TestReport) -> String {
    let headline = match report.first_failure() {
        None => "Test passed".to_owned(),
        Some((check, _)) => format!("Test failed: {}", check.label()),
    };
    let or_none = |value: Option<&str>| match value {
        Some(v) => view! { <code>{v.to_owned()}</code> }.into_any(),
        None => view! { <em>"not read"</em> }.into_any(),
    };
    let checks = report
        .checks
        .iter()
        .map(|c| {
            let (class, mark, detail) = match &c.outcome {
                CheckOutcome::Passed => ("check passed", "✓", None),
                CheckOutcome::Failed(refusal) => (
                    "check failed",
                    "✗",
                    Some(
                        view! {
                            <br />
                            <small>{owner_reason(refusal)}</small>
                            {report.fix.clone().map(|fix| view! { <p class="fix"><strong>"How to fix: "</strong>{fix}</p> })}
                        }
                        .into_any(),
                    ),
                ),
                CheckOutcome::NotReached => (
                    "check not-reached",
                    "–",
                    Some(view! { " " <small>"(not reached)"</small> }.into_any()),
                ),
            };
            view! { <li class=class><span aria-hidden="true">{mark}</span> " " {c.check.label()} {detail}</li> }
        })
        .collect_view();
    let attributes = if report.attributes.is_empty() {
        view! { <p>"No attributes were read."</p> }.into_any()
    } else {
        let rows = report
            .attributes
            .iter()
            .map(|(name, values)| view! { <tr><td><code>{name.clone()}</code></td><td>{values.join(", ")}</td></tr> })
            .collect_view();
        view! {
            <table>
                <thead><tr><th>"Attribute"</th><th>"Values"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let domain = match report.email_domain_verified {
        Some(true) => " (a verified domain of this account)",
        Some(false) => " (not a verified domain of this account)",
        None => "",
    };
    let role = match report.role {
        Some(role) => view! { <strong>{role.label()}</strong> }.into_any(),
        None => view! { <em>"not known"</em> }.into_any(),
    };
    let sso_off = (!report.sso_enabled).then(|| {
        view! {
            <p class="hint">
                "Single sign-on is still off for this account: no one signs in through it until the Owner turns it on under Sign-in policy."
            </p>
        }
    });
    let takes_over = report.takes_over.then(|| {
        view! {
            <p class="hint">
                {or_none(report.email.as_deref())}
                " is an existing user with a password: their first sign-in through this identity provider takes the user over (the password is removed and their sessions end)."
            </p>
        }
    });
    let cut = report
        .response_truncated
        .then(|| view! { <p class="hint">"Only the beginning of the response is shown."</p> });
    let verdict = if report.passed() { "passed" } else { "failed" };
    let back = format!("/accounts/{}/sso/connections/{}", report.account, report.connection);
    document(
        format!("{headline} · Test SSO"),
        None,
        view! {
            <main class="test-sso-report">
                <p>
                    "Test SSO of " <strong>{report.connection_label.clone()}</strong>
                    ". Nobody was signed in and nothing was changed."
                </p>
                <h1 class=verdict>{headline}</h1>
                {sso_off}
                {takes_over}
                <h2>"Checks"</h2>
                <ul class="checks">{checks}</ul>
                <h2>"Identity"</h2>
                <dl>
                    <dt>"NameID"</dt>
                    <dd>{or_none(report.name_id.as_deref())}</dd>
                    <dt>"NameID format"</dt>
                    <dd>{or_none(report.name_id_format.as_deref())}</dd>
                    <dt>"Email"</dt>
                    <dd>{or_none(report.email.as_deref())} {domain}</dd>
                    <dt>"Role the current mappings give"</dt>
                    <dd>{role}</dd>
                </dl>
                <h2>"Attributes"</h2>
                {attributes}
                <h2>"The response"</h2>
                {cut}
                <pre class="saml-response" tabindex="0">{report.response_xml.clone()}</pre>
                <p>"Reference in the SSO events: " <code>{report.reference.clone()}</code></p>
                <p><a class="button secondary" href=back>"Back to the connection"</a></p>
            </main>
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_message_says_is_text_never_markup() {
        let page = notice(
            "Single sign-on did not work",
            "<script>alert(1)</script> & \"more\"",
            Some("<b>REF</b>"),
            "Back to sign-in",
            "/sign-in?next=\"><x",
        );
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(
            !page.contains("<script>") && !page.contains("<b>") && !page.contains("\"><x"),
            "{page}"
        );
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"), "{page}");
        assert!(
            page.contains("Reference for your administrator: <code>&lt;b&gt;REF&lt;/b&gt;</code>"),
            "{page}"
        );
        assert!(
            page.contains("<title>Single sign-on did not work · Gatehouse</title>"),
            "{page}"
        );
        assert!(page.contains("href=\"/pkg/gatehouse.css\""), "{page}");
    }

    #[test]
    fn the_post_to_the_idp_submits_itself_with_its_fields() {
        let page = posting_to_idp(
            "Signing in",
            "https://idp.example/sso?a=1&b=2",
            "SAMLRequest",
            "PD94bWw+",
            "ref\"1",
        );
        assert!(page.contains("<body onload=\"document.forms[0].submit()\">"), "{page}");
        assert!(
            page.contains("action=\"https://idp.example/sso?a=1&amp;b=2\""),
            "{page}"
        );
        assert!(page.contains("name=\"SAMLRequest\" value=\"PD94bWw+\""), "{page}");
        assert!(page.contains("name=\"RelayState\" value=\"ref&quot;1\""), "{page}");
    }

    #[test]
    fn the_page_that_moves_on_names_where_in_its_refresh_and_its_link() {
        let page = moving_on("Signing you in…", "/sso/complete?next=%2Faccounts&x=1");
        assert!(
            page.contains("content=\"0;url=/sso/complete?next=%2Faccounts&amp;x=1\""),
            "{page}"
        );
        assert!(
            page.contains("href=\"/sso/complete?next=%2Faccounts&amp;x=1\""),
            "{page}"
        );
    }
}
