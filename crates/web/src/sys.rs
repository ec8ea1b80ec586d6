//! The few browser globals the driver needs, bound directly (no `Window` needed, so the
//! package also works in workers).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(cb: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue);

    // `online`/`offline` fire on the global object (window or worker), `visibilitychange` on
    // `document` (absent in workers, hence `catch`).
    #[wasm_bindgen(catch, js_name = addEventListener)]
    pub fn add_global_listener(kind: &str, f: &js_sys::Function) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_name = removeEventListener)]
    pub fn remove_global_listener(kind: &str, f: &js_sys::Function) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = document, js_name = addEventListener)]
    pub fn add_document_listener(kind: &str, f: &js_sys::Function) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = document, js_name = removeEventListener)]
    pub fn remove_document_listener(kind: &str, f: &js_sys::Function) -> Result<(), JsValue>;

    /// Any object with a `hidden` property (the `document` a `visibilitychange` comes from).
    pub type Hideable;
    #[wasm_bindgen(method, getter)]
    pub fn hidden(this: &Hideable) -> bool;
}

/// Milliseconds on the wall clock: it keeps running while a laptop sleeps, so heartbeat and
/// backoff deadlines that passed during sleep fire at once on wake.
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Jitter source for the session: `Math.random()` is enough for spreading reconnects.
pub fn random() -> ferrosocket_core::session::Random {
    Box::new(js_sys::Math::random)
}
