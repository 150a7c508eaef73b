"""Errors raised by the publisher package.

One root, as STYLE.md asks for each package (``WorkspaceError`` for the publisher)::

    WorkspaceError
    ├── InvalidIdError            (also ValueError) a project or snapshot id outside the alphabet
    ├── WorkspaceNotFoundError    the workspace folder does not exist
    ├── ProjectNotFoundError      (also LookupError)
    ├── ProjectExistsError        create_project with an id already taken
    ├── SnapshotNotFoundError     (also LookupError)
    ├── SnapshotTooLargeError     the serialised snapshot exceeds ``max_snapshot_bytes``
    ├── CorruptFileError          a project.json or snapshot file that does not validate
    └── PublishError              a sink could not publish (e.g. Kafka delivery failed)

Messages name the offending value, what was expected and how to fix it.
"""

from __future__ import annotations


class WorkspaceError(Exception):
    """Root of every error raised by ``publisher``."""


class InvalidIdError(WorkspaceError, ValueError):
    """A project or snapshot id is empty, too long, or outside ``[A-Za-z0-9._-]``."""


class WorkspaceNotFoundError(WorkspaceError):
    """``Workspace(path)`` on a folder that does not exist (use ``Workspace.create``)."""


class ProjectNotFoundError(WorkspaceError, LookupError):
    """No project with that id in the workspace."""


class ProjectExistsError(WorkspaceError):
    """``create_project`` was given an explicit id that is already used."""


class SnapshotNotFoundError(WorkspaceError, LookupError):
    """No snapshot with that id in the project."""


class SnapshotTooLargeError(WorkspaceError):
    """The serialised snapshot is larger than the workspace's ``max_snapshot_bytes``."""


class CorruptFileError(WorkspaceError):
    """A stored file (project.json, a snapshot) is not valid; the message names the file."""


class PublishError(WorkspaceError):
    """A sink failed to publish a snapshot; the window must not be treated as published."""
