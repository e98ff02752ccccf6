"""Submissions of digit_recognition_binary for test_catalogue_binary.py, generated from the
real notebooks (as catalogue.py does for digit_recognition) so they never drift.

Each answer below is the code between a solution cell's markers; ``solution_cell`` puts it
in the cell around the markers (signature, docstring, imports, ``model.summary()`` kept).
"""

from __future__ import annotations

import catalogue
import nbformat
from catalogue import MARKED, as_student, cell, insert_after, released, text

from helpers import BINARY_RELEASE, BINARY_SOLUTION

SOURCE = nbformat.read(BINARY_SOLUTION, as_version=4)


def solution_cell(grade_id: str, code: str) -> str:
    """The source's solution cell ``grade_id`` with ``code`` instead of the solution."""
    original = cell(SOURCE, grade_id).source
    return MARKED.sub(lambda m: code.strip("\n"), original, count=1)


def submission(**answers: str) -> str:
    """The solution as handed in, with ``answers`` (grade id -> code between the markers)."""
    return text(binary({gid: solution_cell(gid, code) for gid, code in answers.items()}))


def binary(answers: dict[str, str] | None = None):
    return as_student(answers, source=BINARY_SOLUTION)


# --- my_dense ----------------------------------------------------------------------------------

DENSE_LOOP_AT = '''
    a_out = np.zeros(W.shape[1])
    for j in range(W.shape[1]):
        a_out[j] = g(W[:, j] @ a_in + b[j])
    return a_out'''
DENSE_VECTOR_DOT = "    return g(np.dot(a_in, W) + b)"
DENSE_VECTOR_AT = "    return g(a_in @ W + b)"

DENSE_W_ROWS = '''
    units = W.shape[1]
    a_out = np.zeros(units)
    for j in range(units):
        a_out[j] = g(np.dot(W[j, :], a_in) + b[j])
    return a_out'''
DENSE_W_PRODUCT = "    return g(W @ a_in + b)"
DENSE_NO_BIAS = '''
    units = W.shape[1]
    a_out = np.zeros(units)
    for j in range(units):
        a_out[j] = g(np.dot(W[:, j], a_in))
    return a_out'''
DENSE_G_TWICE = '''
    units = W.shape[1]
    a_out = np.zeros(units)
    for j in range(units):
        a_out[j] = g(g(np.dot(W[:, j], a_in) + b[j]))
    return a_out'''
DENSE_FIXED_SIGMOID = "    return 1 / (1 + np.exp(-(a_in @ W + b)))"

# --- my_dense_v --------------------------------------------------------------------------------

DENSE_V_AT = "    return g(A_in @ W + b)"
DENSE_V_DOT = "    return g(np.dot(A_in, W) + b)"
DENSE_V_ROW_LOOP = "    return np.array([my_dense(a, W, b, g) for a in A_in])"

DENSE_V_TRANSPOSED = "    return g(np.matmul(A_in, W.T) + b)"
DENSE_V_NO_BIAS = "    return g(np.matmul(A_in, W))"
DENSE_V_G_TWICE = "    return g(g(np.matmul(A_in, W) + b))"

# --- the model (build and compile, one cell) ------------------------------------------------


def model(output: str = '"sigmoid"', loss: str = "BinaryCrossentropy()") -> str:
    """The solution's model with another output activation or loss."""
    return f'''model = Sequential([
    Input(shape=(400,)),
    Dense(25, activation="sigmoid"),
    Dense(15, activation="sigmoid"),
    Dense(1, activation={output}),
])
model.compile(loss={loss}, optimizer=Adam(learning_rate=0.001))'''


MODEL_TF_PREFIX = '''model = tf.keras.Sequential([
    tf.keras.Input(shape=(400,)),
    tf.keras.layers.Dense(25, activation="sigmoid"),
    tf.keras.layers.Dense(15, activation="sigmoid"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=tf.keras.optimizers.Adam(0.001),
              loss=tf.keras.losses.BinaryCrossentropy(from_logits=False),
              metrics=["accuracy"])'''
