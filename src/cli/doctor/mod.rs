//! `herald doctor`: parses every setting, then reaches every configured
//! database, Redis, RabbitMQ, SMTP relay and provider, one plain line per
//! check. Any failure exits 1. Secrets never print: URLs show host and port.

mod probes;

use crate::config::Settings;
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

/// How long each network check may take unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Seconds each network check may take.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Not configured, so not checked.
    Skip,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub what: String,
    pub detail: String,
}

impl Check {
    pub fn new(status: Status, what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            what: what.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.status {
            Status::Ok => "ok   ",
            Status::Skip => "skip ",
            Status::Warn => "warn ",
            Status::Fail => "FAIL:",
        };
        write!(f, "{tag} {}: {}", self.what, self.detail)
    }
}

pub async fn run(args: DoctorArgs) -> ExitCode {
    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut failed = 0;
    let mut report = |c: Check| {
        failed += usize::from(c.status == Status::Fail);
        println!("{c}");
    };
    let settings = match Settings::load() {
        Ok(s) => {
            report(Check::new(
                Status::Ok,
                "configuration",
                "every setting parses",
            ));
            s
        }
        Err(e) => {
            report(Check::new(Status::Fail, "configuration", e.to_string()));
            for c in invalid_variables(std::env::vars()) {
                report(c);
            }
            report(Check::new(
                Status::Skip,
                "services",
                "not checked until the configuration loads",
            ));
            return ExitCode::FAILURE;
        }
    };
    for c in startup_checks(&settings) {
        report(c);
    }
    for c in probes::all(&settings, timeout).await {
        report(c);
    }
    if failed > 0 {
        println!("{failed} check(s) failed");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Each `HERALD_*` variable loaded alone over the defaults, so every invalid one
/// is named (loading them together stops at the first).
fn invalid_variables(vars: impl Iterator<Item = (String, String)>) -> Vec<Check> {
    let mut out = vec![];
    let mut vars: Vec<(String, String)> = vars
        .filter(|(k, _)| k.starts_with("HERALD_") && k != "HERALD_CONFIG" && k != "HERALD_URL")
        .collect();
    vars.sort();
    for (key, value) in vars {
        let alone = HashMap::from([(key.clone(), value)]);
        if let Err(e) = Settings::from_vars(alone) {
            out.push(Check::new(Status::Fail, key, e.to_string()));
        }
    }
    out
}

/// What `herald serve` parses only when it starts, checked without starting it.
fn startup_checks(s: &Settings) -> Vec<Check> {
    let mut out = vec![];
    let mut check = |what: &str, result: Result<(), String>| {
        if let Err(e) = result {
            out.push(Check::new(Status::Fail, what, e));
        }
    };
    check(
        "HERALD_RATE_LIMIT__*",
        crate::ratelimit::RateLimits::new(&s.rate_limit)
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    check(
        "HERALD_SHUTDOWN_DEADLINE_SECS",
        crate::shutdown::Deadline::parse(s.shutdown_deadline_secs)
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    check(
        "HERALD_BUS",
        crate::bus::BusSettings::from_settings(s)
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    check(
        "callbacks",
        crate::channels::callbacks::CallbackGuard::from_settings(s)
            .map(drop)
            .map_err(|e| e.to_string()),
    );
    if let Some(secret) = &s.jwt_secret {
        use secrecy::ExposeSecret;
        check(
            "JWT",
            crate::startup::jwt_keys(s, secret.expose_secret().as_bytes())
                .map(drop)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    (secret.expose_secret().len() >= 32)
                        .then_some(())
                        .ok_or_else(|| "HERALD_JWT_SECRET must be at least 32 characters".into())
                }),
        );
    }
    if out.is_empty() {
        out.push(Check::new(
            Status::Ok,
            "startup settings",
            "rate limits, shutdown deadline, bus, callbacks and JWT keys are valid",
        ));
    }
    out
}

/// `host:port` of a URL, the only part of it a report shows.
pub fn host_port(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => u.scheme().to_string(),
        },
        Err(_) => "an unparseable URL".into(),
    }
}

/// The URL with its password replaced by `***`.
pub fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "an unparseable URL".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_show_their_password() {
        assert_eq!(
            mask_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(mask_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            host_port("postgres://u:p@db.example:5433/h"),
            "db.example:5433"
        );
        assert_eq!(host_port("https://api.twilio.com"), "api.twilio.com:443");
        assert!(!mask_url("not a url :pw@").contains("pw"));
    }

    #[test]
    fn a_report_line_starts_with_its_status() {
        let c = Check::new(
            Status::Fail,
            "RabbitMQ at 127.0.0.1:5673",
            "connection refused",
        );
        assert_eq!(
            c.to_string(),
            "FAIL: RabbitMQ at 127.0.0.1:5673: connection refused"
        );
        assert!(Check::new(Status::Ok, "Redis", "PONG")
            .to_string()
            .starts_with("ok    Redis"));
    }

    #[test]
    fn every_invalid_variable_is_named() {
        let vars = [
            ("HERALD_WS__HUB_SHARDS", "zero"),
            ("HERALD_BIND", "127.0.0.1:1"),
            ("HERALD_DELIVERY_LEASE_SECS", "0"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let named: Vec<String> = invalid_variables(vars.into_iter())
            .into_iter()
            .map(|c| c.what)
            .collect();
        assert_eq!(
            named,
            ["HERALD_DELIVERY_LEASE_SECS", "HERALD_WS__HUB_SHARDS"]
        );
    }
}
