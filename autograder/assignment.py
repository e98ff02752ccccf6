"""What the engine knows of an assignment: the ``Assignment`` its ``grading.py`` declares.

An assignment is one folder, ``solutions/<id>/``: its source notebook ``<id>.ipynb`` (with
nbgrader's markers and hidden tests) and ``grading.py``, which sets ``ASSIGNMENT`` to an
``Assignment``. The engine imports no assignment: it loads that file by path
(``autograder.grader.assignments``). Every autograded test cell of the notebook is named in
``checks``, each decided again outside the student's kernel or declared ``KernelOnly`` with
the reason; grading refuses a notebook whose tests and checks disagree (``missing_checks``).

Standard library only: the student kit and the public bundle import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Seconds per cell, for grading and for the student's self-check alike, unless the
# assignment says otherwise.
CELL_TIMEOUT = 120


def named(reference: str) -> Callable[..., Any]:
    """``"module:function"`` -> that function, imported (numpy's or a helper package's: the
    names an assignment gives for its data, ``DenseModel.data``, and for ``Fn``)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Fn:
    """An argument that is a function (an activation ``g`` passed to a layer), named
    ``"module:function"`` in numpy or the assignment's helper packages: the student's
    function gets it in its process (taken before any student cell runs), the reference the
    same one in the grader's. Only names cross into the sandbox, never code."""

    name: str

    def __post_init__(self) -> None:
        module, _, function = self.name.partition(":")
        if not module or not function.isidentifier():
            raise ValueError(f"Fn({self.name!r}): name a function as 'module:function'")


@dataclass(frozen=True)
class FunctionCheck:
    """Call the student's ``function`` in a fresh process on each of ``inputs`` (an array,
    or a tuple of arguments for a function of several: arrays, or functions named by
    ``Fn``) and compare what it returns with ``reference`` on the same input
    (``numpy.allclose`` at ``rtol``, ``atol``)."""

    function: str
    reference: Callable[..., Any]
    inputs: tuple[Any, ...]
    rtol: float = 1e-6
    atol: float = 1e-9

    def arguments(self) -> list[tuple[Any, ...]]:
        """Each input as the tuple of arguments the function is called with."""
        return [x if isinstance(x, tuple) else (x,) for x in self.inputs]


@dataclass(frozen=True)
class ModelCheck:
    """Decide one aspect of the saved model (see ``DenseModel``) from the file, read as
    data: ``architecture``, ``activations``, ``loss`` (with the optimizer) or ``accuracy``
    (recomputed with numpy on the assignment's trusted data)."""

    aspect: str

    ASPECTS = ("architecture", "activations", "loss", "accuracy")

    def __post_init__(self) -> None:
        if self.aspect not in self.ASPECTS:
            raise ValueError(f"ModelCheck({self.aspect!r}): the aspect is one of "
                             f"{', '.join(self.ASPECTS)}")


@dataclass(frozen=True)
class KernelOnly:
    """This test is decided in the student's kernel only, where their code can patch what
    it calls; ``reason`` says why nothing outside the kernel decides it."""

    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("KernelOnly needs a reason")


Check = FunctionCheck | ModelCheck | KernelOnly


@dataclass(frozen=True)
class DenseModel:
    """A Keras ``Sequential`` of ``Dense`` layers the notebook trains as ``model``: what its
    saved file must hold. ``data`` names the trusted ``(X, y)`` as ``"module:function"`` in
    a helper package (the public bundle ships the helpers, never ``grading.py``)."""

    input_size: int
    units: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    from_logits: bool
    optimizer: str
    learning_rate: float
    accuracy_threshold: float
    data: str
    layer_class: str = "Dense"

    @property
    def layer_sizes(self) -> tuple[tuple[int, int], ...]:
        """(inputs, outputs) of each layer: W has that shape, b has (outputs,)."""
        return tuple(zip((self.input_size, *self.units[:-1]), self.units, strict=True))

    @property
    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [shape for n_in, n_out in self.layer_sizes for shape in ((n_in, n_out), (n_out,))]

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DenseModel:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["units"] = tuple(known["units"])
        known["activations"] = tuple(known["activations"])
        return cls(**known)


