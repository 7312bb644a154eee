//! The FerroMQ command-line programs: `ferromq` (standalone, namesrv, broker, controller, admin)
//! and the RocketMQ-named aliases `mqnamesrv`, `mqbroker`, `mqcontroller` and `mqadmin`, which
//! run the same code.

pub mod bench;
pub mod config_doc;
pub mod launch;
pub mod launch_auth;
pub mod launch_http;
pub mod launch_main;
pub mod mqadmin;
