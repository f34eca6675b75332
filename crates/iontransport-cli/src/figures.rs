//! Figures of a reproduction run, each written as SVG and PNG (plotters) with atomic writes:
//! rejection against flux, parity with +/-10 % bounds, grouped bar charts and attention
//! heatmaps. PNG text uses the bundled DejaVu Sans, so figures look the same on any machine.

use iontransport_model::{ModelError, Result};
use np_transport::data::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Pixel size (width, height).
    fn size(&self) -> (u32, u32);
    /// Draws on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // DejaVu Sans 2.37, Bitstream Vera licence (assets/DejaVuSans-LICENSE.txt).
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // The bundled file is a valid font (tested); nothing else registers this name.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

fn draw_error(path: &Path, e: impl std::fmt::Debug) -> ModelError {
    ModelError::Io {
        path: path.display().to_string(),
        message: format!("drawing failed: {e:?}"),
    }
}

/// Writes `fig` as `dir/name.svg` and `dir/name.png`; returns both paths.
pub fn save(dir: &Path, name: &str, fig: &impl Figure) -> Result<Vec<PathBuf>> {
    register_font();
    let (w, h) = fig.size();
    let svg_path = dir.join(format!("{name}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        fig.draw(&root).map_err(|e| draw_error(&svg_path, e))?;
        root.present().map_err(|e| draw_error(&svg_path, e))?;
    }
    write_atomic(&svg_path, svg.as_bytes())?;
    let png_path = dir.join(format!("{name}.png"));
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        fig.draw(&root).map_err(|e| draw_error(&png_path, e))?;
        root.present().map_err(|e| draw_error(&png_path, e))?;
    }
    let img =
        image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| draw_error(&png_path, "buffer size"))?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| draw_error(&png_path, e))?;
    write_atomic(&png_path, png.get_ref())?;
    Ok(vec![svg_path, png_path])
}

/// Draws the legend box, the same on every figure.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(position)
        .draw()
}

/// Colour of series `k` (Tableau 10 palette).
fn colour(k: usize) -> RGBColor {
    const C: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = C[k % C.len()];
    RGBColor(r, g, b)
}

fn range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-12);
    (lo - pad * span, hi + pad * span)
}

/// Predicted against measured permeate concentrations, log-log, with +/-10 % bounds.
#[derive(Debug, Clone)]
pub struct Parity {
    /// Title.
    pub title: String,
    /// Axis unit label, e.g. "c_p / S".
    pub unit: String,
    /// (model name, [(measured, predicted)]) per model.
    pub models: Vec<(String, Vec<(f64, f64)>)>,
}

