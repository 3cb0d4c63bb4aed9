"""The "nothing lost" store: typed settings are kept before any test, whatever the test says.

The product drops everything typed when its save-time connection test fails (help page,
Email Setup tip). Here the order is reversed: :meth:`DraftStore.save_draft` writes the
settings first; :meth:`DraftStore.record_result` then attaches the test's report to the
draft (a failed test keeps the draft and its report), and a passing test also copies the
draft to *last good*. :func:`diff_settings` shows, field by field, what changed between the
draft and the last good settings; secrets appear only as changed/unchanged.

Layout under ``root`` (directory mode 0700), one folder per tenant ``org_key``::

    <org_key>/draft.json              settings without secrets + status + report
    <org_key>/draft.secrets.json      {"inbound.server.password": "..."}       mode 0600
    <org_key>/last-good.json          the last settings that passed, + report
    <org_key>/last-good.secrets.json                                            mode 0600

Why a separate secrets file: losing the typed password *is* the bug, so it is kept, but
only in a file readable by its owner alone, which nothing displays or exports; the settings
file and every report hold no secret (reports are scrubbed of secret values before they are
written, as a second guard). Writes are atomic (temporary file, fsync, ``os.replace``).

A shared ``root`` would hand the password to whoever controls it, so ``root`` and each tenant
folder must be real folders (never a symbolic link) owned by the current user and not
writable by others (:class:`~mailsupport.errors.ConfigError` saying what to do otherwise);
files are opened relative to the checked folder, without following links (``O_NOFOLLOW``),
temporary files with ``O_EXCL``, and every read is bounded.

Layer 3 (writes files; time is passed in as ``now``). Must not import the probes, the
sandbox or presentation modules.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets as secrets_module
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import parse_tenant, tenant_to_dict
from ..errors import ConfigError, StoreError
from ..model import Secret
from ..redact import Redactor
from ..tenant import Tenant

__all__ = [
    "SECRET_KEYS",
    "Draft",
    "DraftStore",
    "FieldChange",
    "diff_settings",
    "split_secrets",
    "merge_secrets",
    "default_drafts_dir",
]

#: Keys whose values are secrets wherever they appear in the settings mapping.
SECRET_KEYS = frozenset({"password", "oauth_token"})
_SLUG = re.compile(r"[^a-z0-9-]+")


def default_drafts_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The fixed folder drafts are kept in when none is given, so a re-run finds them again:
    ``$XDG_STATE_HOME/mailsupport/drafts`` (XDG Base Directory spec: state that should persist
    between restarts), else ``~/.local/state/mailsupport/drafts``. :class:`DraftStore` creates
    it owner-only (0700) on first use."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path(env.get("HOME") or Path.home()) / ".local" / "state"
    return base / "mailsupport" / "drafts"


def _slug(org_key: Any) -> str:
    text = _SLUG.sub("-", str(org_key or "").lower()).strip("-")
    return text[:63] or "unnamed"


def split_secrets(data: Any, prefix: str = "") -> tuple[Any, dict[str, str]]:
    """Return ``(data without secret values, {dotted path: secret})``.

    Secret values may be :class:`Secret` or plain strings under a key in :data:`SECRET_KEYS`.
    """
    secrets: dict[str, str] = {}
    if isinstance(data, Mapping):
        clean: dict[str, Any] = {}
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key in SECRET_KEYS:
                if value not in (None, ""):
                    secrets[path] = value.reveal() if isinstance(value, Secret) else str(value)
                continue
            clean[key], inner = split_secrets(value, path)
            secrets.update(inner)
        return clean, secrets
    if isinstance(data, (list, tuple)):
        items = []
        for i, value in enumerate(data):
            item, inner = split_secrets(value, f"{prefix}[{i}]")
            items.append(item)
            secrets.update(inner)
        return items, secrets
    if isinstance(data, Secret):
        return None, {prefix: data.reveal()}
    return data, secrets


def merge_secrets(data: dict[str, Any], secrets: Mapping[str, str], *, reveal: bool) -> dict[str, Any]:
    """Put secrets back at their dotted paths (inverse of :func:`split_secrets`): plain strings
    when ``reveal`` (only to hand to :func:`parse_tenant`), else :class:`Secret` values."""
    out = json.loads(json.dumps(data))
    for path, value in secrets.items():
        node: Any = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node[parts[-1]] = value if reveal else Secret(value)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """One kept set of settings: ``data`` in the tenant-file shape (secrets as :class:`Secret`),
    ``status`` (``untested``, ``failed``, ``passed``), when it was saved, and the last report."""

    org_key: str
    data: Mapping[str, Any]
    status: str
    saved_at: str
    report: Mapping[str, Any] | None = None

    def plain(self) -> dict[str, Any]:
        """The settings with secrets revealed (only for handing to :func:`parse_tenant`)."""
        clean, secrets = split_secrets(self.data)
        return merge_secrets(clean, secrets, reveal=True)

    def tenant(self) -> Tenant:
        """The settings parsed into a :class:`Tenant` (raises ConfigError if they are invalid)."""
        return parse_tenant(self.plain(), source=f"draft {self.org_key}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One field that differs: ``before``/``after`` as text (``""`` = absent); for secrets
    they are ``"set"``/``"(changed)"`` etc., never the value."""

    path: str
    before: str
    after: str
    secret: bool = False


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, (list, tuple)):
        if not data:
            out[prefix] = []
        for i, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def diff_settings(
    before: Mapping[str, Any] | Tenant | None, after: Mapping[str, Any] | Tenant | None
) -> tuple[FieldChange, ...]:
    """Field-by-field differences from ``before`` (e.g. last good) to ``after`` (the draft).

    Secret fields are compared by value but shown only as ``set``/``unset``/``changed``.
    """

    def norm(x: Any) -> tuple[dict[str, Any], dict[str, str]]:
        if x is None:
            return {}, {}
        if isinstance(x, Tenant):
            x = tenant_to_dict(x, reveal_secrets=True)
        clean, secrets = split_secrets(x)
        return _flatten(clean), secrets

    old, old_secrets = norm(before)
    new, new_secrets = norm(after)
    changes: list[FieldChange] = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a != b and not (a in (None, [], "") and b in (None, [], "")):
            changes.append(FieldChange(path=path, before=_text(a), after=_text(b)))
    for path in sorted(set(old_secrets) | set(new_secrets)):
        a, b = old_secrets.get(path), new_secrets.get(path)
        if a == b:
            continue
        before_text = "set" if a is not None else "unset"
        after_text = "unset" if b is None else ("set" if a is None else "changed")
        changes.append(FieldChange(path=path, before=before_text, after=after_text, secret=True))
    return tuple(changes)


