"""Recipient files are read with every column as str."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from smskit.campaign.recipients import NUMERIC_CELLS, SOURCE, read_recipients
from smskit.errors import DataValidationError


def test_sample_csv_is_all_str_with_leading_zeros(data_dir: Path) -> None:
    rec = read_recipients(data_dir / "recipients.csv")
    assert list(rec.columns) == ["phone", "name", "code", "city", "tier"]
    assert all(str(t) == "str" for t in rec.dtypes)
    assert "002569" in set(rec["code"])
    assert rec["code"].str.fullmatch(r"\d{6}").all()
    assert (rec["phone"] == "").sum() == 1  # empty cells are "", never NA
    assert not rec.isna().any().any()


def test_csv_keeps_numbers_as_text(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("\ufeffphone ,code,amount\n4915112345678.0,002569,\n+441234,0,1.50\n", encoding="utf-8")
    rec = read_recipients(path)
    assert list(rec.columns) == ["phone", "code", "amount"]
    assert list(rec["phone"]) == ["4915112345678.0", "+441234"]
    assert list(rec["code"]) == ["002569", "0"]
    assert list(rec["amount"]) == ["", "1.50"]


def test_tsv_and_buffers(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text("phone\tcode\n+4915112345678\t007\n", encoding="utf-8")
    assert read_recipients(path)["code"].iloc[0] == "007"
    text = io.StringIO("phone;code\n+4915112345678;007\n")
    assert read_recipients(text)["code"].iloc[0] == "007"
    raw = io.BytesIO("phone,name\n+4915112345678,Zoë\n".encode())
    assert read_recipients(raw)["name"].iloc[0] == "Zoë"


def test_xlsx_with_sheets(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame({"phone": ["+4915112345678", "+6591234567"], "code": ["002569", "000001"]}).to_excel(
            xw, sheet_name="text", index=False
        )
        pd.DataFrame({"phone": [4915112345678, None], "code": [2569, 1.5]}).to_excel(
            xw, sheet_name="numbers", index=False
        )
    first = read_recipients(path)
    assert list(first["code"]) == ["002569", "000001"]
    nums = read_recipients(path, sheet="numbers")
    assert all(str(t) == "str" for t in nums.dtypes)
    assert list(nums["phone"]) == ["4915112345678", ""]
    assert list(nums["code"]) == ["2569", "1.5"]
    assert list(read_recipients(io.BytesIO(path.read_bytes()), sheet=1)["phone"]) == list(nums["phone"])
    with pytest.raises(DataValidationError, match="no sheet"):
        read_recipients(path, sheet="missing")


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("r.xls", b"x", "unknown extension"),
        ("r.json", b"{}", "unknown extension"),
        ("r.xlsx", b"not a zip", "cannot read recipients as XLSX"),
        ("r.csv", b"\xff\xfe\x00bad", "cannot read recipients as CSV"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=fragment):
        read_recipients(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="does not exist"):
        read_recipients(tmp_path / "nope.csv")


def test_numeric_xlsx_cells_are_recorded_and_survive_filtering(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    pd.DataFrame(
        {"phone": ["+4915112345678", 4915112345679, 4915112345670.0], "code": ["002569", 2569, "x"]}, dtype=object
    ).to_excel(path, index=False, engine="openpyxl")
    rec = read_recipients(path)
    assert list(rec["phone"]) == ["+4915112345678", "4915112345679", "4915112345670"]
    cells = rec.attrs[NUMERIC_CELLS]
    assert cells["phone"] == {"4915112345679", "4915112345670"}
    assert cells["code"] == {"2569"}
    assert rec.attrs[SOURCE] == "r.xlsx"
    kept = rec[rec["code"] != "x"].reset_index(drop=True)
    assert kept.attrs[NUMERIC_CELLS] is cells  # shared, not copied, by every derived frame


def test_csv_has_no_numeric_cells_but_a_source(tmp_path: Path) -> None:
    path = tmp_path / "spring.csv"
    path.write_text("phone\n4915112345678\n", encoding="utf-8")
    rec = read_recipients(path)
    assert dict(rec.attrs[NUMERIC_CELLS]) == {}
    assert rec.attrs[SOURCE] == "spring.csv"
    assert SOURCE not in read_recipients(io.StringIO("phone\n+4915112345678\n")).attrs
