//! The trajectory field on many rows at once: the network ([`crate::network`], matrix
//! products over the rows) and, row by row, each trajectory's rate and projection. One
//! trajectory's field ([`TrajectoryField`]) is a batch of one row; many trajectories solved
//! in lock step ([`BatchTrajectoryField`]) share each call.

use crate::model::TrajectoryField;
use crate::network::{Conditioning, Workspace, backward_simd, forward_simd, restore_simd};
use neural_ode::simd_dispatch;
use neural_ode::{BatchField, Rows, VectorField};

/// Trajectories a batched call takes at once (a chunk; the chunks of a batch run in
/// parallel). Fixed, not per thread, so that the result does not depend on the thread count.
/// 16 gives both cores of the reference machine a chunk of a batch of 32: the main job's
/// pre-training took 0.48 s per epoch, against 0.56 with 8 and 0.64 with 32 (one chunk,
/// one core), and 0.61-0.82 when each call's rows were split over the two cores instead
/// (waking a worker per call costs more than half a call's work). docs/performance.md.
pub const ROWS_PER_CALL: usize = 16;

/// Scratch of the trajectory field on up to `rows` rows: the network's, and the rate's
/// cotangents.
#[derive(Debug, Clone)]
pub struct FieldWorkspace {
    net: Workspace,
    graw: Vec<f64>,
    hdirect: Vec<f64>,
}

impl FieldWorkspace {
    /// Buffers for up to `rows` states of `model`'s network.
    pub fn new(cfg: &crate::network::NetworkConfig, rows: usize) -> Self {
        let net = Workspace::new(cfg, rows);
        let len = net.rows() * cfg.ions;
        Self {
            net,
            graw: vec![0.0; len],
            hdirect: vec![0.0; len],
        }
    }

    /// The network's workspace (raw outputs and attention of the last evaluation).
    pub fn network(&self) -> &Workspace {
        &self.net
    }
}

/// The conditionings of `rows` (members of `fields`), in `one` for a single row (a single
/// trajectory's field is called once per Runge-Kutta stage: no allocation there) or in
/// `many`. A macro, not a closure: a closure's body is compiled on its own, outside the SIMD
/// dispatch of its caller (measured: lock-step inference 7 % slower).
macro_rules! conds_of {
    ($fields:expr, $rows:expr, $one:ident, $many:ident) => {
        if let [m] = $rows {
            $one = [$fields[*m].cond];
            &$one[..]
        } else {
            $many = $rows
                .iter()
                .map(|&m| $fields[m].cond)
                .collect::<Vec<&Conditioning>>();
            &$many[..]
        }
    };
}

simd_dispatch! {
    /// dy/dt of every row: row r is member `at.members[r]` of `fields` at `at.t[r]`, state
    /// `at.y` row r. With `records` non-empty, saves each row's record (length
    /// [`Workspace::record_len`]).
    pub(crate) fn eval_rows<'a>(
        fields: &'a [TrajectoryField<'a>], at: Rows<'a>, ws: &'a mut FieldWorkspace,
        dy: &'a mut [f64], records: &'a mut [f64],
    ) = eval_rows_simd;
}

simd_dispatch! {
    /// The VJP of [`eval_rows`] with cotangents `a` (rows x dim): overwrites `vjp_y` (rows x
    /// dim) and adds the rows' summed parameter cotangent into `vjp_p_acc` (from the fields'
    /// `first_trainable` on). Reads the rows' `records` (one per row) when given, else
    /// evaluates afresh.
    pub(crate) fn vjp_rows<'a>(
        fields: &'a [TrajectoryField<'a>], at: Rows<'a>, a: &'a [f64], ws: &'a mut FieldWorkspace,
        records: &'a [&'a [f64]], vjp_y: &'a mut [f64], vjp_p_acc: &'a mut [f64],
    ) = vjp_rows_simd;
}

