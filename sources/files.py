"""The data's folders and files, on disk or on any filesystem TensorFlow reads.

A folder source may be a local path or a URI: `gs://bucket/pets` (Google Cloud Storage,
built into TensorFlow), `s3://...` where tensorflow-io's filesystem is installed, or any
scheme registered with TensorFlow (the tests use `ram://`, its in-memory filesystem).
Local paths go through os exactly as before; a path with a scheme goes through
tf.io.gfile, and TensorFlow is imported only then, so that the commands importing the
sources answer --help at once.

Failures of a URI's filesystem (a scheme TensorFlow does not have here, no credentials,
no network) raise StorageError, a ValueError with one line naming the path; reading a file
raises OSError, as `open` does, wherever the file is.
"""

import dataclasses
import errno
import io
import os
import re

# "scheme://": a letter, then letters, digits, '+', '-' or '.' (RFC 3986).
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# Filesystems whose listings end every folder's name with '/' (TensorFlow's GCS lists
# subfolders as the bucket's prefixes): the other names are files, known without a
# request per file, which would make listing Oxford's 7,390 images take minutes. Elsewhere
# (ram://, tensorflow-io's s3://) each name is asked about.
FOLDERS_END_WITH_SLASH = ("gs",)


class StorageError(ValueError):
    """A URI whose filesystem cannot be reached from here."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One name in a folder."""

    name: str
    path: str
    is_file: bool  # False for folders, and for links to nothing
    dangling_link: str | None = None  # a local link to nothing: where it points


def is_uri(path: str) -> bool:
    """Whether `path` names a filesystem, `gs://bucket/...`, rather than a local path."""
    return bool(_SCHEME.match(path))


def absolute(path: str) -> str:
    """A local path made absolute (tasks may not run where this runs); a URL as it is."""
    return path if is_uri(path) else os.path.abspath(path)


def exists(path: str) -> bool:
    if not is_uri(path):
        return os.path.exists(path)
    gfile, errors = _tf(path)
    try:
        return gfile.exists(path)
    except errors.OpError as error:
        raise _storage_error(path, error) from None


def isdir(path: str) -> bool:
    if not is_uri(path):
        return os.path.isdir(path)
    # gfile.isdir answers False for any failure: exists() tells failures from absence.
    return exists(path) and _tf(path)[0].isdir(path)


def isfile(path: str) -> bool:
    if not is_uri(path):
        return os.path.isfile(path)
    return exists(path) and not _tf(path)[0].isdir(path)


def list_dir(directory: str) -> list[Entry]:
    """The entries of `directory`, sorted by name."""
    if not is_uri(directory):
        entries = []
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            dangling = os.path.islink(path) and not os.path.exists(path)
            entries.append(
                Entry(name, path, os.path.isfile(path), os.readlink(path) if dangling else None)
            )
        return entries
    gfile, errors = _tf(directory)
    try:
        names = gfile.listdir(directory)
    except errors.OpError as error:
        raise _storage_error(directory, error) from None
    marks_folders = _SCHEME.match(directory).group(1) in FOLDERS_END_WITH_SLASH
    entries = []
    for listed in sorted(names, key=lambda name: name.rstrip("/")):
        name = listed.rstrip("/")
        path = os.path.join(directory, name)
        if listed.endswith("/"):
            is_file = False
        elif marks_folders:
            is_file = True
        else:
            is_file = not gfile.isdir(path)
        entries.append(Entry(name, path, is_file))
    return entries


def read_bytes(path: str) -> bytes:
    """The bytes of a file; OSError (its strerror says why) if it cannot be read."""
    if not is_uri(path):
        with open(path, "rb") as file:
            return file.read()
    gfile, errors = _tf(path)
    try:
        with gfile.GFile(path, "rb") as file:
            return file.read()
    except errors.NotFoundError:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
    except errors.OpError as error:
        message = _one_line(error.message) or type(error).__name__
        raise OSError(errno.EIO, message, path) from None


def read_text(path: str) -> str:
    """The text of a file, newlines as "\\n"; OSError if it cannot be read."""
    if not is_uri(path):
        with open(path) as file:
            return file.read()
    return io.TextIOWrapper(io.BytesIO(read_bytes(path))).read()


def _tf(path: str):
    """(tf.io.gfile, tf.errors), once `path`'s scheme is known to TensorFlow here."""
    import tensorflow as tf

    scheme = _SCHEME.match(path).group(1)
    registered = tf.io.gfile.get_registered_schemes()
    if scheme not in registered:
        try:  # tensorflow-io registers its filesystems (s3://, hdfs://, az://) on import.
            import tensorflow_io  # noqa: F401
        except Exception:  # not installed, or built for another TensorFlow
            pass
        registered = tf.io.gfile.get_registered_schemes()
    if scheme not in registered:
        known = ", ".join(f"{name}://" for name in sorted(registered) if name)
        hint = (
            " s3:// needs tensorflow-io's filesystem: install tensorflow-io where this runs "
            "(it is not a dependency of this project)."
            if scheme == "s3"
            else ""
        )
        raise StorageError(
            f"Cannot read {path}: TensorFlow has no filesystem for {scheme}:// here (it has "
            f"{known}).{hint}"
        )
    return tf.io.gfile, tf.errors


def _storage_error(path: str, error) -> StorageError:
    hint = ""
    if path.startswith("gs://"):
        hint = (
            " gs:// is read with the credentials of the machine or pod this runs on "
            "(gcloud auth application-default login, GOOGLE_APPLICATION_CREDENTIALS, or a "
            "pod's service account)."
        )
    return StorageError(f"Cannot read {path}: {_one_line(error.message)}.{hint}")


def _one_line(message: str) -> str:
    return " ".join(message.split()).rstrip(".")
