//! An SMTP server on loopback for tests: aiosmtpd (installed by scripts/setup.sh) delivering into a Maildir, which
//! tests read the way a person reads their inbox.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct SmtpSink {
    child: Child,
    // The server ends when this pipe closes: on drop, or when the test process exits for the shared sink.
    stdin: Option<ChildStdin>,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    /// A server of the caller's own; it stops when dropped.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let inbox = maildir.path().join("inbox");
        // The shell stops aiosmtpd once its stdin closes, so a server outlives no test process.
        let script = format!(
            "python3 -m aiosmtpd -n -l 127.0.0.1:{port} -c aiosmtpd.handlers.Mailbox '{}' & trap 'kill $!' EXIT; cat >/dev/null",
            inbox.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh and python3 with aiosmtpd (installed by scripts/setup.sh)");
        let stdin = child.stdin.take();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed().as_secs() < 15, "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            stdin,
            port,
            maildir,
        }
    }

    /// One server for the whole test process, started by the first caller.
    pub fn shared() -> &'static SmtpSink {
        static SHARED: OnceLock<SmtpSink> = OnceLock::new();
        SHARED.get_or_init(SmtpSink::start)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL the product's `--smtp-url` takes.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn delivered(&self) -> Vec<(PathBuf, String)> {
        let new = self.maildir.path().join("inbox").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path()).ok()?;
                // Bodies are quoted-printable: undo the soft line breaks so links read whole.
                Some((e.path(), text.replace("=\r\n", "").replace("=\n", "")))
            })
            .collect()
    }

    /// Every message delivered so far, as text.
    pub fn messages(&self) -> Vec<String> {
        self.delivered().into_iter().map(|(_, text)| text).collect()
    }

    /// Waits for a message to `to` carrying a link that starts with `prefix`, removes it from the inbox (so a
    /// later look finds only newer mail), and answers the link.
    pub fn take_link(&self, to: &str, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            for (path, text) in self.delivered() {
                let addressed = text
                    .lines()
                    .any(|line| line.to_ascii_lowercase() == format!("to: {}", to.to_ascii_lowercase()));
                let link = text
                    .split_whitespace()
                    .find(|word| word.starts_with(prefix))
                    .map(str::to_owned);
                if let (true, Some(link)) = (addressed, link) {
                    let _ = std::fs::remove_file(path);
                    return link;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no mail to {to} with a link starting {prefix}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}
