//! Keys that differ from the runtime-spec's only in case.
//!
//! runc reads config.json with Go's encoding/json, which matches an object
//! key to a field without regard to case (`"pagesize"` is `pageSize`), so
//! configs with such keys run under runc. pivot reads them the same way:
//! a key that is not one of the spec's names but equals one of them
//! ignoring ASCII case is read as that name, with a warning naming it.
//! One name given in two cases in one object is read as Go reads it where
//! that does not depend on which comes last: two objects add up (runc's
//! own tests set `.linux.resources.CPU` next to `.cpu`); two different
//! values for one setting are refused, naming the field, as is a key
//! given twice in the same case. Go would take the last one, a reader that
//! matches case (a policy checker, crun, youki) the exact one, and a
//! config that means one thing to the checker and another to the runtime
//! is how such differences get used.
//!
//! Configs without such a key (nearly all) are parsed as before, from the
//! text, with the line of any error; the scan that finds out costs one
//! pass over the bytes.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Every key the runtime-spec defines for config.json (and so for
/// process.json and the resources of `update -r`), in byte order. The
/// keys of the maps below are not among them: they are the user's.
pub const KEYS: &[&str] = &[
    "access",
    "action",
    "additionalGids",
    "allow",
    "ambient",
    "annotations",
    "apparmorProfile",
    "architectures",
    "args",
    "blockIO",
    "bounding",
    "capabilities",
    "cgroupsPath",
    "checkBeforeUpdate",
    "class",
    "classID",
    "closID",
    "commandLine",
    "consoleSize",
    "containerID",
    "cpu",
    "cpus",
    "createContainer",
    "createRuntime",
    "cwd",
    "deadline",
    "defaultAction",
    "defaultErrnoRet",
    "destination",
    "devices",
    "disableOOMKiller",
    "domain",
    "domainname",
    "effective",
    "enableCMT",
    "enableMBM",
    "enableMonitoring",
    "env",
    "errnoRet",
    "execCPUAffinity",
    "fileMode",
    "final",
    "flags",
    "gid",
    "gidMappings",
    "hard",
    "hcaHandles",
    "hcaObjects",
    "height",
    "hooks",
    "hostID",
    "hostname",
    "hugepageLimits",
    "idle",
    "index",
    "inheritable",
    "initial",
    "intelRdt",
    "ioPriority",
    "kernel",
    "kernelTCP",
    "l3CacheSchema",
    "leafWeight",
    "limit",
    "linux",
    "listenerMetadata",
    "listenerPath",
    "major",
    "maskedPaths",
    "memBwSchema",
    "memory",
    "memoryPolicy",
    "mems",
    "minor",
    "mode",
    "mountLabel",
    "mounts",
    "name",
    "names",
    "namespaces",
    "netDevices",
    "network",
    "nice",
    "noNewPrivileges",
    "nodes",
    "ociVersion",
    "oomScoreAdj",
    "op",
    "options",
    "pageSize",
    "path",
    "period",
    "permitted",
    "personality",
    "pids",
    "policy",
    "poststart",
    "poststop",
    "prestart",
    "priorities",
    "priority",
    "process",
    "quota",
    "rate",
    "rdma",
    "readonly",
    "readonlyPaths",
    "realtimePeriod",
    "realtimeRuntime",
    "reservation",
    "resources",
    "root",
    "rootfsPropagation",
    "runtime",
    "scheduler",
    "schemata",
    "seccomp",
    "selinuxLabel",
    "shares",
    "size",
    "soft",
    "source",
    "startContainer",
    "swap",
    "swappiness",
    "syscalls",
    "sysctl",
    "terminal",
    "throttleReadBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteBpsDevice",
    "throttleWriteIOPSDevice",
    "timeOffsets",
    "timeout",
    "type",
    "uid",
    "uidMappings",
    "umask",
    "unified",
    "useHierarchy",
    "user",
    "username",
    "value",
    "valueTwo",
    "weight",
    "weightDevice",
    "width",
];

/// Objects whose keys are the user's (annotation names, sysctl keys,
/// cgroup files, device and interface names, clocks): never renamed.
const USER_MAPS: &[&str] = &[
    "annotations",
    "netDevices",
    "rdma",
    "sysctl",
    "timeOffsets",
    "unified",
];

fn known(key: &str) -> bool {
    KEYS.binary_search(&key).is_ok()
}

/// The spec's name that `key` equals ignoring ASCII case, if `key` is not
/// itself one.
fn canonical(key: &str) -> Option<&'static str> {
    if known(key) {
        return None;
    }
    KEYS.iter().copied().find(|k| k.eq_ignore_ascii_case(key))
}

/// Whether any key of the text might need folding: each string followed
/// by a colon is a key. A hit may be a key of a user map (folding then
/// leaves it); a miss means there is nothing to fold.
pub fn may_need_folding(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        let mut escaped = false;
        while j < b.len() && b[j] != b'"' {
            escaped |= b[j] == b'\\';
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        let end = j.min(b.len());
        let mut k = end + 1;
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        if k < b.len() && b[k] == b':' {
            // A key with an escape in it is read by the full path.
            if escaped
                || text
                    .get(start..end)
                    .is_some_and(|key| canonical(key).is_some())
            {
                return true;
            }
        }
        i = end + 1;
    }
    false
}

