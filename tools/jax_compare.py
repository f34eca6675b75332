#!/usr/bin/env python3
"""Side by side, in one run: the paper's training configuration in iontransport (Rust) and in
JAX/diffrax, same model, same data, same tolerances, both pinned to one CPU core, for two sets
of weights (two regimes):

- `paper`: benches/fixtures/nf270-hard.json, the main job's trained field: ~20-27 steps per
  trajectory whose counts spread across a batch (lock step pays);
- `easy`: benches/fixtures/nf270-easy.json, the same architecture after a short training on
  smooth data: few steps per trajectory, nearly equal (shared steps cost nothing extra).

The JAX version rebuilds exactly the model's vector field from the file's parameters (token
features, embeddings, single-head attention, five tanh layers, projection onto
sum_j z_j dh_j = 0 over present ions) and integrates each batch of 32 trajectories as one
system with Tsit5, a PID step controller at the model's rtol/atol, and diffrax's
recursive-checkpoint adjoint; float64. An epoch is 32 batches x 32 trajectories (the first
1,024 of the data) with an Adam step per batch, as in `paper_epoch`; the whole step (gradient
and Adam update) is one `jit`, and the epoch synchronises once, at its end.

Not run by CI. Needs `pip install "jax[cpu]" diffrax` and cargo:

    python3 tools/jax_compare.py [--config paper|easy|both] [--data DATA.csv] [--epochs N] [--rounds N]
    python3 tools/jax_compare.py --model MODEL.json --data DATA.csv

Without --data the data are generated (`iontransport generate --feeds 1024 --fluxes 10
--flux-max 1.7e-5 --seed 11`). The first JAX epoch includes compilation and is reported apart.
Inference of 32 feeds is timed in `--rounds` alternating rounds (default 3: Rust, JAX, Rust,
...), each side's fastest reported, so that a slow spell of a shared machine does not fall on
one side only (one run of 2026-12-07 gave 0.61x where the runs before and after gave 0.51x and
0.49x).
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time

os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import diffrax  # noqa: E402

jax.config.update("jax_enable_x64", True)

TOKEN_FEATURES = 3


def layout(net):
    n, dm, dk, hid = net["ions"], net["d_model"], net["d_k"], net["hidden"]
    off = 0
    out = {}

    def take(name, length):
        nonlocal off
        out[name] = (off, length)
        off += length

    take("we", dm * TOKEN_FEATURES)
    take("be", dm)
    take("pos", n * dm)
    assert net["attention"], "the comparison is for the attention model"
    take("wq", dm * dk)
    take("wk", dm * dk)
    take("wv", dm * dk)
    sizes = [n * dk + n + 2, hid, hid, hid, hid, n]
    layers = []
    for ni, no in zip(sizes[:-1], sizes[1:]):
        layers.append((off, ni, no))
        off += ni * no + no
    return out, layers, off


def unpack(params, net):
    lay, layers, total = layout(net)
    assert total == len(params), (total, len(params))
    p = jnp.asarray(params)
    n, dm, dk = net["ions"], net["d_model"], net["d_k"]

    def block(name, shape):
        o, length = lay[name]
        return p[o:o + length].reshape(shape)

    w = {
        "we": block("we", (dm, TOKEN_FEATURES)),
        "be": block("be", (dm,)),
        "pos": block("pos", (n, dm)),
        "wq": block("wq", (dm, dk)),
        "wk": block("wk", (dm, dk)),
        "wv": block("wv", (dm, dk)),
        "layers": [(p[o:o + ni * no].reshape(no, ni), p[o + ni * no:o + ni * no + no]) for o, ni, no in layers],
    }
    return w


def field(w, tau, h, c):
    """dh/dtau of one trajectory; c = (h0, mask, log_scale, z)."""
    h0, mask, log_scale, z = c
    dk = w["wq"].shape[1]
    safe_h0 = jnp.where(mask, h0, 1.0)
    u = jnp.stack([h / safe_h0, jnp.log(safe_h0) / 5.0, jnp.full_like(h, tau)], axis=1)
    u = jnp.where(mask[:, None], u, 0.0)
    e = u @ w["we"].T + w["be"] + w["pos"]
    e = jnp.where(mask[:, None], e, 0.0)
    q, k, v = e @ w["wq"], e @ w["wk"], e @ w["wv"]
    scores = (q @ k.T) / math.sqrt(dk)
    scores = jnp.where(mask[None, :], scores, -jnp.inf)
    a = jax.nn.softmax(scores, axis=1)
    a = jnp.where(mask[:, None], a, 0.0)
    o = a @ v
    x = jnp.concatenate([o.reshape(-1), u[:, 0], jnp.array([tau, log_scale])])
    for i, (W, b) in enumerate(w["layers"]):
        x = W @ x + b
        if i + 1 < len(w["layers"]):
            x = jnp.tanh(x)
    rate = jnp.where(mask, h0 * x, 0.0)
    zm = jnp.where(mask, z, 0.0)
    zz = zm @ zm
    return jnp.where(zz > 0, rate - zm * (zm @ rate) / jnp.where(zz > 0, zz, 1.0), rate)


def read_data(path, ions, flux_scale, limit=1024):
    rows = [r for r in csv.reader(line for line in open(path) if not line.startswith("#"))]
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    samples = {}
    order = []
    for r in rows[1:]:
        sid = r[col["sample"]]
        if sid not in samples:
            if len(order) == limit:
                break
            samples[sid] = {"feed": [float(r[col[f"feed:{i} [mol/m3]"]] or 0) for i in ions], "taus": [], "y": []}
            order.append(sid)
        s = samples[sid]
        s["taus"].append(float(r[col["Jv [m/s]"]]) / flux_scale)
        s["y"].append([float(r[col[f"permeate:{i} [mol/m3]"]]) if r[col[f"permeate:{i} [mol/m3]"]] else math.nan for i in ions])
    feeds = jnp.array([samples[s]["feed"] for s in order])
    S = feeds.sum(axis=1)
    h0 = feeds / S[:, None]
    mask = feeds > 0
    taus = jnp.array([samples[s]["taus"] for s in order])
    y = jnp.array([samples[s]["y"] for s in order]) / S[:, None, None]
    return h0, mask, jnp.log(S) / 10.0, taus, y


CONFIGS = {"paper": "nf270-hard.json", "easy": "nf270-easy.json"}


def compare(root, model_path, data_path, epochs, rounds):
    """One configuration: returns a dict of the figures."""
    # --- iontransport (Rust) ---------------------------------------------------------------
    def run_rust(n_epochs):
        ours = subprocess.run(
            ["cargo", "run", "--release", "-q", "-p", "iontransport-model", "--example", "paper_epoch", "--",
             os.path.abspath(model_path), os.path.abspath(data_path), str(n_epochs)],
            cwd=root, check=True, capture_output=True, text=True,
        )
        return json.loads(ours.stdout.strip().splitlines()[-1])

    rust = run_rust(epochs)

    # --- JAX / diffrax ---------------------------------------------------------------------
    ck = json.load(open(model_path))["checkpoint"]
    cfg = ck["config"]
    net = cfg["network"]
    assert cfg["constraint"] == "Hard", "the comparison uses the Euclidean hard projection"
    w = unpack(ck["params"], net)
    z = jnp.array(cfg["valences"])
    h0, mask, log_scale, taus, y = read_data(data_path, cfg["ions"], cfg["flux_scale"])
    assert bool(jnp.all(taus == taus[0])), "one flux grid for the whole data set"
    ts = taus[0]

    def batch_loss(w, h0b, maskb, lsb, yb):
        def f(t, hb, args):
            return jax.vmap(lambda h, a, m, l: field(w, t, h, (a, m, l, z)))(hb, h0b, maskb, lsb)

        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(f), diffrax.Tsit5(), t0=0.0, t1=ts[-1], dt0=None, y0=h0b,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=cfg["rtol"], atol=cfg["atol"]),
            adjoint=diffrax.RecursiveCheckpointAdjoint(), max_steps=4096,
        )
        pred = jnp.transpose(sol.ys, (1, 0, 2))  # batch, time, ion
        measured = ~jnp.isnan(yb)
        d = jnp.where(measured, pred - jnp.nan_to_num(yb), 0.0)
        return (d * d).sum() / measured.sum(), sol.stats["num_accepted_steps"]

    @jax.jit
    def train_step(w, m, v, t, h0b, maskb, lsb, yb):
        # The whole Adam step in one compiled function: no host round trip inside a batch.
        (_, acc), g = jax.value_and_grad(batch_loss, has_aux=True)(w, h0b, maskb, lsb, yb)
        m = jax.tree_util.tree_map(lambda a, gg: 0.9 * a + 0.1 * gg, m, g)
        v = jax.tree_util.tree_map(lambda a, gg: 0.999 * a + 0.001 * gg * gg, v, g)
        w = jax.tree_util.tree_map(
            lambda p, mm, vv: p - 1e-3 * (mm / (1 - 0.9 ** t)) / (jnp.sqrt(vv / (1 - 0.999 ** t)) + 1e-8),
            w, m, v)
        return w, m, v, acc

    # Same model: the first trajectory's prediction agrees with iontransport's to solver
    # tolerance.
    def solve_one(w, a, m, l):
        def f(t, h, args):
            return field(w, t, h, (a, m, l, z))

        return diffrax.diffeqsolve(
            diffrax.ODETerm(f), diffrax.Tsit5(), t0=0.0, t1=ts[-1], dt0=None, y0=a,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12), max_steps=100000,
        ).ys

    mine = jnp.array(rust["first_prediction"]).reshape(ts.shape[0], -1)
    theirs = solve_one(w, h0[0], mask[0], log_scale[0])
    agreement = float(jnp.max(jnp.abs(mine - theirs)))
    assert agreement < 1e-4, f"the JAX field is not the model's ({agreement:.2e})"

    def adam_epoch(w):
        m = jax.tree_util.tree_map(jnp.zeros_like, w)
        v = jax.tree_util.tree_map(jnp.zeros_like, w)
        accs = []
        for i, b in enumerate(range(0, h0.shape[0], 32)):
            sl = slice(b, b + 32)
            w, m, v, acc = train_step(w, m, v, jnp.float64(i + 1), h0[sl], mask[sl], log_scale[sl], y[sl])
            accs.append(acc)
        jax.block_until_ready(w)
        return int(sum(int(a) for a in accs))

    t0 = time.perf_counter()
    adam_epoch(w)
    first = time.perf_counter() - t0
    jax_seconds = []
    steps = 0
    for _ in range(epochs):
        t0 = time.perf_counter()
        steps = adam_epoch(w)
        jax_seconds.append(time.perf_counter() - t0)

    infer = jax.jit(lambda w, a, m, l: batch_loss(w, a, m, l, y[:32])[0])
    infer(w, h0[:32], mask[:32], log_scale[:32]).block_until_ready()

    def jax_inference():
        # The fastest of 5 blocks of 20 calls (mean per call), as the Rust side times its own.
        blocks = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(20):
                infer(w, h0[:32], mask[:32], log_scale[:32]).block_until_ready()
            blocks.append((time.perf_counter() - t0) / 20)
        return min(blocks)

    # Inference in alternating rounds (Rust, then JAX), the fastest of each side kept: a
    # shared machine's slow spells then hit both sides, not whichever ran during one.
    rust_infers, jax_infers = [rust["inference_32_seconds"]], [jax_inference()]
    for _ in range(rounds - 1):
        rust_infers.append(run_rust(0)["inference_32_seconds"])
        jax_infers.append(jax_inference())
    return {
        "agreement": agreement,
        "trajectories": int(h0.shape[0]),
        "fluxes": int(ts.shape[0]),
        "rtol": cfg["rtol"],
        "atol": cfg["atol"],
        "rust_epoch": min(rust["epoch_seconds"]),
        "rust_epochs": rust["epoch_seconds"],
        "rust_steps": rust["steps_per_trajectory"],
        "rust_infer": min(rust_infers),
        "rust_infers": rust_infers,
        "jax_epoch": min(jax_seconds),
        "jax_epochs": [round(x, 3) for x in jax_seconds],
        "jax_first": first,
        "jax_steps": steps / 32,
        "jax_infer": min(jax_infers),
        "jax_infers": jax_infers,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=["paper", "easy", "both"], default="both")
    ap.add_argument("--model", help="a model file instead of the configurations' fixtures")
    ap.add_argument("--data", help="DATA.csv (default: generated, 1024 feeds x 10 fluxes, seed 11)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating rounds of the inference timing (Rust, then JAX); the fastest of each side is reported")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    fixtures = os.path.join(root, "crates", "iontransport-model", "benches", "fixtures")
    if args.model:
        runs = [("model", args.model)]
    else:
        names = ["paper", "easy"] if args.config == "both" else [args.config]
        runs = [(c, os.path.join(fixtures, CONFIGS[c])) for c in names]
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = os.path.join(tmp, "data.csv")
            subprocess.run(
                ["cargo", "run", "--release", "-q", "-p", "iontransport-cli", "--", "generate", "--out", data,
                 "--feeds", "1024", "--fluxes", "10", "--flux-max", "1.7e-5", "--seed", "11"],
                cwd=root, check=True, capture_output=True, text=True,
            )
        results = [(c, compare(root, path, data, args.epochs, args.rounds)) for c, path in runs]
    print("| configuration | iontransport epoch | JAX/diffrax epoch | ratio | iontransport inference of 32 | JAX inference of 32 | ratio | steps per trajectory (ours / JAX shared per batch) |")
    print("|---|---|---|---|---|---|---|---|")
    for c, r in results:
        print(f"| {c} | {r['rust_epoch']:.3f} s | {r['jax_epoch']:.3f} s | {r['rust_epoch'] / r['jax_epoch']:.2f} "
              f"| {r['rust_infer'] * 1e3:.2f} ms | {r['jax_infer'] * 1e3:.2f} ms | {r['rust_infer'] / r['jax_infer']:.2f} "
              f"| {r['rust_steps']:.1f} / {r['jax_steps']:.1f} |")
    for c, r in results:
        print(f"{c}: {r['trajectories']} trajectories x {r['fluxes']} fluxes, rtol {r['rtol']}, atol {r['atol']}, one core; "
              f"epochs ours {r['rust_epochs']}, JAX {r['jax_epochs']} (first, with compilation, {r['jax_first']:.1f} s); "
              f"same model: max |h_iontransport - h_jax| over trajectory 0 = {r['agreement']:.2e} (c/S); "
              f"inference of 32 per round (ours, JAX): "
              + ", ".join(f"{a * 1e3:.2f} / {b * 1e3:.2f} ms" for a, b in zip(r['rust_infers'], r['jax_infers'])))


if __name__ == "__main__":
    main()
