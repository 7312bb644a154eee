//! `RegisterBrokerBody`, the REGISTER_BROKER request body, in its JSON and zlib-compressed forms.
//!
//! Compressed form (Java `RegisterBrokerBody.encode(true)`, wire-protocol 4.1), a zlib stream
//! whose inflated content is, with every `len`/count an i32 big-endian:
//!
//! ```text
//! len | DataVersion JSON
//! topicCount | topicCount × (len | "name readQueueNums writeQueueNums perm filterType [attributesJSON]")
//! len | filter server list JSON array
//! [count | count × (len | TopicQueueMappingInfo JSON)]      (brokers >= 5.0.0)
//! ```
//!
//! `order` and `topicSysFlag` are not carried by that form and decode as their defaults.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::topic::TopicFilterType;
use super::{fastjson, BodyError, DataVersion, JsonBody, TopicConfig, TopicConfigSerializeWrapper};

/// Largest inflated size accepted for a compressed body; a broker with 100k topics stays far below.
const MAX_INFLATED: u64 = 64 << 20;

/// What a broker tells the name server when it registers (Java `RegisterBrokerBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub filter_server_list: Vec<String>,
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl JsonBody for RegisterBrokerBody {}

impl RegisterBrokerBody {
    /// Decodes a REGISTER_BROKER body. `compressed` is the request header's `compressed` flag;
    /// a body that starts with a zlib header (`0x78`, never the first byte of JSON) is inflated
    /// too, because the Java broker leaves that flag false even when it compresses.
    ///
    /// Errors: as [`JsonBody::from_json`] for JSON bodies; [`BodyError::Inflate`] and
    /// [`BodyError::Compressed`] for compressed ones.
    pub fn decode(body: &[u8], compressed: bool) -> Result<Self, BodyError> {
        if compressed || body.first() == Some(&0x78) {
            Self::decode_compressed(body)
        } else {
            Self::from_json(body)
        }
    }

    /// Encodes the body as REGISTER_BROKER carries it: JSON, or with `compressed` the zlib form
    /// above (Java `RegisterBrokerBody.encode(true)`: best compression, a topic's
    /// `TopicConfig.encode()` line, the mapping-info section always written). The compressed
    /// form is about 30 times smaller for many topics, but, as in Java, it drops each topic's
    /// `order` and `topicSysFlag`.
    pub fn encode(&self, compressed: bool) -> Vec<u8> {
        if !compressed {
            return self.to_json();
        }
        let wrapper = &self.topic_config_serialize_wrapper;
        let mut raw = Vec::with_capacity(64 * wrapper.topic_config_table.len() + 256);
        put_section(&mut raw, &wrapper.data_version.to_json());
        put_count(&mut raw, wrapper.topic_config_table.len());
        let mut line = Vec::with_capacity(128);
        for config in wrapper.topic_config_table.values() {
            line.clear();
            encode_topic_line(config, &mut line);
            put_section(&mut raw, &line);
        }
        put_section(&mut raw, &fastjson::to_vec(&self.filter_server_list));
        let infos = &wrapper.topic_queue_mapping_info_map;
        put_count(&mut raw, infos.len());
        for info in infos.values() {
            put_section(&mut raw, &fastjson::to_vec(info));
        }
        let mut out = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(raw.len() / 8),
            flate2::Compression::best(),
        );
        // Writing into a Vec cannot fail.
        let _ = out.write_all(&raw);
        out.finish().unwrap_or_default()
    }

    fn decode_compressed(body: &[u8]) -> Result<Self, BodyError> {
        let mut inflated = Vec::new();
        flate2::read::ZlibDecoder::new(body)
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut inflated)
            .map_err(|source| BodyError::Inflate { source })?;
        if inflated.len() as u64 > MAX_INFLATED {
            return Err(BodyError::Compressed {
                reason: "inflated body is too large",
            });
        }
        let mut reader = Reader { rest: &inflated };

        let data_version: DataVersion = fastjson::from_slice(reader.chunk()?)?;
        let topic_count = reader.count()?;
        let mut topic_config_table = BTreeMap::new();
        for _ in 0..topic_count {
            let config = decode_topic_line(reader.chunk()?)?;
            topic_config_table.insert(config.topic_name.clone(), config);
        }
        let filter_server_list: Vec<String> = fastjson::from_slice(reader.chunk()?)?;

        let mut topic_queue_mapping_info_map = BTreeMap::new();
        if !reader.rest.is_empty() {
            for _ in 0..reader.count()? {
                let info: serde_json::Value = fastjson::from_slice(reader.chunk()?)?;
                let topic = info
                    .get("topic")
                    .and_then(serde_json::Value::as_str)
                    .ok_or(BodyError::Compressed {
                        reason: "topic queue mapping without a topic",
                    })?
                    .to_owned();
                topic_queue_mapping_info_map.insert(topic, info);
            }
        }
        if !reader.rest.is_empty() {
            return Err(BodyError::Compressed {
                reason: "trailing bytes after the last section",
            });
        }

        Ok(Self {
            filter_server_list,
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version,
                topic_config_table,
                topic_queue_mapping_info_map,
                ..Default::default()
            },
        })
    }
}

