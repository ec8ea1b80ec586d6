//! The session's option schema, by name: the one place where the Node and browser bindings'
//! option keys, their types, defaults and error messages are decided. A binding flattens its
//! options object into `(key, value)` pairs (`heartbeat: { interval }` → `heartbeat.interval`)
//! and hands them to [`Options::set`]; [`Options::finish`] gives the [`Config`].
//!
//! Keys: `minDelay`, `maxDelay`, `growFactor`, `maxRetries`, `connectionTimeout`, `minUptime`,
//! `heartbeat.mode` (`ping`, `message`, `traffic`, `off`), `heartbeat.interval`,
//! `heartbeat.timeout`, `heartbeat.ping`, `heartbeat.pong`, `maxQueuedMessages`,
//! `maxQueuedBytes`, `overflow` (`drop-oldest`, `drop-newest`, `error`), `reconnectOnAppCodes`,
//! `stopCodes`, `acknowledged`. Other keys are not the session's and are ignored.

use super::{Config, HeartbeatMode, Message, Overflow};

/// One option value as a binding has it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub enum OptionValue<'a> {
    /// A number (also accepted for flags: non-zero is true).
    Number(f64),
    /// A flag.
    Bool(bool),
    /// A string (text heartbeat messages, enumerations).
    Text(&'a str),
    /// Bytes (binary heartbeat messages).
    Bytes(&'a [u8]),
    /// A list of numbers (`stopCodes`).
    Numbers(&'a [f64]),
}

/// Options being collected for a session.
#[derive(Debug)]
pub struct Options {
    config: Config,
    protocol_pings: bool,
    mode: Option<&'static str>,
    heartbeat_given: bool,
    ping: Option<Message>,
    pong: Option<Message>,
}

/// An option was given a value it cannot take; the message says which and what it takes.
pub type OptionError = &'static str;

fn number(v: OptionValue) -> Result<f64, OptionError> {
    match v {
        OptionValue::Number(n) if n >= 0.0 && !n.is_nan() => Ok(n),
        OptionValue::Number(_) => Err("session options must not be negative"),
        _ => Err("this session option takes a number"),
    }
}

fn ms(v: OptionValue) -> Result<u64, OptionError> {
    number(v).map(|n| n.min(u64::MAX as f64) as u64)
}

fn flag(v: OptionValue) -> Result<bool, OptionError> {
    match v {
        OptionValue::Bool(b) => Ok(b),
        OptionValue::Number(n) => Ok(n != 0.0),
        _ => Err("this session option takes true or false"),
    }
}

fn message(v: OptionValue) -> Result<Message, OptionError> {
    match v {
        OptionValue::Text(t) => Ok(Message::Text(t.to_owned())),
        OptionValue::Bytes(b) => Ok(Message::Binary(b.to_vec())),
        _ => Err("heartbeat.ping and heartbeat.pong take a string or bytes"),
    }
}

impl Options {
    /// Starts from [`Config::default`]. `protocol_pings`: whether the transport can send ping
    /// frames (Node can, browsers cannot). It decides the heartbeat default: protocol pings
    /// where possible, otherwise none; a `heartbeat` given without `ping`/`pong`/`mode` expects
    /// traffic where pings are impossible.
    pub fn new(protocol_pings: bool) -> Self {
        let mut config = Config::default();
        if !protocol_pings {
            config.heartbeat.mode = HeartbeatMode::Off;
        }
        Options {
            config,
            protocol_pings,
            mode: None,
            heartbeat_given: false,
            ping: None,
            pong: None,
        }
    }

    /// Sets option `key`. Unknown keys are ignored.
    pub fn set(&mut self, key: &str, v: OptionValue) -> Result<(), OptionError> {
        let c = &mut self.config;
        if key.starts_with("heartbeat.") {
            self.heartbeat_given = true;
        }
        match key {
            "minDelay" => c.min_delay_ms = ms(v)?,
            "maxDelay" => c.max_delay_ms = ms(v)?,
            "growFactor" => c.growth_factor = number(v)?,
            "maxRetries" => c.max_retries = Some(number(v)?.min(u32::MAX as f64) as u32),
            "connectionTimeout" => c.connect_timeout_ms = ms(v)?,
            "minUptime" => c.min_uptime_ms = ms(v)?,
            "heartbeat.interval" => c.heartbeat.interval_ms = ms(v)?,
            "heartbeat.timeout" => c.heartbeat.timeout_ms = ms(v)?,
            "heartbeat.ping" => self.ping = Some(message(v)?),
            "heartbeat.pong" => self.pong = Some(message(v)?),
            "heartbeat.mode" => {
                const MODES: [&str; 4] = ["ping", "message", "traffic", "off"];
                let bad = "heartbeat.mode must be ping, message, traffic or off";
                let OptionValue::Text(t) = v else {
                    return Err(bad);
                };
                self.mode = Some(MODES.into_iter().find(|m| *m == t).ok_or(bad)?);
            }
            "maxQueuedMessages" => c.queue.max_messages = ms(v)? as usize,
            "maxQueuedBytes" => c.queue.max_bytes = ms(v)? as usize,
            "overflow" => {
                let all = [Overflow::DropOldest, Overflow::DropNewest, Overflow::Error];
                let bad = "overflow must be drop-oldest, drop-newest or error";
                let OptionValue::Text(t) = v else {
                    return Err(bad);
                };
                c.queue.overflow = all.into_iter().find(|o| o.as_str() == t).ok_or(bad)?;
            }
            "reconnectOnAppCodes" => c.close_policy.reconnect_app_codes = flag(v)?,
            "stopCodes" => {
                let OptionValue::Numbers(list) = v else {
                    return Err("stopCodes takes a list of close codes");
                };
                c.close_policy.stop_codes = list.iter().map(|n| *n as u16).collect();
            }
            "acknowledged" => c.acknowledged = flag(v)?,
            _ => {}
        }
        Ok(())
    }

    /// The configuration, once every option is set.
    pub fn finish(self) -> Result<Config, OptionError> {
        let mut c = self.config;
        let both = self.ping.zip(self.pong);
        let mode =
            match (self.mode, both) {
                (Some("off"), _) => HeartbeatMode::Off,
                (Some("traffic"), _) => HeartbeatMode::ExpectTraffic,
                (Some("ping"), _) if !self.protocol_pings => return Err(
                    "heartbeat.mode ping is not possible here: browsers cannot send ping frames",
                ),
                (Some("ping"), _) => HeartbeatMode::ProtocolPing,
                (_, Some((ping, pong))) => HeartbeatMode::AppPing { ping, pong },
                (Some(_), None) => return Err("heartbeat mode message needs both ping and pong"),
                (None, None) if self.heartbeat_given && !self.protocol_pings => {
                    HeartbeatMode::ExpectTraffic
                }
                (None, None) => c.heartbeat.mode,
            };
        c.heartbeat.mode = mode;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::OptionValue::*;
    use super::*;

    fn build(protocol_pings: bool, opts: &[(&str, OptionValue)]) -> Result<Config, OptionError> {
        let mut o = Options::new(protocol_pings);
        for (k, v) in opts {
            o.set(k, *v)?;
        }
        o.finish()
    }

    #[test]
    fn every_key_reaches_the_config() {
        let c = build(
            true,
            &[
                ("minDelay", Number(5.0)),
                ("maxDelay", Number(50.0)),
                ("growFactor", Number(1.5)),
                ("maxRetries", Number(3.0)),
                ("connectionTimeout", Number(7.0)),
                ("minUptime", Number(8.0)),
                ("heartbeat.interval", Number(9.0)),
                ("heartbeat.timeout", Number(10.0)),
                ("maxQueuedMessages", Number(11.0)),
                ("maxQueuedBytes", Number(12.0)),
                ("overflow", Text("error")),
                ("reconnectOnAppCodes", Bool(false)),
                ("stopCodes", Numbers(&[4321.0])),
                ("acknowledged", Number(1.0)),
                ("binaryType", Text("blob")), // not the session's
            ],
        )
        .unwrap();
        assert_eq!(
            (
                c.min_delay_ms,
                c.max_delay_ms,
                c.growth_factor,
                c.max_retries
            ),
            (5, 50, 1.5, Some(3))
        );
        assert_eq!((c.connect_timeout_ms, c.min_uptime_ms), (7, 8));
        assert_eq!((c.heartbeat.interval_ms, c.heartbeat.timeout_ms), (9, 10));
        assert_eq!(c.heartbeat.mode, HeartbeatMode::ProtocolPing);
        assert_eq!((c.queue.max_messages, c.queue.max_bytes), (11, 12));
        assert_eq!(c.queue.overflow, Overflow::Error);
        assert!(!c.close_policy.reconnect_app_codes && c.acknowledged);
        assert_eq!(c.close_policy.stop_codes, [4321]);
    }

    #[test]
    fn heartbeat_defaults_follow_the_transport() {
        let mode =
            |pings, opts: &[(&str, OptionValue)]| build(pings, opts).map(|c| c.heartbeat.mode);
        assert_eq!(mode(true, &[]), Ok(HeartbeatMode::ProtocolPing));
        assert_eq!(mode(false, &[]), Ok(HeartbeatMode::Off));
        let given = [("heartbeat.interval", Number(1.0))];
        assert_eq!(mode(false, &given), Ok(HeartbeatMode::ExpectTraffic));
        assert_eq!(mode(true, &given), Ok(HeartbeatMode::ProtocolPing));
        let app = HeartbeatMode::AppPing {
            ping: Message::Text("p".into()),
            pong: Message::Binary(vec![1]),
        };
        let pp = [
            ("heartbeat.ping", Text("p")),
            ("heartbeat.pong", Bytes(&[1])),
        ];
        assert_eq!(mode(false, &pp), Ok(app));
        assert!(mode(false, &[("heartbeat.mode", Text("ping"))]).is_err());
        assert!(mode(true, &[("heartbeat.mode", Text("message"))]).is_err());
        assert_eq!(
            mode(true, &[("heartbeat.mode", Text("off"))]),
            Ok(HeartbeatMode::Off)
        );
    }

    #[test]
    fn bad_values_are_refused_with_a_message() {
        for (k, v) in [
            ("minDelay", Number(-1.0)),
            ("minDelay", Text("1")),
            ("overflow", Text("drop-all")),
            ("heartbeat.mode", Text("pong")),
            ("stopCodes", Number(1000.0)),
            ("acknowledged", Text("yes")),
            ("heartbeat.ping", Number(1.0)),
        ] {
            let err = build(true, &[(k, v)]).unwrap_err();
            assert!(!err.is_empty(), "{k}");
        }
    }
}
