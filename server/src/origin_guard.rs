//! Refuses state-changing API requests that a browser sent from another site (CSRF defence in depth,
//! on top of `SameSite=Lax` session cookies).

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn refuse_cross_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && request.uri().path().starts_with("/api/") && !same_origin(request.headers(), &state.public_url)
    {
        return (StatusCode::FORBIDDEN, "cross-origin request refused\n").into_response();
    }
    next.run(request).await
}

/// Browsers always send `Origin` on cross-site POSTs, so a request without one comes from a
/// non-browser client (a script with a session cookie), which CSRF cannot abuse.
fn same_origin(headers: &HeaderMap, public_url: &url::Url) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) != Some("cross-site");
    };
    if origin == public_url.origin().ascii_serialization() {
        return true;
    }
    // Same origin as the address the browser used, when that differs from the public URL (a local alias).
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_match_the_public_url_or_the_host() {
        let public = url::Url::parse("https://sso.example.com").unwrap();
        assert!(same_origin(&headers(&[("origin", "https://sso.example.com")]), &public));
        assert!(same_origin(
            &headers(&[("origin", "http://localhost:3000"), ("host", "localhost:3000")]),
            &public
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example"), ("host", "sso.example.com")]),
            &public
        ));
        assert!(!same_origin(
            &headers(&[("origin", "null"), ("host", "sso.example.com")]),
            &public
        ));
        assert!(same_origin(&headers(&[]), &public));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), &public));
    }
}
