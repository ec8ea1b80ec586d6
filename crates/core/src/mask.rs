//! Payload masking (RFC 6455 §5.3): XOR with a repeating 4-byte key.
//!
//! The hot loop works on 32-byte blocks of plain arrays so LLVM vectorises it: SSE2 by
//! default on x86_64, and an AVX2 copy of the same code chosen at run time. wasm32 and
//! other targets get the same portable code (128-bit SIMD where the target has it).

/// XORs `buf` with `key`, starting at byte `offset` of the key cycle (the number of
/// payload bytes of this frame already unmasked). Applying it twice restores the data.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() < 16 {
        // Short payloads: the setup of the block path costs more than it saves.
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) & 3];
        }
        return;
    }
    let key = rotate(key, offset);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU reports AVX2, the only requirement of `mask_avx2`.
            unsafe { mask_avx2(buf, key) };
            return;
        }
    }
    mask_blocks(buf, key);
}

/// The key as seen from `offset` bytes into the cycle.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let o = offset & 3;
    [key[o], key[(o + 1) & 3], key[(o + 2) & 3], key[(o + 3) & 3]]
}

#[inline(always)]
fn mask_blocks(buf: &mut [u8], key: [u8; 4]) {
    let mut pattern = [0u8; 32];
    for (i, p) in pattern.iter_mut().enumerate() {
        *p = key[i & 3];
    }
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for (b, k) in block.iter_mut().zip(pattern.iter()) {
            *b ^= *k;
        }
    }
    // Each block is a multiple of 4 bytes, so the tail starts at key position 0.
    for (i, b) in blocks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mask_avx2(buf: &mut [u8], key: [u8; 4]) {
    // Same code as the portable path, compiled with AVX2 enabled (256-bit XORs).
    mask_blocks(buf, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc6455_5_7_masked_hello() {
        // §5.7: a single-frame masked text message "Hello".
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn matches_reference_for_every_length_and_offset() {
        // Covers the scalar path, the block path (AVX2 on machines that have it) and tails.
        let key = [0xde, 0xad, 0xbe, 0xef];
        for len in 0..200 {
            for offset in 0..4 {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut a = data.clone();
                let mut b = data.clone();
                apply_mask(&mut a, key, offset);
                reference(&mut b, key, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn portable_path_matches_reference() {
        let key = [1, 2, 3, 4];
        let mut a: Vec<u8> = (0..1000).map(|i| i as u8).collect();
        let mut b = a.clone();
        mask_blocks(&mut a, rotate(key, 3));
        reference(&mut b, key, 3);
        assert_eq!(a, b);
    }
}
