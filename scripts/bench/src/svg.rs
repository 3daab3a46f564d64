//! A horizontal bar chart as hand-written SVG: one panel per test, one bar
//! per runtime, optionally split into segments (the phases of a lifecycle).
//! No external tool: the numbers go straight from the harness into the file.

use std::fmt::Write as _;

pub struct Bar {
    pub label: String,
    /// Segment lengths, in the order of `Panel::segments`; their sum is the
    /// drawn length.
    pub segments: Vec<f64>,
    /// The number printed after the bar.
    pub value: f64,
    /// The interquartile range of `value`, drawn as a whisker.
    pub spread: Option<(f64, f64)>,
    pub bold: bool,
}

pub struct Panel {
    pub title: String,
    /// Segment names (the legend); one name: a plain bar.
    pub segments: Vec<&'static str>,
    pub bars: Vec<Bar>,
}

const COLORS: [&str; 5] = ["#4e79a7", "#f28e2b", "#76b7b2", "#e15759", "#59a14f"];
const WIDTH: f64 = 820.0;
const LEFT: f64 = 150.0;
const PLOT: f64 = 560.0;
const BAR: f64 = 18.0;
const GAP: f64 = 6.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round step for about five grid lines up to `max`.
fn step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn render(title: &str, subtitle: &str, panels: &[Panel]) -> String {
    let mut body = String::new();
    let mut y = 52.0;
    for p in panels.iter().filter(|p| !p.bars.is_empty()) {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-weight="bold">{}</text>"#,
            esc(&p.title)
        );
        y += 8.0;
        if p.segments.len() > 1 {
            let mut x = LEFT;
            for (k, name) in p.segments.iter().enumerate() {
                let _ = writeln!(
                    body,
                    r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
                    COLORS[k % COLORS.len()],
                    x + 14.0,
                    y + 9.0,
                    esc(name)
                );
                x += 14.0 + 8.0 * name.len() as f64 + 16.0;
            }
            y += 16.0;
        } else {
            y += 4.0;
        }
        let max = p
            .bars
            .iter()
            .map(|b| {
                let len: f64 = b.segments.iter().sum();
                len.max(b.spread.map_or(0.0, |s| s.1))
            })
            .fold(0.0, f64::max)
            .max(1e-6);
        let st = step(max);
        let top = (max / st).ceil() * st;
        let scale = PLOT / top;
        let h = p.bars.len() as f64 * (BAR + GAP);
        let mut g = 0.0;
        while g <= top + 1e-9 {
            let x = LEFT + g * scale;
            let _ = writeln!(
                body,
                r##"<line x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
                y + h,
                y + h + 12.0,
                fmt(g)
            );
            g += st;
        }
        for b in &p.bars {
            let weight = if b.bold { "bold" } else { "normal" };
            let _ = writeln!(
                body,
                r#"<text x="{}" y="{}" text-anchor="end" font-weight="{weight}">{}</text>"#,
                LEFT - 6.0,
                y + BAR - 4.0,
                esc(&b.label)
            );
            let mut x = LEFT;
            for (k, v) in b.segments.iter().enumerate() {
                let w = v * scale;
                let _ = writeln!(
                    body,
                    r#"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="{BAR}" fill="{}"><title>{}: {} ms</title></rect>"#,
                    COLORS[k % COLORS.len()],
                    esc(p.segments.get(k).copied().unwrap_or("")),
                    fmt(*v)
                );
                x += w;
            }
            if let Some((lo, hi)) = b.spread {
                let (x1, x2, ym) = (LEFT + lo * scale, LEFT + hi * scale, y + BAR / 2.0);
                let _ = writeln!(
                    body,
                    r##"<line x1="{x1:.1}" y1="{ym}" x2="{x2:.1}" y2="{ym}" stroke="#222"/><line x1="{x1:.1}" y1="{}" x2="{x1:.1}" y2="{}" stroke="#222"/><line x1="{x2:.1}" y1="{}" x2="{x2:.1}" y2="{}" stroke="#222"/>"##,
                    ym - 4.0,
                    ym + 4.0,
                    ym - 4.0,
                    ym + 4.0
                );
                x = x.max(x2);
            }
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{}" font-weight="{weight}">{}</text>"#,
                x + 6.0,
                y + BAR - 4.0,
                fmt(b.value)
            );
            y += BAR + GAP;
        }
        y += 34.0;
    }
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" viewBox="0 0 {WIDTH} {y}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">{}</text><text x="10" y="36" font-size="11" fill="#555">{}</text>"##,
        esc(title),
        esc(subtitle)
    );
    svg += &body;
    svg += "</svg>\n";
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(step(9.0), 2.0);
        assert_eq!(step(47.0), 10.0);
        assert_eq!(step(120.0), 25.0);
    }

    #[test]
    fn one_rect_per_segment_and_escaped_labels() {
        let svg = render(
            "t",
            "s",
            &[Panel {
                title: "a <b>".into(),
                segments: vec!["x", "y"],
                bars: vec![Bar {
                    label: "r&d".into(),
                    segments: vec![1.0, 2.0],
                    value: 3.0,
                    spread: Some((2.5, 3.5)),
                    bold: true,
                }],
            }],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("a &lt;b&gt;") && svg.contains("r&amp;d"));
        assert_eq!(svg.matches("<title>").count(), 2);
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
