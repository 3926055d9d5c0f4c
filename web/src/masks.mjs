// Float masks ({data: Float32Array, width, height}) resized as bgseg/contract.py does: bilinear
// (OpenCV INTER_LINEAR, pixel centres) to enlarge or upsample, area averaging (INTER_AREA) to shrink.

export const makeMask = (width, height, data = new Float32Array(width * height)) =>
  ({ data, width, height });

/** A crop [x0, y0, x1, y1] of a mask, as a new mask. */
export function crop(mask, [x0, y0, x1, y1]) {
  const out = makeMask(x1 - x0, y1 - y0);
  for (let y = y0; y < y1; y++) {
    out.data.set(mask.data.subarray(y * mask.width + x0, y * mask.width + x1), (y - y0) * out.width);
  }
  return out;
}

/** Bilinear resize (half-pixel centres, edges clamped), as cv2.INTER_LINEAR. */
export function bilinear(mask, width, height) {
  if (mask.width === width && mask.height === height) return mask;
  const out = makeMask(width, height);
  const sx = mask.width / width, sy = mask.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), mask.height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, mask.height - 1), wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), mask.width - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, mask.width - 1), wx = fx - x0;
      const top = mask.data[y0 * mask.width + x0] * (1 - wx) + mask.data[y0 * mask.width + x1] * wx;
      const bottom = mask.data[y1 * mask.width + x0] * (1 - wx) + mask.data[y1 * mask.width + x1] * wx;
      out.data[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

// One axis of an area resize: for each output cell, the source cells it covers and their weights.
function areaWeights(source, target) {
  const scale = source / target, cells = [];
  for (let i = 0; i < target; i++) {
    const start = i * scale, end = start + scale, taps = [];
    for (let s = Math.floor(start); s < Math.min(Math.ceil(end), source); s++) {
      taps.push([s, (Math.min(end, s + 1) - Math.max(start, s)) / scale]);
    }
    cells.push(taps);
  }
  return cells;
}

/** Area-averaged shrink (cv2.INTER_AREA); bilinear where either side grows. */
export function resize(mask, width, height) {
  if (mask.width === width && mask.height === height) return mask;
  if (width > mask.width || height > mask.height) return bilinear(mask, width, height);
  const columns = areaWeights(mask.width, width), rows = areaWeights(mask.height, height);
  const out = makeMask(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [sy, wy] of rows[y]) {
        const row = sy * mask.width;
        for (const [sx, wx] of columns[x]) sum += mask.data[row + sx] * wy * wx;
      }
      out.data[y * width + x] = sum;
    }
  }
  return out;
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
