"""layer_table on real Keras models: the shapes of W and b, and the parameters per layer."""

from __future__ import annotations

import pytest

from digit_helpers import layer_table

pytestmark = pytest.mark.slow  # imports TensorFlow


@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def test_the_assignments_model(keras):
    model = keras.Sequential([
        keras.Input(shape=(400,)),
        keras.layers.Dense(25, activation="relu", name="L1"),
        keras.layers.Dense(15, activation="relu", name="L2"),
        keras.layers.Dense(10, activation="linear", name="L3"),
    ])
    assert layer_table(model) == (
        "layer  W          b      parameters\n"
        "L1     (400, 25)  (25,)      10,025\n"
        "L2     (25, 15)   (15,)         390\n"
        "L3     (15, 10)   (10,)         160\n"
        "total                        10,575"
    )
    assert model.count_params() == 10_575  # Keras agrees on the total


def test_layers_without_weights_are_skipped_and_a_missing_bias_is_said(keras):
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dropout(0.5, name="drop"),
        keras.layers.Dense(3, use_bias=False, name="nobias"),
    ])
    assert layer_table(model).splitlines() == [
        "layer   W       b     parameters",
        "nobias  (4, 3)  none          12",
        "total                         12",
    ]


def test_a_model_without_an_input_size_is_explained(keras):
    model = keras.Sequential([keras.layers.Dense(25)])
    assert "tf.keras.Input(shape=(400,))" in layer_table(model)


def test_something_else_than_a_model_is_a_type_error():
    with pytest.raises(TypeError, match="expected a Keras model, got list"):
        layer_table([1, 2])
