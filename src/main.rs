use clap::{Parser, Subcommand};
use natter::config::Settings;
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
    }
}
