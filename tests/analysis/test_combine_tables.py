"""Tables put together from one wave at a time equal the tables of all waves at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic import synthetic_export
from analysis.tables import combine_wave_tables, wave_tables


@pytest.fixture(scope="module")
def export():
    return synthetic_export(4, 400, 3, seed=7)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = frame.assign(by=frame["by"].fillna(""), domain=frame["domain"].fillna(""), category=frame["category"].fillna(""))
    return out.sort_values(keys).reset_index(drop=True)


def test_combined_parts_equal_the_whole(export):
    frame, codebook = export
    whole = wave_tables(frame, codebook, breakdowns=["district"], min_n=30)
    parts = [wave_tables(frame[frame["wave"] == w], codebook, waves=[w], breakdowns=["district"])
             for w in reversed(codebook.wave_order)]
    combined = combine_wave_tables(parts, codebook, min_n=30)
    assert combined.waves == whole.waves
    assert combined.domains == whole.domains
    pd.testing.assert_frame_equal(combined.measures, whole.measures)
    pd.testing.assert_frame_equal(combined.estimates, whole.estimates)
    keys = ["comparison", "wave_from", "wave_to", "by", "domain", "measure", "category"]
    a, b = _sorted(combined.changes, keys), _sorted(whole.changes, keys)
    assert len(a) == len(b) > 0
    for col in ("difference", "se", "ci_low", "ci_high", "p_value", "p_holm", "p_bh"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-12, equal_nan=True)
    assert (a["too_few"] == b["too_few"]).all() and (a["detectable"] == b["detectable"]).all()
    pd.testing.assert_frame_equal(combined.weights, whole.weights)


def test_a_subset_of_breakdowns_and_an_excluded_item(export):
    frame, codebook = export
    parts = [wave_tables(frame[frame["wave"] == w], codebook, waves=[w], breakdowns=["district", "sex"])
             for w in codebook.wave_order]
    measure = parts[0].measures["measure"].iloc[-1]
    combined = combine_wave_tables(parts, codebook, breakdowns=["district"], exclude={measure: "reworded"})
    whole = wave_tables(frame, codebook, breakdowns=["district"], exclude={measure: "reworded"})
    assert combined.breakdowns == ["district"] and set(combined.estimates["by"].dropna()) == {"district"}
    assert list(combined.not_compared["measure"]) == [measure]
    pd.testing.assert_frame_equal(combined.estimates, whole.estimates)


def test_a_part_with_two_waves_is_refused(export):
    frame, codebook = export
    two = wave_tables(frame, codebook, waves=codebook.wave_order[:2], breakdowns=["district"])
    with pytest.raises(ValueError, match="one wave"):
        combine_wave_tables([two], codebook)


def test_an_item_nobody_answered_in_one_wave_combines_as_in_the_whole(export):
    """The first wave has no answers to one item: it stays in the other waves, in its place, and
    only the changes involving the first wave are not comparable - as wave_tables says."""
    frame, codebook = export
    frame = frame.copy()
    first = codebook.wave_order[0]
    frame.loc[frame["wave"] == first, "trust_agency"] = np.nan
    whole = wave_tables(frame, codebook, breakdowns=["district"])
    parts = [wave_tables(frame[frame["wave"] == w], codebook, waves=[w], breakdowns=["district"])
             for w in codebook.wave_order]
    combined = combine_wave_tables(parts, codebook)
    pd.testing.assert_frame_equal(combined.measures, whole.measures)
    pd.testing.assert_frame_equal(combined.estimates, whole.estimates)
    pd.testing.assert_frame_equal(combined.not_compared, whole.not_compared)
    keys = ["comparison", "wave_from", "wave_to", "by", "domain", "measure", "category"]
    a, b = _sorted(combined.changes, keys), _sorted(whole.changes, keys)
    assert (a["comparable"] == b["comparable"]).all() and (a["note"] == b["note"]).all()
    assert not a.loc[(a["measure"] == "trust_agency") & (a["wave_from"] == first) & (a["comparison"] != "trend"),
                     "comparable"].any()
