//! Public SAML endpoints of each connection: for now its SP metadata, which IdPs fetch without signing in.

use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::ConnectionId;

pub fn routes() -> Router<AppState> {
    Router::new().route("/saml/{connection}/metadata", get(metadata))
}

#[derive(serde::Deserialize)]
struct MetadataQuery {
    /// Set by the page's download link: save the file rather than show it.
    #[serde(default)]
    download: bool,
}

async fn metadata(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(query): Query<MetadataQuery>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "No such SAML connection.\n").into_response();
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return not_found();
    };
    match state.services.connections.service_provider_metadata(id).await {
        Ok(Some(xml)) => {
            let disposition = if query.download {
                format!("attachment; filename=\"gatehouse-sp-metadata-{id}.xml\"")
            } else {
                "inline".to_owned()
            };
            (
                [
                    (header::CONTENT_TYPE, "application/samlmetadata+xml".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                xml,
            )
                .into_response()
        }
        Ok(None) => not_found(),
        Err(e) => {
            let error = app::api::context::internal(format!("serving SP metadata of {id}: {e}"));
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
        }
    }
}
