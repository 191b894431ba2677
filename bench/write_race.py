"""How many concurrent saves `fix --write`'s writer loses (issue 11 item 12).

Each trial writes one patched file with scanner.migrate.writer.write_in_place while an editor thread
saves the same file once, at a random moment of the write: in place (truncate + write), by rename
(write a temporary file, os.replace it over the script), or through a file it opened just before and
writes 0.5 ms later. A save is lost when the file does not end up holding it.

    python bench/write_race.py [--trials 1000] [--spread 0.012] [--root /work/main]

``--root`` measures another checkout's writer (for a before/after figure).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path


def trials(writer: object, folder: Path, how: str, count: int, spread: float, seed: int) -> tuple[int, int, int]:
    chooser = random.Random(seed)
    lost = written = skipped = 0
    script = folder / "busy.ps1"
    original = b"Send-MailMessage -To a@contoso.com\n"
    for attempt in range(count):
        script.write_bytes(original)
        content = f"# edit {attempt}\n".encode() + original
        delay = chooser.uniform(0, spread)

        def editor(delay: float = delay, content: bytes = content) -> None:
            end = time.perf_counter() + delay
            while time.perf_counter() < end:
                pass
            if how == "in-place":
                with open(script, "r+b") as stream:
                    stream.truncate(0)
                    stream.write(content)
            elif how == "rename":
                temporary = folder / ".editor-save"
                temporary.write_bytes(content)
                os.replace(temporary, script)
            else:
                with open(script, "r+b") as stream:
                    time.sleep(0.0005)
                    stream.truncate(0)
                    stream.write(content)

        thread = threading.Thread(target=editor)
        thread.start()
        try:
            writer.write_in_place(script, b"PATCHED " + original, original)  # type: ignore[attr-defined]
            written += 1
        except writer.WriteSkipped:  # type: ignore[attr-defined]
            skipped += 1
        thread.join()
        if script.read_bytes() != content:
            lost += 1
    return lost, written, skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.012, help="seconds over which the save moment is drawn")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.root))
    from scanner.migrate import writer

    print(f"writer of {args.root}: {args.trials} trials per way of saving, save moment in [0, {args.spread * 1000:.0f} ms]")
    for seed, how in enumerate(("in-place", "rename", "open-early")):
        with tempfile.TemporaryDirectory() as folder:
            lost, written, skipped = trials(writer, Path(folder), how, args.trials, args.spread, seed)
        print(f"{how:<11} lost {lost:>4}   patch written {written:>4}   skipped (changed) {skipped:>4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
