"""What a model's layers hold: the shapes of W and b, and how many numbers are learned.

Duck-typed on Keras' ``model.layers`` and ``layer.get_weights()``, so this package needs no
TensorFlow to import.
"""

from __future__ import annotations


def layer_table(model) -> str:
    """One line per layer with weights: its name, W's shape, b's shape and its parameters."""
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"expected a Keras model, got {type(model).__name__}")
    rows = [("layer", "W", "b", "parameters")]
    total = 0
    for layer in layers:
        weights = layer.get_weights()
        if not weights:
            continue  # layers such as Flatten or Dropout learn nothing
        count = sum(int(w.size) for w in weights)
        total += count
        bias = str(weights[1].shape) if len(weights) > 1 else "none"
        rows.append((layer.name, str(weights[0].shape), bias, f"{count:,}"))
    if total == 0:
        return ("the model has no weights yet: start its layers with "
                "tf.keras.Input(shape=(400,)) so that Keras knows the input size")
    rows.append(("total", "", "", f"{total:,}"))
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    lines = ["  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                        row[3].rjust(widths[3])]).rstrip() for row in rows]
    return "\n".join(lines)
