//! The integrator's inner loop allocates nothing: the number of heap allocations of a solve
//! does not depend on the number of steps it takes.
#![allow(unsafe_code)] // a counting global allocator needs `unsafe impl GlobalAlloc`

use neural_ode::{AdjointMethod, AdjointOptions, SolverOptions, TanhMlp, adjoint, solve};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;
thread_local! {
    // Allocations of this thread only: the test harness's own threads allocate now and then
    // (seen under load: 19 vs 23 with a global count), and they are not the solver's.
    static MINE: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator may run while a thread's locals are being torn down.
    let _ = MINE.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = MINE.with(Cell::get);
    let r = f();
    (r, MINE.with(Cell::get) - before)
}

#[test]
fn allocations_do_not_grow_with_steps() {
    let f = TanhMlp::new(8, &[32, 32, 32, 32], true);
    let p = f.init_params(1);
    let y0 = [0.1, 0.2, -0.3, 0.4, 0.0, 0.5, -0.1, 0.2];
    let ts: Vec<f64> = (1..=10).map(|i| i as f64 * 0.3).collect();
    let forward = |tol: f64| {
        let opts = SolverOptions::with_tolerances(tol, tol);
        count(|| solve(&f, &p, 0.0, &y0, &ts, &opts).unwrap())
    };
    let ((loose, a_loose), (tight, a_tight)) = (forward(1e-3), forward(1e-10));
    assert!(
        tight.stats.accepted > 5 * loose.stats.accepted,
        "{:?} {:?}",
        tight.stats,
        loose.stats
    );
    assert_eq!(
        a_loose, a_tight,
        "forward solve: {} vs {} allocations for {} vs {} steps",
        a_loose, a_tight, loose.stats.accepted, tight.stats.accepted
    );

    // The backsolve adjoint (no stored steps) allocates per observation segment, not per step.
    let g = vec![1.0; tight.y.len()];
    let back = |tol: f64| {
        let o = AdjointOptions::new(AdjointMethod::Backsolve, tol, tol);
        count(|| adjoint(&f, &p, &tight, &g, &o).unwrap())
    };
    let ((gl, bl), (gt, bt)) = (back(1e-3), back(1e-10));
    eprintln!(
        "adjoint steps: {} (loose) vs {} (tight), allocations {bl} vs {bt}",
        gl.stats.accepted, gt.stats.accepted
    );
    assert!(gt.stats.accepted >= 2 * gl.stats.accepted);
    assert!(bt <= bl, "adjoint: {bl} vs {bt} allocations");
}
