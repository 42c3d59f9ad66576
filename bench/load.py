"""Load test: 50 simulated users browse dashboards and save forms on a real server with PostgreSQL.

Everything runs on this machine (127.0.0.1 only):

1. a fresh PostgreSQL database on the local server (dropped at the end unless --keep);
2. a workspace made with `junheng init --database-url ...`, holding a synthetic city of 10
   counties (`generate_region(10, n_cities=1)`, about 750 schools, imported approved) and
   users: a supervisor of the city, one county admin and one viewer per county, and school
   fillers (their schools' rows reopened as drafts so that they can save);
3. the server as users start it, `junheng serve [--workers N]` (uvicorn) in a subprocess;
4. N users (asyncio + httpx, one client and login each) for --duration seconds or
   --max-requests requests, whichever comes first, each waiting --think seconds on average
   (exponential) between requests: supervisors, county admins and viewers open the overview,
   county dashboards and school pages; school fillers open their school page, read their
   values through the API and save them back changed (PUT /api/v1/schools/{code}/years/{year}
   with their API token and the version read, as a form save);
5. p50/p95/p99/max latency and errors per kind of request, printed as a Markdown table
   (and as JSON with --json FILE).

    .venv/bin/python bench/load.py [--users 50] [--duration 60] [--think 1.0] [--max-requests 20000]
    .venv/bin/python bench/load.py --keep ...; then --reuse WORKSPACE to skip the set-up

Dashboards are viewed once per county before the timed part (the evaluation run of each
county is then stored, as on a server in use); --cold skips that. --workers N starts
`junheng serve --workers N`. Results and analysis: docs/benchmarks.md, "Web server under load".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION = 600  # s: hard bounds, whatever the options say
MAX_REQUESTS = 100_000
PASSWORD = "load-test-password"
JUNHENG = Path(sys.executable).parent / "junheng"
WORLD_FILE = "load-world.json"  # what --reuse needs: codes, users and their API tokens (test data only)


# ---------------------------------------------------------------- set-up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    if urlsplit(admin_url).hostname not in LOOPBACK:
        raise SystemExit("load.py only talks to a PostgreSQL server on 127.0.0.1")
    name = f"junheng_load_{uuid.uuid4().hex[:10]}"
    engine = create_engine("postgresql+psycopg://" + admin_url.split("://", 1)[1], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql+psycopg://" + admin_url.split("://", 1)[1], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class Person:
    username: str
    kind: str  # supervisor, county_admin, viewer, school_filler
    county: str | None = None
    school: str | None = None
    token: str | None = None


@dataclass
class World:
    counties: list[str]
    schools: dict[str, list[str]]  # county → school codes
    year: int
    people: list[Person]


def build_world(workspace: Path, database_url: str, n_counties: int, n_users: int) -> World:
    """`junheng init`, then the synthetic city and the users, through the store as the demo does."""
    done = subprocess.run([str(JUNHENG), "init", "-w", str(workspace), "--database-url", database_url,
                           "--password", PASSWORD], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"junheng init failed:\n{done.stdout}\n{done.stderr}")
    from sqlalchemy import select

    from junheng.demo.synthetic import generate_region
    from junheng.services import open_database
    from junheng.store import repo
    from junheng.store.models import OrgNode, School, SchoolYear
    from junheng.store.users import create_token, create_user

    database, _ = open_database(workspace)
    dataset = generate_region(n_counties, n_cities=1)
    started = time.perf_counter()
    with database.session() as s:
        repo.import_dataset(s, dataset, user=None, via="cli", note="负载测试(合成数据)", status="approved")
    print(f"  imported {len(dataset.schools)} schools of {n_counties} counties in {time.perf_counter() - started:.1f} s")
    year = int(dataset.school_year["year"].max())
    with database.session() as s:
        counties = sorted(s.scalars(select(OrgNode.code).where(OrgNode.kind == "county")))
        city = s.scalar(select(OrgNode.code).where(OrgNode.kind == "city"))
        schools = {c: sorted(s.scalars(select(School.code).join(OrgNode, School.county_id == OrgNode.id)
                                       .where(OrgNode.code == c))) for c in counties}
    # the mix of 50: 2 supervisors, 1 county admin per county, 8 viewers, the rest school fillers
    plan: list[Person] = [Person(f"sup{i}", "supervisor") for i in range(2)]
    plan += [Person(f"cadm{c}", "county_admin", county=c) for c in counties]
    plan += [Person(f"view{i}", "viewer", county=counties[i % len(counties)]) for i in range(8)]
    i = 0
    while len(plan) < n_users:
        county = counties[i % len(counties)]
        plan.append(Person(f"fill{i}", "school_filler", county=county, school=schools[county][i // len(counties)]))
        i += 1
    plan = plan[:n_users]
    with database.session() as s:
        for p in plan:
            scope = {"supervisor": city, "school_filler": p.school}.get(p.kind, p.county)
            user = create_user(s, p.username, PASSWORD, role=p.kind, scope_code=scope)
            if p.kind == "school_filler":
                p.token = create_token(s, user, "负载测试")
                school = repo.school_by_code(s, p.school)
                row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year))
                repo.transition(s, row, "reopen", user=None, via="cli", note="负载测试:开放填报")
    database.engine.dispose()
    world = World(counties=counties, schools=schools, year=year, people=plan)
    (workspace / WORLD_FILE).write_text(json.dumps(
        {"counties": counties, "schools": schools, "year": year, "people": [vars(p) for p in plan],
         "database": database_url}, ensure_ascii=False), encoding="utf-8")
    return world


def load_world(workspace: Path) -> tuple[World, str]:
    data = json.loads((workspace / WORLD_FILE).read_text(encoding="utf-8"))
    return World(counties=data["counties"], schools=data["schools"], year=data["year"],
                 people=[Person(**p) for p in data["people"]]), data["database"]


def server_command(workspace: Path, port: int, workers: int) -> list[str]:
    """`junheng serve` as users start it."""
    return [str(JUNHENG), "serve", "-w", str(workspace), "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]


def start_server(command: list[str], port: int, log: Path, env: dict | None = None) -> subprocess.Popen:
    handle = log.open("w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"junheng serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(process)
    raise SystemExit("the server did not answer within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)  # the session we started for it: uvicorn and nothing else
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


# ---------------------------------------------------------------- the simulated users


@dataclass
class Recorder:
    budget: int
    deadline: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sent: int = 0
    login_bounces: int = 0  # logins whose redirect target answered "not logged in" (retried)
    loop_cpu: float = 0.0  # CPU seconds of the server's main threads (the event loop) in the timed part

    def open(self) -> bool:
        return self.sent < self.budget and time.monotonic() < self.deadline

    async def call(self, kind: str, client: httpx.AsyncClient, method: str, url: str, expect: int = 200, **kw):
        self.sent += 1
        start = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.errors[kind].append(f"{type(exc).__name__}: {exc}")
            self.latencies[kind].append(time.perf_counter() - start)
            return None
        self.latencies[kind].append(time.perf_counter() - start)
        if response.status_code != expect:
            self.errors[kind].append(f"{method} {url} → {response.status_code} {response.text[:200]}")
        return response


async def login(client: httpx.AsyncClient, person: Person) -> int:
    """Log in; returns how many attempts bounced back to the login page (see the report: the
    session row may be committed only after the redirect has been answered)."""
    for attempt in range(5):
        response = await client.post("/login", data={"username": person.username, "password": PASSWORD})
        if response.status_code == 200 and "/login" not in str(response.url):
            return attempt
        if response.status_code != 200:
            break
        await asyncio.sleep(0.2)
    raise SystemExit(f"login of {person.username} failed: {response.status_code} at {response.url}")


@dataclass
class Gate:
    """Logins first (argon2 takes its time on purpose), then everybody starts the timed part."""

    expected: int
    arrived: int = 0
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_in.set()


async def simulate(person: Person, world: World, base: str, rec: Recorder, think: float, rng: random.Random,
                   gate: Gate) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True) as client:
        rec.login_bounces += await login(client, person)
        gate.arrive()
        await gate.go.wait()
        await asyncio.sleep(rng.uniform(0, think))  # users do not all click at once
        api = {"Authorization": f"Bearer {person.token}"} if person.token else {}
        while rec.open():
            if person.kind == "school_filler":
                action = rng.choices(["school", "save"], [1, 2])[0]
                if action == "school":
                    await rec.call("school page", client, "GET", f"/schools/{person.school}")
                else:  # a form save: read the values and their version, change one, write back
                    path = f"/api/v1/schools/{person.school}/years/{world.year}"
                    got = await rec.call("API read values", client, "GET", path, headers=api)
                    if got is not None and got.status_code == 200:
                        data = got.json()
                        area = data["values"].get("sports_area") or 1000.0
                        body = {"values": {"sports_area": round(area * rng.uniform(0.99, 1.01), 1)},
                                "version": data["version"]}
                        await rec.call("API save (PUT)", client, "PUT", path, headers=api, json=body)
            else:
                scope = world.counties if person.kind == "supervisor" else [person.county]
                county = rng.choice(scope)
                weights = [1, 2, 2] if person.kind == "supervisor" else [0, 1, 2]
                action = rng.choices(["overview", "county", "school"], weights)[0]
                if action == "overview":
                    await rec.call("overview page", client, "GET", "/overview")
                elif action == "county":
                    await rec.call("county dashboard", client, "GET", f"/counties/{county}")
                else:
                    await rec.call("school page", client, "GET", f"/schools/{rng.choice(world.schools[county])}")
            pause = rng.expovariate(1 / think) if think > 0 else 0
            await asyncio.sleep(max(0.0, min(pause, rec.deadline - time.monotonic())))  # no idle tail


async def run_load(world: World, base: str, args, server_pid: int) -> tuple[Recorder, float, float]:
    rng = random.Random(args.seed)
    if not args.cold:  # as on a server in use: each county's evaluation run is stored
        async with httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=True) as client:
            await login(client, next(p for p in world.people if p.kind != "school_filler"))
            for county in world.counties:
                await client.get(f"/counties/{county}")
    gate = Gate(expected=len(world.people))
    rec = Recorder(budget=args.max_requests, deadline=float("inf"))
    tasks = [asyncio.create_task(simulate(p, world, base, rec, args.think, random.Random(rng.random()), gate))
             for p in world.people]
    waiter = asyncio.create_task(gate.all_in.wait())
    done, _ = await asyncio.wait([waiter, *tasks], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        for task in tasks:
            task.cancel()
        failed = next((t for t in done if t.exception()), None)
        raise SystemExit(f"logins did not complete: {failed.exception() if failed else 'timeout'}")
    started, (cpu, loop) = time.monotonic(), cpu_split(server_pid)
    rec.deadline = started + args.duration
    gate.go.set()
    await asyncio.gather(*tasks)
    cpu_after, loop_after = cpu_split(server_pid)
    rec.loop_cpu = loop_after - loop
    return rec, time.monotonic() - started, cpu_after - cpu


# ---------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(rec: Recorder, elapsed: float) -> dict:
    rows = {}
    for kind in sorted(rec.latencies):
        ms = [v * 1000 for v in rec.latencies[kind]]
        rows[kind] = {"requests": len(ms), "errors": len(rec.errors.get(kind, [])),
                      "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95), "p99_ms": percentile(ms, 0.99),
                      "max_ms": max(ms), "mean_ms": statistics.fmean(ms)}
    total = sum(r["requests"] for r in rows.values())
    return {"elapsed_s": elapsed, "requests": total, "throughput_rps": total / elapsed if elapsed else 0,
            "errors": sum(r["errors"] for r in rows.values()), "kinds": rows,
            "error_samples": {k: v[:3] for k, v in rec.errors.items() if v}}


def markdown(result: dict) -> str:
    lines = ["| request | count | errors | p50 ms | p95 ms | p99 ms | max ms |", "|---|---|---|---|---|---|---|"]
    for kind, r in result["kinds"].items():
        lines.append(f"| {kind} | {r['requests']} | {r['errors']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                     f"{r['p99_ms']:.0f} | {r['max_ms']:.0f} |")
    lines.append(f"\n{result['requests']} requests in {result['elapsed_s']:.1f} s "
                 f"({result['throughput_rps']:.1f} per second), {result['errors']} errors")
    return "\n".join(lines)


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the server's processes (its process group: the
    server was started in a session of its own, uvicorn workers included), from /proc."""
    return cpu_split(group)[0]


