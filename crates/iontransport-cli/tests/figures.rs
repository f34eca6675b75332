//! Figures a scientist can trust: the cross-validation figure keeps its legend off the data,
//! gives each panel its own y-range, marks unmeasured ions and says what the axis holds.

use iontransport_cli::figures::{RejectionPanels, save};

/// (cx, cy) of every `<circle>` in an SVG.
fn circles(svg: &str) -> Vec<(f64, f64)> {
    svg.split("<circle")
        .skip(1)
        .map(|c| {
            let attr = |name: &str| -> f64 {
                let at = c.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                c[at..].split('"').next().unwrap().parse().unwrap()
            };
            (attr("cx"), attr("cy"))
        })
        .collect()
}

/// y of the `<text>` element whose content is `label`.
fn text_y(svg: &str, label: &str) -> f64 {
    // plotters writes the content on its own line.
    let end = svg
        .match_indices(label)
        .map(|(i, _)| i)
        .find(|&i| svg[i + label.len()..].trim_start().starts_with("</text>"))
        .unwrap();
    let start = svg[..end].rfind("<text").unwrap();
    let tag = &svg[start..end];
    let at = tag.find(" y=\"").unwrap() + 4;
    tag[at..].split('"').next().unwrap().parse().unwrap()
}

fn figure() -> RejectionPanels {
    // Points in every corner of the plot, where a legend box would sit; one model far off
    // (R down to -3), one close.
    RejectionPanels {
        title: "NaCl: held out (learned models: seed 0 of 3)".into(),
        ions: vec!["Na+".into(), "Cl-".into()],
        measured_flux: vec![1e-6, 2e-5, 4e-5],
        measured: vec![vec![0.1, 0.5, 0.9], vec![f64::NAN; 3]],
        grid: vec![1e-6, 2e-5, 4e-5, 6e-5],
        models: vec![
            ("DSPM-DE".into(), vec![vec![0.1, 0.5, 0.9, 0.95]; 2]),
            ("neural ODE".into(), vec![vec![-3.0, -1.0, 0.5, 0.9]; 2]),
        ],
        intrinsic: true,
    }
}

#[test]
fn the_legend_never_covers_a_data_point() {
    let dir = tempfile::tempdir().unwrap();
    let paths = save(dir.path(), "feed", &figure()).unwrap();
    let svg = std::fs::read_to_string(&paths[0]).unwrap();
    let all = circles(&svg);
    // 3 measured points in each of 2 panels, and one legend mark per ion.
    assert_eq!(all.len(), 2 * 3 + 2, "{all:?}");
    let legend_top = text_y(&svg, "Na+").min(text_y(&svg, "Cl- (not measured)"));
    let mut by_y = all.clone();
    by_y.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (x, y) in &by_y[..6] {
        assert!(
            *y < legend_top,
            "data point ({x}, {y}) at or below the legend at {legend_top}"
        );
    }
    // The ion without measurements says so; the axis says which rejection.
    assert!(svg.contains("Cl- (not measured)"));
    assert!(svg.contains("intrinsic rejection R"));
    assert!(svg.contains("seed 0 of 3"));
}

#[test]
fn each_panel_has_its_own_y_range() {
    // In the DSPM-DE panel the three measured points spread over most of its height; with a
    // range shared with the neural ODE's (-3 .. 1) they would crowd into its top quarter.
    let dir = tempfile::tempdir().unwrap();
    let paths = save(dir.path(), "feed", &figure()).unwrap();
    let svg = std::fs::read_to_string(&paths[0]).unwrap();
    let all = circles(&svg);
    let width = figure().models.len() as f64 * 420.0;
    let left: Vec<f64> = all
        .iter()
        .filter(|(x, y)| *x < width / 2.0 && *y < 500.0)
        .map(|p| p.1)
        .collect();
    assert_eq!(left.len(), 3, "{all:?}");
    let spread = left.iter().cloned().fold(f64::MIN, f64::max)
        - left.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 250.0, "DSPM-DE panel points span only {spread} px");
}
