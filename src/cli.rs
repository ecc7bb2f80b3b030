//! The `natter` command line: `serve` (the default), `migrate`, `seed`, `user …` and
//! `config`. Settings come from flags over environment variables over `.env` over defaults;
//! every failure is one `error: …` line on stderr and a non-zero exit, never a panic.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::auth::{JwtKeys, PasswordHasher};
use crate::config::Settings;
use crate::db::Db;
use crate::db::users::UserRow;
use crate::domain::{Email, FullName, Password, Role, UserType, Username};
use crate::error::ApiError;
use crate::services::seed::{self, SeedPlan};
use crate::services::{auth as auth_service, users as user_service};
use crate::startup::{App, AppState};

#[derive(Parser)]
#[command(name = "natter", version, about = "A fast, self-hostable chat and authentication backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten, next_help_heading = "Settings (flag, or environment variable, or .env)")]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, Socket.IO and the web client (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Fill a fresh database with benchmark data and print a JSON summary.
    Seed(SeedPlan),
    /// Manage accounts from the shell.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the effective settings and where each came from (secrets redacted).
    Config,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from a prompt, or from the first line of
    /// stdin when stdin is not a terminal; never from the command line.
    Create {
        #[arg(long)]
        email: String,
        /// Display name (`fullName`).
        #[arg(long)]
        name: String,
        #[arg(long)]
        username: Option<String>,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Give an account the role `user`, `moderator` or `admin`.
    SetRole {
        /// E-mail, username or id.
        user: String,
        #[arg(value_parser = ["user", "moderator", "admin"])]
        role: String,
    },
    /// List accounts, oldest first.
    List {
        /// Only accounts whose name, username or e-mail contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line (after loading `.env`), runs the command and turns any error
/// into one line and exit code 1. clap's own usage errors exit with 2.
pub fn main() -> ExitCode {
    let from_dotenv = match load_dotenv() {
        Ok(keys) => keys,
        Err(e) => return fail(&e),
    };
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("starting the async runtime")),
    };
    match runtime.block_on(run(cli, &matches, &from_dotenv)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    // `{:#}` puts the whole cause chain on one line.
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

/// Loads `.env` (when there is one) without overriding the real environment; returns the
/// names it set, so `natter config` can tell `.env` from the environment.
fn load_dotenv() -> anyhow::Result<HashSet<String>> {
    let iter = match dotenvy::dotenv_iter() {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Ok(HashSet::new()),
        Err(e) => return Err(anyhow::Error::new(e).context("reading .env")),
    };
    let mut set = HashSet::new();
    for item in iter {
        let (key, value) = item.context("reading .env")?;
        if std::env::var_os(&key).is_none() {
            // SAFETY: called before the runtime or any other thread starts.
            unsafe { std::env::set_var(&key, value) };
            set.insert(key);
        }
    }
    Ok(set)
}

async fn run(cli: Cli, matches: &ArgMatches, from_dotenv: &HashSet<String>) -> anyhow::Result<()> {
    let settings = cli.settings;
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Config) {
        crate::telemetry::init(settings.log_format, &settings.log_level);
    }
    match command {
        Command::Serve => {
            let app = App::build(settings).await?;
            tracing::info!("natter listening on {}", app.url());
            app.run_until_stopped().await
        }
        Command::Migrate => {
            settings.validate()?;
            std::fs::create_dir_all(&settings.data_dir).context("creating DATA_DIR")?;
            let db = Db::connect(&settings.database_url(), &settings.db_options()).await?;
            let before = db.schema_version().await?;
            db.migrate().await.context("applying database migrations")?;
            let after = db.schema_version().await?;
            match before == after {
                true => println!("database is up to date (schema version {})", show_version(after)),
                false => println!("migrated from schema version {} to {}", show_version(before), show_version(after)),
            }
            db.close().await;
            Ok(())
        }
        Command::Seed(plan) => {
            settings.validate()?;
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
        Command::User(command) => {
            // Parse what can be parsed before connecting or prompting.
            let plan = UserPlan::parse(command, settings.password_min_length)?;
            // A CLI process is not a cluster node: it joins no bus (running nodes see a role
            // change within AUTH_CACHE_TTL).
            let settings = Settings { redis_url: None, ..settings };
            let (state, _socket_layer) = AppState::from_settings(settings).await?;
            let result = run_user(&state, plan).await;
            state.realtime.close().await;
            state.db.close().await;
            result
        }
        Command::Config => {
            print_config(matches, from_dotenv);
            settings.validate()
        }
    }
}

fn show_version(v: Option<i64>) -> String {
    v.map_or_else(|| "none".into(), |v| v.to_string())
}

enum UserPlan {
    Create { signup: auth_service::Signup, admin: bool },
    SetRole { user: String, role: Role },
    List { search: Option<String>, limit: u32, json: bool },
}

impl UserPlan {
    fn parse(command: UserCommand, min_password: usize) -> anyhow::Result<Self> {
        Ok(match command {
            UserCommand::Create { email, name, username, admin } => {
                let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email is {}", e.replace('_', " ")))?;
                let full_name =
                    FullName::parse(&name).map_err(|e| anyhow::anyhow!("--name is {}", e.replace('_', " ")))?;
                let username = match username {
                    Some(raw) => Some(
                        Username::parse(&raw).map_err(|e| anyhow::anyhow!("--username is {}", e.replace('_', " ")))?,
                    ),
                    None => None,
                };
                let raw = read_password()?;
                let password = Password::parse(&raw, min_password).map_err(|reason| match reason {
                    "required" => anyhow::anyhow!("no password given"),
                    "too_short" => anyhow::anyhow!("the password is shorter than {min_password} characters"),
                    "too_long" => anyhow::anyhow!("the password is longer than 128 characters"),
                    _ => anyhow::anyhow!("the password is one of the most common ones: choose another"),
                })?;
                Self::Create {
                    signup: auth_service::Signup {
                        full_name,
                        email,
                        username,
                        password: Some(password),
                        user_type: UserType::Consumer,
                    },
                    admin,
                }
            }
            UserCommand::SetRole { user, role } => {
                Self::SetRole { user, role: Role::parse(&role).context("role must be user, moderator or admin")? }
            }
            UserCommand::List { search, limit, json } => Self::List { search, limit, json },
        })
    }
}

/// From a no-echo prompt (asked twice) on a terminal, else the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let again = rpassword::prompt_password("Password again: ").context("reading the password")?;
        if first != again {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

async fn run_user(state: &AppState, plan: UserPlan) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match plan {
        UserPlan::Create { signup, admin } => {
            let mut user = auth_service::create_account(state, signup).await.map_err(api_error)?;
            if admin && user.role() != Role::Admin {
                user = user_service::set_role_as_operator(state, &user.user_id()?, Role::Admin)
                    .await
                    .map_err(api_error)?;
            }
            writeln!(out, "created {} <{}> with role {} (id {})", user.full_name, user.email, user.role, user.id)?;
        }
        UserPlan::SetRole { user, role } => {
            let found = user_service::find_by_login_or_id(state, &user).await.map_err(api_error)?;
            let user = user_service::set_role_as_operator(state, &found.user_id()?, role).await.map_err(api_error)?;
            writeln!(out, "{} <{}> now has role {}", user.full_name, user.email, user.role)?;
        }
        UserPlan::List { search, limit, json } => {
            let rows =
                user_service::list_as_operator(state, search.as_deref(), None, limit).await.map_err(api_error)?;
            print_users(&mut out, &rows, json)?;
        }
    }
    Ok(())
}

fn print_users(out: &mut impl Write, rows: &[UserRow], json: bool) -> anyhow::Result<()> {
    if json {
        for row in rows {
            writeln!(out, "{}", serde_json::to_string(&crate::views::UserResponse::from(row.clone()))?)?;
        }
        return Ok(());
    }
    let width = rows.iter().map(|r| r.email.len()).max().unwrap_or(5).max(5);
    writeln!(out, "{:<36}  {:<9}  {:<width$}  NAME", "ID", "ROLE", "EMAIL")?;
    for row in rows {
        writeln!(out, "{:<36}  {:<9}  {:<width$}  {}", row.id, row.role, row.email, row.full_name)?;
    }
    Ok(())
}

/// A service error as the CLI's one line: its message, not the HTTP envelope.
fn api_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Internal(inner) => inner,
        other => anyhow::anyhow!("{}", other.message()),
    }
}

