//! Paths and methods, DRANet's profile-provider contract:
//!
//! | request | answer |
//! |---|---|
//! | `GET /health` | 200 `{"cloudProvider":false,"profileProvider":true}` |
//! | `POST /GetProfileConfig` | 200 `{"interface":{"addresses":["<ip>/<prefix>"]}}`; 400, 404, 503 |
//! | `POST /ReleaseProfileConfig` | 200 (nothing is held) |
//! | `POST /GetDeviceAttributes`, `POST /GetDeviceConfig` | 200 `{}` (not a cloud provider) |
//! | `GET /metrics` | 200, OpenMetrics text |
//! | another path | 404; a known path with another method: 405 |
//!
//! Every request is counted in the metrics and logged as one line.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use kvp_core::HwAddr;
use serde::Serialize;

use crate::http_status;
use ipoib_host::outside_value::Shown;
use ipoib_host::pool_file::PoolReader;

use crate::flags::Config;
use crate::log::{Level, Log};
use crate::lookup;
use crate::metrics::{self, Metrics};
use crate::request;
use crate::request_clock::RequestClock;
use ipoib_host::Why;

/// Largest request body read (413 above it).
pub const MAX_BODY: usize = 64 * 1024;
/// Longest time for a whole request (head and body) to arrive, from its first byte.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

const HEALTH: &str = r#"{"cloudProvider":false,"profileProvider":true}"#;
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// The response body type.
pub type Body = Full<Bytes>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Metrics,
    GetProfileConfig,
    ReleaseProfileConfig,
    GetDeviceAttributes,
    GetDeviceConfig,
    Other,
}

impl Route {
    fn of(path: &str) -> Route {
        match path {
            "/health" => Route::Health,
            "/metrics" => Route::Metrics,
            "/GetProfileConfig" => Route::GetProfileConfig,
            "/ReleaseProfileConfig" => Route::ReleaseProfileConfig,
            "/GetDeviceAttributes" => Route::GetDeviceAttributes,
            "/GetDeviceConfig" => Route::GetDeviceConfig,
            _ => Route::Other,
        }
    }

    /// The metrics' `endpoint` label: the path, or `other`, so clients cannot grow the label set.
    fn name(self) -> &'static str {
        match self {
            Route::Health => "/health",
            Route::Metrics => "/metrics",
            Route::GetProfileConfig => "/GetProfileConfig",
            Route::ReleaseProfileConfig => "/ReleaseProfileConfig",
            Route::GetDeviceAttributes => "/GetDeviceAttributes",
            Route::GetDeviceConfig => "/GetDeviceConfig",
            Route::Other => "other",
        }
    }

    fn method(self) -> Method {
        match self {
            Route::Health | Route::Metrics => Method::GET,
            _ => Method::POST,
        }
    }
}

/// A response before it becomes a hyper one.
struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
    allow: Option<Method>,
    close: bool,
}

impl Reply {
    fn json(body: impl Into<Bytes>) -> Reply {
        Reply { status: StatusCode::OK, content_type: JSON, body: body.into(), allow: None, close: false }
    }

    /// A short plain-text error naming what went wrong.
    fn text(status: StatusCode, msg: impl std::fmt::Display) -> Reply {
        Reply { status, content_type: TEXT, body: Bytes::from(format!("{msg}\n")), allow: None, close: false }
    }

    fn closing(mut self) -> Reply {
        self.close = true;
        self
    }

    fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if !self.content_type.is_empty() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        if let Some(allow) = self.allow.and_then(|m| HeaderValue::from_str(m.as_str()).ok()) {
            headers.insert(ALLOW, allow);
        }
        if self.close {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[derive(Serialize)]
struct NetworkConfig<'a> {
    interface: InterfaceConfig<'a>,
}

#[derive(Serialize)]
struct InterfaceConfig<'a> {
    addresses: [&'a str; 1],
}

/// The webhook: its settings, metrics and log; shared by every connection.
pub struct App {
    config: Config,
    kvp_path: Arc<Path>,
    /// The pool file, kept open between requests (the event loop's one thread uses it).
    reader: Mutex<PoolReader>,
    metrics: Metrics,
    log: Log,
}

impl App {
    /// A webhook serving `config`.
    pub fn new(config: Config) -> App {
        let kvp_path = Arc::from(config.kvp_path.as_path());
        let log = Log::new(config.log_level);
        let reader = Mutex::new(PoolReader::new(&kvp_path));
        App { config, kvp_path, reader, metrics: Metrics::new(), log }
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Answers one request, counts and logs it. `clock` says when the request's first byte arrived: head and body share one
    /// [`READ_TIMEOUT`].
    pub async fn handle(&self, req: Request<Incoming>, clock: &RequestClock) -> Response<Body> {
        let started = Instant::now();
        let route = Route::of(req.uri().path());
        let method = req.method().clone();
        // The log names an unknown path as the plugin's rule shows any outside value.
        let other_path = (route == Route::Other).then(|| Shown::new(req.uri().path()).to_string());
        let mut mac = None;
        let reply = match route {
            Route::Other => Reply::text(StatusCode::NOT_FOUND, "no such endpoint"),
            _ if method != route.method() => {
                let mut reply =
                    Reply::text(StatusCode::METHOD_NOT_ALLOWED, format!("{} takes {}", route.name(), route.method()));
                reply.allow = Some(route.method());
                reply
            }
            Route::Health => Reply::json(HEALTH),
            Route::Metrics => {
                let mut reply = Reply::json(self.metrics.encode());
                reply.content_type = metrics::CONTENT_TYPE;
                reply
            }
            Route::GetProfileConfig => match read_body(req, clock).await {
                Ok(body) => self.get_profile_config(&body, &mut mac).await,
                Err(reply) => reply,
            },
            Route::ReleaseProfileConfig => match read_body(req, clock).await {
                Ok(_) => Reply { content_type: "", ..Reply::json(Bytes::new()) },
                Err(reply) => reply,
            },
            Route::GetDeviceAttributes | Route::GetDeviceConfig => match read_body(req, clock).await {
                Ok(_) => Reply::json("{}"),
                Err(reply) => reply,
            },
        };
        let took = started.elapsed();
        self.metrics.request(route.name(), reply.status.as_u16(), took);
        if self.log.enabled(Level::Info) {
            let path = other_path.as_deref().unwrap_or(route.name());
            let mac = mac.as_ref().map_or_else(|| "-".to_string(), HwAddr::to_string);
            self.log.line(
                Level::Info,
                format_args!(
                    "method={method} path={path} status={} mac={mac} us={}",
                    reply.status.as_u16(),
                    took.as_micros()
                ),
            );
        }
        reply.into_response()
    }

    /// `POST /GetProfileConfig`: decode, check the profile, then the MAC, then ask the pool.
    async fn get_profile_config(&self, body: &[u8], seen_mac: &mut Option<HwAddr>) -> Reply {
        let request = match request::decode(body) {
            Ok(request) => request,
            Err(e) => return Reply::text(StatusCode::BAD_REQUEST, e),
        };
        if let Some(profile) = &self.config.profile {
            if request.profile != *profile {
                return Reply::text(
                    StatusCode::NOT_FOUND,
                    format_args!(
                        "profile {:?} is not handled by this provider (it serves {:?})",
                        Shown::new(&request.profile),
                        Shown::new(profile)
                    ),
                );
            }
        }
        let hwaddr = match request.mac {
            Ok(hwaddr) => hwaddr,
            Err(problem) => return Reply::text(StatusCode::BAD_REQUEST, problem),
        };
        *seen_mac = Some(hwaddr);
        let prefix = self.config.prefix_length;
        let found =
            self.read_pool().await.and_then(|pool| lookup::address(&self.kvp_path, &pool, hwaddr.mac(), prefix));
        let assigned = match found {
            Ok(assigned) => assigned,
            Err(why) => return self.lookup_failed(&hwaddr, &why),
        };
        let address = format!("{}/{}", assigned.ip, assigned.prefix_length);
        match serde_json::to_vec(&NetworkConfig { interface: InterfaceConfig { addresses: [&address] } }) {
            Ok(json) => Reply::json(json),
            Err(e) => Reply::text(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }

    fn lookup_failed(&self, hwaddr: &HwAddr, why: &Why) -> Reply {
        let failure = http_status::of(why, hwaddr);
        if let Some(reason) = failure.pool_failure {
            self.metrics.pool_failure(reason);
            self.log.line(Level::Warn, format_args!("mac={hwaddr} pool unusable: {why}"));
        }
        Reply::text(failure.status, failure.body)
    }

    /// The pool, read now. An uncontended lock is taken inline; a writer holding it sends the
    /// wait (up to `--lock-timeout-ms`) to a blocking thread, so the event loop keeps serving.
    async fn read_pool(&self) -> Result<Vec<u8>, Why> {
        let inline =
            lookup::read_pool_with(&mut self.reader.lock().unwrap_or_else(PoisonError::into_inner), Duration::ZERO);
        match inline {
            Err(e) if lookup::is_lock_busy(&e) && !self.config.lock_timeout.is_zero() => {
                let (path, timeout) = (Arc::clone(&self.kvp_path), self.config.lock_timeout);
                match tokio::task::spawn_blocking(move || lookup::read_pool(&path, timeout)).await {
                    Ok(result) => result,
                    Err(_) => Err(e),
                }
            }
            other => other,
        }
    }
}

/// The body, at most [`MAX_BODY`] bytes, by [`READ_TIMEOUT`] after the request's first byte.
async fn read_body(req: Request<Incoming>, clock: &RequestClock) -> Result<Bytes, Reply> {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY as u64) {
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::from_std(clock.started() + READ_TIMEOUT);
    match tokio::time::timeout_at(deadline, Limited::new(req.into_body(), MAX_BODY).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => {
            Err(Reply::text(StatusCode::BAD_REQUEST, format_args!("cannot read the request body: {e}")).closing())
        }
        Err(_) => Err(Reply::text(
            StatusCode::REQUEST_TIMEOUT,
            format_args!("request not received within {} s of its first byte", READ_TIMEOUT.as_secs()),
        )
        .closing()),
    }
}

fn too_large() -> Reply {
    Reply::text(StatusCode::PAYLOAD_TOO_LARGE, format_args!("request body is larger than {} KiB", MAX_BODY / 1024))
        .closing()
}
