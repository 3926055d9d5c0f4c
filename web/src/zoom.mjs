// Zoom: a second, closer look at the people in a frame (a port of bgseg/runtime/zoom.py).
// Boxes are [x0, y0, x1, y1] in pixels of the mask they were found on, x1/y1 exclusive; masks are
// {data: Float32Array, width, height}.

export const THRESHOLD = 0.5;

/** The tight box of the pixels above `threshold`, or null when there are none. */
export function personBox(mask, threshold = THRESHOLD) {
  const { data, width, height } = mask;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}

/** Python's round(): halves to even, so that boxes match the Python runtime's exactly. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function square(tight, width, height, margin, maxArea) {
  if (!tight) return null;
  const [x0, y0, x1, y1] = tight;
  const side = Math.max(x1 - x0, y1 - y0) * (1 + 2 * margin);
  const w = roundHalfEven(Math.min(side, width));
  const h = roundHalfEven(Math.min(side, height));
  if (w * h > maxArea * width * height) return null;
  const left = roundHalfEven(Math.min(Math.max((x0 + x1 - w) / 2, 0), width - w));
  const top = roundHalfEven(Math.min(Math.max((y0 + y1 - h) / 2, 0), height - h));
  return [left, top, left + w, top + h];
}

/** The square crop around everyone in `mask`, or null when zooming would not help. */
export function zoomBox(mask, margin = 0.15, maxArea = 0.8, threshold = THRESHOLD) {
  return square(personBox(mask, threshold), mask.width, mask.height, margin, maxArea);
}

const contains = (o, i) => o[0] <= i[0] && o[1] <= i[1] && o[2] >= i[2] && o[3] >= i[3];
const area = (b) => (b[2] - b[0]) * (b[3] - b[1]);

/** Square crops (as zoomBox's) around each separate person in `mask`, largest first, at most
 * `limit`: the 8-connected regions above `threshold` of at least `minArea` of the frame whose crop
 * is under 60 % of the crop `seen` already looked at (null: the whole frame). */
export function peopleBoxes(mask, seen, margin = 0.15, limit = 4, minArea = 0.0005,
  threshold = THRESHOLD) {
  if (limit <= 0) return [];
  const { width, height } = mask;
  const reference = seen ? area(seen) : width * height;
  const boxes = [];
  for (const region of regions(mask, threshold).sort((a, b) => b.area - a.area)) {
    if (region.area < minArea * width * height || boxes.length === limit) break;
    const box = square(region.box, width, height, margin, 1);
    if (area(box) < 0.6 * reference) boxes.push(box);
  }
  return boxes;
}

// The 8-connected regions above `threshold`, in raster order of their first pixel (as OpenCV's
// connectedComponentsWithStats labels them): {area, box}.
function regions(mask, threshold) {
  const { data, width, height } = mask;
  const seen = new Uint8Array(width * height), found = [], stack = [];
  for (let start = 0; start < data.length; start++) {
    if (seen[start] || !(data[start] > threshold)) continue;
    let count = 0, x0 = width, y0 = height, x1 = -1, y1 = -1;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop(), x = i % width, y = (i - x) / width;
      count += 1;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, j = ny * width + nx;
          if (nx < 0 || nx >= width || seen[j] || !(data[j] > threshold)) continue;
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    found.push({ area: count, box: [x0, y0, x1 + 1, y1 + 1] });
  }
  return found;
}

/** The crop for the next video frame: `current` while it still holds everyone with a third of the
 * margin to spare and the new crop is not much smaller; otherwise the new zoomBox. */
export function keepBox(current, mask, margin = 0.15, maxArea = 0.8, threshold = THRESHOLD) {
  const tight = personBox(mask, threshold);
  const next = square(tight, mask.width, mask.height, margin, maxArea);
  if (!current || !next) return next;
  const snug = square(tight, mask.width, mask.height, margin / 3, 1);
  return contains(current, snug) && area(next) > 0.6 * area(current) ? current : next;
}
