//! `mqcontroller`: RocketMQ's controller command, the same code as `ferromq controller`.

fn main() {
    std::process::exit(ferromq_cli::launch_main::controller(
        std::env::args().skip(1).collect(),
    ));
}
