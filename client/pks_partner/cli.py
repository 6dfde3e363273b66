"""`pks-partner`: the partner's command line (argparse, so the client needs no CLI library).

    pks-partner agreements | deliveries [--json]
    pks-partner download ID [--out DIR] [--identity KEY] [--no-resume]
    pks-partner verify MANIFEST [--data FILE] [--manifest-key KEY | --url URL]
    pks-partner decrypt FILE --identity KEY --out FILE [--manifest MANIFEST]
    pks-partner verify-nik FILE.csv [--out FILE]

The gateway from `--url` or PKS_PARTNER_URL, the token from `--token` or PKS_PARTNER_TOKEN (the
environment keeps it out of the process list), the identity from `--identity` or
PKS_PARTNER_IDENTITY. An error is one line on standard error, never a traceback; exit 1 when
something does not verify, 2 for a usage error, 3 for any other error (the gateway's refusal with
its problem's title and detail, an unreachable gateway, a file that cannot be read).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ageformat import AgeError, decrypt_file
from pks_partner.client import Client
from pks_partner.download import decrypt_delivery, refuse_unless_verified
from pks_partner.errors import PartnerError, VerificationFailed
from pks_partner.identity import identities_of
from pks_partner.known_keys import KnownKeys, read_public_key
from pks_partner.manifest import parse_manifest
from pks_partner.nik import verify_csv
from pks_partner.transport import gateway_origin
from pks_partner.verify import verify_delivery

ENV_URL, ENV_TOKEN, ENV_IDENTITY = "PKS_PARTNER_URL", "PKS_PARTNER_TOKEN", "PKS_PARTNER_IDENTITY"
MANIFEST_LIMIT = 4 * 1024 * 1024
TEXT_LIMIT = 64 * 1024
VERIFICATION_FAILED, USAGE, OTHER = 1, 2, 3

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.command(args)
        return code
    except VerificationFailed as error:
        return _fail(str(error), VERIFICATION_FAILED)
    except PartnerError as error:
        return _fail(str(error), OTHER)
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        return _fail(f"{error.strerror or type(error).__name__}{where}", OTHER)
    except KeyboardInterrupt:
        return _fail("interrupted (a download resumes where it stopped when run again)", 130)
    except Exception as error:  # a bug of ours: its class only, since its text could hold data
        return _fail(f"unexpected {type(error).__name__}; please report it", OTHER)


def _fail(message: str, code: int) -> int:
    print(f"pks-partner: {message}", file=sys.stderr)
    return code


# --- commands ------------------------------------------------------------------------------------
def agreements(args: argparse.Namespace) -> int:
    found = _client(args).agreements()
    if args.json:
        _print_json([dict(a.document) for a in found])
        return 0
    for agreement in found:
        print(f"{agreement.short_id}  v{agreement.version}  {agreement.status}  {agreement.number}")
        print(f"  institution  {agreement.institution}")
        print(f"  elements     {', '.join(agreement.elements)}")
        print(
            f"  valid        {agreement.document.get('valid_from')} to "
            f"{agreement.document.get('valid_until')}"
        )
        delivery, quota = agreement.document.get("delivery"), agreement.document.get("quota")
        if isinstance(delivery, dict) and isinstance(quota, dict):
            print(
                f"  delivery     {delivery.get('format')}, {delivery.get('schedule')}; quota "
                f"{quota.get('used')} of {quota.get('quota')} used this {quota.get('period')}"
            )
    return 0


def deliveries(args: argparse.Namespace) -> int:
    found = _client(args).deliveries()
    if args.json:
        _print_json([dict(d.document) for d in found])
        return 0
    if not found:
        print("no published delivery for this token")
    for item in found:
        print(f"{item.id}  {item.format}  v{item.version}  published {item.published_at or '-'}")
    return 0


def download(args: argparse.Namespace) -> int:
    client = _client(args)
    identity = args.identity or os.environ.get(ENV_IDENTITY) or None
    done = client.download(args.id, args.out, resume=not args.no_resume, identity=identity)
    for line in done.check.lines():
        print(line)
    if done.key.source != "configured":
        print(f"manifest key {done.key.fingerprint} ({done.key.source}, {client.trust.known.path})")
    if done.resumed_from:
        print(f"resumed at byte {done.resumed_from}; fetched {done.fetched} more")
    print(f"manifest   {done.manifest_path}")
    print(f"encrypted  {done.encrypted}")
    if done.data is not None:
        print(f"data       {done.data}")
    else:
        print("not decrypted (no --identity): `pks-partner decrypt` it later")
    return 0


def verify(args: argparse.Namespace) -> int:
    manifest = Path(args.manifest)
    manifest_bytes = _read(manifest, MANIFEST_LIMIT)
    signature_file = manifest.with_name(manifest.name + ".sig")
    signature = _read(signature_file, TEXT_LIMIT).decode("ascii", "replace")
    key = _manifest_key(args, signature)
    data = Path(args.data) if args.data else _beside(manifest, manifest_bytes)
    newer = None
    if args.latest:
        return _latest(args, manifest, manifest_bytes, signature)
    if (args.newer_checkpoint is None) != (args.consistency_proof is None):
        raise PartnerError("--newer-checkpoint and --consistency-proof go together")
    if args.newer_checkpoint is not None:
        newer = (_text(args.newer_checkpoint), _text(args.consistency_proof))
    if newer is not None and args.audit_key is None:
        raise PartnerError("the consistency check needs --audit-key")
    check = verify_delivery(
        manifest_bytes,
        signature,
        manifest_key=key,
        audit_key=_audit_key(args.audit_key),
        audit_origin=args.audit_origin,
        data_file=data,
        newer=newer,
    )
    for line in check.lines():
        print(line)
    if args.audit_key is None:
        print("(checkpoint and inclusion not checked: no --audit-key)")
    refuse_unless_verified(check, str(manifest))
    print(f"{manifest} verifies")
    return 0


def _latest(args: argparse.Namespace, manifest: Path, manifest_bytes: bytes, signature: str) -> int:
    """`verify --latest`: the manifest against the office's latest checkpoint, fetched."""
    history = _client(args).check_history(manifest_bytes, signature)
    for line in history.check.lines():
        print(line)
    if history.checkpoint is not None and history.proof is not None:
        kept = manifest.with_name(manifest.name.removesuffix(".manifest.json") + ".history")
        kept.mkdir(exist_ok=True)
        size = history.proof.split()[2]
        (kept / f"checkpoint-{size}.txt").write_text(history.checkpoint, encoding="utf-8")
        (kept / f"consistency-to-{size}.txt").write_text(history.proof, encoding="utf-8")
        print(f"the office's checkpoint and proof are kept in {kept}")
    refuse_unless_verified(history.check, str(manifest))
    print(f"{manifest} verifies, and the office's log still extends its checkpoint")
    return 0


