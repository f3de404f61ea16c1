//! The tokio runtime behind every client: created on first use, on named threads, and made
//! anew in a forked child, whose copy of the parent's runtime has no threads (gunicorn
//! `--preload`, Celery prefork and multiprocessing's fork start method all fork after use).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::Duration;
use tokio::runtime::Runtime;

struct Shared {
    runtime: Runtime,
    pid: u32,
}

/// The runtime of this process. Runtimes are leaked, never dropped: a parent's copy in a child
/// has no threads to join, and the current one lives as long as the process. No lock guards it,
/// since a lock held by another thread at fork() would stay held in the child forever.
static RUNTIME: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());

/// The shared runtime of this process, built on first use (and again after a fork).
pub fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    let current = RUNTIME.load(Ordering::Acquire);
    // SAFETY: the pointer is either null or a leaked `Shared` that is never freed.
    if let Some(shared) = unsafe { current.as_ref() } {
        if shared.pid == pid {
            return Ok(&shared.runtime);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("forcelink-worker")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let fresh = Box::into_raw(Box::new(Shared { runtime, pid }));
    match RUNTIME.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `fresh` was just leaked above and is now published for good.
        Ok(_) => Ok(unsafe { &(*fresh).runtime }),
        Err(winner) => {
            // Another thread of this process built one first: use it, drop ours (unused).
            // SAFETY: `fresh` was never published; `winner` is a leaked `Shared`.
            drop(unsafe { Box::from_raw(fresh) });
            match unsafe { winner.as_ref() } {
                Some(shared) => Ok(&shared.runtime),
                None => Err(PyRuntimeError::new_err("the tokio runtime vanished")),
            }
        }
    }
}

/// Set by an `atexit` hook: the interpreter is shutting down.
static EXITING: AtomicBool = AtomicBool::new(false);
/// The thread that runs the shutdown (the one that called the hook).
static EXITING_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Registered with `atexit` when the module loads: from here on, threads other than the one
/// shutting down must not take the GIL again. A daemon thread that tries is ended by CPython
/// with `pthread_exit`, whose forced unwinding through Rust frames aborts the process ("FATAL:
/// exception not rethrown").
#[pyfunction]
pub fn _interpreter_exiting(py: Python<'_>) {
    let _ = EXITING_THREAD.set(std::thread::current().id());
    EXITING.store(true, Ordering::SeqCst);
    // Threads already let into Python finish there first: one that is, say, waking the event
    // loop (a socket write with the GIL released) would otherwise retake the GIL after the
    // interpreter is gone. Bounded, in case a user callback never returns.
    py.allow_threads(|| {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while IN_PYTHON.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Runtime threads inside Python (or on their way in) right now.
static IN_PYTHON: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Leave for a runtime thread to enter Python, held while it is inside; see [`enter_python`].
pub struct InPython(());

impl Drop for InPython {
    fn drop(&mut self) {
        IN_PYTHON.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Leave to enter Python from a thread of the runtime, or None once the interpreter is shutting
/// down. The shutdown waits until every leave given out is dropped, so no thread is inside
/// Python when the interpreter is torn down. Counted before the check: a thread that passes it
/// is waited for.
pub fn enter_python() -> Option<InPython> {
    IN_PYTHON.fetch_add(1, Ordering::SeqCst);
    if must_not_touch_python() {
        IN_PYTHON.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(InPython(()))
}

/// True once the interpreter is shutting down and this thread is not the one doing it.
pub fn must_not_touch_python() -> bool {
    EXITING.load(Ordering::SeqCst) && EXITING_THREAD.get() != Some(&std::thread::current().id())
}

/// Parks the calling thread for good if the interpreter is shutting down under it: the process
/// is about to end, and returning would mean taking the GIL.
pub fn stay_out_of_python_at_exit() {
    while must_not_touch_python() {
        std::thread::park();
    }
}

/// Runs `future` to completion on the runtime with the GIL released, waking every 100 ms to let
/// Python deliver signals: Ctrl-C cancels the call and drops the request. With `interrupt`, the
/// first Ctrl-C cancels that token instead and the call is waited for while it winds down (a
/// bulk load then reports what it did); a second Ctrl-C drops it at once.
pub fn block_on<F>(
    py: Python<'_>,
    future: F,
    interrupt: Option<forcelink::CancellationToken>,
) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "a blocking forcelink call was made from a runtime thread (e.g. inside a callback); \
             use the async client there",
        ));
    }
    let rt = runtime()?;
    let mut task = rt.spawn(future);
    loop {
        // The timer must be made inside the runtime's context, hence the async block.
        let waited = py.allow_threads(|| {
            let waited = rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(100), &mut task).await
            });
            stay_out_of_python_at_exit();
            waited
        });
        match waited {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(join_error)) => {
                return Err(crate::errors::internal_error(&format!(
                    "the request task failed: {join_error}"
                )));
            }
            Err(_still_running) => {
                if let Err(signal) = py.check_signals() {
                    match &interrupt {
                        Some(token) if !token.is_cancelled() => token.cancel(),
                        _ => {
                            task.abort();
                            return Err(signal);
                        }
                    }
                }
            }
        }
    }
}
