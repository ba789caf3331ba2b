//! The `goodword` binary: parse settings, start logging, run a command.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use goodword::cli;
use goodword::clock::SystemClock;
use goodword::config::{AdminCommand, ApiKeyCommand, Cli, Command, Settings, WebhookCommand};
use goodword::startup::Application;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let args = Cli::parse();
    let settings = match Settings::from_args(args.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("goodword: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();

    let outcome = actix_web::rt::System::new().block_on(async move {
        match args.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => actix_web::web::block(move || cli::migrate(&settings)).await?,
            Command::Admin(AdminCommand::Create { email }) => {
                cli::admin_create(settings, &email, std::io::stdin().lock()).await
            }
            Command::Demo => cli::demo(settings).await,
            Command::ApiKey(ApiKeyCommand::Create { name }) => {
                let key = cli::api_key_create(settings, &name).await?;
                println!("{key}");
                Ok(())
            }
            Command::Webhook(WebhookCommand::Create { url, events, description }) => {
                let secret = cli::webhook_create(settings, &url, &events, &description).await?;
                println!("{secret}");
                Ok(())
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("goodword: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let base_url = settings.base_url.clone();
    let backend = settings.database.backend_name();
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    tracing::info!(%base_url, backend, port = app.port(), "goodword is serving; open {base_url}/admin");
    app.run_until_stopped().await?;
    Ok(())
}

/// glibc gives every thread that allocates an arena of its own; with the
/// blocking pool's threads that is most of the server's memory, mostly
/// idle. Two arenas serve two workers without contention.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any thread
    // starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
