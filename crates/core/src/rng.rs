//! Random bytes for masking keys and handshake nonces (RFC 6455 §5.3, §10.3: masking
//! keys must come from a strong source of entropy). A small per-thread pool keeps the
//! cost of the OS call off the per-frame path, as `ws` does with its random pool.

use std::cell::RefCell;

const POOL: usize = 256;

thread_local! {
    static POOL_STATE: RefCell<([u8; POOL], usize)> = const { RefCell::new(([0; POOL], POOL)) };
}

/// Fills `out` with random bytes.
pub fn fill(out: &mut [u8]) {
    POOL_STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        let (pool, used) = &mut *state;
        for b in out.iter_mut() {
            if *used == POOL {
                // An OS without a random source cannot mask safely at all.
                getrandom::getrandom(pool).expect("the OS random source failed");
                *used = 0;
            }
            *b = pool[*used];
            *used += 1;
        }
    })
}

/// A fresh masking key.
pub fn mask_key() -> [u8; 4] {
    let mut k = [0u8; 4];
    fill(&mut k);
    k
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_vary() {
        let keys: Vec<[u8; 4]> = (0..100).map(|_| super::mask_key()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert!(distinct.len() > 90);
    }
}
