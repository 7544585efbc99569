"""Benchmark: a large upload through the console's chunk API against boto3 alone.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--runs 3]

It starts what a deployment runs: gunicorn serving the console with two worker
processes (as docker-compose does), a `celery worker`, and a moto S3 server
unless S3_TEST_URL / S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY name another
endpoint. Then, per run, it:

- sends the file through the console exactly as the browser's upload module
  does: create the upload, PUT every chunk (raw body, 4 in flight), say it
  is complete, and wait until the job has succeeded;
- uploads the same file with boto3's `upload_file` (8 MiB parts, 10 threads).

It prints the medians, their ratio (target ≤ 1.3) and the peak memory growth of
the web and worker processes (target < 100 MiB each), read from /proc.

With everything on one small machine the run is CPU-bound, and the console pays
for work boto3 does not do (receiving every byte over HTTP, staging it, the MD5
each part carries): `--server-pids FILE` adds the S3 server's CPU seconds to
the report, and `--server-cpus N` gives the S3 server N CPUs of its own, as when
the endpoint is another machine, which is how the console is deployed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MiB = 1024 * 1024
PASSWORD = "bench password 1234"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident size) of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one when pid is None)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


def pin(pid: int, cpus: set[int]) -> None:
    """Run every thread of a process on `cpus` only."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except ProcessLookupError:
            pass  # a thread that has just ended


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as out:
        left = size
        while left:
            piece = min(left, 8 * MiB)
            out.write(os.urandom(piece))
            left -= piece


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Browser:
    """What the upload module does, over plain HTTP."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.local = threading.local()

    def conn(self) -> http.client.HTTPConnection:
        if getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        return self.local.conn

    def request(self, method, path, body=None, headers=None):
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            **(headers or {}),
        }
        for attempt in range(3):
            try:
                conn = self.conn()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.local.conn = None
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self, username: str) -> None:
        status, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        status, _ = self.request(
            "POST",
            "/login/",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": "/"},
        )
        assert status == 302 and "sessionid" in self.cookies, "login failed"

    def upload(self, code: str, bucket: str, path: Path, key: str, in_flight: int = 4) -> float:
        size = path.stat().st_size
        started = time.perf_counter()
        status, data = self.request(
            "POST",
            f"/e/{code}/b/{bucket}/uploads/",
            urlencode({"path": key, "size": size}),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 201, data
        answer = json.loads(data)
        fd = os.open(path, os.O_RDONLY)

        def send(number: int) -> None:
            chunk = os.pread(fd, answer["chunk_size"], (number - 1) * answer["chunk_size"])
            headers = {"Content-Type": "application/octet-stream"}
            for _attempt in range(5):
                status, data = self.request("PUT", f"{answer['chunk_url']}{number}", chunk, headers)
                if status == 200:
                    return
            raise RuntimeError(f"chunk {number}: {status} {data[:200]!r}")

        try:
            with ThreadPoolExecutor(in_flight) as pool:
                list(pool.map(send, range(1, answer["chunks"] + 1)))
        finally:
            os.close(fd)
        self.sent_after = time.perf_counter() - started
        status, data = self.request("POST", answer["complete_url"])
        assert status == 200, data
        while True:
            status, card = self.request("GET", answer["job_url"], headers={"HX-Request": "true"})
            state = re.search(rb'data-state="([a-z]+)"', card).group(1).decode()
            if state == "succeeded":
                return time.perf_counter() - started
            if state in ("failed", "canceled", "partial"):
                raise RuntimeError(f"the upload job ended {state}")
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--web-workers",
        type=int,
        default=2,
        help="gunicorn worker processes, as docker-compose runs (default 2)",
    )
    parser.add_argument(
        "--server-pids",
        type=Path,
        help="a file of 'name pid' lines (the S3 server's processes) whose CPU time to show",
    )
    parser.add_argument(
        "--server-cpus",
        type=int,
        default=0,
        help="give the S3 server (moto, or the processes of --server-pids) this many CPUs "
        "of its own and everything else the rest, as when the endpoint is another machine",
    )
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/console_bench_upload"
    )
    args = parser.parse_args()
    every_cpu = os.sched_getaffinity(0)
    server_cpus = set(sorted(every_cpu)[-args.server_cpus :]) if args.server_cpus else every_cpu
    if args.server_cpus:
        if args.server_cpus >= len(every_cpu):
            raise SystemExit("--server-cpus must leave a CPU for the console")
        # The console, its client and boto3 (which all start from here) keep the rest.
        os.sched_setaffinity(0, every_cpu - server_cpus)

    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    work = Path("/tmp/console-bench")
    work.mkdir(exist_ok=True)
    source = work / f"source-{args.size_mib}m.bin"
    print(f"making {source} ({args.size_mib} MiB)…", flush=True)
    make_file(source, args.size_mib * MiB)
    staging = work / "staging"
    shutil.rmtree(staging, ignore_errors=True)

    processes: list[subprocess.Popen] = []
    servers: list[int] = []
    server_affinity: dict[int, set[int]] = {}  # the S3 server's CPUs before this run
    try:
        moto_pid = None
        s3_url = os.environ.get("S3_TEST_URL")
        access = os.environ.get("S3_TEST_ACCESS_KEY", "bench")
        secret = os.environ.get("S3_TEST_SECRET_KEY", "bench")
        if not s3_url:
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_for_port(port)
            moto_pid = processes[-1].pid
            s3_url = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=s3_url,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                max_pool_connections=20,
            ),
        )
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)

        ensure_database(args.database)
        env = {
            **os.environ,
            "DATABASE_URL": args.database,
            "CELERY_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
            "STAGING_DIR": str(staging),
            "CACHE_URL": "locmem://",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
        setup = f"""