impl Figure for Parity {
    fn size(&self) -> (u32, u32) {
        (700, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let pos = self
            .models
            .iter()
            .flat_map(|(_, v)| v.iter().flat_map(|(a, b)| [*a, *b]))
            .filter(|v| *v > 0.0 && v.is_finite());
        let (lo, hi) = pos.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() {
            (lo / 1.5, hi * 1.5)
        } else {
            (1e-3, 1.0)
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(format!("measured {}", self.unit))
            .y_desc(format!("predicted {}", self.unit))
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style(("sans-serif", 14))
            .draw()?;
        let line = |f: f64| {
            (0..=50).map(move |i| {
                let x = lo * (hi / lo).powf(i as f64 / 50.0);
                (x, f * x)
            })
        };
        chart
            .draw_series(LineSeries::new(line(1.0), BLACK.stroke_width(1)))?
            .label("y = x")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        for f in [0.9, 1.1] {
            let s =
                chart.draw_series(DashedLineSeries::new(line(f), 5, 4, BLACK.stroke_width(1)))?;
            if f > 1.0 {
                s.label("±10 %")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
            }
        }
        for (k, (name, pts)) in self.models.iter().enumerate() {
            let c = colour(k);
            chart
                .draw_series(
                    pts.iter()
                        .filter(|(a, b)| *a > 0.0 && *b > 0.0)
                        .map(|(a, b)| Circle::new((*a, *b), 3, c.mix(0.5).filled())),
                )?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// Grouped bars with +/- one standard deviation, on a log axis.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Group names along x.
    pub groups: Vec<String>,
    /// (series name, (mean, sd) per group; NaN mean = no bar).
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Optional horizontal reference line (label, value).
    pub reference: Option<(String, f64)>,
}

impl Figure for Bars {
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let vals = self
            .series
            .iter()
            .flat_map(|(_, v)| {
                v.iter()
                    .flat_map(|(m, s)| [*m, m + s, (m - s).max(m / 3.0)])
            })
            .chain(self.reference.iter().map(|r| r.1))
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = vals.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() {
            (lo / 1.6, hi * 1.6)
        } else {
            (1e-3, 1.0)
        };
        let ng = self.groups.len() as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(75)
            .build_cartesian_2d(0.0..ng, (lo..hi).log_scale())?;
        let groups = self.groups.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(self.groups.len() * 2 + 1)
            .x_label_formatter(&move |x| {
                let f = x - x.floor();
                let i = x.floor() as usize;
                if (f - 0.5).abs() < 1e-6 && i < groups.len() {
                    groups[i].clone()
                } else {
                    String::new()
                }
            })
            .y_desc(self.y_label.as_str())
            .y_label_formatter(&|v| tick_label(*v))
            .light_line_style(WHITE)
            .label_style(("sans-serif", 14))
            .draw()?;
        let ns = self.series.len().max(1) as f64;
        let width = 0.8 / ns;
        for (k, (name, vals)) in self.series.iter().enumerate() {
            let c = colour(k);
            let x0 = |g: usize| g as f64 + 0.1 + k as f64 * width;
            chart
                .draw_series(
                    vals.iter()
                        .enumerate()
                        .filter(|(_, v)| v.0.is_finite())
                        .map(|(g, (m, _))| {
                            Rectangle::new([(x0(g), lo), (x0(g) + width * 0.9, *m)], c.filled())
                        }),
                )?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
            chart.draw_series(
                vals.iter()
                    .enumerate()
                    .filter(|(_, v)| v.0.is_finite() && v.1 > 0.0)
                    .map(|(g, (m, s))| {
                        let x = x0(g) + width * 0.45;
                        PathElement::new(
                            vec![(x, (m - s).max(lo)), (x, m + s)],
                            BLACK.stroke_width(2),
                        )
                    }),
            )?;
        }
        if let Some((label, v)) = &self.reference {
            let v = *v;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, v), (ng, v)],
                    8,
                    5,
                    BLACK.stroke_width(2),
                ))?
                .label(label.as_str())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

/// Attention matrices of several compositions side by side (row i: weights ion i gives).
#[derive(Debug, Clone)]
pub struct Heatmaps {
    /// Title.
    pub title: String,
    /// (panel title, ion labels, matrix) per composition (present ions only).
    pub panels: Vec<(String, Vec<String>, Vec<Vec<f64>>)>,
}

impl Figure for Heatmaps {
    fn size(&self) -> (u32, u32) {
        (420 * self.panels.len().max(1) as u32, 470)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title, ("sans-serif", 20))?;
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for ((title, labels, m), area) in self.panels.iter().zip(areas.iter()) {
            let n = labels.len();
            let lx = labels.clone();
            let ly = labels.clone();
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(65)
                .build_cartesian_2d(0.0..n as f64, 0.0..n as f64)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(2 * n + 1)
                .y_labels(2 * n + 1)
                .x_label_formatter(&move |x| label_at(&lx, *x))
                .y_label_formatter(&move |y| label_at(&ly, ly.len() as f64 - *y))
                .x_desc("attends to")
                .label_style(("sans-serif", 13))
                .draw()?;
            for i in 0..n {
                for j in 0..n {
                    let a = m[i][j].clamp(0.0, 1.0);
                    // White (0) to dark blue (1).
                    let c = RGBColor(
                        (255.0 * (1.0 - 0.85 * a)) as u8,
                        (255.0 * (1.0 - 0.65 * a)) as u8,
                        (255.0 * (1.0 - 0.3 * a)) as u8,
                    );
                    let y = (n - 1 - i) as f64;
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(j as f64, y), (j as f64 + 1.0, y + 1.0)],
                        c.filled(),
                    )))?;
                    let tc = if a > 0.55 { WHITE } else { BLACK };
                    chart.draw_series(std::iter::once(Text::new(
                        format!("{:.2}", m[i][j]),
                        (j as f64 + 0.28, y + 0.62),
                        ("sans-serif", 13).into_font().color(&tc),
                    )))?;
                }
            }
        }
        Ok(())
    }
}

