#!/usr/bin/env bash
# Install a Java runtime for the Spark tests (tests/test_warehouse_spark.py): pyspark needs Java 17+.
# Idempotent: returns at once when `java` is already on PATH. Uses Debian's packages only.
set -euo pipefail

if command -v java >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "java is missing and this user cannot install packages." >&2
        echo "Install a Java 17+ runtime, e.g. as root: apt-get install -y openjdk-17-jre-headless" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; }; then
    echo "could not install Java. Install a Java 17+ runtime by hand, e.g.:" >&2
    echo "  apt-get install -y openjdk-17-jre-headless   (Debian/Ubuntu)" >&2
    echo "and make sure 'java -version' works, then run make test again." >&2
    exit 1
fi
java -version
