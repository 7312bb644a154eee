//! Names of RocketMQ version ordinals (`MQVersion.Version`), as the admin tools print them.

/// The first 16 ordinals, the 3.0.0 pre-releases.
const V3_0_0: [&str; 16] = [
    "V3_0_0_SNAPSHOT",
    "V3_0_0_ALPHA1",
    "V3_0_0_BETA1",
    "V3_0_0_BETA2",
    "V3_0_0_BETA3",
    "V3_0_0_BETA4",
    "V3_0_0_BETA5",
    "V3_0_0_BETA6_SNAPSHOT",
    "V3_0_0_BETA6",
    "V3_0_0_BETA7_SNAPSHOT",
    "V3_0_0_BETA7",
    "V3_0_0_BETA8_SNAPSHOT",
    "V3_0_0_BETA8",
    "V3_0_0_BETA9_SNAPSHOT",
    "V3_0_0_BETA9",
    "V3_0_0_FINAL",
];

/// The last ordinal, `HIGHER_VERSION`.
pub const HIGHER_VERSION: i32 = 612;

/// Java `MQVersion.getVersionDesc`: the enum name of `ordinal`; ordinals past the end name the
/// last constant, `HIGHER_VERSION`.
///
/// After the 16 pre-release names the enum lists, for each version, `_SNAPSHOT` and then the
/// release: 3.0.1-3.0.15, 3.1.0-3.2.9, 3.3.1-3.9.9 (no `x.y.0`), then 4.0.0-5.9.9.
pub fn version_desc(ordinal: i32) -> String {
    if ordinal < 0 {
        return V3_0_0[0].to_owned();
    }
    let ordinal = ordinal as usize;
    if ordinal < V3_0_0.len() {
        return V3_0_0[ordinal].to_owned();
    }
    let mut index = V3_0_0.len();
    let releases = (1..=15)
        .map(|p| (3, 0, p))
        .chain((1..=2).flat_map(|m| (0..=9).map(move |p| (3, m, p))))
        .chain((3..=9).flat_map(|m| (1..=9).map(move |p| (3, m, p))))
        .chain(
            (4..=5)
                .flat_map(|major| (0..=9).flat_map(move |m| (0..=9).map(move |p| (major, m, p)))),
        );
    for (major, minor, patch) in releases {
        if ordinal == index {
            return format!("V{major}_{minor}_{patch}_SNAPSHOT");
        }
        if ordinal == index + 1 {
            return format!("V{major}_{minor}_{patch}");
        }
        index += 2;
    }
    "HIGHER_VERSION".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_match_the_java_enum() {
        assert_eq!(version_desc(0), "V3_0_0_SNAPSHOT");
        assert_eq!(version_desc(15), "V3_0_0_FINAL");
        assert_eq!(version_desc(16), "V3_0_1_SNAPSHOT");
        assert_eq!(version_desc(17), "V3_0_1");
        assert_eq!(version_desc(121), "V3_4_9");
        assert_eq!(version_desc(213), "V4_0_0");
        assert_eq!(version_desc(232), "V4_1_0_SNAPSHOT");
        assert_eq!(version_desc(401), "V4_9_4");
        assert_eq!(version_desc(413), "V5_0_0");
        assert_eq!(version_desc(479), "V5_3_3");
        assert_eq!(version_desc(611), "V5_9_9");
        assert_eq!(version_desc(HIGHER_VERSION), "HIGHER_VERSION");
        assert_eq!(version_desc(5000), "HIGHER_VERSION");
    }
}
