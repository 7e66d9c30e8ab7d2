//! `gatehouse-load`: measures Gatehouse's SSO sign-in and dashboard under load. It starts the release server on a
//! loopback port with a fresh database (SQLite, or a new database on a PostgreSQL server) and an in-process DNS
//! server, sets accounts up over HTTP as their owners would, then runs full SP-initiated sign-ins (each response
//! signed here, as the IdP would) and signed-in dashboard page loads, closed-loop (stepping the number of
//! virtual users up) and open-loop (a fixed arrival rate). See docs/performance.md.

mod fault;
mod flows;
mod run;
mod scale;
mod server;

use clap::Parser;
use flows::{Account, Page};
use run::{Recorded, Sample, quantile};
use server::{CpuTimes, Launch, Server};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "gatehouse-load",
    about = "Load test of Gatehouse's SSO sign-in and dashboard on loopback."
)]
struct Args {
    /// The gatehouse release binary to start.
    #[arg(long, env = "GATEHOUSE_BIN")]
    server: PathBuf,
    /// The built site the server serves (its LEPTOS_SITE_ROOT).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    site_root: PathBuf,
    /// A PostgreSQL server URL (postgres://user@host:port/db): a fresh database is created on it.
    /// Without it, a fresh SQLite file in a temporary directory.
    #[arg(long)]
    postgres: Option<String>,
    /// The PostgreSQL postmaster's process ID, to report the database server's CPU time per operation.
    #[arg(long)]
    postgres_pid: Option<u32>,
    /// Accounts to set up, each with its own verified domain, IdP connection and SSO on; sign-ins and page
    /// loads go round them.
    #[arg(long, default_value_t = 1)]
    accounts: usize,
    /// Sessions of each account's owner; page loads go round them.
    #[arg(long, default_value_t = 4)]
    owner_sessions: usize,
    /// Share of sign-ins that are a user's first (provisioned just in time); the others are users who signed
    /// in before.
    #[arg(long, default_value_t = 0.2)]
    new_user_share: f64,
    /// What to measure, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sign-in,overview,sso,members"
    )]
    scenarios: Vec<Scenario>,
    /// Closed loop: numbers of virtual users to step through (stops after the first step whose p99 is over
    /// the limit); 0 for no closed loop.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64")]
    users: Vec<usize>,
    /// Seconds of each closed-loop step.
    #[arg(long, default_value_t = 10.0)]
    step_seconds: f64,
    /// The p99 limit (ms) a closed-loop step must stay under to count as sustained.
    #[arg(long, default_value_t = 100.0)]
    p99_limit_ms: f64,
    /// Open loop: arrivals per second, one run per rate (empty: no open loop).
    #[arg(long, value_delimiter = ',', default_value = "200")]
    rate: Vec<f64>,
    /// Seconds of each open-loop run.
    #[arg(long, default_value_t = 30.0)]
    open_seconds: f64,
    /// Seconds of unrecorded sign-ins and page loads before the measurements.
    #[arg(long, default_value_t = 3.0)]
    warmup_seconds: f64,
    /// Instead of measuring: the fault test, this many rounds of a burst of sign-ins and configuration changes
    /// ended by SIGKILL, a restart on the same database, and checks that every acknowledged change is there,
    /// nothing is half-written and sign-in works again.
    #[arg(long, default_value_t = 0)]
    fault_rounds: usize,
    /// Seconds of each fault-test burst (the kill lands in its second half).
    #[arg(long, default_value_t = 3.0)]
    burst_seconds: f64,
    /// Instead of measuring pages: the scale test. Sign-ins are measured open-loop at the first --rate, then this
    /// many accounts (each with a verified domain, a connection and SSO on) and --scale-users users are written
    /// into the database, and the sign-ins are measured again.
    #[arg(long, default_value_t = 0)]
    scale_accounts: usize,
    /// Users the scale test writes, spread evenly over its accounts.
    #[arg(long, default_value_t = 1_000_000)]
    scale_users: usize,
    /// The most the scale test lets the ACS step's median grow, in percent (not checked in a smoke run).
    #[arg(long, default_value_t = 20.0)]
    scale_tolerance_percent: f64,
    /// A run of a few seconds that checks everything works (fails on any error; asserts no latency).
    #[arg(long)]
    smoke: bool,
    /// Keep the work directory (server log, SQLite file) and print where it is.
    #[arg(long)]
    keep: bool,
    /// The server's RUST_LOG.
    #[arg(long, default_value = "warn")]
    server_log: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    SignIn,
    Overview,
    Members,
    Sso,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::SignIn => "sign-in",
            Scenario::Overview => "page: overview",
            Scenario::Members => "page: members",
            Scenario::Sso => "page: SSO",
        }
    }

    fn page(self) -> Option<Page> {
        match self {
            Scenario::SignIn => None,
            Scenario::Overview => Some(Page::Overview),
            Scenario::Members => Some(Page::Members),
            Scenario::Sso => Some(Page::Sso),
        }
    }
}

