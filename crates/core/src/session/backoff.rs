//! Exponential backoff with full jitter: every attempt draws its own delay, so clients that
//! lost the same server at the same moment do not come back in lockstep.

/// Delay before retry `n` (1-based): uniform in `[min, min(max, min * growth^n)]`.
/// `unit` is a random number in `[0, 1)` from the caller's source.
pub fn delay(min_ms: u64, max_ms: u64, growth: f64, n: u32, unit: f64) -> u64 {
    let max_ms = max_ms.max(min_ms);
    // powi saturates to +inf for large n; clamp before converting back to integers.
    let cap = (min_ms as f64 * growth.max(1.0).powi(n.min(1024) as i32)).min(max_ms as f64);
    let cap = (cap as u64).max(min_ms);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    min_ms + ((cap - min_ms) as f64 * unit) as u64
}

/// The upper bound [`delay`] can reach for retry `n` (for tests and UI hints).
pub fn cap(min_ms: u64, max_ms: u64, growth: f64, n: u32) -> u64 {
    delay(min_ms, max_ms, growth, n, 1.0)
}
