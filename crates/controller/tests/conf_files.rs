//! The example configs in `conf/controller/` parse and describe one 3-node group.

use ferromq_common::config::Properties;
use ferromq_controller::ControllerConfig;

#[test]
fn example_confs_describe_one_group() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf/controller");
    let mut peers = None;
    for i in 0..3 {
        let path = dir.join(format!("controller-n{i}.conf"));
        let text = std::fs::read_to_string(&path).unwrap();
        let (c, unknown) = ControllerConfig::from_properties(&Properties::parse(&text)).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(ControllerConfig::load(&path).unwrap(), c);
        assert_eq!(c.self_id, format!("n{i}"));
        assert_eq!(c.peers.len(), 3);
        assert_eq!(*peers.get_or_insert_with(|| c.peers.clone()), c.peers);
    }
}

#[test]
fn a_missing_file_is_an_error() {
    let err = ControllerConfig::load(std::path::Path::new("/nonexistent/controller.conf"));
    assert!(err.is_err());
}