/// An i32 big-endian count (saturating; no body comes near 2^31 entries).
fn put_count(out: &mut Vec<u8>, count: usize) {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
}

/// A length-prefixed section.
fn put_section(out: &mut Vec<u8>, bytes: &[u8]) {
    put_count(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Java `TopicConfig.encode()`: `name read write perm filterType attributesJSON`.
fn encode_topic_line(config: &TopicConfig, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{} {} {} {} {} ",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        config.perm,
        config.topic_filter_type
    );
    fastjson::write_value(out, &config.attributes);
}

/// Parses Java `TopicConfig.encode()`: space-separated fields, attributes JSON last.
fn decode_topic_line(line: &[u8]) -> Result<TopicConfig, BodyError> {
    const BAD_LINE: BodyError = BodyError::Compressed {
        reason: "malformed topic line",
    };
    let line = std::str::from_utf8(line).map_err(|source| BodyError::NotUtf8 { source })?;
    let mut fields = line.splitn(6, ' ');
    let mut next = || fields.next().ok_or(BAD_LINE);
    let topic_name = next()?.to_owned();
    let number = |text: &str| text.parse::<i32>().map_err(|_| BAD_LINE);
    let read_queue_nums = number(next()?)?;
    let write_queue_nums = number(next()?)?;
    let perm = number(next()?)?;
    let topic_filter_type = TopicFilterType::from_name(next()?);
    let attributes = match fields.next() {
        Some(json) if !json.trim().is_empty() => fastjson::from_slice(json.as_bytes())?,
        _ => BTreeMap::new(),
    };
    if topic_name.is_empty() {
        return Err(BAD_LINE);
    }
    Ok(TopicConfig {
        attributes,
        perm,
        read_queue_nums,
        topic_filter_type,
        topic_name,
        write_queue_nums,
        ..TopicConfig::default()
    })
}

/// Reads the length-prefixed sections of the inflated body.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn count(&mut self) -> Result<usize, BodyError> {
        let Some((head, rest)) = self.rest.split_first_chunk::<4>() else {
            return Err(BodyError::Compressed {
                reason: "body ends inside a length",
            });
        };
        self.rest = rest;
        usize::try_from(i32::from_be_bytes(*head)).map_err(|_| BodyError::Compressed {
            reason: "negative length",
        })
    }

    fn chunk(&mut self) -> Result<&'a [u8], BodyError> {
        let len = self.count()?;
        if len > self.rest.len() {
            return Err(BodyError::Compressed {
                reason: "length runs past the end of the body",
            });
        }
        let (chunk, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, one_line, round_trip};
    use std::io::Write;

    /// The example of wire-protocol.md 4.1.
    const BODY: &str = r#"{"filterServerList":[],
 "topicConfigSerializeWrapper":{
   "dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},
   "mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},
   "topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":8,
      "topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":8}},
   "topicQueueMappingDetailMap":{},
   "topicQueueMappingInfoMap":{}}}"#;

    #[test]
    fn register_body_pinned_bytes() {
        let body = RegisterBrokerBody::decode(BODY.as_bytes(), false).unwrap();
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 3);
        assert_eq!(wrapper.topic_config_table["TopicTest"].read_queue_nums, 8);
        assert_eq!(String::from_utf8(body.to_json()).unwrap(), one_line(BODY));
        round_trip(&body);
    }

    #[test]
    fn register_body_every_prefix_fails() {
        every_prefix_fails::<RegisterBrokerBody>(one_line(BODY).as_bytes());
    }

    fn section(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    fn compressed_fixture(with_mapping: bool) -> Vec<u8> {
        let mut raw = Vec::new();
        section(
            &mut raw,
            br#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#,
        );
        raw.extend_from_slice(&2i32.to_be_bytes());
        section(&mut raw, br#"TopicTest 8 4 6 SINGLE_TAG {"k":"v"}"#);
        section(&mut raw, b"TBW102 8 8 7 MULTI_TAG ");
        section(&mut raw, br#"["10.0.0.9:7001"]"#);
        if with_mapping {
            raw.extend_from_slice(&1i32.to_be_bytes());
            section(
                &mut raw,
                br#"{"bname":"broker-a","topic":"TopicTest","totalQueues":4}"#,
            );
        }
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&raw).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn compressed_body_decodes() {
        let body = RegisterBrokerBody::decode(&compressed_fixture(false), true).unwrap();
        assert_eq!(body.filter_server_list, ["10.0.0.9:7001"]);
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 3);
        let topic = &wrapper.topic_config_table["TopicTest"];
        assert_eq!(
            (topic.read_queue_nums, topic.write_queue_nums, topic.perm),
            (8, 4, 6)
        );
        assert_eq!(topic.attributes["k"], "v");
        let tbw = &wrapper.topic_config_table["TBW102"];
        assert_eq!(tbw.topic_filter_type, TopicFilterType::MultiTag);
        assert!(tbw.attributes.is_empty());
        assert!(wrapper.topic_queue_mapping_info_map.is_empty());
    }

    #[test]
    fn compressed_body_is_sniffed_and_mapping_infos_are_kept() {
        let body = RegisterBrokerBody::decode(&compressed_fixture(true), false).unwrap();
        let infos = &body
            .topic_config_serialize_wrapper
            .topic_queue_mapping_info_map;
        assert_eq!(infos["TopicTest"]["totalQueues"], 4);
    }

    fn inflate(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn many_topics(n: usize) -> RegisterBrokerBody {
        let mut body = RegisterBrokerBody::decode(BODY.as_bytes(), false).unwrap();
        let table = &mut body.topic_config_serialize_wrapper.topic_config_table;
        for i in 0..n {
            let name = format!("scale-{i:05}");
            let mut config = TopicConfig {
                read_queue_nums: 8,
                write_queue_nums: 4 + (i % 5) as i32,
                perm: if i % 3 == 0 { 4 } else { 6 },
                ..TopicConfig::new(name.clone())
            };
            if i % 7 == 0 {
                config.topic_filter_type = TopicFilterType::MultiTag;
                config
                    .attributes
                    .insert("+message.type".into(), "FIFO".into());
            }
            table.insert(name, config);
        }
        body.filter_server_list = vec!["10.0.0.9:7001".into()];
        body
    }

    #[test]
    fn compressed_encoding_is_javas_layout() {
        let mut body = RegisterBrokerBody::default();
        let wrapper = &mut body.topic_config_serialize_wrapper;
        wrapper.data_version = DataVersion {
            counter: 3,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        };
        let mut topic = TopicConfig {
            read_queue_nums: 8,
            write_queue_nums: 4,
            ..TopicConfig::new("TopicTest")
        };
        topic.attributes.insert("k".into(), "v".into());
        wrapper.topic_config_table.insert("TopicTest".into(), topic);
        let mut tbw = TopicConfig::new("TBW102");
        tbw.topic_filter_type = TopicFilterType::MultiTag;
        tbw.read_queue_nums = 8;
        tbw.write_queue_nums = 8;
        tbw.perm = 7;
        wrapper.topic_config_table.insert("TBW102".into(), tbw);
        body.filter_server_list = vec!["10.0.0.9:7001".into()];

        let mut want = Vec::new();
        section(
            &mut want,
            br#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#,
        );
        want.extend_from_slice(&2i32.to_be_bytes());
        section(&mut want, b"TBW102 8 8 7 MULTI_TAG {}");
        section(&mut want, br#"TopicTest 8 4 6 SINGLE_TAG {"k":"v"}"#);
        section(&mut want, br#"["10.0.0.9:7001"]"#);
        want.extend_from_slice(&0i32.to_be_bytes());
        let encoded = body.encode(true);
        assert_eq!(encoded[0], 0x78, "a zlib stream");
        assert_eq!(inflate(&encoded), want);
    }

    #[test]
    fn compressed_round_trip_keeps_what_the_form_carries() {
        let body = many_topics(2_000);
        let plain = body.encode(false);
        let packed = body.encode(true);
        assert!(
            packed.len() * 10 < plain.len(),
            "{} vs {}",
            packed.len(),
            plain.len()
        );
        assert_eq!(RegisterBrokerBody::decode(&plain, false).unwrap(), body);
        // The header flag is not needed: the zlib header is sniffed.
        for flag in [true, false] {
            let back = RegisterBrokerBody::decode(&packed, flag).unwrap();
            assert_eq!(back.filter_server_list, body.filter_server_list);
            let (got, want) = (
                &back.topic_config_serialize_wrapper,
                &body.topic_config_serialize_wrapper,
            );
            assert_eq!(got.data_version, want.data_version);
            assert_eq!(got.topic_config_table, want.topic_config_table);
        }
    }

    #[test]
    fn compressed_round_trip_keeps_mapping_infos() {
        let mut body = many_topics(3);
        body.topic_config_serialize_wrapper
            .topic_queue_mapping_info_map
            .insert(
                "scale-00001".into(),
                serde_json::json!({"bname": "broker-a", "topic": "scale-00001", "totalQueues": 8}),
            );
        let back = RegisterBrokerBody::decode(&body.encode(true), true).unwrap();
        assert_eq!(
            back.topic_config_serialize_wrapper
                .topic_queue_mapping_info_map,
            body.topic_config_serialize_wrapper
                .topic_queue_mapping_info_map
        );
    }

    #[test]
    fn truncated_compressed_body_never_panics_nor_decodes_wrongly() {
        let full_bytes = compressed_fixture(false);
        let full = RegisterBrokerBody::decode(&full_bytes, true).unwrap();
        for end in 0..full_bytes.len() {
            // Cutting only the trailing checksum may still inflate everything; any other cut
            // must be an error.
            if let Ok(body) = RegisterBrokerBody::decode(&full_bytes[..end], true) {
                assert_eq!(body, full, "prefix of {end} bytes");
            }
        }
    }

    #[test]
    fn malformed_compressed_content_is_an_error() {
        let bad_len = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&(-1i32).to_be_bytes()).unwrap();
            e.finish().unwrap()
        };
        assert!(matches!(
            RegisterBrokerBody::decode(&bad_len, true),
            Err(BodyError::Compressed { .. })
        ));
        assert!(matches!(
            RegisterBrokerBody::decode(b"\x78\x01garbage", true),
            Err(BodyError::Inflate { .. })
        ));
        assert!(decode_topic_line(b"T 8 x 6 SINGLE_TAG").is_err());
        assert!(decode_topic_line(b"T 8 8").is_err());
    }
}
