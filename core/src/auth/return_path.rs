//! Where a user may be sent after signing in: only paths on this site, so a crafted link (or an IdP's
//! RelayState) cannot bounce a user to another site. Every redirect to a target that came with a request (`next`,
//! `return_to`, RelayState, the sign-in switch page) goes through [`same_site_path`].

use std::borrow::Cow;

/// `text` (without surrounding spaces) when it is a path on this site, read as browsers read it and as it reads
/// after any number of further percent-decodings (frameworks and proxies on the way decode query values once
/// more): it starts with exactly one `/`; it has no backslash (browsers read `\` as `/`, making `/\evil.example`
/// another host) and no control character (browsers drop tabs and line breaks, making `/\t/evil.example` a
/// `//` URL); and its path has no `.` or `..` segment, which no page of this site needs.
pub fn same_site_path(text: &str) -> Option<&str> {
    let path = text.trim();
    let mut reading = Cow::Borrowed(path);
    loop {
        if !is_plain_local_path(&reading) {
            return None;
        }
        match percent_decoded(&reading) {
            Some(decoded) => reading = Cow::Owned(decoded),
            None => return Some(path),
        }
    }
}

/// A path on this site to go to after signing in, `/` for anything else (other hosts, `//evil`, schemes).
pub fn safe_return_path(next: Option<&str>) -> String {
    next.and_then(same_site_path).unwrap_or("/").to_owned()
}

fn is_plain_local_path(text: &str) -> bool {
    let path = text.split(['?', '#']).next().unwrap_or_default();
    path.starts_with('/')
        && !path.starts_with("//")
        && !text.contains('\\')
        && !text.chars().any(char::is_control)
        && !path.split('/').any(|segment| segment == "." || segment == "..")
}

/// `text` with its `%XX` escapes decoded, or `None` when it has none (each decoding shortens the text, so
/// decoding again until `None` ends).
fn percent_decoded(text: &str) -> Option<String> {
    let mut decoded = Vec::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = match tail {
            [high, low, ..] if first == b'%' => hex_byte(*high, *low),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                changed = true;
                rest = &tail[2..];
            }
            None => {
                decoded.push(first);
                rest = tail;
            }
        }
    }
    changed.then(|| String::from_utf8_lossy(&decoded).into_owned())
}

fn hex_byte(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    u8::try_from(digit(high)? * 16 + digit(low)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_this_site_are_followed() {
        for good in [
            "/",
            "/accounts/1/members?x=1",
            "/accounts/1/members?q=bo%40acme.example&after=x",
            "/saml/5/test",
            " /accounts/1 ",
            "/accounts/1\n",
            "/accounts/1#members",
            "/a%20b",
            "/accounts/v1.2/x..y",
        ] {
            assert_eq!(same_site_path(good), Some(good.trim()), "{good:?}");
        }
        assert_eq!(
            safe_return_path(Some("/accounts/1/members?x=1")),
            "/accounts/1/members?x=1"
        );
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn other_sites_and_schemes_are_refused_however_they_are_written() {
        for bad in [
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%255Cevil.example",
            "/%25255Cevil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%252F/evil.example",
            "%2F%2Fevil.example",
            "%2Fevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/%09/evil.example",
            "/%0A/evil.example",
            "/%0d/evil.example",
            "/x\u{0}y",
            "/x\u{85}y",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "http:evil.example",
            "http:/evil.example",
            "https://evil.example/",
            "HTTPS://evil.example",
            "https://sso.example.com:8443/accounts",
            "http://sso.example.com/accounts",
            "https://sso.example.com/accounts",
            "/.%2e/",
            "/.%2e//evil.example",
            "/%2e%2e/%2e%2e//evil.example",
            "/..//evil.example",
            "/./",
            "/accounts/..",
            "/accounts/%2E",
            "",
            "   ",
            "members",
            "?next=/",
            "#/accounts",
        ] {
            assert_eq!(same_site_path(bad), None, "{bad:?}");
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad:?}");
        }
    }

    #[test]
    fn percent_decoding_ends() {
        assert_eq!(percent_decoded("/a%2541"), Some("/a%41".to_owned()));
        assert_eq!(percent_decoded("/a%41"), Some("/aA".to_owned()));
        assert_eq!(percent_decoded("/a%4"), None);
        assert_eq!(percent_decoded("/a%zz%"), None);
        assert_eq!(percent_decoded("/plain"), None);
    }
}
