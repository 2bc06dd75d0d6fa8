//! Starting and stopping the server: environment, dev-mode key and token files, logging,
//! binding, graceful shutdown on SIGINT/SIGTERM, and the final flush.

use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use vault_core::crypto::{
    RootKeySource, SecretString, check_private_file, random_token, write_private_file,
};
use vault_core::data_dir::create_private_dir;
use vault_core::{Error, Result, Vault};

use super::listen::{self, Limits};
use super::{AppState, router};

/// Environment variable holding the service token (`VAULT_SERVICE_TOKEN` is an alias).
pub const TOKEN_ENV: &str = "VVAULT_SERVICE_TOKEN";
/// Environment variable holding the root key (hex/base64) or passphrase
/// (`VAULT_ENCRYPTION_KEY` is an alias).
pub const KEY_ENV: &str = "VVAULT_ENCRYPTION_KEY";
/// Shortest accepted service token, in characters.
pub const MIN_TOKEN_CHARS: usize = 32;
/// Set to `1` to start with a token shorter than [`MIN_TOKEN_CHARS`] (logged as a warning).
pub const ALLOW_WEAK_TOKEN_ENV: &str = "VAULT_ALLOW_WEAK_TOKEN";

/// The value of `name` or its `VAULT_*` alias; both set to different values is `invalid`.
pub(crate) fn env_with_alias(name: &str) -> Result<Option<SecretString>> {
    let alias = name.replacen("VVAULT_", "VAULT_", 1);
    let get = |n: &str| std::env::var(n).ok().map(SecretString::new);
    match (get(name), get(&alias)) {
        (Some(a), Some(b)) if a.expose_secret() != b.expose_secret() => Err(Error::invalid(
            name,
            format!("{name} and {alias} are both set, to different values; set one"),
        )),
        (Some(v), _) | (None, Some(v)) => Ok(Some(v)),
        (None, None) => Ok(None),
    }
}
/// Name of the dev-mode token file inside the data directory.
pub const DEV_TOKEN_FILE: &str = "service.token";

/// Environment variable naming the store (`postgres://...`) when `--store` is not given.
pub const STORE_ENV: &str = "VAULT_STORE_URL";
/// The data directory when neither `--data` nor a store URL is given.
pub const DEFAULT_DATA_DIR: &str = "./vault-data";

/// What `vault-http serve` needs to start.
#[derive(Debug)]
pub struct ServeOptions {
    /// Data directory: the sled store, dev key and token files. With a store URL, only the dev
    /// key and token files, and only when given (`None`: key and token must be set).
    pub data_dir: Option<PathBuf>,
    /// The store's URL (`postgres://...`, from `--store` or [`STORE_ENV`]); `None` = sled in
    /// the data directory. Kept secret: it may hold the database password.
    pub store_url: Option<SecretString>,
    /// Address to listen on, `HOST:PORT` (port 0 picks a free one).
    pub addr: String,
    /// The service token; `None` = dev mode (token file in the data directory).
    pub service_token: Option<SecretString>,
    /// The root key or passphrase text; `None` = dev mode (key file in the data directory).
    pub encryption_key: Option<SecretString>,
    /// Connection limits.
    pub limits: Limits,
    /// Failed authentications allowed per client address in a burst.
    pub auth_failure_burst: u32,
}

impl ServeOptions {
    /// Options with the token and key read from [`TOKEN_ENV`] and [`KEY_ENV`], and the limits
    /// from `VAULT_HEADER_TIMEOUT`, `VAULT_BODY_TIMEOUT`, `VAULT_SHUTDOWN_DEADLINE` (durations
    /// such as `10s`, `500ms`) and `VAULT_MAX_CONNECTIONS`. `store_url` is `--store`, else
    /// [`STORE_ENV`].
    pub fn from_env(
        data_dir: Option<PathBuf>,
        store_url: Option<String>,
        addr: String,
    ) -> Result<Self> {
        let mut limits = Limits::default();
        let duration = |name: &str, into: &mut std::time::Duration| -> Result<()> {
            if let Ok(v) = std::env::var(name) {
                *into = humantime::parse_duration(v.trim())
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        Error::invalid(name, "expected a positive duration such as 10s or 500ms")
                    })?;
            }
            Ok(())
        };
        duration("VAULT_HEADER_TIMEOUT", &mut limits.header_read_timeout)?;
        duration("VAULT_BODY_TIMEOUT", &mut limits.body_timeout)?;
        duration("VAULT_SHUTDOWN_DEADLINE", &mut limits.shutdown_deadline)?;
        if let Ok(v) = std::env::var("VAULT_MAX_CONNECTIONS") {
            limits.max_connections = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Error::invalid("VAULT_MAX_CONNECTIONS", "expected a positive integer")
                })?;
        }
        let mut auth_failure_burst = super::auth::FAILURE_BURST;
        if let Ok(v) = std::env::var("VAULT_AUTH_FAILURE_BURST") {
            auth_failure_burst =
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::invalid("VAULT_AUTH_FAILURE_BURST", "expected a positive integer")
                    })?;
        }
        let store_url = store_url
            .or_else(|| std::env::var(STORE_ENV).ok())
            .map(|u| SecretString::new(u.trim().to_string()))
            .filter(|u| !u.is_empty());
        Ok(ServeOptions {
            data_dir,
            store_url,
            addr,
            service_token: env_with_alias(TOKEN_ENV)?,
            encryption_key: env_with_alias(KEY_ENV)?,
            limits,
            auth_failure_burst,
        })
    }
}

