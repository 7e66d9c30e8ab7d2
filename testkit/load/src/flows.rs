//! What a virtual user does, over HTTP exactly as a browser and an IdP would: an owner sets up an account
//! (sign-up, a verified domain, a connection to the test IdP, SSO on), users sign in through that IdP, and the
//! owner loads the dashboard's pages.

use crate::run::Sample;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration as TimeDelta, Utc};
use reqwest::header::{ACCEPT, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use test_dns::TestDns;
use test_idp::{Spec, assertion_xml, idp, response_xml, sign, signature_template, strip_declaration};

const PASSWORD: &str = "correct horse battery";
const SESSION_COOKIE: &str = "gatehouse_session";
const BINDING_COOKIE: &str = "gatehouse_sso";
const PENDING_COOKIE: &str = "gatehouse_pending_sign_in";
/// Where the test IdP's pages would be: its POST to the ACS is cross-site.
const IDP_ORIGIN: &str = "https://idp.example.com";

/// One HTTP client for every virtual user: connections are kept alive and reused, as a browser does, while
/// each sign-in carries only its own cookies (held here, not in a shared jar).
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// The value of cookie `name` set by `response`, if any.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let (n, v) = c.split(';').next()?.split_once('=')?;
            (n.trim() == name && !v.is_empty()).then(|| v.to_owned())
        })
}

fn location(response: &Response) -> Result<String, String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("{} answered without a Location", response.url().path()))
}

/// Reads the whole body (so the connection goes back to the pool) and checks the status.
async fn expect(response: Response, status: StatusCode, what: &str) -> Result<String, String> {
    let got = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("{what}: reading the body: {e}"))?;
    if got != status {
        return Err(format!("{what}: status {got} (expected {status}): {}", gist(&body)));
    }
    Ok(body)
}

/// What an answer says, short: the first paragraph of an HTML page (the reason on a refused sign-in), or the
/// start of the text.
fn gist(body: &str) -> String {
    let paragraph = body
        .split_once("<p>")
        .and_then(|(_, rest)| rest.split_once("</p>"))
        .map(|(text, _)| text);
    paragraph.unwrap_or(body).chars().take(160).collect()
}

fn sent(what: &str) -> impl Fn(reqwest::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// An account set up for SSO: its owner's sessions and the users who sign in through its IdP.
pub struct Account {
    pub id: String,
    pub domain: String,
    pub connection: String,
    pub owner_sessions: Vec<String>,
    users: Users,
}

/// The account's SSO users: `user<N>@<domain>`, numbered in the order of their first sign-in.
#[derive(Default)]
struct Users {
    next: AtomicU64,
    signed_in: Mutex<Vec<u64>>,
}

impl Users {
    /// A new user with probability `new_share` (or when nobody has signed in yet), else one who signed in before.
    fn pick(&self, new_share: f64) -> (u64, bool) {
        use rand::Rng;
        let mut rng = rand::rng();
        {
            let known = self.signed_in.lock().unwrap();
            if !known.is_empty() && rng.random::<f64>() >= new_share {
                return (known[rng.random_range(0..known.len())], false);
            }
        }
        (self.next.fetch_add(1, Ordering::Relaxed), true)
    }

    pub fn count(&self) -> usize {
        self.signed_in.lock().unwrap().len()
    }
}

impl Account {
    /// How many users have signed in at least once (each is a member of the account).
    pub fn sso_users(&self) -> usize {
        self.users.count()
    }

    /// The owner, calling the API with their first session.
    pub fn owner<'a>(&'a self, client: &'a Client, base: &'a str) -> Caller<'a> {
        Caller {
            client,
            base,
            session: self.owner_sessions[0].clone(),
        }
    }
}

/// A signed-in owner (or anyone with a session cookie) calling server functions as the dashboard's script does.
pub struct Caller<'a> {
    client: &'a Client,
    base: &'a str,
    session: String,
}