/// The label of the cell whose centre is at `x` (cells of width 1 from 0).
fn label_at(labels: &[String], x: f64) -> String {
    let f = x - x.floor();
    let i = x.floor();
    if (f - 0.5).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
        labels[i as usize].clone()
    } else {
        String::new()
    }
}

/// A log-axis tick label with at most two significant digits ("1e-3", "2.5e-3"): the default
/// formatter prints round-off such as 0.0100000000001.
fn tick_label(v: f64) -> String {
    let t = format!("{v:.1e}");
    t.replace(".0e", "e")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_hide_round_off() {
        assert_eq!(tick_label(0.010000000000001), "1e-2");
        assert_eq!(tick_label(0.0025), "2.5e-3");
        assert_eq!(tick_label(0.002), "2e-3");
    }

    #[test]
    fn figures_are_written_as_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let fig = Bars {
            title: "t".into(),
            y_label: "MSE".into(),
            groups: vec!["a".into(), "b".into()],
            series: vec![("x".into(), vec![(1e-3, 2e-4), (f64::NAN, 0.0)])],
            reference: Some(("ref".into(), 5e-4)),
        };
        let paths = save(dir.path(), "bars", &fig).unwrap();
        let svg = std::fs::read_to_string(&paths[0]).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let png = std::fs::read(&paths[1]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}

/// Rejection against flux of one held-out feed (of a cross-validation, or the study's test
/// split): a panel per model with its predicted rejection curves (lines) and the measurements
/// (dots), one colour per ion. Each panel has its own
/// y-range (a wild model does not flatten the others); the measured flux range is shaded;
/// ions of the feed that were not measured are dashed and say so; the legend sits in a strip
/// below the panels, never over data.
#[derive(Debug, Clone)]
pub struct RejectionPanels {
    /// Title (names the feed, and the seed of the learned models).
    pub title: String,
    /// Ion labels.
    pub ions: Vec<String>,
    /// Measured fluxes, m/s.
    pub measured_flux: Vec<f64>,
    /// Measured rejections per ion (rows) and flux (columns); NaN where not measured.
    pub measured: Vec<Vec<f64>>,
    /// Model flux grid, m/s.
    pub grid: Vec<f64>,
    /// (model name, rejections per ion on the grid).
    pub models: Vec<(String, Vec<Vec<f64>>)>,
    /// Intrinsic (relative to the membrane wall) or observed rejections, for the axis label.
    pub intrinsic: bool,
}

/// Height of the legend strip below the panels, px.
const LEGEND_STRIP: u32 = 70;

impl Figure for RejectionPanels {
    fn size(&self) -> (u32, u32) {
        (420 * self.models.len().max(1) as u32, 520 + LEGEND_STRIP)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title, ("sans-serif", 20))?;
        let (_, h) = root.dim_in_pixel();
        let (plots, strip) = root.split_vertically(h.saturating_sub(LEGEND_STRIP));
        let um = |j: f64| j * 1e6;
        let x1 = um(self.grid.iter().copied().fold(0.0, f64::max)) * 1.02;
        let measured_span = self
            .measured_flux
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(um(x)), b.max(um(x)))
            });
        let was_measured: Vec<bool> = self
            .measured
            .iter()
            .map(|row| row.iter().any(|v| v.is_finite()))
            .collect();
        let y_desc = if self.intrinsic {
            "intrinsic rejection R"
        } else {
            "observed rejection R"
        };
        let panels = plots.split_evenly((1, self.models.len().max(1)));
        for (p, (name, curves)) in panels.iter().zip(&self.models) {
            let (y0, y1) = range(
                self.measured.iter().chain(curves.iter()).flatten().copied(),
                0.05,
            );
            let mut chart = ChartBuilder::on(p)
                .caption(name, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0.0..x1, y0..y1)?;
            chart
                .configure_mesh()
                .x_desc("J_v / (µm/s);  × 3.6 = L/(m² h)")
                .y_desc(y_desc)
                .label_style(("sans-serif", 13))
                .draw()?;
            if measured_span.0 <= measured_span.1 {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(measured_span.0, y0), (measured_span.1, y1)],
                    BLACK.mix(0.06).filled(),
                )))?;
            }
            for (k, _) in self.ions.iter().enumerate() {
                let c = colour(k);
                let line = self
                    .grid
                    .iter()
                    .zip(&curves[k])
                    .filter(|(_, y)| y.is_finite())
                    .map(|(x, y)| (um(*x), *y));
                if was_measured[k] {
                    chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?;
                } else {
                    chart.draw_series(DashedLineSeries::new(line, 6, 4, c.stroke_width(2)))?;
                }
                chart.draw_series(
                    self.measured_flux
                        .iter()
                        .zip(&self.measured[k])
                        .filter(|(_, y)| y.is_finite())
                        .map(|(x, y)| Circle::new((um(*x), *y), 4, c.filled())),
                )?;
            }
        }
        // The legend strip: one entry per ion, then what the marks mean.
        let font = ("sans-serif", 14).into_font();
        let (mut x, y) = (20i32, 22i32);
        for (k, ion) in self.ions.iter().enumerate() {
            let c = colour(k);
            strip.draw(&PathElement::new(
                vec![(x, y), (x + 24, y)],
                c.stroke_width(2),
            ))?;
            strip.draw(&Circle::new((x + 12, y), 4, c.filled()))?;
            let label = if was_measured[k] {
                ion.clone()
            } else {
                format!("{ion} (not measured)")
            };
            strip.draw(&Text::new(label.clone(), (x + 30, y - 8), font.clone()))?;
            x += 44 + 8 * label.chars().count() as i32;
        }
        strip.draw(&Text::new(
            "dots: measured; lines: the model's prediction for this held-out feed; shaded: the measured flux range",
            (20, y + 22),
            font,
        ))?;
        Ok(())
    }
}

