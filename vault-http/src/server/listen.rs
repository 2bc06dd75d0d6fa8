//! The accept loop, with the limits `axum::serve` does not have: a header-read timeout that
//! also closes idle keep-alive connections, a body timeout, a cap on open connections, a
//! raised open-file limit, and a shutdown deadline.
//!
//! Why not `axum::serve`: it runs hyper without a timer, so a client sending one header byte
//! every few seconds, or a pile of idle sockets, holds connections (and file descriptors)
//! forever, and a slow body is waited for without end. hyper's own `http1::Builder` has the
//! header-read timeout once given a timer; the cap is a semaphore around `accept`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;
use vault_core::{Error, Result};

use super::extract::BodyTimeout;

/// The server's connection limits (defaults in [`Limits::default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time a client has to send a request's headers, counted from the end of the previous
    /// answer on a kept-alive connection (so it is also the idle timeout). Default 10 s.
    pub header_read_timeout: Duration,
    /// Time a client has to send a whole request body. Default 30 s.
    pub body_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog. Default 1024 (lowered
    /// to fit the open-file limit).
    pub max_connections: usize,
    /// After a shutdown signal, how long in-flight requests get to finish. Default 10 s.
    pub shutdown_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_deadline: Duration::from_secs(10),
        }
    }
}

/// File descriptors kept for the store, logs and listener beyond one per connection.
const RESERVED_FDS: u64 = 64;

/// Raises the open-file soft limit to the hard limit and returns the connection cap that fits
/// under it (`wanted`, or less when the limit is low).
pub fn fit_connections_to_fd_limit(wanted: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            match rlimit::getrlimit(rlimit::Resource::NOFILE) {
                Ok((soft, _)) => soft,
                Err(_) => return wanted,
            }
        }
    };
    let fit = usize::try_from(limit.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX);
    if fit < wanted {
        tracing::warn!(
            open_file_limit = limit,
            max_connections = fit,
            "the open-file limit caps the connections"
        );
    }
    wanted.min(fit)
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then stops
/// accepting and gives open connections `limits.shutdown_deadline` to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot
                .map_err(|_| Error::Internal("connection slots closed".into()))?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE, ECONNABORTED...: the listener itself is fine; back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let body_timeout = limits.body_timeout;
        let service =
            router
                .clone()
                .map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    req.extensions_mut().insert(BodyTimeout(body_timeout));
                    req
                });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_deadline) => {
            tracing::warn!(
                deadline_ms = u64::try_from(limits.shutdown_deadline.as_millis()).unwrap_or(u64::MAX),
                "shutdown deadline passed; closing connections still open"
            );
        }
    }
    Ok(())
}