impl Caller<'_> {
    pub async fn call(&self, path: &str, form: &[(&str, &str)]) -> Result<serde_json::Value, String> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, self.base)
            .header(ACCEPT, "application/json")
            .header(COOKIE, format!("{SESSION_COOKIE}={}", self.session))
            .form(form)
            .send()
            .await
            .map_err(sent(path))?;
        let body = expect(response, StatusCode::OK, path).await?;
        serde_json::from_str(&body).map_err(|e| format!("{path}: {e}: {body}"))
    }
}

/// Signs up (or signs in) with a password as the sign-in form does; answers the session cookie and the JSON answer.
async fn password_session(
    client: &Client,
    base: &str,
    path: &str,
    email: &str,
) -> Result<(String, serde_json::Value), String> {
    let response = client
        .post(format!("{base}{path}"))
        .header(ORIGIN, base)
        .header(ACCEPT, "application/json")
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .map_err(sent(path))?;
    let session = set_cookie(&response, SESSION_COOKIE).ok_or_else(|| format!("{path} set no session cookie"))?;
    let body = expect(response, StatusCode::OK, path).await?;
    Ok((session, serde_json::from_str(&body).map_err(|e| e.to_string())?))
}

/// Sets up account `index` as its owner would, through the product's API: sign-up and the proof of the address,
/// `load<index>.example` added, its TXT record published on the loopback DNS server and verified, a connection to
/// the test IdP with its certificate, the domain routed to it, and SSO turned on. The owner signs in `sessions` times in all.
pub async fn set_up_account(
    client: &Client,
    base: &str,
    dns: &TestDns,
    index: usize,
    sessions: usize,
) -> Result<Account, String> {
    let domain = format!("load{index}.example");
    let email = format!("owner@{domain}");
    let (session, path) = password_session(client, base, "/api/auth/sign-up", &email).await?;
    let account = path
        .as_str()
        .and_then(|p| p.strip_prefix("/confirm-email?next=/accounts/"))
        .and_then(|p| p.strip_suffix("/sso/setup"))
        .ok_or_else(|| format!("sign-up answered {path}"))?
        .to_owned();
    let owner = Caller {
        client,
        base,
        session: session.clone(),
    };
    let prefix = format!("{base}/confirm-email/");
    let recipient = email.clone();
    let link = tokio::task::spawn_blocking(move || test_smtp::SmtpSink::shared().take_link(&recipient, &prefix))
        .await
        .map_err(|e| format!("reading the proof mail: {e}"))?;
    let token = link.rsplit('/').next().unwrap_or_default();
    owner.call("/api/auth/confirm-email", &[("token", token)]).await?;
    let mut owner_sessions = vec![session];
    // Before SSO is on for the owner's own domain, though the owner keeps password sign-in after it too.
    for _ in 1..sessions {
        owner_sessions.push(password_session(client, base, "/api/auth/sign-in", &email).await?.0);
    }
    let added = owner
        .call("/api/domains/add", &[("account_id", &account), ("domain", &domain)])
        .await?;
    let record = added["record_value"].as_str().ok_or("no record value")?;
    dns.set_txt(&domain, &[&[record]]).await;
    let domain_id = added["id"].as_str().ok_or("no domain id")?.to_owned();
    owner
        .call(
            "/api/domains/verify",
            &[("account_id", &account), ("domain_id", &domain_id)],
        )
        .await?;
    let certificate = idp().certificate.to_pem();
    let created = owner
        .call(
            "/api/sso/create-connection",
            &[
                ("account_id", &account),
                ("label", "Load test IdP"),
                ("entity_id", test_idp::IDP),
                ("sso_url", "https://idp.example.com/sso"),
                ("certificate", &certificate),
            ],
        )
        .await?;
    let connection = created["id"].as_str().ok_or("no connection id")?.to_owned();
    owner
        .call(
            "/api/domains/route",
            &[
                ("account_id", &account),
                ("domain_id", &domain_id),
                ("connection_id", &connection),
            ],
        )
        .await?;
    owner
        .call(
            "/api/sso/update-policy",
            &[("account_id", &account), ("sso_enabled", "true")],
        )
        .await?;
    Ok(Account {
        id: account,
        domain,
        connection,
        owner_sessions,
        users: Users::default(),
    })
}

