//! Incremental UTF-8 validation that fails fast (RFC 6455 §8.1): text may arrive in
//! pieces (fragments, partial frames), and a prefix that can no longer become valid
//! is rejected at once instead of at the end of the message.

/// Validates a byte stream piece by piece.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// Bytes of a code point cut by a piece boundary (at most 3).
    pending: [u8; 4],
    pending_len: u8,
}

/// Raised when the bytes seen so far cannot be the start of valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error;

/// Length of the sequence introduced by `first` (0 for bytes that cannot start one).
fn sequence_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

impl Utf8Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next piece of the stream.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), Utf8Error> {
        if self.pending_len > 0 {
            let have = self.pending_len as usize;
            let need = sequence_len(self.pending[0]);
            let take = (need - have).min(data.len());
            let mut buf = self.pending;
            buf[have..have + take].copy_from_slice(&data[..take]);
            let total = have + take;
            match std::str::from_utf8(&buf[..total]) {
                Ok(_) => {}
                Err(e) if e.error_len().is_some() => return Err(Utf8Error),
                Err(_) => {
                    // Still a valid but unfinished prefix.
                    self.pending = buf;
                    self.pending_len = total as u8;
                    return Ok(());
                }
            }
            self.pending_len = 0;
            data = &data[take..];
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(Utf8Error),
                None => {
                    // A cut sequence at the end: keep it for the next piece.
                    let tail = &data[e.valid_up_to()..];
                    self.pending[..tail.len()].copy_from_slice(tail);
                    self.pending_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Ends the stream: a sequence still cut short is an error.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let cut = self.pending_len != 0;
        self.pending_len = 0;
        if cut {
            Err(Utf8Error)
        } else {
            Ok(())
        }
    }

    /// Forgets any state (a new message starts).
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }
}

/// Validates a complete buffer.
#[inline]
pub fn validate(data: &[u8]) -> Result<&str, Utf8Error> {
    simdutf8::basic::from_utf8(data).map_err(|_| Utf8Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_chunks(data: &[u8], chunk: usize) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        for c in data.chunks(chunk.max(1)) {
            v.feed(c)?;
        }
        v.finish()
    }

    #[test]
    fn valid_text_in_every_chunking() {
        let s = "κόσμε – hello 𝄞 \u{10FFFF} \u{FFFE}"; // noncharacters are valid (§8.1)
        for chunk in 1..=s.len() {
            assert!(feed_chunks(s.as_bytes(), chunk).is_ok(), "chunk {chunk}");
        }
    }

    #[test]
    fn invalid_sequences_rejected() {
        let cases: &[&[u8]] = &[
            &[0xc0, 0xaf],             // overlong
            &[0xed, 0xa0, 0x80],       // surrogate
            &[0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
            &[0xff],
            &[0xce, 0xba, 0xe1], // truncated at the end
        ];
        for c in cases {
            for chunk in 1..=c.len() {
                assert!(feed_chunks(c, chunk).is_err(), "{c:?} chunk {chunk}");
            }
        }
    }

    #[test]
    fn fails_fast_before_the_end() {
        // Autobahn 6.4.x: "κόσμε" then 0xf4 0x90 (can never be valid) then more bytes.
        let mut v = Utf8Validator::new();
        v.feed("κόσμε".as_bytes()).unwrap();
        assert!(v.feed(&[0xf4]).is_ok());
        assert_eq!(v.feed(&[0x90]), Err(Utf8Error));
    }

    #[test]
    fn cut_sequence_across_three_pieces() {
        let mut v = Utf8Validator::new();
        let b = "𝄞".as_bytes();
        v.feed(&b[..1]).unwrap();
        v.feed(&b[1..2]).unwrap();
        v.feed(&b[2..]).unwrap();
        v.finish().unwrap();
    }
}
