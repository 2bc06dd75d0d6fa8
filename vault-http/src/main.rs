//! The `vault-http` binary: `vault-http serve [--data DIR] [--addr HOST:PORT]`, and
//! `vault-http token create|list|revoke|whoami` against a running server, and
//! `vault-http audit verify [--file EXPORT]`, and `vault-http migrate --from sled:DIR --to URL`.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write as _;

use clap::{Parser, Subcommand};
use vault_http::cli;
use vault_http::dialects::service_api::one_line;
use vault_http::server::startup::{ServeOptions, init_logging, serve};

/// The vault's HTTP server.
#[derive(Parser)]
#[command(name = "vault-http", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API. Token and key come from VVAULT_SERVICE_TOKEN and
    /// VVAULT_ENCRYPTION_KEY (dev-mode files in the data directory when unset).
    Serve {
        /// Data directory (default ./vault-data). With --store, only for dev-mode key and
        /// token files.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Keep the vault in PostgreSQL instead: postgres://user[:password]@host[:port]/db
        /// (default: the VAULT_STORE_URL environment variable; several servers may share it).
        /// Requires VVAULT_ENCRYPTION_KEY and VVAULT_SERVICE_TOKEN unless --data is given.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8000")]
        addr: String,
    },
    /// Copy a vault from a data directory into a new PostgreSQL database, records still
    /// encrypted, moving the credential value keys of DIR/value.keys into it sealed (this takes
    /// the root key: VVAULT_ENCRYPTION_KEY, else a dev-mode vault's DIR/root.key; start servers
    /// on the database with the same key), then check that the database holds exactly what the
    /// directory does plus the moved keys. No server may use either meanwhile.
    Migrate {
        /// The source: sled:DIR, the data directory of `serve --data DIR`.
        #[arg(long, value_name = "sled:DIR")]
        from: String,
        /// The target: postgres://user[:password]@host[:port]/database (empty; the schema is
        /// created). Default: the VAULT_STORE_URL environment variable.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
    /// Manage tokens on a running server: VAULT_ADDR (default http://127.0.0.1:8000) and
    /// VAULT_TOKEN (the service token, or a vault_sk_ token with admin on tokens/*).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check the audit log: the server's own (VAULT_ADDR, VAULT_TOKEN with read on audit), or
    /// an export offline (--file). Exits 1 naming the first bad entry (and its line).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify every hash chain; prints `valid: N entries` or the first bad entry.
    Verify {
        /// A JSON Lines export (GET /api/vault/audit/export) to check offline, without a
        /// server.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (once) with its id.
    Create {
        /// A name for people (letters, digits, `_.:-`).
        #[arg(long)]
        name: String,
        /// A rule: CAPABILITY[,CAPABILITY...]:PATH, e.g. read:credentials/fxshinobi/KEY_*
        /// (capabilities: read, write, delete, list, admin, propose, execute, override). Repeat for more rules.
        #[arg(long, value_name = "CAPS:PATH", required = true)]
        allow: Vec<String>,
        /// Time to live, e.g. 30d, 12h, or a number of seconds (default: until revoked).
        #[arg(long)]
        ttl: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id: refused from its next request on.
    Revoke {
        /// The token's id (tok_...).
        id: String,
    },
    /// Show the token in VAULT_TOKEN: id, name, expiry, rules.
    Whoami,
}

/// Runs a `token` command against the server of the environment; its output, for stdout.
async fn token_command(command: TokenCommand) -> vault_core::Result<String> {
    let vault = cli::client_from_env()?;
    match command {
        TokenCommand::Create { name, allow, ttl } => {
            cli::create(&vault, name, &allow, ttl.as_deref()).await
        }
        TokenCommand::List => cli::list(&vault).await,
        TokenCommand::Revoke { id } => cli::revoke(&vault, &id).await,
        TokenCommand::Whoami => cli::whoami(&vault).await,
    }
}

/// Writes `text` to stdout.
fn print(text: &str) -> vault_core::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| vault_core::Error::Internal(format!("cannot write: {e}")))
}

fn main() -> ExitCode {
    // Everything this process creates (sled's files, dev key and token files) is private.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let result = (|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| vault_core::Error::Internal(format!("cannot start the runtime: {e}")))?;
        match cli.command {
            Command::Serve { data, store, addr } => {
                init_logging()?;
                rt.block_on(serve(ServeOptions::from_env(data, store, addr)?))
                    .map(|()| true)
            }
            Command::Migrate { from, to } => {
                print(&rt.block_on(cli::migrate(&from, to))?).map(|()| true)
            }
            Command::Token { command } => {
                print(&rt.block_on(token_command(command))?).map(|()| true)
            }
            Command::Audit {
                command: AuditCommand::Verify { file },
            } => {
                let (text, valid) = match file {
                    Some(path) => cli::audit_verify_file(&path)?,
                    None => {
                        rt.block_on(async { cli::audit_verify(&cli::client_from_env()?).await })?
                    }
                };
                print(&text).map(|()| valid)
            }
        }
    })();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}: {}", e.code(), one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}
