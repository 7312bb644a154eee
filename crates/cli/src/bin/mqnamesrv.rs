//! `mqnamesrv`: RocketMQ's name-server command, the same code as `ferromq namesrv`.

fn main() {
    std::process::exit(ferromq_cli::launch_main::namesrv(
        std::env::args().skip(1).collect(),
    ));
}
