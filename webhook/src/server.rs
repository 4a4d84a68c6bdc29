//! The accept loop: one current-thread event loop, a bound on connections, hyper's HTTP/1.1 per
//! connection, and the signals (SIGTERM/SIGINT stop gracefully; SIGHUP is only logged).

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use ipoib_host::outside_value::Shown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::flags::Config;
use crate::listen::{self, Listener};
use crate::log::Level;
use crate::race::{first, First};
use crate::request_clock::Clocked;
use crate::routes::{App, READ_TIMEOUT};
use crate::write_deadline::{self, WriteDeadline, WRITE_TIMEOUT};

/// How long in-flight requests get to finish after SIGTERM.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Header buffer cap: a head larger than this gets 431 (hyper's minimum is 8 KiB).
const MAX_HEAD: usize = 16 * 1024;

/// Serves `config` until SIGTERM or SIGINT. Errors are start-up failures.
pub fn run(config: Config) -> io::Result<()> {
    // Blocking threads only wait for a pool lock a writer holds; a few suffice.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(4).build()?;
    let served = runtime.block_on(serve(config));
    // A request still waiting for the pool lock on a blocking thread (up to --lock-timeout-ms)
    // must not hold up the exit; dropping the runtime would wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    served
}

async fn serve(config: Config) -> io::Result<()> {
    let listener = listen::bind(&config.bind)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.bind)))?;
    let signals = Signals::new()?;
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let app = Arc::new(App::new(config.clone()));
    let log = *app.log();
    log.line(
        Level::Info,
        format_args!(
            "listening on {} (kvp-path={}, profile={:?}, prefix-length={}, lock-timeout-ms={}, max-connections={})",
            config.bind,
            Shown::path(&config.kvp_path),
            Shown::new(config.profile.as_deref().unwrap_or("")),
            config.prefix_length,
            config.lock_timeout.as_millis(),
            config.max_connections
        ),
    );
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(READ_TIMEOUT).max_buf_size(MAX_HEAD);
    let graceful = GracefulShutdown::new();

    let mut stopped = std::pin::pin!(signals.stopped(log));
    let signal = loop {
        let permit = match first(&mut stopped, Arc::clone(&limit).acquire_owned()).await {
            First::Left(signal) => break signal,
            First::Right(permit) => permit.map_err(io::Error::other)?,
        };
        let accepted = match first(&mut stopped, accept(&listener)).await {
            First::Left(signal) => break signal,
            First::Right(accepted) => accepted,
        };
        match accepted {
            Ok(Conn::Tcp(stream)) => {
                let _ = stream.set_nodelay(true);
                spawn(stream, &http, &graceful, &app, permit);
            }
            Ok(Conn::Unix(stream)) => spawn(stream, &http, &graceful, &app, permit),
            Err(e) => {
                // Out of descriptors, or a connection reset before accept: back off briefly.
                log.line(Level::Warn, format_args!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    // Stop accepting (and remove the socket file) first, then let in-flight requests finish.
    drop(listener);
    let open = graceful.count();
    log.line(Level::Info, format_args!("{signal}: stopped accepting; finishing {open} open connections"));
    match first(graceful.shutdown(), tokio::time::sleep(DRAIN_TIMEOUT)).await {
        First::Left(()) => log.line(Level::Info, format_args!("all connections finished; exiting")),
        First::Right(()) => {
            log.line(Level::Warn, format_args!("connections still open after {DRAIN_TIMEOUT:?}; exiting"))
        }
    }
    Ok(())
}

enum Conn {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> io::Result<Conn> {
    match listener {
        Listener::Tcp(l) => l.accept().await.map(|(s, _)| Conn::Tcp(s)),
        Listener::Unix(l, _) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
    }
}

/// Serves one connection on the event loop; the permit goes when it closes. Reads are bounded
/// by [`READ_TIMEOUT`] (hyper's head timeout and the handler's body deadline), writes by
/// [`WRITE_TIMEOUT`] without progress ([`WriteDeadline`]).
fn spawn<I>(io: I, http: &http1::Builder, graceful: &GracefulShutdown, app: &Arc<App>, permit: OwnedSemaphorePermit)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let log = *app.log();
    let app = Arc::clone(app);
    let (io, clock) = Clocked::new(io);
    let io = WriteDeadline::new(io, WRITE_TIMEOUT);
    let service = service_fn(move |req| {
        let (app, clock) = (Arc::clone(&app), Arc::clone(&clock));
        async move { Ok::<_, Infallible>(app.handle(req, &clock).await) }
    });
    let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
    tokio::spawn(async move {
        // A client that goes away or times out is its own business; one that stops reading
        // its answers is worth a line, as a refused connection is.
        if let Err(e) = conn.await {
            if let Some(stall) = write_deadline::stall(&e) {
                log.line(Level::Warn, format_args!("closed a connection: {stall}"));
            }
        }
        drop(permit);
    });
}

/// The signals the webhook reacts to.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Resolves on SIGTERM or SIGINT, with its name. SIGHUP, which the Go original needs to see a
    /// new pool, is only logged: the pool is read on every request.
    async fn stopped(mut self, log: crate::log::Log) -> &'static str {
        std::future::poll_fn(|cx| {
            if self.term.poll_recv(cx).is_ready() {
                return Poll::Ready("SIGTERM");
            }
            if self.int.poll_recv(cx).is_ready() {
                return Poll::Ready("SIGINT");
            }
            // Each SIGHUP is logged; polling again re-arms the wake-up for the next one.
            while let Poll::Ready(Some(())) = self.hup.poll_recv(cx) {
                log.line(Level::Info, format_args!("SIGHUP: nothing to reload, the KVP pool is read on every request"));
            }
            Poll::Pending
        })
        .await
    }
}