/// One point of a [`RejectionParity`].
#[derive(Debug, Clone, Copy)]
pub struct ParityPoint {
    /// Index into the figure's ions.
    pub ion: usize,
    /// Measured R.
    pub measured: f64,
    /// Predicted R.
    pub predicted: f64,
    /// Prediction interval of R, if any.
    pub interval: Option<(f64, f64)>,
}

/// Predicted against measured rejections of a scored file (`score --figure`): one colour per
/// ion, the prediction interval as a vertical bar, the line y = x; the axes take in every
/// point and interval; the legend sits in a strip below the axes, never over data.
#[derive(Debug, Clone)]
pub struct RejectionParity {
    /// Title (names the model and the data).
    pub title: String,
    /// Ion labels, in legend order.
    pub ions: Vec<String>,
    /// The points.
    pub points: Vec<ParityPoint>,
    /// Intrinsic (relative to the membrane wall) or observed rejections, for the axis labels.
    pub intrinsic: bool,
}

impl Figure for RejectionParity {
    fn size(&self) -> (u32, u32) {
        (700, 700 + LEGEND_STRIP)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title, ("sans-serif", 18))?;
        let (_, h) = root.dim_in_pixel();
        let (plot, strip) = root.split_vertically(h.saturating_sub(LEGEND_STRIP));
        let (lo, hi) = range(
            self.points.iter().flat_map(|p| {
                let (a, b) = p.interval.unwrap_or((p.predicted, p.predicted));
                [p.measured, p.predicted, a, b]
            }),
            0.05,
        );
        let kind = if self.intrinsic {
            "intrinsic"
        } else {
            "observed"
        };
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        chart
            .configure_mesh()
            .x_desc(format!("measured {kind} rejection R"))
            .y_desc(format!("predicted {kind} rejection R"))
            .label_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))?;
        for &ParityPoint {
            ion: k,
            measured: m,
            predicted: p,
            interval,
        } in &self.points
        {
            let c = colour(k);
            if let Some((a, b)) = interval {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(m, a), (m, b)],
                    c.mix(0.5).stroke_width(1),
                )))?;
            }
            chart.draw_series(std::iter::once(Circle::new((m, p), 4, c.filled())))?;
        }
        let font = ("sans-serif", 14).into_font();
        let (mut x, y) = (20i32, 22i32);
        for (k, ion) in self.ions.iter().enumerate() {
            strip.draw(&Circle::new((x + 6, y), 4, colour(k).filled()))?;
            strip.draw(&Text::new(ion.clone(), (x + 16, y - 8), font.clone()))?;
            x += 34 + 8 * ion.chars().count() as i32;
        }
        let bars = if self.points.iter().any(|p| p.interval.is_some()) {
            "; bars: prediction intervals"
        } else {
            ""
        };
        strip.draw(&Text::new(
            format!("dots: (measured, predicted) per flux and ion{bars}; line: y = x"),
            (20, y + 22),
            font,
        ))?;
        Ok(())
    }
}
