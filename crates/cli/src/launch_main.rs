//! Argument parsing shared by `mqnamesrv`/`ferromq namesrv`, `mqbroker`/`ferromq broker` and
//! `mqcontroller`/`ferromq controller`.

use std::path::PathBuf;

use clap::Parser;

use crate::launch;

/// `mqnamesrv` options (RocketMQ's letters).
#[derive(Debug, Parser)]
#[command(
    name = "mqnamesrv",
    about = "Start a FerroMQ name server (RocketMQ-compatible)"
)]
pub struct NamesrvArgs {
    /// Name server config properties file (keys such as listenPort, kvConfigPath).
    #[arg(short = 'c', long = "configFile")]
    pub config_file: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "printConfigItem", visible_alias = "print-config")]
    pub print_config: bool,
}

/// `mqbroker` options (RocketMQ's letters).
#[derive(Debug, Parser)]
#[command(
    name = "mqbroker",
    about = "Start a FerroMQ broker (RocketMQ-compatible)"
)]
pub struct BrokerArgs {
    /// Broker config properties file (broker.conf).
    #[arg(short = 'c', long = "configFile")]
    pub config_file: Option<PathBuf>,
    /// Name server address list, e.g. '192.168.0.1:9876;192.168.0.2:9876'.
    #[arg(short = 'n', long = "namesrvAddr")]
    pub namesrv_addr: Option<String>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "printConfigItem", visible_alias = "print-config")]
    pub print_config: bool,
}

/// `mqcontroller` options (RocketMQ's letters).
#[derive(Debug, Parser)]
#[command(
    name = "mqcontroller",
    about = "Start a FerroMQ controller node (RocketMQ 5 controller mode, replicated with Raft)"
)]
pub struct ControllerArgs {
    /// Controller config properties file (controller.conf: controllerDLegerGroup,
    /// controllerDLegerPeers, controllerDLegerSelfId, controllerStorePath, ...).
    #[arg(short = 'c', long = "configFile")]
    pub config_file: Option<PathBuf>,
    /// Print all config items and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    pub print_config: bool,
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn report(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Runs the name-server command with `args` (without the program name); returns the exit code.
pub fn namesrv(args: Vec<String>) -> i32 {
    let args =
        match NamesrvArgs::try_parse_from(std::iter::once("mqnamesrv".to_owned()).chain(args)) {
            Ok(a) => a,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() { 1 } else { 0 };
            }
        };
    launch::init_logging();
    report((|| {
        let config = launch::namesrv_config(args.config_file.as_deref())?;
        if args.print_config {
            print!("{}", config.to_properties_text());
            return Ok(());
        }
        runtime()?.block_on(launch::run_namesrv(config))
    })())
}

/// Runs the broker command with `args` (without the program name); returns the exit code.
pub fn broker(args: Vec<String>) -> i32 {
    let args = match BrokerArgs::try_parse_from(std::iter::once("mqbroker".to_owned()).chain(args))
    {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    launch::init_logging();
    report((|| {
        let config =
            launch::broker_config(args.config_file.as_deref(), args.namesrv_addr.as_deref())?;
        if args.print_config {
            print!("{}", ferromq_broker::config_keys::effective_text(&config));
            return Ok(());
        }
        runtime()?.block_on(launch::run_broker(config))
    })())
}

/// Runs the controller command with `args` (without the program name); returns the exit code.
pub fn controller(args: Vec<String>) -> i32 {
    let args = match ControllerArgs::try_parse_from(
        std::iter::once("mqcontroller".to_owned()).chain(args),
    ) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    launch::init_logging();
    report((|| {
        let config = launch::controller_config(args.config_file.as_deref())?;
        if args.print_config {
            print!("{}", config.to_properties_text());
            return Ok(());
        }
        runtime()?.block_on(launch::run_controller(config))
    })())
}

/// Runs `ferromq standalone`.
pub fn standalone(opts: launch::StandaloneOptions) -> i32 {
    launch::init_logging();
    report(
        runtime()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(launch::run_standalone(opts))),
    )
}
