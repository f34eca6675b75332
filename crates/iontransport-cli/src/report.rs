//! The main job's printed summary.

use crate::error::Result;
use iontransport_model::pipeline::PipelineResult;
use np_transport::ChargeModel;
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
        if let ChargeModel::Freundlich { a, b } = h.backbone.membrane.charge {
            writeln!(
                out,
                "hybrid backbone: DSPM-DE with X_d = {a:.2} I^{b:.3} mol/m3 (I in mol/m3; {:.1} mol/m3 at 100 mol/m3), r_p = {:.3} nm, dx/A_k = {:.2} um, fitted to the training feeds",
                a * 100f64.powf(b),
                h.backbone.membrane.pore_radius * 1e9,
                h.backbone.membrane.effective_thickness * 1e6
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
    writeln!(
        out,
        "{:<22} {:>12} {:>12}  unit",
        "parameter", "value", "+/- s.e."
    )?;
    for p in &fit.parameters {
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
            if p.at_bound {
                "  AT A BOUND: the data do not determine it"
            } else {
                ""
            }
        )?;
    }
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
    let residuals = np_transport::residuals(meas, &file.membrane, &file.conditions)?;
    writeln!(
        out,
        "\n{:>5} {:>10} {:>9} {:<8} {:>10} {:>10} {:>9}",
        "feed", "Jv [m/s]", "Jv [LMH]", "ion", "R measured", "R fitted", "residual"
    )?;
    // Per ion: count, sum of squares, sum of absolute residuals, sign errors.
    let mut per_ion: Vec<(String, usize, f64, f64, usize)> = Vec::new();
    let mut k = 0;
    // Feeds numbered in file order (a measurement carries its feed, not its sample id).
    let mut feed_no = 0;
    for (i, m) in meas.iter().enumerate() {
        if i == 0 || m.feed != meas[i - 1].feed {
            feed_no += 1;
        }
        for (ion, r) in &m.rejections {
            let res = residuals[k];
            k += 1;
            let fitted = r + res;
            writeln!(
                out,
                "{feed_no:>5} {:>10.3e} {:>9.2} {:<8} {:>10.4} {:>10.4} {:>+9.4}",
                m.flux,
                m.flux * 3.6e6,
                ion,
                r,
                fitted,
                res
            )?;
            let at = match per_ion.iter().position(|e| e.0 == *ion) {
                Some(i) => i,
                None => {
                    per_ion.push((ion.clone(), 0, 0.0, 0.0, 0));
                    per_ion.len() - 1
                }
            };
            let e = &mut per_ion[at];
            e.1 += 1;
            e.2 += res * res;
            e.3 += res.abs();
            e.4 += usize::from(r * fitted < 0.0);
        }
    }
    writeln!(
        out,
        "\n{:<8} {:>6} {:>9} {:>9} {:>12}",
        "ion", "points", "RMSE of R", "MAE of R", "sign errors"
    )?;
    for (ion, n, ss, sa, signs) in &per_ion {
        writeln!(
            out,
            "{ion:<8} {n:>6} {:>9.4} {:>9.4} {signs:>12}",
            (ss / *n as f64).sqrt(),
            sa / *n as f64
        )?;
    }
    Ok(())
}
