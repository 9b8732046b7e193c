"""Index scoring, alpha, the export reader, wave comparisons and the command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rref import DATA, RTOL, api, ref

from analysis.cli import main
from analysis.compare import adjust_pvalues, compare_waves
from analysis.io import read_export, read_targets
from analysis.scales import cronbach_alpha, score_index, score_indexes
from analysis.tables import wave_tables

EXPORT = DATA / "export.csv"
CODEBOOK = DATA / "codebook.json"


def test_score_index_more_than_half_rule():
    df = pd.DataFrame({"a": [10, 10, 4, np.nan], "b": [0, np.nan, 2, np.nan], "c": [5, np.nan, 4, 3], "d": [1, 1, np.nan, 4]})
    items = [{"key": "a", "min": 0, "max": 10}, {"key": "b", "min": 0, "max": 10},
             {"key": "c", "min": 0, "max": 10}, {"key": "d", "min": 1, "max": 4, "reverse": True}]
    s = score_index(df, items)
    # row 0: 100, 0, 50, 100 -> 62.5; row 1: 2 of 4 answered -> not scored; row 2: 40, 20, 40 -> 33.33
    assert s[0] == pytest.approx(62.5)
    assert np.isnan(s[1])
    assert s[2] == pytest.approx(100 / 3)
    assert np.isnan(s[3])


def test_score_index_rejects_out_of_range():
    with pytest.raises(ValueError, match="outside 0..10"):
        score_index(pd.DataFrame({"a": [11.0]}), [{"key": "a", "min": 0, "max": 10}])


def test_cronbach_alpha_against_r():
    df = api("apistrat")
    x = pd.DataFrame({"a": df["api00"], "b": df["api99"], "c": 1000 - 10 * df["meals"]})
    assert cronbach_alpha(x) == pytest.approx(ref("alpha_apistrat")[0], rel=RTOL)


def test_cronbach_alpha_errors():
    with pytest.raises(ValueError, match="two items"):
        cronbach_alpha(np.ones((5, 1)))


def test_read_export_missing_codes_and_strings():
    frame, cb = read_export(EXPORT, CODEBOOK)
    assert cb.wave_order == ["2025-q1", "2025-q2", "2025-q3"]
    assert frame["trust_agency"].dtype == np.float64
    assert not (frame["trust_agency"] == -9).any()
    assert not (frame["pj_explain"] == -8).any()
    assert frame["age_band"].isna().any()  # empty cells stay missing
    assert frame.loc[frame["sample"] == "open_link", "base_weight"].isna().all()
    assert set(cb.target_margins()) == {"age_band", "sex", "tenure"}
    scores = score_indexes(frame, cb.indexes)
    assert scores["trust"].between(0, 100).all() or scores["trust"].isna().any()


def test_read_export_rejects_other_format(tmp_path):
    p = tmp_path / "cb.json"
    p.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="format"):
        read_export(EXPORT, p)


@pytest.fixture(scope="module")
def comparison():
    frame, cb = read_export(EXPORT, CODEBOOK)
    return compare_waves(frame, cb, rake=True, progress=False)


def test_compare_finds_the_built_in_change(comparison):
    t = comparison
    trust = t[(t["measure"] == "trust") & (t["comparison"] == "step")]
    q2q3 = trust[trust["wave_to"] == "2025-q3"].iloc[0]
    assert q2q3["detectable"] and q2q3["difference"] > 5
    assert "larger than chance" in q2q3["verdict"] and "Trust score rose" in q2q3["verdict"]
    assert q2q3["ci_low"] < q2q3["difference"] < q2q3["ci_high"]
    assert {"p_holm", "p_bh"} <= set(t.columns)
    assert (t["p_holm"].dropna() >= t["p_value"].dropna()).all()
    assert (t["comparison"] == "trend").any()


def test_compare_is_the_tables_engine():
    """python -m analysis compare shows the report's changes: same numbers, same Holm families."""
    frame, cb = read_export(EXPORT, CODEBOOK)
    t = compare_waves(frame, cb, by="district", progress=False)
    tables = wave_tables(frame, cb, breakdowns=["district"])
    ref = tables.changes[tables.changes["comparison"] != "first_last"].reset_index(drop=True)
    for col in ("difference", "se", "df", "ci_low", "p_value", "p_holm", "p_bh", "ci_low_holm"):
        np.testing.assert_allclose(t[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-12)
    assert set(t["comparison"]) == {"step", "trend"}


def test_compare_by_domain_and_small_counts():
    frame, cb = read_export(EXPORT, CODEBOOK)
    t = compare_waves(frame, cb, by="district", min_n=150, progress=False)
    assert set(t["domain"].dropna()) == {"east", "north", "south"}
    small = t[t["too_few"]]
    assert len(small) > 0 and small["p_value"].isna().all()
    assert small["verdict"].str.contains("too few").all()


def test_adjust_pvalues_matches_definitions():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    holm, bh = adjust_pvalues(p)
    np.testing.assert_allclose(holm[:3], [0.03, 0.06, 0.06])
    np.testing.assert_allclose(bh[:3], [0.03, 0.04, 0.04])
    assert np.isnan(holm[3])


# ---------------------------------------------------------------- command line
def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_estimate_json_matches_r(capsys):
    code, out, _ = run(capsys, "estimate", str(DATA / "apiclus1.csv"), "--weights", "pw", "--cluster", "dnum",
                       "--fpc", "fpc", "--mean", "api00", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert list(rows[0]) == ["variable", "estimate", "se", "ci_low", "ci_high", "interval", "df", "deff", "n"]
    assert rows[0]["interval"] == "t" and rows[0]["df"] == 14
    np.testing.assert_allclose([rows[0]["estimate"], rows[0]["se"]], ref("r01_mean_api00_dclus1"), rtol=RTOL)


def test_cli_estimate_rake_by_domain(capsys, tmp_path):
    t = tmp_path / "targets.csv"
    t.write_text("variable,category,population\nstype,E,4421\nstype,H,755\nstype,M,1018\nsch.wide,No,1072\nsch.wide,Yes,5122\n")
    code, out, _ = run(capsys, "estimate", str(DATA / "apiclus1.csv"), "--weights", "pw", "--cluster", "dnum",
                       "--fpc", "fpc", "--mean", "api00", "--by", "stype", "--rake", str(t), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    want = ref("dom_svyby_api00_stype_rake")
    np.testing.assert_allclose([r["estimate"] for r in rows] + [r["se"] for r in rows], want, rtol=RTOL)
    assert [r["domain"] for r in rows] == ["E", "H", "M"]


def test_cli_estimate_proportion_csv_keeps_strings(capsys, tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("w,code\n1,007\n1,007\n2,07\n")
    code, out, _ = run(capsys, "estimate", str(p), "--weights", "w", "--proportion", "code", "--format", "csv")
    assert code == 0
    frame = pd.read_csv(__import__("io").StringIO(out), dtype={"category": str})
    assert list(frame["category"]) == ["007", "07"]
    assert frame["estimate"].tolist() == pytest.approx([0.5, 0.5])
    assert (frame["ci_low"] >= 0).all() and (frame["ci_high"] <= 1).all()


def test_cli_poststratify_total(capsys, tmp_path):
    t = tmp_path / "ps.csv"
    t.write_text("variable,category,population\nstype,E,4421\nstype,H,755\nstype,M,1018\n")
    code, out, _ = run(capsys, "estimate", str(DATA / "apiclus1.csv"), "--weights", "pw", "--cluster", "dnum",
                       "--fpc", "fpc", "--total", "enroll", "--poststratify", str(t), "--format", "json")
    assert code == 0
    r = json.loads(out)[0]
    np.testing.assert_allclose([r["estimate"], r["se"]], ref("r10_total_enroll_ps"), rtol=RTOL)


def test_cli_errors_are_messages(capsys):
    code, _, err = run(capsys, "estimate", str(DATA / "apiclus1.csv"), "--weights", "nope", "--mean", "api00")
    assert code == 2 and "'nope'" in err


def test_cli_weight_writes_column(capsys, tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("variable,category,population\nstype,E,4421\nstype,H,755\nstype,M,1018\n")
    out = tmp_path / "out.csv"
    diag = tmp_path / "diag.json"
    code, _, _ = run(capsys, "weight", str(DATA / "apiclus1.csv"), "--weights", "pw", "--poststratify", str(t),
                     "-o", str(out), "--diagnostics", str(diag))
    assert code == 0
    df = pd.read_csv(out, dtype={"cds": str})
    np.testing.assert_allclose(df["weight"], ref("w_ps_dclus1"), rtol=RTOL)
    assert df["cds"].str.startswith("0").any()
    assert json.loads(diag.read_text())["max_abs_margin_error"] < 1e-6


def test_cli_compare_formats(capsys):
    for fmt in ("text", "json", "csv"):
        code, out, _ = run(capsys, "compare", str(EXPORT), "--codebook", str(CODEBOOK), "--rake-from-codebook",
                           "--format", fmt, "--quiet")
        assert code == 0 and out
    rows = json.loads(run(capsys, "compare", str(EXPORT), "--codebook", str(CODEBOOK), "--format", "json", "--quiet")[1])
    assert {"ci_low", "ci_high", "p_holm", "p_bh", "verdict"} <= set(rows[0])


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "estimate" in r.stdout


def test_read_targets_rejects_duplicates(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("variable,category,population\na,x,1\na,x,2\n")
    with pytest.raises(ValueError, match="twice"):
        read_targets(p)


def test_export_fixture_is_current(tmp_path):
    # The committed fixture is what the generator writes.
    import runpy
    before = (EXPORT.read_bytes(), CODEBOOK.read_bytes())
    runpy.run_path(str(Path(DATA) / "make_export.py"), run_name="__main__")
    assert (EXPORT.read_bytes(), CODEBOOK.read_bytes()) == before


def test_index_reliability_per_wave():
    from analysis.scales import index_reliability

    frame, cb = read_export(EXPORT, CODEBOOK)
    rel = index_reliability(frame, cb.indexes, by=["wave"])
    trust = rel[rel["index"] == "trust"]
    assert pd.isna(trust["wave"].iloc[0]) and list(trust["wave"].iloc[1:]) == ["2025-q1", "2025-q2", "2025-q3"]
    assert trust["alpha"].between(0.3, 1).all()
    assert "moral_alignment" not in set(rel["index"])  # one item: no alpha
    # same as alpha on the rescaled items by hand
    sub = frame[frame["wave"] == "2025-q2"][["pj_respect", "pj_listen"]]
    assert trust.iloc[2]["alpha"] == pytest.approx(cronbach_alpha(sub))


def test_missing_codes_of_weighting_variables_are_missing(tmp_path):
    """'Prefer not to say' (-9) in a weighting variable is missing, never a category to rake."""
    import json

    from analysis import read_export

    (tmp_path / "e.csv").write_text("response_id,wave,age_band\na,w1,1\nb,w1,-9\nc,w1,\n", encoding="utf-8")
    codebook = {
        "format": "community-trust-export/1",
        "instrument": {"key": "k", "version": 1},
        "waves": [{"slug": "w1", "order": 1}],
        "variables": [{"name": "age_band", "kind": "weighting", "type": "choice", "missing_codes": [-9]}],
        "indexes": [],
        "targets": [],
    }
    (tmp_path / "c.json").write_text(json.dumps(codebook), encoding="utf-8")
    frame, _ = read_export(tmp_path / "e.csv", tmp_path / "c.json")
    assert frame["age_band"].iloc[0] == "1"
    assert frame["age_band"].iloc[1:].isna().all()


# ---------------------------------------------------------------- the command line reads the codebook
def _small_export(tmp_path, with_codebook: bool):
    """Eight respondents; sex -9 and trust -9 are 'prefer not to say' in the codebook."""
    rows = ["id,w,sex,trust,job", "1,10,1,8,1", "2,10,2,6,2", "3,10,1,-9,-9", "4,10,2,4,1", "5,10,-9,7,2",
            "6,10,1,5,1", "7,10,2,-9,2", "8,10,1,9,1"]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    if with_codebook:
        cb = {"format": json.loads(CODEBOOK.read_text())["format"], "waves": [], "variables": [
            {"name": "sex", "kind": "weighting", "type": "choice", "missing_codes": [-9]},
            {"name": "trust", "kind": "item", "type": "scale", "missing_codes": [-9]},
            {"name": "job", "kind": "item", "type": "choice", "missing_codes": [-9]}]}
        (tmp_path / "codebook.json").write_text(json.dumps(cb))
    (tmp_path / "targets.csv").write_text("variable,category,population\nsex,1,60\nsex,2,40\n")
    return tmp_path / "data.csv"


def test_cli_estimate_treats_missing_codes_as_missing(tmp_path, capsys):
    data = _small_export(tmp_path, with_codebook=True)
    code, out, err = run(capsys, "estimate", str(data), "--weights", "w", "--mean", "trust")
    assert code == 0 and "using the codebook beside the data" in err
    row = json.loads(out)[0]
    assert row["n"] == 6 and row["estimate"] == pytest.approx((8 + 6 + 4 + 7 + 5 + 9) / 6)
    code, out, _ = run(capsys, "estimate", str(data), "--weights", "w", "--proportion", "job")
    assert [r["category"] for r in json.loads(out)] == ["1", "2"]
    assert sum(r["estimate"] for r in json.loads(out)) == pytest.approx(1.0)


def test_cli_refuses_negative_codes_without_a_codebook(tmp_path, capsys):
    data = _small_export(tmp_path, with_codebook=False)
    code, out, err = run(capsys, "estimate", str(data), "--weights", "w", "--mean", "trust")
    assert code == 2 and out == ""
    assert "column 'trust' has negative codes ['-9'] and no codebook was given" in err
    assert "--codebook" in err and "--negative-values-are-answers" in err
    code, out, _ = run(capsys, "estimate", str(data), "--weights", "w", "--mean", "trust", "--negative-values-are-answers")
    assert code == 0 and json.loads(out)[0]["n"] == 8
    code, out, err = run(capsys, "weight", str(data), "--rake", str(tmp_path / "targets.csv"))
    assert code == 2 and "column 'sex' has negative codes ['-9']" in err


def test_cli_weight_reads_the_codebook(tmp_path, capsys):
    data = _small_export(tmp_path, with_codebook=True)
    # With the codebook, -9 is a missing weighting value: the raking says how to deal with it.
    code, out, err = run(capsys, "weight", str(data), "--rake", str(tmp_path / "targets.csv"))
    assert code == 2 and "column 'sex' has 1 missing values" in err
    (tmp_path / "data.csv").write_text((tmp_path / "data.csv").read_text().replace("5,10,-9,7,2", "5,10,2,7,2"))
    code, out, err = run(capsys, "weight", str(data), "--rake", str(tmp_path / "targets.csv"), "--codebook",
                         str(tmp_path / "codebook.json"))
    assert code == 0
    weighted = pd.read_csv(io.StringIO(out))
    assert weighted.loc[weighted["sex"] == 1, "weight"].sum() == pytest.approx(60)
    assert (weighted["trust"] == -9).sum() == 2  # the output keeps the data as it was


def test_cli_compare_names_the_respondent_raking_cannot_reconcile(tmp_path, capsys):
    """Issue 17: one respondent alone in an age band whose target is larger than his sex's: the
    message names the wave, the category, the weights and what to do; --max-iter exists."""
    data = pd.read_csv(EXPORT, dtype=str, keep_default_na=False)
    in_q2 = data["wave"] == "2025-q2"
    lone = data.index[in_q2 & (data["age_band"] == "55+")][0]
    data.loc[in_q2 & (data["age_band"] == "55+") & (data.index != lone), "age_band"] = "35-54"
    sex = data.loc[lone, "sex"]
    data.to_csv(tmp_path / "export.csv", index=False)
    cb = json.loads(CODEBOOK.read_text())
    for t in cb["targets"]:
        if t["variable"] == "age_band":
            t["population"] = {"18-34": 7000, "35-54": 8000, "55+": 25000}[t["category"]]
    (tmp_path / "codebook.json").write_text(json.dumps(cb))
    code, out, err = run(capsys, "compare", str(tmp_path / "export.csv"), "--codebook", str(tmp_path / "codebook.json"),
                         "--quiet", "--max-iter", "300")
    assert code == 2
    target = {"female": "20,500", "male": "19,500"}[sex]
    assert ("error: wave '2025-q2': raking cannot meet the margins: 'age_band' category '55+' has a target of 25,000, "
            "which its only respondent must carry (weight now") in err
    assert f"that respondent is in 'sex' '{sex}', whose target is only {target}; collapse that category" in err
    code, out, err = run(capsys, "compare", str(EXPORT), "--codebook", str(CODEBOOK), "--quiet", "--max-iter", "300")
    assert code == 0
