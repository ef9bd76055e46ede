"""Write tiny real .tflite models for tests, without TensorFlow.

The model maps an image to a fixed YOLO-style raw prediction tensor: RESHAPE (flatten) ->
FULLY_CONNECTED with zero weights and the predictions as bias -> RESHAPE to the output
layout, optionally QUANTIZE to int8. It runs in the real interpreter, so the detector's
input handling, dequantisation and decoding are exercised end to end.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s


def _opcode(code: int) -> s.OperatorCodeT:
    op = s.OperatorCodeT()
    op.builtinCode = code
    op.deprecatedBuiltinCode = min(code, 127)
    op.version = 1
    return op


def _buffer(data: bytes | None = None) -> s.BufferT:
    b = s.BufferT()
    b.data = list(data) if data else None
    return b


def _tensor(shape, ttype, buffer, name, quant=None) -> s.TensorT:  # type: ignore[no-untyped-def]
    t = s.TensorT()
    t.shape = list(shape)
    t.type = ttype
    t.buffer = buffer
    t.name = name
    if quant is not None:
        q = s.QuantizationParametersT()
        q.scale = [float(quant[0])]
        q.zeroPoint = [int(quant[1])]
        t.quantization = q
    return t


def write_yolo_model(
    path: Path,
    predictions: np.ndarray,
    *,
    input_hw: tuple[int, int] = (16, 16),
    output_quant: tuple[float, int] | None = None,
    input_quant: tuple[float, int] | None = None,
) -> Path:
    """Write a model whose single output equals ``predictions`` (shape [1, K, N] or [1, N, K]).

    ``output_quant`` (scale, zero_point) makes the output int8; ``input_quant`` makes the
    input int8 (dequantised inside the model).
    """
    h, w = input_hw
    n_in = h * w * 3
    pred = np.asarray(predictions, np.float32)
    n_out = int(pred.size)
    buffers = [_buffer()]  # buffer 0 is the empty sentinel

    def add_buffer(arr: np.ndarray) -> int:
        buffers.append(_buffer(arr.tobytes()))
        return len(buffers) - 1

    tensors: list[s.TensorT] = []

    def add_tensor(*args, **kw) -> int:  # type: ignore[no-untyped-def]
        tensors.append(_tensor(*args, **kw))
        return len(tensors) - 1

    ops: list[s.OperatorT] = []
    opcodes = [_opcode(s.BuiltinOperator.RESHAPE), _opcode(s.BuiltinOperator.FULLY_CONNECTED),
               _opcode(s.BuiltinOperator.QUANTIZE), _opcode(s.BuiltinOperator.DEQUANTIZE)]

    def add_op(opcode: int, inputs: list[int], outputs: list[int], opt_type=0, opts=None) -> None:  # type: ignore[no-untyped-def]
        op = s.OperatorT()
        op.opcodeIndex = opcode
        op.inputs = inputs
        op.outputs = outputs
        op.builtinOptionsType = opt_type
        op.builtinOptions = opts
        ops.append(op)

    def reshape(src: int, shape: list[int], name: str) -> int:
        shp = add_tensor([len(shape)], s.TensorType.INT32,
                         add_buffer(np.array(shape, np.int32)), f"{name}_shape")
        dst = add_tensor(shape, s.TensorType.FLOAT32, add_buffer(np.zeros(0)), name)
        opts = s.ReshapeOptionsT()
        opts.newShape = shape
        add_op(0, [src, shp], [dst], s.BuiltinOptions.ReshapeOptions, opts)
        return dst

    if input_quant is not None:
        inp = add_tensor([1, h, w, 3], s.TensorType.INT8, add_buffer(np.zeros(0)), "image",
                         input_quant)
        x = add_tensor([1, h, w, 3], s.TensorType.FLOAT32, add_buffer(np.zeros(0)), "image_f")
        add_op(3, [inp], [x])
    else:
        inp = x = add_tensor([1, h, w, 3], s.TensorType.FLOAT32, add_buffer(np.zeros(0)),
                             "image")
    flat = reshape(x, [1, n_in], "flat")
    weights = add_tensor([n_out, n_in], s.TensorType.FLOAT32,
                         add_buffer(np.zeros((n_out, n_in), np.float32)), "weights")
    bias = add_tensor([n_out], s.TensorType.FLOAT32, add_buffer(pred.reshape(-1)), "bias")
    fc_out = add_tensor([1, n_out], s.TensorType.FLOAT32, add_buffer(np.zeros(0)), "fc")
    fc_opts = s.FullyConnectedOptionsT()
    add_op(1, [flat, weights, bias], [fc_out], s.BuiltinOptions.FullyConnectedOptions, fc_opts)
    out = reshape(fc_out, list(pred.shape), "raw")
    if output_quant is not None:
        q_out = add_tensor(list(pred.shape), s.TensorType.INT8, add_buffer(np.zeros(0)),
                           "raw_q", output_quant)
        add_op(2, [out], [q_out])
        out = q_out

    sub = s.SubGraphT()
    sub.tensors = tensors
    sub.inputs = [inp]
    sub.outputs = [out]
    sub.operators = ops
    sub.name = "main"
    model = s.ModelT()
    model.version = 3
    model.operatorCodes = opcodes
    model.subgraphs = [sub]
    model.buffers = buffers
    model.description = "edgepost test model"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path
