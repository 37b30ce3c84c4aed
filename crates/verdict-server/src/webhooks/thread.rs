//! The thread the worker's HTTP sends run on: its own single-threaded
//! runtime at the lowest CPU priority the platform lets a process give
//! itself, so sending (connections, TLS, signing, rendering bodies) only
//! uses CPU that writes leave idle. Under a storm of writes on a busy
//! machine deliveries fall behind and catch up after; writes do not wait
//! for them.

use std::future::Future;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A running delivery thread; dropping it stops the thread (sends still in
/// flight are dropped: their claims lapse and they are sent again).
pub struct DeliveryThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DeliveryThread {
    /// Starts the thread and its runtime.
    pub fn start() -> Result<DeliveryThread, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("verdict-webhooks".into())
            .spawn(move || {
                lower_priority();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("webhook delivery runtime: {e}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(runtime.handle().clone()));
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                runtime.shutdown_background();
            })
            .map_err(|e| format!("webhook delivery thread: {e}"))?;
        let handle = ready_rx
            .recv()
            .map_err(|_| "the webhook delivery thread ended at start".to_string())??;
        Ok(DeliveryThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the delivery thread and waits for its answer; `None`
    /// if the thread is gone (shutting down).
    pub async fn run<F>(&self, work: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(work).await.ok()
    }
}

impl Drop for DeliveryThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Joined off the async threads: the runtime's shutdown is quick
            // (it does not wait for the sends), but it is still a join.
            std::thread::spawn(move || {
                let _ = thread.join();
            });
        }
    }
}

/// Nice 19 for the calling thread only (Linux keeps the nice value per
/// thread, and threads it starts inherit it). Raising one's own nice value
/// needs no privilege; if it fails anyway, deliveries run at the normal
/// priority.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority reads no memory of ours; with PRIO_PROCESS and
    // who = 0 it changes the calling thread's nice value and nothing else.
    #[allow(unsafe_code)]
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    if done != 0 {
        tracing::warn!("the webhook delivery thread keeps the normal CPU priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
