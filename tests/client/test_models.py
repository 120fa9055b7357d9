"""SendResult explains a partial failure by its numbers' codes, and says "the others were accepted" only
when some were (issue 12: one refused number is not "the others")."""

from __future__ import annotations

import pytest

from smskit.codes import lookup
from smskit.errors import ApiError

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"


def test_one_refused_number_names_its_code_and_nothing_was_accepted(emulator_client) -> None:
    result = emulator_client.send(["+6581441067"], VERIFY, ["12ab"])
    with pytest.raises(ApiError) as caught:
        result.raise_for_status()
    error = caught.value
    assert error.code == "E000510"
    assert "1 of 1 numbers failed (+6581441067: E200028)" in error.message
    assert f"E200028: {lookup('E200028', kind='status').meaning}" in error.message
    assert error.advice.startswith("no number was accepted; ")
    assert "the others" not in str(error)
    assert "the others" not in result._repr_html_()


def test_a_partial_failure_counts_the_accepted_ones(emulator_client) -> None:
    from smskit.client import SmsItem

    result = emulator_client.send_batch(
        [SmsItem("+6581441067", VERIFY, ["12ab"]), SmsItem("+6581441068", VERIFY, ["1234"])]
    )
    with pytest.raises(ApiError) as caught:
        result.raise_for_status()
    assert caught.value.advice.startswith("the 1 accepted must not be sent again; ")
