//! End-to-end tests: the real `vault-http` binary on a free loopback port, driven over real
//! HTTP by hand-written HTTP/1.1 requests and by the remote client (`vault_client`).

#[path = "e2e/support.rs"]
mod support;

#[path = "e2e/api.rs"]
mod api;

#[path = "e2e/lifecycle.rs"]
mod lifecycle;

#[path = "e2e/client.rs"]
mod client;

#[path = "e2e/credential_lifecycle.rs"]
mod credential_lifecycle;

#[path = "e2e/wire.rs"]
mod wire;

#[path = "e2e/limits.rs"]
mod limits;

#[path = "e2e/bounds.rs"]
mod bounds;

#[path = "e2e/proxy.rs"]
mod proxy;

#[path = "e2e/tokens.rs"]
mod tokens;

#[path = "e2e/audit.rs"]
mod audit;

#[path = "e2e/config_lifecycle.rs"]
mod config_lifecycle;

#[path = "e2e/constructs.rs"]
mod constructs;

#[path = "e2e/multi_server.rs"]
mod multi_server;

#[path = "e2e/guards.rs"]
mod guards;
#[path = "e2e/jobs.rs"]
mod jobs;

#[path = "e2e/inference.rs"]
mod inference;

#[path = "e2e/vault_api.rs"]
mod vault_api;
