"""Exit status 0 when every requirement of the given files is installed at a version it allows; otherwise 1, and
the ones that are not on stderr. Lets `make` skip pip (two seconds before every command) when nothing is missing.

    python3 scripts/requirements_met.py requirements.txt
"""

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement


def unmet(path: Path) -> list[str]:
    missing = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            return [f"{line} (not understood here: pip decides)"]
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            missing.append(f"{requirement} (not installed)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{requirement} ({installed} installed)")
    return missing


if __name__ == "__main__":
    found = [entry for file in sys.argv[1:] for entry in unmet(Path(file))]
    print("\n".join(found), file=sys.stderr, end="\n" if found else "")
    sys.exit(1 if found else 0)