def decrypt(args: argparse.Namespace) -> int:
    source, out = Path(args.file), Path(args.out)
    identities = identities_of(args.identity)
    if args.manifest:
        described = parse_manifest(_read(Path(args.manifest), MANIFEST_LIMIT)).file
        print(decrypt_delivery(source, identities, out, described).reason)
    else:
        try:
            decrypt_file(source, identities, out)
        except AgeError as error:
            raise VerificationFailed(f"{source.name}: {error}", ("decrypt",)) from None
    print(f"decrypted to {out}")
    return 0


def verify_nik(args: argparse.Namespace) -> int:
    client = _client(args)
    with Path(args.file).open(encoding="utf-8-sig", newline="") as source:
        if args.out:
            with Path(args.out).open("w", encoding="utf-8", newline="") as out:
                counts = _verify_file(client, source, out, args.file)
        else:
            counts = _verify_file(client, source, sys.stdout, args.file)
    print(
        f"{counts['rows']} rows in {counts['calls']} calls: {counts['found']} found, "
        f"{counts['matched']} matching in every field asked",
        file=sys.stderr,
    )
    return 0


def _verify_file(client: Client, source: TextIO, out: TextIO, name: str) -> dict[str, int]:
    try:
        return verify_csv(client, source, out)
    except UnicodeDecodeError:
        raise PartnerError(f"{name} is not UTF-8 text") from None


# --- helpers -------------------------------------------------------------------------------------
def _client(args: argparse.Namespace) -> Client:
    url = args.url or os.environ.get(ENV_URL)
    token = args.token or os.environ.get(ENV_TOKEN)
    if not url:
        raise PartnerError(f"no gateway: give --url or set {ENV_URL}")
    if not token:
        raise PartnerError(f"no token: set {ENV_TOKEN} (or give --token)")
    return Client(
        url,
        token,
        manifest_key=args.manifest_key,
        known_keys=args.known_keys,
        audit_key=_audit_key(args.audit_key),
        audit_origin=args.audit_origin,
        timeout=args.timeout,
        allow_http=args.allow_http,
    )


