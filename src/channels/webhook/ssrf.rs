//! Which addresses a webhook must never reach. Private networks, loopback and
//! link-local (cloud metadata lives at 169.254.169.254) are the obvious ones;
//! the rest are special-purpose ranges an attacker can use to wrap one of them
//! (NAT64, 6to4, IPv4-compatible) or that are never a legitimate public endpoint.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges refused outright (RFC 6890 special-purpose registry, mostly).
const V4_BLOCKED: &[(Ipv4Addr, u32)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network"
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // carrier-grade NAT
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, cloud metadata
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // TEST-NET-1
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // TEST-NET-2
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // TEST-NET-3
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, and broadcast
];

/// IPv6 ranges refused outright, whatever follows the prefix.
const V6_BLOCKED: &[(Ipv6Addr, u32)] = &[
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use NAT64: translates to anything
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),     // discard-only
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32),    // Teredo: the IPv4 side is obfuscated
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),    // benchmarking
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),    // documentation (RFC 9637)
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),     // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),    // link-local
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site-local (deprecated, still routed by some)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),  // multicast
];

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u32)) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u32)) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The IPv4 address an IPv6 one stands for, for the forms that reach IPv4
/// hosts: mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::`.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from(bits as u32);
    let wraps_low32 = [
        (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96),
        (Ipv6Addr::UNSPECIFIED, 96),
        (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96),
    ];
    if wraps_low32.into_iter().any(|net| in_v6(v6, net)) {
        return Some(low32);
    }
    if in_v6(v6, (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16)) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

/// Whether an address is one a webhook must not reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => V4_BLOCKED.iter().any(|net| in_v4(v4, *net)),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || V6_BLOCKED.iter().any(|net| in_v6(v6, *net))
                || embedded_v4(v6).is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (blocked, neighbouring allowed) for each range.
    const CASES: &[(&str, &str)] = &[
        ("0.1.2.3", "1.0.0.1"),
        ("10.255.255.255", "11.0.0.1"),
        ("100.64.0.1", "100.128.0.1"),
        ("100.127.255.255", "100.63.255.255"),
        ("127.1.2.3", "128.0.0.1"),
        ("169.254.169.254", "169.255.0.1"),
        ("172.31.255.255", "172.32.0.1"),
        ("172.16.0.1", "172.15.255.255"),
        ("192.0.0.8", "192.0.1.1"),
        ("192.0.2.1", "192.0.3.1"),
        ("192.88.99.1", "192.88.98.1"),
        ("192.168.0.1", "192.169.0.1"),
        ("198.18.0.1", "198.17.255.255"),
        ("198.19.255.255", "198.20.0.1"),
        ("198.51.100.7", "198.51.101.7"),
        ("203.0.113.9", "203.0.114.9"),
        ("239.255.255.250", "223.255.255.254"),
        ("240.0.0.1", "223.1.1.1"),
        ("255.255.255.255", "93.184.216.34"),
        ("::1", "2606:2800:220:1::1"),
        ("::", "2a00:1450:4001::1"),
        ("::127.0.0.1", "::8.8.8.8"),
        ("::10.0.0.1", "::1.1.1.1"),
        ("::ffff:127.0.0.1", "::ffff:8.8.8.8"),
        ("::ffff:169.254.169.254", "::ffff:93.184.216.34"),
        ("64:ff9b::127.0.0.1", "64:ff9b::8.8.8.8"),
        ("64:ff9b::10.1.2.3", "64:ff9b::1.1.1.1"),
        ("64:ff9b:1::8.8.8.8", "64:ff9b:2::1"),
        ("2002:7f00:1::1", "2002:808:808::1"),
        ("2002:a9fe:a9fe::", "2002:5db8:d822::1"),
        ("2001::1", "2001:1::1"),
        ("2001:0:ffff:ffff::1", "2001:4860:4860::8888"),
        ("2001:2::1", "2001:3::1"),
        ("2001:db8::1", "2001:db9::1"),
        ("3fff::1", "3fff:1000::1"),
        ("100::1", "100:0:0:1::1"),
        ("fc00::1", "fbff:ffff::1"),
        ("fdff:ffff::1", "fe00::1"),
        ("fe80::1", "fe7f::1"),
        ("febf::1", "fe7f:ffff::1"),
        ("fec0::1", "fe00:1::1"),
        ("feff::1", "2606:4700::1111"),
        ("ff02::1", "2620:fe::fe"),
    ];

    #[test]
    fn every_special_range_is_refused_and_its_neighbour_is_not() {
        for (blocked, allowed) in CASES {
            let (b, a): (IpAddr, IpAddr) = match (blocked.parse(), allowed.parse()) {
                (Ok(b), Ok(a)) => (b, a),
                _ => panic!("bad test address in {blocked} / {allowed}"),
            };
            assert!(is_private(b), "{blocked} must be refused");
            assert!(!is_private(a), "{allowed} must be allowed");
        }
    }
}