/// The IdP's signed answer to `request_id` for `name_id`: the assertion signed (RSA-SHA256, RSA 2048) with the
/// test IdP's key, every timestamp taken now, Base64 as the POST binding carries it.
pub fn signed_response(base: &str, connection: &str, request_id: &str, name_id: &str) -> String {
    let acs = format!("{base}/saml/{connection}/acs");
    let now = Utc::now();
    let assertion_id = format!("_a{}", uuid::Uuid::new_v4().simple());
    let spec = Spec {
        destination: Some(acs.clone()),
        recipient: acs,
        audience: Some(format!("{base}/saml/{connection}/metadata")),
        in_response_to: Some(request_id.to_owned()),
        confirmation_in_response_to: Some(request_id.to_owned()),
        name_id: name_id.to_owned(),
        assertion_id: assertion_id.clone(),
        not_before: now - TimeDelta::minutes(1),
        not_on_or_after: now + TimeDelta::minutes(5),
        confirmation_until: Some(now + TimeDelta::minutes(5)),
        ..Spec::default()
    };
    let signature = signature_template(&assertion_id, false, Some(&idp().certificate));
    let template = response_xml(&spec, &assertion_xml(&spec, &assertion_id, &signature), "");
    // The test IdP stamps IssueInstant and AuthnInstant with its fixed test clock; a real IdP writes the time.
    let template = template.replace(&test_idp::now().to_rfc3339(), &now.to_rfc3339());
    STANDARD.encode(strip_declaration(&sign(&template, idp())))
}

