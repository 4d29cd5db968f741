"""One small exception family: the CLI turns each into one line and exit code 2."""


class EdgeMnistError(Exception):
    """Base of every error the library raises on bad input or a failed check."""


class DataError(EdgeMnistError):
    """The dataset is missing, corrupt, or not MNIST."""


class ModelError(EdgeMnistError):
    """A model file is missing, corrupt, or not an MNIST classifier."""


class FormatError(EdgeMnistError):
    """An unknown export format, or an option the chosen formats do not support."""


class MissingDependencyError(EdgeMnistError):
    """An optional dependency is not installed; the message names the exact fix."""


class ParityError(EdgeMnistError):
    """An exported model fell outside its tolerance against the source model."""


class SourceError(EdgeMnistError):
    """A camera, stream, video or image source cannot be opened or read."""


class OutputError(EdgeMnistError):
    """A log, picture or live view cannot be written where it was asked for."""


class RemoteError(EdgeMnistError):
    """A board cannot be reached over SSH, refuses us, lacks Python, or a command on it failed."""


def error_class(name: str | None) -> type[EdgeMnistError]:
    """The member of this family called `name` (as a child process reports it); the base class for any other name."""
    found = globals().get(name or "")
    return found if isinstance(found, type) and issubclass(found, EdgeMnistError) else EdgeMnistError
