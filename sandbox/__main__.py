"""python -m sandbox up | status | down"""

import argparse
import sys

from sandbox import stack as sandbox


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="The embedded Ops-Center stack.")
    parser.add_argument("command", choices=["up", "status", "down"])
    parser.add_argument("--ops-center-source", metavar="PATH",
                        help="also run the real Ops-Center from this checkout (Ops-Center-OSS)")
    parser.add_argument("--fresh", action="store_true",
                        help="with --ops-center-source: start it again from a new database, as if just deployed")
    arguments = parser.parse_args()
    command = arguments.command
    if command == "up":
        try:
            stack = (sandbox.start_product(arguments.ops_center_source, fresh=arguments.fresh)
                     if arguments.ops_center_source else sandbox.up())
        except sandbox.StartError as error:
            print(f"sandbox: cannot start: {error}", file=sys.stderr)
            return 1
        for name, url in stack.urls.items():
            print(f"{name:16} {url}")
        print(f"start-up times (s): {stack.timings}")
        print(f"state written to {sandbox.STATE_FILE}")
        return 0
    if command == "status":
        stack = sandbox.Stack.load()
        if stack is None:
            print("sandbox: not running")
            return 1
        for name, pid in stack.pids.items():
            print(f"{name:12} pid {pid:<8} {'running' if sandbox.alive(pid) else 'STOPPED'}")
        report = sandbox.health(stack)
        print("health:", report)
        return 0 if all(value == "ok" for value in report.values()) else 1
    stopped = sandbox.down()
    print(f"sandbox: stopped {', '.join(stopped) if stopped else 'nothing (not running)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
