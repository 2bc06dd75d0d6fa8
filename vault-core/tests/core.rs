//! vault-core integration tests: one binary, one module per area.

mod core {
    pub mod audit;
    pub mod audit_mutants;
    pub mod config_lifecycle;
    pub mod configs;
    pub mod conformance;
    pub mod construct_transcripts;
    pub mod constructs;
    pub mod credential_rotation;
    pub mod credential_versions;
    pub mod credentials;
    pub mod error_tables;
    pub mod failures;
    pub mod freshness;
    pub mod group;
    pub mod guards;
    pub mod inference;
    pub mod jobs;
    pub mod kv;
    pub mod ledger_mutants;
    pub mod limits;
    #[cfg(feature = "sled")]
    pub mod migrate;
    pub mod postgres;
    #[cfg(feature = "sled")]
    pub mod sled;
    pub mod support;
    pub mod tokens;
    pub mod value_keys_failures;
}
