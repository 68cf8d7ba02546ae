//! The full [`RunReport`], framed so a reader can tell a complete, intact
//! result from anything else:
//!
//! ```text
//! NBV-RESULT/1 <body-bytes> sha256:<hex>[ hmac-sha256:<hex>]
//! {"version":1,"passed":true,...}
//! ```
//!
//! A missing, truncated, altered or unparsable result is an error, never a
//! pass. With the job's key the frame is also signed, so notebook code,
//! which can write files but never sees the key, cannot forge a pass.

use ring::{digest, hmac};

use crate::report::{REPORT_VERSION, RunReport};

pub const HEADER: &str = "NBV-RESULT/1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResultError {
    #[error(
        "no result header (expected {HEADER}): the runner did not finish, or something else wrote this file"
    )]
    MissingHeader,
    #[error("malformed result header: {0}")]
    BadHeader(String),
    #[error(
        "the result is {actual} bytes but its header says {expected}: it was truncated or appended to"
    )]
    Length { expected: usize, actual: usize },
    #[error("the result's checksum does not match: it was corrupted or altered")]
    Checksum,
    #[error("the result is not signed, but a signature was required")]
    Unsigned,
    #[error("the result's signature does not match the job's key")]
    Signature,
    #[error("the result body is not a run report: {0}")]
    Json(String),
    #[error("run report version {0} is not supported (this build reads version {REPORT_VERSION})")]
    Version(u32),
}

fn sha256_hex(body: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, body))
}

fn frame(report: &RunReport, key: Option<&[u8]>) -> Vec<u8> {
    // Serialising plain data with string keys cannot fail; an empty body
    // would still be rejected by every reader, never taken as a pass.
    let body = serde_json::to_vec(report).unwrap_or_default();
    let mut header = format!("{HEADER} {} sha256:{}", body.len(), sha256_hex(&body));
    if let Some(key) = key {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), &body);
        header.push_str(&format!(" hmac-sha256:{}", hex::encode(tag)));
    }
    header.push('\n');
    let mut out = header.into_bytes();
    out.extend_from_slice(&body);
    out
}

pub fn encode_result(report: &RunReport) -> Vec<u8> {
    frame(report, None)
}

pub fn encode_result_signed(report: &RunReport, key: &[u8]) -> Vec<u8> {
    frame(report, Some(key))
}

/// Checks framing and checksum (and a signature when present, which needs
/// the key: use [`decode_result_signed`]).
pub fn decode_result(bytes: &[u8]) -> Result<RunReport, ResultError> {
    open(bytes, None)
}

/// Like [`decode_result`], and the frame must carry a valid signature for `key`.
pub fn decode_result_signed(bytes: &[u8], key: &[u8]) -> Result<RunReport, ResultError> {
    open(bytes, Some(key))
}

