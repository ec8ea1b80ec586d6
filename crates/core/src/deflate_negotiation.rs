//! permessage-deflate negotiation with `ws`'s rules (RFC 7692 §7.1 as `ws`'s
//! `PerMessageDeflate#offer`, `#accept` and `#normalizeParams` apply it), on the
//! parameter lists of a parsed `Sec-WebSocket-Extensions` header. The `ws`-compatible
//! handshakes ([`DeflateConfig::accept_strict`], [`DeflateConfig::accept_response`]) and
//! the Node package's `PerMessageDeflate` class both decide through this module, so
//! they cannot disagree.
//!
//! `ws`'s options are JavaScript values where `false`, absent and a number mean
//! different things ([`Setting`]); parameters keep their order, since the accepted
//! offer is written back in it.

use std::fmt;

use crate::deflate::{DeflateConfig, DeflateParams, ZlibOptions};

/// One `ws` option as given: absent (`undefined`/`null`), `false`, `true` (any other
/// truthy value) or a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting {
    /// Not given.
    Unset,
    /// `false` (or another falsy value).
    Off,
    /// `true` (or another truthy value that is not a number).
    On,
    /// A number (not range-checked, as in `ws`).
    Number(f64),
}

impl Setting {
    fn truthy(self) -> bool {
        match self {
            Setting::On => true,
            Setting::Number(n) => n != 0.0 && !n.is_nan(),
            _ => false,
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Setting::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// `ws`'s `perMessageDeflate` negotiation options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WsDeflateOptions {
    /// `serverNoContextTakeover`.
    pub server_no_context_takeover: Setting,
    /// `clientNoContextTakeover`.
    pub client_no_context_takeover: Setting,
    /// `serverMaxWindowBits`.
    pub server_max_window_bits: Setting,
    /// `clientMaxWindowBits`.
    pub client_max_window_bits: Setting,
}

impl From<&DeflateConfig> for WsDeflateOptions {
    /// The core's configuration read as `ws` options (`false` and absent are one here).
    fn from(c: &DeflateConfig) -> Self {
        let flag = |b: bool| if b { Setting::On } else { Setting::Unset };
        let bits = |b: Option<u8>| b.map_or(Setting::Unset, |b| Setting::Number(f64::from(b)));
        WsDeflateOptions {
            server_no_context_takeover: flag(c.server_no_context_takeover),
            client_no_context_takeover: flag(c.client_no_context_takeover),
            server_max_window_bits: bits(c.server_max_window_bits),
            client_max_window_bits: bits(c.client_max_window_bits),
        }
    }
}

/// A parameter value: bare (`true`) or a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// The parameter without a value.
    Bare,
    /// A numeric value.
    Number(f64),
}

/// A parameter value as received, before [`normalize`]: bare or text, one per
/// occurrence (`ws`'s arrays), or none at all (`undefined`).
pub type RawParams = Vec<(String, Vec<Option<String>>)>;

/// Normalised parameters, in order.
pub type Params = Vec<(String, Value)>;

/// Why an offer or response is refused; the texts and classes are `ws`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiationError {
    /// A parameter given more than once.
    MultipleValues(String),
    /// A parameter with a value it may not have (the value as `ws` prints it).
    InvalidValue(String, String),
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// Server: no offer fits the options.
    NoAcceptableOffer,
    /// Client: the server set `client_no_context_takeover` where it was refused.
    UnexpectedClientNoContextTakeover,
    /// Client: a `client_max_window_bits` the client did not allow.
    InvalidClientMaxWindowBits,
}

