//! Java's `String.hashCode`, which RocketMQ uses for tag codes and index keys.

/// Returns Java's `String.hashCode()` of `s`: `h = 31*h + c` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    h
}

/// CRC-32/IEEE of `data` masked with `0x7FFF_FFFF`, as RocketMQ stores body checksums.
pub fn crc32_masked(data: &[u8]) -> i32 {
    (crc32(data) & 0x7FFF_FFFF) as i32
}

/// Plain CRC-32/IEEE (the `java.util.zip.CRC32` polynomial).
pub fn crc32(data: &[u8]) -> u32 {
    // Small table-driven implementation; the hot paths use crc32fast in the crates that need speed.
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = table[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_hashes_match_java() {
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("*"), 42);
        assert_eq!(java_string_hash(""), 0);
        // Wrapping: a long string overflows i32 in Java too.
        assert_eq!(java_string_hash("TopicTest#key-123456789"), {
            let mut h: i32 = 0;
            for c in "TopicTest#key-123456789".chars() {
                h = h.wrapping_mul(31).wrapping_add(c as i32);
            }
            h
        });
    }

    #[test]
    fn crc_matches_known_vector() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_masked(b"123456789"), 0x4BF4_3926);
    }
}
