//! The crate's layering, as the code states it: the SAML protocol (`saml/`) stands on its own, below the
//! services that use it.

use std::path::Path;

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_saml_protocol_uses_no_service_and_no_store() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/saml"), &mut files);
    assert!(files.len() > 10, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for layer in [
            "crate::sso",
            "crate::store",
            "crate::auth",
            "crate::domains",
            "super::super",
        ] {
            assert!(!text.contains(layer), "{} uses {layer}", file.display());
        }
    }
}
