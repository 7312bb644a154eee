//! Offset commands: `resetOffsetByTime`, `skipAccumulatedMessage`, `cloneGroupOffset`.
//!
//! ```text
//! resetOffsetByTime -s TS ─┐
//!                          ├─▶ NS 105 (topic route) ─▶ each broker: 222 (timestamp, isForce)
//! skipAccumulatedMessage ──┘        (skip = timestamp −1 = the max offsets)
//!                                     └─▶ the broker commits and tells live consumers (220)
//! cloneGroupOffset ─▶ NS 105 (%RETRY%srcGroup) ─▶ each broker: 314
//! ```

pub mod clone;
pub mod reset;
pub mod timestamp;

pub use clone::{clone_group_offset, CloneGroupOffsetReport};
pub use reset::{reset_offset_by_time, ResetOffsetReport, ResetOffsetTable};
pub use timestamp::parse_timestamp;
