//! Flags and subcommands, named as runc names them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// clap prints "pivot " before this, so the first line reads as runc's
/// does: "pivot version X".
const VERSION: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("PIVOT_COMMIT"),
    "\nspec: 1.2.1"
);

#[derive(Parser, Debug)]
#[command(
    name = "pivot",
    version = VERSION,
    about = "pivot: an OCI container runtime",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version (runc's -v; -V and --version too)
    #[arg(short = 'v', short_alias = 'V', long = "version", action = clap::ArgAction::Version)]
    pub version: (),
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct Global {
    /// Directory for container state (default: /run/pivot, or
    /// $XDG_RUNTIME_DIR/pivot when rootless)
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write errors (and debug lines) to this file
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug information
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (transient units over D-Bus)
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Ignore cgroup permission errors: true, false or auto (not root, or
    /// in a user namespace)
    #[arg(long, default_value = "auto")]
    pub rootless: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct CreateFlags {
    /// Path to the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket to receive the pty master of a terminal container
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's init pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for a rootfs on ramfs)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N more fds (3 .. 3+N-1) to the container process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Unix socket to receive a pidfd of the container's init
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ExecFlags {
    /// A process.json describing the process
    #[arg(short = 'p', long = "process")]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Unix socket to receive the pty master
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set an environment variable (KEY=VALUE), repeatable
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// UID[:GID] to run as
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional group ids, repeatable
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability, repeatable
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// AppArmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// SELinux label for the process
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// Pass N more fds (3 .. 3+N-1) to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// File to write the process's pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Return once the process has started
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Allow exec into a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Run in this (existing) sub-cgroup of the container:
    /// [CONTROLLER[,CONTROLLER...]:]PATH, repeatable (cgroup v1)
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Unix socket to receive a pidfd of the process
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a default config.json
    Spec {
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// A spec for a container run by an unprivileged user
        #[arg(long = "rootless", id = "spec_rootless")]
        rootless: bool,
    },
    /// Create a container (its process waits for `start`)
    Create {
        #[command(flatten)]
        flags: CreateFlags,
        id: String,
    },
    /// Start the process of a created container
    Start { id: String },
    /// Create and start a container
    Run {
        #[command(flatten)]
        flags: CreateFlags,
        /// Return once the container has started
        #[arg(short = 'd', long)]
        detach: bool,
        /// Do not delete the container after it exits
        #[arg(long)]
        keep: bool,
        id: String,
    },
    /// Run a new process in a running container
    Exec {
        #[command(flatten)]
        flags: Box<ExecFlags>,
        id: String,
        /// The command and its arguments
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Print the state of a container as JSON
    State { id: String },
    /// Send a signal to a container's init (default SIGTERM)
    Kill {
        /// Signal every process of the container
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a container and everything it holds
    Delete {
        /// Kill a running container first
        #[arg(short = 'f', long)]
        force: bool,
        id: String,
    },
    /// List containers
    #[command(alias = "ps-list")]
    List {
        #[arg(short = 'f', long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Print only the IDs
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Print the features this pivot supports, as JSON
    Features,
    /// Report what this host supports and what pivot will use (exit
    /// status 1 when something pivot needs is missing)
    Check {
        #[arg(short = 'f', long, value_enum, default_value = "text")]
        format: LogFormat,
    },
    /// Suspend every process of a container (cgroup freezer)
    Pause { id: String },
    /// Resume a paused container
    Resume { id: String },
    /// List the processes of a container
    Ps {
        #[arg(short = 'f', long, value_enum, default_value = "table")]
        format: ListFormat,
        id: String,
        /// Options passed to ps(1) (default -ef)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Update a container's resource limits
    Update {
        #[command(flatten)]
        flags: Box<UpdateFlags>,
        id: String,
    },
    /// Checkpoint a running container with CRIU
    Checkpoint {
        #[command(flatten)]
        flags: Box<CheckpointFlags>,
        id: String,
    },
    /// Restore a container from a CRIU checkpoint
    Restore {
        #[command(flatten)]
        flags: Box<RestoreFlags>,
        id: String,
    },
    /// Print what create would do for a bundle, and every problem
    /// its checks would report (no root needed)
    Explain {
        /// Path to the bundle directory
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// Output format
        #[arg(short = 'f', long, value_enum, default_value = "text")]
        format: ExplainFormat,
        /// Explain with --no-pivot, as create would take it
        #[arg(long = "no-pivot")]
        no_pivot: bool,
        /// The container ID create would get (names its default cgroup)
        #[arg(long, default_value = "explain")]
        id: String,
    },
    /// Print container stats and OOM events as JSON
    Events {
        /// Print one stats event and exit
        #[arg(long)]
        stats: bool,
        /// Interval between stats events (e.g. 5s, 500ms, 2)
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
}

/// `update`'s flags, as runc names them.
#[derive(Args, Debug, Clone)]
pub struct UpdateFlags {
    /// LinuxResources JSON file to apply ("-" for stdin)
    #[arg(short = 'r', long = "resources")]
    pub resources: Option<String>,
    /// Memory limit (bytes, or with k/m/g suffix; -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited swap)
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// CFS quota in microseconds per period (-1 for none)
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CFS burst in microseconds
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// SCHED_IDLE for the cgroup (1) or not (0)
    #[arg(long = "cpu-idle", allow_hyphen_values = true)]
    pub cpu_idle: Option<i64>,
    /// Realtime period in microseconds
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// Realtime runtime in microseconds
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs allowed (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of pids (-1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight (10-1000)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Kernel memory limit (ignored with a warning, as runc)
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP memory limit (ignored with a warning, as runc)
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Intel RDT L3 cache schema (the container's resctrl group)
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (the container's resctrl group)
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
}

/// What `checkpoint` and `restore` both take, as runc names it.
#[derive(Args, Debug, Clone)]
pub struct CriuFlags {
    /// Directory for the images (default: ./checkpoint)
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's logs and work files (default: the image path)
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow a shell job (a terminal session from outside)
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// Cgroups mode: ignore, soft, full or strict
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// Make this namespace empty instead of restoring it (network)
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    /// Deduplicate the images' memory pages as they are written or read
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Use userfaultfd to fetch memory pages lazily
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CheckpointFlags {
    #[command(flatten)]
    pub criu: CriuFlags,
    /// A pre-dump's image directory, relative to --image-path
    #[arg(long = "parent-path")]
    pub parent_path: Option<String>,
    /// Leave the process running after the checkpoint
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// Dump memory only, leaving the container running (for a later
    /// checkpoint with --parent-path)
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// An fd CRIU writes a zero byte to once its lazy page server is ready
    #[arg(long = "status-fd")]
    pub status_fd: Option<i32>,
    /// ADDRESS:PORT of a CRIU page server
    #[arg(long = "page-server")]
    pub page_server: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreFlags {
    #[command(flatten)]
    pub criu: CriuFlags,
    #[command(flatten)]
    pub create: CreateFlags,
    /// Return once the container is restored
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Do not make pivot a subreaper (accepted as runc does)
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// LSM profile for the restored process
    #[arg(long = "lsm-profile")]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restored mounts
    #[arg(long = "lsm-mount-context")]
    pub lsm_mount_context: Option<String>,
}
