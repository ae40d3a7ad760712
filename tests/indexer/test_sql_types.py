"""Uint256 and HexBytes keep on-chain values exact on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from common.errors import ValidationError
from common.sql.engine import create_engine_from_url
from common.sql.types import HexBytes, Uint256

VALUES = [0, 1, 2**53 + 1, 10**30, 2**255, 2**256 - 1]


def test_uint256_roundtrips_exactly_and_sorts_numerically(make_db, backend):
    engine = create_engine_from_url(make_db(backend))
    meta = MetaData()
    table = Table(
        "numbers",
        meta,
        Column("id", Integer, primary_key=True),
        Column("value", Uint256),
        Column("blob", HexBytes),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(table),
            [{"id": i, "value": v, "blob": hex(v)[2:].zfill(64)} for i, v in enumerate(reversed(VALUES))],
        )
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.value, table.c.blob).order_by(table.c.value)).all()
    assert [r.value for r in rows] == VALUES
    assert all(type(r.value) is int for r in rows)
    assert rows[-1].blob == "0x" + "f" * 64
    engine.dispose()


@pytest.mark.parametrize("bad", [-1, 2**256, 1.5, True])
def test_uint256_refuses_values_outside_the_range(make_db, bad):
    engine = create_engine_from_url(make_db("sqlite"))
    meta = MetaData()
    table = Table("numbers", meta, Column("id", Integer, primary_key=True), Column("value", Uint256))
    meta.create_all(engine)
    with pytest.raises(Exception) as info, engine.begin() as conn:
        conn.execute(insert(table).values(id=1, value=bad))
    assert (
        isinstance(info.value, ValidationError)
        or isinstance(info.value.__cause__, ValidationError)
        or "uint256" in str(info.value)
    )
    engine.dispose()