# What TensorFlow, absl and Keras print to stderr at import and on first use, even with
# TF_CPP_MIN_LOG_LEVEL=3 set before the import (absl's preamble is written before that
# setting is read): an assignment that uses TensorFlow gives these as its stderr_noise.
TENSORFLOW_STDERR_NOISE = (
    r"(^|\n)(WARNING|I|W|E)[0-9 :.]*(absl|tensorflow|external/|tensorflow/)",
    r"All log messages before absl::InitializeLog\(\) is called",
    r"oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard",
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered",
)


@dataclass(frozen=True)
class Assignment:
    """One assignment, as its ``grading.py`` declares it.

    ``packages``: the helper packages its notebook imports (made visible to the kernel).
    ``data``: environment variable -> ``"package:file"``, a data file of a helper package
    copied into each sandbox, the variable set to the copy's path. ``model``: the trained
    model its ``ModelCheck``s decide, if any. ``stderr_noise``: regular expressions of
    library messages on stderr that are not the student's doing (nbgrader fails a grade
    cell that writes there). ``feedback``: draws the model section of the feedback page,
    ``feedback(history, model, data) -> [Figure | str, ...]``. ``student_files``: path in a
    student's repository -> path in the course folder, copied by ``template``.
    """

    id: str
    checks: Mapping[str, Check]
    packages: tuple[str, ...] = ()
    data: Mapping[str, str] = field(default_factory=dict)
    model: DenseModel | None = None
    stderr_noise: tuple[str, ...] = ()
    cell_timeout: int = CELL_TIMEOUT
    feedback: Callable[..., list] | None = None
    student_files: Mapping[str, str] = field(default_factory=dict)

    @property
    def notebook(self) -> str:
        return f"{self.id}.ipynb"

    def function_checks(self) -> dict[str, FunctionCheck]:
        return {gid: c for gid, c in self.checks.items() if isinstance(c, FunctionCheck)}

    def model_checks(self) -> dict[str, ModelCheck]:
        return {gid: c for gid, c in self.checks.items() if isinstance(c, ModelCheck)}

    def public(self) -> dict:
        """What the student's self-check and the public Classroom 50 grading may know: no
        function probe (their inputs are the hidden tests'). ``make release`` writes it into
        the released notebook's metadata (``METADATA_KEY``)."""
        return {"id": self.id, "cell_timeout": self.cell_timeout,
                "stderr_noise": list(self.stderr_noise),
                "model": self.model.as_dict() if self.model else None,
                "model_checks": {gid: c.aspect for gid, c in self.model_checks().items()}}

    @classmethod
    def from_public(cls, facts: Mapping[str, Any]) -> Assignment:
        """The public part of an assignment, as ``public`` wrote it."""
        return cls(id=str(facts["id"]),
                   checks={gid: ModelCheck(a) for gid, a in facts.get("model_checks", {}).items()},
                   model=DenseModel.from_dict(facts["model"]) if facts.get("model") else None,
                   stderr_noise=tuple(facts.get("stderr_noise", ())),
                   cell_timeout=int(facts.get("cell_timeout", CELL_TIMEOUT)))


# The released notebook's metadata key for ``Assignment.public()``.
METADATA_KEY = "autograder"


def public_facts(metadata: Mapping[str, Any]) -> Assignment | None:
    """The public assignment a released notebook's metadata names, or None (a notebook from
    elsewhere, or one whose metadata was damaged)."""
    facts = metadata.get(METADATA_KEY)
    try:
        return Assignment.from_public(facts) if isinstance(facts, Mapping) else None
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Figure:
    """A figure of the feedback page's model section, with the text that describes it."""

    title: str
    figure: Any      # a matplotlib Figure
    alt: str


def missing_checks(assignment: Assignment, graded: list[str]) -> list[str]:
    """What is wrong between the notebook's autograded tests (``graded``, in order) and the
    assignment's checks: a test with no check, a check with no test, a model check with no
    model. Empty when they agree."""
    problems = [f"test {gid} has no check in grading.py: decide it outside the kernel "
                "(FunctionCheck, ModelCheck) or declare it KernelOnly(reason)"
                for gid in graded if gid not in assignment.checks]
    problems += [f"grading.py checks {gid}, which is not an autograded test of the notebook"
                 for gid in assignment.checks if gid not in graded]
    if assignment.model_checks() and assignment.model is None:
        problems.append("grading.py has ModelChecks but no model=DenseModel(...)")
    return problems
