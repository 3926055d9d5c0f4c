// Float masks ({data: Float32Array, width, height}) and RGBA frames (channels: 4) resized as bgseg/contract.py does: bilinear
// (OpenCV INTER_LINEAR, pixel centres) to enlarge or upsample, area averaging (INTER_AREA) to shrink.

import { roundHalfEven } from "./zoom.mjs";

export const makeMask = (width, height, data = new Float32Array(width * height), channels = 1) =>
  ({ data, width, height, channels });

/** A crop [x0, y0, x1, y1] of a mask (or of an RGBA image: channels 4), as a new one. */
export function crop(mask, [x0, y0, x1, y1]) {
  const c = mask.channels || 1, w = x1 - x0;
  const out = makeMask(w, y1 - y0, new mask.data.constructor(w * (y1 - y0) * c), c);
  for (let y = y0; y < y1; y++) {
    const row = (y * mask.width + x0) * c;
    out.data.set(mask.data.subarray(row, row + w * c), (y - y0) * w * c);
  }
  return out;
}

/** Bilinear resize (half-pixel centres, edges clamped), as cv2.INTER_LINEAR. */
export function bilinear(mask, width, height) {
  if (mask.width === width && mask.height === height) return mask;
  const c = mask.channels || 1, src = mask.data, stride = mask.width * c;
  const out = makeMask(width, height, new Float32Array(width * height * c), c);
  const sx = mask.width / width, sy = mask.height / height;
  const xs = Array.from({ length: width }, (_, x) => {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), mask.width - 1);
    const x0 = Math.floor(fx);
    return [x0 * c, Math.min(x0 + 1, mask.width - 1) * c, fx - x0];
  });
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), mask.height - 1);
    const y0 = Math.floor(fy), wy = fy - y0;
    const r0 = y0 * stride, r1 = Math.min(y0 + 1, mask.height - 1) * stride;
    for (let x = 0; x < width; x++) {
      const [a, b, wx] = xs[x];
      for (let k = 0; k < c; k++) {
        const top = src[r0 + a + k] * (1 - wx) + src[r0 + b + k] * wx;
        const bottom = src[r1 + a + k] * (1 - wx) + src[r1 + b + k] * wx;
        out.data[(y * width + x) * c + k] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

// One axis of an area resize: output cell i averages source cells first[i] .. first[i] + count[i]
// - 1 with weights[i * span ...] (the overlap of each cell with the output cell's footprint).
function areaWeights(source, target) {
  const scale = source / target, span = Math.ceil(scale) + 1;
  const first = new Int32Array(target), count = new Int32Array(target);
  const weights = new Float32Array(target * span);
  for (let i = 0; i < target; i++) {
    const start = i * scale, end = start + scale;
    first[i] = Math.floor(start);
    const last = Math.min(Math.ceil(end), source);
    count[i] = last - first[i];
    for (let s = first[i]; s < last; s++) {
      weights[i * span + s - first[i]] = (Math.min(end, s + 1) - Math.max(start, s)) / scale;
    }
  }
  return { first, count, weights, span };
}

// Separable area average: along x into a (source height x width) buffer, then along y.
function area(mask, width, height) {
  const c = mask.channels || 1, src = mask.data, sw = mask.width, sh = mask.height;
  const cols = areaWeights(sw, width), rows = areaWeights(sh, height);
  const tmp = new Float32Array(sh * width * c);
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    for (let x = 0; x < width; x++) {
      const f = cols.first[x], n = cols.count[x], w0 = x * cols.span, o = (y * width + x) * c;
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let t = 0; t < n; t++) sum += src[(row + f + t) * c + k] * cols.weights[w0 + t];
        tmp[o + k] = sum;
      }
    }
  }
  const out = makeMask(width, height, new Float32Array(width * height * c), c);
  const stride = width * c;
  for (let y = 0; y < height; y++) {
    const f = rows.first[y], n = rows.count[y], w0 = y * rows.span, o = y * stride;
    for (let t = 0; t < n; t++) {
      const weight = rows.weights[w0 + t], r = (f + t) * stride;
      for (let i = 0; i < stride; i++) out.data[o + i] += tmp[r + i] * weight;
    }
  }
  return out;
}

