//! `GET /metrics`, built with prometheus-client (the Prometheus project's own Rust client):
//! requests by endpoint and status, pool read failures by reason, and a latency histogram.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::encode`]'s output (OpenMetrics text, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    reason: &'static str,
}

/// Every metric the webhook keeps, and the registry that names them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    pool_failures: Family<FailureLabels, Counter>,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// All metrics at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("azure_ipoib_webhook");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by endpoint and status", requests.clone());
        let pool_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "pool_read_failures",
            "GetProfileConfig requests the KVP pool could not answer (503), by reason",
            pool_failures.clone(),
        );
        // 25 µs to about 0.4 s.
        let latency = Histogram::new(exponential_buckets(25e-6, 2.0, 15));
        registry.register("http_request_duration_seconds", "Time from request head to response", latency.clone());
        Metrics { registry, requests, pool_failures, latency }
    }

    /// Counts one answered request.
    pub fn request(&self, endpoint: &'static str, status: u16, took: Duration) {
        self.requests.get_or_create(&RequestLabels { endpoint, status }).inc();
        self.latency.observe(took.as_secs_f64());
    }

    /// Counts one pool read failure.
    pub fn pool_failure(&self, reason: &'static str) {
        self.pool_failures.get_or_create(&FailureLabels { reason }).inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
