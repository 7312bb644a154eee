//! Where the string runs of a JSON header end, found for the whole header in one vector pass.
//!
//! A header is mostly short strings (one-letter keys, numbers as text, names): finding each
//! one's end with its own search costs a call and a loop setup per string, about 60
//! instructions for a run of one or two bytes. Instead, [`StopIndex::build`] compares the whole
//! header 16 bytes at a time against the bytes that end a plain run (a quote, a backslash, a
//! control character) and keeps one bit per byte; the end of any run is then a mask and a
//! trailing-zero count away ([`StopIndex::next`]). The same pass tells whether the header is all
//! ASCII, which is valid UTF-8 without a check of its own.
//!
//! Only on x86-64 (whose SSE2 every CPU has) and for headers up to [`MAX_LEN`] bytes, which is
//! every common request; elsewhere the scanner searches run by run as before.
#![allow(unsafe_code)]

/// Longest header indexed.
pub(crate) const MAX_LEN: usize = 1024;
const WORDS: usize = MAX_LEN / 64;

/// One bit per byte of a header: set where a quote, a backslash or a byte below 0x20 is.
pub(crate) struct StopIndex {
    words: [u64; WORDS],
    /// Words that cover the header.
    used: usize,
}

impl StopIndex {
    /// The index of `b`, and `b` as text when every byte of it is ASCII (valid UTF-8 without a
    /// check of its own); `None` when `b` is longer than [`MAX_LEN`] or the target has no
    /// vector path.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn build(b: &[u8]) -> Option<(StopIndex, Option<&str>)> {
        if b.len() > MAX_LEN {
            return None;
        }
        // SAFETY: SSE2 is part of every x86-64 CPU (the target's baseline), which is all
        // `build_sse2` requires.
        let (index, ascii) = unsafe { build_sse2(b) };
        let text = ascii.then(|| {
            debug_assert!(b.is_ascii());
            // SAFETY: no byte has its high bit set (the vector pass saw none), and ASCII is
            // valid UTF-8.
            unsafe { std::str::from_utf8_unchecked(b) }
        });
        Some((index, text))
    }

    /// Without a vector path nothing is indexed.
    #[cfg(not(target_arch = "x86_64"))]
    pub(crate) fn build(_b: &[u8]) -> Option<(StopIndex, Option<&str>)> {
        None
    }

    /// The position of the first indexed byte at or after `from`; `None` when there is none
    /// before the header ends.
    #[inline]
    pub(crate) fn next(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let words = &self.words[..self.used];
        let mut bits = words.get(w)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
            bits = *words.get(w)?;
        }
    }
}

/// [`StopIndex::build`] for a header of at most [`MAX_LEN`] bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn build_sse2(b: &[u8]) -> (StopIndex, bool) {
    let mut words = [0u64; WORDS];
    let mut high = 0i32;
    let mut chunks = b.chunks_exact(16);
    let mut k = 0;
    for chunk in chunks.by_ref() {
        let mut block = [0u8; 16];
        block.copy_from_slice(chunk);
        let (bits, h) = stop_bits(&block);
        words[k / 4] |= bits << ((k % 4) * 16);
        high |= h;
        k += 1;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        // Padded with spaces, which end no run and are ASCII.
        let mut block = [b' '; 16];
        block[..tail.len()].copy_from_slice(tail);
        let (bits, h) = stop_bits(&block);
        words[k / 4] |= bits << ((k % 4) * 16);
        high |= h;
    }
    let index = StopIndex {
        words,
        used: b.len().div_ceil(64),
    };
    (index, high == 0)
}

/// One bit per byte of `block` that ends a run (a quote, a backslash, a byte below 0x20), and
/// one per byte with its high bit set (not ASCII).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn stop_bits(block: &[u8; 16]) -> (u64, i32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: `block` is 16 readable bytes; an unaligned load has no other requirement.
    let v = unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) };
    // A byte is below 0x20 exactly when the unsigned minimum of it and 0x1f is itself.
    let stops = _mm_or_si128(
        _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
        ),
        _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v),
    );
    (
        u64::from(_mm_movemask_epi8(stops) as u16),
        _mm_movemask_epi8(v),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops(c: u8) -> bool {
        c == b'"' || c == b'\\' || c < 0x20
    }

    /// The index against a byte loop: every position's next stop, for headers of every length
    /// up to a few blocks with a stop byte (or a high byte) at every position.
    #[test]
    fn next_agrees_with_a_byte_loop() {
        if StopIndex::build(b"").is_none() {
            return; // no vector path on this target
        }
        for len in 0..140usize {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x01, 0x1f, 0x80, b' '] {
                    let mut b: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    if at < len {
                        b[at] = special;
                    }
                    let (index, text) = StopIndex::build(&b).unwrap();
                    let want = b.is_ascii().then(|| std::str::from_utf8(&b).unwrap());
                    assert_eq!(text, want, "len {len} at {at} byte {special:#x}");
                    for from in 0..=len {
                        let want = b[from..].iter().position(|&c| stops(c)).map(|p| from + p);
                        assert_eq!(index.next(from), want, "len {len} at {at} from {from}");
                    }
                }
            }
        }
        assert!(StopIndex::build(&[b'a'; MAX_LEN]).is_some());
        assert!(StopIndex::build(&[b'a'; MAX_LEN + 1]).is_none());
    }
}
