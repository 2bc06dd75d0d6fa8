//! The `vault-http` binary: `vault-http serve [--data DIR] [--addr HOST:PORT]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
        /// Data directory.
        #[arg(long, default_value = "./vault-data")]
        data: PathBuf,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8000")]
        addr: String,
    },
}

fn main() -> ExitCode {
    // Everything this process creates (sled's files, dev key and token files) is private.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let result = (|| {
        init_logging()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| vault_core::Error::Internal(format!("cannot start the runtime: {e}")))?;
        match cli.command {
            Command::Serve { data, addr } => {
                rt.block_on(serve(ServeOptions::from_env(data, addr)?))
            }
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}: {}", e.code(), one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}
