//! Conversion of core errors into plain JS objects the façade turns into ws-shaped errors.

use napi_derive::napi;

/// A core error as the façade needs it to build the same error object `ws` emits or throws.
#[napi(object)]
pub struct CoreError {
    /// Close code the core queued (1002, 1007, 1009, ...); 0 for a misuse.
    pub close_code: u32,
    /// ws error code, e.g. `WS_ERR_INVALID_OPCODE`.
    pub code: String,
    /// `RangeError`, `Error` or `TypeError`: the class ws uses for this error.
    pub js_class: String,
    /// ws's message text.
    pub message: String,
}

impl From<&ferrosocket_core::ProtocolError> for CoreError {
    fn from(err: &ferrosocket_core::ProtocolError) -> Self {
        CoreError {
            close_code: u32::from(err.close_code()),
            code: err.ws_code().to_string(),
            js_class: err.js_class().to_string(),
            message: err.to_string(),
        }
    }
}

impl From<&ferrosocket_core::UsageError> for CoreError {
    /// A misuse sends nothing: `closeCode` is 0.
    fn from(err: &ferrosocket_core::UsageError) -> Self {
        CoreError {
            close_code: 0,
            code: err.ws_code().to_string(),
            js_class: err.js_class().to_string(),
            message: err.to_string(),
        }
    }
}
