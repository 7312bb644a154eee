//! Client identity: the local IP brokers see and the `clientID` (`ip@instanceName`) that names
//! this process in heartbeats, consumer lists and queue locks.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs, UdpSocket};
use std::time::{SystemTime, UNIX_EPOCH};

/// The local address the OS would use to reach `target` (`host:port`), found by "connecting" a
/// UDP socket (no packet is sent). Falls back to 127.0.0.1.
pub fn local_ip_for(target: &str) -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let remote = target
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("address resolves to nothing"))?;
        let bind = if remote.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let socket = UdpSocket::bind(bind)?;
        socket.connect(remote)?;
        Ok(socket.local_addr()?.ip())
    };
    match probe() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// Java's default instance name, `pid#nanoTime`.
pub fn default_instance_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}#{}", std::process::id(), nanos)
}

/// `ip@instanceName`, the form Java clients use (`ClientConfig.buildMQClientId`).
pub fn build_client_id(ip: IpAddr, instance_name: &str) -> String {
    format!("{ip}@{instance_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_has_java_shape() {
        let id = build_client_id(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), "123#456");
        assert_eq!(id, "10.0.0.1@123#456");
        let name = default_instance_name();
        let (pid, nanos) = name.split_once('#').unwrap();
        assert_eq!(pid, std::process::id().to_string());
        assert!(nanos.parse::<u128>().is_ok());
    }

    #[test]
    fn local_ip_of_loopback_target_is_loopback() {
        assert!(local_ip_for("127.0.0.1:9876").is_loopback());
        assert_eq!(
            local_ip_for("not an address"),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }
}
