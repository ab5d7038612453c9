"""Run the benchmarks: ``python -m bench.run [name …]``. Each prints one JSON line per figure."""

from __future__ import annotations

import argparse
import importlib
import logging

from backend.core import runtime

BENCHMARKS = {"directory_lookup": "bench.directory_lookup", "ami_parse": "bench.ami_parse",
              "cti_pipeline": "bench.cti_pipeline", "ivr_agi": "bench.ivr_agi",
              "tickets_scale": "bench.tickets_scale", "hub_ws": "bench.hub_ws",
              "screenpop_e2e": "bench.screenpop_e2e"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    known, rest = parser.parse_known_args()
    unknown = [n for n in known.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    logging.basicConfig(level=logging.WARNING)
    for name in known.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        sub = argparse.ArgumentParser(prog=f"bench {name}")
        module.add_arguments(sub)
        args, _ = sub.parse_known_args(rest)
        runtime.run(module.main(args))  # the loop the services run on (backend.core.runtime)


if __name__ == "__main__":
    main()