/// One full SP-initiated sign-in by a browser with no cookies yet: discovery by domain, which sends the browser on
/// to the IdP and sets the binding cookie, the IdP's signed response posted to the ACS, and the session cookie.
/// Steps: `/sso/start` to the IdP, signing at the IdP, `/saml/…/acs` and `/sso/complete`. Answers the session
/// cookie too.
pub async fn sign_in(
    client: &Client,
    base: &str,
    account: &Account,
    new_share: f64,
) -> Result<(Sample, String), String> {
    let (user, first) = account.users.pick(new_share);
    let name_id = format!("user{user}@{}", account.domain);

    let began = Instant::now();
    let mut to_idp = client
        .get(format!(
            "{base}/sso/start?saml_domain={}&return_to=/accounts/{}",
            account.domain, account.id
        ))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .map_err(sent("/sso/start"))?;
    // Servers built before discovery went straight on to the IdP answered with the connection's login URL first:
    // followed here, in the same step, so that one command measures either.
    if let Some(login) = location(&to_idp).ok().filter(|l| l.starts_with('/')) {
        expect(to_idp, StatusCode::SEE_OTHER, "/sso/start").await?;
        to_idp = client
            .get(format!("{base}{login}"))
            .header(ACCEPT, "text/html")
            .send()
            .await
            .map_err(sent("login"))?;
    }
    let binding = set_cookie(&to_idp, BINDING_COOKIE).ok_or("the sign-in's start set no binding cookie")?;
    let idp_url = url::Url::parse(&location(&to_idp)?).map_err(|e| e.to_string())?;
    expect(to_idp, StatusCode::SEE_OTHER, "/sso/start").await?;
    let relay_state = idp_url
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .ok_or("no RelayState in the redirect to the IdP")?
        .1
        .into_owned();
    let started = began.elapsed();

    // The IdP signs its answer (CPU-bound, off the generator's async threads). The RelayState is the request ID.
    let began = Instant::now();
    let response = {
        let (base, connection, request) = (base.to_owned(), account.connection.clone(), relay_state.clone());
        tokio::task::spawn_blocking(move || signed_response(&base, &connection, &request, &name_id))
            .await
            .map_err(|e| e.to_string())?
    };
    let signed = began.elapsed();

    let began = Instant::now();
    let answer = client
        .post(format!("{base}/saml/{}/acs", account.connection))
        .header(ORIGIN, IDP_ORIGIN)
        .header(COOKIE, format!("{BINDING_COOKIE}={binding}"))
        .form(&[
            ("SAMLResponse", response.as_str()),
            ("RelayState", relay_state.as_str()),
        ])
        .send()
        .await
        .map_err(sent("ACS"))?;
    let pending = set_cookie(&answer, PENDING_COOKIE);
    let page = expect(answer, StatusCode::OK, "ACS").await?;
    let pending = pending.ok_or("the ACS set no pending sign-in cookie")?;
    let complete = page
        .split_once("<meta http-equiv=\"refresh\" content=\"0;url=")
        .and_then(|(_, rest)| rest.split('"').next())
        .ok_or("the ACS's page moves on nowhere")?
        .replace("&amp;", "&");
    // The same-site navigation a browser makes next, with the pending sign-in (this virtual user has no session).
    let completed = client
        .get(format!("{base}{complete}"))
        .header(COOKIE, format!("{PENDING_COOKIE}={pending}"))
        .send()
        .await
        .map_err(sent("/sso/complete"))?;
    let session = set_cookie(&completed, SESSION_COOKIE);
    let landing = location(&completed);
    expect(completed, StatusCode::SEE_OTHER, "/sso/complete").await?;
    let session = session.ok_or("/sso/complete set no session cookie")?;
    if landing.as_deref() != Ok(&format!("/accounts/{}", account.id)) {
        return Err(format!("the sign-in sent the user to {landing:?}"));
    }
    let accepted = began.elapsed();
    if first {
        account.users.signed_in.lock().unwrap().push(user);
    }
    Ok((
        Sample {
            steps: vec![started, signed, accepted],
            first_sign_in: Some(first),
            bytes: 0,
        },
        session,
    ))
}

/// The dashboard pages measured, each rendered on the server for a signed-in owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Page {
    Overview,
    Members,
    Sso,
}

impl Page {
    pub fn path(self, account: &str) -> String {
        match self {
            Page::Overview => format!("/accounts/{account}"),
            Page::Members => format!("/accounts/{account}/members"),
            Page::Sso => format!("/accounts/{account}/sso"),
        }
    }
}

/// Loads `page` of the account as its owner's browser navigates to it; checks it rendered that page, signed in.
pub async fn load_page(
    client: &Client,
    base: &str,
    account: &Account,
    session: &str,
    page: Page,
) -> Result<Sample, String> {
    let path = page.path(&account.id);
    let response = client
        .get(format!("{base}{path}"))
        .header(ACCEPT, "text/html")
        .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .map_err(sent(&path))?;
    let body = expect(response, StatusCode::OK, &path).await?;
    // The tab of the page is marked current only when the page rendered for a member who may see it.
    if !body.contains(&format!("href=\"{path}\" aria-current=\"page\"")) {
        return Err(format!("{path} did not render the signed-in page: {}", gist(&body)));
    }
    Ok(Sample {
        bytes: body.len() as u64,
        ..Sample::default()
    })
}

/// Checks that a session made by a sign-in works: the user is a member (No access, the default mapping).
pub async fn check_session(client: &Client, base: &str, account: &Account, session: &str) -> Result<(), String> {
    let caller = Caller {
        client,
        base,
        session: session.to_owned(),
    };
    let overview = caller
        .call("/api/accounts/overview", &[("account_id", &account.id)])
        .await?;
    if overview["role"] != "No access" {
        return Err(format!("a signed-in SSO user sees {overview}"));
    }
    Ok(())
}
