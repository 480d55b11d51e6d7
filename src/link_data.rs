//! Data carried in a link: a small CSV, compressed with raw DEFLATE (RFC 1951) and
//! written in base64url without padding (RFC 4648 §5), as the URL fragment
//! `#data=…`. Browsers never send a fragment to a server, so a document can embed an
//! explorer on a private example without hosting a file: the data travel inside the
//! page that links to them, and nowhere else.
//!
//! The format is what a browser makes with `CompressionStream("deflate-raw")` and
//! base64url, so a host page can build such links without this code. A link carries
//! at most [`MAX_COMPRESSED`] bytes of compressed data; reading one never unpacks more
//! than [`MAX_TEXT`] bytes, whatever it claims (a small link cannot expand into a
//! huge file).

use crate::said::Said;
use crate::text::Text;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Most compressed bytes a link carries (about 27,000 characters of URL).
pub const MAX_COMPRESSED: usize = 20 * 1024;

/// Most bytes of text a link's data may unpack to.
pub const MAX_TEXT: usize = 4 << 20;

/// The fragment key: `#data=…`.
pub const KEY: &str = "data=";

/// Why data could not go into, or come out of, a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDataError {
    /// Too big for a link.
    TooLarge {
        /// Compressed size in bytes.
        compressed: usize,
    },
    /// So large that compressing it is not worth trying.
    TextTooLarge {
        /// Text size in bytes.
        bytes: usize,
    },
    /// Not base64url text.
    NotBase64,
    /// Not raw DEFLATE, or cut short.
    NotDeflate,
    /// Unpacks to more than [`MAX_TEXT`].
    Inflated,
    /// Not UTF-8.
    NotText,
}

impl LinkDataError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        let max = MAX_COMPRESSED / 1024;
        match self {
            Self::TooLarge { compressed } => {
                Said::new(Text::LinkTooLarge).with("kb", compressed.div_ceil(1024)).with("max", max)
            }
            Self::TextTooLarge { bytes } => {
                Said::new(Text::LinkTextTooLarge).with("kb", bytes.div_ceil(1024)).with("max", max)
            }
            Self::NotBase64 => Said::new(Text::LinkNotBase64),
            Self::NotDeflate => Said::new(Text::LinkNotDeflate),
            Self::Inflated => Said::new(Text::LinkInflated).with("mb", MAX_TEXT >> 20),
            Self::NotText => Said::new(Text::LinkNotText),
        }
    }
}

crate::said_error!(LinkDataError);

/// Longest text [`encode`] tries to compress: CSV rarely compresses beyond 1:10; past
/// 1:40 no table fits (and trying would hold the page for a noticeable time).
pub const MAX_ENCODED_TEXT: usize = 40 * MAX_COMPRESSED;

/// The link payload of `text` (what follows `#data=`).
pub fn encode(text: &str) -> Result<String, LinkDataError> {
    if text.len() > MAX_ENCODED_TEXT {
        return Err(LinkDataError::TextTooLarge { bytes: text.len() });
    }
    let packed = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 9);
    if packed.len() > MAX_COMPRESSED {
        return Err(LinkDataError::TooLarge { compressed: packed.len() });
    }
    Ok(URL_SAFE_NO_PAD.encode(packed))
}

/// The text of a link payload. Lenient about the alphabet's variant (standard `+/`
/// and `=` padding are accepted too), strict about everything else.
pub fn decode(payload: &str) -> Result<String, LinkDataError> {
    let url_safe: String = payload
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let packed = URL_SAFE_NO_PAD.decode(url_safe).map_err(|_| LinkDataError::NotBase64)?;
    if packed.len() > 2 * MAX_COMPRESSED {
        return Err(LinkDataError::TooLarge { compressed: packed.len() });
    }
    let bytes = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_TEXT).map_err(|e| match e
        .status
    {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => LinkDataError::Inflated,
        _ => LinkDataError::NotDeflate,
    })?;
    String::from_utf8(bytes).map_err(|_| LinkDataError::NotText)
}

/// The data in a URL fragment (`#data=…`, possibly among other `&`-separated keys), if
/// it has any.
pub fn from_fragment(fragment: &str) -> Option<Result<String, LinkDataError>> {
    let payload = fragment.trim_start_matches('#').split('&').find_map(|p| p.strip_prefix(KEY))?;
    Some(decode(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_through_a_fragment() {
        let csv = "größe;gewicht;label\n1.5;2;ja\n-0.25;3e-2;nein\n\"a,b\";\"x\"\"y\";ja\n";
        let payload = encode(csv).expect("small data fit");
        assert!(payload.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{payload}");
        assert_eq!(from_fragment(&format!("#{KEY}{payload}")), Some(Ok(csv.to_string())));
        assert_eq!(from_fragment("#other=1"), None);
    }

    #[test]
    fn the_browsers_format_is_read() {
        // `CompressionStream("deflate-raw")` on "a,b\n1,2\n" in Node 20 (zlib), then
        // base64 with its standard alphabet and padding (as `btoa` gives it).
        assert_eq!(decode("S9RJ4jLUMeICAA==").as_deref(), Ok("a,b\n1,2\n"));
    }

    #[test]
    fn too_large_data_are_refused_with_their_size() {
        // Incompressible text (a pseudo-random digit stream) of 80,000 characters.
        let mut x: u64 = 1;
        let text: String = (0..80_000)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                char::from(b'0' + (x >> 60) as u8 % 10)
            })
            .collect();
        match encode(&text) {
            Err(e @ LinkDataError::TooLarge { compressed }) => {
                assert!(compressed > MAX_COMPRESSED);
                assert!(e.to_string().contains("a link carries at most 20 KB"), "{e}");
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn far_too_large_text_is_refused_without_compressing() {
        let text = "1,2\n".repeat(300_000);
        assert_eq!(encode(&text), Err(LinkDataError::TextTooLarge { bytes: 1_200_000 }));
    }

    #[test]
    fn damaged_links_say_what_is_wrong() {
        assert_eq!(decode("not base64!"), Err(LinkDataError::NotBase64));
        let payload = encode("a,b\n1,2\n3,4\n").expect("fits");
        // Cut at a whole number of base64 quads: valid base64, truncated DEFLATE.
        assert_eq!(decode(&payload[..(payload.len() / 2) & !3]), Err(LinkDataError::NotDeflate));
        // Binary (non-UTF-8) bytes.
        let binary = URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(&[0xff, 0xfe, 0x00], 6));
        assert_eq!(decode(&binary), Err(LinkDataError::NotText));
    }

    #[test]
    fn a_small_link_cannot_unpack_into_a_huge_file() {
        // 8 MB of one byte compress to a few KB.
        let bomb = URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(&vec![b'1'; 8 << 20], 9));
        assert!(bomb.len() < MAX_COMPRESSED * 2);
        assert_eq!(decode(&bomb), Err(LinkDataError::Inflated));
    }
}
