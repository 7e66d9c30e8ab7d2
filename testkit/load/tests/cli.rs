//! The binary starts and documents the flags the scripts use. (Being an integration test, this also makes
//! `cargo test` build the binary, which `scripts/test.sh` then runs as the load smoke test.)

use std::process::Command;

#[test]
fn help_lists_the_flags_the_scripts_use() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse-load"))
        .arg("--help")
        .output()
        .expect("the load generator runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--server",
        "--site-root",
        "--postgres",
        "--postgres-pid",
        "--smoke",
        "--rate",
        "--users",
        "--fault-rounds",
        "--scale-accounts",
    ] {
        assert!(help.contains(flag), "{flag} is missing from:\n{help}");
    }
}
