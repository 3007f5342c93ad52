//! A private PostgreSQL for the first start on a machine where none is running.
//!
//! When `DATABASE_URL` is not set and nothing answers on `localhost:PGPORT`, but PostgreSQL's
//! programs are installed, SegmentIQ creates a cluster in `PGDATA_DIR` (`initdb`, once), starts
//! `postgres` as its own child with no TCP listener and its Unix socket in that directory, and
//! stops it (`pg_ctl stop -m fast`) when SegmentIQ stops, also when it stops through an error.
//! `initdb` and `pg_ctl` refuse to run as root, so as root they run as the `postgres` OS user.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::config::LocalPostgres;

/// The port in the socket's name (`.s.PGSQL.5432`); no TCP port is opened.
const SOCKET_PORT: u16 = 5432;
/// Longest Unix socket path Linux accepts (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 107;
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running private cluster; stopped when dropped.
pub struct LocalCluster {
    data_dir: PathBuf,
    pg_ctl: PathBuf,
    run_as: Option<(u32, u32)>,
    /// The postmaster, when this process started it (not when it found one left running).
    postmaster: Option<Child>,
}

impl LocalCluster {
    /// The URL of the `segmentiq` database over the cluster's socket.
    pub fn database_url(&self) -> String {
        socket_url(&self.data_dir)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn stop(&mut self) {
        tracing::info!(data_dir = %self.data_dir.display(), "stopping the private PostgreSQL");
        let stopped = command(&self.pg_ctl, self.run_as, &self.data_dir)
            .args(["stop", "-m", "fast", "-w", "-t", "60", "-D"])
            .arg(&self.data_dir)
            .output();
        match stopped {
            Ok(out) if out.status.success() => {}
            Ok(out) => tracing::error!(
                output = %String::from_utf8_lossy(&out.stderr).trim(),
                "pg_ctl stop failed; the private PostgreSQL may still be running"
            ),
            Err(e) => tracing::error!(error = %e, "could not run pg_ctl stop"),
        }
        if let Some(mut child) = self.postmaster.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a private cluster if `DATABASE_URL` is unset (`local` is `Some`) and nothing answers
/// on `localhost:port`; `None` when the local server (or `DATABASE_URL`) is to be used.
pub async fn start_if_needed(
    local: Option<&LocalPostgres>,
) -> anyhow::Result<Option<LocalCluster>> {
    let Some(local) = local else {
        return Ok(None);
    };
    if answers_on_localhost(local.port).await {
        return Ok(None);
    }
    let Some(bin) = find_programs(local.bin_dir.as_deref()) else {
        bail!("{}", install_advice(local.port));
    };
    let data_dir = std::path::absolute(&local.data_dir).with_context(|| {
        format!(
            "PGDATA_DIR={} is not a usable path",
            local.data_dir.display()
        )
    })?;
    let socket = data_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        bail!(
            "PGDATA_DIR={} is too long a path for PostgreSQL's Unix socket, which lives there \
             (at most {} characters); set PGDATA_DIR to a shorter path",
            data_dir.display(),
            MAX_SOCKET_PATH - socket.as_os_str().len() + data_dir.as_os_str().len()
        );
    }
    let run_as = run_as()?;
    let cluster = tokio::task::spawn_blocking(move || start(bin, data_dir, run_as)).await??;
    tracing::info!(
        data_dir = %cluster.data_dir.display(),
        "no PostgreSQL answers on localhost:{} and DATABASE_URL is not set: using a private \
         PostgreSQL in {} (Unix socket in that directory, log in postgres.log there); it stops \
         when SegmentIQ stops",
        local.port,
        cluster.data_dir.display()
    );
    let mut cluster = cluster;
    wait_until_ready(&mut cluster).await?;
    Ok(Some(cluster))
}

async fn answers_on_localhost(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect(("localhost", port));
    matches!(
        tokio::time::timeout(Duration::from_secs(2), connect).await,
        Ok(Ok(_))
    )
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `PG_BIN_DIR`, else the first
/// directory on `PATH` with all three, else Debian's newest `/usr/lib/postgresql/<v>/bin`.
fn find_programs(bin_dir: Option<&Path>) -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    if let Some(dir) = bin_dir {
        return complete(dir).then(|| dir.to_path_buf());
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|d| complete(d)) {
        return Some(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    debian.sort();
    debian.pop().map(|(_, dir)| dir)
}

/// What to do on a machine with no PostgreSQL at all.
fn install_advice(port: u16) -> String {
    format!(
        "SegmentIQ keeps its data in PostgreSQL, and none is reachable: DATABASE_URL is not set, \
         nothing answers on localhost:{port}, and PostgreSQL's programs (initdb, pg_ctl, postgres) \
         are neither on PATH nor in /usr/lib/postgresql/<version>/bin, so SegmentIQ cannot start \
         a private one either. Install them (Debian or Ubuntu: `sudo apt-get install postgresql`; \
         the packaged cluster then starts with `sudo pg_ctlcluster <version> main start` and asks \
         for a password over TCP, so either stop it and let SegmentIQ run its own in PGDATA_DIR, \
         or set DATABASE_URL=postgres://user:password@localhost:5432/segmentiq), or run \
         `docker compose up` in SegmentIQ's directory for PostgreSQL and SegmentIQ together, or \
         set PG_BIN_DIR to the directory that holds initdb and pg_ctl"
    )
}

/// initdb and pg_ctl refuse to run as root: as root, the cluster is the `postgres` user's.
fn run_as() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
            _ => None,
        }
    });
    match ids {
        Some(ids) => Ok(Some(ids)),
        None => bail!(
            "SegmentIQ runs as root, and PostgreSQL refuses to run as root; there is no \
             `postgres` user to run a private cluster as: run SegmentIQ as an ordinary user, \
             create the user (`useradd --system --home-dir /var/lib/postgresql postgres`), or \
             set DATABASE_URL"
        ),
    }
}