/// Everything the virtual users share.
struct World {
    client: reqwest::Client,
    base: String,
    accounts: Vec<Account>,
    new_user_share: f64,
    /// A few sessions made by sign-ins, checked at the end.
    sessions: Mutex<Vec<(usize, String)>>,
}

impl World {
    async fn operation(self: Arc<Self>, scenario: Scenario, n: u64) -> Result<Sample, String> {
        let index = n as usize % self.accounts.len();
        let account = &self.accounts[index];
        match scenario.page() {
            None => {
                let (sample, session) = flows::sign_in(&self.client, &self.base, account, self.new_user_share).await?;
                let mut kept = self.sessions.lock().unwrap();
                if kept.len() < 20 {
                    kept.push((index, session));
                }
                Ok(sample)
            }
            Some(page) => {
                let sessions = &account.owner_sessions;
                let session = &sessions[(n as usize / self.accounts.len()) % sessions.len()];
                flows::load_page(&self.client, &self.base, account, session, page).await
            }
        }
    }
}

/// One measured run and what it cost in CPU.
struct Phase {
    scenario: Scenario,
    load: String,
    recorded: Recorded,
    cpu: CpuTimes,
}

impl Phase {
    fn p99(&self) -> f64 {
        quantile(&mut self.recorded.total.clone(), 0.99)
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

fn per_op(cpu: Duration, ops: u64) -> String {
    if ops == 0 {
        "-".into()
    } else {
        format!("{:.2}", cpu.as_secs_f64() * 1000.0 / ops as f64)
    }
}

const HEADER: &str = "phase              load        ok  errors   ops/s     p50     p90     p99     max   server  generator  postgres  other";

fn print_phase(phase: &Phase, postgres: bool) {
    let r = &phase.recorded;
    let mut total = r.total.clone();
    println!(
        "{:<18} {:<8} {:>6} {:>7} {:>7.1} {:>7} {:>7} {:>7} {:>7} {:>8} {:>10} {:>9} {:>5.0}%",
        phase.scenario.name(),
        phase.load,
        r.ok(),
        r.errors,
        r.rate(),
        ms(quantile(&mut total, 0.5)),
        ms(quantile(&mut total, 0.9)),
        ms(quantile(&mut total, 0.99)),
        ms(quantile(&mut total, 1.0)),
        per_op(phase.cpu.server, r.ok()),
        per_op(phase.cpu.generator, r.ok()),
        if postgres {
            per_op(phase.cpu.postgres, r.ok())
        } else {
            "-".into()
        },
        100.0 * phase.cpu.other().as_secs_f64() / r.elapsed.as_secs_f64().max(1e-9) / cpus() as f64,
    );
    for (message, count) in r.messages.iter().take(5) {
        println!("    {count} × {message}");
    }
}

fn print_breakdown(phase: &Phase) {
    let r = &phase.recorded;
    if phase.scenario.page().is_some() && r.ok() > 0 {
        println!("    page size: {:.0} KB", r.bytes as f64 / r.ok() as f64 / 1024.0);
    }
    if phase.scenario != Scenario::SignIn || r.steps.len() < 3 {
        return;
    }
    let names = ["/sso/start to the IdP", "IdP signs", "/saml/…/acs + /sso/complete"];
    let parts: Vec<String> = names
        .iter()
        .zip(&r.steps)
        .map(|(name, values)| {
            let mut values = values.clone();
            format!(
                "{name} {} / {}",
                ms(quantile(&mut values, 0.5)),
                ms(quantile(&mut values, 0.99))
            )
        })
        .collect();
    println!("    steps p50 / p99 ms: {}", parts.join(", "));
    let (mut first, mut returning) = (r.first.clone(), r.returning.clone());
    println!(
        "    first sign-ins (JIT provisioning): {} (p50 {} p99 {} ms); returning users: {} (p50 {} p99 {} ms)",
        first.len(),
        ms(quantile(&mut first, 0.5)),
        ms(quantile(&mut first, 0.99)),
        returning.len(),
        ms(quantile(&mut returning, 0.5)),
        ms(quantile(&mut returning, 0.99)),
    );
}

async fn measure(
    world: &Arc<World>,
    server: &Server,
    postmaster: Option<u32>,
    scenario: Scenario,
    load: Load,
) -> Phase {
    let before = CpuTimes::now(server.pid(), postmaster);
    let operation = {
        let world = world.clone();
        move |n| world.clone().operation(scenario, n)
    };
    let (recorded, label) = match load {
        Load::Closed { users, seconds } => (
            run::closed_loop(users, Duration::from_secs_f64(seconds), operation).await,
            format!("C={users}"),
        ),
        Load::Open { rate, seconds } => (
            run::open_loop(rate, Duration::from_secs_f64(seconds), 2000, operation).await,
            format!("{rate}/s"),
        ),
    };
    Phase {
        scenario,
        load: label,
        recorded,
        cpu: CpuTimes::now(server.pid(), postmaster).since(&before),
    }
}

/// Waits (up to two minutes) until the server answers `/readyz`, which reaches the database, within 20 ms
/// three times running: after an overloaded run it may still be working through requests the generator gave
/// up on, which would otherwise weigh on the next measurement.
async fn settle(world: &World) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut quick = 0;
    while quick < 3 && std::time::Instant::now() < deadline {
        let began = std::time::Instant::now();
        let answered = world.client.get(format!("{}/readyz", world.base)).send().await;
        if answered.is_ok_and(|r| r.status().is_success()) && began.elapsed() < Duration::from_millis(20) {
            quick += 1;
        } else {
            quick = 0;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Clone, Copy)]
enum Load {
    Closed { users: usize, seconds: f64 },
    Open { rate: f64, seconds: f64 },
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.smoke {
        args.accounts = 1;
        args.owner_sessions = 2;
        args.users = vec![1, 4];
        args.step_seconds = 1.0;
        args.rate = vec![50.0];
        args.open_seconds = 2.0;
        args.warmup_seconds = 0.5;
        args.fault_rounds = args.fault_rounds.min(2);
        args.burst_seconds = 1.0;
        args.scale_accounts = args.scale_accounts.min(1_000);
        args.scale_users = args.scale_users.min(10_000);
    }
    let work_dir = std::env::temp_dir().join(format!("gatehouse-load-{}", uuid::Uuid::new_v4().simple()));
    if let Err(e) = std::fs::create_dir_all(&work_dir) {
        eprintln!("creating {}: {e}", work_dir.display());
        return ExitCode::FAILURE;
    }
    let outcome = run_all(&args, &work_dir).await;
    if args.keep {
        println!("work directory (server log, database): {}", work_dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gatehouse-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs everything; answers whether it went without errors.
async fn run_all(args: &Args, work_dir: &std::path::Path) -> Result<bool, String> {
    let postgres = args.postgres.is_some();
    let database_url = match &args.postgres {
        Some(server) => gatehouse_core::Store::create_postgres_test_database(server)
            .await
            .map_err(|e| format!("creating a PostgreSQL database: {e}"))?,
        None => format!("sqlite://{}", work_dir.join("gatehouse.sqlite").display()),
    };
    let dns = test_dns::TestDns::start()
        .await
        .map_err(|e| format!("starting the DNS server: {e}"))?;
    let mut server = Server::start(Launch {
        binary: args.server.clone(),
        site_root: args.site_root.clone(),
        database_url: database_url.clone(),
        dns_server: dns.addr(),
        log_level: args.server_log.clone(),
        work_dir: work_dir.to_owned(),
    })
    .await?;
    let result = if args.fault_rounds > 0 {
        fault_test(args, &mut server, &dns, &database_url).await
    } else if args.scale_accounts > 0 {
        scale_test(args, &server, &dns, &database_url).await
    } else {
        drive(args, &server, &dns, postgres).await
    };
    let alive = server.is_running();
    if !alive {
        eprintln!("the server stopped during the run; its log:\n{}", server.log_tail());
    }
    server.stop().await;
    Ok(result? && alive)
}

/// Sets up `args.accounts` accounts over HTTP, as their owners would.
async fn set_up(args: &Args, server: &Server, dns: &test_dns::TestDns) -> Result<Arc<World>, String> {
    let client = flows::client();
    let mut accounts = Vec::new();
    for index in 0..args.accounts {
        accounts.push(flows::set_up_account(&client, &server.base, dns, index, args.owner_sessions.max(1)).await?);
    }
    Ok(Arc::new(World {
        client,
        base: server.base.clone(),
        accounts,
        new_user_share: args.new_user_share,
        sessions: Mutex::new(Vec::new()),
    }))
}

fn database_name(args: &Args) -> &'static str {
    if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// The fault test (`--fault-rounds`); answers whether it found nothing wrong.
async fn fault_test(
    args: &Args,
    server: &mut Server,
    dns: &test_dns::TestDns,
    database_url: &str,
) -> Result<bool, String> {
    let account = Arc::new(flows::set_up_account(&flows::client(), &server.base, dns, 0, 1).await?);
    println!(
        "Fault test on {}: {} round(s) of sign-ins, domain additions, role mapping saves and renames, each ended by \
         SIGKILL after up to {} s, then a restart on the same database",
        database_name(args),
        args.fault_rounds,
        args.burst_seconds
    );
    let burst = Duration::from_secs_f64(args.burst_seconds);
    let problems = fault::run(server, account, database_url, args.fault_rounds, burst).await;
    for problem in &problems {
        println!("  {problem}");
    }
    if problems.is_empty() {
        println!(
            "every acknowledged change was there after each restart, nothing was half-written, and sign-in worked again"
        );
    }
    Ok(problems.is_empty())
}

/// The scale test (`--scale-accounts`): the same open-loop sign-ins before and after the database is filled;
/// answers whether the ACS step's median stayed within the tolerance (always, in a smoke run, if no errors).
async fn scale_test(args: &Args, server: &Server, dns: &test_dns::TestDns, database_url: &str) -> Result<bool, String> {
    let world = set_up(args, server, dns).await?;
    let rate = args.rate.first().copied().unwrap_or(50.0);
    let load = Load::Open {
        rate,
        seconds: args.open_seconds,
    };
    println!(
        "Scale test on {}: sign-ins at {rate}/s for {} s before and after {} accounts and {} users are written",
        database_name(args),
        args.open_seconds,
        args.scale_accounts,
        args.scale_users
    );
    println!("{HEADER}");
    let postgres = args.postgres.is_some();
    let mut phases = Vec::new();
    for fill in [false, true] {
        if fill {
            let filled = scale::fill(
                database_url,
                &world.accounts[0].connection,
                args.scale_accounts,
                args.scale_users,
            )
            .await?;
            println!(
                "    wrote {} accounts and {} users in {:.1} s",
                filled.accounts,
                filled.users,
                filled.took.as_secs_f64()
            );
        }
        let warmup = Load::Closed {
            users: 2,
            seconds: args.warmup_seconds,
        };
        measure(&world, server, args.postgres_pid, Scenario::SignIn, warmup).await;
        let phase = measure(&world, server, args.postgres_pid, Scenario::SignIn, load).await;
        settle(&world).await;
        print_phase(&phase, postgres);
        print_breakdown(&phase);
        phases.push(phase);
    }
    let acs = |phase: &Phase, p: f64| quantile(&mut phase.recorded.steps.get(3).cloned().unwrap_or_default(), p);
    let (before, after) = (&phases[0], &phases[1]);
    let growth = 100.0 * (acs(after, 0.5) / acs(before, 0.5) - 1.0);
    println!(
        "ACS step with 1 account → {} accounts: p50 {} → {} ms ({growth:+.0}%), p99 {} → {} ms",
        args.scale_accounts + args.accounts,
        ms(acs(before, 0.5)),
        ms(acs(after, 0.5)),
        ms(acs(before, 0.99)),
        ms(acs(after, 0.99)),
    );
    let errors = before.recorded.errors + after.recorded.errors;
    let within = args.smoke || growth <= args.scale_tolerance_percent;
    if !within {
        println!(
            "the ACS step's median grew by more than {}%",
            args.scale_tolerance_percent
        );
    }
    Ok(errors == 0 && within)
}

async fn drive(args: &Args, server: &Server, dns: &test_dns::TestDns, postgres: bool) -> Result<bool, String> {
    let world = set_up(args, server, dns).await?;
    let postmaster = args.postgres_pid;
    println!(
        "Gatehouse under load: {} on {}, {} account(s), {} CPU(s) shared by server and generator{}",
        args.server.display(),
        database_name(args),
        args.accounts,
        cpus(),
        if args.smoke { " (smoke run)" } else { "" },
    );
    println!(
        "latencies in ms; server, generator, postgres: ms of CPU time per successful operation; other: share of \
         the machine's CPU that other processes used meanwhile (above a few % the figures are disturbed)"
    );
    println!("{HEADER}");

    let mut phases: Vec<Phase> = Vec::new();
    let mut errors = 0;
    for &scenario in &args.scenarios {
        // A smoke run loads each page only open-loop, briefly: it checks that they render, not how fast.
        let brief = args.smoke && scenario != Scenario::SignIn;
        if args.warmup_seconds > 0.0 && !brief {
            let warmup = Load::Closed {
                users: 2,
                seconds: args.warmup_seconds,
            };
            let phase = measure(&world, server, postmaster, scenario, warmup).await;
            if phase.recorded.errors > 0 {
                print_phase(&phase, postgres);
                errors += phase.recorded.errors;
            }
        }
        for &users in if brief { &[][..] } else { &args.users[..] } {
            if users == 0 {
                continue;
            }
            let load = Load::Closed {
                users,
                seconds: args.step_seconds,
            };
            let phase = measure(&world, server, postmaster, scenario, load).await;
            settle(&world).await;
            print_phase(&phase, postgres);
            errors += phase.recorded.errors;
            let over = phase.p99() >= args.p99_limit_ms;
            phases.push(phase);
            if over {
                break;
            }
        }
        for &rate in &args.rate {
            let load = Load::Open {
                rate,
                seconds: if brief {
                    args.open_seconds / 2.0
                } else {
                    args.open_seconds
                },
            };
            let phase = measure(&world, server, postmaster, scenario, load).await;
            settle(&world).await;
            print_phase(&phase, postgres);
            print_breakdown(&phase);
            errors += phase.recorded.errors;
            phases.push(phase);
        }
        if scenario == Scenario::SignIn {
            // The sessions sign-ins opened are real: each user is now a member of the account.
            let kept = world.sessions.lock().unwrap().clone();
            for (index, session) in &kept {
                let account = &world.accounts[*index];
                if let Err(e) = flows::check_session(&world.client, &world.base, account, session).await {
                    println!("a session opened by a sign-in does not work: {e}");
                    errors += 1;
                }
            }
        }
    }

    println!();
    println!(
        "Summary ({}; sustained = best closed-loop step with p99 < {} ms and no errors):",
        if postgres { "PostgreSQL" } else { "SQLite" },
        args.p99_limit_ms
    );
    for &scenario in &args.scenarios {
        let of: Vec<&Phase> = phases.iter().filter(|p| p.scenario == scenario).collect();
        let sustained = of
            .iter()
            .filter(|p| p.load.starts_with("C=") && p.recorded.errors == 0 && p.p99() < args.p99_limit_ms)
            .max_by(|a, b| a.recorded.rate().total_cmp(&b.recorded.rate()));
        let sustained = sustained.map_or("-".to_owned(), |p| {
            format!("{:.0}/s ({}, p99 {} ms)", p.recorded.rate(), p.load, ms(p.p99()))
        });
        let open: Vec<String> = of
            .iter()
            .filter(|p| !p.load.starts_with("C="))
            .map(|p| {
                let mut total = p.recorded.total.clone();
                format!(
                    "at {}: p50 {} ms, p99 {} ms, {} errors",
                    p.load,
                    ms(quantile(&mut total, 0.5)),
                    ms(quantile(&mut total, 0.99)),
                    p.recorded.errors
                )
            })
            .collect();
        println!(
            "  {:<16} max sustained {:<28} {}",
            scenario.name(),
            sustained,
            open.join("; ")
        );
    }
    let members: Vec<String> = world.accounts.iter().map(|a| (a.sso_users() + 1).to_string()).collect();
    println!(
        "  accounts had {} member(s) each at the end (every SSO user who signed in, and the owner)",
        members.join(", ")
    );
    if errors > 0 {
        println!("{errors} error(s)");
    }
    Ok(errors == 0)
}
