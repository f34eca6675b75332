//! Vector fields evaluated on many rows at once ([`BatchField`]): the contract of the
//! lock-step solver, the row-by-row adapter of any [`VectorField`] ([`RowsOf`]), and a batch
//! as one stacked system with shared steps ([`Stacked`]).

use crate::checks::check_len;
use crate::error::{OdeError, Result};
use crate::field::VectorField;

/// Where a [`BatchField`] is evaluated: row r is the state `y[r]` of problem (member)
/// `members[r]` at time `t[r]`, every row at the parameters `p`. States are packed row-major,
/// [`BatchField::dim`] values per row.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    /// The member of each row (below [`BatchField::members`]).
    pub members: &'a [usize],
    /// Each row's time.
    pub t: &'a [f64],
    /// The rows' states, row after row.
    pub y: &'a [f64],
    /// The parameters, shared by every row.
    pub p: &'a [f64],
}

impl Rows<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// A vector field evaluated on many rows at once ([`Rows`]). Members may carry their own
/// conditioning (a trajectory's feed, say); all share the parameters.
///
/// `dy`, `a` and `vjp_y` hold the rows packed like the states: `rows.len()` rows of
/// [`BatchField::dim`]. An evaluation writes its records into one buffer of `rows.len()` rows
/// of [`BatchField::record_len`]; a VJP reads them as one slice per row, wherever each row's
/// record is kept (the discrete adjoint passes them from each trajectory's stored steps, so
/// they are not gathered into one buffer first). Either is empty when nothing is recorded.
pub trait BatchField: Sync {
    /// Scratch memory for up to `max_rows` rows.
    type Workspace: Send;

    /// State dimension n of one row.
    fn dim(&self) -> usize;

    /// Number of parameters.
    fn num_params(&self) -> usize;

    /// Number of members; `rows` entries are below it.
    fn members(&self) -> usize;

    /// Scratch for up to `max_rows` rows per call.
    fn workspace(&self, max_rows: usize) -> Self::Workspace;

    /// Length of the record one row's evaluation can leave for its VJP (0: the VJP
    /// recomputes the forward pass).
    fn record_len(&self) -> usize {
        0
    }

    /// Writes f(t_r, y_r, theta) of every row into `dy`, and each row's record when
    /// `records` is not empty.
    fn eval_rows(
        &self,
        at: Rows<'_>,
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        records: &mut [f64],
    );

    /// Writes a_r^T df/dy of every row into `vjp_y` and *adds* sum_r a_r^T df/dtheta into
    /// `vjp_p_acc`. `records` are the rows' records from [`BatchField::eval_rows`] at the same
    /// points, one slice per row, or empty (then the field recomputes what it needs); any
    /// other count is a programming error and may panic.
    fn vjp_rows_add(
        &self,
        at: Rows<'_>,
        a: &[f64],
        ws: &mut Self::Workspace,
        records: &[&[f64]],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    );
}

/// One [`VectorField`] per member, evaluated row by row: the reference a batched field is
/// tested against, and a way to run any field through the lock-step solver.
pub struct RowsOf<'a, F> {
    fields: &'a [F],
}

impl<'a, F: VectorField> RowsOf<'a, F> {
    /// Wraps the members' fields; they must share state dimension and parameter count.
    pub fn new(fields: &'a [F]) -> Result<Self> {
        let first = fields.first().ok_or(OdeError::InvalidOption(
            "RowsOf needs at least one field".into(),
        ))?;
        for f in fields {
            check_len("field dimension", first.dim(), f.dim())?;
            check_len("field parameters", first.num_params(), f.num_params())?;
        }
        Ok(Self { fields })
    }
}

