//! The vector-field contract: f(t, y, theta) and its vector-Jacobian products.

/// A right-hand side dy/dt = f(t, y, theta) with vector-Jacobian products, the contract the
/// integrator and the adjoint need.
///
/// Scratch memory lives in [`VectorField::Workspace`], created once per solve (and once per
/// thread in batched solves), so evaluations allocate nothing.
pub trait VectorField: Sync {
    /// Per-solve scratch memory.
    type Workspace: Send;

    /// State dimension n.
    fn dim(&self) -> usize;

    /// Number of parameters theta.
    fn num_params(&self) -> usize;

    /// Fresh scratch memory.
    fn workspace(&self) -> Self::Workspace;

    /// Writes f(t, y, theta) into `dy` (length n).
    fn eval(&self, t: f64, y: &[f64], p: &[f64], ws: &mut Self::Workspace, dy: &mut [f64]);

    /// Writes a^T df/dy into `vjp_y` (length n) and a^T df/dtheta into `vjp_p` (length
    /// [`VectorField::num_params`]), both overwritten.
    #[allow(clippy::too_many_arguments)]
    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    );

    /// Length of the record an evaluation can leave for a later VJP at the same point
    /// (e.g. a network's activations); 0 (the default) means the VJP recomputes what it needs.
    /// The discrete adjoint uses records to skip the forward pass inside each VJP.
    fn record_len(&self) -> usize {
        0
    }

    /// Evaluates f like [`VectorField::eval`] and writes the record (length
    /// [`VectorField::record_len`]) for [`VectorField::vjp_recorded_add`].
    #[allow(clippy::too_many_arguments)]
    fn eval_record(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        _record: &mut [f64],
    ) {
        self.eval(t, y, p, ws, dy)
    }

    /// [`VectorField::vjp`] at a point whose record was written by
    /// [`VectorField::eval_record`] with the same `t`, `y` and `p`, *adding* a^T df/dtheta
    /// into `vjp_p_acc` (vjp_y is overwritten as usual). Adjoints accumulate parameter
    /// gradients over thousands of stages; a field that can add in place (e.g. a network
    /// whose backward pass already accumulates) saves writing and re-reading a whole
    /// parameter-sized vector per stage.
    /// The default ignores the record (right for fields without one), computes
    /// [`VectorField::vjp`] into `scratch_p` (length [`VectorField::num_params`]) and adds; a
    /// field that writes records overrides it to read them.
    #[allow(clippy::too_many_arguments)]
    fn vjp_recorded_add(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        _record: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
        scratch_p: &mut [f64],
    ) {
        self.vjp(t, y, p, a, ws, vjp_y, scratch_p);
        for (acc, v) in vjp_p_acc.iter_mut().zip(scratch_p.iter()) {
            *acc += v;
        }
    }
}

/// A vector field from a plain closure `f(t, y, p, dy)`, with vector-Jacobian products by
/// central finite differences.
///
/// **Slow and approximate**: each VJP costs 2 (n + n_params) evaluations of f, and the
/// truncation/round-off error is about 1e-10 relative for smooth f. Meant for prototyping;
/// use [`AnalyticField`] (or your own [`VectorField`]) for real work.
pub struct FnField<F> {
    f: F,
    dim: usize,
    num_params: usize,
}

impl<F> FnField<F>
where
    F: Fn(f64, &[f64], &[f64], &mut [f64]) + Sync,
{
    /// Wraps `f` for a state of dimension `dim` and `num_params` parameters.
    pub fn new(dim: usize, num_params: usize, f: F) -> Self {
        Self { f, dim, num_params }
    }
}

/// Scratch of [`FnField`]: perturbed inputs and two outputs.
pub struct FdWorkspace {
    y: Vec<f64>,
    p: Vec<f64>,
    fp: Vec<f64>,
    fm: Vec<f64>,
}

impl<F> VectorField for FnField<F>
where
    F: Fn(f64, &[f64], &[f64], &mut [f64]) + Sync,
{
    type Workspace = FdWorkspace;

    fn dim(&self) -> usize {
        self.dim
    }

    fn num_params(&self) -> usize {
        self.num_params
    }

    fn workspace(&self) -> FdWorkspace {
        FdWorkspace {
            y: vec![0.0; self.dim],
            p: vec![0.0; self.num_params],
            fp: vec![0.0; self.dim],
            fm: vec![0.0; self.dim],
        }
    }

    fn eval(&self, t: f64, y: &[f64], p: &[f64], _ws: &mut FdWorkspace, dy: &mut [f64]) {
        (self.f)(t, y, p, dy)
    }

    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut FdWorkspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        // Step eps^(1/3) scaled by magnitude balances truncation and round-off for central
        // differences.
        let base = f64::EPSILON.cbrt();
        ws.y.copy_from_slice(y);
        ws.p.copy_from_slice(p);
        for j in 0..self.dim {
            let h = base * y[j].abs().max(1.0);
            ws.y[j] = y[j] + h;
            (self.f)(t, &ws.y, p, &mut ws.fp);
            ws.y[j] = y[j] - h;
            (self.f)(t, &ws.y, p, &mut ws.fm);
            ws.y[j] = y[j];
            vjp_y[j] = dot_diff(a, &ws.fp, &ws.fm) / (2.0 * h);
        }
        for j in 0..self.num_params {
            let h = base * p[j].abs().max(1.0);
            ws.p[j] = p[j] + h;
            (self.f)(t, y, &ws.p, &mut ws.fp);
            ws.p[j] = p[j] - h;
            (self.f)(t, y, &ws.p, &mut ws.fm);
            ws.p[j] = p[j];
            vjp_p[j] = dot_diff(a, &ws.fp, &ws.fm) / (2.0 * h);
        }
    }
}

fn dot_diff(a: &[f64], x: &[f64], y: &[f64]) -> f64 {
    a.iter()
        .zip(x.iter().zip(y))
        .map(|(a, (x, y))| a * (x - y))
        .sum()
}

/// A vector field from two closures: `f(t, y, p, dy)` and the analytic
/// `vjp(t, y, p, a, vjp_y, vjp_p)` (both outputs overwritten).
#[derive(Clone)]
pub struct AnalyticField<F, V> {
    f: F,
    vjp: V,
    dim: usize,
    num_params: usize,
}

impl<F, V> AnalyticField<F, V>
where
    F: Fn(f64, &[f64], &[f64], &mut [f64]) + Sync,
    V: Fn(f64, &[f64], &[f64], &[f64], &mut [f64], &mut [f64]) + Sync,
{
    /// Wraps `f` and its VJP for a state of dimension `dim` and `num_params` parameters.
    pub fn new(dim: usize, num_params: usize, f: F, vjp: V) -> Self {
        Self {
            f,
            vjp,
            dim,
            num_params,
        }
    }
}

impl<F, V> VectorField for AnalyticField<F, V>
where
    F: Fn(f64, &[f64], &[f64], &mut [f64]) + Sync,
    V: Fn(f64, &[f64], &[f64], &[f64], &mut [f64], &mut [f64]) + Sync,
{
    type Workspace = ();

    fn dim(&self) -> usize {
        self.dim
    }

    fn num_params(&self) -> usize {
        self.num_params
    }

    fn workspace(&self) {}

    fn eval(&self, t: f64, y: &[f64], p: &[f64], _ws: &mut (), dy: &mut [f64]) {
        (self.f)(t, y, p, dy)
    }

    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        _ws: &mut (),
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        (self.vjp)(t, y, p, a, vjp_y, vjp_p)
    }
}
