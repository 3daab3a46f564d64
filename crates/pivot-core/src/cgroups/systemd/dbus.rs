//! systemd's manager over D-Bus (zbus, blocking API): connect the way
//! runc does (the system bus, else systemd's private socket for root; the
//! user's session bus for the user instance), and the manager calls the
//! driver makes, each waiting for its job where there is one.
//!
//! zbus runs threads of its own; callers run this in a short-lived child
//! (see `super::in_helper`) so that pivot itself stays single-threaded.

use super::props::{Property, Variant};
use crate::error::{Error, Result};
use std::time::{Duration, Instant};
use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::{
    Array, ObjectPath, OwnedObjectPath, OwnedValue, Signature, StructureBuilder, Value,
};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";
pub const PRIVATE_SOCKET: &str = "/run/systemd/private";

/// How long a job may take, as runc waits.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Manager {
    conn: Connection,
    /// Through a bus daemon (messages need a destination), or systemd's
    /// private socket.
    bus: bool,
}

/// The session bus address of the user instance: $DBUS_SESSION_BUS_ADDRESS,
/// else $XDG_RUNTIME_DIR/bus, else /run/user/UID/bus.
pub fn user_bus_address() -> String {
    if let Some(a) = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
    {
        return a;
    }
    let dir = std::env::var("XDG_RUNTIME_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("/run/user/{}", crate::sys::getuid()));
    format!("unix:path={dir}/bus")
}

/// The system bus address: $DBUS_SYSTEM_BUS_ADDRESS or the standard socket.
fn system_bus_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| format!("unix:path={SYSTEM_BUS}"))
}

/// The socket path of a `unix:path=...` address, for messages.
fn address_path(addr: &str) -> &str {
    addr.split([';', ','])
        .find_map(|p| p.strip_prefix("unix:path="))
        .unwrap_or(addr)
}

fn connect_bus(addr: &str) -> Result<Connection> {
    let path = address_path(addr);
    if path.starts_with('/') {
        if let Err(e) = std::fs::metadata(path) {
            return Err(Error::io(format!("connect to {path}"), e));
        }
    }
    zbus::blocking::connection::Builder::address(addr)
        .and_then(|b| b.build())
        .map_err(|e| Error::other(format!("connect to {path}: {e}")))
}

fn connect_private() -> Result<Connection> {
    if let Err(e) = std::fs::metadata(PRIVATE_SOCKET) {
        return Err(Error::io(format!("connect to {PRIVATE_SOCKET}"), e));
    }
    zbus::blocking::connection::Builder::address(format!("unix:path={PRIVATE_SOCKET}").as_str())
        .map(|b| b.p2p())
        .and_then(|b| b.build())
        .map_err(|e| Error::other(format!("connect to {PRIVATE_SOCKET}: {e}")))
}

impl Manager {
    /// Connect to the system instance (`user` false) or the user's.
    pub fn connect(user: bool) -> Result<Manager> {
        if user {
            let addr = user_bus_address();
            let conn = connect_bus(&addr)
                .map_err(|e| e.context("systemd user instance (--systemd-cgroup without root)"))?;
            return Ok(Manager { conn, bus: true });
        }
        let addr = system_bus_address();
        let sys_err = match connect_bus(&addr) {
            Ok(conn) => return Ok(Manager { conn, bus: true }),
            Err(e) => e,
        };
        match connect_private() {
            Ok(conn) => Ok(Manager { conn, bus: false }),
            Err(e) => Err(Error::new(
                sys_err.kind(),
                format!("systemd is not reachable: {sys_err}; {e}"),
            )),
        }
    }

