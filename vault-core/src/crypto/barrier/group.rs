//! Group commit of one vault's concurrent commits: one store commit for all of them.
//!
//! Every commit of an opened vault joins a queue. Whoever finds no group in flight becomes its
//! leader: it takes the whole queue and commits it as one store commit (every caller's
//! conditions and writes, the audit entries all of them carry as one record of one chain, the
//! ledger buckets of all their tracked records), while the commits that arrive meanwhile queue
//! for the next group. Sixteen concurrent writes so cost one store transaction, one audit
//! record and one chain head instead of sixteen of each; a lone write goes straight through.
//!
//! Correctness rests on one rule: a group holds only commits none of which writes a key
//! another one reads (in its conditions) or writes; keys they only read may be shared (every
//! guard decision of an account reads its policy and trading state). Such commits commute, so
//! applying them together is the same as applying them one after the other, each checking its
//! own conditions. A commit that clashes with an earlier one of the queue waits for the next
//! round (where its condition, if the earlier one changed that key, fails as it would have
//! alone). When a group's store commit
//! does not apply, each member's conditions are checked again: members whose conditions fail
//! get `false`, and the rest are committed again (as before grouping, a bucket or head that
//! moved under a commit is retried, at most `LEDGER_ATTEMPTS` times).
//!
//! A group that carries others' commits (or the queued audit entries of others' reads) runs in
//! a task of its own, not in the leader's: a caller that goes away (an HTTP client that
//! disconnects drops its request) never leaves the commits of others half made. A lone commit
//! runs in its caller. A commit whose caller went away while it was queued is dropped, not
//! made later. Writes that lost more races go first (see `Barrier::commit_after_losses`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{Barrier, LEDGER_ATTEMPTS};
use crate::audit::chain::{self, Draft};
use crate::error::{Error, Result};
use crate::store::{Condition, SharedStore, Write};

/// The commits waiting for a group, and the lock a group's leader holds.
pub(super) struct Group {
    queue: Mutex<Vec<Member>>,
    leader: Arc<tokio::sync::Mutex<()>>,
}

/// One caller's commit.
struct Member {
    conditions: Vec<Condition>,
    writes: Vec<Write>,
    /// The audit entry of the caller's operation, if its commit carries it.
    draft: Option<Draft>,
    /// How many races the caller's write lost before this commit.
    lost: usize,
    done: oneshot::Sender<Result<bool>>,
}

impl Member {
    fn read_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.conditions.iter().map(Condition::key)
    }

    fn written_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.writes.iter().map(|w| match w {
            Write::Put(k, _) | Write::Delete(k) => k.as_slice(),
        })
    }

    fn finish(self, outcome: Result<bool>) {
        // The caller may have gone away: nobody is left to tell.
        let _ = self.done.send(outcome);
    }
}

