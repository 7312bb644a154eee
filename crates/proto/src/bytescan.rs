//! Searching short byte strings a machine word at a time.
//!
//! Headers and properties are made of many short runs (keys, names, numbers): a vector search
//! (`memchr`) costs more to set up than it saves on them, and a byte loop spends a compare and a
//! branch per byte. These helpers test eight bytes at once with the classic "has a zero byte"
//! arithmetic, and hand longer runs to `memchr`.

/// Runs up to this long are searched a word at a time; the rest goes to `memchr`.
pub(crate) const SHORT: usize = 32;

const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);

/// The eight bytes of `b` from `at`, as a little-endian word (its first byte lowest), if there
/// are eight.
#[inline]
pub(crate) fn word_at(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The high bit of each byte of `word` equal to `byte`, and possibly of bytes after the first
/// one (a borrow out of a matching byte can flag the next): the lowest set bit is always exact.
#[inline]
pub(crate) fn equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// As [`equal`], for the bytes below `bound` (at most 0x80).
#[inline]
pub(crate) fn below(word: u64, bound: u8) -> u64 {
    debug_assert!(bound <= 0x80);
    word.wrapping_sub(ONES * u64::from(bound)) & !word & HIGH
}

/// The index of the byte a non-zero mask from [`equal`] or [`below`] (or several, or-ed) flags
/// first.
#[inline]
pub(crate) fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Searches the first [`SHORT`] bytes of `hay` a word at a time for the first byte that `mask`
/// flags in a word (and `stops` says of a single byte, for a tail shorter than a word).
/// `Ok(Some(at))`: found at `at`; `Ok(None)`: `hay` ended first; `Err(n)`: none of the first `n`
/// bytes stops, and the caller searches the rest its own way.
#[inline]
pub(crate) fn find_short(
    hay: &[u8],
    mask: impl Fn(u64) -> u64,
    stops: impl Fn(u8) -> bool,
) -> Result<Option<usize>, usize> {
    let mut n = 0;
    while n < SHORT {
        let Some(word) = word_at(hay, n) else {
            return Ok(hay[n..].iter().position(|&c| stops(c)).map(|at| n + at));
        };
        let found = mask(word);
        if found != 0 {
            return Ok(Some(n + first(found)));
        }
        n += 8;
    }
    Err(n)
}

/// The index of the first `byte` in `hay`.
#[inline]
pub(crate) fn find(hay: &[u8], byte: u8) -> Option<usize> {
    match find_short(hay, |w| equal(w, byte), |c| c == byte) {
        Ok(found) => found,
        Err(n) => memchr::memchr(byte, &hay[n..]).map(|at| n + at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position, after bytes just around it (a borrow must not hide
    /// or invent a match), in strings shorter and longer than the word-at-a-time part.
    #[test]
    fn find_and_the_masks_agree_with_a_byte_loop() {
        for len in 0..72 {
            for needle in [0u8, 1, 2, 0x1f, 0x20, 0x22, 0x5c, 0x7f, 0x80, 0xff] {
                for filler in [
                    needle.wrapping_add(1),
                    needle.wrapping_sub(1),
                    0,
                    0x80,
                    0xff,
                ] {
                    if filler == needle {
                        continue;
                    }
                    let mut hay = vec![filler; len];
                    assert_eq!(find(&hay, needle), None);
                    for at in 0..len {
                        hay.fill(filler);
                        hay[at] = needle;
                        if at + 1 < len {
                            hay[at + 1] = needle.wrapping_sub(1);
                        }
                        assert_eq!(find(&hay, needle), Some(at), "{hay:?} {needle}");
                    }
                }
            }
        }
        for bound in [1u8, 0x20, 0x80] {
            for filler in [bound, 0x80, 0xff] {
                for v in 0..=255u8 {
                    for at in 0..8 {
                        let mut bytes = [filler; 8];
                        bytes[at] = v;
                        let mask = below(u64::from_le_bytes(bytes), bound);
                        let want = (v < bound).then_some(at);
                        assert_eq!(
                            (mask != 0).then(|| first(mask)),
                            want,
                            "{bytes:?} < {bound}"
                        );
                    }
                }
            }
        }
    }
}
