//! The process and linux fields the spec keeps as raw JSON (so one bad
//! field does not hide the others, and `pivot explain` lists them all),
//! as serde types: process.scheduler, process.ioPriority,
//! process.execCPUAffinity, linux.memoryPolicy, linux.personality,
//! linux.netDevices and linux.intelRdt. Each is decoded with
//! `spec::decode`, which names the field path of an error. Names that
//! must be there are Options here, so that their absence is said in
//! pivot's words (`process.scheduler.policy: missing`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scheduler {
    pub policy: Option<String>,
    pub nice: Option<i32>,
    pub priority: Option<u32>,
    pub flags: Option<Vec<String>>,
    pub runtime: Option<u64>,
    pub deadline: Option<u64>,
    pub period: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IoPriority {
    pub class: Option<String>,
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExecCpuAffinity {
    pub initial: Option<String>,
    #[serde(rename = "final")]
    pub final_: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MemoryPolicy {
    pub mode: Option<String>,
    pub nodes: Option<String>,
    pub flags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Personality {
    pub domain: Option<String>,
    pub flags: Option<Vec<String>>,
}

/// One entry of linux.netDevices (keyed by the host's name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetDevice {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntelRdt {
    #[serde(rename = "closID")]
    pub clos_id: Option<String>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    pub schemata: Option<Vec<String>>,
    pub enable_monitoring: Option<bool>,
    #[serde(rename = "enableCMT")]
    pub enable_cmt: Option<bool>,
    #[serde(rename = "enableMBM")]
    pub enable_mbm: Option<bool>,
}
