"""YAML from users (standards and rule files of a workspace, cost tables, scenarios, a dataset's
metadata.yaml), read with bounds: a size limit, no aliases and a nesting limit.

A 447-byte "billion laughs" file of nested aliases expands to gigabytes once its value is
walked (merged, validated, dumped); the files junheng reads never need aliases, so they are
refused before anything is built. The check walks the parser's events (the C parser when
available), which costs a fraction of loading.
"""

from __future__ import annotations

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~10x faster
MAX_BYTES = 2 * 1024 * 1024  # far above any standard, rule or cost file (national-2017 is ~30 KB)
MAX_DEPTH = 40


class UnsafeYaml(yaml.YAMLError):
    """A refused file; `problem` and `problem_mark` as the parser's own errors carry them, so
    callers that locate YAML errors report these the same way."""

    def __init__(self, problem: str, mark=None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def check(text: str) -> None:
    """Raise UnsafeYaml when `text` is too large, uses an alias or nests too deeply."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise UnsafeYaml(f"文件过大({size // 1024} KB),最多 {MAX_BYTES // 1024 // 1024} MB")
    depth = 0
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYaml("使用了 YAML 别名(*名称),为安全起见不接受;请直接写出取值", event.start_mark)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise UnsafeYaml(f"嵌套层次超过 {MAX_DEPTH} 层", event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load(text: str):
    """The YAML value of `text`, after `check`; yaml.YAMLError (UnsafeYaml included) when not."""
    check(text)
    return yaml.load(text, Loader=LOADER)