impl Group {
    pub(super) fn new() -> Group {
        Group {
            queue: Mutex::new(Vec::new()),
            leader: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// How many commits wait for the next group.
    #[cfg(feature = "testing")]
    pub(super) fn queued(&self) -> usize {
        lock(&self.queue).len()
    }

    /// Returns once no group is being committed (one that starts meanwhile is not waited for).
    pub(super) async fn settled(&self) {
        drop(self.leader.lock().await);
    }

    /// Whether a group is being committed (or its leader is being chosen) right now.
    pub(super) fn busy(&self) -> bool {
        self.leader.try_lock().is_err()
    }
}

impl Barrier {
    /// Commits writes of sealed records (made with [`Barrier::seal`]) and clear index entries,
    /// atomically under `conditions`; see [`Store::commit`](crate::store::Store::commit).
    ///
    /// The same commit carries the audit entries that are due: the entry of the operation
    /// running in this task (a write's entry is in the write's commit), and every queued entry
    /// of operations that did not write. It also updates the ledger buckets of the tracked
    /// records written (the chain's head is one). Concurrent commits of this vault are made
    /// together (see the module doc); when one of the caller's `conditions` fails, none of its
    /// writes is made, `false` is returned and its entry waits for the next commit.
    ///
    /// A commit that fails leaves its outcome unknown (the store may have applied it in memory
    /// without making it durable, as sled does when its flush fails). Serving on would risk
    /// serving a write that a restart then loses, so the barrier fails closed: this and every
    /// later operation answer `backend_unavailable` until the process restarts.
    pub async fn commit(
        self: &Arc<Self>,
        conditions: Vec<Condition>,
        writes: Vec<Write>,
    ) -> Result<bool> {
        self.commit_after_losses(conditions, writes, 0).await
    }

    /// [`Barrier::commit`] of a write that already lost `lost` races (its earlier commits
    /// returned `false`): in a group, writes that lost more go first.
    pub async fn commit_after_losses(
        self: &Arc<Self>,
        conditions: Vec<Condition>,
        writes: Vec<Write>,
        lost: usize,
    ) -> Result<bool> {
        self.live()?;
        let op = chain::take_current();
        if op.is_none() && writes.is_empty() && !self.chains.has_pending() {
            return Ok(true);
        }
        let (done, mut outcome) = oneshot::channel();
        lock(&self.group.queue).push(Member {
            conditions,
            writes,
            draft: op.as_ref().map(|(_, d)| d.clone()),
            lost,
            done,
        });
        let leader = self.group.leader.clone().lock_owned().await;
        let stopped = || Err(Error::Internal("a group commit stopped".into()));
        let result = match outcome.try_recv() {
            // A group that ran while this caller waited for the lock took its commit.
            Ok(result) => {
                drop(leader);
                result
            }
            // The group that took it stopped before telling (its task panicked, or its
            // runtime shut down): the outcome is unknown.
            Err(oneshot::error::TryRecvError::Closed) => {
                drop(leader);
                stopped()
            }
            Err(oneshot::error::TryRecvError::Empty) => {
                // Commits whose callers went away while queued are dropped: made later, they
                // would change what their callers saw as not done, at a time nobody chose.
                let mut members = std::mem::take(&mut *lock(&self.group.queue));
                members.retain(|m| !m.done.is_closed());
                let runtime = tokio::runtime::Handle::try_current();
                match runtime {
                    // Others' commits (or queued audit entries of others' reads) ride on this
                    // group: it must finish even if this caller goes away, so it runs in a
                    // task of its own.
                    Ok(runtime) if members.len() > 1 || self.chains.has_pending() => {
                        let this = Arc::clone(self);
                        drop(runtime.spawn(async move {
                            let _leader = leader;
                            this.run_members(members).await;
                        }));
                    }
                    // A lone commit (the common case with one writer) runs here, saving a
                    // task switch: if its caller goes away, only its own commit is cut short.
                    _ => {
                        self.run_members(members).await;
                        drop(leader);
                    }
                }
                outcome.await.unwrap_or_else(|_| stopped())
            }
        };
        if !matches!(result, Ok(true))
            && let Some((slot, draft)) = op
        {
            // Not applied (or unknown, and the vault is failing closed): the operation's entry
            // is due again, with the outcome the operation ends with.
            slot.put_back(draft);
        }
        result
    }

    /// How many commits wait for the next group (test support).
    #[cfg(feature = "testing")]
    pub(crate) fn queued_commits(&self) -> usize {
        self.group.queued()
    }

    /// Commits `members`, in rounds of commits that do not clash (see the module doc), then tells each its outcome.
    ///
    /// Fairness: members that lost more races before go first (a key's first member in a
    /// round is the one that can win it). Without it, a writer that just won came back first
    /// and won again and again, while another one retried until it gave up.
    async fn run_members(&self, mut members: Vec<Member>) {
        members.sort_by_key(|m| std::cmp::Reverse(m.lost));
        let mut outcomes = Vec::with_capacity(members.len());
        while !members.is_empty() {
            // Keys some member of the round writes, and keys some member only reads (its
            // conditions): a key read by several and written by none is shared safely.
            let mut written: HashSet<&[u8]> = HashSet::new();
            let mut read: HashSet<&[u8]> = HashSet::new();
            let mut round = Vec::new();
            let mut later = Vec::new();
            for (i, m) in members.iter().enumerate() {
                let clash = m
                    .written_keys()
                    .any(|k| written.contains(k) || read.contains(k))
                    || m.read_keys().any(|k| written.contains(k));
                if clash {
                    later.push(i);
                } else {
                    written.extend(m.written_keys());
                    read.extend(m.read_keys());
                    round.push(i);
                }
            }
            let mut slots: Vec<Option<Member>> = members.into_iter().map(Some).collect();
            let take = |slots: &mut Vec<Option<Member>>, picked: &[usize]| -> Vec<Member> {
                picked.iter().filter_map(|&i| slots[i].take()).collect()
            };
            let this_round = take(&mut slots, &round);
            members = take(&mut slots, &later);
            self.run_round(this_round, &mut outcomes).await;
        }
        for (m, outcome) in outcomes {
            m.finish(outcome);
        }
    }

    /// One store commit for `members` (none writing what another reads or writes), retried for those whose conditions
    /// still hold when it did not apply; each member's outcome goes to `outcomes`.
    async fn run_round(
        &self,
        mut members: Vec<Member>,
        outcomes: &mut Vec<(Member, Result<bool>)>,
    ) {
        let mut all = |members: Vec<Member>, outcome: Result<bool>| {
            outcomes.extend(members.into_iter().map(|m| (m, outcome.clone())));
        };
        let store = match self.live() {
            Ok(store) => store.clone(),
            Err(e) => return all(members, Err(e)),
        };
        let queued = self.chains.take_pending();
        for _ in 0..LEDGER_ATTEMPTS {
            let mut drafts = queued.clone();
            drafts.extend(members.iter().filter_map(|m| m.draft.clone()));
            if drafts.is_empty() && members.iter().all(|m| m.writes.is_empty()) {
                return all(members, Ok(true));
            }
            // Each distinct condition once: the members of a round often share some (every
            // guard decision of an account reads its policy and trading states).
            // (Hashed by key only: an expected value may be kilobytes.)
            let mut seen: HashMap<&[u8], Vec<&Condition>> = HashMap::new();
            let mut conditions: Vec<Condition> = Vec::new();
            for c in members.iter().flat_map(|m| m.conditions.iter()) {
                let same_key = seen.entry(c.key()).or_default();
                if !same_key.contains(&c) {
                    same_key.push(c);
                    conditions.push(c.clone());
                }
            }
            let writes: Vec<Write> = members
                .iter()
                .flat_map(|m| m.writes.iter().cloned())
                .collect();
            match self.commit_once(&store, conditions, writes, &drafts).await {
                Ok(true) => return all(members, Ok(true)),
                Ok(false) => {}
                Err(e) => {
                    self.chains.restore(queued);
                    return all(members, Err(e));
                }
            }
            // Whose conditions failed? Those members get `false`; if none did, only a bucket
            // or the chain's head moved, and the same members are committed again.
            let mut still = Vec::with_capacity(members.len());
            for m in members {
                match conditions_hold(&store, &m.conditions).await {
                    Ok(true) => still.push(m),
                    Ok(false) => all(vec![m], Ok(false)),
                    Err(e) => all(vec![m], Err(e)),
                }
            }
            members = still;
            if members.is_empty() {
                // As for a lone commit whose conditions failed: nothing is written, and the
                // queued entries wait for the next commit.
                self.chains.restore(queued);
                return;
            }
        }
        self.chains.restore(queued);
        all(
            members,
            Err(Error::Conflict(
                "the store is under heavy concurrent writes; retry".into(),
            )),
        );
    }

    /// One attempt: the writes, the chain's entries for `drafts` and the ledger buckets, as one
    /// store commit. `Ok(false)` when a condition (the callers', a bucket's or the head's) failed.
    async fn commit_once(
        &self,
        store: &SharedStore,
        mut conditions: Vec<Condition>,
        mut writes: Vec<Write>,
        drafts: &[Draft],
    ) -> Result<bool> {
        // The vault's chain, held for the whole commit.
        let _held = if drafts.is_empty() {
            None
        } else {
            let (chain, held) = self.chains.acquire().await;
            self.chain_writes(chain, drafts, &mut conditions, &mut writes)
                .await?;
            Some(held)
        };
        self.ledger_writes(store, &mut conditions, &mut writes)
            .await?;
        self.commit_or_fail_closed(store, conditions, writes).await
    }
}

async fn conditions_hold(store: &SharedStore, conditions: &[Condition]) -> Result<bool> {
    for c in conditions {
        if !c.holds(store.get(c.key()).await?.as_deref()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A poisoned lock only means another thread panicked; the queue itself is whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