fn open(bytes: &[u8], key: Option<&[u8]>) -> Result<RunReport, ResultError> {
    let newline = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or(ResultError::MissingHeader)?;
    let (header, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let header = std::str::from_utf8(header).map_err(|_| ResultError::MissingHeader)?;
    let mut parts = header.split(' ');
    if parts.next() != Some(HEADER) {
        return Err(ResultError::MissingHeader);
    }
    let bad = || ResultError::BadHeader(header.chars().take(160).collect());
    let len: usize = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let sum = parts
        .next()
        .and_then(|p| p.strip_prefix("sha256:"))
        .ok_or_else(bad)?;
    let sig = match parts.next() {
        Some(p) => Some(p.strip_prefix("hmac-sha256:").ok_or_else(bad)?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    if body.len() != len {
        return Err(ResultError::Length {
            expected: len,
            actual: body.len(),
        });
    }
    if sha256_hex(body) != sum {
        return Err(ResultError::Checksum);
    }
    match (key, sig) {
        (Some(_), None) => return Err(ResultError::Unsigned),
        (Some(key), Some(sig)) => {
            let sig = hex::decode(sig).map_err(|_| bad())?;
            // verify compares in constant time.
            hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), body, &sig)
                .map_err(|_| ResultError::Signature)?;
        }
        (None, _) => {}
    }
    let report: RunReport =
        serde_json::from_slice(body).map_err(|e| ResultError::Json(e.to_string()))?;
    if report.version != REPORT_VERSION {
        return Err(ResultError::Version(report.version));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CellReport, CellStatus, FailureKind};

    fn report() -> RunReport {
        let mut r = RunReport::new("analysis.ipynb");
        let mut c = CellReport::new(2, "abc", CellStatus::Failure);
        c.message = "ZeroDivisionError: division by zero ünïcode".into();
        r.cells.push(c);
        r.fail(
            FailureKind::CellError,
            "cell 3 (id abc) raised ZeroDivisionError",
        );
        r
    }

    #[test]
    fn round_trips() {
        let r = report();
        assert_eq!(decode_result(&encode_result(&r)), Ok(r.clone()));
        let signed = encode_result_signed(&r, b"key");
        assert_eq!(decode_result_signed(&signed, b"key"), Ok(r.clone()));
        // The checksum alone still verifies a signed frame.
        assert_eq!(decode_result(&signed), Ok(r));
    }

    #[test]
    fn truncation_and_appending_are_rejected() {
        let bytes = encode_result(&report());
        for cut in [
            bytes.len() - 1,
            bytes.len() / 2,
            bytes.iter().position(|b| *b == b'\n').unwrap_or(0) + 1,
        ] {
            assert!(
                matches!(
                    decode_result(&bytes[..cut]),
                    Err(ResultError::Length { .. })
                ),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(b" ");
        assert!(matches!(
            decode_result(&longer),
            Err(ResultError::Length { .. })
        ));
        assert_eq!(decode_result(&bytes[..10]), Err(ResultError::MissingHeader));
        assert_eq!(decode_result(b""), Err(ResultError::MissingHeader));
    }

    #[test]
    fn tampering_is_rejected() {
        let bytes = encode_result(&report());
        let text = String::from_utf8(bytes).expect("utf-8");
        // Same length, different verdict: only the checksum can tell.
        let forged = text.replace("\"passed\":false", "\"passed\":true ");
        assert_ne!(forged, text);
        assert_eq!(decode_result(forged.as_bytes()), Err(ResultError::Checksum));
        let (_, body) = text.split_once('\n').expect("header");
        let bad_sum = format!(
            "{HEADER} {} sha256:{}\n{body}",
            body.len(),
            sha256_hex(b"another body")
        );
        assert_eq!(
            decode_result(bad_sum.as_bytes()),
            Err(ResultError::Checksum)
        );
    }

    #[test]
    fn wrong_headers_are_rejected() {
        let body = br#"{"version":1,"notebook":"x","passed":true,"message":"","durationMs":0}"#;
        assert_eq!(decode_result(body), Err(ResultError::MissingHeader));
        let mut other = b"NBV-RESULT/2 1 sha256:00\n{".to_vec();
        assert_eq!(decode_result(&other), Err(ResultError::MissingHeader));
        other = b"NBV-RESULT/1 many sha256:00\n{".to_vec();
        assert!(matches!(
            decode_result(&other),
            Err(ResultError::BadHeader(_))
        ));
        other = b"NBV-RESULT/1 1 md5:00\n{".to_vec();
        assert!(matches!(
            decode_result(&other),
            Err(ResultError::BadHeader(_))
        ));
    }

    #[test]
    fn a_well_framed_non_report_is_rejected() {
        let body = b"{\"passed\": true}";
        let mut bytes =
            format!("{HEADER} {} sha256:{}\n", body.len(), sha256_hex(body)).into_bytes();
        bytes.extend_from_slice(body);
        assert!(matches!(decode_result(&bytes), Err(ResultError::Json(_))));
    }

    #[test]
    fn signatures_are_required_and_checked_when_a_key_is_given() {
        let r = report();
        assert_eq!(
            decode_result_signed(&encode_result(&r), b"key"),
            Err(ResultError::Unsigned)
        );
        assert_eq!(
            decode_result_signed(&encode_result_signed(&r, b"other"), b"key"),
            Err(ResultError::Signature)
        );
    }
}
