//! Invitation mail through a real SMTP server (aiosmtpd, delivering into a Maildir) on a free loopback port.

use crate::support::{TestWorld, t0};
use chrono::Duration;
use gatehouse_core::TenancyService;
use gatehouse_core::mail::Mailer;
use gatehouse_core::tenancy::{MailOutcome, Role};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

struct SmtpSink {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("inbox"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (installed by scripts/setup.sh)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed().as_secs() < 15, "the SMTP sink did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port, maildir }
    }

    fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("inbox").join("new");
        std::fs::read_dir(new)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let tenancy = tenancy_with_mailer(&world, &format!("smtp://127.0.0.1:{}", sink.port));
    let created = tenancy
        .invite(&owner, account, "new.hire@acme.example", Role::Viewer, t0())
        .await
        .unwrap();
    assert_eq!(created.mail, MailOutcome::Sent);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    // The body is quoted-printable: undo its soft line breaks before looking for the link.
    let message = messages[0].replace("=\r\n", "").replace("=\n", "");
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
