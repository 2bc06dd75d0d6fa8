//! The module's tokio runtime and the one way Python calls reach it: [`block_on`], which releases
//! the GIL while the vault works.

use std::future::Future;
use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// The runtime and the process it was built in: a child made by `fork()` has none of the
/// parent's worker threads, so it builds its own.
static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The multi-thread runtime shared by every vault of this process, built on first use (and
/// again in a forked child; the parent's copy is leaked there, never dropped).
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((owner, rt)) = *slot
        && owner == pid
    {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("vault-py")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the vault runtime: {e}")))?;
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// Runs `fut` to completion on the runtime with the GIL released, so other Python threads run
/// while the vault does I/O or crypto.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    Ok(py.detach(|| rt.block_on(fut)))
}

/// How often a long wait ([`block_on_interruptible`]) lets Python handle its signals.
const SIGNAL_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// [`block_on`] for a call that may wait long (a config watch): every [`SIGNAL_CHECK`] it
/// takes the GIL back to let Python run its signal handlers, so Ctrl-C raises
/// `KeyboardInterrupt` at once (the call is then dropped, which cancels it).
pub(crate) fn block_on_interruptible<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    let mut fut = std::pin::pin!(fut);
    loop {
        let slice = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(SIGNAL_CHECK, fut.as_mut()).await.ok() })
        });
        match slice {
            Some(out) => return Ok(out),
            None => py.check_signals()?,
        }
    }
}
