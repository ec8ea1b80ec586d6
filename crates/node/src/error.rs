//! Conversion of core errors into plain JS objects the façade turns into ws-shaped errors.

use napi_derive::napi;

/// A core error as the façade needs it to build the same error object `ws` emits or throws.
#[napi(object)]
pub struct CoreError {
    /// Close code the core queued or would queue (1002, 1007, 1009, ...).
    pub close_code: u32,
    /// ws error code, e.g. `WS_ERR_INVALID_OPCODE`.
    pub code: String,
    /// `RangeError`, `Error` or `TypeError`: the class ws uses for this error.
    pub js_class: String,
    /// ws's message text.
    pub message: String,
}

impl From<&ferrosocket_core::Error> for CoreError {
    fn from(err: &ferrosocket_core::Error) -> Self {
        CoreError {
            close_code: u32::from(err.close_code()),
            code: err.ws_code().to_string(),
            js_class: err.js_class().to_string(),
            message: err.to_string(),
        }
    }
}
