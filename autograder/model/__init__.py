"""The model as the specification states it, checked from a saved file as data only.

- ``saved_model``: the one reader of ``.keras`` files (JSON and HDF5, no Keras
  deserialization) and the trusted numpy forward pass.
- ``checks``: the model tests decided outside the student's kernel (architecture,
  activations, loss and optimizer, training accuracy).

Nothing here needs a secret (no solution, no hidden test, no gradebook): the grader uses it
after every notebook, and the public Classroom 50 bundle ships it. It stands on numpy, h5py,
threadpoolctl, ``autograder.spec`` and the student kit's verdicts (``make lint`` checks it).
"""
