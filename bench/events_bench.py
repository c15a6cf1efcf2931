"""``make bench`` (events): CloudTrail collection at volume, against its own floor measured on the same files.

``AUDITBOOK_BENCH_EVENTS`` synthetic management events (default 1,000,000; ``make bench-large`` runs 100,000,000)
are written as a trail's log files — ``AUDITBOOK_BENCH_FILE_EVENTS`` events per gzipped file (default 1,000: a
busy region's five-minute file), spread over the 92 days and 4 regions of 2026-Q3 — straight into the emulator's
S3 storage (no HTTP upload). Then:

- the collector (``auditbook.sources.aws.cloudtrail.collect_trail_logs``, as a run calls it) runs in its own
  process against the emulator: wall time, files/s, events/s, peak RSS of that process, and the size the two
  populations take in a package (cloudtrail-log-files and the kept events);
- the floor, on the same file bodies: gunzip + ``json.loads`` of every file using every core, nothing kept.

The event mix (per 1,000): 930 read-only calls by roles and services, 50 writes by AWS services, 15 writes by the
deployment pipeline role, 4 writes by people, 1 secret read. Application roles that write a lot would keep more.
Prints the figures; records nothing.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

EVENTS = int(float(os.environ.get("AUDITBOOK_BENCH_EVENTS", "1000000")))
FILE_EVENTS = int(os.environ.get("AUDITBOOK_BENCH_FILE_EVENTS", "1000"))
UNIQUE_BODIES = 64  # distinct file bodies; every file is one of them (its key, day and region are its own)
ACCOUNT = "123456789012"
BUCKET = "bench-trail"
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]
START = datetime(2026, 7, 1, tzinfo=UTC)
DAYS = 92

READS = [("ec2.amazonaws.com", "DescribeInstances"), ("sts.amazonaws.com", "AssumeRole"),
         ("kms.amazonaws.com", "Decrypt"), ("ssm.amazonaws.com", "GetParameter"),
         ("s3.amazonaws.com", "ListBuckets"), ("iam.amazonaws.com", "GetRole"),
         ("lambda.amazonaws.com", "ListFunctions20150331"), ("logs.amazonaws.com", "DescribeLogStreams")]
SERVICE_WRITES = [("autoscaling.amazonaws.com", "ec2.amazonaws.com", "RunInstances"),
                  ("ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "RegisterTargets")]
PIPELINE_WRITES = [("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"), ("ecs.amazonaws.com", "UpdateService"),
                   ("cloudformation.amazonaws.com", "UpdateStack")]


def line(label: str, value: str) -> None:
    print(f"  {label:<44} {value}", flush=True)


def _identity(kind: str, rng: random.Random) -> dict:
    if kind == "service":
        return {"type": "AWSService", "invokedBy": rng.choice(SERVICE_WRITES)[0]}
    if kind == "pipeline":
        return {"type": "AssumedRole", "principalId": "AROAEXAMPLE:gha", "accountId": ACCOUNT,
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy-role/gha-{rng.randint(1, 9999)}",
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ci-deploy-role",
                                                     "arn": f"arn:aws:iam::{ACCOUNT}:role/ci-deploy-role"},
                                   "attributes": {"mfaAuthenticated": "false",
                                                  "creationDate": "2026-07-01T00:00:00Z"}}}
    name = rng.choice(["alice", "bob", "carol", "dan"])
    if kind == "person":
        return {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": ACCOUNT, "userName": name,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "accessKeyId": "ASIAEXAMPLE"}
    return {"type": "AssumedRole", "principalId": "AROAEXAMPLE:app", "accountId": ACCOUNT,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/i-0{rng.randint(10**15, 10**16):x}",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "app-role",
                                                 "arn": f"arn:aws:iam::{ACCOUNT}:role/app-role"}}}


def record(rng: random.Random, when: datetime, region: str, n: int) -> dict:
    roll = rng.randrange(1000)
    kind = ("person" if roll < 4 else "pipeline" if roll < 19 else "service" if roll < 69
            else "secret" if roll < 70 else "read")
    if kind == "service":
        source, name, read_only = rng.choice(SERVICE_WRITES)[1], rng.choice(SERVICE_WRITES)[2], False
    elif kind in ("pipeline", "person"):
        (source, name), read_only = rng.choice(PIPELINE_WRITES), False
    elif kind == "secret":
        source, name, read_only = "secretsmanager.amazonaws.com", "GetSecretValue", True
    else:
        (source, name), read_only = rng.choice(READS), True
    return {
        "eventVersion": "1.09", "userIdentity": _identity(kind, rng), "eventTime": f"{when:%Y-%m-%dT%H:%M:%SZ}",
        "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux api/ec2#1.173.0",
        "requestParameters": {"filterSet": {}, "instancesSet": {"items": [{"instanceId": f"i-{n:017x}"}]},
                              "maxResults": 1000},
        "responseElements": None, "requestID": f"{rng.getrandbits(128):032x}",
        "eventID": f"{rng.getrandbits(128):032x}",
        "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com"},
    }


def bodies(count: int) -> list[bytes]:
    rng = random.Random(20261001)
    out = []
    for b in range(count):
        day = START + timedelta(days=(b * DAYS) // count)
        recs = [record(rng, day + timedelta(seconds=rng.randrange(86400)), REGIONS[b % len(REGIONS)], i)
                for i in range(FILE_EVENTS)]
        recs.sort(key=lambda r: r["eventTime"])
        out.append(gzip.compress(json.dumps({"Records": recs}).encode()))
    return out


def write_trail(files: int, unique: list[bytes]) -> None:
    """The trail and its files, written into moto's in-process S3 storage (the emulator serves them over HTTP)."""
    import boto3
    from moto.s3.models import s3_backends

    kw = {"region_name": "us-east-1"}
    boto3.client("s3", **kw).create_bucket(Bucket=BUCKET)
    boto3.client("cloudtrail", **kw).create_trail(Name="bench", S3BucketName=BUCKET, IsMultiRegionTrail=True,
                                                   EnableLogFileValidation=True)
    backend = s3_backends[ACCOUNT]["aws"]
    for i in range(files):
        body = unique[i % len(unique)]
        region, day = REGIONS[i % len(REGIONS)], START + timedelta(days=(i * DAYS) // files)
        key = (f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{day:%Y/%m/%d}/"
               f"{ACCOUNT}_CloudTrail_{region}_{day:%Y%m%d}T{i % 24:02d}{i % 60:02d}Z_{i:08x}.json.gz")
        backend.put_object(BUCKET, key, body)


COLLECT = """
import cProfile, json, os, pstats, resource, sys, time
from auditbook import catalog
from auditbook.period import parse_period
from auditbook.provenance import RawStore
from auditbook.sources.aws.cloudtrail import collect_trail_logs
from auditbook.sources.aws.session import open_account
from auditbook.notebook import _write_csv

profile = cProfile.Profile() if os.environ.get("AUDITBOOK_BENCH_PROFILE") else None
if profile:
    profile.enable()
started = time.monotonic()
account = open_account({"id": "%(account)s"}, "us-east-1")
files, events = collect_trail_logs(account, RawStore(sys.argv[1] + "/raw"), parse_period("2026-Q3"), %(regions)r,
                                   catalog.trail_selection())
files, events = catalog.population("cloudtrail-log-files", files), catalog.population("cloudtrail-events", events)
seconds = time.monotonic() - started
if profile:
    profile.disable()
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
_write_csv(files.frame, __import__("pathlib").Path(sys.argv[1]) / "cloudtrail-log-files.csv")
_write_csv(events.frame, __import__("pathlib").Path(sys.argv[1]) / "cloudtrail-events.csv")
print(json.dumps({"seconds": seconds, "files": len(files.frame), "records": int(files.frame["records"].sum()),
                  "kept": len(events.frame),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


_BODIES: list[bytes] = []


def _keep_bodies(bodies: list[bytes]) -> None:
    _BODIES[:] = bodies


def _parse(indices: range) -> int:
    return sum(len(json.loads(gzip.decompress(_BODIES[i % len(_BODIES)]))["Records"]) for i in indices)


def floor(files: int, unique: list[bytes]) -> float:
    """gunzip + json.loads of every file on every core, nothing kept: what reading the trail costs at least.
    Each worker holds the bodies already (no copying per file), so only the work is timed."""
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores, initializer=_keep_bodies, initargs=(unique,)) as pool:
        pool.submit(_parse, range(0)).result()
        started = time.monotonic()
        step = max(1, files // (cores * 8))
        counted = sum(pool.map(_parse, [range(i, min(i + step, files)) for i in range(0, files, step)]))
        seconds = time.monotonic() - started
    assert counted == files * FILE_EVENTS
    return seconds


def main() -> int:
    from auditbook.demo.aws import patched_environ

    files = max(1, EVENTS // FILE_EVENTS)
    print(f"auditbook events bench: {files * FILE_EVENTS:,} events in {files:,} log files of {FILE_EVENTS:,} "
          f"({os.cpu_count()} cores)", flush=True)
    started = time.monotonic()
    unique = bodies(min(UNIQUE_BODIES, files))
    line("synthetic file bodies", f"{len(unique)} distinct, {sum(map(len, unique)) / len(unique) / 1e3:.0f} KB "
                                  f"gzip each, {time.monotonic() - started:.1f} s")
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        with patched_environ(env):
            written = time.monotonic()
            write_trail(files, unique)
            line("written into the emulator's S3", f"{time.monotonic() - written:.1f} s")
            out = Path(tempfile.mkdtemp(prefix="auditbook-bench-"))
            script = COLLECT % {"account": ACCOUNT, "regions": REGIONS}
            done = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True,
                                  env={**os.environ, **env}, check=False)
            if done.returncode != 0 or os.environ.get("AUDITBOOK_BENCH_PROFILE"):
                print(done.stderr[-6000:], file=sys.stderr)
            if done.returncode != 0:
                return 1
            got = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    floor_seconds = floor(files, unique)
    events = got["records"]
    line("collection wall time", f"{got['seconds']:.1f} s: {got['files'] / got['seconds']:,.0f} files/s, "
                                 f"{events / got['seconds']:,.0f} events/s")
    line("floor: gunzip + json.loads, every core", f"{floor_seconds:.1f} s: {events / floor_seconds:,.0f} events/s")
    line("collection / floor throughput", f"{floor_seconds / got['seconds']:.0%}")
    line("events kept (the controls' selection)", f"{got['kept']:,} of {events:,}")
    line("peak RSS of the collecting process", f"{got['peak_mb']:,.0f} MB")
    sizes = {p.name: p.stat().st_size for p in out.glob("*.csv")}
    line("package: the two populations", ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sorted(sizes.items()))
         + " (log files copied: none until a tested event cites one)")
    line("bench wall time", f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
