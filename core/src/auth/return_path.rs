//! Where a user may be sent after signing in: only paths on this site, so a crafted link (or an IdP's
//! RelayState) cannot bounce a user to another site.

/// `text` when it is a path on this site: it starts with one `/`, and has no backslash (which browsers read as
/// `/`, making `/\evil.example` another host) and no control character.
pub fn same_site_path(text: &str) -> Option<&str> {
    let path = text.trim();
    (path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && !path.chars().any(char::is_control))
        .then_some(path)
}

/// A path on this site to go to after signing in, `/` for anything else (other hosts, `//evil`, schemes).
pub fn safe_return_path(next: Option<&str>) -> String {
    next.and_then(same_site_path).unwrap_or("/").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed() {
        assert_eq!(
            safe_return_path(Some("/accounts/1/members?x=1")),
            "/accounts/1/members?x=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/\tx",
            "javascript:alert(1)",
            "",
            "members",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad}");
            assert_eq!(same_site_path(bad), None, "{bad}");
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