impl NegotiationError {
    /// The JavaScript class `ws` throws.
    pub fn js_class(&self) -> &'static str {
        match self {
            NegotiationError::InvalidValue(..) => "TypeError",
            _ => "Error",
        }
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::MultipleValues(k) => {
                write!(f, "Parameter \"{k}\" must have only a single value")
            }
            NegotiationError::InvalidValue(k, v) => {
                write!(f, "Invalid value for parameter \"{k}\": {v}")
            }
            NegotiationError::UnknownParameter(k) => write!(f, "Unknown parameter \"{k}\""),
            NegotiationError::NoAcceptableOffer => {
                f.write_str("None of the extension offers can be accepted")
            }
            NegotiationError::UnexpectedClientNoContextTakeover => {
                f.write_str("Unexpected parameter \"client_no_context_takeover\"")
            }
            NegotiationError::InvalidClientMaxWindowBits => {
                f.write_str("Unexpected or invalid parameter \"client_max_window_bits\"")
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

/// JavaScript's `+value` for the texts a header can carry (decimal with sign, fraction
/// and exponent; `0x`/`0o`/`0b`; surrounding white space); `NaN` for anything else.
fn js_number(s: &str) -> f64 {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if t.len() > 2 && t[..2].eq_ignore_ascii_case(prefix) {
            return u64::from_str_radix(&t[2..], radix).map_or(f64::NAN, |v| v as f64);
        }
    }
    let body = t.trim_start_matches(['+', '-']);
    if body == "Infinity" && t.len() - body.len() <= 1 {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // Rust also reads "inf"/"nan", which JavaScript does not: refuse letters here.
    if !body.is_empty()
        && body.bytes().all(|c| {
            c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E' || c == b'+' || c == b'-'
        })
    {
        return t.parse::<f64>().unwrap_or(f64::NAN);
    }
    f64::NAN
}

fn window_bits(key: &str, shown: &str, n: f64) -> Result<Value, NegotiationError> {
    // RFC 7692 §7.1.2: 8 to 15.
    if n.fract() == 0.0 && (8.0..=15.0).contains(&n) {
        Ok(Value::Number(n))
    } else {
        Err(NegotiationError::InvalidValue(key.into(), shown.into()))
    }
}

/// `ws`'s `normalizeParams`: one value per parameter, known parameters only, window
/// bits 8–15 (a bare `client_max_window_bits` only in an offer, i.e. on the server).
pub fn normalize(configs: &[RawParams], is_server: bool) -> Result<Vec<Params>, NegotiationError> {
    configs
        .iter()
        .map(|params| {
            params
                .iter()
                .map(|(key, values)| {
                    if values.len() > 1 {
                        return Err(NegotiationError::MultipleValues(key.clone()));
                    }
                    let value = values.first().cloned();
                    let shown = match &value {
                        None => "undefined".to_string(),
                        Some(None) => "true".to_string(),
                        Some(Some(s)) => s.clone(),
                    };
                    let invalid = || NegotiationError::InvalidValue(key.clone(), shown.clone());
                    let number = |v: &Option<Option<String>>| match v {
                        Some(Some(s)) => js_number(s),
                        Some(None) => 1.0, // +true
                        None => f64::NAN,  // +undefined
                    };
                    let v = match key.as_str() {
                        "client_max_window_bits" => match value {
                            Some(None) if is_server => Value::Bare,
                            Some(None) => return Err(invalid()),
                            ref v => window_bits(key, &shown, number(v))?,
                        },
                        "server_max_window_bits" => window_bits(key, &shown, number(&value))?,
                        "client_no_context_takeover" | "server_no_context_takeover" => {
                            match value {
                                Some(None) => Value::Bare,
                                _ => return Err(invalid()),
                            }
                        }
                        _ => return Err(NegotiationError::UnknownParameter(key.clone())),
                    };
                    Ok((key.clone(), v))
                })
                .collect()
        })
        .collect()
}

fn get<'a>(params: &'a Params, key: &str) -> Option<&'a Value> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn number(params: &Params, key: &str) -> Option<f64> {
    match get(params, key) {
        Some(Value::Number(n)) => Some(*n),
        _ => None,
    }
}

/// Sets `key` as a JavaScript object property would: in place if present, else last.
fn set(params: &mut Params, key: &str, value: Value) {
    match params.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => params.push((key.to_string(), value)),
    }
}

/// `ws`'s `offer()`: the client's parameters.
pub fn offer(opts: &WsDeflateOptions) -> Params {
    let mut p = Params::new();
    let as_value = |s: Setting| match s {
        Setting::Number(n) => Value::Number(n),
        _ => Value::Bare,
    };
    if opts.server_no_context_takeover.truthy() {
        p.push(("server_no_context_takeover".into(), Value::Bare));
    }
    if opts.client_no_context_takeover.truthy() {
        p.push(("client_no_context_takeover".into(), Value::Bare));
    }
    if opts.server_max_window_bits.truthy() {
        p.push((
            "server_max_window_bits".into(),
            as_value(opts.server_max_window_bits),
        ));
    }
    if opts.client_max_window_bits.truthy() {
        p.push((
            "client_max_window_bits".into(),
            as_value(opts.client_max_window_bits),
        ));
    } else if opts.client_max_window_bits == Setting::Unset {
        p.push(("client_max_window_bits".into(), Value::Bare));
    }
    p
}