def _scrub(value: Any, secrets: Mapping[str, str], usernames: Iterable[str] = ()) -> Any:
    """Every string inside ``value`` (a report as JSON data) with each secret replaced by ``***``
    in every form a server could echo it (plain, percent-encoded, base64/SASL): a second guard."""
    redact = Redactor(secrets.values(), usernames=usernames)
    if not redact:
        return value

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            return redact(x)
        if isinstance(x, Mapping):
            return {walk(k): walk(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [walk(v) for v in x]
        return x

    return walk(value)


def _usernames(settings: Any) -> list[str]:
    """The login names in a settings mapping (SASL strings embed them next to the password)."""
    flat = _flatten(settings)
    return [str(v) for k, v in flat.items() if k.rsplit(".", 1)[-1] in ("username", "address", "from_address") and v]


_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_MAX_FILE = 4 << 20  # a kept draft is a few KB; anything this big is not ours


def _refuse(path: Path, why: str, fix: str) -> ConfigError:
    return ConfigError(
        f"the drafts folder {path} {why}, so another user could read the kept passwords or plant settings; {fix}",
        path="--draft-dir",
    )


def _open_private_dir(name: str | Path, path: Path, *, dir_fd: int | None, create: bool) -> int | None:
    """Open the directory ``name`` (relative to ``dir_fd``) without following a symbolic link,
    creating it 0700 when ``create``; refuse one owned by another user or writable by others.
    Returns the open descriptor, or ``None`` when it does not exist and ``create`` is false."""
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=dir_fd)
        except FileExistsError:
            pass
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(
                path,
                "is a symbolic link or not a folder",
                "give --draft-dir a real folder of your own (e.g. made with mkdir -m 700)",
            ) from exc
        raise
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            raise _refuse(
                path,
                f"belongs to another user (uid {st.st_uid})",
                "use a folder you own for --draft-dir (e.g. made with mkdir -m 700)",
            )
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o022:
            raise _refuse(
                path,
                f"is writable by other users (mode {mode:04o})",
                f"run chmod go-w {path} or use a private folder for --draft-dir",
            )
        if dir_fd is not None and mode & 0o077:
            os.fchmod(fd, 0o700)  # a tenant folder holds the secrets files: owner only
    except BaseException:
        os.close(fd)
        raise
    return fd


class DraftStore:
    """Kept drafts and last-good settings under ``root`` (see the module docstring).

    ``root`` must be a real folder (not a symbolic link) owned by the current user and not
    writable by others (:class:`ConfigError` otherwise, saying what to do); it is made 0700 when
    missing. Files are opened without following links and replaced atomically.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @contextmanager
    def _folder(self, org_key: str, *, create: bool) -> Iterator[tuple[int, Path] | None]:
        """The tenant's folder as ``(descriptor, path)`` (``None`` when absent and not ``create``)."""
        slug = _slug(org_key)
        folder = self.root / slug
        root_fd = fd = None
        try:
            try:
                if create:
                    self.root.parent.mkdir(parents=True, exist_ok=True)
                root_fd = _open_private_dir(self.root, self.root, dir_fd=None, create=create)
                if root_fd is not None:
                    fd = _open_private_dir(slug, folder, dir_fd=root_fd, create=create)
            except OSError as exc:
                raise StoreError(
                    f"cannot {'create' if create else 'open'} the drafts folder {folder}: "
                    f"{exc.strerror or exc}; choose a writable --draft-dir"
                ) from exc
            yield None if fd is None else (fd, folder)
        finally:
            for d in (fd, root_fd):
                if d is not None:
                    os.close(d)

    @staticmethod
    def _write(where: tuple[int, Path], name: str, payload: Any) -> None:
        dfd, folder = where
        data = json.dumps(payload, indent=2, sort_keys=True).encode("utf-8")
        tmp = f".{name}.{os.getpid()}.{secrets_module.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=dfd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            os.fsync(dfd)
        except OSError as exc:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise StoreError(f"cannot write {folder / name}: {exc.strerror or exc}") from exc

    @staticmethod
    def _read(where: tuple[int, Path], name: str) -> Any:
        dfd, folder = where
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dfd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"cannot read {folder / name}: {exc.strerror or exc} (a symbolic link is never followed); remove it"
            ) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                raise StoreError(f"{folder / name} is not a regular file of this user; remove it")
            data = os.read(fd, _MAX_FILE + 1)
            if len(data) > _MAX_FILE:
                raise StoreError(f"{folder / name} is over {_MAX_FILE} bytes, not a kept draft; remove it")
            return json.loads(data.decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {folder / name}: {exc}") from exc
        finally:
            os.close(fd)

    def save_draft(self, settings: Mapping[str, Any] | Tenant, *, now: datetime) -> Draft:
        """Keep ``settings`` (tenant-file shape, may be incomplete or invalid) as the draft,
        before any test; returns the kept draft (status ``untested``)."""
        if isinstance(settings, Tenant):
            settings = tenant_to_dict(settings, reveal_secrets=True)
        clean, secrets = split_secrets(dict(settings))
        org_key = _slug(settings.get("org_key"))
        with self._folder(org_key, create=True) as folder:
            assert folder is not None
            self._write(folder, "draft.secrets.json", secrets)
            record = {
                "org_key": org_key,
                "status": "untested",
                "saved_at": now.isoformat(),
                "settings": clean,
                "secret_fields": sorted(secrets),
                "report": None,
            }
            self._write(folder, "draft.json", record)
            return self._load(folder, "draft")

    def record_result(self, org_key: str, report: Any, *, now: datetime) -> Draft:
        """Attach a test's report to the draft; a passing report also makes it *last good*.

        ``report`` is a :class:`~mailsupport.doctor.report.SettingsReport` (or its dict).
        """
        with self._folder(org_key, create=True) as folder:
            assert folder is not None
            record = self._read(folder, "draft.json")
            if record is None:
                raise StoreError(f"no draft is kept for {org_key!r}: save_draft() must come first")
            secrets = self._read(folder, "draft.secrets.json") or {}
            data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
            passed = bool(data.get("ok"))
            record.update(
                status="passed" if passed else "failed",
                tested_at=now.isoformat(),
                report=_scrub(data, secrets, _usernames(record.get("settings", {}))),
            )
            self._write(folder, "draft.json", record)
            if passed:
                self._write(folder, "last-good.secrets.json", secrets)
                self._write(folder, "last-good.json", record)
            return self._load(folder, "draft")

    def _load(self, folder: tuple[int, Path] | None, name: str) -> Draft | None:
        if folder is None:
            return None
        record = self._read(folder, f"{name}.json")
        if record is None:
            return None
        secrets = self._read(folder, f"{name}.secrets.json") or {}
        return Draft(
            org_key=record.get("org_key", folder[1].name),
            data=merge_secrets(record.get("settings", {}), secrets, reveal=False),
            status=record.get("status", "untested"),
            saved_at=record.get("saved_at", ""),
            report=record.get("report"),
        )

    def draft(self, org_key: str) -> Draft | None:
        """The kept draft of ``org_key`` (``None`` when nothing was saved)."""
        with self._folder(org_key, create=False) as folder:
            return self._load(folder, "draft")

    def last_good(self, org_key: str) -> Draft | None:
        """The last settings of ``org_key`` that passed the test, if any."""
        with self._folder(org_key, create=False) as folder:
            return self._load(folder, "last-good")

    def diff(self, org_key: str) -> tuple[FieldChange, ...]:
        """What changed from the last good settings to the draft (all fields if none passed yet)."""
        good = self.last_good(org_key)
        draft = self.draft(org_key)
        return diff_settings(good.data if good else None, draft.data if draft else None)
