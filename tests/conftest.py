"""Shared fixtures: the emulator and a client wired to it come from smskit.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["smskit.testing"]

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test: 2 cores, small shuffles, no UI."""
    import shutil

    if shutil.which("java") is None:
        pytest.fail(
            "the Spark tests need Java 17+ and `java` is not on PATH: run `make java-deps` "
            "(or `apt-get install -y openjdk-17-jre-headless`), then run the tests again",
            pytrace=False,
        )
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("smskit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        # short-lived test JVM: the C1 compiler alone warms up far sooner; adaptive planning only pays on big data
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
