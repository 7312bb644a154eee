//! placeholder
pub mod body;
pub mod codes;
pub mod config;
mod error;
pub mod headers;
pub mod raft;
pub mod replicas;
pub use config::ControllerConfig;
pub use error::ControllerError;
