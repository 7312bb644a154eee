//! Java's `String.hashCode`, which RocketMQ uses for tag codes and index keys.

/// Returns Java's `String.hashCode()` of `s`: `h = 31*h + c` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    java_hash_extend(0, s)
}

/// Continues a Java `String.hashCode()` of a prefix whose hash is `h` over `s`: the hash of
/// the concatenation, without building it (`java_hash_extend(java_string_hash(a), b)` is the
/// hash of `a + b`).
pub fn java_hash_extend(mut h: i32, s: &str) -> i32 {
    if !s.is_ascii() {
        for unit in s.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
        }
        return h;
    }
    // ASCII bytes are the UTF-16 units. Four at a time, as h·31⁴ + c0·31³ + c1·31² + c2·31 + c3,
    // so the multiplications do not wait on each other.
    let bytes = s.as_bytes();
    let mut quads = bytes.chunks_exact(4);
    for q in &mut quads {
        let [a, b, c, d] = [q[0], q[1], q[2], q[3]].map(i32::from);
        h = h
            .wrapping_mul(923_521)
            .wrapping_add(a.wrapping_mul(29_791))
            .wrapping_add(b.wrapping_mul(961))
            .wrapping_add(c.wrapping_mul(31))
            .wrapping_add(d);
    }
    for &c in quads.remainder() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(c));
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

    /// One code unit at a time, as Java's loop runs.
    fn reference(s: &str) -> i32 {
        s.encode_utf16()
            .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
    }

    #[test]
    fn four_at_a_time_is_the_one_at_a_time_hash() {
        let text = "TopicTest#C0A8010A00002A9F0000000000001234 order-ünï-cödé \u{10348} tail~";
        for (start, _) in text.char_indices() {
            for end in (start..=text.len()).filter(|&e| text.is_char_boundary(e)) {
                let s = &text[start..end];
                assert_eq!(java_string_hash(s), reference(s), "{s:?}");
                let mid = (start..=end)
                    .filter(|&m| text.is_char_boundary(m))
                    .nth((end - start) / 2)
                    .unwrap_or(start);
                let (a, b) = (&text[start..mid], &text[mid..end]);
                assert_eq!(java_hash_extend(java_string_hash(a), b), reference(s));
            }
        }
    }

    #[test]
    fn crc_matches_known_vector() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_masked(b"123456789"), 0x4BF4_3926);
    }
}
