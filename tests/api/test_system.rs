//! The actix System every test runs on, torn down inside its own runtime.
//!
//! An in-process app can be mid-transaction when a test body returns. Its
//! actors' futures are dropped with the System's `LocalSet`, which tokio drops
//! outside any runtime context; sqlx returns a pooled PostgreSQL connection by
//! spawning a task, which panics there, and a second such drop while unwinding
//! aborts the whole test binary. Dropping the System with its runtime's handle
//! entered lets those returns spawn (and be cancelled as the runtime ends).

use actix_web::rt::{System, SystemRunner};
use std::future::Future;

/// Named by `#[actix_web::rt::test(system = "crate::test_system::TestSystem")]`.
pub struct TestSystem;

impl TestSystem {
    /// The macro calls `<TestSystem>::new().block_on(body)`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> TestRunner {
        let runner = System::new();
        let handle = runner.runtime().tokio_runtime().handle().clone();
        TestRunner {
            runner: Some(runner),
            handle,
        }
    }
}

pub struct TestRunner {
    runner: Option<SystemRunner>,
    handle: tokio::runtime::Handle,
}

impl TestRunner {
    pub fn block_on<F: Future>(&self, body: F) -> F::Output {
        match &self.runner {
            Some(runner) => runner.block_on(body),
            None => unreachable!("the runner is only taken on drop"),
        }
    }
}

impl Drop for TestRunner {
    fn drop(&mut self) {
        let _context = self.handle.enter();
        drop(self.runner.take());
    }
}
