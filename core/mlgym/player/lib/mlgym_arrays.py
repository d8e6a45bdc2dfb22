"""Arrays in MLGym's player protocol: numeric arrays as plain JSON objects, checked on arrival.

A batch of observations, actions or logits as a JSON list of numbers costs about ten times its
size and much time to parse. Both halves of the protocol (``mlgym_referee.py``,
``mlgym_player.py``) therefore send arrays as one object holding the raw little-endian bytes::

    {"mlgym-array": 1, "dtype": "<f4", "shape": [256, 4], "data": "<base64>"}

:func:`encode` makes it from any numpy-like array (numpy, JAX, a torch tensor on the CPU);
:func:`decode` turns it back into a numpy array, refusing anything else: another form, a dtype
outside :data:`DTYPES`, a shape that is not a list of sizes, data whose length does not match
the shape. Expected dtype, shape and finiteness are checked when asked. It raises
``ValueError`` with a message naming ``what``; the referee turns that into a failed call.

numpy is imported only when an array is encoded or decoded. This file needs nothing else beyond
the standard library; it is copied with the two halves into a task's evaluator folder.
"""

import base64
import binascii

FORMAT = 1
TAG = "mlgym-array"
#: the dtypes an array may have, as numpy spells them (little-endian)
DTYPES = ("|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8")
MAX_DIMENSIONS = 32
_KEYS = {TAG, "dtype", "shape", "data"}


def is_encoded(value):
    """Whether ``value`` looks like an encoded array (a dict carrying the tag)."""
    return isinstance(value, dict) and TAG in value


def encode(array):
    """The JSON-able form of ``array`` (anything ``numpy.asarray`` takes)."""
    import numpy

    if hasattr(array, "detach") and hasattr(array, "cpu"):  # a torch tensor
        array = array.detach().cpu().numpy()
    data = numpy.asarray(array)
    little = data.dtype.newbyteorder("<") if data.dtype.byteorder == ">" else data.dtype
    data = numpy.ascontiguousarray(data, dtype=little)
    if data.dtype.str not in DTYPES:
        raise TypeError(f"arrays of dtype {data.dtype} cannot be sent; use one of "
                        "bool, int8..int64, uint8..uint64, float16, float32, float64")
    return {TAG: FORMAT, "dtype": data.dtype.str, "shape": list(data.shape),
            "data": base64.b64encode(data.tobytes()).decode("ascii")}


def decode(value, *, dtype=None, shape=None, finite=False, what="the array"):
    """The numpy array ``value`` encodes, checked; ``ValueError`` naming ``what`` otherwise.

    ``dtype``: a numpy dtype (exact match) or a string of dtype kinds (``"f"`` floats, ``"i"``
    signed and ``"u"`` unsigned integers, ``"b"`` bools; ``"iu"`` any integer). ``shape``: a
    sequence of sizes, ``None`` for any size in that place. ``finite``: refuse NaN and infinities.
    """
    import numpy

    if not (isinstance(value, dict) and set(value) == _KEYS and value[TAG] == FORMAT):
        raise ValueError(f"{what} must be an array made with encode_array, not "
                         f"{_short(value)}")
    kind, sizes, data = value["dtype"], value["shape"], value["data"]
    if kind not in DTYPES:
        raise ValueError(f"{what} has an unknown dtype {_short(kind)}")
    if not (isinstance(sizes, list) and len(sizes) <= MAX_DIMENSIONS
            and all(type(n) is int and n >= 0 for n in sizes)):
        raise ValueError(f"{what} has a malformed shape {_short(sizes)}")
    if not isinstance(data, str):
        raise ValueError(f"{what} has no data")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} has data that is not base64") from None
    item = numpy.dtype(kind)
    count = 1
    for n in sizes:
        count *= n
    if len(raw) != count * item.itemsize:
        raise ValueError(f"{what} holds {len(raw)} bytes, not the {count * item.itemsize} its "
                         f"shape {sizes} and dtype {kind} need")
    array = numpy.frombuffer(raw, dtype=item).reshape(sizes).copy()
    _check(array, dtype, shape, finite, what)
    return array


def _check(array, dtype, shape, finite, what):
    import numpy

    if dtype is not None:
        if isinstance(dtype, str) and set(dtype) <= set("fiub") and len(dtype) <= 4:
            if array.dtype.kind not in dtype:
                names = {"f": "floats", "i": "signed integers", "u": "unsigned integers",
                         "b": "booleans"}
                raise ValueError(f"{what} must hold {' or '.join(names[k] for k in dtype)}, "
                                 f"not {array.dtype}")
        elif array.dtype != numpy.dtype(dtype):
            raise ValueError(f"{what} must have dtype {numpy.dtype(dtype)}, not {array.dtype}")
    if shape is not None:
        shape = tuple(shape)
        if len(shape) != array.ndim or any(
                want is not None and want != got for want, got in zip(shape, array.shape, strict=True)):
            wanted = "(" + ", ".join("any" if n is None else str(n) for n in shape) + ")"
            raise ValueError(f"{what} must have shape {wanted}, not {tuple(array.shape)}")
    if finite and array.dtype.kind == "f" and not numpy.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinite values")


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
