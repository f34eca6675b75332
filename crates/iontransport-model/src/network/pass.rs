//! The whole network on many rows: forward, the rebuild after a record, and the VJP.
//!
//! The crate is built for baseline x86-64 (2-wide SSE2, no FMA). The per-row loops
//! (embedding, attention, tanh) run inside a pulp dispatch instead, compiled for AVX2 and FMA
//! and for AVX-512, chosen at run time: a paper-configuration epoch on one thread took 0.62 s
//! with AVX2 against 0.70 s without it (medians of 7 alternating runs, 2026-11-27), and 0.59 s
//! built with `-C target-cpu=native`; AVX-512 where the CPU has it: docs/performance.md. Callers that wrap more per-row work (the trajectory field's rate)
//! dispatch once around all of it and call the `_simd` versions.

use super::body;
use super::config::{Conditioning, Layout, NetworkConfig};
use super::tokens;
use super::workspace::Workspace;
use neural_ode::simd_dispatch;

simd_dispatch! {
    /// The raw network output g of every row (`ws.raw()`, rows x ions; before masking, scaling
    /// and projection) for rows whose conditionings are `conds`, at normalised fluxes `taus`
    /// (dimensionless) and normalised states `h` (rows x ions, c / S). A single point is a
    /// batch of one row. Fills the workspace for [`backward`].
    ///
    /// Panics if `ws` holds fewer rows than `conds` (a programming error).
    pub fn forward<'a>(
        cfg: &'a NetworkConfig, l: &'a Layout, p: &'a [f64], conds: &'a [&'a Conditioning],
        taus: &'a [f64], h: &'a [f64], ws: &'a mut Workspace,
    ) = forward_simd;
}

simd_dispatch! {
    /// Rebuilds, after [`Workspace::load_row`] restored the records of rows 0..conds.len(),
    /// everything else [`backward`] reads, at the same conditionings, fluxes and states as the
    /// [`forward`] that wrote the records.
    pub fn restore<'a>(
        cfg: &'a NetworkConfig, l: &'a Layout, p: &'a [f64], conds: &'a [&'a Conditioning],
        taus: &'a [f64], h: &'a [f64], ws: &'a mut Workspace,
    ) = restore_simd;
}

simd_dispatch! {
    /// Backpropagates the raw outputs' cotangents `graw` (rows x ions) after a [`forward`] (or
    /// a [`restore`]) at the same rows: adds the rows' summed dL/dp into `pbar` and each row's
    /// dL/dh into `hbar` (rows x ions). Parameters whose index is below `first_trainable`
    /// receive nothing (frozen), which also skips their work.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<'a>(
        cfg: &'a NetworkConfig, l: &'a Layout, p: &'a [f64], conds: &'a [&'a Conditioning],
        graw: &'a [f64], ws: &'a mut Workspace, pbar: &'a mut [f64], hbar: &'a mut [f64],
        first_trainable: usize,
    ) = backward_simd;
}

/// [`forward`] without its SIMD dispatch (for callers already inside one).
#[inline(always)]
pub(crate) fn forward_simd(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    h: &[f64],
    ws: &mut Workspace,
) {
    assert!(
        conds.len() <= ws.rows,
        "{} rows for a workspace of {}",
        conds.len(),
        ws.rows
    );
    tokens::tokens_rows(cfg, l, p, conds, taus, h, ws);
    tokens::token_outputs_rows(cfg, conds, true, ws);
    body::input_rows(cfg, l, conds, taus, ws);
    body::forward_rows(cfg, l, p, conds, ws);
}

/// [`restore`] without its SIMD dispatch (for callers already inside one).
#[inline(always)]
pub(crate) fn restore_simd(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    taus: &[f64],
    h: &[f64],
    ws: &mut Workspace,
) {
    tokens::tokens_rows(cfg, l, p, conds, taus, h, ws);
    tokens::token_outputs_rows(cfg, conds, false, ws);
    body::input_rows(cfg, l, conds, taus, ws);
    if !l.conv.is_empty() {
        super::conv::gather_inputs(&l.conv, conds.len(), &mut ws.cx, &ws.cy);
    }
}

/// [`backward`] without its SIMD dispatch (for callers already inside one).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn backward_simd(
    cfg: &NetworkConfig,
    l: &Layout,
    p: &[f64],
    conds: &[&Conditioning],
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    ws.ensure_backward();
    body::backward_rows(cfg, l, p, conds, graw, ws, pbar, first_trainable);
    tokens::tokens_backward_rows(cfg, l, p, conds, ws, pbar, hbar, first_trainable);
}
