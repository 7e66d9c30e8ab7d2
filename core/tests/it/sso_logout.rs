//! Single logout against a real database and the test IdP's key: signing out of an SSO session continues at the
//! IdP with a signed LogoutRequest whose answer is matched once; an IdP's LogoutRequest ends exactly the sessions
//! it names; and forged, replayed or misaddressed logout messages change nothing.

use crate::sso_setup::{IDP_SLO_URL, Setup, setup, setup_with_slo, sign_in_as};
use chrono::{DateTime, Duration, Utc};
use gatehouse_core::saml::binding::{
    self, Incoming, Outgoing, Parameter, QuerySignatureError, SigningKey, from_redirect, sign_enveloped,
    signature_template_xml, verify_query_signature,
};
use gatehouse_core::saml::logout::{LogoutExpectations, LogoutRejection, validate_logout_request};
use gatehouse_core::saml::{Certificate, KeyState};
use gatehouse_core::sso::refusal::LogoutRefusal;
use gatehouse_core::sso::single_logout::{SignedOut, SloOutcome};
use test_idp::{Signer, attacker, idp};

/// Signs `name_id` in through SSO with the IdP session `session_index`; answers the session token.
async fn signed_in(s: &Setup, name_id: &str, session_index: &str) -> String {
    sign_in_as(s, |spec| {
        spec.name_id = name_id.into();
        spec.session_index = session_index.into();
    })
    .await
    .session
    .token
}

async fn is_live(s: &Setup, token: &str) -> bool {
    s.world.auth.authenticate(token, test_idp::now()).await.is_ok()
}

async fn sp_certificate(s: &Setup) -> Certificate {
    let connection = s.connections.list(&s.owner, s.account).await.unwrap().remove(0);
    connection
        .sp_keys
        .iter()
        .find(|k| k.state == KeyState::Active)
        .unwrap()
        .certificate
        .clone()
}

/// A logout message from the IdP (or whoever `signer` is) as the HTTP-Redirect binding carries it.
fn via_redirect(xml: &str, parameter: Parameter, signer: Option<&Signer>) -> Incoming {
    let pem = signer.map(Signer::private_key);
    let key = pem.as_ref().map(|pem| SigningKey {
        private_key: pem,
        certificate_der: &[],
    });
    let url = binding::redirect(
        &"https://x.example/slo".parse().unwrap(),
        parameter,
        xml,
        "rs-1",
        key.as_ref(),
    )
    .unwrap();
    from_redirect(url.query().unwrap()).unwrap()
}

struct IdpRequest<'a> {
    id: &'a str,
    issuer: &'a str,
    destination: Option<&'a str>,
    issued: DateTime<Utc>,
    name_id: &'a str,
    session_indexes: &'a [&'a str],
}

fn idp_request<'a>(
    s: &Setup,
    id: &'a str,
    name_id: &'a str,
    session_indexes: &'a [&'a str],
) -> (IdpRequest<'a>, String) {
    let slo_url = s.connections.service_provider_values(s.connection).slo_url;
    (
        IdpRequest {
            id,
            issuer: test_idp::IDP,
            destination: None,
            issued: test_idp::now(),
            name_id,
            session_indexes,
        },
        slo_url,
    )
}

fn logout_request_xml(r: &IdpRequest, slo_url: &str, signature: &str) -> String {
    let destination = r.destination.unwrap_or(slo_url);
    let indexes: String = r
        .session_indexes
        .iter()
        .map(|i| format!("<samlp:SessionIndex>{i}</samlp:SessionIndex>"))
        .collect();
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}" Destination="{destination}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID>{indexes}</samlp:LogoutRequest>"#,
        id = r.id,
        issued = r.issued.to_rfc3339(),
        issuer = r.issuer,
        name_id = r.name_id,
    )
}

