#!/usr/bin/env python3
"""A large ONNX model for the header-only bench: 12 initializers of 128 MB (1.5 GB inline raw_data).

Written with the real onnx package; the tensors are zeros (the content does not matter, only that the
reader must skip 1.5 GB of raw_data to list them). Usage: make_large_onnx.py OUT
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
n = 12
side = 4096 * 2  # 8192 x 4096 float32 = 128 MiB
inits = [numpy_helper.from_array(np.zeros((side, 4096), dtype=np.float32), name=f"w{i}") for i in range(n)]
nodes = []
prev = "x"
for i in range(n):
    nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"], name=f"mm{i}"))
    nodes.append(helper.make_node("Slice", [f"h{i}", "starts", "ends", "axes"], [f"s{i}"], name=f"slice{i}"))
    prev = f"s{i}"
inits += [numpy_helper.from_array(np.array(v, dtype=np.int64), name=k) for k, v in (("starts", [0]), ("ends", [side]), ("axes", [1]))]
graph = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", side])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["batch", side])], initializer=inits)
model = helper.make_model(graph, producer_name="tamperscope-bench", opset_imports=[helper.make_opsetid("", 13)])
with open(out, "wb") as f:
    f.write(model.SerializeToString())
