"""Read a Dockerfile the way the tests need it: instructions per stage, ENV, the exec-form
ENTRYPOINT/CMD and HEALTHCHECK, so the tests run exactly what the image runs."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    stages: list[list[Instruction]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        instructions: list[Instruction] = []
        pending, start = "", 0
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            if pending and line.startswith("#"):
                continue
            if not pending:
                start = number
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = pending + line
            pending = ""
            keyword, _, args = text.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip(), start))
        stages: list[list[Instruction]] = []
        for ins in instructions:
            if ins.keyword == "FROM":
                stages.append([])
            if stages:
                stages[-1].append(ins)
        return cls(instructions, stages)

    @property
    def final(self) -> list[Instruction]:
        return self.stages[-1]

    def last(self, keyword: str, stage: list[Instruction] | None = None) -> Instruction | None:
        found = [i for i in (stage or self.final) if i.keyword == keyword]
        return found[-1] if found else None

    def all(self, keyword: str, stage: list[Instruction] | None = None) -> list[Instruction]:
        return [i for i in (stage or self.final) if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """ENV of the final stage (KEY=VALUE pairs, shell-quoted values allowed)."""
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for token in shlex.split(ins.args):
                key, sep, value = token.partition("=")
                if not sep:
                    raise ValueError(f"line {ins.line}: use ENV KEY=VALUE")
                out[key] = value
        return out

    def exec_form(self, keyword: str) -> list[str]:
        ins = self.last(keyword)
        if ins is None:
            return []
        value = json.loads(ins.args)  # exec form only: a JSON array
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"line {ins.line}: {keyword} must be a JSON array of strings")
        return value

    def command(self) -> list[str]:
        """What the container runs: ENTRYPOINT + CMD."""
        return self.exec_form("ENTRYPOINT") + self.exec_form("CMD")

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """(options, exec-form command) of the HEALTHCHECK."""
        ins = self.last("HEALTHCHECK")
        if ins is None:
            return {}, []
        head, sep, cmd = ins.args.partition(" CMD ")
        if not sep:
            raise ValueError(f"line {ins.line}: HEALTHCHECK needs CMD")
        options = {}
        for token in shlex.split(head):
            key, _, value = token.lstrip("-").partition("=")
            options[key] = value
        return options, json.loads(cmd)
