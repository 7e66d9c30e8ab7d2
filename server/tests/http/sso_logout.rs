//! Single logout over HTTP: the sign-out answer leading on to the IdP, the signed LogoutRequest redirect, the
//! IdP's LogoutResponse and LogoutRequest at the SLO URL (query signatures over the raw query string), and the
//! pages a browser shows.

use crate::sso_world::{IDP_SLO_URL, signed_in_user, world};
use crate::support::Browser;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{SecondsFormat, Utc};
use gatehouse_core::saml::binding::{
    Parameter, SigningKey, from_redirect, redirect, sign_enveloped, signature_template_xml,
};
use test_idp::{Signer, attacker, idp};

async fn session_email(user: &Browser) -> serde_json::Value {
    user.call("/api/auth/session", &[])
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["email"]
        .clone()
}

/// The query string of a message the IdP sends through the browser, signed by `signer` (HTTP-Redirect).
fn from_idp(xml: &str, parameter: Parameter, signer: &Signer) -> String {
    let pem = signer.private_key();
    let key = SigningKey {
        private_key: &pem,
        certificate_der: &[],
    };
    let url = redirect(&IDP_SLO_URL.parse().unwrap(), parameter, xml, "rs-9", Some(&key)).unwrap();
    url.query().unwrap().to_owned()
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn signing_out_goes_on_to_the_idp_and_its_answer_completes_it() {
    let w = world().await;
    let user = signed_in_user(&w, "ada@acme.example").await;
    let next: String = user.call("/api/auth/sign-out", &[]).await.json().await.unwrap();
    assert!(
        next.starts_with(&format!("/saml/{}/logout?request=_", w.connection)),
        "{next}"
    );
    assert!(session_email(&user).await.is_null(), "signed out of Gatehouse at once");

    let to_idp = user.get(&next).await;
    assert_eq!(to_idp.status(), 303);
    let location = url::Url::parse(to_idp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&format!("{IDP_SLO_URL}?SAMLRequest=")));
    let request = from_redirect(location.query().unwrap()).unwrap();
    assert!(request.query_signature.is_some());
    assert!(request.xml.contains("ada@acme.example") && request.xml.contains("_session-7"));
    let request_id = request
        .xml
        .split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let slo_url = format!("{}/saml/{}/slo", w.app.address, w.connection);
    let logout_response = |signer: &Signer| {
        from_idp(
            &format!(
                r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_idp-r-1" Version="2.0" IssueInstant="{}" Destination="{slo_url}" InResponseTo="{request_id}"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
                now(),
                test_idp::IDP
            ),
            Parameter::SamlResponse,
            signer,
        )
    };
    let forged = user
        .get(&format!("/saml/{}/slo?{}", w.connection, logout_response(attacker())))
        .await;
    assert_eq!(forged.status(), 400);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("Reference for your administrator")
    );
    let done = user
        .get(&format!("/saml/{}/slo?{}", w.connection, logout_response(idp())))
        .await;
    assert_eq!(done.status(), 200);
    let page = done.text().await.unwrap();
    assert!(
        page.contains("You are signed out of Gatehouse and of your identity provider."),
        "{page}"
    );

    // Garbage at the SLO URL gets a readable 400 page, never a crash.
    let garbage = user.get(&format!("/saml/{}/slo?SAMLRequest=%%%", w.connection)).await;
    assert_eq!(garbage.status(), 400);
    assert!(garbage.text().await.unwrap().contains("could not be read"));
}

#[tokio::test]
async fn the_idp_signing_a_user_out_ends_their_sessions_and_gets_a_signed_answer() {
    let w = world().await;
    let ada = signed_in_user(&w, "ada@acme.example").await;
    let bob = signed_in_user(&w, "bob@acme.example").await;
    let slo_url = format!("{}/saml/{}/slo", w.app.address, w.connection);
    let logout_request = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_idp-q-1" Version="2.0" IssueInstant="{}" Destination="{slo_url}"><saml:Issuer>{}</saml:Issuer><saml:NameID>ada@acme.example</saml:NameID><samlp:SessionIndex>_session-7</samlp:SessionIndex></samlp:LogoutRequest>"#,
        now(),
        test_idp::IDP
    );

    // Signed by someone else: refused, Ada stays signed in.
    let forged = ada
        .get(&format!(
            "/saml/{}/slo?{}",
            w.connection,
            from_idp(&logout_request, Parameter::SamlRequest, attacker())
        ))
        .await;
    assert_eq!(forged.status(), 400);
    assert_eq!(session_email(&ada).await, "ada@acme.example");

    let query = from_idp(&logout_request, Parameter::SamlRequest, idp());
    let answered = bob.get(&format!("/saml/{}/slo?{query}", w.connection)).await;
    assert_eq!(answered.status(), 303);
    let location = url::Url::parse(answered.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&format!("{IDP_SLO_URL}?SAMLResponse=")));
    let response = from_redirect(location.query().unwrap()).unwrap();
    assert_eq!(response.relay_state.as_deref(), Some("rs-9"));
    assert!(response.xml.contains("InResponseTo=\"_idp-q-1\""));
    assert!(
        session_email(&ada).await.is_null(),
        "Ada's session ended, whichever browser carried the request"
    );
    assert_eq!(session_email(&bob).await, "bob@acme.example");

    // Replayed: refused.
    let replayed = bob.get(&format!("/saml/{}/slo?{query}", w.connection)).await;
    assert_eq!(replayed.status(), 400);

    // HTTP-POST from the IdP's page (cross-site), with an enveloped signature: Bob's turn.
    let template = signature_template_xml("_idp-q-2", idp().certificate.der()).unwrap();
    let pem = idp().private_key();
    let bobs_request = logout_request
        .replace("_idp-q-1", "_idp-q-2")
        .replace("ada@acme.example", "bob@acme.example")
        .replace("</saml:Issuer>", &format!("</saml:Issuer>{template}"));
    let signed = sign_enveloped(
        &bobs_request,
        &SigningKey {
            private_key: &pem,
            certificate_der: idp().certificate.der(),
        },
    )
    .unwrap();
    let posted = bob
        .client
        .post(&slo_url)
        .header("origin", "https://idp.example.com")
        .form(&[
            ("SAMLRequest", STANDARD.encode(signed).as_str()),
            ("RelayState", "rs-post"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    assert!(session_email(&bob).await.is_null());
    let events = w.owner.call_ok("/api/sso/events", &[("account_id", &w.account)]).await;
    let text = events.to_string();
    assert!(
        text.contains("was already used (a replayed request)") && text.contains("1 Gatehouse session(s) ended"),
        "{text}"
    );
}
