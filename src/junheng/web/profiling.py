"""Request profiling for the load benchmark (`bench/load.py --profile`), off unless asked for.

With JUNHENG_PROFILE=<folder> in its environment, each server process samples the CPU time of
every request with pyinstrument (a development dependency: `pip install -e '.[test]'`):

- the synchronous parts of a request (FastAPI runs sync dependencies and handlers, where the
  store is read and the page rendered, in worker threads) are sampled in their thread and added
  up per kind of request (method and route template, e.g. "GET /counties/{code}"), with the
  thread's CPU time of those parts (time.thread_time). The sampling clock is the thread's CPU
  time by default, so that waiting (for PostgreSQL, for a pooled connection, for the GIL) counts
  nothing; reading it at every Python call costs the server several times its CPU, so the
  profile gives each part's *share*, and the unprofiled run the absolute figures.
  JUNHENG_PROFILE_CLOCK=wall samples wall time instead (pyinstrument's timing thread: cheap,
  but a saturated server then shows mostly its queues);
- the event loop thread (uvicorn's HTTP parsing, middleware, sending the responses) is profiled
  as one whole, since the requests interleave on it.

At shutdown every process writes `profile-<pid>.json` into the folder: per kind the number of
requests, their CPU seconds in worker threads and the sampled stacks (identical stacks merged);
`summarise` merges the files of all workers into a text summary. Nothing of this runs without
the variable: `create_app` only adds the middleware when it is set."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

PROFILE_ENV = "JUNHENG_PROFILE"
CLOCK_ENV = "JUNHENG_PROFILE_CLOCK"
ATTRIBUTES = "\x01"  # pyinstrument's separator of a frame's attributes (class, line)
INTERVAL = 0.001  # s between samples
WAITING = ("psycopg/waiting", "psycopg_c/", "/selectors.py", "/threading.py")  # leaf frames that wait, not compute
LOOP_KIND = "(event loop: HTTP, middleware, sending responses)"


@dataclass
class _Kind:
    requests: int = 0
    cpu_s: float = 0.0  # thread CPU of the request's synchronous parts
    stacks: dict[tuple[str, ...], float] = field(default_factory=lambda: defaultdict(float))


@dataclass
class _Request:
    cpu_s: float = 0.0
    records: list = field(default_factory=list)


_current: ContextVar[_Request | None] = ContextVar("junheng_profiled_request", default=None)


def profile_folder() -> Path | None:
    value = os.environ.get(PROFILE_ENV)
    return Path(value) if value else None


def _profiler():
    """A pyinstrument profiler of this thread: its clock the thread's CPU time, or with
    JUNHENG_PROFILE_CLOCK=wall wall time read from pyinstrument's timing thread."""
    from pyinstrument import Profiler
    from pyinstrument.stack_sampler import get_stack_sampler

    if os.environ.get(CLOCK_ENV) == "wall":
        return Profiler(interval=INTERVAL, async_mode="disabled", use_timing_thread=True)
    sampler = get_stack_sampler()  # one per thread
    if not sampler.subscribers:
        sampler.timer_func = time.thread_time
    return Profiler(interval=INTERVAL, async_mode="disabled")


def _trimmed(stack: list[str]) -> tuple[str, ...]:
    """A sample's frames below our wrapper (`profiled`), without their line attributes: the
    worker thread's own frames and which thread it was would only split the tree."""
    frames = [frame.split(ATTRIBUTES, 1)[0] for frame in stack]
    for n, frame in enumerate(frames):
        if frame.startswith("profiled\x00") and frame.split("\x00")[1].endswith("profiling.py"):
            return tuple(frames[n + 1:])
    return tuple(frames)


