//! What the operator sees of real sign-ins and refusals: the metrics endpoint, scraped, and the JSON log lines. A
//! test binary of its own: the metrics recorder and the log subscriber are one per process, and the other suites'
//! sign-ins would count and log in them.

#[allow(dead_code)]
#[path = "../http/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../http/sso_world.rs"]
mod sso_world;

use chrono::Utc;
use sso_world::{World, answer, answer_with, post_to_acs, signed_in_user, start, world};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use support::Browser;
use test_idp::idp;

/// One scrape: each sample by its name and its labels in name order (`name{a="1",b="2"}`), and the help lines.
struct Scrape {
    samples: BTreeMap<String, f64>,
    text: String,
}

impl Scrape {
    async fn of(metrics: &str) -> Self {
        let response = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = response.text().await.unwrap();
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                (canonical(series), value.parse().unwrap())
            })
            .collect();
        Self { samples, text }
    }

    /// The sample's value; 0 for a counter that was never incremented (and so is not in the scrape).
    fn value(&self, series: &str) -> f64 {
        self.samples.get(&canonical(series)).copied().unwrap_or(0.0)
    }
}

fn canonical(series: &str) -> String {
    let Some((name, labels)) = series.split_once('{') else {
        return series.to_owned();
    };
    let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
    labels.sort_unstable();
    format!("{name}{{{}}}", labels.join(","))
}

/// What the process's JSON log lines went to.
#[derive(Clone, Default)]
struct LogLines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogLines {
    /// The `fields` of each line whose message is `message`.
    fn with_message(&self, message: &str) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["fields"].clone())
            .filter(|fields| fields["message"] == message)
            .collect()
    }
}

/// Serves the metrics endpoint of the world's database on a free port, as `--metrics-listen` does.
async fn metrics_endpoint(w: &World) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let router = server::metrics::router(w.app.store().await);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

#[tokio::test]
async fn sign_ins_and_refusals_are_counted_and_logged_under_the_reference_the_user_sees() {
    // Installed before anything is recorded: what happens earlier in a process is not counted or logged.
    server::metrics::recorder();
    let logs = LogLines::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let w = world().await;
    let metrics = metrics_endpoint(&w).await;
    let before = Scrape::of(&metrics).await;
    assert_eq!(
        before.value(r#"gatehouse_dns_checks_total{trigger="manual",result="match"}"#),
        1.0,
        "the world's domain was verified once"
    );

    signed_in_user(&w, "ada@acme.example").await;
    signed_in_user(&w, "bob@acme.example").await;
    // A response for another audience: refused at its audience check.
    let user = Browser::new(&w.app);
    let relay_state = start(&w, &user).await;
    let wrong_audience = answer_with(&w, &relay_state, "eve@acme.example", |spec| {
        spec.audience = Some("https://another-sp.example/metadata".into());
    });
    let refused = post_to_acs(&w, &user, &wrong_audience, &relay_state).await;
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    let (_, rest) = page.split_once("Reference for your administrator: <code>").unwrap();
    let reference = rest.split('<').next().unwrap();
    // The log line of that response carries the reference the user was shown (and the SSO event keeps).
    let logged: Vec<_> = logs
        .with_message("SAML response")
        .into_iter()
        .filter(|fields| fields["reference"] == reference)
        .collect();
    assert_eq!(logged.len(), 1, "one line for the refusal {reference}");
    assert_eq!(logged[0]["outcome"], "refused");
    assert_eq!(logged[0]["check"], "audience");
    assert_eq!(logged[0]["mode"], "sign_in");
    assert_eq!(logged[0]["connection"], w.connection.as_str());
    assert_eq!(logged[0]["account"], w.account.as_str());
    // A response whose request was already answered: refused at the request check.
    let used = post_to_acs(&w, &user, &answer(&w, &relay_state, "eve@acme.example"), &relay_state).await;
    assert_eq!(used.status(), 403);

    let after = Scrape::of(&metrics).await;
    let responses = |outcome: &str, check: &str| {
        let series = format!(r#"gatehouse_sso_responses_total{{mode="sign_in",outcome="{outcome}",check="{check}"}}"#);
        after.value(&series) - before.value(&series)
    };
    assert_eq!(responses("accepted", "none"), 2.0);
    assert_eq!(responses("refused", "audience"), 1.0);
    assert_eq!(responses("refused", "request"), 1.0);
    assert_eq!(logs.with_message("SAML response").len(), 4, "one line per response");
    let count = |series: &str| after.value(series) - before.value(series);
    assert_eq!(count("gatehouse_acs_duration_seconds_count"), 4.0);
    assert_eq!(count("gatehouse_sign_in_duration_seconds_count"), 2.0);
    // Every ACS answer of a test on loopback takes less than 30 s, the largest bucket.
    assert_eq!(
        count(r#"gatehouse_acs_duration_seconds_bucket{le="30"}"#),
        4.0,
        "{}",
        after.text
    );
    assert!(count("gatehouse_acs_duration_seconds_sum") > 0.0);
    // The owner's session and the two users'.
    assert_eq!(after.value("gatehouse_sessions"), 3.0);

    let not_after = idp().certificate.not_after;
    let expected_days = (not_after - Utc::now()).num_seconds() as f64 / 86_400.0;
    let days = after.value(&format!(
        r#"gatehouse_signing_certificate_days_left{{account="{}",connection="{}"}}"#,
        w.account, w.connection
    ));
    assert!(
        (days - expected_days).abs() < 0.01,
        "{days} days left, expected {expected_days}"
    );

    let writer_or_pool = if std::env::var("GATEHOUSE_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        "pool"
    } else {
        "writer"
    };
    assert!(
        after.samples.contains_key(&canonical(&format!(
            r#"gatehouse_database_connections{{pool="{writer_or_pool}",state="idle"}}"#
        ))),
        "{}",
        after.text
    );
    // Each metric that has samples comes with its help (no metadata URL is monitored here, so no refresh counts).
    for metric in gatehouse_core::metrics::ALL {
        let sampled = after.samples.keys().any(|series| series.starts_with(metric.name));
        assert_eq!(
            sampled,
            metric.name != gatehouse_core::metrics::METADATA_REFRESHES,
            "{}",
            metric.name
        );
        if sampled {
            assert!(
                after.text.contains(&format!("# HELP {} ", metric.name)),
                "{} has its help",
                metric.name
            );
        }
    }
}
