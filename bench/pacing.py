"""Benchmark: paced sending holds the asked rate — within 5 %, never above.

Sends ≥ 20,000 numbers through send_campaign at 2,000 numbers/s to the emulator and measures the
achieved rate from the campaign's start to its last answer. Baseline in the same run: the same
campaign unpaced, showing what the pacer is holding back.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import smskit

TEMPLATE = "bfccfa780ff5e8f11245b2dfbc82efae"


def campaign(n: int, offset: int) -> pd.DataFrame:
    return pd.DataFrame({"phone": [f"+6591{offset + i:06d}" for i in range(n)], "code": ["123456"] * n})


def timed(emu: smskit.Emulator, frame: pd.DataFrame, rate: float | None) -> float:
    plan = smskit.plan_campaign(frame, template_id=TEMPLATE, params=["code"])
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = smskit.send_campaign(plan, client=emu.client(), rate=rate, concurrency=4, progress=False)
    elapsed = time.perf_counter() - started
    assert (results["state"] == "accepted").all()
    return len(frame) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=2_000)
    args = parser.parse_args()
    with smskit.Emulator(seed=2) as emu:
        unpaced = timed(emu, campaign(args.numbers, 0), None)
        paced = timed(emu, campaign(args.numbers, 500_000), args.rate)
    error = (paced - args.rate) / args.rate
    print(f"unpaced (baseline): {unpaced:,.0f} numbers/s over {args.numbers:,} numbers")
    print(
        f"paced at {args.rate:,.0f}/s: {paced:,.1f} numbers/s ({error:+.2%} vs target; "
        f"{paced / unpaced:.3f} of unpaced)"
    )
    print("within 5% and never above: " + ("yes" if -0.05 <= error <= 0 else "NO"))


if __name__ == "__main__":
    main()
