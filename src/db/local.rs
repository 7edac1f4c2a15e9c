//! A PostgreSQL server of doorman's own, run with the installed server
//! binaries when `DATABASE_URL` is unset (the demo, a first try, the tests
//! on a machine without a running server).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why the local server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalPostgresError {
    /// No `initdb`/`pg_ctl` on this machine.
    #[error(
        "DATABASE_URL is unset and no PostgreSQL server binaries (initdb, pg_ctl) were found on PATH or under \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; Fedora: \
         `sudo dnf install postgresql-server`; macOS: `brew install postgresql@16`), or set DATABASE_URL to a \
         running server."
    )]
    BinariesNotFound,
    /// Running as root, which PostgreSQL refuses, and no `postgres` user to
    /// run it as.
    #[error("running as root: PostgreSQL refuses that, and there is no `postgres` user to run it as")]
    NoUnprivilegedUser,
    /// A server command failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// What was run.
        command: String,
        /// What it printed.
        detail: String,
    },
    /// A file system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Options of a local server.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalOptions {
    /// Trade durability for speed (tests): no fsync, no synchronous commit.
    pub ephemeral: bool,
}

/// A running local PostgreSQL. Stopped on drop if this process started it.
#[derive(Debug)]
pub struct LocalPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    started_here: bool,
}

impl LocalPostgres {
    /// Starts (initialising if needed) the server whose data lives in
    /// `data_dir`, or joins it when it is already running. Blocking: call it
    /// from `spawn_blocking` inside a runtime.
    pub fn start(data_dir: &Path, options: LocalOptions) -> Result<Self, LocalPostgresError> {
        let bin_dir = find_bin_dir().ok_or(LocalPostgresError::BinariesNotFound)?;
        let run_as = unprivileged_user()?;
        let data_dir = absolute(data_dir)?;
        let mut server = Self { data_dir, bin_dir, port: 0, run_as, started_here: false };
        if !server.data_dir.join("PG_VERSION").exists() {
            server.init()?;
        }
        if let Some(port) = server.running_port() {
            server.port = port;
            return Ok(server);
        }
        server.port = free_port()?;
        server.launch(options)?;
        server.started_here = true;
        Ok(server)
    }

    /// A URL for `database` on this server, as the `postgres` superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The TCP port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Restarts the server on the same port (`pg_ctl restart -m fast`):
    /// every connection is cut. For fault tests.
    pub fn restart(&self) -> Result<(), LocalPostgresError> {
        let data_dir = self.data_dir.display().to_string();
        let log = self.data_dir.join("server.log").display().to_string();
        self.run("pg_ctl", &["restart", "-D", &data_dir, "-l", &log, "-m", "fast", "-w", "-t", "60"])?;
        Ok(())
    }

    /// Stops the server if this process started it.
    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        self.started_here = false;
        let data_dir = self.data_dir.display().to_string();
        if let Err(e) = self.run("pg_ctl", &["stop", "-D", &data_dir, "-m", "fast", "-w", "-t", "30"]) {
            tracing::warn!(error = %e, "stopping the local PostgreSQL");
        }
    }

    fn init(&self) -> Result<(), LocalPostgresError> {
        create_dir(&self.data_dir)?;
        self.hand_over(&self.data_dir)?;
        let data_dir = self.data_dir.display().to_string();
        self.run(
            "initdb",
            &["-D", &data_dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
        )?;
        Ok(())
    }

    fn launch(&self, options: LocalOptions) -> Result<(), LocalPostgresError> {
        let data_dir = self.data_dir.display().to_string();
        let log = self.data_dir.join("server.log").display().to_string();
        let mut server_options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200",
            self.port
        );
        if options.ephemeral {
            server_options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        self.run("pg_ctl", &["start", "-D", &data_dir, "-l", &log, "-w", "-t", "60", "-o", &server_options]).map_err(
            |e| match e {
                LocalPostgresError::Command { command, detail } => {
                    LocalPostgresError::Command { command, detail: format!("{detail}\nserver log: {log}") }
                }
                other => other,
            },
        )?;
        Ok(())
    }

    /// The port of a server already running on this data directory.
    fn running_port(&self) -> Option<u16> {
        let data_dir = self.data_dir.display().to_string();
        self.run("pg_ctl", &["status", "-D", &data_dir]).ok()?;
        // postmaster.pid: pid, data dir, start time, port, ...
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, LocalPostgresError> {
        let binary = self.bin_dir.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        command.args(args).env_remove("PGDATA").current_dir(&self.data_dir);
        let described = format!("{program} {}", args.first().copied().unwrap_or_default());
        let output = command
            .output()
            .map_err(|source| LocalPostgresError::Io { context: format!("running {}", binary.display()), source })?;
        if !output.status.success() {
            let detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(LocalPostgresError::Command { command: described, detail });
        }
        Ok(output)
    }

    /// Gives the unprivileged user a directory it must own.
    fn hand_over(&self, dir: &Path) -> Result<(), LocalPostgresError> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let status = Command::new("chown")
            .args(["-R", &format!("{user}:"), &dir.display().to_string()])
            .status()
            .map_err(|source| LocalPostgresError::Io { context: "running chown".into(), source })?;
        if !status.success() {
            return Err(LocalPostgresError::Command { command: "chown".into(), detail: status.to_string() });
        }
        Ok(())
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where `initdb` and `pg_ctl` are: on PATH, or the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu keep them there).
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let on_path =
        std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect::<Vec<_>>()).unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|d| has_tools(d)) {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// PostgreSQL refuses to run as root; then run it as `postgres`.
fn unprivileged_user() -> Result<Option<String>, LocalPostgresError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let exists = Command::new("id").arg("-u").arg("postgres").output().map(|o| o.status.success()).unwrap_or(false);
    if exists {
        Ok(Some("postgres".to_owned()))
    } else {
        Err(LocalPostgresError::NoUnprivilegedUser)
    }
}

fn free_port() -> Result<u16, LocalPostgresError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|source| LocalPostgresError::Io { context: "finding a free port".into(), source })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| LocalPostgresError::Io { context: "finding a free port".into(), source })
}

/// Creates the data directory (0700, as PostgreSQL demands); its parents get
/// the usual permissions so that an unprivileged server can reach it.
fn create_dir(dir: &Path) -> Result<(), LocalPostgresError> {
    use std::os::unix::fs::DirBuilderExt;
    let io = |source| LocalPostgresError::Io { context: format!("creating {}", dir.display()), source };
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(dir).map_err(io)
}

fn absolute(dir: &Path) -> Result<PathBuf, LocalPostgresError> {
    std::path::absolute(dir)
        .map_err(|source| LocalPostgresError::Io { context: format!("resolving {}", dir.display()), source })
}
