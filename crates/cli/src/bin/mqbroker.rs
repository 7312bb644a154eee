//! `mqbroker`: RocketMQ's broker command, the same code as `ferromq broker`.

fn main() {
    std::process::exit(ferromq_cli::launch_main::broker(
        std::env::args().skip(1).collect(),
    ));
}
