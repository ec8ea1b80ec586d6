//! ws's header helpers and `PerMessageDeflate` negotiation, exposed from the core:
//! `extension.parse`/`format`, `subprotocol.parse` ([`ferrosocket_core::extension`])
//! and `offer`/`accept` ([`ferrosocket_core::deflate_negotiation`]). JS only converts
//! between these flat shapes and ws's objects; every rule and message is the core's.

use ferrosocket_core::deflate_negotiation::{self as rules, Setting, Value, WsDeflateOptions};
use ferrosocket_core::extension::{self, Extension};
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::handshake::DeflateHandle;

/// One extension of a header: its name, then its parameters in order (`values[i]` is
/// `null` for a bare parameter).
#[napi(object)]
pub struct ExtensionEntry {
    pub name: String,
    pub keys: Vec<String>,
    pub values: Vec<Option<String>>,
}

/// Parses a `Sec-WebSocket-Extensions` value; a string is ws's SyntaxError message.
#[napi]
pub fn parse_extensions(header: String) -> Either<Vec<ExtensionEntry>, String> {
    match extension::parse(&header) {
        Ok(exts) => Either::A(
            exts.into_iter()
                .map(|e| {
                    let (keys, values) = e.params.into_iter().unzip();
                    ExtensionEntry {
                        name: e.name,
                        keys,
                        values,
                    }
                })
                .collect(),
        ),
        Err(e) => Either::B(e.to_string()),
    }
}

/// Formats extensions as a header value.
#[napi]
pub fn format_extensions(entries: Vec<ExtensionEntry>) -> String {
    let exts: Vec<Extension> = entries
        .into_iter()
        .map(|e| Extension {
            name: e.name,
            params: e.keys.into_iter().zip(e.values).collect(),
        })
        .collect();
    extension::format(&exts)
}

/// Parses a `Sec-WebSocket-Protocol` value; a string is ws's SyntaxError message.
#[napi]
pub fn parse_subprotocols(header: String) -> Either<Vec<String>, String> {
    match extension::parse_subprotocols(&header) {
        Ok(p) => Either::A(p),
        Err(e) => Either::B(e.to_string()),
    }
}

/// ws's `perMessageDeflate` negotiation options, each absent, a boolean or a number.
#[napi(object)]
#[derive(Default)]
pub struct PmdOptions {
    pub server_no_context_takeover: Option<Either<bool, f64>>,
    pub client_no_context_takeover: Option<Either<bool, f64>>,
    pub server_max_window_bits: Option<Either<bool, f64>>,
    pub client_max_window_bits: Option<Either<bool, f64>>,
}

fn setting(v: &Option<Either<bool, f64>>) -> Setting {
    match v {
        None => Setting::Unset,
        Some(Either::A(false)) => Setting::Off,
        Some(Either::A(true)) => Setting::On,
        Some(Either::B(n)) => Setting::Number(*n),
    }
}

fn options(o: &PmdOptions) -> WsDeflateOptions {
    WsDeflateOptions {
        server_no_context_takeover: setting(&o.server_no_context_takeover),
        client_no_context_takeover: setting(&o.client_no_context_takeover),
        server_max_window_bits: setting(&o.server_max_window_bits),
        client_max_window_bits: setting(&o.client_max_window_bits),
    }
}

/// A negotiated parameter: `value` is `null` for a bare one (ws's `true`).
#[napi(object)]
pub struct PmdParam {
    pub key: String,
    pub value: Option<f64>,
}

/// A received parameter before normalisation: its values as text (`null` = bare).
#[napi(object)]
pub struct PmdRawParam {
    pub key: String,
    pub values: Vec<Option<String>>,
}

/// A refused negotiation: ws's error class and message.
#[napi(object)]
pub struct PmdError {
    pub js_class: String,
    pub message: String,
}

