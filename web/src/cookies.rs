//! The site's cookies: reading one from a request (axum-extra's cookie jar, the one parser of the site) and the
//! `Set-Cookie` values it writes, each HttpOnly, `Secure` when the site is served over https.

pub use axum_extra::extract::cookie::SameSite;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use chrono::{DateTime, Utc};
use http::HeaderMap;

/// The signed-in user's session.
pub const SESSION_COOKIE: &str = "gatehouse_session";

/// The value of the cookie `name` the request carries, if any.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|cookie| cookie.value().to_owned())
}

/// A `Set-Cookie` value: `name=value` for `max_age_seconds` (0 removes it) under `path`.
pub fn set_cookie(
    name: &'static str,
    value: &str,
    path: String,
    max_age_seconds: i64,
    same_site: SameSite,
    secure: bool,
) -> String {
    Cookie::build((name, value.to_owned()))
        .path(path)
        .max_age(cookie::time::Duration::seconds(max_age_seconds.max(0)))
        .http_only(true)
        .same_site(same_site)
        .secure(secure)
        .build()
        .to_string()
}

/// The `Set-Cookie` value that carries a session token until `expires_at` (an empty token at `now` removes it);
/// also used by the SSO endpoints, which answer outside server functions.
pub fn session_cookie(token: &str, expires_at: DateTime<Utc>, secure: bool) -> String {
    let max_age = (expires_at - Utc::now()).num_seconds();
    set_cookie(SESSION_COOKIE, token, "/".to_owned(), max_age, SameSite::Lax, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    #[test]
    fn a_cookie_is_read_from_any_cookie_header_and_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "theme=dark; gatehouse_session_old=x".parse().unwrap());
        headers.append(COOKIE, "gatehouse_session=abc.DEF-_=; other=1".parse().unwrap());
        assert_eq!(cookie_value(&headers, SESSION_COOKIE).as_deref(), Some("abc.DEF-_="));
        assert_eq!(cookie_value(&headers, "missing"), None);
    }

    #[test]
    fn the_session_cookie_is_http_only_lax_and_secure_over_https() {
        let cookie = session_cookie("tok", Utc::now() + chrono::Duration::hours(1), true);
        assert!(cookie.starts_with("gatehouse_session=tok"), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=3599"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        let removed = session_cookie("", Utc::now(), false);
        assert!(
            removed.contains("Max-Age=0") && !removed.contains("Secure"),
            "{removed}"
        );
    }
}
