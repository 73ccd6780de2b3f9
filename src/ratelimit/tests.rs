use super::*;
use governor::clock::FakeRelativeClock;

fn five_per_sec_burst_ten(
    clock: &FakeRelativeClock,
) -> KeyedLimit<&'static str, FakeRelativeClock> {
    let quota =
        Quota::per_second(NonZeroU32::new(5).unwrap()).allow_burst(NonZeroU32::new(10).unwrap());
    KeyedLimit::with_clock(Policy::User, quota, clock.clone())
}

fn exceeded(r: Result<Standing, RateLimitError>) -> (Standing, u64) {
    match r {
        Err(RateLimitError::Exceeded {
            standing,
            retry_after_secs,
        }) => (standing, retry_after_secs),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_burst_is_allowed_and_the_next_request_is_refused() {
    let clock = FakeRelativeClock::default();
    let limit = five_per_sec_burst_ten(&clock);
    for left in (0..10).rev() {
        let standing = limit.check(&"alice").unwrap();
        assert_eq!(standing.remaining, left);
        assert_eq!((standing.quota, standing.window_secs), (10, 2));
    }
    let (standing, retry) = exceeded(limit.check(&"alice"));
    assert_eq!(standing.remaining, 0);
    // One request returns after 200 ms, rounded up to a whole second.
    assert_eq!(retry, 1);
    assert_eq!(standing.reset_secs, 2);
}

#[test]
fn keys_have_separate_buckets() {
    let clock = FakeRelativeClock::default();
    let limit = five_per_sec_burst_ten(&clock);
    for _ in 0..10 {
        limit.check(&"alice").unwrap();
    }
    assert!(limit.check(&"alice").is_err());
    assert_eq!(limit.check(&"bob").unwrap().remaining, 9);
}

#[test]
fn the_bucket_refills_at_the_sustained_rate() {
    let clock = FakeRelativeClock::default();
    let limit = five_per_sec_burst_ten(&clock);
    for _ in 0..10 {
        limit.check(&"alice").unwrap();
    }
    clock.advance(Duration::from_millis(200));
    assert!(limit.check(&"alice").is_ok());
    assert!(limit.check(&"alice").is_err());
}

#[test]
fn retry_after_is_never_zero_even_when_the_wait_is_tiny() {
    let clock = FakeRelativeClock::default();
    let limit = five_per_sec_burst_ten(&clock);
    for _ in 0..10 {
        limit.check(&"alice").unwrap();
    }
    clock.advance(Duration::from_millis(199));
    let (_, retry) = exceeded(limit.check(&"alice"));
    assert_eq!(retry, 1);
}

#[test]
fn sweeping_forgets_idle_keys_and_keeps_busy_ones() {
    let clock = FakeRelativeClock::default();
    let limit = five_per_sec_burst_ten(&clock);
    for n in 0..1000 {
        let key: &'static str = Box::leak(format!("user-{n}").into_boxed_str());
        limit.check(&key).unwrap();
    }
    assert_eq!(limit.len(), 1000);
    clock.advance(Duration::from_secs(3));
    for _ in 0..10 {
        limit.check(&"busy").unwrap();
    }
    limit.sweep();
    assert_eq!(limit.len(), 1, "only the key still refilling is kept");
}

#[test]
fn an_hourly_quota_allows_its_count_then_refuses_for_minutes() {
    let clock = FakeRelativeClock::default();
    let quota = Quota::per_hour(NonZeroU32::new(20).unwrap());
    let limit = KeyedLimit::with_clock(Policy::Test, quota, clock.clone());
    for _ in 0..20 {
        limit.check(&"alice").unwrap();
    }
    let (standing, retry) = exceeded(limit.check(&"alice"));
    assert_eq!((standing.quota, standing.window_secs), (20, 3600));
    assert_eq!(retry, 180);
    assert_eq!(standing.reset_secs, 3600);
}

#[test]
fn a_zero_rate_means_unlimited_and_a_zero_burst_is_refused() {
    let settings = |user_per_sec, user_burst| RateLimitSettings {
        user_per_sec,
        user_burst,
        api_key_per_sec: 0,
        api_key_burst: 0,
        test_per_user_per_hour: 0,
    };
    let limits = RateLimits::new(&settings(0, 0)).unwrap();
    let user = UserId::parse("u").unwrap();
    for _ in 0..1000 {
        assert_eq!(limits.user(&user).unwrap(), None);
        assert_eq!(limits.test_notification(&user).unwrap(), None);
    }
    assert!(matches!(
        RateLimits::new(&settings(5, 0)),
        Err(RateLimitError::InvalidSetting {
            setting: "rate_limit.user_burst"
        })
    ));
}
