//! `/healthz` (the process answers) and `/readyz` (the database answers and its schema is current).

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(live)).route("/readyz", get(ready))
}

async fn live() -> &'static str {
    "ok\n"
}

async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    match state.store.is_ready().await {
        Ok(()) => (StatusCode::OK, format!("ready ({})\n", state.store.backend_name())),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unavailable or migrations pending\n".into(),
            )
        }
    }
}