#[tokio::test]
async fn signing_out_sends_a_signed_logout_request_for_the_idp_session_and_takes_its_answer_once() {
    let s = setup_with_slo(IDP_SLO_URL).await;
    let now = test_idp::now();
    let token = signed_in(&s, "ada@acme.example", "_idp-session-1").await;

    let SignedOut::AtIdp { connection, request_id } = s.sso.sign_out(&token, now).await.unwrap() else {
        panic!("an SSO session with an IdP SLO URL continues at the IdP");
    };
    assert_eq!(connection, s.connection);
    assert!(!is_live(&s, &token).await, "the Gatehouse session ends first");

    let Outgoing::Redirect(url) = s.sso.logout_request(s.connection, &request_id, now).await.unwrap() else {
        panic!("the IdP's SLO URL takes HTTP-Redirect");
    };
    assert!(url.as_str().starts_with(&format!("{IDP_SLO_URL}?SAMLRequest=")));
    let sent = from_redirect(url.query().unwrap()).unwrap();
    verify_query_signature(
        sent.query_signature.as_ref().unwrap(),
        &[sp_certificate(&s).await],
        false,
    )
    .unwrap();
    let values = s.connections.service_provider_values(s.connection);
    for part in [
        format!("ID=\"{request_id}\""),
        format!("Destination=\"{IDP_SLO_URL}\""),
        format!("<saml:Issuer>{}</saml:Issuer>", values.entity_id),
        "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">ada@acme.example</saml:NameID><samlp:SessionIndex>_idp-session-1</samlp:SessionIndex>".to_owned(),
    ] {
        assert!(sent.xml.contains(&part), "{part} missing from {}", sent.xml);
    }

    // The IdP's signed LogoutResponse completes the sign-out, once.
    let answer = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr-1" Version="2.0" IssueInstant="{now}" Destination="{slo}" InResponseTo="{request_id}"><saml:Issuer>{idp}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        now = now.to_rfc3339(),
        slo = values.slo_url,
        idp = test_idp::IDP,
    );
    let forged = via_redirect(&answer, Parameter::SamlResponse, Some(attacker()));
    let refused = s.sso.slo(s.connection, &forged, None, now).await.unwrap_err();
    assert!(
        matches!(
            refused.refusal,
            LogoutRefusal::Response(LogoutRejection::QuerySignature(QuerySignatureError::Mismatch(_)))
        ),
        "{refused:?}"
    );
    let genuine = via_redirect(&answer, Parameter::SamlResponse, Some(idp()));
    assert!(matches!(
        s.sso.slo(s.connection, &genuine, None, now).await.unwrap(),
        SloOutcome::Completed { idp_failure: None }
    ));
    let again = s.sso.slo(s.connection, &genuine, None, now).await.unwrap_err();
    assert_eq!(again.refusal, LogoutRefusal::UnansweredResponse(request_id.clone()));

    // Everything happened at one instant: the events are told apart by outcome, not by order.
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    let of = |outcome: &str| events.iter().filter(|e| e.outcome == outcome).collect::<Vec<_>>();
    assert_eq!(of("logout-refused").len(), 2, "the forged answer and the second one");
    let signed_out = of("signed-out");
    assert_eq!(signed_out.len(), 1);
    assert_eq!(signed_out[0].name_id.as_deref(), Some("ada@acme.example"));
    assert_eq!(signed_out[0].reason, "signed out at the IdP");
}

#[tokio::test]
async fn without_an_idp_slo_url_or_an_sso_session_signing_out_stays_here() {
    let s = setup().await;
    let now = test_idp::now();
    let token = signed_in(&s, "ada@acme.example", "_s").await;
    assert_eq!(s.sso.sign_out(&token, now).await.unwrap(), SignedOut::Here);
    assert!(!is_live(&s, &token).await);
    let owner_session = s.world.auth.start_session(s.owner.user_id, None, now).await.unwrap();
    assert_eq!(
        s.sso.sign_out(&owner_session.token, now).await.unwrap(),
        SignedOut::Here
    );
}

