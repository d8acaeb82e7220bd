"""Statuses: one enum each, stored as their values, shown by the API as enums (sending → sent, explicitly)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from backend.app.main import create_app
from backend.db.base import Base
from backend.db.models import ExperimentRow
from backend.db.statuses import PublicSettlementStatus, RoundStatus, SettlementStatus
from workers.statuses import ExperimentStatus


def test_every_stored_settlement_status_has_its_public_name_and_only_sending_is_renamed() -> None:
    shown = {s: PublicSettlementStatus.of(s) for s in SettlementStatus}
    assert shown.pop(SettlementStatus.SENDING) is PublicSettlementStatus.SENT
    assert all(public.value == stored.value for stored, public in shown.items())
    assert set(PublicSettlementStatus) == set(shown.values()) | {PublicSettlementStatus.SENT}


def test_a_status_is_stored_as_its_plain_value_and_read_back_as_the_enum(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'statuses.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(
            ExperimentRow(
                name="e",
                dataset_id="d",
                rounds=1,
                config={},
                model_spec={},
                initial_model_hash="0x",
                reward_flt="10",
                slash_flt="15",
            )
        )
        session.commit()
        assert session.execute(text("SELECT status FROM experiments")).scalar_one() == "created"
        row = session.scalars(select(ExperimentRow)).one()
        assert row.status is ExperimentStatus.CREATED
    engine.dispose()


def test_the_api_schema_lists_each_status_as_an_enum() -> None:
    schemas = create_app().openapi()["components"]["schemas"]
    assert schemas["ExperimentStatus"]["enum"] == [s.value for s in ExperimentStatus]
    assert schemas["RoundStatus"]["enum"] == [s.value for s in RoundStatus]
    assert schemas["PublicSettlementStatus"]["enum"] == [s.value for s in PublicSettlementStatus]
