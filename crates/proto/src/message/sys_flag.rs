//! Message sysFlag bits (`MessageSysFlag`, `wire-protocol.md` 3.4), stored at offset 36 of a record.

/// Bit 0: the body is compressed.
pub const COMPRESSED: i32 = 0x1;
/// Bit 1: the topic's filter type is MULTI_TAG.
pub const MULTI_TAGS: i32 = 0x2;
/// Transaction type: not transactional.
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
/// Transaction type: half (prepared) message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Transaction type: commit.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// Transaction type: rollback.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Mask of the transaction type bits.
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// Bit 4: BORNHOST is an IPv6 address (16 bytes).
pub const BORNHOST_V6: i32 = 0x10;
/// Bit 5: STOREHOST is an IPv6 address (16 bytes).
pub const STOREHOST_V6: i32 = 0x20;
/// Bit 6: inner batch that needs unwrapping.
pub const NEED_UNWRAP: i32 = 0x40;
/// Bit 7: inner batch.
pub const INNER_BATCH: i32 = 0x80;
/// Bits 8-10: compression type (1 LZ4, 2 ZSTD, 3 ZLIB; 0 with bit 0 set means ZLIB).
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
/// Shift of the compression type bits.
pub const COMPRESSION_TYPE_SHIFT: u32 = 8;

/// Returns the transaction type bits of `sys_flag` (one of the `TRANSACTION_*_TYPE` values).
pub fn transaction_type(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_TYPE_MASK
}

/// Returns `sys_flag` with its transaction type replaced by `tx_type`.
pub fn with_transaction_type(sys_flag: i32, tx_type: i32) -> i32 {
    (sys_flag & !TRANSACTION_TYPE_MASK) | (tx_type & TRANSACTION_TYPE_MASK)
}

/// True when a record with this flag gets a consume-queue unit and a queue offset: plain and
/// committed messages; half (prepared) and rollback records do not (`CommitLog` in Java).
pub fn is_dispatchable(sys_flag: i32) -> bool {
    matches!(
        transaction_type(sys_flag),
        TRANSACTION_NOT_TYPE | TRANSACTION_COMMIT_TYPE
    )
}

/// Size of the BORNHOST field for this flag: 8 (IPv4) or 20 (IPv6).
pub fn born_host_len(sys_flag: i32) -> usize {
    if sys_flag & BORNHOST_V6 != 0 {
        20
    } else {
        8
    }
}

/// Size of the STOREHOST field for this flag: 8 (IPv4) or 20 (IPv6).
pub fn store_host_len(sys_flag: i32) -> usize {
    if sys_flag & STOREHOST_V6 != 0 {
        20
    } else {
        8
    }
}

/// The compression type in bits 8-10; 3 (ZLIB) when only bit 0 is set, 0 when not compressed.
pub fn compression_type(sys_flag: i32) -> i32 {
    if sys_flag & COMPRESSED == 0 {
        return 0;
    }
    match (sys_flag & COMPRESSION_TYPE_MASK) >> COMPRESSION_TYPE_SHIFT {
        0 => 3,
        t => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_bits() {
        assert!(is_dispatchable(0));
        assert!(is_dispatchable(TRANSACTION_COMMIT_TYPE | COMPRESSED));
        assert!(!is_dispatchable(TRANSACTION_PREPARED_TYPE));
        assert!(!is_dispatchable(TRANSACTION_ROLLBACK_TYPE));
        assert_eq!(
            with_transaction_type(0x301 | 0x4, TRANSACTION_NOT_TYPE),
            0x301
        );
    }

    #[test]
    fn compression_types() {
        assert_eq!(compression_type(0x301), 3);
        assert_eq!(compression_type(0x1), 3);
        assert_eq!(compression_type(0x101), 1);
        assert_eq!(compression_type(0x300), 0);
    }

    #[test]
    fn host_lengths() {
        assert_eq!(born_host_len(0), 8);
        assert_eq!(born_host_len(BORNHOST_V6), 20);
        assert_eq!(store_host_len(BORNHOST_V6), 8);
        assert_eq!(store_host_len(STOREHOST_V6), 20);
    }
}
