//! The main job's printed summary.

use crate::error::Result;
use iontransport_model::pipeline::PipelineResult;
use np_transport::ChargeModel;
use np_transport::score::{ScoredPoint, score_by_ion};
use std::io::Write;

/// Prints a pipeline run: the fitted membrane, training, and the test comparison.
pub fn pipeline(out: &mut dyn Write, r: &PipelineResult) -> Result<()> {
    writeln!(
        out,
        "model: attention neural ODE, {} parameters, {:?} electroneutrality",
        r.model.num_params(),
        r.model.config.constraint
    )?;
    let x = match r.fitted.membrane.charge {
        ChargeModel::Constant(x) => x,
        _ => f64::NAN,
    };
    writeln!(
        out,
        "fitted DSPM-DE: r_p = {:.3} +/- {:.3} nm, dx/A_k = {:.2} +/- {:.2} um, X_d = {x:.1} +/- {:.1} mol/m3 ({:.1} s)",
        r.fitted.membrane.pore_radius * 1e9,
        r.fitted.se_pore_radius * 1e9,
        r.fitted.membrane.effective_thickness * 1e6,
        r.fitted.se_effective_thickness * 1e6,
        r.fitted.se_charge,
        r.seconds[0]
    )?;
    let c = &r.fitted.correlation;
    writeln!(
        out,
        "  correlations: r_p-dx {:+.3}, r_p-X_d {:+.3}, dx-X_d {:+.3}{}",
        c[0][1],
        c[0][2],
        c[1][2],
        if r.fitted.at_bound.is_empty() {
            String::new()
        } else {
            format!("; at a bound: {}", r.fitted.at_bound.join(", "))
        }
    )?;
    let skipped = |n: usize| {
        if n > 0 {
            format!("; {n} batches skipped for a non-finite gradient")
        } else {
            String::new()
        }
    };
    if let Some(p) = &r.pretrain {
        writeln!(
            out,
            "pre-training: {} epochs, best validation MSE {:.3e} ({:.1} s + {:.1} s data{})",
            p.epochs_run,
            p.best_validation,
            p.seconds,
            r.seconds[1],
            skipped(p.skipped_batches)
        )?;
    }
    writeln!(
        out,
        "fine-tuning: {} epochs, best {} MSE {:.3e} ({:.1} s{})",
        r.finetune.epochs_run,
        if r.finetune.validated {
            "validation"
        } else {
            "TRAINING (no validation feeds)"
        },
        r.finetune.best_validation,
        r.finetune.seconds,
        skipped(r.finetune.skipped_batches)
    )?;
    writeln!(
        out,
        "test split: {} feeds, {} entries (normalised units c/S)",
        r.split.test.len(),
        r.neural.count
    )?;
    writeln!(
        out,
        "{:<22}{:>12}{:>12}{:>14}{:>16}",
        "model", "test MSE", "MAE", "MSE(R)", "within +/-10 %"
    )?;
    let mut rows = vec![
        ("attention neural ODE", &r.neural),
        ("fitted DSPM-DE", &r.dspmde),
    ];
    if let Some(h) = &r.hybrid {
        rows.push(("DSPM-DE + isotherm", &h.backbone_metrics));
        rows.push(("hybrid (isotherm+NN)", &h.metrics));
    }
    for &(name, m) in &rows {
        writeln!(
            out,
            "{name:<22}{:>12.3e}{:>12.3e}{:>14.3e}{:>15.1}%",
            m.mse,
            m.mae,
            m.mse_rejection,
            100.0 * m.within_10_percent
        )?;
    }
    writeln!(
        out,
        "(MSE, MAE: normalised concentrations c_p/S; MSE(R): rejection, every ion alike)"
    )?;
    writeln!(
        out,
        "rejection MAE | within +/-10 % by ion class (share of the feed: majors >= 10 %, minors 1-10 %, traces < 1 %):"
    )?;
    for &(name, m) in &rows {
        let cells: Vec<String> = m
            .classes
            .iter()
            .map(|c| {
                format!(
                    "{} ({}) {:.3} | {:.1}%",
                    c.class.name(),
                    c.count,
                    c.mae_rejection,
                    100.0 * c.within_10_percent
                )
            })
            .collect();
        writeln!(out, "  {name:<22}{}", cells.join("   "))?;
    }
    if let Some(h) = &r.hybrid {
        if let ChargeModel::Freundlich { a, b } = h.backbone.charge {
            writeln!(
                out,
                "hybrid backbone: DSPM-DE with X_d = {a:.2} I^{b:.3} mol/m3 (I in mol/m3; {:.1} mol/m3 at 100 mol/m3), r_p = {:.3} nm, dx/A_k = {:.2} um, {:?} activity, fitted to the training feeds",
                a * 100f64.powf(b),
                h.backbone.pore_radius * 1e9,
                h.backbone.effective_thickness * 1e6,
                h.backbone_conditions.activity
            )?;
        }
        writeln!(
            out,
            "hybrid: {} epochs from the backbone (correction initialised to zero), best {} MSE {:.3e} ({:.1} s + {:.1} s backbone fit and curves{})",
            h.report.epochs_run,
            if h.report.validated {
                "validation"
            } else {
                "TRAINING"
            },
            h.report.best_validation,
            h.report.seconds,
            h.backbone_seconds,
            skipped(h.report.skipped_batches)
        )?;
        writeln!(
            out,
            "hybrid / fitted DSPM-DE test MSE = {:.3} (backbone alone {:.3}); max relative charge {:.1e}",
            h.metrics.mse / r.dspmde.mse,
            h.backbone_metrics.mse / r.dspmde.mse,
            h.metrics.max_relative_charge
        )?;
    }
    writeln!(
        out,
        "neural ODE / DSPM-DE test MSE = {:.3}; max relative charge of neural predictions {:.1e}",
        r.neural.mse / r.dspmde.mse,
        r.neural.max_relative_charge
    )?;
    Ok(())
}

