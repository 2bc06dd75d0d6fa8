//! What one vault's config watchers share in-process: per-service change signals (striped by
//! the service's hash, so memory stays bounded), the end of watches at shutdown, and the bounds
//! on waiting watches. (Config writers take turns per service with `crate::locks::Turns`.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use crate::context::Caller;
use crate::error::{Error, Result};

/// Most watches waiting at once in one vault.
pub const MAX_WAITING_WATCHES: usize = 256;
/// Most watches one token may have waiting at once.
pub const MAX_WAITING_WATCHES_PER_TOKEN: usize = 16;

struct Stripe {
    /// Raised after each committed config write of a service on this stripe.
    changed: watch::Sender<u64>,
}

/// The in-process config signals of one vault.
pub(crate) struct ConfigSignals {
    stripes: Vec<Stripe>,
    ended: AtomicBool,
    /// Watches waiting: in all, and per token id.
    waiting: Mutex<(usize, HashMap<String, usize>)>,
}

impl ConfigSignals {
    pub(crate) fn new() -> Self {
        ConfigSignals {
            stripes: (0..crate::locks::stripes())
                .map(|_| Stripe {
                    changed: watch::Sender::new(0),
                })
                .collect(),
            ended: AtomicBool::new(false),
            waiting: Mutex::new((0, HashMap::new())),
        }
    }

    fn stripe(&self, service: &str) -> &Stripe {
        &self.stripes[crate::locks::stripe_of(service.as_bytes())]
    }

    /// Wakes the watches of `service` (and of the services sharing its stripe, which re-read
    /// their revision and wait on).
    pub(crate) fn changed(&self, service: &str) {
        self.stripe(service)
            .changed
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes every watch (which re-read their revision): another process may have written
    /// any service's config (a change feed was interrupted).
    pub(crate) fn changed_all(&self) {
        for s in &self.stripes {
            s.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A receiver that wakes at the next [`ConfigSignals::changed`] of `service`'s stripe or at
    /// [`ConfigSignals::end`].
    pub(crate) fn subscribe(&self, service: &str) -> watch::Receiver<u64> {
        self.stripe(service).changed.subscribe()
    }

    /// Ends the watches waiting now and refuses later ones.
    pub(crate) fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
        for s in &self.stripes {
            s.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// `unavailable` once [`ConfigSignals::end`] was called.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.ended.load(Ordering::SeqCst) {
            return Err(Error::Unavailable(
                "the vault is shutting down: config watches have ended".into(),
            ));
        }
        Ok(())
    }

    /// A place among the waiting watches for `caller`, released on drop: `rate_limited` past
    /// [`MAX_WAITING_WATCHES`] in all (the process embedding the vault is not counted) or
    /// [`MAX_WAITING_WATCHES_PER_TOKEN`] for one token.
    pub(crate) fn admit(&self, caller: &Caller) -> Result<WaitingWatch<'_>> {
        let token = match caller {
            Caller::Embedded => {
                return Ok(WaitingWatch {
                    signals: self,
                    token: None,
                    counted: false,
                });
            }
            Caller::Root => None,
            Caller::Token { id, .. } => Some(id.clone()),
        };
        let mut w = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let busy = |what: &str| Error::RateLimited {
            message: format!("too many config watches waiting {what}; retry shortly"),
            retry_after_secs: 1,
        };
        if w.0 >= MAX_WAITING_WATCHES {
            return Err(busy("on this vault"));
        }
        if let Some(t) = &token {
            let n = w.1.entry(t.clone()).or_insert(0);
            if *n >= MAX_WAITING_WATCHES_PER_TOKEN {
                return Err(busy("for this token"));
            }
            *n += 1;
        }
        w.0 += 1;
        Ok(WaitingWatch {
            signals: self,
            token,
            counted: true,
        })
    }

    /// Receivers of every stripe (test support: a watch is parked).
    #[cfg(feature = "testing")]
    pub(crate) fn receivers(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| s.changed.receiver_count())
            .sum()
    }
}

/// A watch's place among the waiting ones (see [`ConfigSignals::admit`]).
pub(crate) struct WaitingWatch<'a> {
    signals: &'a ConfigSignals,
    token: Option<String>,
    counted: bool,
}

impl Drop for WaitingWatch<'_> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let mut w = self
            .signals
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.0 = w.0.saturating_sub(1);
        if let Some(t) = &self.token
            && let Some(n) = w.1.get_mut(t)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                w.1.remove(t);
            }
        }
    }
}