/// Every setting as `NAME=value  # source`, secrets redacted.
fn print_config(matches: &ArgMatches, from_dotenv: &HashSet<String>) {
    let command = Cli::command();
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else { continue };
        let id = arg.get_id().as_str();
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|vals| vals.map(|v: &std::ffi::OsStr| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = redact(env, &values.join(","));
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) if from_dotenv.contains(env) => ".env",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        println!("{env}={value}  # {source}");
    }
}

const SECRET_SETTINGS: &[&str] = &["JWT_SECRET", "METRICS_TOKEN"];

/// Secrets become `<redacted>`; URLs keep everything but their password.
fn redact(name: &str, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    if SECRET_SETTINGS.contains(&name) {
        return "<redacted>".into();
    }
    redact_url_password(value)
}

fn redact_url_password(value: &str) -> String {
    let Some(scheme_end) = value.find("://") else { return value.to_string() };
    let rest = &value[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return value.to_string() };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    if !userinfo.contains(':') {
        return value.to_string();
    }
    format!("{}://{user}:<redacted>{}", &value[..scheme_end], &rest[at..])
}

/// For tests: the same parse as `main` over explicit arguments.
pub fn try_parse_from<I, T>(args: I) -> Result<(), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_url_password("postgres://app:s3cret@db:5432/natter"),
            "postgres://app:<redacted>@db:5432/natter"
        );
        assert_eq!(redact_url_password("redis://:pw@cache:6379/0"), "redis://:<redacted>@cache:6379/0");
        assert_eq!(redact_url_password("postgres://app@db/natter"), "postgres://app@db/natter");
        assert_eq!(redact_url_password("sqlite://./data/natter.db"), "sqlite://./data/natter.db");
        assert_eq!(redact("JWT_SECRET", "abc"), "<redacted>");
    }

    #[test]
    fn settings_flags_are_accepted_after_a_subcommand() {
        assert!(try_parse_from(["natter", "user", "list", "--port", "4000"]).is_ok());
        assert!(try_parse_from(["natter", "--port", "4000", "migrate"]).is_ok());
        assert!(try_parse_from(["natter", "user", "set-role", "a@b.c", "root"]).is_err());
    }
}
