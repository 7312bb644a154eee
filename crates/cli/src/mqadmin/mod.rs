//! `mqadmin`: RocketMQ's admin tool, with its command names, option letters and output
//! (Java `MQAdminStartup`).
//!
//! ```text
//! args ─▶ find command (case-insensitive) ─▶ clap parses its options ─▶ ferromq_admin operation
//!                                                                        │
//!                         stdout: the report, printed as the Java tool prints it
//!                         stderr: "<Java class> command failed" + the cause, exit code 1
//! ```
//!
//! `-n` takes the name-server list (`a:9876;b:9876`); without it `NAMESRV_ADDR` is used.

/// Parses a command's options as `$t`, or returns the exit code of `-h` / an option error
/// (defined before the command modules so that each of them can use it).
macro_rules! parse_or_return {
    ($t:ty, $args:expr) => {
        match super::commands::parse::<$t>(&$args) {
            Ok(a) => a,
            Err(code) => return Ok(code),
        }
    };
}

mod auth_commands;
mod broker_commands;
mod client_commands;
mod commands;
mod controller_commands;
mod dlq_commands;
mod everyday_commands;
mod groups;
mod message_commands;
mod namesrv_commands;
mod offset_commands;
mod quota_commands;

use std::io::Write;

use ferromq_admin::AdminError;

use commands::CommandSpec;

/// Runs `mqadmin` with `args` (the arguments after the program name) and returns the exit code:
/// 0 on success, 1 when the command failed or the command line was wrong.
pub fn main_with_args(args: Vec<String>) -> i32 {
    quiet_on_closed_stdout();
    let Some(first) = args.first() else {
        print_command_list();
        return 0;
    };
    if first == "help" {
        return match args.get(1) {
            None => {
                print_command_list();
                0
            }
            Some(name) => match commands::find(name) {
                Some(spec) => {
                    print!("{}", (spec.help)());
                    0
                }
                None => {
                    unknown_command(name);
                    1
                }
            },
        };
    }
    let Some(spec) = commands::find(first) else {
        unknown_command(first);
        return 1;
    };
    run(spec, &args[1..])
}

/// RocketMQ's line for an unknown command, and the closest command when one is near.
fn unknown_command(name: &str) {
    println!("The sub command {name} not exist.");
    if let Some(near) = ferromq_common::suggest::closest(name, commands::ALL.iter().map(|c| c.name))
    {
        println!("Did you mean `{near}`? (mqadmin with no arguments lists the commands)");
    }
}

fn print_command_list() {
    print!("{}", groups::command_list());
}

fn run(spec: &CommandSpec, args: &[String]) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    let outcome = runtime.block_on((spec.run)(args.to_vec()));
    let _ = std::io::stdout().flush();
    match outcome {
        Ok(code) => code,
        Err(e) => {
            report_failure(spec, &e);
            1
        }
    }
}

/// Prints what the Java tool would: any output of steps that succeeded, then
/// `<Class> command failed` and the cause chain (each distinct message once).
fn report_failure(spec: &CommandSpec, err: &AdminError) {
    if let Some(done) = err.partial_output() {
        print!("{done}");
        let _ = std::io::stdout().flush();
    }
    eprintln!("{} command failed", spec.java_class);
    let mut previous = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !previous.contains(&text) {
            eprintln!("Caused by: {text}");
        }
        previous = text;
        cause = e.source();
    }
}

/// `mqadmin ... | head` closes stdout early; printing then fails with EPIPE, which Rust's
/// `print!` turns into a panic with a backtrace. Exit quietly instead, with the status a shell
/// gives a process killed by SIGPIPE (128 + 13).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_arguments_and_help_succeed() {
        assert_eq!(main_with_args(vec![]), 0);
        assert_eq!(main_with_args(args(&["help"])), 0);
        assert_eq!(main_with_args(args(&["help", "updateTopic"])), 0);
        assert_eq!(main_with_args(args(&["help", "nope"])), 1);
    }

    #[test]
    fn unknown_command_fails() {
        assert_eq!(main_with_args(args(&["noSuchCommand"])), 1);
    }

    #[test]
    fn command_names_are_case_insensitive() {
        assert!(commands::find("TOPICLIST").is_some());
        assert!(commands::find("topicstatus").is_some());
    }

    #[test]
    fn option_errors_fail_without_contacting_anyone() {
        // updateTopic needs -t and one of -b/-c.
        assert_eq!(
            main_with_args(args(&[
                "updateTopic",
                "-n",
                "127.0.0.1:1",
                "-b",
                "127.0.0.1:1"
            ])),
            1
        );
        assert_eq!(
            main_with_args(args(&["updateTopic", "-n", "127.0.0.1:1", "-t", "T"])),
            1
        );
        assert_eq!(
            main_with_args(args(&["updateTopic", "-t", "T", "-b", "a:1", "-c", "C"])),
            1
        );
        assert_eq!(main_with_args(args(&["updateTopic", "-h"])), 0);
    }

    #[test]
    fn unreachable_name_server_is_a_clean_failure() {
        assert_eq!(main_with_args(args(&["topicList", "-n", "127.0.0.1:1"])), 1);
    }
}
