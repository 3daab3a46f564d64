//! `linux.resources`: parsed from the spec's raw JSON and checked before
//! anything is created (validate.rs), checked against the host (host.rs),
//! and written to the container's own cgroup dirs in the order runc's
//! cgroupfs driver writes them (v1.rs: cpuset, devices, memory, cpu, pids,
//! blkio, hugetlb, net_cls, net_prio, rdma; v2.rs: pids, memory, io, cpu,
//! devices, cpuset, hugetlb, rdma, unified), each write made or, for
//! `explain`, noted (write.rs).
//!
//! Every error names the config.json field it comes from.

mod host;
mod v1;
mod v2;
mod validate;
mod write;

pub use crate::spec::resources::{
    BlockIo, Cpu, Hugepage, Memory, Network, Pids, Priority, Rdma, ThrottleDevice, WeightDevice,
};
pub use host::{check_host, check_rootless, gather_host, layout, v1_dir, Layout};
pub(crate) use v2::v2_swap;
pub use v2::{blkio_to_io_weight, shares_to_weight};
pub use validate::Limits;
pub use write::{Apply, Write};

use super::CgroupDir;
use crate::error::Result;

/// Write the limits into the container's (freshly created or running)
/// cgroups.
pub fn apply(l: &Limits, dirs: &[CgroupDir], how: Apply) -> Result<()> {
    match layout(dirs) {
        Layout::V1(dirs) => v1::apply(l, dirs, how),
        Layout::V2(d) => v2::apply(l, d, how),
        Layout::None => Ok(()),
    }
}

/// What `apply` at create would write into `dirs` (which need not
/// exist), in order; the error is the one `apply` would meet first
/// without touching the host. Files whose presence decides a write
/// (blkio.bfq.weight, the rsvd hugetlb limits, unified keys) are looked
/// up in the nearest directory that exists, whose files the new cgroup
/// will have.
pub fn record(l: &Limits, dirs: &[CgroupDir]) -> (Vec<Write>, Result<()>) {
    write::start_recording();
    let res = apply(l, dirs, Apply::CREATE);
    (write::stop_recording(), res)
}

#[cfg(test)]
mod tests {
    use super::v2::v2_idle_and_weight;
    use super::validate::page_size_ok;
    use super::*;
    use crate::cgroups::devices::{allows_all, device_rule_string, effective_device_rules};
    use crate::spec::types::{DeviceRule, Resources};

    #[test]
    fn conversions_like_runc() {
        // runc 1.5.1's values (cpu.weight and systemd's CPUWeight).
        for (shares, weight) in [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (100, 17),
            (512, 59),
            (1024, 100),
            (2048, 174),
            (4096, 303),
            (100000, 4340),
            (262143, 10000),
            (262144, 10000),
            (1 << 20, 10000),
        ] {
            assert_eq!(shares_to_weight(shares), weight, "shares {shares}");
        }
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10000);
        let m = Memory {
            limit: Some(100),
            swap: Some(300),
            ..Default::default()
        };
        assert_eq!(v2_swap(&m).unwrap(), 200);
    }

    #[test]
    fn v2_idle_goes_before_weight_and_idle_drops_it() {
        let cpu = |shares: Option<u64>, idle: Option<i64>| Cpu {
            shares,
            idle,
            ..Default::default()
        };
        let files = |c: Cpu| -> Vec<(&str, String)> {
            v2_idle_and_weight(&c)
                .into_iter()
                .map(|(f, v, _)| (f, v))
                .collect()
        };
        let w = |v: &str| ("cpu.weight", v.to_string());
        let i = |v: &str| ("cpu.idle", v.to_string());
        assert_eq!(files(cpu(Some(1024), None)), [w("100")]);
        assert_eq!(files(cpu(None, Some(1))), [i("1")]);
        assert_eq!(files(cpu(Some(2048), Some(0))), [i("0"), w("174")]);
        assert_eq!(files(cpu(Some(1024), Some(1))), [i("1")]);
        assert_eq!(files(cpu(Some(0), Some(0))), [i("0")]);
    }

    #[test]
    fn rules_and_validation() {
        let r: Resources = serde_json::from_value(serde_json::json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": -5}
        }))
        .unwrap();
        let e = Limits::parse(Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.memory.limit"), "{e}");
        let r: Resources = serde_json::from_value(serde_json::json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "cpu": {"shares": -1}
        }))
        .unwrap();
        let e = Limits::parse(Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.cpu"), "{e}");
        let l = Limits {
            devices: vec![DeviceRule {
                allow: false,
                access: Some("rwm".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let rules = effective_device_rules(&l.devices);
        assert!(!allows_all(&rules));
        assert_eq!(device_rule_string(&rules[0]), "a *:* rwm");
        assert_eq!(device_rule_string(&rules[1]), "c *:* m");
        assert!(allows_all(&[]));
        assert!(page_size_ok("2MB") && !page_size_ok("2M") && !page_size_ok("MB"));
    }
}
