//! Shared vocabulary of FerroMQ: topic and group names with RocketMQ's validation rules,
//! permission bits, well-known system topics and groups, Java-compatible hashing and the clock.
//!
//! Nothing here does I/O; every other crate depends on it.

pub mod config;
pub mod hash;
pub mod names;
pub mod perm;
pub mod suggest;
pub mod time;

pub use hash::{java_hash_extend, java_string_hash};
pub use names::{validate_group, validate_topic, NameError};
pub use time::now_millis;
