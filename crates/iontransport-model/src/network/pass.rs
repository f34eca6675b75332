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

/// What every pass of the network over a batch of rows reads: the configuration, its
/// parameter layout, the parameters and each row's conditioning (a single point is a batch of
/// one row).
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    /// The network's shape.
    pub config: &'a NetworkConfig,
    /// Where each layer's weights sit in `params` ([`NetworkConfig::layout`]).
    pub layout: &'a Layout,
    /// The flat parameter vector.
    pub params: &'a [f64],
    /// One conditioning per row (its feed, mask and scales).
    pub conds: &'a [&'a Conditioning],
}

impl<'a> Pass<'a> {
    /// The four parts, for code that reads them often.
    #[inline(always)]
    pub(super) fn parts(
        self,
    ) -> (
        &'a NetworkConfig,
        &'a Layout,
        &'a [f64],
        &'a [&'a Conditioning],
    ) {
        (self.config, self.layout, self.params, self.conds)
    }
}

simd_dispatch! {
    /// The raw network output g of every row (`ws.raw()`, rows x ions; before masking, scaling
    /// and projection) for rows whose conditionings are `conds`, at normalised fluxes `taus`
    /// (dimensionless) and normalised states `h` (rows x ions, c / S). A single point is a
    /// batch of one row. Fills the workspace for [`backward`].
    ///
    /// Panics if `ws` holds fewer rows than `conds` (a programming error).
    pub fn forward<'a>(
        pass: Pass<'a>, taus: &'a [f64], h: &'a [f64], ws: &'a mut Workspace,
    ) = forward_simd;
}

simd_dispatch! {
    /// Rebuilds, after [`Workspace::load_row`] restored the records of rows 0..conds.len(),
    /// everything else [`backward`] reads, at the same conditionings, fluxes and states as the
    /// [`forward`] that wrote the records.
    pub fn restore<'a>(
        pass: Pass<'a>, taus: &'a [f64], h: &'a [f64], ws: &'a mut Workspace,
    ) = restore_simd;
}

simd_dispatch! {
    /// Backpropagates the raw outputs' cotangents `graw` (rows x ions) after a [`forward`] (or
    /// a [`restore`]) at the same rows: adds the rows' summed dL/dp into `pbar` and each row's
    /// dL/dh into `hbar` (rows x ions). Parameters whose index is below `first_trainable`
    /// receive nothing (frozen), which also skips their work.
    pub fn backward<'a>(
        pass: Pass<'a>, graw: &'a [f64], ws: &'a mut Workspace, pbar: &'a mut [f64], hbar: &'a mut [f64],
        first_trainable: usize,
    ) = backward_simd;
}

/// [`forward`] without its SIMD dispatch (for callers already inside one).
#[inline(always)]
pub(crate) fn forward_simd(pass: Pass<'_>, taus: &[f64], h: &[f64], ws: &mut Workspace) {
    let rows = pass.conds.len();
    assert!(
        rows <= ws.rows,
        "{rows} rows for a workspace of {}",
        ws.rows
    );
    tokens::tokens_rows(pass, taus, h, ws);
    tokens::token_outputs_rows(pass.config, pass.conds, true, ws);
    body::input_rows(pass, taus, ws);
    body::forward_rows(pass, ws);
}

/// [`restore`] without its SIMD dispatch (for callers already inside one).
#[inline(always)]
pub(crate) fn restore_simd(pass: Pass<'_>, taus: &[f64], h: &[f64], ws: &mut Workspace) {
    tokens::tokens_rows(pass, taus, h, ws);
    tokens::token_outputs_rows(pass.config, pass.conds, false, ws);
    body::input_rows(pass, taus, ws);
    let conv = &pass.layout.conv;
    if !conv.is_empty() {
        super::conv::gather_inputs(conv, pass.conds.len(), &mut ws.cx, &ws.cy);
    }
}

/// [`backward`] without its SIMD dispatch (for callers already inside one).
#[inline(always)]
pub(crate) fn backward_simd(
    pass: Pass<'_>,
    graw: &[f64],
    ws: &mut Workspace,
    pbar: &mut [f64],
    hbar: &mut [f64],
    first_trainable: usize,
) {
    ws.ensure_backward();
    body::backward_rows(pass, graw, ws, pbar, first_trainable);
    tokens::tokens_backward_rows(pass, ws, pbar, hbar, first_trainable);
}
