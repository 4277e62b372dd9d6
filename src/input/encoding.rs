//! Text encodings of input files: strict UTF-8 by default, a named
//! encoding (`--encoding windows-1252`), or one detected per file
//! (`--encoding auto`).

use encoding_rs::Encoding;

/// How the bytes of an input become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// Strict UTF-8: a byte that is not UTF-8 is an error naming the file
    /// and line, since guessing silently would change text without a word.
    #[default]
    Utf8,
    /// Per file: a byte-order mark, else UTF-8 when the first megabyte is
    /// valid UTF-8, else the guess of `chardetng` (what Firefox uses for
    /// unlabelled pages). The guess is counted per file in the stats.
    Auto,
    /// This encoding, by any WHATWG label (`windows-1252`, `latin1`,
    /// `shift_jis`, `gb18030`, …).
    Named(&'static Encoding),
}

impl std::str::FromStr for EncodingChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<EncodingChoice, String> {
        let label = s.trim().to_ascii_lowercase();
        if label == "auto" {
            return Ok(EncodingChoice::Auto);
        }
        let enc = Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            format!("unknown encoding `{s}`: expected auto, utf-8 or a label such as windows-1252, latin1, shift_jis")
        })?;
        if enc == encoding_rs::UTF_8 {
            Ok(EncodingChoice::Utf8)
        } else if !enc.is_ascii_compatible() {
            // Records are split on the byte b'\n', which UTF-16 does not
            // keep on its own.
            Err(format!(
                "encoding `{}` is not supported: records are split on newline bytes; convert the file to UTF-8 first",
                enc.name()
            ))
        } else {
            Ok(EncodingChoice::Named(enc))
        }
    }
}

/// Bytes looked at to detect a file's encoding.
pub(crate) const SAMPLE_BYTES: usize = 1 << 20;

impl EncodingChoice {
    /// The encoding of a file whose first bytes are `sample` (`complete`
    /// when the sample is the whole file), and whether it was detected.
    pub(crate) fn resolve(self, sample: &[u8], complete: bool) -> (&'static Encoding, bool) {
        match self {
            EncodingChoice::Utf8 => (encoding_rs::UTF_8, false),
            EncodingChoice::Named(enc) => (enc, false),
            EncodingChoice::Auto => {
                if let Some((enc, _)) = Encoding::for_bom(sample) {
                    if enc.is_ascii_compatible() {
                        return (enc, true);
                    }
                }
                let valid = match std::str::from_utf8(sample) {
                    Ok(_) => true,
                    // A sample cut inside a character is still UTF-8.
                    Err(e) => e.error_len().is_none() && !complete,
                };
                if valid {
                    return (encoding_rs::UTF_8, true);
                }
                let mut detector =
                    chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
                detector.feed(sample, complete);
                let enc = detector.guess(None, chardetng::Utf8Detection::Allow);
                if enc.is_ascii_compatible() {
                    (enc, true)
                } else {
                    (encoding_rs::WINDOWS_1252, true)
                }
            }
        }
    }
}

/// Where decoding failed: the byte offset in the input.
pub(crate) struct DecodeError {
    /// Bytes before the first one that is not valid in the encoding.
    pub valid_up_to: usize,
}

impl DecodeError {
    /// The 1-based line of the bad byte within `bytes`.
    pub fn line_in(&self, bytes: &[u8]) -> u64 {
        let at = self.valid_up_to.min(bytes.len());
        1 + memchr::memchr_iter(b'\n', &bytes[..at]).count() as u64
    }
}

/// Decodes `bytes` as `enc` (UTF-8 strictly, without a copy).
pub(crate) fn decode(
    enc: &'static Encoding,
    bytes: Vec<u8>,
) -> Result<String, (DecodeError, Vec<u8>)> {
    if enc == encoding_rs::UTF_8 {
        return String::from_utf8(bytes).map_err(|e| {
            let valid_up_to = e.utf8_error().valid_up_to();
            (DecodeError { valid_up_to }, e.into_bytes())
        });
    }
    let decoded = enc.decode_without_bom_handling_and_without_replacement(&bytes);
    match decoded {
        Some(text) => Ok(text.into_owned()),
        None => {
            // Find the first malformed sequence for the message.
            let mut decoder = enc.new_decoder_without_bom_handling();
            let mut out = String::with_capacity(bytes.len().min(1 << 16));
            let mut read = 0;
            loop {
                let (result, n) =
                    decoder.decode_to_string_without_replacement(&bytes[read..], &mut out, true);
                read += n;
                match result {
                    encoding_rs::DecoderResult::Malformed(bad, _) => {
                        let valid_up_to = read.saturating_sub(usize::from(bad));
                        return Err((DecodeError { valid_up_to }, bytes));
                    }
                    encoding_rs::DecoderResult::OutputFull => {
                        out.clear();
                        out.reserve(1 << 16);
                    }
                    encoding_rs::DecoderResult::InputEmpty => {
                        return Err((DecodeError { valid_up_to: read }, bytes))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_auto_and_unsupported() {
        assert_eq!("auto".parse(), Ok(EncodingChoice::Auto));
        assert_eq!("UTF8".parse(), Ok(EncodingChoice::Utf8));
        assert_eq!(
            "latin1".parse(),
            Ok(EncodingChoice::Named(encoding_rs::WINDOWS_1252))
        );
        assert!("utf-16le".parse::<EncodingChoice>().is_err());
        assert!("klingon".parse::<EncodingChoice>().is_err());
    }

    #[test]
    fn auto_detects_windows_1252_and_keeps_utf8() {
        let cp1252 =
            b"Le caf\xe9 \xe9tait ferm\xe9, et l\x92h\xf4tel aussi. \x93Dommage\x94, dit-elle.";
        let (enc, detected) = EncodingChoice::Auto.resolve(cp1252, true);
        assert!(detected);
        assert_eq!(enc, encoding_rs::WINDOWS_1252);
        let text = decode(enc, cp1252.to_vec()).ok().unwrap();
        assert!(text.contains("café était fermé, et l’hôtel"), "{text}");
        let utf8 = "Le café était fermé.".as_bytes();
        assert_eq!(
            EncodingChoice::Auto.resolve(utf8, true).0,
            encoding_rs::UTF_8
        );
        // A sample cut in the middle of a character is still UTF-8.
        assert_eq!(
            EncodingChoice::Auto.resolve(&utf8[..9], false).0,
            encoding_rs::UTF_8
        );
    }

    #[test]
    fn strict_utf8_names_the_line() {
        let Err((e, bytes)) = decode(encoding_rs::UTF_8, b"ok\nstill ok\nbad \xff".to_vec()) else {
            panic!("accepted bad UTF-8");
        };
        assert_eq!(e.line_in(&bytes), 3);
        let Err((e, bytes)) = decode(encoding_rs::SHIFT_JIS, b"ok\n\x81\x20".to_vec()) else {
            panic!("accepted bad Shift_JIS");
        };
        assert_eq!(e.line_in(&bytes), 2);
    }
}