/// A JSON value read with every object's duplicate keys refused (serde_json's
/// `Value` keeps the last one silently).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("key {key:?} is given twice")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parse `text` into a value with duplicate keys refused, and read every
/// key that is a spec name in another case as that name. Returns the value
/// and one warning per renamed key.
pub fn fold(text: &str) -> std::result::Result<(Value, Vec<String>), FoldError> {
    let Strict(mut v) = serde_json::from_str(text).map_err(FoldError::Json)?;
    let mut warnings = Vec::new();
    fold_value(&mut v, "", false, &mut warnings).map_err(FoldError::Twice)?;
    Ok((v, warnings))
}

pub enum FoldError {
    /// Not JSON, or a duplicate key (with its line).
    Json(serde_json::Error),
    /// One name given twice in different cases (field and text).
    Twice(String),
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn fold_value(
    v: &mut Value,
    path: &str,
    user_map: bool,
    warnings: &mut Vec<String>,
) -> std::result::Result<(), String> {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                fold_value(item, &format!("{path}[{i}]"), false, warnings)?;
            }
        }
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                let to = if user_map { None } else { canonical(&k) };
                let name = to.unwrap_or(&k).to_string();
                let here = join(path, &name);
                let user = !user_map && USER_MAPS.contains(&name.as_str());
                fold_value(&mut item, &here, user, warnings)?;
                if to.is_some() {
                    warnings.push(format!(
                        "{here}: key {k:?} read as {name:?} (the runtime-spec's name)"
                    ));
                }
                match map.get_mut(&name) {
                    Some(first) => merge(first, item, &here)?,
                    None => {
                        map.insert(name, item);
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// One name given twice in an object (in two cases): Go decodes both into
/// the same field, so objects add up; runc's own tests rely on that. Two
/// different values for one setting are refused: Go would keep the last,
/// a reader that matches case the other.
fn merge(first: &mut Value, second: Value, path: &str) -> std::result::Result<(), String> {
    match (first, second) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                let here = join(path, &k);
                match a.get_mut(&k) {
                    Some(x) => merge(x, v, &here)?,
                    None => {
                        a.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        (a, b) if *a == b => Ok(()),
        (a, b) => Err(format!(
            "{path}: given twice (in two cases) with different values, {a} and {b}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_distinct_ignoring_case() {
        for w in KEYS.windows(2) {
            assert!(w[0] < w[1], "{:?} before {:?}", w[0], w[1]);
        }
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i + 1..] {
                assert!(!a.eq_ignore_ascii_case(b), "{a} and {b} fold together");
            }
        }
    }

    #[test]
    fn scan_finds_only_miscased_keys() {
        assert!(!may_need_folding(
            r#"{"ociVersion": "1.0", "process": {"args": ["pageSize"]}}"#
        ));
        assert!(!may_need_folding(r#"{"annotations": {"io.x": "Process"}}"#));
        assert!(may_need_folding(
            r#"{"linux": {"resources": {"hugepageLimits": [{"pagesize" : "2MB"}]}}}"#
        ));
        assert!(may_need_folding(r#"{"Process": {}}"#));
    }

    #[test]
    fn folds_and_names_what_it_folded() {
        let (v, w) = fold(
            r#"{"OCIVersion": "1", "linux": {"sysctl": {"Process": "1"},
                "resources": {"hugepageLimits": [{"pagesize": "2MB", "limit": 1}]}}}"#,
        )
        .ok()
        .unwrap();
        assert_eq!(v["ociVersion"], "1");
        assert_eq!(
            v["linux"]["resources"]["hugepageLimits"][0]["pageSize"],
            "2MB"
        );
        // A user map's keys stay as they are.
        assert_eq!(v["linux"]["sysctl"]["Process"], "1");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w.contains(&"linux.resources.hugepageLimits[0].pageSize: key \"pagesize\" read as \"pageSize\" (the runtime-spec's name)".to_string()),
            "{w:?}"
        );
    }

    #[test]
    fn a_name_twice_adds_up_unless_its_values_differ() {
        // runc's update.bats sets .linux.resources.CPU next to .cpu.
        let (v, _) = fold(
            r#"{"linux": {"resources": {"cpu": {"shares": 100, "cpus": "0"},
                "CPU": {"Cpus": "0", "Mems": "0"}}}}"#,
        )
        .ok()
        .unwrap();
        assert_eq!(
            v["linux"]["resources"]["cpu"],
            serde_json::json!({"shares": 100, "cpus": "0", "mems": "0"})
        );
        let twice = |text: &str| match fold(text) {
            Err(FoldError::Twice(e)) => e,
            Err(FoldError::Json(e)) => e.to_string(),
            Ok(_) => panic!("accepted: {text}"),
        };
        let e = twice(r#"{"process": {"noNewPrivileges": true, "NoNewPrivileges": false}}"#);
        assert!(
            e.starts_with(
                "process.noNewPrivileges: given twice (in two cases) with different values"
            ),
            "{e}"
        );
        let e = twice(
            r#"{"Linux": {"resources": {"pids": {"limit": 1}}}, "linux": {"Resources": {"pids": {"Limit": 2}}}}"#,
        );
        assert!(
            e.starts_with("linux.resources.pids.limit: given twice"),
            "{e}"
        );
        let e = twice("{\"process\": {\"cwd\": \"/\",\n \"cwd\": \"/x\"}}");
        assert!(
            e.contains("\"cwd\" is given twice") && e.contains("line 2"),
            "{e}"
        );
    }
}