from django.contrib.auth import get_user_model
from console.models import Endpoint, Grant
user, _ = get_user_model().objects.get_or_create(username="bench")
user.set_password({PASSWORD!r}); user.save()
endpoint = Endpoint.objects.filter(name="Bench S3").first() or Endpoint(name="Bench S3")
endpoint.provider = "other"; endpoint.endpoint_url = {s3_url!r}; endpoint.region = "us-east-1"
endpoint.addressing_style = "path"; endpoint.access_key_id = {access!r}
endpoint.set_secret_key({secret!r}); endpoint.save()
Grant.objects.get_or_create(endpoint=endpoint, user=user, defaults={{"level": 20}})
print(endpoint.code)
"""
        code = (
            subprocess.run(
                [*manage, "shell", "-c", setup], env=env, check=True, cwd=ROOT, capture_output=True
            )
            .stdout.decode()
            .split()[-1]
        )

        web_port = free_port()
        web = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn", "console.wsgi",
                "-b", f"127.0.0.1:{web_port}",
                "-w", str(args.web_workers), "-k", "gthread", "--threads", "8",
                "--timeout", "300",
            ],
            env=env, cwd=ROOT,
        )  # fmt: skip
        processes.append(web)
        worker = subprocess.Popen(
            [
                PYTHON, "-m", "celery", "-A", "console", "worker",
                "-P", "threads", "-c", "4", "-Q", env["CELERY_QUEUE"], "-l", "WARNING",
                "--without-heartbeat", "--without-mingle", "--without-gossip",
            ],
            env=env, cwd=ROOT,
        )  # fmt: skip
        processes.append(worker)
        wait_for_port(web_port)
        deadline = time.monotonic() + 30
        while len(children(web.pid)) < args.web_workers and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        web_pids = children(web.pid)
        # The processes whose memory is watched, and whose CPU time is shown.
        watched = {f"web {n}": pid for n, pid in enumerate(web_pids, 1)}
        watched["worker"] = worker.pid

        browser = Browser(web_port)
        browser.login("bench")
        # Warm up (imports, connections), then take the resting memory.
        warm = work / "warm.bin"
        make_file(warm, 20 * MiB)
        browser.upload(code, bucket, warm, "warm.bin")
        rest = {name: memory(pid)["VmRSS"] for name, pid in watched.items()}

        transfer = TransferConfig(
            multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=10
        )
        pids = {"client": [None], "web": web_pids, "worker": [worker.pid]}
        if moto_pid:
            pids["s3"] = [moto_pid]
        if args.server_pids:
            for line in args.server_pids.read_text().splitlines():
                name, pid = line.split()
                pids[name] = [int(pid)]
                servers.append(int(pid))
        if moto_pid:
            servers.append(moto_pid)
        if args.server_cpus:
            if not servers:
                raise SystemExit("--server-cpus needs the S3 server's processes: --server-pids")
            for pid in servers:
                server_affinity[pid] = os.sched_getaffinity(pid)
                pin(pid, server_cpus)

        def cpu() -> dict[str, float]:
            return {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}

        def spent(before: dict[str, float]) -> str:
            after = cpu()
            return ", ".join(f"{n} {after[n] - before[n]:.1f}" for n in pids)

        console_times, boto_times = [], []
        for run in range(1, args.runs + 1):
            before = cpu()
            seconds = browser.upload(code, bucket, source, f"console-{run}.bin")
            console_times.append(seconds)
            print(
                f"run {run}: console: every chunk staged after {browser.sent_after:.1f} s; "
                f"CPU seconds: {spent(before)}",
                flush=True,
            )
            s3.delete_object(Bucket=bucket, Key=f"console-{run}.bin")
            before = cpu()
            started = time.perf_counter()
            s3.upload_file(str(source), bucket, f"boto3-{run}.bin", Config=transfer)
            boto_times.append(time.perf_counter() - started)
            print(f"run {run}: boto3: CPU seconds: {spent(before)}", flush=True)
            s3.delete_object(Bucket=bucket, Key=f"boto3-{run}.bin")
            print(
                f"run {run}: console {console_times[-1]:.1f} s, boto3 {boto_times[-1]:.1f} s",
                flush=True,
            )

        peak = {name: memory(pid)["VmHWM"] for name, pid in watched.items()}
        console_median = statistics.median(console_times)
        boto_median = statistics.median(boto_times)
        size = args.size_mib * MiB
        print()
        print(f"file: {args.size_mib} MiB, runs: {args.runs}, endpoint: {s3_url}")
        if args.server_cpus:
            print(
                f"CPUs: S3 server {sorted(server_cpus)}, "
                f"console and clients {sorted(every_cpu - server_cpus)}"
            )
        print(
            f"console chunk API: median {console_median:.1f} s "
            f"({size / MiB / console_median:.0f} MiB/s)"
        )
        print(
            f"boto3 upload_file: median {boto_median:.1f} s ({size / MiB / boto_median:.0f} MiB/s)"
        )
        print(f"ratio console / boto3: {console_median / boto_median:.2f} (target ≤ 1.3)")
        for name in watched:
            growth = (peak[name] - rest[name]) / MiB
            print(
                f"{name}: resting RSS {rest[name] / MiB:.0f} MiB, peak {peak[name] / MiB:.0f} MiB,"
                f" growth {growth:.0f} MiB (target < 100 MiB)"
            )
    finally:
        for pid, cpus in server_affinity.items():  # a server started elsewhere outlives us
            try:
                pin(pid, cpus)
            except OSError:
                pass
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    main()
