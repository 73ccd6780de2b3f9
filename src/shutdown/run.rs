//! Runs a [`DrainPlan`] against the live parts of a node: each step is given
//! until its planned end, and a step that overruns is cut short and the next
//! one starts, so the process exits within the deadline whatever hangs.

use super::plan::{DrainPlan, Step};
use super::{terminated, Draining};
use crate::channels::inflight::InFlight;
use crate::realtime::SessionRegistry;
use actix_web::dev::{Server, ServerHandle};
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

/// The event sources' loops and the signal that stops them.
pub struct SourceTasks {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Default for SourceTasks {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: vec![],
        }
    }
}

impl SourceTasks {
    /// The receiver a source's `run(shutdown)` takes.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Spawns a source loop that ends once [`SourceTasks::shutdown`] turns true.
    pub fn spawn(&mut self, source: impl Future<Output = ()> + 'static) {
        self.tasks.push(actix_web::rt::spawn(source));
    }

    async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for task in &mut self.tasks {
            let _ = task.await;
        }
    }
}

/// Everything a drain acts on, handed over by startup.
pub struct Drain {
    pub plan: DrainPlan,
    pub draining: Draining,
    pub sessions: SessionRegistry,
    pub sources: SourceTasks,
    /// Stops the delivery scheduler.
    pub deliveries: watch::Sender<bool>,
    pub scheduler: JoinHandle<()>,
    pub inflight: InFlight,
    pub db: DatabaseConnection,
    /// Stops retention, rate-limit sweeps and the other background loops.
    pub background: watch::Sender<bool>,
}

/// Serves until SIGTERM or SIGINT, then drains. If the server stops by
/// itself instead, the background loops are stopped and its result returned.
pub async fn serve(server: Server, drain: Drain) -> std::io::Result<()> {
    let handle = server.handle();
    // The server future is what carries out `stop`: it keeps being polled on its own task.
    let mut server = actix_web::rt::spawn(server);
    let signal = tokio::select! {
        result = &mut server => {
            let _ = drain.background.send(true);
            return result.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        }
        signal = terminated() => signal,
    };
    let deadline = drain.plan.deadline();
    tracing::info!(
        signal,
        deadline_secs = deadline.as_secs(),
        "draining before exit"
    );
    let exit_by = Instant::now() + deadline;
    arm_watchdog(deadline);
    drain.run(&handle).await;
    // Stopped in the drain; only the exit is left.
    match timeout_at(exit_by, server).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => Ok(()),
    }
}

/// A last resort for a drain that the step budgets did not bound (a blocked
/// thread): the process ends at the deadline, non-zero because it overran.
fn arm_watchdog(deadline: Duration) {
    let spawned = std::thread::Builder::new()
        .name("drain-watchdog".into())
        .spawn(move || {
            std::thread::sleep(deadline);
            tracing::error!("the drain overran its deadline; exiting now");
            std::process::exit(1);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no drain watchdog; the deadline rests on the step budgets");
    }
}

impl Drain {
    /// Runs every step in order, each until its planned end at the latest.
    pub async fn run(mut self, server: &ServerHandle) {
        let started = Instant::now();
        let plan = self.plan.clone();
        for &(step, by) in plan.steps() {
            let begun = Instant::now();
            let finished = timeout_at(started + by, self.step(step, server))
                .await
                .is_ok();
            let ms = begun.elapsed().as_millis() as u64;
            if finished {
                tracing::info!(?step, ms, "drain step done");
            } else {
                tracing::warn!(?step, ms, "drain step cut short by its budget");
            }
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "drained; exiting"
        );
    }

    async fn step(&mut self, step: Step, server: &ServerHandle) {
        match step {
            Step::StopAdmitting => self.draining.start(),
            Step::CloseSessions => {
                let asked = self.sessions.evict_all();
                tracing::info!(sessions = asked, "closing websocket sessions with 4002");
                self.sessions.emptied().await;
            }
            Step::StopSources => self.sources.stop().await,
            Step::FinishSends => {
                let _ = self.deliveries.send(true);
                let _ = (&mut self.scheduler).await;
                tracing::info!(
                    in_flight = self.inflight.len(),
                    "waiting for sends in flight"
                );
                self.inflight.emptied().await;
            }
            Step::ReleaseLeases => match self.inflight.release_all(&self.db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(released = n, "released the leases of unfinished sends"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not release leases; they run out instead")
                }
            },
            Step::StopHttp => server.stop(true).await,
            Step::StopBackground => {
                let _ = self.background.send(true);
            }
        }
    }
}