/// Installs the tracing subscriber: level/targets from `VAULT_LOG` (default `info`), JSON lines
/// when `VAULT_LOG_FORMAT=json`, always to stderr.
pub fn init_logging() -> Result<()> {
    let targets = match std::env::var("VAULT_LOG") {
        Ok(s) if !s.trim().is_empty() => s.trim().parse::<Targets>().map_err(|_| {
            Error::invalid(
                "VAULT_LOG",
                "expected a level such as info, or targets such as vault_http=debug,warn",
            )
        })?,
        _ => Targets::new().with_default(tracing::Level::INFO),
    };
    let json = std::env::var("VAULT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(targets);
    let result = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    result.map_err(|_| Error::Internal("the log subscriber was already installed".into()))
}

/// The service token: the given one, or (dev mode) the token file in `dir`, created with a
/// fresh random token (mode 0600) on first use. Returns the token and, in dev mode, the file.
pub fn token_for_dir(
    dir: &Path,
    given: Option<SecretString>,
) -> Result<(SecretString, Option<PathBuf>)> {
    if let Some(t) = given {
        let t = SecretString::new(t.expose_secret().trim().to_string());
        if t.is_empty() {
            return Err(Error::invalid(TOKEN_ENV, "must not be empty"));
        }
        if t.expose_secret().chars().count() < MIN_TOKEN_CHARS {
            if std::env::var(ALLOW_WEAK_TOKEN_ENV).is_ok_and(|v| v.trim() == "1") {
                tracing::warn!(
                    "{TOKEN_ENV} is shorter than {MIN_TOKEN_CHARS} characters; accepted because \
                     {ALLOW_WEAK_TOKEN_ENV}=1"
                );
            } else {
                return Err(Error::invalid(
                    TOKEN_ENV,
                    format!(
                        "must be at least {MIN_TOKEN_CHARS} characters; generate one with \
                         `openssl rand -hex 32` (or set {ALLOW_WEAK_TOKEN_ENV}=1 to accept a \
                         weak one)"
                    ),
                ));
            }
        }
        return Ok((t, None));
    }
    create_private_dir(dir)?;
    let path = dir.join(DEV_TOKEN_FILE);
    check_private_file(&path)?;
    let read = |path: &Path| -> Result<Option<SecretString>> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = SecretString::new(text);
                let t = SecretString::new(text.expose_secret().trim().to_string());
                if t.is_empty() {
                    return Err(Error::invalid(
                        "token_file",
                        format!("{} is empty", path.display()),
                    ));
                }
                Ok(Some(t))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::BackendUnavailable(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    };
    if let Some(t) = read(&path)? {
        return Ok((t, Some(path)));
    }
    let t = random_token()?;
    match write_private_file(&path, t.expose_secret().as_bytes()) {
        Ok(()) => Ok((t, Some(path))),
        // Another process created it first: use theirs.
        Err(e) => match read(&path)? {
            Some(t) => Ok((t, Some(path))),
            None => Err(e),
        },
    }
}

/// Opens the vault and resolves the token. Returns the state and the dev-mode notices to print
/// on stderr (paths only, never a secret).
pub async fn open(opts: ServeOptions) -> Result<(AppState, Vec<String>)> {
    let key = match &opts.encryption_key {
        Some(k) => Some(RootKeySource::parse(k.expose_secret())?),
        None => None,
    };
    let (vault, dev_key, data_dir) = match (&opts.store_url, opts.data_dir.clone()) {
        (None, dir) => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
            let (vault, dev_key) = Vault::open_dir(&dir, key).await?;
            (vault, dev_key, dir)
        }
        (Some(url), dir) => {
            let url = url.expose_secret();
            if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
                return Err(Error::invalid(
                    "--store",
                    "expected a postgres:// URL (without --store, the vault is kept in --data)",
                ));
            }
            // No data directory: nowhere for dev-mode files, so both secrets must be given.
            let (key, dev_key, dir) = match dir {
                Some(dir) => {
                    let (key, dev) = vault_core::data_dir::key_for_dir(&dir, key)?;
                    (key, dev, dir)
                }
                None => {
                    let key = key.ok_or_else(|| {
                        Error::invalid(
                            KEY_ENV,
                            "is required with a PostgreSQL store (or give --data DIR for dev-mode key and token files)",
                        )
                    })?;
                    if opts.service_token.is_none() {
                        return Err(Error::invalid(
                            TOKEN_ENV,
                            "is required with a PostgreSQL store (or give --data DIR for dev-mode key and token files)",
                        ));
                    }
                    (key, None, PathBuf::new())
                }
            };
            let (token, dev_token) = token_for_dir(&dir, opts.service_token)?;
            let notices = dev_notices(dev_key, dev_token);
            let state = match Vault::open_postgres(url, copy_key(&key)).await {
                Ok(vault) => AppState::new(vault, token, opts.auth_failure_burst),
                Err(e @ Error::BackendUnavailable(_)) => {
                    // Serve anyway: health says degraded, operations answer 503, and the vault
                    // opens as soon as the database answers.
                    tracing::warn!(error = %e, "the database is unreachable; serving degraded and retrying");
                    let state = AppState::pending("postgres", token, opts.auth_failure_burst);
                    tokio::spawn(open_when_reachable(state.clone(), url.to_string(), key));
                    state
                }
                Err(e) => return Err(e),
            };
            return Ok((state, notices));
        }
    };
    let (token, dev_token) = token_for_dir(&data_dir, opts.service_token)?;
    Ok((
        AppState::new(vault, token, opts.auth_failure_burst),
        dev_notices(dev_key, dev_token),
    ))
}