#[tokio::test]
async fn an_idp_logout_request_ends_exactly_the_sessions_it_names_once_and_is_answered_signed() {
    let s = setup_with_slo(IDP_SLO_URL).await;
    let now = test_idp::now();
    let ada_laptop = signed_in(&s, "ada@acme.example", "_laptop").await;
    let ada_phone = signed_in(&s, "ada@acme.example", "_phone").await;
    let bob = signed_in(&s, "bob@acme.example", "_laptop").await;

    // The laptop's IdP session only (HTTP-Redirect, query signature).
    let (request, slo_url) = idp_request(&s, "_idp-lr-1", "ada@acme.example", &["_laptop"]);
    let incoming = via_redirect(
        &logout_request_xml(&request, &slo_url, ""),
        Parameter::SamlRequest,
        Some(idp()),
    );
    let SloOutcome::Answered {
        outgoing: Outgoing::Redirect(url),
        ended_sessions,
    } = s.sso.slo(s.connection, &incoming, None, now).await.unwrap()
    else {
        panic!("answered over HTTP-Redirect");
    };
    assert_eq!(ended_sessions, 1);
    assert!(!is_live(&s, &ada_laptop).await);
    assert!(
        is_live(&s, &ada_phone).await && is_live(&s, &bob).await,
        "other IdP sessions stay"
    );
    let answer = from_redirect(url.query().unwrap()).unwrap();
    assert_eq!(
        answer.relay_state.as_deref(),
        Some("rs-1"),
        "the request's RelayState comes back"
    );
    verify_query_signature(
        answer.query_signature.as_ref().unwrap(),
        &[sp_certificate(&s).await],
        false,
    )
    .unwrap();
    assert!(answer.xml.contains("InResponseTo=\"_idp-lr-1\"") && answer.xml.contains("status:Success"));

    // The same request again is a replay: refused, nothing ends.
    let replayed = s.sso.slo(s.connection, &incoming, None, now).await.unwrap_err();
    assert_eq!(replayed.refusal, LogoutRefusal::ReplayedRequest("_idp-lr-1".into()));
    assert!(is_live(&s, &ada_phone).await);

    // Without SessionIndex, every session of the NameID ends (HTTP-POST, enveloped signature this time).
    let (request, slo_url) = idp_request(&s, "_idp-lr-2", "ada@acme.example", &[]);
    let template = signature_template_xml("_idp-lr-2", idp().certificate.der()).unwrap();
    let pem = idp().private_key();
    let signed = sign_enveloped(
        &logout_request_xml(&request, &slo_url, &template),
        &SigningKey {
            private_key: &pem,
            certificate_der: idp().certificate.der(),
        },
    )
    .unwrap();
    let posted = binding::from_post(Parameter::SamlRequest, &base64_of(&signed), None).unwrap();
    assert!(matches!(
        s.sso.slo(s.connection, &posted, None, now).await.unwrap(),
        SloOutcome::Answered { ended_sessions: 1, .. }
    ));
    assert!(!is_live(&s, &ada_phone).await);
    assert!(is_live(&s, &bob).await);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn forged_misaddressed_stale_or_weak_logout_requests_are_refused_and_change_nothing() {
    let s = setup_with_slo(IDP_SLO_URL).await;
    let now = test_idp::now();
    let token = signed_in(&s, "ada@acme.example", "_laptop").await;
    let certificates = [idp().certificate.clone()];
    let slo_url = s.connections.service_provider_values(s.connection).slo_url;
    let expected = LogoutExpectations {
        idp_entity_id: test_idp::IDP,
        certificates: &certificates,
        slo_url: &slo_url,
        allow_sha1: false,
        clock_skew: Duration::minutes(3),
        now,
    };
    let base = || idp_request(&s, "_idp-lr-9", "ada@acme.example", &["_laptop"]).0;
    let redirect = |r: IdpRequest, signer: Option<&Signer>| {
        via_redirect(&logout_request_xml(&r, &slo_url, ""), Parameter::SamlRequest, signer)
    };
    let mut sha1 = redirect(base(), Some(idp()));
    sha1.query_signature.as_mut().unwrap().algorithm = "http://www.w3.org/2000/09/xmldsig#rsa-sha1".into();
    let enveloped_by_attacker = {
        let template = signature_template_xml("_idp-lr-9", attacker().certificate.der()).unwrap();
        let pem = attacker().private_key();
        let signed = sign_enveloped(
            &logout_request_xml(&base(), &slo_url, &template),
            &SigningKey {
                private_key: &pem,
                certificate_der: attacker().certificate.der(),
            },
        )
        .unwrap();
        binding::from_post(Parameter::SamlRequest, &base64_of(&signed), None).unwrap()
    };
    let extended = format!("{slo_url}/extra");
    let cases: Vec<(Incoming, &str)> = vec![
        (redirect(base(), None), "unsigned"),
        (
            binding::from_post(
                Parameter::SamlRequest,
                &base64_of(&logout_request_xml(&base(), &slo_url, "")),
                None,
            )
            .unwrap(),
            "unsigned",
        ),
        (redirect(base(), Some(attacker())), "unknown signer"),
        (enveloped_by_attacker, "unknown signer"),
        (sha1, "SHA-1"),
        (
            redirect(
                IdpRequest {
                    issuer: "https://evil.example/idp",
                    ..base()
                },
                Some(idp()),
            ),
            "issuer",
        ),
        (
            redirect(
                IdpRequest {
                    destination: Some(&extended),
                    ..base()
                },
                Some(idp()),
            ),
            "destination",
        ),
        (
            redirect(
                IdpRequest {
                    issued: now - Duration::minutes(9),
                    ..base()
                },
                Some(idp()),
            ),
            "too old",
        ),
        (
            redirect(
                IdpRequest {
                    issued: now + Duration::minutes(10),
                    ..base()
                },
                Some(idp()),
            ),
            "from the future",
        ),
        (
            via_redirect(
                &logout_request_xml(&base(), &slo_url, "").replace("LogoutRequest", "LogoutResponse"),
                Parameter::SamlRequest,
                Some(idp()),
            ),
            "wrong message",
        ),
    ];
    for (incoming, case) in cases {
        let rejection = validate_logout_request(&incoming, &expected).unwrap_err();
        let found = match &rejection {
            LogoutRejection::Unsigned(_) => "unsigned",
            LogoutRejection::QuerySignature(QuerySignatureError::Mismatch(_)) | LogoutRejection::Signature { .. } => {
                "unknown signer"
            }
            LogoutRejection::QuerySignature(QuerySignatureError::Sha1) => "SHA-1",
            LogoutRejection::Issuer { found, .. } if found == "https://evil.example/idp" => "issuer",
            LogoutRejection::Destination { found, .. } if *found == extended => "destination",
            LogoutRejection::TooOld(_) => "too old",
            LogoutRejection::FromTheFuture(_) => "from the future",
            LogoutRejection::WrongMessage { expected, .. } if expected == "LogoutRequest" => "wrong message",
            other => panic!("{case}: {other:?}"),
        };
        assert_eq!(found, case, "{rejection:?}");
        let refused = s.sso.slo(s.connection, &incoming, None, now).await.unwrap_err();
        assert_eq!(refused.refusal, LogoutRefusal::Request(rejection));
        let reason = case;
        assert!(is_live(&s, &token).await, "{reason}: the session stays");
        // The owner reads what to change at the IdP where there is something to change.
        let events = s.world.store.sso_events(s.account, None, 50).await.unwrap();
        let event = events
            .into_iter()
            .find(|e| Some(&e.reference) == refused.reference.as_ref())
            .unwrap();
        let expected_cause = match reason {
            "destination" => Some("destination"),
            "issuer" => Some("issuer"),
            "too old" | "from the future" => Some("clock_skew"),
            "unknown signer" => Some("unknown_signer"),
            "SHA-1" => Some("weak_signature"),
            "unsigned" => Some("unsigned"),
            "wrong message" => None,
            other => panic!("no cause expected for {other}"),
        };
        assert_eq!(event.cause.as_deref(), expected_cause, "{reason}: {:?}", event.fix);
        if reason == "destination" {
            let fix = event.fix.unwrap_or_default();
            assert!(
                fix.contains("Set the single logout (SLO) URL") && fix.ends_with(&format!(" to {slo_url}.")),
                "{fix}"
            );
        }
    }
    // Within the clock skew, a message from a slightly fast IdP clock is fine.
    let fast_clock = redirect(
        IdpRequest {
            issued: now + Duration::minutes(2),
            ..base()
        },
        Some(idp()),
    );
    validate_logout_request(&fast_clock, &expected).unwrap();
}
