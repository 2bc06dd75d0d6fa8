//! Build-time only: makes every vault build ask each shared dependency for the same features,
//! so that the server, the Python module and the Node addon share one compiled copy of them.
//! See this crate's `Cargo.toml`. It has no code.
#![no_std]
