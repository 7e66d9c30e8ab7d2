//! Invitation mail through a real SMTP server (aiosmtpd, delivering into a Maildir) on a free loopback port.

use crate::support::{TestWorld, t0};
use chrono::Duration;
use gatehouse_core::TenancyService;
use gatehouse_core::mail::{MailOutcome, Mailer};
use gatehouse_core::tenancy::Role;
use test_smtp::SmtpSink;

fn tenancy_with_mailer(world: &TestWorld, smtp_url: &str) -> TenancyService {
    let mailer = Mailer::new(smtp_url, "Gatehouse <no-reply@gatehouse.test>").unwrap();
    TenancyService::new(
        world.store.clone(),
        url::Url::parse("https://sso.example.com/").unwrap(),
        Some(mailer),
        Duration::days(7),
    )
}

#[tokio::test]
async fn invitations_are_mailed_when_smtp_is_configured() {
    let sink = SmtpSink::start();
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let tenancy = tenancy_with_mailer(&world, &sink.url());
    let created = tenancy
        .invite(&owner, account, "new.hire@acme.example", Role::Viewer, t0())
        .await
        .unwrap();
    assert_eq!(created.mail, MailOutcome::Sent);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("To: new.hire@acme.example"), "{message}");
    assert!(
        message.contains("Subject: You are invited to Acme on Gatehouse"),
        "{message}"
    );
    assert!(
        message.contains(created.link.as_str()),
        "the link is in the mail: {message}"
    );
    assert!(message.contains("as Viewer"), "{message}");
}

#[tokio::test]
async fn an_unreachable_mail_server_still_creates_the_invitation() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tenancy = tenancy_with_mailer(&world, &format!("smtp://127.0.0.1:{closed_port}"));
    let created = tenancy
        .invite(&owner, account, "x@acme.example", Role::Admin, t0())
        .await
        .unwrap();
    assert!(matches!(created.mail, MailOutcome::Failed(_)), "{:?}", created.mail);
    let secret = created.link.rsplit('/').next().unwrap();
    assert!(
        tenancy.preview_invitation(secret, t0()).await.is_ok(),
        "the link works; the owner sends it"
    );
}
