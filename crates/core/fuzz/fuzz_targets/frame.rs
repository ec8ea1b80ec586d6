//! Frame parsing in both roles, with the input cut at a fuzzer-chosen point: never a
//! panic, and the same events whether the bytes come whole or in two pieces.
#![no_main]
use ferrosocket_core::{Config, Connection, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let cut = data[0] as usize % data.len();
    let input = &data[1..];
    for role in [Role::Server, Role::Client] {
        let cfg = Config { max_message_size: 1 << 20, ..Config::default() };
        let mut whole = Connection::new(role, cfg.clone());
        let mut a = Vec::new();
        let ra = whole.feed_owned(input, &mut a);
        let mut split = Connection::new(role, cfg);
        let mut b = Vec::new();
        let cut = cut.min(input.len());
        let rb = split.feed_owned(&input[..cut], &mut b).and_then(|_| split.feed_owned(&input[cut..], &mut b));
        assert_eq!(a, b);
        assert_eq!(ra, rb);
    }
});
