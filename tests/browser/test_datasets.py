"""Bring your own data in the dashboard, against the real stack: a table with text columns and empty cells
is previewed (nothing stored), its label column changed and a column excluded, uploaded, and an experiment
created on it in the Experiments view, which the node fleet then trains."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.stack import Stack
from tests.support.server import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.chain]

ISLANDS = ("Biscoe", "Dream", '"Torgersen, north"')  # quoted: it holds a comma


def clinic_csv(path: Path) -> Path:
    rows = [
        f"{i},{'' if i % 7 == 0 else 20 + i % 50},{ISLANDS[i % 3]},{'' if i % 5 == 0 else ['yes', 'no'][i % 2]},"
        f"note {i},{'sick' if i % 3 == 0 else 'well'}"
        for i in range(1, 121)
    ]
    path.write_text("id,age,island,smoker,comment,diagnosis\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.timeout(400)
def test_a_table_is_previewed_adjusted_uploaded_and_trained(
    stack: Stack, new_page: Callable[..., Page], tmp_path: Path, screenshot_dir: Path
) -> None:
    page = new_page()
    page.goto(f"{stack.url}/#/experiments")
    card = page.get_by_test_id("bring-your-data")
    card.get_by_label("Dataset file").set_input_files(str(clinic_csv(tmp_path / "clinic.csv")))

    preview = card.get_by_test_id("dataset-preview")
    column = lambda name: preview.locator(f'[data-column="{name}"]')  # noqa: E731
    expect(column("diagnosis")).to_have_attribute("data-kind", "label")  # guessed by its name
    expect(column("age")).to_have_attribute("data-kind", "numeric")
    expect(column("age").get_by_test_id("missing")).to_have_text("17")
    expect(column("island")).to_have_attribute("data-kind", "categorical")
    expect(column("island")).to_contain_text("Torgersen, north")
    expect(column("smoker")).to_have_attribute("data-kind", "boolean")
    expect(column("smoker").get_by_test_id("missing")).to_have_text("24")
    expect(column("id")).to_have_attribute("data-kind", "dropped")
    expect(column("comment")).to_contain_text("identifier: a distinct value on every row")
    expect(preview.locator('[data-class="sick"]')).to_contain_text("40 (33%)")
    expect(preview.get_by_role("table", name="First rows")).to_contain_text("Torgersen, north")
    expect(card.get_by_test_id("preview-summary")).to_contain_text("120 samples")
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        assert not [d for d in http.get("/api/datasets").json() if d["source"] == "upload"], (
            "stored by a preview"
        )

    # Another label column, then back; and one column left out.
    card.get_by_label("Label column").select_option("island")
    expect(column("island")).to_have_attribute("data-kind", "label")
    expect(preview.locator('[data-class="Dream"]')).to_be_visible()
    expect(column("diagnosis")).to_have_attribute("data-kind", "categorical")
    card.get_by_label("Label column").select_option("diagnosis")
    expect(column("diagnosis")).to_have_attribute("data-kind", "label")
    card.get_by_label("Use column smoker").uncheck()
    expect(column("smoker")).to_have_attribute("data-kind", "dropped")
    expect(column("smoker")).to_contain_text("excluded by the user")
    expect(card.get_by_test_id("preview-summary")).to_contain_text(
        "5 features"
    )  # age + island one-hot + unknown
    card.screenshot(path=str(screenshot_dir / "datasets-preview.png"))
    assert not axe_violations(page)

    card.get_by_role("button", name="Upload dataset").click()
    expect(card.get_by_test_id("dataset-uploaded")).to_contain_text("120 samples, 5 features")
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        (uploaded,) = [d for d in http.get("/api/datasets").json() if d["source"] == "upload"]
    assert uploaded["label_column"] == "diagnosis"
    assert {d["name"]: d["reason"] for d in uploaded["table_schema"]["dropped"]}[
        "smoker"
    ] == "excluded by the user"

    # The Experiments view creates an experiment on it; the node fleet trains it to the end.
    card.get_by_label("Rounds").fill("3")
    card.get_by_role("button", name="Create experiment on it").click()
    status = card.get_by_test_id("byod-experiment")
    expect(status).to_contain_text("started")
    experiment_id = int(re.search(r"#(\d+)", status.inner_text()).group(1))  # type: ignore[union-attr]
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        wait_for(
            lambda: http.get(f"/api/experiments/{experiment_id}").json()["status"] == "completed",
            240,
            "the experiment on the uploaded table to complete",
        )
        final = http.get(f"/api/experiments/{experiment_id}").json()
    assert final["dataset_id"] == uploaded["id"] and final["accuracy"] is not None
    card.get_by_role("link", name="Watch it on the Overview").click()
    expect(page.get_by_role("figure", name="Global accuracy per round")).to_have_attribute("data-points", "3")
