//! RocketMQ 4.x ACL request signatures, as Java's `AclClientRPCHook`, `AclUtils` and `AclSigner`
//! compute them (and as the C++ client does: the fixtures in `tests/fixtures/cpp_acl_*` pin it).
//!
//! ```text
//! content   = value(k1) ‖ value(k2) ‖ … ‖ body      k1 < k2 < … : every ext field but Signature,
//!                                                   sorted by key (Java String order), values
//!                                                   joined with nothing between them
//! Signature = base64( HMAC-SHA1(secretKey, content) )
//! ```
//!
//! A signed request carries `AccessKey` (and optionally `SecurityToken`) among the signed ext
//! fields, then `Signature`. The broker leaves `_UNIQUE_KEY_QUERY` out of the content too
//! (Java `PlainAccessValidator.parse`).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::{ExtFields, RemotingCommand};

/// Ext field holding the account's access key.
pub const ACCESS_KEY: &str = "AccessKey";
/// Ext field holding the base64 HMAC-SHA1 signature.
pub const SIGNATURE: &str = "Signature";
/// Optional ext field of temporary credentials (signed like any other field).
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// Ext field the Java broker leaves out of the signed content (`MixAll.UNIQUE_MSG_QUERY_FLAG`).
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

type HmacSha1 = Hmac<Sha1>;

/// The ext fields that enter the signature, sorted as Java's `TreeMap<String, String>` sorts
/// them (UTF-16 code units; the same as byte order for the ASCII keys RocketMQ uses).
fn signed_fields<'a>(ext: &'a ExtFields, skip: &[&str]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = ext
        .iter()
        .filter(|(k, _)| *k != SIGNATURE && !skip.contains(k))
        .collect();
    fields.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    fields
}

fn mac_of(cmd: &RemotingCommand, secret_key: &str, skip: &[&str]) -> HmacSha1 {
    // HMAC takes keys of any length (longer ones are hashed first): this cannot fail.
    let mut mac = <HmacSha1 as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for (_, value) in signed_fields(&cmd.ext_fields, skip) {
        mac.update(value.as_bytes());
    }
    mac.update(&cmd.body);
    for piece in &cmd.body_tail {
        mac.update(piece);
    }
    mac
}

/// The bytes that are signed: sorted ext values (all but `Signature` and `skip`), then the body.
/// Built for tests and diagnostics; [`signature`] and [`verify`] stream the same bytes.
pub fn signed_content(cmd: &RemotingCommand, skip: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, value) in signed_fields(&cmd.ext_fields, skip) {
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(&cmd.body);
    for piece in &cmd.body_tail {
        out.extend_from_slice(piece);
    }
    out
}

/// The base64 signature of `cmd` under `secret_key`, leaving `skip` out of the content.
pub fn signature(cmd: &RemotingCommand, secret_key: &str, skip: &[&str]) -> String {
    let tag = mac_of(cmd, secret_key, skip).finalize().into_bytes();
    base64::engine::general_purpose::STANDARD.encode(tag)
}

/// Whether `claimed` (the request's `Signature` value) is the signature of `cmd` under
/// `secret_key`; compared in constant time. A value that is not base64 is simply wrong.
pub fn verify(cmd: &RemotingCommand, secret_key: &str, skip: &[&str], claimed: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(claimed) else {
        return false;
    };
    mac_of(cmd, secret_key, skip).verify_slice(&raw).is_ok()
}

/// Signs a request the way Java's `AclClientRPCHook.doBeforeRequest` does: sets `AccessKey`,
/// then `Signature` over every other field and the body. Call it last, once the header and
/// body are final.
pub fn sign(cmd: &mut RemotingCommand, access_key: &str, secret_key: &str) {
    cmd.ext_fields.insert_str(ACCESS_KEY, access_key);
    let sig = signature(cmd, secret_key, &[]);
    cmd.ext_fields.insert_str(SIGNATURE, &sig);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn command(fields: &[(&str, &str)], body: &'static [u8]) -> RemotingCommand {
        let mut cmd = RemotingCommand::bare_request(10);
        for (k, v) in fields {
            cmd.ext_fields.insert_str(k, v);
        }
        cmd.body = Bytes::from_static(body);
        cmd
    }

    #[test]
    fn content_is_sorted_values_then_body() {
        let cmd = command(
            &[
                ("topic", "T"),
                ("AccessKey", "ak"),
                ("Signature", "old"),
                ("b", "x"),
                ("OnsChannel", "ALIYUN"),
            ],
            b"BODY",
        );
        // AccessKey < OnsChannel < b < topic (upper case sorts first).
        assert_eq!(signed_content(&cmd, &[]), b"akALIYUNxTBODY");
        assert_eq!(signed_content(&cmd, &["b"]), b"akALIYUNTBODY");
    }

    #[test]
    fn signature_is_base64_hmac_sha1() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let cmd = command(&[("a", "what do ya want for nothing?")], b"");
        assert_eq!(
            signature(&cmd, "Jefe", &[]),
            base64::engine::general_purpose::STANDARD.encode([
                0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
                0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79
            ])
        );
    }

    #[test]
    fn sign_then_verify_and_tampering_fails() {
        let mut cmd = command(&[("topic", "T"), ("queueId", "1")], b"payload");
        sign(&mut cmd, "RocketMQ", "12345678");
        assert_eq!(cmd.ext_fields.get(ACCESS_KEY), Some("RocketMQ"));
        let sig = cmd.ext_fields.get(SIGNATURE).unwrap().to_owned();
        assert!(verify(&cmd, "12345678", &[], &sig));
        assert!(!verify(&cmd, "12345679", &[], &sig));
        assert!(!verify(&cmd, "12345678", &[], "not base64!"));
        cmd.ext_fields.insert_str("queueId", "2");
        assert!(!verify(&cmd, "12345678", &[], &sig));
    }

    #[test]
    fn body_tail_is_signed_like_one_body() {
        let whole = command(&[("k", "v")], b"abcdef");
        let mut split = command(&[("k", "v")], b"abc");
        split.body_tail.push(Bytes::from_static(b"def"));
        assert_eq!(signature(&whole, "s", &[]), signature(&split, "s", &[]));
    }
}
