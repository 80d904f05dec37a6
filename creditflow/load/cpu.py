"""The CPU each part of the stack used while the load ran, per charged call, and the ceiling that follows for this
machine: the charged calls a second at which its cores would be full, were the load's mix the only work on them.

Read from /proc (Linux): a part is the process tree under each of its processes, and its CPU is what each live
process of the tree used, with what its children that ended used (`cutime`, `cstime`). Locust's processes are the
load script's children, measured when they have ended (`RUSAGE_CHILDREN`).
"""

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
LOCUST = "Locust itself"


def process_table(proc: Path = Path("/proc")) -> dict[int, tuple[int, float]]:
    """Every process: its parent, and the CPU seconds it and its ended children used."""
    table = {}
    for entry in proc.glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:  # it ended while the table was read
            continue
        fields = text[text.rindex(")") + 2:].split()  # after the command's name, which may hold spaces
        ppid, utime, stime, cutime, cstime = int(fields[1]), *map(int, fields[11:15])
        table[int(entry.parent.name)] = (ppid, (utime + stime + cutime + cstime) * TICK_S)
    return table


def tree_cpu_s(roots: list[int], table: dict[int, tuple[int, float]]) -> float:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root for root in roots if root in table]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return sum(table[pid][1] for pid in seen)


def machine_busy_s(stat: Path = Path("/proc/stat")) -> float:
    """CPU seconds every process on the machine has used since it booted (all cores, idle and I/O wait excluded)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) * TICK_S


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Reading:
    parts: dict[str, float]
    machine_s: float
    locust_s: float


def read(parts: dict[str, list[int]]) -> Reading:
    table = process_table()
    return Reading({part: tree_cpu_s(pids, table) for part, pids in parts.items()}, machine_busy_s(),
                   children_cpu_s())


@dataclass(frozen=True)
class CpuUse:
    """What the load cost in CPU over `seconds`: per part of the stack and Locust, and the whole machine's."""

    seconds: float
    parts: dict[str, float]  # CPU seconds
    machine_s: float  # every process on the machine, the others' work included
    cores: int

    @classmethod
    def between(cls, before: Reading, after: Reading, seconds: float, cores: int) -> "CpuUse":
        parts = {part: max(after.parts[part] - before.parts.get(part, 0.0), 0.0) for part in after.parts}
        parts[LOCUST] = after.locust_s - before.locust_s
        return cls(seconds, parts, after.machine_s - before.machine_s, cores)

    @property
    def stack_s(self) -> float:
        return sum(self.parts.values())

    def per_call_ms(self, calls: int) -> dict[str, float]:
        return {part: 1000 * used / calls for part, used in self.parts.items()} if calls else {}

    def ceiling(self, calls: int) -> float | None:
        """Charged calls a second at which the cores would be full, each call costing what this load's did."""
        return self.cores * calls / self.stack_s if calls and self.stack_s else None

    def lines(self, calls: int, rates: dict[str, float | None]) -> list[str]:
        """The report's lines: CPU per charged call per part, the ceiling, and `rates` (name: charged calls/s) as
        shares of it; then how busy the machine was, and how much of that was others' work."""
        ceiling = self.ceiling(calls)
        if ceiling is None:
            return ["CPU per charged call: no charged call to divide by"]
        per_call = self.per_call_ms(calls)
        lines = [f"CPU per charged call over the load's {self.seconds:.0f} s and {calls} charged calls (the whole "
                 "mix's work divided by them: sign-ins, reads and BYOK calls included), ms:",
                 "  " + ", ".join(f"{part} {ms:.1f}" for part, ms in per_call.items())
                 + f"; {sum(per_call.values()):.1f} in all",
                 f"Ceiling on this machine: {self.cores} cores full at {ceiling:.1f} charged calls/s"]
        lines += [f"  {name}: {rate:.1f} charged calls/s, {100 * rate / ceiling:.0f}% of the ceiling"
                  for name, rate in rates.items() if rate is not None]
        capacity = self.cores * self.seconds
        others = max(self.machine_s - self.stack_s, 0.0)
        lines.append(f"The machine's {self.cores} cores were {100 * self.machine_s / capacity:.0f}% busy during the "
                     f"load: the stack and Locust {100 * self.stack_s / capacity:.0f}%, other work "
                     f"{100 * others / capacity:.0f}%")
        return lines

    def summary(self, calls: int) -> dict:
        ceiling = self.ceiling(calls)
        return {"seconds": round(self.seconds, 1), "cores": self.cores,
                "cpu_s": {part: round(used, 2) for part, used in self.parts.items()},
                "ms_per_charged_call": {part: round(ms, 2) for part, ms in self.per_call_ms(calls).items()},
                "ceiling_charged_calls_per_s": None if ceiling is None else round(ceiling, 1),
                "machine_busy_share": round(self.machine_s / (self.cores * self.seconds), 3) if self.seconds else None}
