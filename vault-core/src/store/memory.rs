//! An in-memory [`Store`] for tests and ephemeral use: a `BTreeMap` behind a lock.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use async_trait::async_trait;

use super::{Condition, Entry, Store, Write, key_after};
use crate::error::{Error, Result};

/// A store that keeps everything in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty memory store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> Error {
    Error::Internal("memory store lock poisoned".into())
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.read().map_err(|_| poisoned())?.get(key).cloned())
    }

    async fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>> {
        let map = self.map.read().map_err(|_| poisoned())?;
        let start = match after {
            Some(a) if a >= prefix => key_after(a),
            _ => prefix.to_vec(),
        };
        Ok(map
            .range::<Vec<u8>, _>((Bound::Included(start), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> Result<bool> {
        let mut map = self.map.write().map_err(|_| poisoned())?;
        if !conditions
            .iter()
            .all(|c| c.holds(map.get(c.key()).map(Vec::as_slice)))
        {
            return Ok(false);
        }
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    map.insert(k, v);
                }
                Write::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(true)
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }
}
