//! Fits a neural ODE to a 2-D spiral with adjoint gradients and prints the loss falling.
//!
//! `cargo run --release --example spiral_fit [iterations] [seed]`
//!
//! Data: y' = A y with A = [[-0.1, 2], [-2, -0.1]], y(0) = (2, 0), 60 points on [0, 6]
//! (the demo problem of torchdiffeq, with linear instead of cubic dynamics). Model: a tanh
//! MLP 2 -> 32 -> 32 -> 2. Training: Adam on mini-batches of trajectory segments, gradients
//! by the interpolating adjoint.

use neural_ode::{
    AdjointMethod, AdjointOptions, AnalyticField, Problem, SolverOptions, TanhMlp, VectorField,
    gradient_batch, solve,
};

/// Adam (Kingma & Ba 2015) with the paper's default betas.
struct Adam {
    lr: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    fn new(n: usize, lr: f64) -> Self {
        Self {
            lr,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }
    fn step(&mut self, p: &mut [f64], g: &[f64]) {
        let (b1, b2, eps) = (0.9, 0.999, 1e-8);
        self.t += 1;
        for i in 0..p.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            let mh = self.m[i] / (1.0 - b1.powi(self.t));
            let vh = self.v[i] / (1.0 - b2.powi(self.t));
            p[i] -= self.lr * mh / (vh.sqrt() + eps);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let iterations: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(500);
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(42);

    // Ground truth.
    let a = [-0.1, 2.0, -2.0, -0.1];
    let truth = AnalyticField::new(
        2,
        4,
        |_t, y: &[f64], p: &[f64], dy: &mut [f64]| {
            dy[0] = p[0] * y[0] + p[1] * y[1];
            dy[1] = p[2] * y[0] + p[3] * y[1];
        },
        |_t, y: &[f64], p: &[f64], w: &[f64], vy: &mut [f64], vp: &mut [f64]| {
            vy[0] = w[0] * p[0] + w[1] * p[2];
            vy[1] = w[0] * p[1] + w[1] * p[3];
            vp.copy_from_slice(&[w[0] * y[0], w[0] * y[1], w[1] * y[0], w[1] * y[1]]);
        },
    );
    let n_pts = 60;
    let ts: Vec<f64> = (0..n_pts).map(|i| i as f64 * 0.1).collect();
    let data = solve(
        &truth,
        &a,
        0.0,
        &[2.0, 0.0],
        &ts[1..],
        &SolverOptions::with_tolerances(1e-10, 1e-10),
    )?;
    let mut ys = vec![2.0, 0.0];
    ys.extend_from_slice(&data.y);

    let model = TanhMlp::new(2, &[32, 32], false);
    let mut p = model.init_params(seed);
    println!(
        "model: tanh MLP {:?}, {} parameters",
        model.sizes(),
        model.num_params()
    );
    let opts = SolverOptions::with_tolerances(1e-6, 1e-8);
    let aopts = AdjointOptions::new(AdjointMethod::Interpolating, 1e-6, 1e-8);
    let mut adam = Adam::new(p.len(), 1e-2);

    // Deterministic segment starts from the seed (LCG), as torchdiffeq samples batches.
    let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let seg = 10;
    let batch = 16;
    let full_loss = |p: &[f64]| -> Result<f64, neural_ode::OdeError> {
        let s = solve(&model, p, 0.0, &[2.0, 0.0], &ts[1..], &opts)?;
        Ok(s.y
            .iter()
            .zip(&ys[2..])
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / s.y.len() as f64)
    };
    let first = full_loss(&p)?;
    println!(
        "iter {:>4}  mean |error| over the whole trajectory {:.4}",
        0, first
    );
    let start = std::time::Instant::now();
    let mut last = first;
    for it in 1..=iterations {
        let starts: Vec<usize> = (0..batch)
            .map(|_| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((rng >> 33) as usize) % (n_pts - seg)
            })
            .collect();
        let problems: Vec<Problem> = starts
            .iter()
            .map(|&s| Problem {
                t0: ts[s],
                y0: &ys[2 * s..2 * s + 2],
                save_at: &ts[s + 1..s + seg],
            })
            .collect();
        let g = gradient_batch(
            &model,
            &p,
            &problems,
            |i, sol| {
                let s = starts[i];
                let target = &ys[2 * (s + 1)..2 * (s + seg)];
                let scale = 1.0 / (batch * sol.y.len()) as f64;
                let mut grad = vec![0.0; sol.y.len()];
                let mut l = 0.0;
                for (k, (y, t)) in sol.y.iter().zip(target).enumerate() {
                    l += 0.5 * (y - t).powi(2) * scale;
                    grad[k] = (y - t) * scale;
                }
                (l, grad)
            },
            &opts,
            &aopts,
        )?;
        adam.step(&mut p, &g.p);
        if it % 50 == 0 || it == iterations {
            last = full_loss(&p)?;
            println!(
                "iter {it:>4}  batch loss {:.3e}  mean |error| {:.4}  ({:.1} s)",
                g.loss,
                last,
                start.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "mean |error| fell from {first:.4} to {last:.4} ({:.1}x)",
        first / last
    );
    Ok(())
}