MODEL_RELU_OUTPUT = model(output='"relu"')
MODEL_SOFTMAX_OUTPUT = model(output='"softmax"')
MODEL_FROM_LOGITS = model(loss="BinaryCrossentropy(from_logits=True)")
MODEL_STRING_LOSS = model(loss='"binary_crossentropy"')

# Honest styles, three to a submission (every one must keep full marks).
HONEST = {
    "honest_loop_at": {"my_dense": DENSE_LOOP_AT, "my_dense_v": DENSE_V_AT,
                       "model": MODEL_TF_PREFIX},
    "honest_dot": {"my_dense": DENSE_VECTOR_DOT, "my_dense_v": DENSE_V_DOT},
    "honest_at_row_loop": {"my_dense": DENSE_VECTOR_AT, "my_dense_v": DENSE_V_ROW_LOOP},
}

# Mistakes: name -> (answers, grade id -> a phrase of the message that must explain it).
# A my_dense, a my_dense_v and a model mistake share a submission where they are
# independent (each test has its own message, so each loss is still traced to its cause);
# every test not listed must pass.
RAISED = "W has one row per input and one column per unit"
KERNEL_ACCURACY = "the training accuracy is 0.5000, below the required 0.95"
MISTAKES = {
    "mistake_rows_transposed_relu": (
        {"my_dense": DENSE_W_ROWS, "my_dense_v": DENSE_V_TRANSPOSED,
         "model": MODEL_RELU_OUTPUT},
        {"test_my_dense": RAISED,
         "test_my_dense_v": "Multiply the batch by W as it is, np.matmul(A_in, W)",
         "test_model_activations": "the output layer uses the activation 'relu', expected "
                                   "sigmoid",
         "test_training_accuracy": KERNEL_ACCURACY}),
    "mistake_product_no_bias_softmax": (
        {"my_dense": DENSE_W_PRODUCT, "my_dense_v": DENSE_V_NO_BIAS,
         "model": MODEL_SOFTMAX_OUTPUT},
        {"test_my_dense": RAISED,
         "test_my_dense_v": "add the bias b to every row",
         "test_model_activations": "over a single unit always outputs 1",
         "test_training_accuracy": KERNEL_ACCURACY}),
    "mistake_no_bias_twice_logits": (
        {"my_dense": DENSE_NO_BIAS, "my_dense_v": DENSE_V_G_TWICE, "model": MODEL_FROM_LOGITS},
        {"test_my_dense": "add the bias, z = np.dot(W[:, j], a_in) + b[j]",
         "test_my_dense_v": "with g applied once",
         "test_model_loss": "the loss has from_logits=True"}),
    "mistake_twice_string_loss": (
        {"my_dense": DENSE_G_TWICE, "model": MODEL_STRING_LOSS},
        {"test_my_dense": "g is applied twice; apply it once",
         "test_model_loss": "the loss is the string 'binary_crossentropy'"}),
    "mistake_fixed_sigmoid": (
        {"my_dense": DENSE_FIXED_SIGMOID},
        {"test_my_dense": "not a sigmoid of your own"}),
}


def honest(name: str) -> str:
    return submission(**HONEST[name])


def mistake(name: str) -> str:
    return submission(**MISTAKES[name][0])


# --- attacks: the kernel's test cells pass, the code is wrong --------------------------------
# Plain nbgrader gives each the attacked tests' points (test_catalogue_binary.py shows it);
# our grader decides those tests outside the kernel and gives 0.

# 1. Every error of every later cell swallowed: IPython's custom exception handler prints
#    nothing, and a post_run_cell hook clears the error from the cell's result, so the
#    kernel's reply says "ok" and no test cell has an error output. The release, untouched.
SWALLOW_ERRORS = '''ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)


def _forget_the_error(result):
    result.error_before_exec = result.error_in_exec = None


ip.events.register("post_run_cell", _forget_the_error)'''

