//! The storage contract, checked the same way against every backend: each backend runs the
//! exported suite (`vault_core::store::testing`) in one line. sled's reopen and crash tests are
//! in `sled.rs`.

use std::sync::Arc;

#[cfg(feature = "sled")]
use vault_core::store::SledStore;
use vault_core::store::{MemoryStore, SharedStore};

fn memory() -> ((), SharedStore) {
    ((), Arc::new(MemoryStore::new()))
}

#[cfg(feature = "sled")]
fn sled() -> (tempfile::TempDir, SharedStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path().join("db")).expect("open sled");
    (dir, Arc::new(store))
}

vault_core::store_conformance_suite!(memory_backend, memory());
#[cfg(feature = "sled")]
vault_core::store_conformance_suite!(sled_backend, sled());

/// What health reports as the backend: each store's own name.
#[test]
fn each_backend_reports_its_name() {
    assert_eq!(memory().1.backend_name(), "memory");
    #[cfg(feature = "sled")]
    assert_eq!(sled().1.backend_name(), "sled");
}
