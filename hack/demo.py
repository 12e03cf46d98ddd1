"""Create a sandbox with the official OpenSandbox SDK and run code in it.

Reads OPEN_SANDBOX_DOMAIN and OPEN_SANDBOX_API_KEY like any SDK program.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from opensandbox.sync import SandboxSync

VERSION = (Path(__file__).resolve().parents[1] / "VERSION").read_text().strip()
IMAGE = f"sandhold/base:{VERSION}"

CODE = """
import platform, sys
print(f"hello from Python {sys.version.split()[0]} in a sandbox")
print(f"kernel release seen inside: {platform.release()}")
"""


def main() -> None:
    sandbox = SandboxSync.create(IMAGE, timeout=timedelta(minutes=5))
    try:
        print(f"sandbox {sandbox.id} is running")
        sandbox.files.write_file("/tmp/hello.py", CODE)
        result = sandbox.commands.run("python3 /tmp/hello.py && dmesg | head -n 1")
        for line in result.logs.stdout:
            print(f"  | {line.text}")
        for line in result.logs.stderr:
            print(f"  ! {line.text}")
        if result.error:
            raise SystemExit(f"the command failed: {result.error.value}")
    finally:
        sandbox.kill()
        sandbox.close()
    print("sandbox removed; demo done")


if __name__ == "__main__":
    main()
