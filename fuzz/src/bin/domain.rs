//! An email domain as an owner types it, normalised by `DomainName::parse`.

use gatehouse_core::domains::DomainName;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(name) = DomainName::parse(text) {
            // Normalising is idempotent, and the name people read is typed back as the same domain.
            assert_eq!(DomainName::parse(name.as_str()).as_ref(), Ok(&name));
            assert_eq!(
                DomainName::parse(&name.to_unicode()).as_ref(),
                Ok(&name),
                "{:?}",
                name.to_unicode()
            );
            assert!(name.as_str().len() <= 253);
            assert!(name.as_str().is_ascii());
        }
    });
}