    fn call<B>(&self, method: &str, body: &B) -> zbus::Result<zbus::message::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let dest = if self.bus { Some(DEST) } else { None };
        self.conn
            .call_method(dest, PATH, Some(MANAGER), method, body)
    }

    fn manager_property(&self, name: &str) -> Result<OwnedValue> {
        let dest = if self.bus { Some(DEST) } else { None };
        let reply = self
            .conn
            .call_method(
                dest,
                PATH,
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &(MANAGER, name),
            )
            .map_err(|e| Error::other(format!("systemd: get the manager's {name}: {e}")))?;
        reply
            .body()
            .deserialize::<OwnedValue>()
            .map_err(|e| Error::other(format!("systemd: the manager's {name}: {e}")))
    }

    fn manager_string(&self, name: &str) -> Result<String> {
        let v = self.manager_property(name)?;
        String::try_from(v).map_err(|e| Error::other(format!("systemd: the manager's {name}: {e}")))
    }

    /// systemd's version (0 when it cannot be read, as runc goes on).
    pub fn version(&self) -> u32 {
        self.manager_string("Version")
            .ok()
            .and_then(|v| super::props::version_number(&v))
            .unwrap_or(0)
    }

    /// The manager's own cgroup (the user instance's slices live below it).
    pub fn control_group(&self) -> Result<String> {
        self.manager_string("ControlGroup")
    }

    fn job_signals(&self) -> Result<MessageIterator> {
        // Signals go to subscribed clients only.
        self.call("Subscribe", &())
            .map_err(|e| Error::other(format!("systemd: Subscribe: {e}")))?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(MANAGER)
            .and_then(|b| b.member("JobRemoved"))
            .map(|b| b.build())
            .map_err(|e| Error::other(format!("systemd: match JobRemoved: {e}")))?;
        MessageIterator::for_match_rule(rule, &self.conn, None)
            .map_err(|e| Error::other(format!("systemd: match JobRemoved: {e}")))
    }

    /// Wait for JobRemoved of `job`; its result ("done" on success).
    fn wait_job(&self, signals: &mut MessageIterator, job: &OwnedObjectPath) -> Result<String> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        for msg in signals.by_ref() {
            let msg = msg.map_err(|e| Error::other(format!("systemd: job signal: {e}")))?;
            let Ok((_, path, _, result)) = msg
                .body()
                .deserialize::<(u32, OwnedObjectPath, String, String)>()
            else {
                continue;
            };
            if &path == job {
                return Ok(result);
            }
            if Instant::now() > deadline {
                break;
            }
        }
        Err(Error::other(format!(
            "systemd: no result for job {} within {}s",
            job.as_str(),
            JOB_TIMEOUT.as_secs()
        )))
    }

    /// StartTransientUnit, waiting for its job; a leftover failed unit of
    /// the same name is reset and the start tried once more, as runc does.
    pub fn start(&self, unit: &str, props: &[Property]) -> Result<()> {
        let values = to_values(props)?;
        let aux: Vec<(String, Vec<(String, Value<'static>)>)> = Vec::new();
        let mut signals = self.job_signals()?;
        let mut retried = false;
        let job = loop {
            match self.call(
                "StartTransientUnit",
                &(unit, "replace", values.clone(), aux.clone()),
            ) {
                Ok(reply) => {
                    break reply.body().deserialize::<OwnedObjectPath>().map_err(|e| {
                        Error::other(format!("systemd: StartTransientUnit {unit:?}: {e}"))
                    })?
                }
                Err(e)
                    if !retried
                        && error_name(&e) == Some("org.freedesktop.systemd1.UnitExists") =>
                {
                    let _ = self.reset_failed(unit);
                    retried = true;
                }
                Err(e) => {
                    return Err(Error::other(format!(
                        "systemd: StartTransientUnit {unit:?}: {e}"
                    )))
                }
            }
        };
        let result = self.wait_job(&mut signals, &job)?;
        if result != "done" {
            let _ = self.reset_failed(unit);
            return Err(Error::other(format!(
                "systemd: starting unit {unit:?}: job {result} (not done)"
            )));
        }
        Ok(())
    }

    /// SetUnitProperties (runtime), as runc's Set.
    pub fn set(&self, unit: &str, props: &[Property]) -> Result<()> {
        if props.is_empty() {
            return Ok(());
        }
        let values = to_values(props)?;
        self.call("SetUnitProperties", &(unit, true, values))
            .map(drop)
            .map_err(|e| Error::other(format!("systemd: SetUnitProperties {unit:?}: {e}")))
    }

    /// StopUnit, waiting for its job, then ResetFailedUnit so that no
    /// failed unit stays behind; a unit already gone is no error.
    pub fn stop(&self, unit: &str) -> Result<()> {
        let mut signals = self.job_signals()?;
        match self.call("StopUnit", &(unit, "replace")) {
            Ok(reply) => {
                let job = reply
                    .body()
                    .deserialize::<OwnedObjectPath>()
                    .map_err(|e| Error::other(format!("systemd: StopUnit {unit:?}: {e}")))?;
                // Like runc, a job that ends otherwise than "done" is no
                // error: the unit is gone or failed, and reset below.
                self.wait_job(&mut signals, &job)?;
            }
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.NoSuchUnit") => {}
            Err(e) => return Err(Error::other(format!("systemd: StopUnit {unit:?}: {e}"))),
        }
        let _ = self.reset_failed(unit);
        Ok(())
    }

    pub fn reset_failed(&self, unit: &str) -> Result<()> {
        self.call("ResetFailedUnit", &(unit,))
            .map(drop)
            .map_err(|e| Error::other(format!("systemd: ResetFailedUnit {unit:?}: {e}")))
    }
}

fn error_name(e: &zbus::Error) -> Option<&str> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str()),
        _ => None,
    }
}

