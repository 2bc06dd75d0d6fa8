//! Wire types of the vault's HTTP dialects, defined once and used by both the server
//! (`vault-http`) and the remote client: what a request body, query string and response body
//! look like on the wire. One module per dialect.

pub mod service_api;
