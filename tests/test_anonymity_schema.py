"""The shape of the tables keeps the anonymity promise: a response cannot be joined to a code."""

from __future__ import annotations

from sqlalchemy import DateTime, inspect

from survey.models import Answer, Response, random_id


def test_response_has_no_column_or_key_leading_to_an_invitation(app):
    mapper = inspect(Response)
    columns = {c.key for c in mapper.columns}
    # "area" (a neighborhood or beat) is an attribute like the stratum; the invitation's copy is
    # cleared when the code is used (tests/respond/test_areas.py).
    assert columns == {"id", "wave_id", "stratum", "area", "language", "channel", "selection_probability", "sample", "submitted_on"}
    assert not any(fk.column.table.name == "invitation" for c in Response.__table__.columns for fk in c.foreign_keys)
    assert not any(fk.column.table.name == "invitation" for c in Answer.__table__.columns for fk in c.foreign_keys)


def test_responses_keep_dates_not_times(app):
    for table in (Response.__table__, Answer.__table__):
        assert not [c.name for c in table.columns if isinstance(c.type, DateTime)], table.name


def test_response_ids_are_random_not_sequential():
    ids = [random_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ids != sorted(ids)
    assert all(len(i) >= 22 for i in ids)
