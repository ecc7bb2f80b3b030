use anyhow::Context;
use clap::{Parser, Subcommand};
use natter::auth::{JwtKeys, PasswordHasher};
use natter::config::Settings;
use natter::db::Db;
use natter::services::seed::{self, SeedPlan};
use natter::startup::App;

#[derive(Parser)]
#[command(name = "natter", version, about = "A fast, self-hostable chat and authentication backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Fill a fresh database with benchmark data and print a JSON summary.
    Seed(SeedPlan),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `.env` is optional; real environment variables and flags win over it.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    natter::telemetry::init(cli.settings.log_format, &cli.settings.log_level);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = App::build(cli.settings).await?;
            tracing::info!("natter listening on {}", app.url());
            app.run_until_stopped().await
        }
        Command::Seed(plan) => {
            let settings = cli.settings;
            std::fs::create_dir_all(&settings.data_dir).context("creating DATA_DIR")?;
            let db = Db::connect(&settings.database_url(), &settings.db_options()).await?;
            db.migrate().await?;
            let hasher = PasswordHasher::new(settings.password_hash, settings.bcrypt_cost, 1).await?;
            let jwt = JwtKeys::new(&settings.resolve_jwt_secret()?, settings.access_token_ttl);
            let summary = seed::run(&db, &hasher, &jwt, &plan).await?;
            println!("{}", serde_json::to_string(&summary)?);
            db.close().await;
            Ok(())
        }
    }
}