/// A PostgreSQL program, as the cluster's owner, in the data directory (so no tool complains
/// that it cannot enter root's working directory).
fn command(program: &Path, run_as: Option<(u32, u32)>, cwd: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(program);
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid);
    }
    if cwd.is_dir() {
        cmd.current_dir(cwd);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn start(
    bin: PathBuf,
    data_dir: PathBuf,
    run_as: Option<(u32, u32)>,
) -> anyhow::Result<LocalCluster> {
    use std::os::unix::fs::PermissionsExt;
    let pg_ctl = bin.join("pg_ctl");
    let mut cluster = LocalCluster {
        data_dir: data_dir.clone(),
        pg_ctl: pg_ctl.clone(),
        run_as,
        postmaster: None,
    };
    let owner_hint = || match run_as {
        Some(_) => format!(
            " (PostgreSQL runs as the postgres user, which must be able to enter every parent of \
             {}; choose a PGDATA_DIR it can reach, e.g. under /var/lib)",
            data_dir.display()
        ),
        None => String::new(),
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create PGDATA_DIR={}", data_dir.display()))?;
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700))?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(&data_dir, Some(uid), Some(gid))
            .with_context(|| format!("cannot give {} to the postgres user", data_dir.display()))?;
    }

    if !data_dir.join("PG_VERSION").exists() {
        tracing::info!(data_dir = %data_dir.display(), "creating a private PostgreSQL cluster (initdb)");
        let out = command(&bin.join("initdb"), run_as, &data_dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "-D",
            ])
            .arg(&data_dir)
            .output()
            .context("cannot run initdb")?;
        if !out.status.success() {
            bail!(
                "initdb could not create a cluster in {}{}: {}",
                data_dir.display(),
                owner_hint(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }

    let running = command(&pg_ctl, run_as, &data_dir)
        .args(["status", "-D"])
        .arg(&data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if running {
        // Left running by a SegmentIQ that was killed: use it, and stop it on the way out.
        tracing::info!(data_dir = %data_dir.display(), "the private PostgreSQL is already running");
        return Ok(cluster);
    }

    let log_path = data_dir.join("postgres.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot write {}", log_path.display()))?;
    if let Some((uid, gid)) = run_as {
        let _ = std::os::unix::fs::chown(&log_path, Some(uid), Some(gid));
    }
    let mut postgres = command(&bin.join("postgres"), run_as, &data_dir);
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: Ctrl-C in a terminal reaches SegmentIQ only, which finishes
        // its requests and re-queues its runs before it stops the database.
        postgres.process_group(0);
    }
    let child = postgres
        .arg("-D")
        .arg(&data_dir)
        .args([
            "-c",
            "listen_addresses=",
            "-p",
            &SOCKET_PORT.to_string(),
            "-k",
        ])
        .arg(&data_dir)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start postgres")?;
    cluster.postmaster = Some(child);
    Ok(cluster)
}

/// Waits until the cluster accepts connections; fails with the end of its log if the
/// postmaster exits first.
async fn wait_until_ready(cluster: &mut LocalCluster) -> anyhow::Result<()> {
    let mut admin = url::Url::parse(&cluster.database_url())?;
    admin.set_path("/postgres");
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if AsyncPgConnection::establish(admin.as_str()).await.is_ok() {
            return Ok(());
        }
        let exited = match cluster.postmaster.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => false,
        };
        if exited || tokio::time::Instant::now() > deadline {
            let log =
                std::fs::read_to_string(cluster.data_dir.join("postgres.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "the private PostgreSQL in {} did not start: {}",
                cluster.data_dir.display(),
                tail.join(" / ")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `segmentiq` database over the Unix socket in `dir`; the driver takes a percent-encoded
/// path as the host.
fn socket_url(dir: &Path) -> String {
    format!(
        "postgres://postgres@{}/segmentiq",
        percent_encode(&dir.to_string_lossy())
    )
}

/// A socket directory as a URL host: every byte but unreserved ones as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_directories_become_url_hosts() {
        let url = socket_url(Path::new("/tmp/my data/pgdata"));
        assert_eq!(
            url,
            "postgres://postgres@%2Ftmp%2Fmy%20data%2Fpgdata/segmentiq"
        );
        let parsed = url::Url::parse(&url).expect("a URL");
        assert_eq!(parsed.path(), "/segmentiq");
    }

    #[test]
    fn the_advice_names_what_to_install_and_the_alternatives() {
        let advice = install_advice(5432);
        for needle in [
            "apt-get install postgresql",
            "docker compose up",
            "DATABASE_URL",
            "PG_BIN_DIR",
        ] {
            assert!(advice.contains(needle), "{needle}: {advice}");
        }
    }
}
