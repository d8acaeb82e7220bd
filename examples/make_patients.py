"""Writes examples/patients.csv and examples/patients_clinic_b.csv: synthetic patient tables, deterministic.

The label `diagnosis` (healthy / diabetic) follows a noisy risk score of age, BMI, glucose, smoking and
region, so a model can learn it well above the majority class. The tables hold what real ones do: text
categories, yes/no flags, empty cells, quoted commas, an identifier and a constant column (both dropped).
Clinic B's file has the same schema plus a column the experiment does not know and a region it never saw,
to show what a node's own file gets: the extra column ignored with a warning, the new region in the
unknown bucket.

    python examples/make_patients.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
REGIONS = ("north", "south", "east", "west")
REFERRALS = ("GP, routine", "GP, urgent", "emergency", "self")
BLOOD = ("A", "B", "AB", "O")


def patients(
    rows: int, seed: int, *, regions: tuple[str, ...] = REGIONS, extra: bool = False
) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    age = rng.normal(52, 14, rows).clip(18, 90)
    bmi = rng.normal(27, 5, rows).clip(15, 50)
    glucose = rng.normal(105, 20, rows) + 0.6 * (bmi - 27)
    smoker = rng.random(rows) < 0.3
    region = rng.choice(regions, rows)
    sex = rng.choice(("F", "M"), rows)
    referral = rng.choice(REFERRALS, rows)
    blood = rng.choice(BLOOD, rows)
    region_risk = {"north": 0.6, "south": -0.4, "east": 0.0, "west": -0.2, "islands": 0.3}
    score = (
        0.045 * (age - 52) + 0.14 * (bmi - 27) + 0.06 * (glucose - 105) + 0.9 * smoker
        + np.array([region_risk[r] for r in region]) + (referral == "GP, urgent") * 0.7
        - 1.1 + rng.normal(0, 0.6, rows)
    )  # fmt: skip
    diagnosis = np.where(score > 0, "diabetic", "healthy")

    def maybe(value: str, p: float) -> str:
        return "" if rng.random() < p else value

    out = []
    for i in range(rows):
        row = {
            "patient_id": f"P{seed}{i:04d}",
            "age": maybe(f"{age[i]:.0f}", 0.05),
            "sex": sex[i],
            "bmi": maybe(f"{bmi[i]:.1f}", 0.08),
            "glucose": maybe(f"{glucose[i]:.0f}", 0.04),
            "smoker": maybe("yes" if smoker[i] else "no", 0.06),
            "region": maybe(str(region[i]), 0.05),
            "blood_type": maybe(str(blood[i]), 0.1),
            "referral": str(referral[i]),
            "hospital": "St. Example",
            "diagnosis": str(diagnosis[i]),
        }
        if extra:
            row["ward"] = str(rng.choice(("A1", "B2", "C3")))
        out.append(row)
    return out


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    write(HERE / "patients.csv", patients(400, seed=1))
    write(HERE / "patients_clinic_b.csv", patients(150, seed=2, regions=(*REGIONS, "islands"), extra=True))
    print(f"wrote {HERE / 'patients.csv'} and {HERE / 'patients_clinic_b.csv'}")
