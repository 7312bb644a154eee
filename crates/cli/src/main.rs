//! `ferromq`: one binary for every FerroMQ role.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferromq_cli::{bench, launch, launch_main, mqadmin};

#[derive(Debug, Parser)]
#[command(
    name = "ferromq",
    version,
    about = "FerroMQ: Apache RocketMQ rebuilt in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a name server and a broker in one process (store under ./data by default).
    Standalone {
        /// Data directory (store and name-server KV file), unless the config files set
        /// storePathRootDir / kvConfigPath.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// broker.conf, with the same keys as `mqbroker -c` (namesrvAddr is replaced by the
        /// embedded name server).
        #[arg(short = 'c', long = "configFile")]
        config_file: Option<PathBuf>,
        /// namesrv.conf, with the same keys as `mqnamesrv -c`.
        #[arg(long = "namesrv-conf")]
        namesrv_conf: Option<PathBuf>,
        /// Name-server port [default: listenPort of --namesrv-conf, else 9876].
        #[arg(long)]
        namesrv_port: Option<u16>,
        /// Broker port [default: listenPort of -c, else 10911].
        #[arg(long)]
        broker_port: Option<u16>,
        /// Port of the RocketMQ 5 gRPC API (0: off) [default: grpcListenPort of -c, else 8081].
        #[arg(long)]
        grpc_port: Option<u16>,
        /// Copies of every message: 2 or more adds slaves of the broker in this process
        /// (slave i listens on the broker port + 10 × i, stores under <store>-s<i>, serves
        /// reads); the master is a SYNC_MASTER unless -c sets brokerRole.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=9))]
        replicas: u16,
    },
    /// Run a name server (same as `mqnamesrv`).
    Namesrv {
        /// mqnamesrv options, e.g. `-c namesrv.conf`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a broker (same as `mqbroker`).
    Broker {
        /// mqbroker options, e.g. `-n localhost:9876 -c broker.conf`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a controller node (same as `mqcontroller`).
    Controller {
        /// mqcontroller options, e.g. `-c conf/controller/controller-n0.conf`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Administration commands (same as `mqadmin`).
    Admin {
        /// mqadmin command and options, e.g. `topicList -n localhost:9876`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Load tool and benchmark suite (producer, consumer, e2e, suite).
    #[command(subcommand)]
    Bench(Box<bench::BenchCommand>),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Standalone {
            data,
            config_file,
            namesrv_conf,
            namesrv_port,
            broker_port,
            grpc_port,
            replicas,
        } => launch_main::standalone(launch::StandaloneOptions {
            data,
            namesrv_port,
            broker_port,
            grpc_port,
            broker_conf: config_file,
            namesrv_conf,
            replicas: replicas.into(),
        }),
        Command::Namesrv { args } => launch_main::namesrv(args),
        Command::Broker { args } => launch_main::broker(args),
        Command::Controller { args } => launch_main::controller(args),
        Command::Admin { args } => mqadmin::main_with_args(args),
        Command::Bench(cmd) => bench::main(*cmd),
    };
    std::process::exit(code);
}