/// `ws`'s `acceptAsServer`: the first offer the options allow, completed with what the
/// server insists on.
pub fn accept_as_server(
    opts: &WsDeflateOptions,
    offers: &[Params],
) -> Result<Params, NegotiationError> {
    let refused = |o: &Params| {
        let offered_server_bits = number(o, "server_max_window_bits");
        (opts.server_no_context_takeover == Setting::Off
            && get(o, "server_no_context_takeover").is_some())
            || offered_server_bits.is_some_and(|b| {
                opts.server_max_window_bits == Setting::Off
                    || opts.server_max_window_bits.number().is_some_and(|m| m > b)
            })
            || opts.client_max_window_bits.number().is_some_and(|m| {
                match get(o, "client_max_window_bits") {
                    Some(Value::Number(b)) => m > *b,
                    Some(Value::Bare) => false,
                    None => true,
                }
            })
    };
    let mut accepted = offers
        .iter()
        .find(|o| !refused(o))
        .cloned()
        .ok_or(NegotiationError::NoAcceptableOffer)?;
    if opts.server_no_context_takeover.truthy() {
        set(&mut accepted, "server_no_context_takeover", Value::Bare);
    }
    if opts.client_no_context_takeover.truthy() {
        set(&mut accepted, "client_no_context_takeover", Value::Bare);
    }
    if let Some(n) = opts.server_max_window_bits.number() {
        set(&mut accepted, "server_max_window_bits", Value::Number(n));
    }
    if let Some(n) = opts.client_max_window_bits.number() {
        set(&mut accepted, "client_max_window_bits", Value::Number(n));
    } else if get(&accepted, "client_max_window_bits") == Some(&Value::Bare)
        || opts.client_max_window_bits == Setting::Off
    {
        accepted.retain(|(k, _)| k != "client_max_window_bits");
    }
    Ok(accepted)
}

/// `ws`'s `acceptAsClient`: checks the server's response (its first configuration).
pub fn accept_as_client(
    opts: &WsDeflateOptions,
    response: &[Params],
) -> Result<Params, NegotiationError> {
    let mut params = response.first().cloned().unwrap_or_default();
    if opts.client_no_context_takeover == Setting::Off
        && get(&params, "client_no_context_takeover").is_some()
    {
        return Err(NegotiationError::UnexpectedClientNoContextTakeover);
    }
    match number(&params, "client_max_window_bits") {
        None => {
            if let Some(n) = opts.client_max_window_bits.number() {
                set(&mut params, "client_max_window_bits", Value::Number(n));
            }
        }
        Some(b) => {
            if opts.client_max_window_bits == Setting::Off
                || opts.client_max_window_bits.number().is_some_and(|m| b > m)
            {
                return Err(NegotiationError::InvalidClientMaxWindowBits);
            }
        }
    }
    Ok(params)
}

/// The agreed parameters as the codec needs them (15 bits where none was agreed).
pub fn deflate_params(params: &Params, zlib: ZlibOptions) -> DeflateParams {
    let bits = |key| {
        number(params, key)
            .filter(|n| (8.0..=15.0).contains(n))
            .map_or(15, |n| n as u8)
    };
    DeflateParams {
        server_no_context_takeover: get(params, "server_no_context_takeover").is_some(),
        client_no_context_takeover: get(params, "client_no_context_takeover").is_some(),
        server_max_window_bits: bits("server_max_window_bits"),
        client_max_window_bits: bits("client_max_window_bits"),
        zlib,
    }
}

/// The parameters as header text (`ws` writes a number with `String(n)`).
pub fn to_header_params(params: &Params) -> Vec<(String, Option<String>)> {
    params
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Bare => None,
                Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                    Some(format!("{}", *n as i64))
                }
                Value::Number(n) => Some(n.to_string()),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Header parameters as [`normalize`] takes them (one value each).
