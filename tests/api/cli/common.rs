//! Running the built `herald` binary with a chosen environment.

use crate::helpers::TestApp;
use std::process::{Command, Stdio};

/// What one run of `herald` printed, and how it exited.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages.
    pub fn both(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `herald ARGS` in an empty directory with only `env` (and PATH) set, so
/// neither this process's `HERALD_*` variables nor a `herald.toml` leak in.
/// Off the test's thread: the server under test runs on it.
pub(crate) async fn herald(args: &[&str], env: &[(&str, String)], stdin: Option<String>) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HERALD_DATA_DIR", dir.path())
        .env("HERALD_FIRST_RUN_BANNER", "false")
        .env("HERALD_LOG", "warn")
        // Errors must read plainly even where backtraces are asked for.
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("spawn herald");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("herald output");
        drop(dir);
        out
    })
    .await
    .expect("herald run");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The server and key the HTTP commands use.
pub(crate) fn against(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("HERALD_URL", app.address.clone()),
        ("HERALD_API_KEY", app.admin_key.clone()),
        ("HERALD_DATABASE_URL", app.database_url.clone()),
    ]
}

/// Never a panic or a backtrace, whatever went wrong.
pub(crate) fn assert_no_panic(run: &Run) {
    let all = run.both().to_lowercase();
    for bad in ["panicked", "stack backtrace", "rust_backtrace"] {
        assert!(!all.contains(bad), "{bad} in the output:\n{all}");
    }
}
