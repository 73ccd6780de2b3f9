//! The drain as data: which step comes when, and by when each must be done.
//! Pure, so the order and the budgets are unit-tested; [`super::Drain`] runs it.

use super::Deadline;
use std::time::Duration;

/// One drain step, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `/ready` answers 503 and new WebSocket sessions are closed with 4002 at once.
    StopAdmitting,
    /// Every open WebSocket session is closed with 4002 so its client resumes elsewhere.
    CloseSessions,
    /// RabbitMQ and Redis consumers take nothing new; what is being processed is
    /// committed and acknowledged, and the broker gets back what was not started.
    StopSources,
    /// The scheduler claims nothing new; sends in flight may finish.
    FinishSends,
    /// Sends still in flight give up their leases, so another node retries them now.
    ReleaseLeases,
    /// The listener closes; requests in flight are answered.
    StopHttp,
    /// Retention, rate-limit sweeps and the other background loops end.
    StopBackground,
}

/// Each step and when, counted from the signal, it must be done; the last
/// ends before the deadline, leaving [`DrainPlan::reserve`] to exit.
#[derive(Clone, Debug)]
pub struct DrainPlan {
    steps: Vec<(Step, Duration)>,
    deadline: Duration,
}

/// Where each step must end, in thousandths of the usable time. Sends get the
/// largest share: a provider call may take seconds, a commit takes milliseconds.
const ENDS: [(Step, u32); 7] = [
    (Step::StopAdmitting, 0),
    (Step::CloseSessions, 100),
    (Step::StopSources, 400),
    (Step::FinishSends, 750),
    (Step::ReleaseLeases, 800),
    (Step::StopHttp, 950),
    (Step::StopBackground, 1000),
];

/// Time kept back to tear down the runtime and exit, at most this much.
const MAX_RESERVE: Duration = Duration::from_secs(1);

impl DrainPlan {
    pub fn new(deadline: Deadline) -> Self {
        let deadline = deadline.get();
        let usable = deadline - Self::reserve_for(deadline);
        let steps = ENDS
            .iter()
            .map(|&(step, per_mille)| (step, usable * per_mille / 1000))
            .collect();
        Self { steps, deadline }
    }

    fn reserve_for(deadline: Duration) -> Duration {
        (deadline / 10).min(MAX_RESERVE)
    }

    /// The steps in order, each with the offset from the signal it must end by.
    pub fn steps(&self) -> &[(Step, Duration)] {
        &self.steps
    }

    /// When the process must have exited, counted from the signal.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// How long the HTTP server may wait for connections to finish once
    /// told to stop: its step's share, in whole seconds (at least one), so
    /// the server cuts off clients that never close before the plan does.
    pub fn http_grace_secs(&self) -> u64 {
        let end = |step| {
            self.steps
                .iter()
                .find(|(s, _)| *s == step)
                .map_or(Duration::ZERO, |(_, by)| *by)
        };
        let share = end(Step::StopHttp).saturating_sub(end(Step::ReleaseLeases));
        share.as_secs().max(1)
    }

    /// What is left after the last step, for the exit itself.
    pub fn reserve(&self) -> Duration {
        Self::reserve_for(self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(secs: u64) -> DrainPlan {
        DrainPlan::new(Deadline::parse(secs).expect("deadline"))
    }

    #[test]
    fn the_steps_run_in_the_documented_order() {
        let order: Vec<Step> = plan(25).steps().iter().map(|(s, _)| *s).collect();
        assert_eq!(
            order,
            [
                Step::StopAdmitting,
                Step::CloseSessions,
                Step::StopSources,
                Step::FinishSends,
                Step::ReleaseLeases,
                Step::StopHttp,
                Step::StopBackground,
            ]
        );
    }

    #[test]
    fn every_step_ends_no_earlier_than_the_one_before_and_all_before_the_deadline() {
        for secs in [1, 2, 5, 25, 120, 3600] {
            let p = plan(secs);
            let ends: Vec<Duration> = p.steps().iter().map(|(_, by)| *by).collect();
            assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{secs}: {ends:?}");
            let last = *ends.last().expect("steps");
            assert_eq!(last + p.reserve(), p.deadline(), "{secs} s");
            assert!(p.reserve() > Duration::ZERO);
        }
    }

    #[test]
    fn the_default_deadline_leaves_sends_the_largest_share() {
        let p = plan(super::super::DEFAULT_DEADLINE_SECS);
        let by = |step| p.steps().iter().find(|(s, _)| *s == step).map(|(_, d)| *d);
        assert_eq!(p.reserve(), Duration::from_secs(1));
        assert_eq!(by(Step::StopAdmitting), Some(Duration::ZERO));
        assert_eq!(by(Step::CloseSessions), Some(Duration::from_millis(2400)));
        assert_eq!(by(Step::StopSources), Some(Duration::from_millis(9600)));
        assert_eq!(by(Step::FinishSends), Some(Duration::from_millis(18000)));
        assert_eq!(by(Step::StopBackground), Some(Duration::from_secs(24)));
    }

    #[test]
    fn the_http_server_gives_up_on_open_connections_within_its_share() {
        assert_eq!(plan(25).http_grace_secs(), 3);
        assert_eq!(plan(10).http_grace_secs(), 1);
        assert_eq!(plan(1).http_grace_secs(), 1);
        assert_eq!(plan(100).http_grace_secs(), 14);
    }

    #[test]
    fn a_one_second_deadline_still_keeps_time_back_to_exit() {
        let p = plan(1);
        assert_eq!(p.reserve(), Duration::from_millis(100));
        assert_eq!(
            p.steps().last().map(|(_, d)| *d),
            Some(Duration::from_millis(900))
        );
    }
}
