"""check-status as most teams would write it for AWS: a Python Lambda with boto3.

The comparison in `make bench` (bench/lambdas.mjs): the same event, the same DescribeCluster against the same EMR
emulator, under the same local Runtime API, run by the Python runtime interface client (awslambdaric). It does
what our check-status does for the `up` and `down` modes (one DescribeCluster, the cluster's state judged, the next
poll's delay adapted to the run's age) and answers the same fields, so the work compared is the same.
"""

import os
import random
from datetime import datetime, timezone

import boto3

# Made once per process, outside the handler, as AWS recommends: part of the init measured.
EMR = boto3.client("emr", region_name=os.environ.get("AWS_REGION"))
_CLIENTS = {}

ENDING = {"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"}
FINAL = {"ready", "succeeded", "failed", "terminated"}


def emr_for(region):
    if not region or region == os.environ.get("AWS_REGION"):
        return EMR
    if region not in _CLIENTS:
        _CLIENTS[region] = boto3.client("emr", region_name=region)
    return _CLIENTS[region]


def judge(mode, state, reason_code):
    if mode == "down":
        return ("terminated", None) if state in ("TERMINATED", "TERMINATED_WITH_ERRORS") else ("running", None)
    if state in ("STARTING", "BOOTSTRAPPING"):
        return "starting", None
    if state in ("RUNNING", "WAITING"):
        return "ready", None
    if state in ENDING:
        return "failed", "BootstrapFailure" if reason_code == "BOOTSTRAP_FAILURE" else "ClusterFailed"
    return "starting", None


def next_poll_seconds(phase, elapsed, low=30, high=900):
    low = max(low, 1)
    high = max(high, low)
    base = 30.0 if phase == "starting" else max(elapsed, 0) / 8.0
    cap = float(high if elapsed > 6 * 3600 else max(min(high, 300), low))
    bounded = min(max(base, low), cap)
    jittered = bounded * (1.0 + 0.1 * random.uniform(-1.0, 1.0))
    return int(min(max(round(jittered), low), cap))


def handler(event, context):
    mode = event["mode"]
    if mode not in ("up", "down"):
        raise ValueError(f"mode {mode!r}: this comparison handles up and down")
    cluster = emr_for(event.get("region")).describe_cluster(ClusterId=event["clusterId"])["Cluster"]
    status = cluster["Status"]
    reason = status.get("StateChangeReason", {})
    phase, failure = judge(mode, status["State"], reason.get("Code"))
    now = datetime.now(timezone.utc)
    since = event.get("since")
    since = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else status["Timeline"].get("CreationDateTime", now)
    elapsed = max(int((now - since).total_seconds()), 0)
    options = event.get("options") or {}
    return {
        "phase": phase,
        "finished": phase in FINAL,
        "clusterId": cluster["Id"],
        "clusterState": status["State"],
        "reason": {"code": reason.get("Code"), "message": reason.get("Message")},
        "steps": [],
        "stepsListed": False,
        "pollsSinceSteps": ((event.get("previous") or {}).get("pollsSinceSteps") or 0) + 1,
        "elapsedSeconds": elapsed,
        "nextPollSeconds": next_poll_seconds(
            phase, elapsed, options.get("minPollSeconds", 30), options.get("maxPollSeconds", 900)
        ),
        "error": None
        if failure is None
        else {
            "name": failure,
            "cause": {
                "clusterId": cluster["Id"],
                "clusterState": status["State"],
                "reason": {"code": reason.get("Code"), "message": reason.get("Message")},
                "logUri": cluster.get("LogUri"),
                "failedSteps": [],
            },
        },
        "failedChecks": 0,
    }