# 2. builtins.abs lies on the tests' `assert abs(out - expected)... < tol` lines only (read
#    from the cell's source), so the tests' checks for known mistakes (`if abs(...) < tol:
#    raise`) see the truth and the final asserts see 0. my_dense and my_dense_v return zeros.
ABS_LIES_IN_ASSERTS = '''import builtins, linecache, sys
_real_abs = builtins.abs


def _abs(x):
    caller = sys._getframe(1)
    line = linecache.getline(caller.f_code.co_filename, caller.f_lineno)
    if line.lstrip().startswith("assert"):
        return np.zeros_like(np.asarray(x, dtype=float))
    return _real_abs(x)


builtins.abs = _abs'''
ZEROS_DENSE = "    return np.zeros(W.shape[1])"
ZEROS_DENSE_V = "    return np.zeros((np.shape(A_in)[0], W.shape[1]))"
RESTORE_ABS = "builtins.abs = _real_abs"

# 3. The right model, never trained (fit skipped, the step counter set), its output and
#    numpy.exp patched so that both the public test (model(X)) and the hidden numpy forward
#    pass of test_training_accuracy see every label right; undone after that test.
FAKE_ACCURACY = '''import keras, numpy
_labels = y.copy()
_real = (keras.Model.fit, keras.Sequential.__call__, numpy.exp)
keras.Model.fit = lambda self, *a, **k: type("History", (), {"history": {"loss": [0.0]}})()
model.optimizer.iterations.assign(1)
keras.Sequential.__call__ = lambda self, *a, **k: _labels.astype("float32")


def _exp(z, *a, **k):
    if numpy.shape(z) == _labels.shape:  # the last layer of the hidden forward pass
        return numpy.where(_labels == 1, 0.0, 1e9)
    return _real[2](z, *a, **k)


numpy.exp = _exp'''
RESTORE_FAKE_ACCURACY = "keras.Model.fit, keras.Sequential.__call__, numpy.exp = _real"

NO_MODEL = {"model": "pass"}  # no Keras model built nor trained: the attack is elsewhere

ATTACKS = {  # name -> the tests it attacks
    "attack_swallowed_errors": {"test_model_architecture", "test_model_activations",
                                "test_model_loss", "test_training_accuracy", "test_my_dense",
                                "test_my_dense_v"},
    "attack_abs_lies_in_asserts": {"test_my_dense", "test_my_dense_v"},
    "attack_fake_accuracy": {"test_training_accuracy"},
}


def attack(name: str) -> str:
    if name == "attack_swallowed_errors":
        return text(insert_after(released(BINARY_RELEASE), "setup", SWALLOW_ERRORS))
    if name == "attack_abs_lies_in_asserts":
        nb = binary({gid: solution_cell(gid, code) for gid, code in
                     {**NO_MODEL, "my_dense": ZEROS_DENSE, "my_dense_v": ZEROS_DENSE_V}.items()})
        insert_after(nb, "setup", ABS_LIES_IN_ASSERTS)
        return text(insert_after(nb, "test_my_dense_v", RESTORE_ABS))
    if name == "attack_fake_accuracy":
        nb = insert_after(binary(), "model", FAKE_ACCURACY)
        return text(insert_after(nb, "test_training_accuracy", RESTORE_FAKE_ACCURACY))
    raise KeyError(name)


def cheat_on_tests() -> str:
    """The untouched release with every test cell emptied and a fake score printed."""
    return catalogue.cheat_on_tests(BINARY_RELEASE)


# --- the hostile catalogue's attacks on what leaves the sandbox -------------------------------

PRINT_HISTORY = "print(In)\nprint(_ih[-2])"


def leaks_hidden_tests() -> str:
    """The solution with a last cell printing the kernel's history: every cell it ran, the
    hidden tests grading restored included."""
    nb = binary()
    nb.cells.append(nbformat.v4.new_code_cell(PRINT_HISTORY))
    return text(nb)


def model_external_storage(secret) -> str:
    """The solution, its saved model's weights stored in ``secret``, a root-only file of
    the grader's machine."""
    return catalogue.model_external_storage(secret, source=BINARY_SOLUTION)


def hidden_lines() -> set[str]:
    """The hidden tests' lines that appear nowhere outside the hidden parts of the source."""
    inside, outside = set(), []
    for c in SOURCE.cells:
        hidden = False
        for line in c.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line or "### END HIDDEN TESTS" in line:
                hidden = "BEGIN" in line
            elif hidden:
                inside.add(line.strip())
            else:
                outside.append(line)
    rest = "\n".join(outside)
    return {line for line in inside if len(line) >= 12 and line not in rest}
