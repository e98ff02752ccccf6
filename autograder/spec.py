"""The assignment as a specification: every fact the grader, the reference build, the
student kit and the tests share, stated once.

Test names (grade ids) and their points are not repeated here: they come from the source
notebook's nbgrader metadata. Standard library only, so the student kit can ship it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

ASSIGNMENT_ID = "digit_recognition"
NOTEBOOK_ID = "digit_recognition"
NOTEBOOK_NAME = f"{NOTEBOOK_ID}.ipynb"
# Where the notebook sits in the instructor repository, the release and a student's repository.
RELEASE_NOTEBOOK = PurePosixPath("assignments", ASSIGNMENT_ID, NOTEBOOK_NAME)
SOURCE_NOTEBOOK = PurePosixPath("solutions", ASSIGNMENT_ID, NOTEBOOK_NAME)

# The network: 400 inputs -> Dense 25 relu -> Dense 15 relu -> Dense 10 linear (logits).
INPUT_SIZE = 400
LAYER_UNITS = (25, 15, 10)
ACTIVATIONS = ("relu", "relu", "linear")
LAYER_CLASS = "Dense"
# (inputs, outputs) of each Dense layer: W has that shape, b has (outputs,).
LAYER_SIZES = tuple(zip((INPUT_SIZE, *LAYER_UNITS[:-1]), LAYER_UNITS, strict=True))

# compile(): the loss takes logits, the optimizer is Adam at this rate.
LOSS = "SparseCategoricalCrossentropy"
FROM_LOGITS = True
OPTIMIZER = "Adam"
LEARNING_RATE = 0.001

# Training as the notebook does it, and what the trained model must reach.
SEED = 1234
ACCURACY_THRESHOLD = 0.95  # training accuracy; the reference reaches ~0.998
N_EXAMPLES = 5000

# Seconds per cell, for grading and for the student's self-check alike.
CELL_TIMEOUT = 120
