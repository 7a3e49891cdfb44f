//! The benchmarks' plots, SVG (plotters), committed under `docs/bench/`.

use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const AXIOM: RGBColor = RGBColor(31, 119, 180);
const LINUX: RGBColor = RGBColor(255, 127, 14);

/// Registers the labels' font once (Debian's fonts-dejavu-core).
fn font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = std::fs::read(FONT)
            .map_err(|e| format!("{FONT}: {e} (run `cargo xtask setup`: fonts-dejavu-core)"))?;
        plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into()))
            .map_err(|_| format!("{FONT}: not a font"))
    })
    .clone()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The name of the category centred on integer tick `at` (categories sit
/// at 0, 1, 2, ...; ticks between them get no label).
fn category<'a>(mut names: impl Iterator<Item = &'a str>, at: f64) -> String {
    let i = at.round();
    if (at - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    names.nth(i as usize).unwrap_or_default().to_string()
}

/// One figure's spread for a kernel: (min, median, max), ns.
pub type Spread = Option<(f64, f64, f64)>;

/// Axiom next to Linux per figure: bars of the median, whiskers from min
/// to max, on a log scale (the figures span nanoseconds to seconds).
pub fn side_by_side(
    path: &Path,
    title: &str,
    rows: &[(String, Spread, Spread)],
) -> Result<(), String> {
    font()?;
    let values = rows.iter().flat_map(|(_, a, l)| [a, l]).flatten();
    let lo = values.clone().map(|v| v.0).fold(f64::MAX, f64::min).max(1.0) / 2.0;
    let hi = values.map(|v| v.2).fold(1.0, f64::max) * 2.0;
    let height = 80 + 34 * rows.len() as u32;
    let root = SVGBackend::new(path, (900, height.max(240))).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(160)
        .build_cartesian_2d((lo..hi).log_scale(), -0.5f64..n - 0.5)
        .map_err(err)?;
    let label = |y: &f64| category(rows.iter().map(|r| r.0.as_str()), *y);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len() + 1)
        .y_label_formatter(&label)
        .x_desc("ns, log scale (shorter is faster)")
        .x_label_formatter(&|x| crate::figures::human(*x))
        .draw()
        .map_err(err)?;
    for (k, color, name) in [(0usize, AXIOM, "Axiom"), (1, LINUX, "Linux")] {
        // Axiom's bar above the tick, Linux's below.
        let bars: Vec<_> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let s = if k == 0 { r.1 } else { r.2 };
                s.map(|s| (i as f64 + 0.02 - 0.4 * k as f64, s))
            })
            .collect();
        chart
            .draw_series(bars.iter().map(|&(y, (_, med, _))| {
                Rectangle::new([(lo, y), (med, y + 0.36)], color.filled())
            }))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        chart
            .draw_series(bars.iter().map(|&(y, (min, _, max))| {
                PathElement::new(vec![(min, y + 0.18), (max, y + 0.18)], BLACK.stroke_width(1))
            }))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Axiom / Linux per figure: a bar from 1 to the ratio of the medians, on
/// a log scale (below 1: Axiom faster).
pub fn ratios(path: &Path, title: &str, rows: &[(String, f64)]) -> Result<(), String> {
    font()?;
    let lo = rows.iter().map(|r| r.1).fold(1.0, f64::min) / 1.5;
    let hi = rows.iter().map(|r| r.1).fold(1.0, f64::max) * 1.5;
    let height = 60 + 26 * rows.len() as u32;
    let root = SVGBackend::new(path, (800, height.max(200))).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(160)
        .build_cartesian_2d((lo..hi).log_scale(), -0.5f64..n - 0.5)
        .map_err(err)?;
    let label = |y: &f64| category(rows.iter().map(|r| r.0.as_str()), *y);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len() + 1)
        .y_label_formatter(&label)
        .x_desc("Axiom / Linux (log scale; below 1: Axiom faster)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, r))| {
            let color = if *r <= 1.0 { AXIOM } else { LINUX };
            let (a, b) = if *r <= 1.0 { (*r, 1.0) } else { (1.0, *r) };
            Rectangle::new([(a, i as f64 - 0.3), (b, i as f64 + 0.3)], color.filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(1.0, -0.5), (1.0, n - 0.5)], BLACK)))
        .map_err(err)?;
    root.present().map_err(err)
}

