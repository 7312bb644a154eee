//! How `mqadmin` with no arguments lists the commands: grouped by what they work on, one title
//! per group. A separate table (group title → command names) so that adding a command to
//! [`super::commands::ALL`] means adding its name here too; a unit test checks that every
//! command is in exactly one group and that every name here is a command.

/// Group titles and their commands, in listing order.
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "Topic",
        &[
            "updateTopic",
            "deleteTopic",
            "updateTopicPerm",
            "updateOrderConf",
            "topicRoute",
            "topicStatus",
            "topicClusterList",
            "topicList",
            "allocateMQ",
            "statsAll",
        ],
    ),
    ("Cluster", &["clusterList", "clusterRT"]),
    (
        "Broker",
        &[
            "brokerStatus",
            "getBrokerConfig",
            "updateBrokerConfig",
            "brokerConsumeStats",
            "sendMsgStatus",
            "cleanExpiredCQ",
            "cleanUnusedTopic",
            "deleteExpiredCommitLog",
            "haStatus",
        ],
    ),
    (
        "Message",
        &[
            "queryMsgById",
            "queryMsgByKey",
            "queryMsgByUniqueKey",
            "queryMsgByOffset",
            "queryMsgTraceById",
            "printMsg",
            "printMsgByQueue",
            "sendMessage",
            "consumeMessage",
            "checkMsgSendRT",
            "queryCq",
            "deleteDlqMessage",
        ],
    ),
    (
        "Consumer",
        &[
            "consumerConnection",
            "consumerProgress",
            "updateSubGroup",
            "deleteSubGroup",
            "getConsumerConfig",
            "consumerStatus",
        ],
    ),
    ("Producer", &["producerConnection"]),
    (
        "Offset",
        &[
            "resetOffsetByTime",
            "skipAccumulatedMessage",
            "cloneGroupOffset",
        ],
    ),
    (
        "NameServer",
        &[
            "getNamesrvConfig",
            "updateNamesrvConfig",
            "updateKvConfig",
            "deleteKvConfig",
            "wipeWritePerm",
            "addWritePerm",
        ],
    ),
    (
        "Controller",
        &[
            "getSyncStateSet",
            "getControllerMetaData",
            "getControllerConfig",
            "updateControllerConfig",
            "electMaster",
            "cleanBrokerMetadata",
        ],
    ),
    (
        "ACL",
        &[
            "createUser",
            "updateUser",
            "deleteUser",
            "getUser",
            "listUser",
            "createAcl",
            "updateAcl",
            "deleteAcl",
            "getAcl",
            "listAcl",
        ],
    ),
    ("Quota", &["updateQuota", "getQuota", "deleteQuota"]),
];

/// Title of the group holding commands no group lists (none, while the test below passes).
const OTHER: &str = "Other";

/// The listing of `mqadmin` with no arguments: per group a title line, then `   name  desc`.
pub fn command_list() -> String {
    use super::commands::{find, ALL};
    let mut out = String::from("The most commonly used mqadmin commands are:\n");
    let line = |name: &str, desc: &str| format!("   {name:<35} {desc}\n");
    for (title, names) in GROUPS {
        out.push_str(&format!("\n{title}:\n"));
        for spec in names.iter().filter_map(|n| find(n)) {
            out.push_str(&line(spec.name, spec.desc));
        }
    }
    let grouped = |name: &str| GROUPS.iter().any(|(_, names)| names.contains(&name));
    let rest: Vec<_> = ALL.iter().filter(|c| !grouped(c.name)).collect();
    if !rest.is_empty() {
        out.push_str(&format!("\n{OTHER}:\n"));
        for spec in rest {
            out.push_str(&line(spec.name, spec.desc));
        }
    }
    out.push_str("\nSee 'mqadmin help <command>' for more information on a specific command.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::commands::ALL;
    use super::*;

    #[test]
    fn every_command_is_in_exactly_one_group() {
        for spec in ALL {
            let holders: Vec<&str> = GROUPS
                .iter()
                .filter(|(_, names)| names.contains(&spec.name))
                .map(|(title, _)| *title)
                .collect();
            assert_eq!(holders.len(), 1, "{} is in groups {holders:?}", spec.name);
        }
        for (title, names) in GROUPS {
            for name in *names {
                assert!(
                    ALL.iter().any(|c| c.name == *name),
                    "group {title} lists {name}, which is no command"
                );
            }
        }
    }

    #[test]
    fn the_listing_shows_titles_and_commands() {
        let text = command_list();
        assert!(text.contains("\nTopic:\n   updateTopic "), "{text}");
        assert!(text.contains("\nBroker:\n"), "{text}");
        assert!(!text.contains("\nOther:\n"), "{text}");
        for spec in ALL {
            assert_eq!(
                text.matches(&format!("   {:<35} ", spec.name)).count(),
                1,
                "{}",
                spec.name
            );
        }
    }
}
