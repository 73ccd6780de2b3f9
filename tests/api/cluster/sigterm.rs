//! SIGTERM a node under load: its clients are closed with 4002 ("reconnect
//! elsewhere"), its `/ready` answers 503 while it drains, it exits within its
//! deadline, and its clients resume on another node with `since`, missing nothing.

use super::follower::Follower;
use super::harness::{tag, Cluster, ClusterSpec};
use super::load::Load;
use crate::helpers::wait_for;
use crate::sources::reachable;
use std::time::Duration;

const USERS: usize = 6;
const DRAINED: usize = 0;
/// The node's `HERALD_SHUTDOWN_DEADLINE_SECS` (set by the cluster) and slack for a loaded machine.
const EXIT_WITHIN: Duration = Duration::from_secs(10 + 10);
/// "Reconnect elsewhere".
const GOING_AWAY: u16 = 4002;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_with_sigterm_under_load_hands_its_clients_over_without_losing_any() {
    if !reachable("Redis", "127.0.0.1:6379").await {
        return;
    }
    let tag = tag();
    let Some(mut c) = Cluster::start(&tag, ClusterSpec::new(3)).await else {
        return;
    };
    let users: Vec<String> = (0..USERS).map(|u| format!("{tag}-u{u}")).collect();
    let mut followers = vec![];
    for user in &users {
        let token = c.token(user).await;
        followers.push(Follower::start(
            user,
            &token,
            (0..3).map(|i| c.port(i)).collect(),
        ));
    }
    for f in &followers {
        assert!(f.connected(1, 10).await, "{} never connected", f.user);
    }
    // The load enters through the nodes that stay; node 0's clients get it over the bus.
    let load = Load::new(users.clone());
    let running = load.start(vec![c.base(1), c.base(2)]);
    wait_for("the clients on node 0 to see load", 30, || async {
        followers.iter().all(|f| f.seen().last() >= 3)
    })
    .await;

    c.sigterm(DRAINED);
    wait_for("every client of node 0 to be closed", 20, || async {
        followers.iter().all(|f| !f.seen().closes.is_empty())
    })
    .await;
    // The node is draining now; while it still answers, it is not ready.
    if let Some((status, ready)) = c.ready(DRAINED).await {
        assert_eq!(status, 503, "/ready while draining: {ready}");
    }
    let exit = c.wait_exit(DRAINED, EXIT_WITHIN).await;
    assert!(
        exit.is_some_and(|s| s.success()),
        "node 0 did not exit cleanly within {EXIT_WITHIN:?}: {exit:?}"
    );
    for f in &followers {
        let seen = f.seen();
        assert_eq!(
            seen.closes[0],
            Some(GOING_AWAY),
            "{}: {:?}",
            f.user,
            seen.closes
        );
    }
    wait_for("every client to resume on another node", 20, || async {
        followers.iter().all(|f| f.seen().hellos.len() >= 2)
    })
    .await;
    let resumed = load.sent();
    wait_for("load after the handover", 30, || async {
        load.sent().iter().zip(&resumed).all(|(n, r)| *n >= r + 3)
    })
    .await;
    load.stop();
    running.await.expect("load");
    let sent = load.sent();
    for (f, expected) in followers.iter().zip(&sent) {
        assert!(
            f.reached(*expected, 30).await,
            "{} saw up to {} of {expected}",
            f.user,
            f.seen().last()
        );
        f.assert_gap_free(*expected);
        let seen = f.seen();
        assert!(
            seen.hellos[1..]
                .iter()
                .all(|(port, recovered)| *port != c.port(DRAINED) && *recovered),
            "{}: resumed {:?}",
            f.user,
            seen.hellos
        );
    }
    println!("MEASURED: SIGTERM handover: {USERS} clients closed with {GOING_AWAY}, {sent:?} notifications each, none lost");
}
