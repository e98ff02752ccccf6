"""Plain numeric arrays from an ``.npz`` file that untrusted code wrote, with hard bounds.

``numpy.load`` trusts an ``.npy`` header: a few bytes can declare a shape of billions of
elements (or a negative one), or a header of gigabytes, and the data is decompressed as it
is read. Here each member is read into memory no further than it may be, then its header
is checked (numbers only, no objects, no negative or oversized shape) before its data is
taken. Used for what the function calls return and for the isolated model reader.
"""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np

NUMERIC_KINDS = "biuf"
MAX_ARRAYS = 4096
HEADER_BYTES = 4096  # numpy writes a few dozen bytes of header


def read_arrays(data: bytes, max_elements: int) -> dict[str, np.ndarray]:
    """name -> array of the ``.npz`` ``data``; ValueError says what is wrong with it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS:
                raise ValueError(f"{len(members)} arrays")
            return {info.filename.removesuffix(".npy"): _array(archive, info, max_elements)
                    for info in members}
    except ValueError:
        raise
    except Exception as exc:  # whatever a hostile zip makes zipfile or zlib raise
        raise ValueError(f"not an archive of arrays ({type(exc).__name__}: {exc})") from None


def _array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_elements: int) -> np.ndarray:
    limit = HEADER_BYTES + max_elements * 16  # the widest numeric type numpy saves
    with archive.open(info) as member:
        raw = member.read(limit + 1)  # no further, whatever the member's size claims
    if len(raw) > limit:
        raise ValueError(f"{info.filename} is more than {limit} bytes")
    stream = io.BytesIO(raw)
    fmt = np.lib.format
    major, _ = fmt.read_magic(stream)
    read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
    shape, fortran, dtype = read_header(stream, max_header_size=HEADER_BYTES)
    if dtype.hasobject or dtype.kind not in NUMERIC_KINDS:
        raise ValueError(f"an array of {dtype}")
    if any(n < 0 for n in shape) or math.prod(shape) > max_elements:
        raise ValueError(f"an array of shape {shape}")
    body = raw[stream.tell():]
    if len(body) != math.prod(shape) * dtype.itemsize:
        raise ValueError("an array whose data does not match its header")
    return np.frombuffer(body, dtype=dtype).reshape(shape, order="F" if fortran else "C")
