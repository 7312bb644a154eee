//! Permission bits of topics and brokers (RocketMQ `PermName`).

/// Topic has priority (unused by classic clients).
pub const PRIORITY: i32 = 8;
/// Queues may be read.
pub const READ: i32 = 4;
/// Queues may be written.
pub const WRITE: i32 = 2;
/// Topic may serve as a template for auto-created topics.
pub const INHERIT: i32 = 1;
/// Read and write: the default for new topics.
pub const READ_WRITE: i32 = READ | WRITE;

/// True when `perm` allows reads.
pub fn is_readable(perm: i32) -> bool {
    perm & READ == READ
}

/// True when `perm` allows writes.
pub fn is_writeable(perm: i32) -> bool {
    perm & WRITE == WRITE
}

/// True when `perm` allows the topic to be used as an auto-create template.
pub fn is_inherited(perm: i32) -> bool {
    perm & INHERIT == INHERIT
}

/// Renders `perm` as RocketMQ's admin tools do: `RW`, `R-`, `-W`, `--`.
pub fn to_display(perm: i32) -> String {
    let r = if is_readable(perm) { 'R' } else { '-' };
    let w = if is_writeable(perm) { 'W' } else { '-' };
    format!("{r}{w}")
}