def _manifest_key(args: argparse.Namespace, signature: str) -> Any:
    if args.manifest_key:
        return read_public_key(args.manifest_key)
    url = args.url or os.environ.get(ENV_URL)
    if not url:
        raise PartnerError("give --manifest-key, or --url for the key pinned for that gateway")
    origin = gateway_origin(url)
    pinned = KnownKeys(None if args.known_keys is None else Path(args.known_keys)).pinned(origin)
    if pinned is None:
        raise PartnerError(f"no manifest key is pinned for {origin}: give --manifest-key")
    return pinned


def _audit_key(value: str | None) -> str | None:
    if value is None or "+" in value:
        return value
    return _text(value).strip()  # a file holding the verifier key


def _beside(manifest: Path, manifest_bytes: bytes) -> Path:
    try:
        name = json.loads(manifest_bytes)["file"]["name"]
    except (ValueError, KeyError, TypeError):
        raise PartnerError(f"{manifest} names no data file; give --data") from None
    return manifest.parent / Path(str(name)).name


def _read(path: Path, limit: int) -> bytes:
    with path.open("rb") as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise PartnerError(f"{path} is larger than {limit} bytes")
    return data


def _text(path: str) -> str:
    try:
        return _read(Path(path), TEXT_LIMIT).decode("utf-8")
    except UnicodeDecodeError:
        raise PartnerError(f"{path} is not UTF-8 text") from None


def _print_json(document: object) -> None:
    print(json.dumps(document, indent=1, ensure_ascii=False))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pks-partner",
        description="Your deliveries from a PKS Gateway: list, download, verify, decrypt; and "
        "NIK verification. Guide: docs/partners.md.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--url", help=f"the gateway (default: ${ENV_URL})")
    gateway.add_argument("--token", help=f"the partner token (better: ${ENV_TOKEN})")
    gateway.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    gateway.add_argument(
        "--allow-http", action="store_true", help="allow a plain http:// gateway (not loopback)"
    )
    keys = argparse.ArgumentParser(add_help=False)
    keys.add_argument(
        "--manifest-key",
        help="the gateway's manifest key as the office gave it: an ssh-ed25519 line or a file "
        "(default: the key pinned for the gateway, pinned on first use)",
    )
    keys.add_argument("--known-keys", help="the known-keys file (default: per user)")
    keys.add_argument(
        "--audit-key",
        help="the audit verifier key (origin+id+key, or a file holding it): adds the checkpoint "
        "and inclusion checks",
    )
    keys.add_argument("--audit-origin", help="the audit log's origin (default: the key's name)")

    def command(name: str, run: Command, help: str, *parents: argparse.ArgumentParser) -> Any:
        sub = commands.add_parser(name, help=help, description=help, parents=list(parents))
        sub.set_defaults(command=run)
        return sub

    listing = "print the answer as JSON"
    sub = command("agreements", agreements, "the token's agreement", gateway, keys)
    sub.add_argument("--json", action="store_true", help=listing)
    sub = command("deliveries", deliveries, "the published deliveries, newest first", gateway, keys)
    sub.add_argument("--json", action="store_true", help=listing)
    sub = command(
        "download",
        download,
        "download a delivery, check it against its signed manifest, decrypt it",
        gateway,
        keys,
    )
    sub.add_argument("id", metavar="ID", help="the delivery id (see `deliveries`)")
    sub.add_argument("--out", default=".", help="the folder to put it in (default: here)")
    sub.add_argument("--identity", help=f"your age identity file (default: ${ENV_IDENTITY})")
    sub.add_argument("--no-resume", action="store_true", help="start again from the first byte")
    sub = command("verify", verify, "check a downloaded delivery (offline)", gateway, keys)
    sub.add_argument("manifest", metavar="MANIFEST", help="<id>.manifest.json (.sig beside it)")
    sub.add_argument("--data", help="the encrypted file (default: as the manifest names it)")
    sub.add_argument("--newer-checkpoint", help="a later checkpoint the office showed you")
    sub.add_argument("--consistency-proof", help="`audit prove --from N` text to that one")
    sub.add_argument(
        "--latest",
        action="store_true",
        help="fetch the office's latest checkpoint and check that its log still extends the "
        "manifest's (online; needs --audit-key)",
    )
    sub = command("decrypt", decrypt, "decrypt a delivery file, all or nothing")
    sub.add_argument("file", metavar="FILE", help="the .age file")
    sub.add_argument("--identity", required=True, help="your age identity file")
    sub.add_argument("--out", required=True, help="the file to write")
    sub.add_argument("--manifest", help="its manifest: the plaintext's SHA-256 must match")
    sub = command("verify-nik", verify_nik, "verify the NIKs of a CSV file", gateway, keys)
    sub.add_argument("file", metavar="FILE.csv", help="a nik column and one per element")
    sub.add_argument("--out", help="the result CSV (default: standard output)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
