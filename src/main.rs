//! `segmentiq`: the server (default), migrations, the offline engine, sample data, the schema.

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use segmentiq::app::AppState;
use segmentiq::cli;
use segmentiq::config::Config;
use segmentiq::db::local_cluster::{self, LocalCluster};
use segmentiq::server;

#[derive(Parser)]
#[command(
    name = "segmentiq",
    version,
    about = "Customer segmentation by hierarchical clustering"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages, GraphQL and the REST API (the default).
    Serve,
    /// Create the database if needed, run pending migrations and exit.
    Migrate,
    /// Segment a CSV file offline and write assignments, linkage, metrics and charts.
    Cluster(cli::cluster::ClusterArgs),
    /// Place new customers in the segments of a run, from the run's model.json.
    Assign(cli::assign::AssignArgs),
    /// Write the synthetic Ethiopian supermarket customer table as CSV.
    SampleData(cli::sample_data::SampleDataArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Exit 0 if the server on BIND_ADDR answers `/healthz` (for container health checks,
    /// which have no curl in the runtime image).
    Healthcheck,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // One clear sentence, not a backtrace: the chain of causes on one line.
        eprintln!("segmentiq: {}", chain(&e));
        std::process::exit(1);
    }
}

fn chain(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime()?.block_on(serve()),
        Command::Migrate => runtime()?.block_on(async {
            let mut config = configure()?;
            let _cluster = local_database(&mut config).await?;
            server::prepare(&config).await.map(|_| ())
        }),
        Command::Cluster(args) => cli::cluster::run(args),
        Command::Assign(args) => cli::assign::run(args),
        Command::SampleData(args) => cli::sample_data::run(args),
        Command::Schema => {
            print!("{}", segmentiq::graphql::sdl());
            Ok(())
        }
        Command::Healthcheck => healthcheck(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Loads `.env` (if any), sets up logging and reads the configuration.
fn configure() -> anyhow::Result<Config> {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("segmentiq=info,tower_http=info")),
        )
        .init();
    Ok(Config::from_env()?)
}

/// Without `DATABASE_URL` and with nothing on localhost, a private PostgreSQL (see
/// `db::local_cluster`); `config` then points at it. Keep the guard until the end: dropping it
/// stops the cluster, on the way out through an error too.
async fn local_database(config: &mut Config) -> anyhow::Result<Option<LocalCluster>> {
    let cluster = local_cluster::start_if_needed(config.local_postgres.as_ref()).await?;
    if let Some(cluster) = &cluster {
        config.database_url = cluster.database_url();
    }
    Ok(cluster)
}

async fn serve() -> anyhow::Result<()> {
    let mut config = configure()?;
    let _cluster = local_database(&mut config).await?;
    let pool = server::prepare(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (BIND_ADDR): {e}", config.bind_addr))?;
    let state = AppState::new(pool, config);
    server::serve(state, listener, shutdown_signal()).await
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn healthcheck() -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let _ = dotenvy::dotenv();
    let mut addr = Config::from_env()?.bind_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = std::time::Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    anyhow::ensure!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "unhealthy: {}",
        response.lines().next().unwrap_or("")
    );
    Ok(())
}