pub fn raw(params: &[(String, Option<String>)]) -> RawParams {
    // ws groups repeated parameters into one list per name, in first-seen order.
    let mut out: RawParams = Vec::new();
    for (k, v) in params {
        match out.iter_mut().find(|(name, _)| name == k) {
            Some((_, values)) => values.push(v.clone()),
            None => out.push((k.clone(), vec![v.clone()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> WsDeflateOptions {
        WsDeflateOptions {
            server_no_context_takeover: Setting::Unset,
            client_no_context_takeover: Setting::Unset,
            server_max_window_bits: Setting::Unset,
            client_max_window_bits: Setting::Unset,
        }
    }

    fn raw_of(s: &[(&str, Option<&str>)]) -> RawParams {
        raw(&s
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(String::from)))
            .collect::<Vec<_>>())
    }

    #[test]
    fn js_numbers() {
        for (s, n) in [
            ("10", 10.0),
            (" 9 ", 9.0),
            ("0xa", 10.0),
            ("1e1", 10.0),
            ("+8", 8.0),
        ] {
            assert_eq!(js_number(s), n, "{s}");
        }
        for s in ["inf", "nan", "10a", "-0xa"] {
            assert!(js_number(s).is_nan(), "{s}");
        }
    }

    #[test]
    fn normalize_reports_what_ws_reports() {
        let e = |p: &[(&str, Option<&str>)], server| {
            normalize(&[raw_of(p)], server).unwrap_err().to_string()
        };
        assert_eq!(e(&[("foo", None)], true), "Unknown parameter \"foo\"");
        assert_eq!(
            e(&[("server_max_window_bits", Some("16"))], true),
            "Invalid value for parameter \"server_max_window_bits\": 16"
        );
        assert_eq!(
            e(&[("client_max_window_bits", None)], false),
            "Invalid value for parameter \"client_max_window_bits\": true"
        );
        assert_eq!(
            e(&[("server_no_context_takeover", Some("1"))], true),
            "Invalid value for parameter \"server_no_context_takeover\": 1"
        );
        assert_eq!(
            e(
                &[
                    ("client_no_context_takeover", None),
                    ("client_no_context_takeover", None)
                ],
                true
            ),
            "Parameter \"client_no_context_takeover\" must have only a single value"
        );
    }

    #[test]
    fn rfc7692_7_1_server_rules_of_ws() {
        let offers = normalize(
            &[
                raw_of(&[("server_max_window_bits", Some("9"))]),
                raw_of(&[("client_max_window_bits", None)]),
            ],
            true,
        )
        .unwrap();
        let mut o = opts();
        // No options: the first offer, as it is.
        assert_eq!(
            accept_as_server(&o, &offers).unwrap(),
            vec![("server_max_window_bits".to_string(), Value::Number(9.0))]
        );
        // A server window larger than offered refuses the offer; the next one fits.
        o.server_max_window_bits = Setting::Number(10.0);
        o.client_max_window_bits = Setting::Number(12.0);
        assert_eq!(
            accept_as_server(&o, &offers).unwrap(),
            vec![
                ("client_max_window_bits".to_string(), Value::Number(12.0)),
                ("server_max_window_bits".to_string(), Value::Number(10.0)),
            ]
        );
        // A client window asked of a client that did not offer the parameter: refused.
        assert_eq!(
            accept_as_server(&o, &offers[..1]),
            Err(NegotiationError::NoAcceptableOffer)
        );
        let mut off = opts();
        off.server_no_context_takeover = Setting::Off;
        let snct = normalize(&[raw_of(&[("server_no_context_takeover", None)])], true).unwrap();
        assert!(accept_as_server(&off, &snct).is_err());
        assert!(accept_as_server(&opts(), &snct).is_ok());
    }

    #[test]
    fn rfc7692_7_1_client_rules_of_ws() {
        let mut o = opts();
        assert_eq!(
            offer(&o),
            vec![("client_max_window_bits".to_string(), Value::Bare)]
        );
        o.client_max_window_bits = Setting::Number(10.0);
        let resp = normalize(&[raw_of(&[("client_max_window_bits", Some("11"))])], false).unwrap();
        assert_eq!(
            accept_as_client(&o, &resp),
            Err(NegotiationError::InvalidClientMaxWindowBits)
        );
        let resp = normalize(&[raw_of(&[])], false).unwrap();
        let p = accept_as_client(&o, &resp).unwrap();
        assert_eq!(
            deflate_params(&p, ZlibOptions::default()).client_max_window_bits,
            10
        );
        o.client_no_context_takeover = Setting::Off;
        let resp = normalize(&[raw_of(&[("client_no_context_takeover", None)])], false).unwrap();
        assert_eq!(
            accept_as_client(&o, &resp),
            Err(NegotiationError::UnexpectedClientNoContextTakeover)
        );
    }
}
