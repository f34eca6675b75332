"""Trained models from Python: the command line's predictions, the batched path, attention,
ensembles with intervals, scores."""

import numpy as np
import pytest

import iontransport as it
from conftest import parse_csv_table

FEED = "Na+=20 mM, Cl-=20 mM, Mg2+=5 mM, SO4 2-=5 mM"


def test_prediction_equals_the_command_line(cli, repo):
    path = repo / "crates" / "iontransport-model" / "models" / "nf270-synthetic.json"
    header, rows = parse_csv_table(cli("predict", "--model", str(path), "--feed", FEED, "--csv"))
    m = it.Model.load(path)
    p = m.predict(FEED)
    assert header[2:] == [f"rejection:{i} [-]" for i in p.ions]
    rows = np.array(rows)
    # --csv prints shortest round-trip digits: the same floats, bit for bit.
    np.testing.assert_array_equal(p.fluxes, rows[:, 0])
    np.testing.assert_array_equal(p.rejection, rows[:, 2:])
    # The printed table, to its last digit.
    table = cli("predict", "--model", str(path), "--feed", FEED).strip().splitlines()
    for line, r in zip(table[1:], p.rejection):
        assert line.split()[2:] == [f"{x:.4f}" for x in r]


def test_ensemble_interval_equals_the_command_line(cli, repo):
    path = str(repo / "crates" / "iontransport-model" / "models" / "nf270-synthetic.json")
    text = cli("predict", "--model", f"{path},{path}", "--feed", FEED, "--interval", "0.9",
               "--points", "4", "--csv")
    header, rows = parse_csv_table(text)
    m = it.Model.load(path)
    p = it.predict_ensemble([m, m], FEED, points=4, interval=0.9)
    rows = np.array(rows)
    for j, ion in enumerate(p.ions):
        for kind, ours in [("", p.rejection), (" lower", p.lower), (" upper", p.upper)]:
            col = header.index(f"rejection:{ion}{kind} [-]")
            np.testing.assert_array_equal(ours[:, j], rows[:, col])
    assert np.all(p.lower <= p.rejection) and np.all(p.rejection <= p.upper)


def test_many_feeds_match_one_at_a_time():
    m = it.Model.shipped()
    feeds = [{"Na+": c, "Cl-": c} for c in (5.0, 20.0, 80.0)] + [FEED]
    many = m.predict_many(feeds, fluxes=[5e-6, 1e-5])
    for f, p in zip(feeds, many):
        one = m.predict(f, fluxes=[5e-6, 1e-5])
        assert p.ions == one.ions
        np.testing.assert_allclose(p.permeate, one.permeate, rtol=1e-8)
    with pytest.raises(it.InputError, match="feed 1"):
        m.predict_many([{"Na+": 5, "Cl-": 5}, {"Na+": 5, "Cl-": 1}], fluxes=[1e-5])


def test_attention_rows_are_distributions_over_present_ions():
    m = it.Model.shipped()
    a = m.attention(FEED, 1e-5)
    present = [m.ions.index(i) for i in ["Na+", "Cl-", "Mg^2+", "SO4^2-"]]
    assert a.shape == (8, 8)
    np.testing.assert_allclose(a[present].sum(axis=1), 1.0, rtol=1e-12)
    absent = [j for j in range(8) if j not in present]
    assert np.all(a[:, absent] == 0)


def test_predictions_are_electroneutral_and_start_at_the_feed():
    m = it.Model.shipped()
    p = m.predict({"Na+": 20, "Cl-": 20}, fluxes=[0.0, 1e-5])
    np.testing.assert_allclose(p.permeate[0], [20, 20], rtol=1e-12)
    assert abs(p.permeate[1, 0] - p.permeate[1, 1]) < 1e-9 * p.permeate[1, 0]


def test_model_scores_on_its_own_data(repo):
    m = it.Model.shipped()
    data = it.Dataset.read_csv(repo / "data" / "synthetic-measurements.csv")
    small = it.Dataset.from_dict({k: v[:24] for k, v in data.to_dict().items()})
    s = it.score_models(m, small)
    assert s.level == 0.9
    all_row = s.by_ion[-1]
    assert all_row.ion == "all" and all_row.points == len(s)
    pts = s.points
    err = pts["predicted"] - pts["measured"]
    assert all_row.rmse == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-12)
    inside = (pts["lower"] <= pts["measured"]) & (pts["measured"] <= pts["upper"])
    assert all_row.covered == int(inside.sum())


def test_a_neural_ode_has_no_temperature_input():
    with pytest.raises(it.InputError, match="temperature"):
        it.Model.shipped().at_temperature("20 C")


def test_the_loss_a_model_was_trained_with(cli, tmp_path):
    assert it.Model.shipped().loss == "concentration"
    data, out = tmp_path / "d.csv", tmp_path / "m.json"
    cli("generate", "--out", str(data), "--feeds", "12", "--fluxes", "3")
    cli("train", "--data", str(data), "--out", str(out), "--epochs", "1", "--positive",
        "--rejection-loss")
    m = it.Model.load(out)
    assert (m.loss, m.constraint) == ("rejection", "hard_positive")
