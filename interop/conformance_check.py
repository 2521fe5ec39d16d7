"""Run the MCP conformance suite's server scenarios and compare every check with the baseline.

`@modelcontextprotocol/conformance` (pinned in package.json) tests a server over streamable HTTP. Most
of its server scenarios call fixture tools, resources and prompts (`test_simple_text`,
`test://static-text`, ...) that only its reference server has; the ones below mean something for a
real server. interop/README.md says why each is run and why some are expected to fail.

conformance-baseline.txt lists the expected status of every check (`SUCCESS`, `FAILURE`, `WARNING`,
`SKIPPED`; `INFO` lines are ignored) per server mode and scenario. A scenario PASSes when its checks
are exactly those of the baseline with the same statuses, whatever they are, so CI fails only when a
result changes: a regression, a fix (update the baseline), or a new or vanished check.

    python conformance_check.py --conformance node_modules/.bin/conformance --out /tmp/conf \
        --target stateful=http://127.0.0.1:8000/mcp --target stateless=http://127.0.0.1:8001/mcp
    # after an intended change, rewrite the baseline from what was observed:
    python conformance_check.py ... --update

Prints one `PASS`/`FAIL` line per mode and scenario; exits 1 if any failed. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "conformance-baseline.txt"
SCENARIO_TIMEOUT = 60.0

SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "logging-set-level",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
]
"""The scenarios of conformance 0.1.16 that need no fixture content (`conformance list --server`)."""

HEADER = """\
# Expected results of the MCP conformance suite (@modelcontextprotocol/conformance, version pinned in
# package.json) against mcp-server-milvus over streamable HTTP. Checked by conformance_check.py, run by
# .ci/interop.sh: a scenario fails CI when any of its checks differs from these lines.
# Why the FAILURE and WARNING lines are expected: interop/README.md. Regenerate after an intended
# change with `python interop/conformance_check.py ... --update` and review the diff.
#
# server-mode  scenario  check-id  expected-status
"""


def load_baseline() -> dict[tuple[str, str], dict[str, str]]:
    expected: dict[tuple[str, str], dict[str, str]] = {}
    if not BASELINE.exists():
        return expected
    for number, raw in enumerate(BASELINE.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 4:
            raise SystemExit(f"{BASELINE}:{number}: expected 4 fields, got {raw!r}")
        mode, scenario, check, status = parts
        expected.setdefault((mode, scenario), {})[check] = status
    return expected


def run_scenario(conformance: str, url: str, scenario: str, out: Path) -> tuple[dict[str, str] | None, str]:
    """The status of each non-INFO check, or None and the reason the scenario did not produce results."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [conformance, "server", "--url", url, "--scenario", scenario, "--output-dir", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {SCENARIO_TIMEOUT:g} s"
    (out / "output.txt").write_text(done.stdout + done.stderr)
    files = sorted(out.glob("*/checks.json"))
    if not files:
        return None, f"no checks.json (exit code {done.returncode}): {(done.stdout + done.stderr)[-1500:]}"
    checks = json.loads(files[-1].read_text())
    return {c["id"]: c["status"] for c in checks if c.get("status") != "INFO"}, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conformance", required=True, help="path of the conformance executable")
    parser.add_argument("--target", action="append", required=True, help="MODE=URL, e.g. stateful=http://.../mcp")
    parser.add_argument("--out", required=True, help="directory for the suite's result files")
    parser.add_argument("--update", action="store_true", help="rewrite the baseline from the observed results")
    args = parser.parse_args()
    targets = [t.split("=", 1) for t in args.target]
    expected = load_baseline()
    observed: dict[tuple[str, str], dict[str, str]] = {}
    failures = 0

    for mode, url in targets:
        for scenario in SCENARIOS:
            label = f"conformance/{mode}: {scenario}"
            got, why = run_scenario(args.conformance, url, scenario, Path(args.out) / mode / scenario)
            if got is None:
                failures += 1
                print(f"FAIL {label}: {why}", flush=True)
                continue
            observed[(mode, scenario)] = got
            want = expected.get((mode, scenario))
            if args.update:
                print(f"     {label}: {got}", flush=True)
                continue
            if want is None:
                failures += 1
                print(f"FAIL {label}: not in the baseline; observed {got}", flush=True)
                continue
            diffs = [
                f"{check}: expected {want.get(check, 'no such check')}, got {got.get(check, 'no such check')}"
                for check in sorted(set(want) | set(got))
                if want.get(check) != got.get(check)
            ]
            if diffs:
                failures += 1
                print(f"FAIL {label}: differs from the baseline: " + "; ".join(diffs), flush=True)
                print(f"    details: {Path(args.out) / mode / scenario}", flush=True)
            else:
                notes = [f"{c} {s}" for c, s in sorted(got.items()) if s != "SUCCESS"]
                suffix = f" (as in the baseline: {', '.join(notes)})" if notes else ""
                print(f"PASS {label}{suffix}", flush=True)

    for mode, scenario in sorted(set(expected) - set(observed)):
        if mode in dict(targets) and scenario not in SCENARIOS:
            failures += 1
            print(
                f"FAIL conformance/{mode}: {scenario}: in the baseline but not in SCENARIOS, so never run", flush=True
            )

    if args.update:
        if failures:
            print("not updating the baseline: some scenarios produced no results", file=sys.stderr)
            return 1
        # Modes not run this time keep their lines.
        merged = {k: v for k, v in expected.items() if k[0] not in dict(targets)} | observed
        order = {scenario: i for i, scenario in enumerate(SCENARIOS)}
        lines = [
            f"{mode:<10} {scenario:<28} {check:<38} {status}"
            for (mode, scenario), checks in sorted(merged.items(), key=lambda k: (k[0][0], order.get(k[0][1], 99)))
            for check, status in sorted(checks.items())
        ]
        BASELINE.write_text(HEADER + "\n".join(lines) + "\n")
        print(f"wrote {BASELINE}")
        return 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
