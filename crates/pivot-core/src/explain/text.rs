//! `explain`'s text form: one section per concern, in the order create
//! meets them, each line naming the config.json field it comes from.

use super::Explanation;
use std::fmt::Write as _;

fn field(f: &Option<String>) -> String {
    f.as_deref().map(|f| format!("  [{f}]")).unwrap_or_default()
}

pub fn render(e: &Explanation) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "bundle: {}", e.bundle.display());
    if !e.rootfs.as_os_str().is_empty() {
        let _ = writeln!(w, "rootfs: {}", e.rootfs.display());
    }
    if !e.namespaces.is_empty() {
        let _ = writeln!(w, "\nnamespaces:");
        for n in &e.namespaces {
            let path = n
                .path
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            let _ = writeln!(w, "  {:<8} {}{path}: {}", n.kind, n.action, n.detail);
        }
    }
    for (name, maps) in [("uid", &e.uid_mappings), ("gid", &e.gid_mappings)] {
        if maps.is_empty() {
            continue;
        }
        let _ = writeln!(w, "\n{name} mappings (container host size):");
        for m in maps {
            let _ = writeln!(w, "  {} {} {}", m.container_id, m.host_id, m.size);
        }
    }
    if !e.steps.is_empty() {
        let _ = writeln!(w, "\nroot filesystem, in order:");
        for (i, s) in e.steps.iter().enumerate() {
            let _ = write!(w, "  {:>2}. {:<12} {}", i + 1, s.action, s.path);
            if let Some(m) = &s.mount {
                let _ = write!(w, "  {} {:?} flags {}", m.kind, m.source, m.flags);
                if !m.data.is_empty() {
                    let _ = write!(w, " data {:?}", m.data);
                }
                if !m.propagation.is_empty() {
                    let _ = write!(w, " then {}", m.propagation.join(", "));
                }
            }
            let _ = writeln!(w, "{}\n      {}", field(&s.field), s.detail);
        }
    }
    if !e.devices.is_empty() {
        let _ = writeln!(w, "\ndevices:");
        for d in &e.devices {
            let _ = writeln!(
                w,
                "  {} {} {}:{} mode {} owner {}:{} ({}){}",
                d.path,
                d.kind,
                d.major,
                d.minor,
                d.mode,
                d.uid,
                d.gid,
                d.how,
                field(&d.field)
            );
        }
    }
    if !e.root_switch.is_empty() {
        let _ = writeln!(w, "\nroot switch: {}", e.root_switch);
        let _ = writeln!(w, "rootfs propagation: {}", e.rootfs_propagation);
        let _ = writeln!(w, "read-only root: {}", e.readonly_root);
    }
    list(w, "masked paths", &e.masked_paths);
    list(w, "read-only paths", &e.readonly_paths);
    if !e.sysctls.is_empty() {
        let _ = writeln!(w, "\nsysctls:");
        for (k, v) in &e.sysctls {
            let _ = writeln!(w, "  {k} = {v}");
        }
    }
    if !e.rlimits.is_empty() {
        let _ = writeln!(w, "\nrlimits (soft hard):");
        for r in &e.rlimits {
            let _ = writeln!(w, "  {} {} {}", r.kind, r.soft, r.hard);
        }
    }
    if !e.capabilities.is_empty() {
        let _ = writeln!(w, "\ncapabilities:");
        for (set, names) in &e.capabilities {
            let names = if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(" ")
            };
            let _ = writeln!(w, "  {set:<11} {names}");
        }
        let _ = writeln!(w, "no_new_privs: {}", e.no_new_privileges);
    }
    if let Some(s) = &e.seccomp {
        let _ = writeln!(
            w,
            "\nseccomp: default action {}, {} rule(s) over {} syscall name(s), architectures [{}], flags [{}]",
            s.default_action,
            s.rules,
            s.syscalls,
            s.architectures.join(" "),
            s.flags.join(" ")
        );
    }
    if !e.hooks.is_empty() {
        let _ = writeln!(w, "\nhooks:");
        for st in &e.hooks {
            for (i, h) in st.hooks.iter().enumerate() {
                let _ = writeln!(w, "  {}[{i}]: {} {}", st.stage, h.path, h.args.join(" "));
            }
        }
    }
    if let Some(c) = &e.cgroup {
        let _ = writeln!(w, "\ncgroup ({} driver, {}):", c.driver, c.version);
        if let Some(n) = &c.note {
            let _ = writeln!(w, "  note: {n}");
        }
        if let Some(u) = &c.unit {
            let _ = writeln!(w, "  unit {u}");
        }
        for p in &c.paths {
            let _ = writeln!(w, "  {}", p.display());
        }
        if !c.properties.is_empty() {
            let _ = writeln!(w, "unit properties:");
        }
        for p in &c.properties {
            let _ = writeln!(w, "  {:<5} {}={}", p.stage, p.name, p.value);
        }
        if !c.writes.is_empty() {
            let _ = writeln!(w, "writes:");
        }
        for wr in &c.writes {
            let _ = writeln!(
                w,
                "  {} <- {:?}  [{}]",
                wr.file.display(),
                wr.value,
                wr.field
            );
        }
    }
    list(w, "warnings", &e.warnings);
    if e.problems.is_empty() {
        let _ = writeln!(w, "\nproblems: none");
    } else {
        let _ = writeln!(w, "\nproblems ({}):", e.problems.len());
        for p in &e.problems {
            let _ = writeln!(w, "  {p}");
        }
    }
    o
}

fn list(w: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(w, "\n{title}:");
    for i in items {
        let _ = writeln!(w, "  {i}");
    }
}
