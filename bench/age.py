"""Benchmark: age-encrypt and decrypt a file through AgeWriter / decrypt_file, file to file.

    .venv/bin/python bench/age.py [--mb 256] [--dir /tmp]

Encrypting reads the plaintext file in 64 KiB pieces and writes them into an `AgeWriter` on the
output file, as the Parquet/CSV writers will; decrypting is `decrypt_file` (temporary file,
fsync, rename) and, to show what the fsync costs, `decrypt_chunks` into a plain file ("nosync").
Each decrypted file is hashed and compared with the plaintext.

Baseline from the same run: raw ChaCha20-Poly1305 over the same 64 KiB chunks, file to file, with
a counter nonce but no age header, key derivation, framing or fsync. The ratio is the cost of
age on top of the cipher itself. Each step runs `--repeat` times timed (the best counts), then
once under tracemalloc for its peak Python memory, which must stay at a few chunks whatever the
file size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file is "bench/age.py": put the repository first so that imports find
# the packages, not this directory.
sys.path.insert(0, str(REPO))

from ageformat import (  # noqa: E402
    CHUNK_SIZE,
    AgeWriter,
    decrypt_chunks,
    decrypt_file,
    generate_identity,
)

MIB = 1024 * 1024


def make_plaintext(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(mib):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def baseline_encrypt(aead: ChaCha20Poly1305, src: Path, dst: Path) -> None:
    with src.open("rb") as source, dst.open("wb") as out:
        counter = 0
        while chunk := source.read(CHUNK_SIZE):
            out.write(aead.encrypt(counter.to_bytes(12, "big"), chunk, None))
            counter += 1


def baseline_decrypt(aead: ChaCha20Poly1305, src: Path, dst: Path) -> None:
    with src.open("rb") as source, dst.open("wb") as out:
        counter = 0
        while chunk := source.read(CHUNK_SIZE + 16):
            out.write(aead.decrypt(counter.to_bytes(12, "big"), chunk, None))
            counter += 1


def age_encrypt(src: Path, dst: Path, recipient: str) -> None:
    with src.open("rb") as source, dst.open("wb") as out, AgeWriter(out, [recipient]) as writer:
        while chunk := source.read(CHUNK_SIZE):
            writer.write(chunk)


def age_decrypt_unsynced(src: Path, dst: Path, identity: str) -> None:
    with src.open("rb") as source, dst.open("wb") as out:
        for chunk in decrypt_chunks(source, identity):
            out.write(chunk)


def measure(step: Callable[[], None], output: Path, repeat: int) -> tuple[float, int]:
    """Best seconds of `repeat` runs, then peak traced Python memory (bytes) of one more run.

    Before each run the output is removed (no step pays for truncating another's file) and dirty
    pages are written back (no step pays for the previous step's writes): file-to-file figures
    on a shared disk are noisy otherwise.
    """
    times = []
    for _ in range(repeat):
        output.unlink(missing_ok=True)
        os.sync()
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    output.unlink(missing_ok=True)
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="plaintext size in MiB")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per step (best counts)")
    args = parser.parse_args()
    identity, recipient = generate_identity()
    aead = ChaCha20Poly1305(ChaCha20Poly1305.generate_key())

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        plain, sealed, opened = root / "plain.bin", root / "plain.age", root / "plain.out"
        expected = make_plaintext(plain, args.mb)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        steps: list[tuple[str, Path, Callable[[], None]]] = [
            ("baseline encrypt", sealed, lambda: baseline_encrypt(aead, plain, sealed)),
            ("baseline decrypt", opened, lambda: baseline_decrypt(aead, sealed, opened)),
            ("age encrypt", sealed, lambda: age_encrypt(plain, sealed, recipient)),
            ("age decrypt", opened, lambda: decrypt_file(sealed, identity, opened)),
            ("age decrypt nosync", opened, lambda: age_decrypt_unsynced(sealed, opened, identity)),
        ]
        results = {}
        print(f"{args.mb} MiB, {CHUNK_SIZE // 1024} KiB chunks, best of {args.repeat}, in {root}")
        for name, output, step in steps:
            seconds, peak = measure(step, output, args.repeat)
            results[name] = seconds
            rate = args.mb * MIB / seconds / 1e6
            print(f"  {name:18} {seconds:7.3f} s  {rate:7.0f} MB/s  peak {peak / MIB:6.2f} MiB")
            if "decrypt" in name:
                assert sha256_of(opened) == expected, f"{name}: output differs from the input"
        overhead = os.path.getsize(sealed) - os.path.getsize(plain)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name in ("age encrypt", "age decrypt", "age decrypt nosync"):
            baseline = "baseline " + name.split()[1]
            ratio = results[name] / results[baseline]
            print(f"  {name} takes {ratio:.2f}x the {baseline}'s time")
        print(f"  age file is {overhead} bytes larger than the plaintext")
        before, after = rss_before / 1024, rss_after / 1024
        print(f"  max RSS: {before:.1f} MiB before the steps, {after:.1f} MiB after them")


if __name__ == "__main__":
    main()