impl<F: VectorField> BatchField for RowsOf<'_, F> {
    type Workspace = (F::Workspace, Vec<f64>);

    fn dim(&self) -> usize {
        self.fields[0].dim()
    }
    fn num_params(&self) -> usize {
        self.fields[0].num_params()
    }
    fn members(&self) -> usize {
        self.fields.len()
    }
    fn workspace(&self, _max_rows: usize) -> Self::Workspace {
        (self.fields[0].workspace(), vec![0.0; self.num_params()])
    }
    fn record_len(&self) -> usize {
        self.fields[0].record_len()
    }
    fn eval_rows(
        &self,
        at: Rows<'_>,
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        let (n, r) = (self.dim(), self.record_len());
        let Rows { members, t, y, p } = at;
        for (i, &m) in members.iter().enumerate() {
            let (yi, dyi) = (&y[i * n..(i + 1) * n], &mut dy[i * n..(i + 1) * n]);
            if records.is_empty() || r == 0 {
                self.fields[m].eval(t[i], yi, p, &mut ws.0, dyi);
            } else {
                let rec = &mut records[i * r..(i + 1) * r];
                self.fields[m].eval_record(t[i], yi, p, &mut ws.0, dyi, rec);
            }
        }
    }
    fn vjp_rows_add(
        &self,
        at: Rows<'_>,
        a: &[f64],
        ws: &mut Self::Workspace,
        records: &[&[f64]],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        let (n, r) = (self.dim(), self.record_len());
        let Rows { members, t, y, p } = at;
        for (i, &m) in members.iter().enumerate() {
            let (yi, ai) = (&y[i * n..(i + 1) * n], &a[i * n..(i + 1) * n]);
            let vy = &mut vjp_y[i * n..(i + 1) * n];
            if records.is_empty() || r == 0 {
                self.fields[m].vjp(t[i], yi, p, ai, &mut ws.0, vy, &mut ws.1);
                for (acc, v) in vjp_p_acc.iter_mut().zip(&ws.1) {
                    *acc += v;
                }
            } else {
                let rec = records[i];
                let f = &self.fields[m];
                f.vjp_recorded_add(t[i], yi, p, ai, &mut ws.0, rec, vy, vjp_p_acc, &mut ws.1);
            }
        }
    }
}

/// A batch integrated as one system (shared steps, one error norm over every member, as
/// diffrax does with a vmapped field): the state is the members' states stacked, member
/// after member. Every member must share t0 and the output times. For comparison with the
/// lock-step solver, which lets each member keep its own steps.
pub struct Stacked<'a, F> {
    field: &'a F,
    rows: Vec<usize>,
}

impl<'a, F: BatchField> Stacked<'a, F> {
    /// All of `field`'s members as one system.
    pub fn new(field: &'a F) -> Self {
        Self {
            field,
            rows: (0..field.members()).collect(),
        }
    }

    /// Every member as a row, at times `t`.
    fn rows_at<'b>(&'b self, t: &'b [f64], y: &'b [f64], p: &'b [f64]) -> Rows<'b> {
        Rows {
            members: &self.rows,
            t,
            y,
            p,
        }
    }
}

/// Scratch of a [`Stacked`] field: the batched field's, the rows' times and a record buffer
/// for VJPs without records.
pub struct StackedWorkspace<W> {
    inner: W,
    t: Vec<f64>,
    rec: Vec<f64>,
    dy: Vec<f64>,
}

impl<F: BatchField> VectorField for Stacked<'_, F> {
    type Workspace = StackedWorkspace<F::Workspace>;

    fn dim(&self) -> usize {
        self.rows.len() * self.field.dim()
    }
    fn num_params(&self) -> usize {
        self.field.num_params()
    }
    fn workspace(&self) -> Self::Workspace {
        let m = self.rows.len();
        StackedWorkspace {
            inner: self.field.workspace(m),
            t: vec![0.0; m],
            rec: vec![0.0; m * self.field.record_len()],
            dy: vec![0.0; self.dim()],
        }
    }
    fn eval(&self, t: f64, y: &[f64], p: &[f64], ws: &mut Self::Workspace, dy: &mut [f64]) {
        ws.t.fill(t);
        let at = self.rows_at(&ws.t, y, p);
        self.field.eval_rows(at, &mut ws.inner, dy, &mut [])
    }
    fn vjp(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        vjp_y: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        ws.t.fill(t);
        let mut rec = std::mem::take(&mut ws.rec);
        let at = self.rows_at(&ws.t, y, p);
        self.field
            .eval_rows(at, &mut ws.inner, &mut ws.dy, &mut rec);
        vjp_p.fill(0.0);
        self.vjp_recorded_add(t, y, p, a, ws, &rec, vjp_y, vjp_p, &mut []);
        ws.rec = rec;
    }
    fn record_len(&self) -> usize {
        self.rows.len() * self.field.record_len()
    }
    fn eval_record(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        ws: &mut Self::Workspace,
        dy: &mut [f64],
        record: &mut [f64],
    ) {
        ws.t.fill(t);
        let at = self.rows_at(&ws.t, y, p);
        self.field.eval_rows(at, &mut ws.inner, dy, record)
    }
    fn vjp_recorded_add(
        &self,
        t: f64,
        y: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut Self::Workspace,
        record: &[f64],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
        _scratch_p: &mut [f64],
    ) {
        ws.t.fill(t);
        // The stacked record is the members' records one after another.
        let r = self.field.record_len();
        let records: Vec<&[f64]> = if r == 0 {
            Vec::new()
        } else {
            record.chunks(r).collect()
        };
        let at = self.rows_at(&ws.t, y, p);
        let inner = &mut ws.inner;
        self.field
            .vjp_rows_add(at, a, inner, &records, vjp_y, vjp_p_acc)
    }
}