// One axis of OpenCV's uint8 INTER_LINEAR: the two source offsets (times `c`) and 11-bit weights
// of each output cell, edges clamped as OpenCV clamps them.
function linearTaps(source, target, c) {
  const scale = source / target, first = new Int32Array(target), second = new Int32Array(target);
  const w0 = new Int32Array(target), w1 = new Int32Array(target);
  for (let i = 0; i < target; i++) {
    let f = (i + 0.5) * scale - 0.5, s = Math.floor(f);
    f -= s;
    if (s < 0) { s = 0; f = 0; }
    if (s >= source - 1) { s = source - 1; f = 0; }
    first[i] = s * c;
    second[i] = Math.min(s + 1, source - 1) * c;
    w1[i] = roundHalfEven(f * 2048); // saturate_cast<short>: cvRound
    w0[i] = 2048 - w1[i];
  }
  return { first, second, w0, w1 };
}

/** `bilinear` of uint8 pixels in OpenCV's fixed point (11-bit weights, its vectorised
 * rounding), so frames resized here match cv2.resize's to the grey level. */
function bilinearUint8(image, width, height) {
  const c = image.channels || 1, src = image.data, stride = image.width * c;
  const cols = linearTaps(image.width, width, c), rows = linearTaps(image.height, height, 1);
  const out = makeMask(width, height, new Uint8ClampedArray(width * height * c), c);
  // the horizontal pass of a source row, cached: neighbouring output rows share source rows
  const cached = new Map();
  const horizontal = (y) => {
    let row = cached.get(y);
    if (row) return row;
    row = new Int32Array(width * c);
    const r = y * stride;
    for (let x = 0; x < width; x++) {
      const a = r + cols.first[x], b = r + cols.second[x], u = cols.w0[x], v = cols.w1[x];
      for (let k = 0; k < c; k++) row[x * c + k] = src[a + k] * u + src[b + k] * v;
    }
    if (cached.size > 2) cached.delete(cached.keys().next().value);
    cached.set(y, row);
    return row;
  };
  for (let y = 0; y < height; y++) {
    const b0 = rows.w0[y], b1 = rows.w1[y];
    const row0 = horizontal(rows.first[y]), row1 = horizontal(rows.second[y]);
    const o = y * width * c;
    for (let i = 0; i < width * c; i++) {
      out.data[o + i] = ((((b0 * (row0[i] >> 4)) >> 16) + ((b1 * (row1[i] >> 4)) >> 16) + 2) >> 2);
    }
  }
  return out;
}

// Area averages of uint8 pixels rounded as OpenCV's are: (a + b + c + d + 2) >> 2 on its exact
// 2x path, to the nearest value (halves to even) elsewhere.
function areaUint8(image, width, height) {
  const exactHalf = image.width === 2 * width && image.height === 2 * height;
  const mean = area(image, width, height);
  const data = exactHalf ? Uint8ClampedArray.from(mean.data, (v) => Math.floor(v + 0.5))
    : new Uint8ClampedArray(mean.data);
  return makeMask(width, height, data, mean.channels);
}

/** contract.resize_frame: bilinear where either side grows; shrinking is area-averaged, after a
 * bilinear step to twice the size when both sides shrink more than 2x. Frames (uint8 pixels)
 * come back as uint8, rounded after each step as OpenCV rounds them; masks stay float. */
export function resize(mask, width, height) {
  if (mask.width === width && mask.height === height) return mask;
  const pixels = mask.data instanceof Uint8ClampedArray || mask.data instanceof Uint8Array;
  const linear = pixels ? bilinearUint8 : bilinear, average = pixels ? areaUint8 : area;
  if (width > mask.width || height > mask.height) return linear(mask, width, height);
  if (mask.width > 2 * width && mask.height > 2 * height) {
    mask = linear(mask, 2 * width, 2 * height);
  }
  return average(mask, width, height);
}

/** Paste `part` into `mask` (in place) with its top-left corner at (x0, y0). */
export function paste(mask, part, x0, y0) {
  for (let y = 0; y < part.height; y++) {
    mask.data.set(part.data.subarray(y * part.width, (y + 1) * part.width),
      (y0 + y) * mask.width + x0);
  }
}

/** sigmoid(k * logit(p)): people opaque, background clear; 0.5 does not move (k = 1: off). */
export function sharpen(mask, strength = 2.0) {
  if (strength === 1) return mask;
  const out = makeMask(mask.width, mask.height), eps = 1e-6;
  for (let i = 0; i < mask.data.length; i++) {
    const p = Math.min(Math.max(mask.data[i], eps), 1 - eps);
    const high = p ** strength, low = (1 - p) ** strength;
    out.data[i] = high / (high + low);
  }
  return out;
}
