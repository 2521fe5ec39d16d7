"""The Milvus Lite engine process: one database served on a private unix socket until its last user leaves.

Started by `engine.client.LiteEngine` as `python -m mcp_server_milvus.engine.host`. Milvus Lite is pure
Python; in its own process it no longer competes with the MCP server's event loop for the GIL, and
several MCP servers (a desktop app and an IDE, say) can share one database. It listens on the socket
its starter chose (`engine.address`), in a directory only its user can enter, and on no TCP port.

Users register as files named `<pid>.<random>` in `<run dir>/owners/`. The engine checks them twice a
second and stops, closing the database cleanly, once none of those processes is alive: a server that
crashes or is killed never leaves an orphaned engine behind.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_server_milvus.engine.address import remove_stale_sockets
from mcp_server_milvus.engine.rundir import live_owners, released, remove_state, run_lock, write_state
from mcp_server_milvus.logs import drop_unimplemented

if TYPE_CHECKING:
    from mcp_server_milvus.engine.autoflush import AutoFlush
    from mcp_server_milvus.engine.host_lanes import Lanes

SWITCH_INTERVAL = 0.0001
"""Seconds a thread may hold the GIL before another runnable thread gets it (Python's default: 0.005). With 3
searches of 15k unflushed rows in flight, Python's 5 ms made quick RPCs slower at p50 in 4 of 4 runs:
describe_collection 2.8-4.2x, list_collections 1.5-3.2x (`python -m benchmarks.run --only knobs`, measured
under load; after an auto-flush, 1.0-1.9x)."""
GC_THRESHOLD = 50_000
"""Net allocations between the engine's young-generation GC passes (Python's default: 700). At 700, 3
searches of 15k unflushed rows in flight completed 1.2-1.6x fewer searches per second in 4 of 4 runs
(`python -m benchmarks.run --only knobs`, measured under load); no difference once the rows are flushed."""
POLL_SECONDS = 0.5
IDLE_POLLS = 4
"""Polls without a live owner before the engine stops (2 s): a restarting server can re-attach."""
GRPC_WORKERS = 64
"""Threads answering RPCs. Calls waiting on the heavy lane hold one each; quick calls must still find one."""
MAX_MESSAGE = 256 * 1024 * 1024
"""Milvus Lite's own limit (as Milvus standalone's) on a gRPC message either way."""


def serve(
    data_dir: str, run_dir: Path, socket: str, auto_flush_seconds: float = 0.0
) -> tuple[Any, Any, Lanes, AutoFlush]:
    """Open the database and serve it on the unix socket `socket`: (grpc server, MilvusLite, lanes, auto-flush).

    Built like `milvus_lite.adapter.grpc.server.start_server_in_thread`, plus the lanes, and with room
    for the gRPC threads that wait on the heavy lane. The database is opened first: once it is ours, no
    other engine of it runs, and the socket files earlier ones left can go.
    """
    import grpc
    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.db import MilvusLite
    from pymilvus.grpc_gen import milvus_pb2_grpc

    from mcp_server_milvus.engine.autoflush import AutoFlush
    from mcp_server_milvus.engine.changes import Changes
    from mcp_server_milvus.engine.host_lanes import Lanes
    from mcp_server_milvus.engine.host_stats import KeptStats

    db = MilvusLite(data_dir)
    remove_stale_sockets(Path(socket))
    lanes = Lanes()
    servicer = MilvusServicer(db)
    lanes.wrap(servicer)
    auto_flush = AutoFlush(db, auto_flush_seconds)
    auto_flush.wrap(servicer)
    rpcs = [name for name in vars(milvus_pb2_grpc.MilvusServiceServicer) if not name.startswith("_")]
    KeptStats(db, Changes(run_dir).bump).wrap(servicer, rpcs)  # last: a kept answer skips the lanes
    server = grpc.server(
        ThreadPoolExecutor(max_workers=GRPC_WORKERS),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)],
    )
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(servicer, server)
    if not server.add_insecure_port(f"unix:{socket}"):
        raise RuntimeError(f"could not listen on {socket}")
    server.start()
    auto_flush.start()
    return server, db, lanes, auto_flush


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mcp_server_milvus.engine.host")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--socket", required=True, help="the unix socket to listen on")
    parser.add_argument(
        "--auto-flush-seconds", type=float, default=0.0, help="flush a collection after this long without writes"
    )
    args = parser.parse_args(argv)
    # Milvus Lite answers every RPC from threads of this one interpreter. A thread that wants the GIL
    # waits up to the switch interval (5 ms by default) for the one running to give it up, and a quick
    # RPC takes the GIL several times. At 0.1 ms, a bare RPC behind the heavy lane took ~1.0 ms at p50
    # against ~1.45 ms at 0.5 ms (searches ~4% slower).
    sys.setswitchinterval(SWITCH_INTERVAL)
    # Milvus Lite keeps unflushed rows as Python objects and a search allocates a container per row it
    # scans, so at Python's default threshold (700 allocations) the cyclic GC ran dozens of times per
    # search, walking that heap with the GIL held: ~30% of a search over 15k unflushed rows, and quick
    # RPCs waited for each pass. Collecting after 50k allocations instead: searches 240 vs 340 ms at
    # N = 3, quick RPCs at their idle latency. Cycles are still collected.
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s engine %(levelname)s %(name)s: %(message)s")
    logging.getLogger("grpc._server").addFilter(drop_unimplemented)
    log = logging.getLogger("mcp_server_milvus.engine.host")
    run_dir = Path(args.run_dir)

    from milvus_lite import DataDirLockedError

    try:
        server, db, lanes, auto_flush = serve(args.data_dir, run_dir, args.socket, args.auto_flush_seconds)
    except DataDirLockedError:
        print("LOCKED", flush=True)
        return 3
    except Exception as exc:
        log.exception("Milvus Lite failed to start")
        print(f"FAILED {' '.join(str(exc).split())}", flush=True)
        return 1

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    write_state(run_dir, args.socket, args.auto_flush_seconds)
    log.info("Serving %s on unix:%s (pid %d)", args.data_dir, args.socket, os.getpid())
    print("READY", flush=True)
    sys.stdout.close()

    idle = 0
    while not stop.wait(POLL_SECONDS):
        idle = 0 if live_owners(run_dir / "owners") else idle + 1
        if idle >= IDLE_POLLS:
            # Decide under the run-dir lock, which a user holds while it attaches: either it sees the
            # state file and registers before we look, or it finds no state file and starts a new engine.
            with run_lock(run_dir):
                if not live_owners(run_dir / "owners"):
                    remove_state(run_dir)
                    log.info("No users left; stopping")
                    break
            idle = 0
    remove_state(run_dir)
    auto_flush.close()  # first: no flush starts once the engine is stopping
    # gRPC removes the socket file as it stops, before the database is closed (see remove_stale_sockets).
    server.stop(grace=2).wait()
    lanes.close()
    db.close()
    released(run_dir)
    log.info("Stopped; database closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