/// Opens the vault in the PostgreSQL database at `url` once it answers (retrying every second
/// while it is unreachable), then serves it from `state`. A failure other than an unreachable
/// database (a wrong key) is logged and retried too, more slowly.
async fn open_when_reachable(state: AppState, url: String, key: RootKeySource) {
    loop {
        match Vault::open_postgres(&url, copy_key(&key)).await {
            Ok(vault) => {
                tracing::info!("the database is reachable: the vault is open");
                state.opened(vault);
                return;
            }
            Err(e @ Error::BackendUnavailable(_)) => {
                tracing::debug!(error = %e, "the database is still unreachable");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "the vault cannot be opened");
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
}

/// A copy of `key` for another open (both copies are wiped on drop).
fn copy_key(key: &RootKeySource) -> RootKeySource {
    match key {
        RootKeySource::Key(k) => RootKeySource::Key(k.clone()),
        RootKeySource::Passphrase(p) => RootKeySource::Passphrase(p.clone()),
    }
}

/// The dev-mode notices (paths only, never a secret).
fn dev_notices(
    dev_key: Option<vault_core::data_dir::DevKey>,
    dev_token: Option<PathBuf>,
) -> Vec<String> {
    let mut notices = Vec::new();
    if let Some(dev) = dev_key {
        notices.push(format!(
            "dev mode: {KEY_ENV} is not set; using the root key file {} ({}). Anyone who can \
             read the data directory can decrypt it: set {KEY_ENV} in production.",
            dev.path.display(),
            if dev.created {
                "created now"
            } else {
                "existing"
            }
        ));
    }
    if let Some(path) = dev_token {
        notices.push(format!(
            "dev mode: {TOKEN_ENV} is not set; the service token is in {}",
            path.display()
        ));
    }
    notices
}

/// Registers SIGINT and SIGTERM handlers now and returns a future that resolves on either.
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let err =
            |e: std::io::Error| Error::Internal(format!("cannot install signal handlers: {e}"));
        let mut int = signal(SignalKind::interrupt()).map_err(err)?;
        let mut term = signal(SignalKind::terminate()).map_err(err)?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
                _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!(signal = "ctrl-c", "shutting down");
        })
    }
}

/// Runs `vault-http serve`: binds first (a port in use fails before anything is created),
/// opens the vault, prints the dev notices, prints `listening on http://<addr>` on stdout,
/// serves until SIGINT/SIGTERM (finishing in-flight requests within the shutdown deadline),
/// then closes the vault (its queued audit entries committed).
pub async fn serve(opts: ServeOptions) -> Result<()> {
    let addr = opts.addr.clone();
    let mut limits = opts.limits;
    limits.max_connections = listen::fit_connections_to_fd_limit(limits.max_connections);
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            Error::Unavailable(format!("cannot listen on {addr}: address in use"))
        } else {
            Error::Unavailable(format!("cannot listen on {addr}: {e}"))
        }
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("cannot read the bound address: {e}")))?;
    let (state, notices) = open(opts).await?;
    for n in notices {
        eprintln!("{n}");
    }
    let shutdown = shutdown_signal()?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    tracing::info!(
        addr = %local,
        version = env!("CARGO_PKG_VERSION"),
        max_connections = limits.max_connections,
        "vault-http started"
    );
    let at_end = state.clone();
    let watches = state.clone();
    let shutdown = async move {
        shutdown.await;
        // Long-polls answer now (no changes) instead of holding the shutdown to its deadline.
        if let Ok(vault) = watches.vault() {
            vault.end_watches();
        }
    };
    listen::serve(listener, router(state), limits, shutdown).await?;
    // Stops the audit flusher (so the runtime's shutdown cannot cancel a commit it is making)
    // and commits the queued audit entries.
    if let Ok(vault) = at_end.vault() {
        vault.close().await?;
    }
    tracing::info!("vault-http stopped");
    Ok(())
}