def cpu_split(group: int) -> tuple[float, float]:
    """(all the server's CPU seconds, those of its processes' main threads): uvicorn runs the
    event loop (HTTP, middleware, sending) on the main thread, FastAPI the sync handlers (the
    store, templates) in worker threads."""
    total = main = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) != group:  # field 5 of stat: the process group
            continue
        total += int(fields[11]) + int(fields[12])
        try:
            own = (stat.parent / "task" / stat.parent.name / "stat").read_text().rsplit(")", 1)[1].split()
            main += int(own[11]) + int(own[12])
        except OSError:
            pass
    tick = os.sysconf("SC_CLK_TCK")
    return total / tick, main / tick


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60, help=f"seconds of load (at most {MAX_DURATION})")
    parser.add_argument("--max-requests", type=int, default=20_000, help=f"at most {MAX_REQUESTS}")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's requests (s); 0: none")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="do not open each dashboard once before timing")
    parser.add_argument("--postgres", default=os.environ.get("JUNHENG_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="administrative URL of the local PostgreSQL server (a fresh database is created)")
    parser.add_argument("--keep", action="store_true", help="keep the database and workspace (for --reuse)")
    parser.add_argument("--reuse", type=Path, metavar="WORKSPACE", help="a workspace kept with --keep: no set-up")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (junheng serve --workers)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--profile", action="store_true",
                        help="profile the server's requests (pyinstrument, CPU time; junheng.web.profiling) and "
                             "print where their CPU goes per kind of request (the sampling costs CPU itself)")
    args = parser.parse_args(argv)
    args.duration = min(max(args.duration, 1), MAX_DURATION)
    args.max_requests = min(max(args.max_requests, 1), MAX_REQUESTS)
    args.users = max(args.users, 1)
    args.workers = min(max(args.workers, 1), os.cpu_count() or 1)

    print(f"machine: {machine()}")
    name = None
    if args.reuse:
        workspace = args.reuse
        world, url = load_world(workspace)
        if urlsplit(url).hostname not in LOOPBACK:
            raise SystemExit("load.py only talks to a PostgreSQL server on 127.0.0.1")
        print(f"reusing workspace {workspace} ({url.rsplit('/', 1)[1]})")
    else:
        name, url = create_database(args.postgres)
        workspace = Path(tempfile.mkdtemp(prefix="junheng-load-"))
    server = None
    try:
        if not args.reuse:
            print(f"database {name}, workspace {workspace}")
            world = build_world(workspace, url, args.counties, args.users)
        kinds = defaultdict(int)
        for p in world.people:
            kinds[p.kind] += 1
        print(f"  users: {dict(kinds)}")
        port = free_port()
        command = server_command(workspace, port, args.workers)
        profile = workspace / f"profile-{time.strftime('%Y%m%d-%H%M%S')}" if args.profile else None
        server = start_server(command, port, workspace / "server.log",
                              {"JUNHENG_PROFILE": str(profile)} if profile else None)
        print(f"server: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))} (pid {server.pid})")
        load_before = os.getloadavg()[0]
        rec, elapsed, server_cpu = asyncio.run(run_load(world, f"http://127.0.0.1:{port}", args, server.pid))
        result = summary(rec, elapsed) | {
            "login_bounces": rec.login_bounces, "server_cpu_s": server_cpu, "server_loop_cpu_s": rec.loop_cpu, "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
            "users": len(world.people), "counties": len(world.counties), "think_s": args.think,
            "duration_s": args.duration, "workers": args.workers,
            "machine": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv])}
        print()
        print(markdown(result))
        per = max(result["requests"], 1)
        print(f"server CPU during the timed part: {server_cpu:.1f} s "
              f"({server_cpu / per * 1000:.1f} ms per request, of which the event loop threads "
              f"{rec.loop_cpu / per * 1000:.1f} ms); load average "
              f"{result['load_average_before']:.1f} before, {result['load_average_after']:.1f} after")
        if rec.login_bounces:
            print(f"logins bounced back to /login and retried: {rec.login_bounces} of {len(world.people)}")
        for kind, samples in result["error_samples"].items():
            print(f"errors of {kind}: {samples}")
        if args.json:
            args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        if profile is not None:  # the server writes its profile when it stops
            stop_server(server)
            from junheng.web.profiling import summarise

            print(f"\nprofile (CPU time, pyinstrument; call trees in {profile}/profile-tree-*.txt"
                  f"{'' if args.keep or args.reuse else ', removed with the workspace'}):")
            print(summarise(profile))
        if args.keep and not args.reuse:
            print(f"kept: rerun with --reuse {workspace}; drop later with: psql -h 127.0.0.1 -U postgres "
                  f"-c 'DROP DATABASE \"{name}\" WITH (FORCE)'")
        return 0 if result["errors"] == 0 else 1
    finally:
        if server is not None:
            stop_server(server)
        if not args.keep and not args.reuse:
            drop_database(args.postgres, name)
            shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