/// What `fit` prints: the fitted parameters with standard errors and bounds, strong
/// correlations, every fitted rejection beside the measured one, and the error per ion.
pub fn write_fit(
    out: &mut dyn Write,
    file: &np_transport::MembraneFile,
    meas: &[np_transport::RejectionMeasurement],
) -> Result<()> {
    let Some(fit) = &file.fit else {
        return Ok(());
    };
    writeln!(
        out,
        "DSPM-DE fitted to {} rejections of {} (fingerprint {}); {} of {} starts reached the best fit; RMSE of R {:.4}",
        fit.rejections, fit.data, fit.data_fingerprint, fit.agreeing_starts, fit.starts, fit.rmse
    )?;
    if let np_transport::Polarisation::Film { thickness } = file.conditions.polarisation {
        writeln!(
            out,
            "concentration polarisation: a film of {:.2} um (k = D_i / thickness; saved with the membrane)",
            thickness * 1e6
        )?;
    }
    writeln!(
        out,
        "{:<22} {:>12} {:>12}  unit",
        "parameter", "value", "+/- s.e."
    )?;
    let identified = fit.identifiability();
    for (p, id) in fit.parameters.iter().zip(&identified) {
        // Lengths in nm and um, as membrane scientists quote them.
        let (scale, unit) = match p.name.as_str() {
            "pore_radius" => (1e9, "nm"),
            "effective_thickness" => (1e6, "um"),
            _ => (1.0, p.unit.as_str()),
        };
        writeln!(
            out,
            "{:<22} {:>12.4} {:>12.4}  {unit}{}",
            p.name,
            p.value * scale,
            p.standard_error * scale,
            match id {
                np_transport::identify::Identification::Determined => String::new(),
                other => format!("  {other}"),
            }
        )?;
    }
    let determined: Vec<&str> = fit
        .parameters
        .iter()
        .zip(&identified)
        .filter(|(_, id)| **id == np_transport::identify::Identification::Determined)
        .map(|(p, _)| p.name.as_str())
        .collect();
    writeln!(
        out,
        "the data determine {} of {} parameters{}",
        determined.len(),
        fit.parameters.len(),
        if determined.is_empty() {
            String::new()
        } else {
            format!(": {}", determined.join(", "))
        }
    )?;
    for (i, row) in fit.correlation.iter().enumerate() {
        for (j, &c) in row.iter().enumerate().skip(i + 1) {
            if c.abs() > 0.95 {
                writeln!(
                    out,
                    "correlation {} ~ {}: {c:.3} (weakly identified: the data fix a combination of the two)",
                    fit.parameters[i].name, fit.parameters[j].name
                )?;
            }
        }
    }
    if let Some(u) = &fit.uncertainty {
        writeln!(
            out,
            "prediction intervals: {} parameter samples by {} ({}){}; residual scatter of R {:.4} (pooled)",
            u.samples.len(),
            match u.method {
                np_transport::posterior::SamplingMethod::Laplace => "the Laplace approximation",
                np_transport::posterior::SamplingMethod::Ensemble => "the ensemble sampler",
            },
            u.reason,
            u.acceptance
                .map(|a| format!(", acceptance {:.2}", a))
                .unwrap_or_default(),
            u.pooled_sd
        )?;
    }
    let residuals = np_transport::residuals(meas, &file.membrane, &file.conditions)?;
    // Feeds numbered in file order (a measurement carries its feed, not its sample id).
    let mut feed_no = 0;
    let mut k = 0;
    let mut points = Vec::new();
    for (i, m) in meas.iter().enumerate() {
        if i == 0 || m.feed != meas[i - 1].feed {
            feed_no += 1;
        }
        for (ion, r) in &m.rejections {
            points.push(ScoredPoint {
                feed: feed_no.to_string(),
                flux: m.flux,
                ion: ion.clone(),
                measured: *r,
                predicted: r + residuals[k],
                interval: None,
            });
            k += 1;
        }
    }
    write_scores(out, &points, None)
}

