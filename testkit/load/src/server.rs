//! The server under test: the release binary as a child process on a free loopback port, its log in a file,
//! and the CPU time it (and, on PostgreSQL, the database server) used.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Server {
    pub base: String,
    port: u16,
    child: Child,
    pub log: PathBuf,
    launch: Launch,
}

pub struct Launch {
    pub binary: PathBuf,
    pub site_root: PathBuf,
    pub database_url: String,
    pub dns_server: std::net::SocketAddr,
    pub log_level: String,
    pub work_dir: PathBuf,
}

impl Server {
    pub async fn start(launch: Launch) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        let log = launch.work_dir.join("server.log");
        let child = spawn(&launch, port, &log)?;
        let mut server = Server {
            base: format!("http://127.0.0.1:{port}"),
            port,
            child,
            log,
            launch,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Kills the server with SIGKILL: it gets no chance to finish anything.
    pub async fn kill(&mut self) -> Result<(), String> {
        self.child
            .start_kill()
            .map_err(|e| format!("killing the server: {e}"))?;
        self.child
            .wait()
            .await
            .map_err(|e| format!("waiting for the server to die: {e}"))?;
        Ok(())
    }

    /// Starts the killed server again on the same port and database, as a supervisor would after a crash, and
    /// waits until it is ready.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.child = spawn(&self.launch, self.port, &self.log)?;
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited ({status}); its log:\n{}", self.log_tail()));
            }
            if let Ok(response) = client.get(format!("{}/readyz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the server was not ready within 60 s; its log:\n{}",
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the server is still running: it must not have crashed under load.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Starts the server binary on `port`, appending its output to `log`.
fn spawn(launch: &Launch, port: u16, log: &Path) -> Result<Child, String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("opening {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    Command::new(&launch.binary)
        .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("DATABASE_URL", &launch.database_url)
        .env("LEPTOS_SITE_ROOT", &launch.site_root)
        .env("GATEHOUSE_DNS_SERVERS", launch.dns_server.to_string())
        .env("GATEHOUSE_DNS_TIMEOUT_SECONDS", "2")
        // Owners prove their address by the link mailed here, as people do (flows::set_up_account).
        .env("GATEHOUSE_SMTP_URL", test_smtp::SmtpSink::shared().url())
        .env("RUST_LOG", &launch.log_level)
        // Every simulated user signs in from loopback: one address starting hundreds of sign-ins a second.
        .env("GATEHOUSE_SSO_STARTS_PER_CLIENT", u32::MAX.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", launch.binary.display()))
}

/// CPU time (user + system) of one process, from `/proc/PID/stat`.
fn process_cpu(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in USER_HZ, 100 per second on every common architecture.
    Some(Duration::from_millis(ticks * 10))
}

/// The parent process ID of `pid`.
fn parent(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.to_owned())
}

/// CPU time used so far by the server, this generator, and the PostgreSQL server (its postmaster and the
/// backends it forked), when its postmaster's process ID is known.
#[derive(Clone, Copy, Default)]
pub struct CpuTimes {
    pub server: Duration,
    pub generator: Duration,
    pub postgres: Duration,
    /// Every CPU of the machine, busy with anything: what is left after the three above is other work that
    /// disturbed the measurement.
    pub machine: Duration,
}

/// Busy time of all CPUs together, from the first line of `/proc/stat` (user, nice, system, irq, softirq, steal).
fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum();
    Duration::from_millis(busy * 10)
}

impl CpuTimes {
    pub fn now(server_pid: Option<u32>, postmaster_pid: Option<u32>) -> Self {
        let server = server_pid
            .and_then(|pid| process_cpu(&pid.to_string()))
            .unwrap_or_default();
        let generator = process_cpu("self").unwrap_or_default();
        let mut postgres = Duration::ZERO;
        if let (Some(postmaster), Ok(entries)) = (postmaster_pid, std::fs::read_dir("/proc")) {
            let postmaster = postmaster.to_string();
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else {
                    continue;
                };
                if pid == postmaster || parent(pid).as_deref() == Some(postmaster.as_str()) {
                    postgres += process_cpu(pid).unwrap_or_default();
                }
            }
        }
        CpuTimes {
            server,
            generator,
            postgres,
            machine: machine_busy(),
        }
    }

    /// CPU time of everything else on the machine.
    pub fn other(&self) -> Duration {
        self.machine
            .saturating_sub(self.server + self.generator + self.postgres)
    }

    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            server: self.server.saturating_sub(earlier.server),
            generator: self.generator.saturating_sub(earlier.generator),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            machine: self.machine.saturating_sub(earlier.machine),
        }
    }
}
