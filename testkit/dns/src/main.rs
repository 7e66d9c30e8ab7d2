//! `test-dns --listen 127.0.0.1:5399 --records records.json`: serves the records file and re-reads it whenever it
//! changes, so browser tests can publish a TXT record while the product runs.
//!
//! The file maps names to records: `{"example.com": {"txt": [["gatehouse-verification=…"]], "cname": null}}`.
//! Write it to a temporary file and rename it over the old one, so the server never reads half a file.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use test_dns::{Records, TestDns};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (listen, records_path) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\nusage: test-dns --listen IP:PORT --records FILE");
            std::process::exit(2);
        }
    };
    let server = TestDns::start_on(listen).await.unwrap_or_else(|e| {
        eprintln!("cannot listen on {listen}: {e}");
        std::process::exit(1);
    });
    println!(
        "test-dns listening on {} (udp+tcp), records from {}",
        server.addr(),
        records_path.display()
    );
    let mut seen: Option<SystemTime> = None;
    loop {
        let modified = std::fs::metadata(&records_path).and_then(|m| m.modified()).ok();
        if modified != seen {
            seen = modified;
            match read_records(&records_path) {
                Ok(records) => server.replace_all(&records).await,
                Err(message) => eprintln!("{message}; keeping the previous records"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn parse_args() -> Result<(std::net::SocketAddr, PathBuf), String> {
    let mut listen = None;
    let mut records = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next(),
            "--records" => records = args.next(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let listen = listen
        .ok_or("--listen is required")?
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    Ok((listen, PathBuf::from(records.ok_or("--records is required")?)))
}

fn read_records(path: &PathBuf) -> Result<Records, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Records::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