class RequestProfiler:
    """ASGI middleware: profiles each HTTP request's thread work and keeps it per kind."""

    def __init__(self, app, folder: Path):
        self.app = app
        self.folder = folder
        self.kinds: dict[str, _Kind] = defaultdict(_Kind)
        self.lock = threading.Lock()
        self.loop_profiler = None
        self.loop_cpu = 0.0
        _patch_threadpool()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(scope, receive, send)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = _Request()
        token = _current.set(request)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
            route = scope.get("route")
            path = getattr(route, "path", None) or ("/static/…" if scope["path"].startswith("/static/") else "(other)")
            kind = f"{scope['method']} {path}"
            with self.lock:
                entry = self.kinds[kind]
                entry.requests += 1
                entry.cpu_s += request.cpu_s
                for stack, seconds in request.records:
                    entry.stacks[_trimmed(stack)] += seconds

    async def _lifespan(self, scope, receive, send):
        async def receive_and_watch():
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop_profiler = _profiler()
                self.loop_cpu = time.thread_time()
                self.loop_profiler.start()
            elif message["type"] == "lifespan.shutdown":
                self.write()
            return message

        return await self.app(scope, receive_and_watch, send)

    def write(self) -> None:
        """profile-<pid>.json: what this process measured (see `summarise`)."""
        kinds = {kind: {"requests": k.requests, "cpu_s": k.cpu_s, "stacks": [[list(s), t] for s, t in k.stacks.items()]}
                 for kind, k in self.kinds.items()}
        if self.loop_profiler is not None:
            session = self.loop_profiler.stop()
            merged: dict[tuple[str, ...], float] = defaultdict(float)
            for stack, seconds in session.frame_records:
                merged[_trimmed(stack)] += seconds
            kinds[LOOP_KIND] = {"requests": 0, "cpu_s": time.thread_time() - self.loop_cpu,
                                "stacks": [[list(s), t] for s, t in merged.items()]}
            self.loop_profiler = None
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"profile-{os.getpid()}.json").write_text(json.dumps({"kinds": kinds}), encoding="utf-8")


_patched = False


def _patch_threadpool() -> None:
    """Wrap anyio's run_sync (through which Starlette and FastAPI run every sync dependency and
    handler) so that a profiled request's thread work is sampled in that thread."""
    global _patched
    if _patched:
        return
    import anyio.to_thread

    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, **kwargs):
        request = _current.get()
        if request is None:
            return await original(func, *args, **kwargs)

        def profiled(*inner):
            profiler = _profiler()
            started = time.thread_time()
            profiler.start()
            try:
                return func(*inner)
            finally:
                session = profiler.stop()
                request.cpu_s += time.thread_time() - started
                request.records.extend(session.frame_records)

        return await original(profiled, *args, **kwargs)

    anyio.to_thread.run_sync = run_sync
    _patched = True


# ---------------------------------------------------------------- the summary (bench/load.py --profile)


def _place(identifier: str) -> tuple[str, str]:
    """(function, where) of a frame identifier "function\\0file\\0line"."""
    function, file, line = (identifier.split("\x01", 1)[0].split("\x00") + ["", ""])[:3]
    return function, f"{_module(file)}:{line}"


def _module(file: str) -> str:
    for marker in ("/site-packages/", "/src/"):
        if marker in file:
            return file.split(marker, 1)[1].removesuffix(".py").replace("/", ".")
    if "/lib/python" in file:
        return "stdlib." + file.split("/lib/python", 1)[1].split("/", 1)[-1].removesuffix(".py").replace("/", ".")
    return file


def _package(identifier: str) -> str:
    """Where a sample's own time is spent: the top package, junheng's sub-package."""
    module = _module(identifier.split("\x01", 1)[0].split("\x00")[1] if "\x00" in identifier else identifier)
    parts = module.split(".")
    if parts[0] == "junheng" and len(parts) > 1:
        return ".".join(parts[:2])
    if parts[0] == "stdlib" and len(parts) > 1:
        return "stdlib." + parts[1]
    return parts[0] or "?"


def load_profiles(folder: Path) -> dict[str, dict]:
    """The profile files of all server processes, merged per kind."""
    kinds: dict[str, dict] = {}
    for path in sorted(folder.glob("profile-*.json")):
        for kind, data in json.loads(path.read_text(encoding="utf-8"))["kinds"].items():
            entry = kinds.setdefault(kind, {"requests": 0, "cpu_s": 0.0, "stacks": defaultdict(float)})
            entry["requests"] += data["requests"]
            entry["cpu_s"] += data["cpu_s"]
            for stack, seconds in data["stacks"]:
                entry["stacks"][tuple(stack)] += seconds
    return kinds


