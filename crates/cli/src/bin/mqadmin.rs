//! `mqadmin`: RocketMQ's admin tool, the same code as `ferromq admin`.

fn main() {
    std::process::exit(ferromq_cli::mqadmin::main_with_args(
        std::env::args().skip(1).collect(),
    ));
}
