//! PNG line charts for the growth curves (plotters, bitmap backend).
//!
//! The x axis is logarithmic (object and watcher counts grow by decades),
//! the y axis linear from zero. Text needs a TrueType font, read from a file
//! at run time (`--font`, DejaVu Sans on Debian); without one the chart is
//! drawn label-free and its caption lives in `docs/BENCHMARKS.md`. It only
//! writes the file it is given.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::anyhow;
use plotters::prelude::*;

/// One line: a label and its (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A chart's texts.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// Whether a font is registered (once per process).
static FONT: OnceLock<bool> = OnceLock::new();

/// Registers the TTF at `path` as plotters' `sans-serif`; false when it
/// cannot be read or parsed (charts are then label-free).
pub fn load_font(path: &Path) -> bool {
    *FONT.get_or_init(|| {
        let Ok(bytes) = std::fs::read(path) else {
            eprintln!(
                "font {} not readable: plots will have no labels",
                path.display()
            );
            return false;
        };
        // plotters keeps fonts for the life of the process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        match plotters::style::register_font("sans-serif", FontStyle::Normal, bytes) {
            Ok(()) => true,
            Err(_) => {
                eprintln!(
                    "font {} is not a TrueType font: plots will have no labels",
                    path.display()
                );
                false
            }
        }
    })
}

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Draws `series` into a PNG at `path`.
pub fn line_chart(path: &Path, labels: Labels<'_>, series: &[Series]) -> anyhow::Result<()> {
    let with_text = FONT.get().copied().unwrap_or(false);
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x_min, mut x_max, mut y_max) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_max = y_max.max(y);
    }
    anyhow::ensure!(x_min <= x_max, "nothing to plot for {}", path.display());
    let (x_min, x_max) = (x_min.max(0.5) / 1.3, x_max * 1.3);
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };

    let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(16);
    if with_text {
        builder
            .caption(labels.title, ("sans-serif", 22))
            .x_label_area_size(48)
            .y_label_area_size(72);
    }
    let mut chart = builder
        .build_cartesian_2d((x_min..x_max).log_scale(), 0.0..y_max)
        .map_err(|e| err(&e))?;
    let mut mesh = chart.configure_mesh();
    if with_text {
        mesh.x_desc(labels.x)
            .y_desc(labels.y)
            .label_style(("sans-serif", 15))
            .x_label_formatter(&|v| format!("{v:.0}"));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw().map_err(|e| err(&e))?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let line = chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        if with_text {
            line.label(s.label.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        }
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
            )
            .map_err(|e| err(&e))?;
    }
    if with_text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