fn to_values(props: &[Property]) -> Result<Vec<(String, Value<'static>)>> {
    props
        .iter()
        .map(|(n, v)| {
            value(v)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::invalid(format!("unit property {n}: {e}")))
        })
        .collect()
}

/// pivot's variant as a zbus value.
pub fn value(v: &Variant) -> zbus::zvariant::Result<Value<'static>> {
    Ok(match v {
        Variant::Bool(b) => Value::Bool(*b),
        Variant::Byte(n) => Value::U8(*n),
        Variant::I16(n) => Value::I16(*n),
        Variant::U16(n) => Value::U16(*n),
        Variant::I32(n) => Value::I32(*n),
        Variant::U32(n) => Value::U32(*n),
        Variant::I64(n) => Value::I64(*n),
        Variant::U64(n) => Value::U64(*n),
        Variant::Double(d) => Value::F64(*d),
        Variant::Str(s) => Value::from(s.clone()),
        Variant::ObjectPath(s) => Value::ObjectPath(ObjectPath::try_from(s.clone())?),
        Variant::Signature(s) => Value::Signature(Signature::try_from(s.as_str())?),
        Variant::Array(elem, items) => {
            let mut a = Array::new(&Signature::try_from(elem.as_str())?);
            for i in items {
                a.append(value(i)?)?;
            }
            Value::Array(a)
        }
        Variant::Struct(fields) => {
            let mut b = StructureBuilder::new();
            for f in fields {
                b = b.append_field(value(f)?);
            }
            Value::Structure(b.build()?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_signatures() {
        let cases = [
            Variant::U64(1),
            Variant::Bool(true),
            Variant::Array("u".into(), vec![Variant::U32(7)]),
            Variant::Array("(ss)".into(), vec![]),
            Variant::Array(
                "(ss)".into(),
                vec![Variant::Struct(vec![
                    Variant::Str("/dev/char/1:3".into()),
                    Variant::Str("rwm".into()),
                ])],
            ),
            Variant::Array("y".into(), vec![Variant::Byte(3)]),
        ];
        for v in cases {
            let z = value(&v).unwrap();
            assert_eq!(z.value_signature().to_string(), v.signature(), "{v:?}");
        }
    }

    /// The message StartTransientUnit sends: `ssa(sv)a(sa(sv))`.
    #[test]
    fn start_message_signature() {
        let props = to_values(&[("Delegate".into(), Variant::Bool(true))]).unwrap();
        let aux: Vec<(String, Vec<(String, Value<'static>)>)> = Vec::new();
        let m = zbus::message::Message::method_call(PATH, "StartTransientUnit")
            .unwrap()
            .destination(DEST)
            .unwrap()
            .interface(MANAGER)
            .unwrap()
            .build(&("pivot-x.scope", "replace", props, aux))
            .unwrap();
        assert_eq!(
            m.body().signature().to_string_no_parens(),
            "ssa(sv)a(sa(sv))"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address_path("unix:path=/run/dbus/system_bus_socket"),
            SYSTEM_BUS
        );
        assert_eq!(address_path("unix:path=/a,guid=x"), "/a");
    }

    /// A stand-in for systemd's manager (what StartTransientUnit, JobRemoved,
    /// SetUnitProperties and StopUnit look like on the wire), served over a
    /// socket pair as systemd serves its private socket.
    mod fake {
        use std::sync::{Arc, Mutex};
        use zbus::object_server::SignalEmitter;
        use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue};

        pub type Calls = Arc<Mutex<Vec<(String, String, Vec<(String, OwnedValue)>)>>>;

        pub struct Systemd {
            pub calls: Calls,
            pub jobs: u32,
        }

        impl Systemd {
            fn job(&mut self) -> OwnedObjectPath {
                self.jobs += 1;
                ObjectPath::try_from(format!("/org/freedesktop/systemd1/job/{}", self.jobs))
                    .unwrap()
                    .into()
            }
        }

        #[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
        impl Systemd {
            async fn subscribe(&self) {}

            async fn start_transient_unit(
                &mut self,
                name: String,
                mode: String,
                props: Vec<(String, OwnedValue)>,
                _aux: Vec<(String, Vec<(String, OwnedValue)>)>,
                #[zbus(signal_emitter)] e: SignalEmitter<'_>,
            ) -> zbus::fdo::Result<OwnedObjectPath> {
                self.calls
                    .lock()
                    .unwrap()
                    .push(("start".into(), name.clone(), props));
                let job = self.job();
                // An unrelated job first: only the unit's own counts.
                let other = ObjectPath::try_from("/org/freedesktop/systemd1/job/999").unwrap();
                Self::job_removed(&e, 999, other, "other.scope", "failed").await?;
                let result = if name.starts_with("fail") {
                    "failed"
                } else {
                    "done"
                };
                assert_eq!(mode, "replace");
                Self::job_removed(&e, self.jobs, job.as_ref(), &name, result).await?;
                Ok(job)
            }

            async fn set_unit_properties(
                &mut self,
                name: String,
                runtime: bool,
                props: Vec<(String, OwnedValue)>,
            ) {
                assert!(runtime);
                self.calls.lock().unwrap().push(("set".into(), name, props));
            }

            async fn stop_unit(
                &mut self,
                name: String,
                _mode: String,
                #[zbus(signal_emitter)] e: SignalEmitter<'_>,
            ) -> zbus::fdo::Result<OwnedObjectPath> {
                self.calls
                    .lock()
                    .unwrap()
                    .push(("stop".into(), name.clone(), vec![]));
                let job = self.job();
                Self::job_removed(&e, self.jobs, job.as_ref(), &name, "done").await?;
                Ok(job)
            }

            async fn reset_failed_unit(&mut self, name: String) {
                self.calls
                    .lock()
                    .unwrap()
                    .push(("reset".into(), name, vec![]));
            }

            #[zbus(property)]
            async fn version(&self) -> String {
                "255.4-1".into()
            }

            #[zbus(signal)]
            async fn job_removed(
                e: &SignalEmitter<'_>,
                id: u32,
                job: ObjectPath<'_>,
                unit: &str,
                result: &str,
            ) -> zbus::Result<()>;
        }
    }

    #[test]
    #[allow(deprecated)] // unix_stream: a plain socket pair is all a test needs
    fn talks_to_the_manager() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let calls = fake::Calls::default();
        let systemd = fake::Systemd {
            calls: calls.clone(),
            jobs: 0,
        };
        let server = std::thread::spawn(move || {
            zbus::blocking::connection::Builder::unix_stream(b)
                .server(zbus::Guid::generate())
                .unwrap()
                .p2p()
                .serve_at(PATH, systemd)
                .unwrap()
                .build()
                .unwrap()
        });
        let conn = zbus::blocking::connection::Builder::unix_stream(a)
            .p2p()
            .build()
            .unwrap();
        let _server = server.join().unwrap();
        let m = Manager { conn, bus: false };
        assert_eq!(m.version(), 255);
        let u = super::super::path::unit(Some("system.slice:pt:x"), "x", false, "").unwrap();
        let props = super::super::props::unit(&u, "x", Some(42), true);
        m.start(&u.name, &props).unwrap();
        m.set(&u.name, &[("MemoryMax".into(), Variant::U64(1 << 20))])
            .unwrap();
        m.stop(&u.name).unwrap();
        let e = m.start("fail-x.scope", &props).unwrap_err().to_string();
        assert!(e.contains("job failed"), "{e}");
        let calls = calls.lock().unwrap();
        let what: Vec<(&str, &str)> = calls
            .iter()
            .map(|(c, n, _)| (c.as_str(), n.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                ("start", "pt-x.scope"),
                ("set", "pt-x.scope"),
                ("stop", "pt-x.scope"),
                ("reset", "pt-x.scope"),
                ("start", "fail-x.scope"),
                ("reset", "fail-x.scope"),
            ]
        );
        let sent = &calls[0].2;
        let get = |n: &str| &sent.iter().find(|(k, _)| k == n).unwrap().1;
        assert!(get("Delegate").downcast_ref::<bool>().unwrap());
        assert_eq!(
            get("Slice").downcast_ref::<String>().unwrap(),
            "system.slice"
        );
        assert_eq!(get("PIDs").value_signature().to_string(), "au");
        let pids: Vec<u32> = get("PIDs").try_clone().unwrap().try_into().unwrap();
        assert_eq!(pids, [42]);
        assert_eq!(calls[1].2[0].1.downcast_ref::<u64>().unwrap(), 1 << 20);
    }
}
