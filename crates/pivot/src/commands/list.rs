use crate::cli::ListFormat;
use pivot_core::state::oci_state;
use pivot_core::{Error, Result, Runtime};

pub fn run(rt: &Runtime, format: ListFormat, quiet: bool) -> Result<i32> {
    let all = rt.list()?;
    if quiet {
        // One write, not one a line: a thousand containers are a thousand
        // lines.
        if !all.is_empty() {
            let ids: Vec<&str> = all.iter().map(|(s, _)| s.id.as_str()).collect();
            crate::out(&ids.join("\n"));
        }
        return Ok(0);
    }
    match format {
        ListFormat::Json => {
            let v: Vec<_> = all.iter().map(|(s, st)| oci_state(s, *st)).collect();
            let text = serde_json::to_string(&v).map_err(|e| Error::other(e.to_string()))?;
            crate::out(&text);
        }
        ListFormat::Table => {
            let rows: Vec<[String; 6]> = all
                .iter()
                .map(|(s, st)| {
                    let pid = if *st == pivot_core::state::Status::Stopped {
                        0
                    } else {
                        s.pid
                    };
                    [
                        s.id.clone(),
                        pid.to_string(),
                        st.as_str().to_string(),
                        s.bundle.display().to_string(),
                        s.created.clone(),
                        if s.owner.is_empty() {
                            "root".into()
                        } else {
                            s.owner.clone()
                        },
                    ]
                })
                .collect();
            print_table(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], &rows);
        }
    }
    Ok(0)
}

/// Columns padded like Go's tabwriter (min width 12, padding 1).
fn print_table(header: [&str; 6], rows: &[[String; 6]]) {
    let mut width = [12usize; 6];
    for (i, h) in header.iter().enumerate() {
        width[i] = width[i].max(h.len() + 1);
    }
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.len() + 1);
        }
    }
    let mut text = String::new();
    let mut line = |cells: Vec<&str>| {
        if !text.is_empty() {
            text.push('\n');
        }
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(c);
            } else {
                text.push_str(&format!("{c:<w$}", w = width[i]));
            }
        }
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    crate::out(&text);
}