#[inline(always)]
fn eval_rows_simd(
    fields: &[TrajectoryField<'_>],
    at: Rows<'_>,
    ws: &mut FieldWorkspace,
    dy: &mut [f64],
    records: &mut [f64],
) {
    let Rows {
        members: rows,
        t,
        y,
        p,
    } = at;
    let model = fields[0].model;
    let n = model.config.network.ions;
    let (one, many);
    let conds: &[&Conditioning] = conds_of!(fields, rows, one, many);
    forward_simd(model.pass_with(p, conds), t, y, &mut ws.net);
    let rl = if records.is_empty() {
        0
    } else {
        ws.net.record_len()
    };
    for (r, &m) in rows.iter().enumerate() {
        let s = r * n..(r + 1) * n;
        fields[m].rate(t[r], &y[s.clone()], &ws.net.raw()[s.clone()], &mut dy[s]);
        if rl > 0 {
            ws.net.save_row(r, &mut records[r * rl..(r + 1) * rl]);
        }
    }
}

#[inline(always)]
fn vjp_rows_simd(
    fields: &[TrajectoryField<'_>],
    at: Rows<'_>,
    a: &[f64],
    ws: &mut FieldWorkspace,
    records: &[&[f64]],
    vjp_y: &mut [f64],
    vjp_p_acc: &mut [f64],
) {
    let Rows {
        members: rows,
        t,
        y,
        p,
    } = at;
    let model = fields[0].model;
    let n = model.config.network.ions;
    let first_trainable = fields[0].first_trainable;
    let (one, many);
    let conds: &[&Conditioning] = conds_of!(fields, rows, one, many);
    let pass = model.pass_with(p, conds);
    let net = &mut ws.net;
    if records.is_empty() {
        forward_simd(pass, t, y, net);
    } else {
        for (r, record) in records[..rows.len()].iter().enumerate() {
            net.load_row(pass.layout, r, record);
        }
        restore_simd(pass, t, y, net);
    }
    for (r, &m) in rows.iter().enumerate() {
        let s = r * n..(r + 1) * n;
        fields[m].rate_vjp(
            t[r],
            &y[s.clone()],
            &net.raw()[s.clone()],
            &a[s.clone()],
            &mut ws.graw[s.clone()],
            &mut ws.hdirect[s],
        );
    }
    let rows_n = rows.len() * n;
    vjp_y[..rows_n].fill(0.0);
    backward_simd(pass, &ws.graw, net, vjp_p_acc, vjp_y, first_trainable);
    for (v, d) in vjp_y[..rows_n].iter_mut().zip(&ws.hdirect) {
        *v += d;
    }
}

/// The trajectory fields of a batch (one per member, e.g. one per training trajectory)
/// evaluated together. A [`BatchField`] for [`neural_ode::gradient_lockstep`] and
/// [`neural_ode::solve_lockstep`].
pub struct BatchTrajectoryField<'a> {
    fields: Vec<TrajectoryField<'a>>,
    record_len: usize,
}

impl<'a> BatchTrajectoryField<'a> {
    /// The members' fields; they must belong to one model (and share `first_trainable`).
    pub fn new(fields: Vec<TrajectoryField<'a>>) -> Self {
        let record_len = fields.first().map_or(0, |f| f.record_len_rows());
        Self { fields, record_len }
    }

    fn cfg(&self) -> &crate::network::NetworkConfig {
        &self.fields[0].model.config.network
    }
}

impl BatchField for BatchTrajectoryField<'_> {
    type Workspace = FieldWorkspace;

    fn dim(&self) -> usize {
        self.cfg().ions
    }

    fn num_params(&self) -> usize {
        self.fields[0].model.layout().total
    }

    fn members(&self) -> usize {
        self.fields.len()
    }

    fn workspace(&self, max_rows: usize) -> FieldWorkspace {
        FieldWorkspace::new(self.cfg(), max_rows)
    }

    fn record_len(&self) -> usize {
        self.record_len
    }

    fn eval_rows(
        &self,
        at: Rows<'_>,
        ws: &mut FieldWorkspace,
        dy: &mut [f64],
        records: &mut [f64],
    ) {
        eval_rows(&self.fields, at, ws, dy, records)
    }

    fn vjp_rows_add(
        &self,
        at: Rows<'_>,
        a: &[f64],
        ws: &mut FieldWorkspace,
        records: &[&[f64]],
        vjp_y: &mut [f64],
        vjp_p_acc: &mut [f64],
    ) {
        vjp_rows(&self.fields, at, a, ws, records, vjp_y, vjp_p_acc)
    }
}

/// One trajectory's field is the batched field on one row. (Here rather than in field.rs, so
/// that the two files depend one way: this one on the trajectory field, not back.)
impl VectorField for TrajectoryField<'_> {
    type Workspace = FieldWorkspace;

    fn dim(&self) -> usize {
        self.model.config.network.ions
    }

    fn num_params(&self) -> usize {
        self.model.layout.total
    }

    fn workspace(&self) -> FieldWorkspace {
        FieldWorkspace::new(&self.model.config.network, 1)
    }

    fn eval(&self, tau: f64, h: &[f64], p: &[f64], ws: &mut FieldWorkspace, dh: &mut [f64]) {
        eval_rows(
            std::slice::from_ref(self),
            one_row(&tau, h, p),
            ws,
            dh,
            &mut [],
        )
    }

    fn vjp(
        &self,
        tau: f64,
        h: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut FieldWorkspace,
        vjp_h: &mut [f64],
        vjp_p: &mut [f64],
    ) {
        vjp_p.fill(0.0);
        let one = std::slice::from_ref(self);
        vjp_rows(one, one_row(&tau, h, p), a, ws, &[], vjp_h, vjp_p)
    }

    fn record_len(&self) -> usize {
        self.record_len_rows()
    }

    fn eval_record(
        &self,
        tau: f64,
        h: &[f64],
        p: &[f64],
        ws: &mut FieldWorkspace,
        dh: &mut [f64],
        record: &mut [f64],
    ) {
        eval_rows(
            std::slice::from_ref(self),
            one_row(&tau, h, p),
            ws,
            dh,
            record,
        )
    }

    fn vjp_recorded_add(
        &self,
        tau: f64,
        h: &[f64],
        p: &[f64],
        a: &[f64],
        ws: &mut FieldWorkspace,
        record: &[f64],
        vjp_h: &mut [f64],
        vjp_p_acc: &mut [f64],
        _scratch_p: &mut [f64],
    ) {
        // The backward pass adds into its parameter cotangent, and only from
        // `first_trainable` on: no parameter-sized fill or copy per stage.
        let one = std::slice::from_ref(self);
        vjp_rows(one, one_row(&tau, h, p), a, ws, &[record], vjp_h, vjp_p_acc)
    }
}

/// One trajectory's field at one point: a batch of one row.
fn one_row<'a>(tau: &'a f64, h: &'a [f64], p: &'a [f64]) -> Rows<'a> {
    Rows {
        members: &[0],
        t: std::slice::from_ref(tau),
        y: h,
        p,
    }
}
