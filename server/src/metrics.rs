//! The operator's Prometheus endpoint: the process's recorder for core's metrics, and `GET /metrics` for a
//! listener of its own.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use gatehouse_core::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use std::sync::OnceLock;
use std::time::Duration;

/// Bucket bounds (seconds) of the latency histograms: from a quick ACS answer to a slow IdP login.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
];

/// A gauge not set for this long (a deleted connection's days left) leaves the scrape.
const GAUGE_KEPT: Duration = Duration::from_secs(300);

/// The process's recorder, installed at the first call: the `metrics` facade has one per process, which every
/// server of the process (tests start several) records into.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                .expect("the latency buckets are not empty")
                .idle_timeout(MetricKindMask::GAUGE, Some(GAUGE_KEPT))
                .install_recorder()
                .expect("no other metrics recorder is installed in this process");
            gatehouse_core::metrics::describe();
            handle
        })
        .clone()
}

/// `GET /metrics`: the gauges sampled from `store`, then every metric in Prometheus's text format.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((store, recorder()))
}

async fn scrape(State((store, handle)): State<(Store, PrometheusHandle)>) -> impl IntoResponse {
    if let Err(e) = gatehouse_core::metrics::sample(&store, chrono::Utc::now()).await {
        tracing::error!(error = %e, "reading the metrics' gauges from the database failed");
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}
