#!/usr/bin/env python3
"""What the kernel charges for first touching page-cache pages, without FerroMQ.

    scripts/page-cost.py [DIR] [MIB] [ROUNDS]
    scripts/page-cost.py --window WMIB [DIR] [MIB]

Creates a new MIB-sized file in DIR (default: the current directory), maps it shared and
populates it for writing with madvise(MADV_POPULATE_WRITE), as the broker's commit-log
preallocation does, and prints the system time that took, per GiB. With `--huge` the mapping
is also advised MADV_HUGEPAGE. Each round uses a new file and the files are removed at the end
(removing one first would leave its pages warm for the next). On the project's VM the figure is
2–3 s per GiB when memory is cold, about a tenth of that right after other files were freed:
see docs/benchmark.md, "Kernel time, and what a VM adds to it".

With `--window WMIB` it writes one MIB-sized file in 64 MiB steps the same way, and after each
step drops the part more than WMIB behind from the page cache (`MADV_DONTNEED` on the mapping,
`fdatasync`, `posix_fadvise(POSIX_FADV_DONTNEED)`), as the broker does with
`commitLogPageCacheMb`; it prints the system time per GiB while the window fills and after.
"""
import mmap
import os
import resource
import sys

MADV_POPULATE_WRITE = 23  # linux/mman.h; Python's mmap module does not name it


def populate(path: str, size: int, huge: bool) -> float:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.ftruncate(fd, size)
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            if huge:
                m.madvise(mmap.MADV_HUGEPAGE)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
            step = 64 << 20
            for off in range(0, size, step):
                m.madvise(MADV_POPULATE_WRITE, off, min(step, size - off))
            return resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
    finally:
        os.close(fd)


def windowed(path: str, size: int, window: int) -> None:
    """Writes `path` in steps, dropping what is more than `window` bytes behind from the cache."""
    step = 64 << 20
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.ftruncate(fd, size)
        filling, after = [0.0, 0], [0.0, 0]
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            for off in range(0, size, step):
                n = min(step, size - off)
                before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
                m.madvise(MADV_POPULATE_WRITE, off, n)
                spent = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
                part = filling if off < window else after
                part[0] += spent
                part[1] += n
                old = off - window
                if old >= 0:
                    m.madvise(mmap.MADV_DONTNEED, old, step)
                    os.fdatasync(fd)
                    os.posix_fadvise(fd, old, step, os.POSIX_FADV_DONTNEED)
        for name, (secs, done) in (("while the window fills", filling), ("after", after)):
            if done:
                print(f"{name}: {done >> 20} MiB, system time {secs:.2f} s = "
                      f"{secs * (1 << 30) / done:.2f} s per GiB")
    finally:
        os.close(fd)
        os.remove(path)


def main() -> None:
    if "--window" in sys.argv[1:]:
        at = sys.argv.index("--window")
        window = int(sys.argv[at + 1]) << 20
        rest = sys.argv[1:at] + sys.argv[at + 2:]
        folder = rest[0] if rest else "."
        mib = int(rest[1]) if len(rest) > 1 else 4096
        windowed(os.path.join(folder, f"page-cost.{os.getpid()}.w"), mib << 20, window)
        return
    args = [a for a in sys.argv[1:] if a != "--huge"]
    huge = "--huge" in sys.argv[1:]
    folder = args[0] if args else "."
    mib = int(args[1]) if len(args) > 1 else 1024
    rounds = int(args[2]) if len(args) > 2 else 2
    paths = [os.path.join(folder, f"page-cost.{os.getpid()}.{i}") for i in range(rounds)]
    try:
        for i, path in enumerate(paths):
            sys_s = populate(path, mib << 20, huge)
            print(f"round {i + 1}: {mib} MiB populated, system time {sys_s:.2f} s = "
                  f"{sys_s * 1024 / mib:.2f} s per GiB{' (MADV_HUGEPAGE)' if huge else ''}")
    finally:
        for path in paths:
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