fn to_js(params: rules::Params) -> Vec<PmdParam> {
    params
        .into_iter()
        .map(|(key, v)| PmdParam {
            key,
            value: match v {
                Value::Bare => None,
                Value::Number(n) => Some(n),
            },
        })
        .collect()
}

fn from_js(params: &[PmdParam]) -> rules::Params {
    params
        .iter()
        .map(|p| {
            let v = p.value.map_or(Value::Bare, Value::Number);
            (p.key.clone(), v)
        })
        .collect()
}

/// ws's `PerMessageDeflate#offer()`.
#[napi]
pub fn pmd_offer(opts: PmdOptions) -> Vec<PmdParam> {
    to_js(rules::offer(&options(&opts)))
}

fn raw_of(configurations: Vec<Vec<PmdRawParam>>) -> Vec<rules::RawParams> {
    configurations
        .into_iter()
        .map(|c| c.into_iter().map(|p| (p.key, p.values)).collect())
        .collect()
}

fn error_of(e: rules::NegotiationError) -> PmdError {
    PmdError {
        js_class: e.js_class().to_string(),
        message: e.to_string(),
    }
}

/// ws's `PerMessageDeflate#normalizeParams(configurations)`.
#[napi]
pub fn pmd_normalize(
    is_server: bool,
    configurations: Vec<Vec<PmdRawParam>>,
) -> Either<Vec<Vec<PmdParam>>, PmdError> {
    match rules::normalize(&raw_of(configurations), is_server) {
        Ok(c) => Either::A(c.into_iter().map(to_js).collect()),
        Err(e) => Either::B(error_of(e)),
    }
}

/// ws's `PerMessageDeflate#accept(configurations)` for either role.
#[napi]
pub fn pmd_accept(
    opts: PmdOptions,
    is_server: bool,
    configurations: Vec<Vec<PmdRawParam>>,
) -> Either<Vec<PmdParam>, PmdError> {
    let opts = options(&opts);
    let result = rules::normalize(&raw_of(configurations), is_server).and_then(|c| {
        if is_server {
            rules::accept_as_server(&opts, &c)
        } else {
            rules::accept_as_client(&opts, &c)
        }
    });
    match result {
        Ok(p) => Either::A(to_js(p)),
        Err(e) => Either::B(error_of(e)),
    }
}

/// The codec parameters of accepted `params`, for `new Engine(...)` (ws's
/// `Receiver` given a `PerMessageDeflate` in its `extensions`).
#[napi]
pub fn pmd_handle(params: Vec<PmdParam>, level: Option<u32>) -> DeflateHandle {
    let defaults = ferrosocket_core::deflate::ZlibOptions::default();
    let zlib = ferrosocket_core::deflate::ZlibOptions {
        level: level.unwrap_or(defaults.level),
        ..defaults
    };
    DeflateHandle::new(rules::deflate_params(&from_js(&params), zlib))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_and_errors_cross_as_flat_values() {
        let offer = pmd_offer(PmdOptions::default());
        assert_eq!(offer.len(), 1);
        assert_eq!(
            (offer[0].key.as_str(), offer[0].value),
            ("client_max_window_bits", None)
        );
        let refused = pmd_accept(
            PmdOptions::default(),
            true,
            vec![vec![PmdRawParam {
                key: "foo".into(),
                values: vec![None],
            }]],
        );
        match refused {
            Either::B(e) => assert_eq!(e.message, "Unknown parameter \"foo\""),
            Either::A(_) => panic!("accepted an unknown parameter"),
        }
        match parse_extensions("a; b=\"c\"".into()) {
            Either::A(e) => {
                assert_eq!(
                    (e[0].keys.clone(), e[0].values.clone()),
                    (vec!["b".to_string()], vec![Some("c".to_string())])
                );
                assert_eq!(format_extensions(e), "a; b=c");
            }
            Either::B(m) => panic!("{m}"),
        }
        assert!(
            matches!(parse_subprotocols("a,".into()), Either::B(m) if m == "Unexpected end of input")
        );
    }
}
