"""Impatient and patient callers sharing one connection, from gRPC's C-core client (grpcio).

Each loop starts normal calls (a unary call and a short client stream, generous deadlines) and,
around them on the same channel, calls that give up at once: unary calls and 1,000-message client
streams with deadlines of 1 to 30 ms, and calls the client cancels as soon as it starts them. One
normal stream stays open for the whole loop, so a connection torn down at any moment fails it. Prints one JSON object: how each
kind of call ended, and every normal call that did not end OK.

Usage: cancel-storm.py PORT API_KEY UNARY_HEX STREAM_RECORD_HEX LOOPS
"""

import json
import sys
import threading
from collections import Counter

import grpc

port, api_key, unary_hex, record_hex, loops = sys.argv[1:6]
unary_body = bytes.fromhex(unary_hex)
record_body = bytes.fromhex(record_hex)
loops = int(loops)
metadata = (("authorization", "Bearer " + api_key),)
identity = None  # raw bytes in, raw bytes out

# One channel, one connection: what a gateway multiplexing its callers does.
channel = grpc.insecure_channel("127.0.0.1:" + port)
grpc.channel_ready_future(channel).result(timeout=30)
unary = channel.unary_unary("/pos.ingest.v1.IngestService/Ingest", identity, identity)
stream = channel.stream_unary("/pos.ingest.v1.IngestService/IngestStream", identity, identity)

ends = {"normal": Counter(), "impatient": Counter()}
failures = []


def records(n):
    for _ in range(n):
        yield record_body


def outcome(future):
    try:
        future.result()
        return "OK"
    except grpc.FutureCancelledError:
        return "CANCELLED"
    except grpc.RpcError as err:
        return err.code().name, err.details()


def until(done):
    """A stream that stays open, sending now and then, until `done`: in flight all loop long."""
    yield record_body
    while not done.wait(0.002):
        yield record_body


for loop in range(loops):
    done = threading.Event()
    normal = [
        stream.future(until(done), timeout=60, metadata=metadata),
        unary.future(unary_body, timeout=60, metadata=metadata),
        stream.future(records(20), timeout=60, metadata=metadata),
    ]
    impatient = [
        call
        for timeout in (0.001, 0.003, 0.01, 0.03)
        for call in (
            unary.future(unary_body, timeout=timeout, metadata=metadata),
            stream.future(records(1000), timeout=timeout, metadata=metadata),
        )
    ]
    cancelled = [unary.future(unary_body, timeout=60, metadata=metadata) for _ in range(4)] + [
        stream.future(records(1000), timeout=60, metadata=metadata)
    ]
    for future in cancelled:
        future.cancel()
    ended = [outcome(future) for future in impatient + cancelled]
    done.set()
    for future in normal:
        result = outcome(future)
        if result == "OK":
            ends["normal"]["OK"] += 1
        else:
            ends["normal"][result[0]] += 1
            failures.append({"loop": loop, "code": result[0], "details": result[1]})
    for result in ended:
        ends["impatient"][result if result in ("OK", "CANCELLED") else result[0]] += 1

channel.close()
print(json.dumps({"ends": ends, "failures": failures[:20], "failed": len(failures)}))