/// A table of measured and predicted rejections (with intervals where there are) and the
/// errors per ion.
pub fn write_scores(out: &mut dyn Write, points: &[ScoredPoint], level: Option<f64>) -> Result<()> {
    let with_interval = points.iter().any(|p| p.interval.is_some());
    write!(
        out,
        "\n{:<14} {:>10} {:>9} {:<8} {:>10} {:>10} {:>9}",
        "feed", "Jv [m/s]", "Jv [LMH]", "ion", "R measured", "R model", "residual"
    )?;
    if with_interval {
        write!(
            out,
            "  {:>17}",
            format!("{:.0} % interval", 100.0 * level.unwrap_or(f64::NAN))
        )?;
    }
    writeln!(out)?;
    for p in points {
        write!(
            out,
            "{:<14} {:>10.3e} {:>9.2} {:<8} {:>10.4} {:>10.4} {:>+9.4}",
            p.feed,
            p.flux,
            p.flux * 3.6e6,
            p.ion,
            p.measured,
            p.predicted,
            p.predicted - p.measured
        )?;
        if let Some((lo, hi)) = p.interval {
            let mark = if (lo..=hi).contains(&p.measured) {
                ""
            } else {
                " *"
            };
            write!(out, "  [{lo:>7.3}, {hi:>7.3}]{mark}")?;
        }
        writeln!(out)?;
    }
    write_ion_scores(out, points)
}

/// The errors of rejections per ion (and over all), with interval coverage where there are
/// intervals.
pub fn write_ion_scores(out: &mut dyn Write, points: &[ScoredPoint]) -> Result<()> {
    let with_interval = points.iter().any(|p| p.interval.is_some());
    write!(
        out,
        "\n{:<8} {:>6} {:>9} {:>9} {:>9} {:>12}",
        "ion", "points", "RMSE of R", "MAE of R", "bias", "sign errors"
    )?;
    if with_interval {
        write!(out, " {:>16}", "inside interval")?;
    }
    writeln!(out)?;
    for s in score_by_ion(points) {
        write!(
            out,
            "{:<8} {:>6} {:>9.4} {:>9.4} {:>+9.4} {:>12}",
            s.ion, s.points, s.rmse, s.mae, s.bias, s.sign_errors
        )?;
        if let Some(c) = s.covered {
            write!(
                out,
                " {:>9} ({:>3.0} %)",
                c,
                100.0 * c as f64 / s.points.max(1) as f64
            )?;
        }
        writeln!(out)?;
    }
    if with_interval {
        writeln!(out, "(* outside its interval)")?;
    }
    Ok(())
}