def _waits(identifier: str) -> bool:
    return any(marker in identifier for marker in WAITING)


def summarise(folder: Path, *, top: int = 12, trees: bool = True) -> str:
    """Per kind of request: requests, CPU per request, own CPU by package, and the junheng
    functions (with what they call) that take most of it; the computing samples share out the
    measured CPU time, the waiting ones are given as wall time. With `trees`, pyinstrument's
    call tree of each kind is written beside the files (profile-tree-<n>.txt)."""
    kinds = load_profiles(folder)
    lines = []
    total_requests = sum(k["requests"] for k in kinds.values())
    ordered = sorted(kinds.items(), key=lambda item: -item[1]["cpu_s"])
    for n, (kind, data) in enumerate(ordered):
        per = data["requests"] or total_requests or 1
        waiting = sum(t for stack, t in data["stacks"].items() if stack and _waits(stack[-1]))
        computing = sum(data["stacks"].values()) - waiting or 1e-12
        label = "per request of any kind" if not data["requests"] else "per request"
        lines.append(f"\n{kind}: {data['requests']} requests, {data['cpu_s'] / per * 1000:.1f} ms CPU {label}"
                     f" ({data['cpu_s']:.1f} s in all); waiting for the database {waiting / per * 1000:.1f} ms"
                     f" (wall)")
        scale = data["cpu_s"] / computing / per * 1000  # computing samples → ms of CPU per request
        own: dict[str, float] = defaultdict(float)
        inclusive: dict[str, float] = defaultdict(float)
        for stack, seconds in data["stacks"].items():
            if not stack or _waits(stack[-1]):
                continue
            own[_package(stack[-1])] += seconds
            for identifier in {s.split("\x01", 1)[0] for s in stack}:
                inclusive[identifier] += seconds
        packages = sorted(own.items(), key=lambda item: -item[1])[:8]
        lines.append("  own CPU by package (ms per request): "
                     + ", ".join(f"{p} {t * scale:.1f}" for p, t in packages))
        ours = [(i, t) for i, t in inclusive.items()
                if "/junheng/" in i and 0.02 * computing < t < 0.97 * computing]
        for identifier, seconds in sorted(ours, key=lambda item: -item[1])[:top]:
            function, where = _place(identifier)
            lines.append(f"  {seconds * scale:6.1f} ms  {seconds / computing:4.0%}  {function}  ({where})")
        if trees:
            _write_tree(folder / f"profile-tree-{n:02d}.txt", kind, data)
    return "\n".join(lines)


def _write_tree(path: Path, kind: str, data: dict) -> None:
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    records = [(list(stack), seconds) for stack, seconds in data["stacks"].items() if stack]
    if not records:
        return
    stem = records[0][0]
    for stack, _ in records[1:]:  # the common start of every stack (the worker thread's), trimmed
        common = 0
        while common < min(len(stem), len(stack)) and stem[common] == stack[common]:
            common += 1
        stem = stem[:common]
    sampled = sum(seconds for _, seconds in records)
    session = Session(frame_records=records, start_time=0, duration=sampled, min_interval=INTERVAL,
                      max_interval=INTERVAL, sample_count=len(records), start_call_stack=stem or [records[0][0][0]],
                      target_description=kind, cpu_time=data["cpu_s"], sys_path=[],
                      sys_prefixes=Session.current_sys_prefixes())
    text = ConsoleRenderer(unicode=True, color=False, short_mode=False, show_all=False,
                           processor_options={"filter_threshold": 0.01}).render(session)
    path.write_text(f"{kind}: {data['requests']} requests, {data['cpu_s']:.2f} s CPU; the tree below is of "
                    f"sampled wall seconds (waiting for PostgreSQL included)\n{text}", encoding="utf-8")
