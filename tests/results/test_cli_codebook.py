"""python -m analysis estimate on the platform's own export reads its codebook (issue 17): "prefer not
to say" (-9) is missing, not an answer of -9."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from analysis.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_estimate_on_the_demo_export_leaves_out_prefer_not_to_say(demo_app, past_waves, tmp_path, capsys):
    from sqlalchemy import select

    from survey import export
    from survey.db import db
    from survey.models import Wave

    slug = past_waves[0]
    with demo_app.test_request_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == slug)).one()
        export.write(export.build([wave]), tmp_path / "exp")
    csv = tmp_path / "exp" / "responses.csv"
    args = ["estimate", str(csv), "--weights", "base_weight", "--strata", "stratum", "--mean", "trust_agency"]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "using the codebook beside the data" in err
    right = json.loads(out)[0]
    # Without the codebook beside it, the command refuses instead of counting -9.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(csv, alone / "responses.csv")
    bare = [args[0], str(alone / "responses.csv"), *args[2:]]
    code, out, err = run(capsys, *bare)
    assert code == 2 and out == ""
    assert "'trust_agency' has negative codes ['-9']" in err and "--codebook" in err
    # Counted as answers, the -9s pull the mean down: the 5.414 of issue 17 against 5.712.
    code, out, _ = run(capsys, *bare, "--negative-values-are-answers")
    wrong = json.loads(out)[0]
    assert wrong["n"] > right["n"]
    assert round(right["estimate"], 3) == 5.712 and round(wrong["estimate"], 3) == 5.414
    code, out, _ = run(capsys, *bare, "--codebook", str(tmp_path / "exp" / "codebook.json"))
    assert code == 0 and json.loads(out)[0]["estimate"] == pytest.approx(right["estimate"], rel=1e-12)
    assert np.isfinite(right["se"]) and right["interval"] == "t"
