//! The one process-wide lock around libxml2 and xmlsec, and the way an async worker runs a short check under it
//! without ever waiting for another thread's.
//!
//! libxml2 and xmlsec keep process-wide state that is not safe to use from several threads at once, so every call
//! into them through samael holds the lock. A thread that waits for it can wait for as long as other threads'
//! checks of large messages take; an async worker must not, as every task on it would wait too. Checking a small
//! message takes about a tenth of a millisecond, and handing it to the blocking pool and back costs about as much
//! again when the server is not busy (docs/performance.md), so the worker runs it itself when nobody holds the
//! lock, and hands it over otherwise.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard, PoisonError};

static XMLSEC: Mutex<()> = Mutex::new(());

thread_local! {
    /// Set while this thread runs a check under [`run_if_free`], which holds the lock for the whole check.
    static HELD_FOR_CHECK: Cell<bool> = const { Cell::new(false) };
}

/// The lock, held until dropped; a thread inside [`run_if_free`] holds it already and takes nothing.
#[must_use]
pub struct XmlsecLock {
    _held: Option<MutexGuard<'static, ()>>,
}

/// Waits for the lock (off the async runtime). A panic while holding it leaves nothing half-done on our side, so a
/// poisoned lock is still usable.
pub fn lock() -> XmlsecLock {
    if HELD_FOR_CHECK.get() {
        return XmlsecLock { _held: None };
    }
    XmlsecLock {
        _held: Some(XMLSEC.lock().unwrap_or_else(PoisonError::into_inner)),
    }
}

/// Runs `check` on this thread holding the lock, if no other thread holds it now; `None`, without waiting and
/// without running `check`, when one does.
pub fn run_if_free<T>(check: impl FnOnce() -> T) -> Option<T> {
    let _guard = match XMLSEC.try_lock() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return None,
    };
    /// Clears the mark however `check` ends, a panic included, before the lock is released.
    struct Mark;
    impl Drop for Mark {
        fn drop(&mut self) {
            HELD_FOR_CHECK.set(false);
        }
    }
    HELD_FOR_CHECK.set(true);
    let _mark = Mark;
    Some(check())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Holds the lock on another thread until told to let go.
    fn held_elsewhere() -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (holding_tx, holding) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let _held = lock();
            holding_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
        });
        holding.recv().unwrap();
        (release, holder)
    }

    #[test]
    fn a_check_runs_here_only_when_no_other_thread_holds_the_lock() {
        let (release, holder) = held_elsewhere();
        let mut ran = false;
        assert!(
            run_if_free(|| ran = true).is_none(),
            "does not wait for the other thread"
        );
        assert!(!ran);
        release.send(()).unwrap();
        holder.join().unwrap();
        // Free now: the check runs, and what it calls that takes the lock finds it held by this check.
        assert_eq!(run_if_free(|| drop(lock())), Some(()));
        assert!(!HELD_FOR_CHECK.get(), "the mark ends with the check");
    }

    #[test]
    fn a_check_that_panics_leaves_the_lock_usable() {
        let panicked = std::panic::catch_unwind(|| run_if_free(|| panic!("in the check")));
        assert!(panicked.is_err());
        assert!(!HELD_FOR_CHECK.get());
        let (release, holder) = held_elsewhere();
        release.send(()).unwrap();
        holder.join().unwrap();
    }
}
