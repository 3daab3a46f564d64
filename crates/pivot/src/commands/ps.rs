use crate::cli::ListFormat;
use pivot_core::{Error, Result, Runtime};

/// json: the pids as an array (`null` when there are none, as runc); table: the host's `ps` (default `-ef`),
/// its header and the lines whose PID column is one of the container's.
pub fn run(rt: &Runtime, format: ListFormat, id: &str, ps_args: &[String]) -> Result<i32> {
    let pids = rt.pids(id)?;
    if format == ListFormat::Json {
        if !ps_args.is_empty() {
            return Err(Error::invalid("ps: --format json takes no ps options"));
        }
        // No process (a stopped container): `null`, as runc prints Go's
        // nil slice.
        let text = if pids.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(&pids).map_err(|e| Error::other(e.to_string()))?
        };
        crate::out(&text);
        return Ok(0);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::io(format!("run ps {}", args.join(" ")), e))?;
    if !output.status.success() {
        return Err(Error::other(format!(
            "ps {}: {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        return Err(Error::other("ps: no PID column in the output of ps"));
    };
    crate::out(header);
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            crate::out(line);
        }
    }
    Ok(0)
}
