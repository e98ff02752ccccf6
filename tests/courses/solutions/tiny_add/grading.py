"""How the suite's tiny assignment (tiny_add: one function, no TensorFlow) is graded: its
one function test decided again outside the kernel, the other kernel-only by design, so the
suite covers both kinds."""

import numpy as np

from autograder.assignment import Assignment, FunctionCheck, KernelOnly


def add(a, b):
    return np.add(a, b)


ASSIGNMENT = Assignment(
    id="tiny_add",
    checks={
        # The public and the hidden test's inputs.
        "test_add": FunctionCheck("add", add, ((np.array(1), np.array(2)),
                                               (np.array(-1), np.array(1)))),
        "test_add_strings": KernelOnly("it adds strings, and the call outside the kernel "
                                       "passes and returns numbers only"),
    },
)
