// The input shape of a .tflite file, read straight from its FlatBuffer (no dependency):
// Model.subgraphs[0] -> SubGraph.inputs[0] -> SubGraph.tensors[i].shape = [1, H, W, C].

function table(view, pos) {
  const vtable = pos - view.getInt32(pos, true);
  const vtableSize = view.getUint16(vtable, true);
  return (field) => {
    const slot = 4 + 2 * field;
    const offset = slot < vtableSize ? view.getUint16(vtable + slot, true) : 0;
    return offset ? pos + offset : 0;
  };
}

const deref = (view, pos) => pos + view.getUint32(pos, true);

function vector(view, fieldPos) {
  const start = deref(view, fieldPos);
  return { length: view.getUint32(start, true), first: start + 4 };
}

/** {height, width, channels} of the first input of a TFLite model (ArrayBuffer / Uint8Array). */
export function inputShape(bytes) {
  const buffer = bytes instanceof ArrayBuffer ? bytes : bytes.buffer;
  const view = new DataView(buffer, bytes.byteOffset || 0, bytes.byteLength);
  if (view.byteLength < 8 || String.fromCharCode(...new Uint8Array(view.buffer,
    view.byteOffset + 4, 4)) !== "TFL3") {
    throw new Error("not a TFLite model (no TFL3 identifier)");
  }
  const model = table(view, deref(view, 0));
  const subgraphs = vector(view, model(2));
  const graphPos = subgraphs.first;
  const graph = table(view, deref(view, graphPos));
  const inputs = vector(view, graph(1));
  const tensorIndex = view.getInt32(inputs.first, true);
  const tensors = vector(view, graph(0));
  const tensorPos = tensors.first + 4 * tensorIndex;
  const tensor = table(view, deref(view, tensorPos));
  const shape = vector(view, tensor(0));
  const dims = Array.from({ length: shape.length },
    (_, i) => view.getInt32(shape.first + 4 * i, true));
  if (dims.length !== 4 || ![3, 4].includes(dims[3])) {
    throw new Error(`a bgseg model takes [1, H, W, 3 or 4], this one [${dims}]`);
  }
  return { height: dims[1], width: dims[2], channels: dims[3] };
}