/// A latency distribution: its value at each of [`CDF_POINTS`] percent.
pub type Cdf = Vec<f64>;

/// The percentiles a `CDF` line gives, in order.
pub const CDF_POINTS: [f64; 21] = [
    0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0,
    80.0, 85.0, 90.0, 95.0, 99.0,
];

/// Latency distributions as cumulative curves: for each series, the
/// share of events (y) at or below each latency (x, log scale).
pub fn cdfs(path: &Path, title: &str, series: &[(String, Cdf)]) -> Result<(), String> {
    font()?;
    let values = series.iter().flat_map(|(_, c)| c.iter().copied()).filter(|v| *v > 0.0);
    let lo = values.clone().fold(f64::MAX, f64::min).max(1.0) / 1.5;
    let hi = values.fold(1.0, f64::max) * 1.5;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..100f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency, ns (log scale)")
        .y_desc("% of events at or below")
        .x_label_formatter(&|x| crate::figures::human(*x))
        .draw()
        .map_err(err)?;
    for (i, (name, cdf)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> =
            cdf.iter().zip(CDF_POINTS).filter(|(v, _)| **v > 0.0).map(|(v, p)| (*v, p)).collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Figures over the runs recorded in the history, each relative to its
/// first recorded value (1.0), so figures of any size share the axis.
pub fn trend(
    path: &Path,
    title: &str,
    runs: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> Result<(), String> {
    font()?;
    let rel: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, v)| {
            let first = v.iter().flatten().next().copied().unwrap_or(1.0);
            let points = v
                .iter()
                .enumerate()
                .filter_map(|(i, x)| {
                    x.map(|x| (i as f64, if first > 0.0 { x / first } else { 1.0 }))
                })
                .collect();
            (name.clone(), points)
        })
        .collect();
    let ys = rel.iter().flat_map(|(_, p)| p.iter().map(|q| q.1));
    let lo = ys.clone().fold(1.0, f64::min) / 1.3;
    let hi = ys.fold(1.0, f64::max) * 1.3;
    let n = runs.len().max(2) as f64;
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..n - 0.5, (lo..hi).log_scale())
        .map_err(err)?;
    let label = |x: &f64| category(runs.iter().map(String::as_str), *x);
    chart
        .configure_mesh()
        .x_labels(runs.len() + 1)
        .x_label_formatter(&label)
        .y_desc("relative to the first run (log scale)")
        .y_label_formatter(&|y| format!("{y:.2}"))
        .draw()
        .map_err(err)?;
    for (i, (name, points)) in rel.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)).point_size(3))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_svg_with_their_labels() {
        if std::fs::metadata(FONT).is_err() {
            println!("skipped: no {FONT} (cargo xtask setup installs it)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("axiom-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = vec![
            ("getpid".to_string(), Some((280.0, 290.0, 300.0)), Some((480.0, 500.0, 700.0))),
            ("fork".to_string(), None, Some((6e5, 6.7e5, 7e5))),
        ];
        let p = dir.join("a.svg");
        side_by_side(&p, "test", &rows).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("getpid") && svg.contains("Linux"),
            "{}",
            &svg[..300]
        );
        let p = dir.join("b.svg");
        ratios(&p, "ratios", &[("getpid".into(), 0.58), ("map_lookup".into(), 1.38)]).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.contains("map_lookup") && svg.matches("<rect").count() >= 2);
        let p = dir.join("c.svg");
        let cdf: Cdf = (0..21).map(|i| 1000.0 + 100.0 * i as f64).collect();
        cdfs(&p, "cdf", &[("timer_to_bpf Axiom".into(), cdf)]).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.contains("timer_to_bpf Axiom") && svg.contains("<polyline"));
        let p = dir.join("d.svg");
        let runs = vec!["abc".to_string(), "def".to_string()];
        trend(&p, "trend", &runs, &[("getpid".into(), vec![Some(300.0), Some(290.0)])]).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.contains("getpid") && svg.contains("def"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
