//! The JS options object → a core session `Config`, URL and protocol providers.
//!
//! Browser defaults differ from the core's in one place: the heartbeat is off unless the page
//! says how (browsers cannot send ping frames, and an app-level ping the server does not answer
//! would turn every link into a reconnect loop).

use crate::driver::{ProtocolsFn, UrlFn};
use ferrosocket_core::session::{Config, Heartbeat, HeartbeatMode, Message, Overflow};
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn num(obj: &JsValue, key: &str) -> Option<u64> {
    get(obj, key)
        .as_f64()
        .filter(|n| *n >= 0.0)
        .map(|n| n as u64)
}

fn type_error(msg: &str) -> JsValue {
    js_sys::TypeError::new(msg).into()
}

/// A heartbeat message option: a string (text) or an ArrayBuffer/view (binary).
fn message(v: &JsValue) -> Option<Message> {
    if let Some(s) = v.as_string() {
        return Some(Message::Text(s));
    }
    bytes(v).map(Message::Binary)
}

/// Bytes of an ArrayBuffer or ArrayBuffer view.
pub fn bytes(v: &JsValue) -> Option<Vec<u8>> {
    if v.is_instance_of::<js_sys::ArrayBuffer>() {
        return Some(js_sys::Uint8Array::new(v).to_vec());
    }
    if js_sys::ArrayBuffer::is_view(v) {
        let view: &js_sys::Uint8Array = v.unchecked_ref();
        let u8s = js_sys::Uint8Array::new_with_byte_offset_and_length(
            &view.buffer(),
            get(v, "byteOffset").as_f64().unwrap_or(0.0) as u32,
            get(v, "byteLength").as_f64().unwrap_or(0.0) as u32,
        );
        return Some(u8s.to_vec());
    }
    None
}

pub fn config(o: &JsValue) -> Result<Config, JsValue> {
    let d = Config::default();
    let mut c = Config {
        min_delay_ms: num(o, "minDelay").unwrap_or(d.min_delay_ms),
        max_delay_ms: num(o, "maxDelay").unwrap_or(d.max_delay_ms),
        growth_factor: get(o, "growFactor").as_f64().unwrap_or(d.growth_factor),
        max_retries: num(o, "maxRetries").map(|n| n.min(u32::MAX as u64) as u32),
        connect_timeout_ms: num(o, "connectionTimeout").unwrap_or(d.connect_timeout_ms),
        min_uptime_ms: num(o, "minUptime").unwrap_or(d.min_uptime_ms),
        heartbeat: Heartbeat {
            mode: HeartbeatMode::Off,
            ..d.heartbeat
        },
        ..d
    };
    let hb = get(o, "heartbeat");
    if hb.is_object() {
        c.heartbeat.interval_ms = num(&hb, "interval").unwrap_or(c.heartbeat.interval_ms);
        c.heartbeat.timeout_ms = num(&hb, "timeout").unwrap_or(c.heartbeat.timeout_ms);
        c.heartbeat.mode = match (message(&get(&hb, "ping")), message(&get(&hb, "pong"))) {
            (Some(ping), Some(pong)) => HeartbeatMode::AppPing { ping, pong },
            (None, None) => HeartbeatMode::ExpectTraffic,
            _ => {
                return Err(type_error(
                    "heartbeat needs both `ping` and `pong`, or neither",
                ))
            }
        };
    }
    c.queue.max_messages = num(o, "maxQueuedMessages").map_or(c.queue.max_messages, |n| n as usize);
    c.queue.max_bytes = num(o, "maxQueuedBytes").map_or(c.queue.max_bytes, |n| n as usize);
    if let Some(p) = get(o, "overflow").as_string() {
        c.queue.overflow = match p.as_str() {
            "drop-oldest" => Overflow::DropOldest,
            "drop-newest" => Overflow::DropNewest,
            "error" => Overflow::Error,
            _ => {
                return Err(type_error(
                    "overflow must be 'drop-oldest', 'drop-newest' or 'error'",
                ))
            }
        };
    }
    if let Some(b) = get(o, "reconnectOnAppCodes").as_bool() {
        c.close_policy.reconnect_app_codes = b;
    }
    let stop = get(o, "stopCodes");
    if Array::is_array(&stop) {
        let stop: &Array = stop.unchecked_ref();
        c.close_policy.stop_codes = stop
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|n| n as u16)
            .collect();
    }
    Ok(c)
}

/// `url`: a string, or a function `(attempt) => string` called before each attempt.
pub fn url(v: JsValue) -> Result<UrlFn, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(Box::new(move |_| Ok(s.clone())));
    }
    let f: Function = v
        .dyn_into()
        .map_err(|_| type_error("url must be a string or a function"))?;
    Ok(Box::new(move |attempt| {
        f.call1(&JsValue::NULL, &attempt.into())?
            .as_string()
            .ok_or_else(|| type_error("the url function must return a string"))
    }))
}

fn protocol_list(v: &JsValue) -> Result<Vec<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(Vec::new())
    } else if let Some(s) = v.as_string() {
        Ok(vec![s])
    } else if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        a.iter()
            .map(|p| {
                p.as_string()
                    .ok_or_else(|| type_error("protocols must be strings"))
            })
            .collect()
    } else {
        Err(type_error(
            "protocols must be a string, an array or a function",
        ))
    }
}

/// `protocols`: a string, an array of strings, or a function returning one of those.
pub fn protocols(v: JsValue) -> Result<ProtocolsFn, JsValue> {
    if let Some(f) = v.dyn_ref::<Function>() {
        let f = f.clone();
        return Ok(Box::new(move |attempt| {
            protocol_list(&f.call1(&JsValue::NULL, &attempt.into())?)
        }));
    }
    let list = protocol_list(&v)?;
    Ok(Box::new(move |_| Ok(list.clone())))
}
