//! Options from JavaScript → a core session `Config`, URL and protocol providers.
//!
//! `js/reconnecting-websocket.js` flattens the options object into numbers (NaN = default) so
//! the wasm side needs no reflection; the order is [`Slot`]'s. Browser defaults differ from the
//! core's in one place: the heartbeat is off unless the page says how (browsers cannot send
//! ping frames, and an app-level ping the server does not answer would be a reconnect loop).

use crate::driver::{ProtocolsFn, UrlFn};
use ferrosocket_core::session::{
    Config, Heartbeat, HeartbeatMode as Mode, Message, Overflow as Policy,
};
use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Positions in the numeric options array.
#[derive(Clone, Copy)]
enum Slot {
    MinDelay,
    MaxDelay,
    GrowFactor,
    MaxRetries,
    ConnectionTimeout,
    MinUptime,
    /// 0 off, 1 app ping/pong, 2 expect traffic
    HeartbeatMode,
    HeartbeatInterval,
    HeartbeatTimeout,
    MaxQueuedMessages,
    MaxQueuedBytes,
    /// 0 drop-oldest, 1 drop-newest, 2 error
    Overflow,
    /// 0 or 1
    ReconnectOnAppCodes,
    /// Followed by the stop codes themselves, if any.
    StopCodeCount,
}

fn at(nums: &[f64], slot: Slot) -> Option<f64> {
    nums.get(slot as usize).copied().filter(|n| *n >= 0.0)
}

fn ms(nums: &[f64], slot: Slot, default: u64) -> u64 {
    at(nums, slot).map_or(default, |n| n as u64)
}

/// A heartbeat message: a JS string (text) or a `Uint8Array` (binary).
fn message(v: &JsValue) -> Message {
    match v.as_string() {
        Some(s) => Message::Text(s),
        None => Message::Binary(js_sys::Uint8Array::new(v).to_vec()),
    }
}

pub fn config(nums: &[f64], ping: &JsValue, pong: &JsValue) -> Config {
    let d = Config::default();
    let mut c = Config {
        min_delay_ms: ms(nums, Slot::MinDelay, d.min_delay_ms),
        max_delay_ms: ms(nums, Slot::MaxDelay, d.max_delay_ms),
        growth_factor: at(nums, Slot::GrowFactor).unwrap_or(d.growth_factor),
        max_retries: at(nums, Slot::MaxRetries).map(|n| n.min(u32::MAX as f64) as u32),
        connect_timeout_ms: ms(nums, Slot::ConnectionTimeout, d.connect_timeout_ms),
        min_uptime_ms: ms(nums, Slot::MinUptime, d.min_uptime_ms),
        heartbeat: Heartbeat {
            mode: match at(nums, Slot::HeartbeatMode).map(|m| m as u8) {
                Some(1) => Mode::AppPing {
                    ping: message(ping),
                    pong: message(pong),
                },
                Some(2) => Mode::ExpectTraffic,
                _ => Mode::Off,
            },
            interval_ms: ms(nums, Slot::HeartbeatInterval, d.heartbeat.interval_ms),
            timeout_ms: ms(nums, Slot::HeartbeatTimeout, d.heartbeat.timeout_ms),
        },
        ..d
    };
    c.queue.max_messages = ms(nums, Slot::MaxQueuedMessages, c.queue.max_messages as u64) as usize;
    c.queue.max_bytes = ms(nums, Slot::MaxQueuedBytes, c.queue.max_bytes as u64) as usize;
    c.queue.overflow = match at(nums, Slot::Overflow).map(|n| n as u8) {
        Some(1) => Policy::DropNewest,
        Some(2) => Policy::Error,
        _ => Policy::DropOldest,
    };
    if let Some(b) = at(nums, Slot::ReconnectOnAppCodes) {
        c.close_policy.reconnect_app_codes = b != 0.0;
    }
    if let Some(n) = at(nums, Slot::StopCodeCount) {
        let first = Slot::StopCodeCount as usize + 1;
        let codes = nums.get(first..first + n as usize).unwrap_or(&[]);
        c.close_policy.stop_codes = codes.iter().map(|c| *c as u16).collect();
    }
    c
}

/// `url(attempt)` must return a string.
pub fn url(f: Function) -> UrlFn {
    Box::new(move |attempt| {
        f.call1(&JsValue::NULL, &attempt.into())?
            .as_string()
            .ok_or_else(|| JsValue::from_str("the url function must return a string"))
    })
}

/// `protocols(attempt)` must return an array of strings.
pub fn protocols(f: Function) -> ProtocolsFn {
    Box::new(move |attempt| {
        let list: Array = f.call1(&JsValue::NULL, &attempt.into())?.unchecked_into();
        list.iter()
            .map(|p| {
                p.as_string()
                    .ok_or_else(|| JsValue::from_str("protocols must be strings"))
            })
            .collect()
    })
}
