"""Campaign benchmarks; each part prints its own baseline, measured in the same run, and the ratio.

Planning: ``plan_campaign`` over 1,000,000 synthesized rows (unique-ish numbers from data/recipients.csv,
distinct params per row) against a per-row ``phonenumbers`` parse/validate/format loop over a 20,000-row
sample; the verdicts (E.164 or unusable) of the two must agree on that sample.

Sending: ``send_campaign`` of 1,000,000 recipients (one template, shared params: 2,000 calls of 500)
to the emulator running in its own process, unpaced, against the guide's style (one signed request
per recipient on a new connection) over a 2,000-recipient sample; ratio per recipient, and the peak
memory of the sending process.

Run: ``.venv/bin/python bench/campaign.py [--rows N] [--sample N] [--send N] [--send-baseline N]
[--only plan|send] [--trace-memory]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smskit.campaign.plan import plan_campaign  # noqa: E402
from smskit.campaign.recipients import read_recipients  # noqa: E402
from smskit.templates import load_templates  # noqa: E402

DATA = ROOT / "data"


def synthesize(n: int, *, seed: int = 7) -> pd.DataFrame:
    """``n`` rows drawn from the sample recipients; E.164 numbers get fresh last 4 digits, codes vary."""
    base = read_recipients(DATA / "recipients.csv")
    rng = np.random.default_rng(seed)
    rows = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    phone = rows["phone"]
    e164 = phone.str.fullmatch(r"\+\d{8,15}").to_numpy(dtype=bool)
    tail = pd.Series(rng.integers(0, 10_000, n).astype(str), dtype="str").str.zfill(4)
    rows["phone"] = phone.where(~e164, phone.str.slice(0, -4) + tail)
    rows["code"] = pd.Series(rng.integers(0, 1_000_000, n).astype(str), dtype="str").str.zfill(6)
    return rows


def per_row_numbers(phones: list[str], region: str | None) -> list[str | None]:
    """Baseline: the straightforward loop an analyst would write."""
    out: list[str | None] = []
    for raw in phones:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        ok = phonenumbers.is_valid_number(number)
        out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if ok else None)
    return out


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_plan(rows: int = 1_000_000, sample: int = 20_000, *, trace: bool = False) -> dict[str, float]:
    """Time plan_campaign on ``rows`` rows vs the per-row phonenumbers loop on ``sample`` rows.

    With ``trace`` the planning call runs under tracemalloc (its peak is printed; its time is then slower).
    """
    catalog = load_templates(DATA / "templates.csv")
    template = next(t for t in catalog.values() if t.variables == ("NUM_6", "TXT_20"))
    kwargs = {
        "template_id": template.template_id,
        "params": ["code", "name"],
        "templates": catalog,
        "default_region": "GB",
        "opt_out": DATA / "opt_out.csv",
        "skip_invalid": True,
    }

    small = synthesize(sample, seed=1)
    phones = small["phone"].tolist()

    def timed_baseline() -> tuple[float, list[str | None]]:
        t0 = time.perf_counter()
        result = per_row_numbers(phones, "GB")
        return time.perf_counter() - t0, result

    base_s, baseline = timed_baseline()  # best of the runs before and after planning (shared machine)
    small_plan = plan_campaign(small, **kwargs)
    got = [None if pd.isna(v) else v for v in small_plan.recipients["to"]]
    agree = sum(a == b for a, b in zip(baseline, got, strict=True))
    assert agree == len(baseline), f"verdicts differ on {len(baseline) - agree} of {len(baseline)} sample rows"

    frame = synthesize(rows)
    rss_before = _peak_rss_mib()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    plan = plan_campaign(frame, **kwargs)
    plan_s = time.perf_counter() - t0
    traced = ""
    if trace:
        retained, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        traced = f"  (under tracemalloc: peak {peak / 2**20:.0f} MiB, retained {retained / 2**20:.0f} MiB)"
    t0 = time.perf_counter()
    n_requests = len(plan.requests)
    views_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fingerprint = plan.fingerprint
    fp_s = time.perf_counter() - t0
    base_s = min(base_s, timed_baseline()[0])

    base_us = base_s / sample * 1e6
    plan_us = plan_s / rows * 1e6
    s = plan.summary
    print(f"plan_campaign: {rows:,} rows in {plan_s:.2f} s ({plan_us:.2f} µs/row){traced}")
    print(f"  + items/requests views {views_s:.2f} s ({n_requests:,} calls), fingerprint {fp_s:.2f} s")
    counts = ", ".join(f"{k} {s[k]:,}" for k in ("ready", "invalid", "suppressed", "segments"))
    print(f"  {counts}")
    print(f"baseline per-row phonenumbers loop: {sample:,} rows in {base_s:.2f} s ({base_us:.2f} µs/row)")
    print(f"verdicts identical on {agree:,} sample rows")
    print(f"ratio (baseline µs/row ÷ plan µs/row): {base_us / plan_us:.1f}x  (target ≥ 3x, ≤ 10 s for 1M)")
    print(f"peak RSS: {_peak_rss_mib():.0f} MiB (before planning {rss_before:.0f} MiB)  fingerprint {fingerprint[:12]}")
    return {"plan_s": plan_s, "baseline_us": base_us, "plan_us": plan_us, "ratio": base_us / plan_us}


class EmulatorProcess:
    """``smskit emulator`` in a child process (its own core), read from its printed exports."""

    def __init__(self) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smskit", "emulator", "--seed", "1", "--delivery-rate", "1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        env = {}
        while len(env) < 3:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before printing its settings")
            key, _, value = line.strip().partition("=")
            if key.startswith("SMSKIT_"):
                env[key] = value
        self.base_url, self.app_key, self.app_secret = (
            env["SMSKIT_BASE_URL"],
            env["SMSKIT_APP_KEY"],
            env["SMSKIT_APP_SECRET"],
        )

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def bench_send(n: int = 1_000_000, baseline_n: int = 2_000) -> dict[str, float]:
    """send_campaign of ``n`` recipients unpaced vs the seed-style loop on ``baseline_n``."""
    import warnings

    from smskit.campaign.send import send_campaign
    from smskit.client import Client

    frame = pd.DataFrame({"phone": [f"+659{i:07d}" for i in range(n)]})
    frame["code"] = "123456"
    emu = EmulatorProcess()
    try:
        client = Client(emu.base_url, emu.app_key, emu.app_secret, sender="isms1")
        rss_before = _peak_rss_mib()
        t0 = time.perf_counter()
        plan = plan_campaign(frame, template_id="bfccfa780ff5e8f11245b2dfbc82efae", params=["code"])
        plan_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            results = send_campaign(plan, client=client, rate=None, concurrency=4, progress=False)
        send_s = time.perf_counter() - t0
        assert (results["state"] == "accepted").all()
        t0 = time.perf_counter()
        from send import seed_style_send  # bench/send.py, beside this script

        seed_style_send(
            emu.base_url, emu.app_key, emu.app_secret, "isms1", [f"+6581{i:06d}" for i in range(baseline_n)]
        )
        base_s = time.perf_counter() - t0
    finally:
        emu.close()
    ours_us = (plan_s + send_s) / n * 1e6
    base_us = base_s / baseline_n * 1e6
    print(
        f"send_campaign: {n:,} recipients, {len(plan.requests):,} calls: plan {plan_s:.2f} s + send {send_s:.2f} s "
        f"= {plan_s + send_s:.2f} s ({n / (plan_s + send_s):,.0f} recipients/s; target ≤ 60 s)"
    )
    print(f"baseline seed style: {baseline_n:,} recipients in {base_s:.2f} s ({base_us:.0f} µs/recipient)")
    print(f"ratio per recipient: {base_us / ours_us:,.0f}x (target ≥ 100x)")
    print(f"peak RSS of the sending process: {_peak_rss_mib():.0f} MiB (before {rss_before:.0f} MiB; target ≤ 1.5 GB)")
    return {"send_s": send_s, "ratio": base_us / ours_us}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--send", type=int, default=1_000_000)
    parser.add_argument("--send-baseline", type=int, default=2_000)
    parser.add_argument("--only", choices=("plan", "send"))
    parser.add_argument("--trace-memory", action="store_true", help="run the planning call under tracemalloc")
    args = parser.parse_args(argv)
    if args.only != "send":
        print("== planning ==")
        bench_plan(args.rows, args.sample, trace=args.trace_memory)
    if args.only != "plan":
        print("== sending ==")
        bench_send(args.send, args.send_baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
