// bgseg's VideoSegmenter in the browser: the shipped .tflite run by MediaPipe Tasks' ImageSegmenter
// (WebGL on the GPU delegate, WASM/XNNPACK on the CPU one), with the previous-mask feedback and the
// tracked zoom crop of bgseg/runtime/segmenter.py. A 4-channel model gets RGBA pixels whose alpha is
// the previous mask (MediaPipe feeds RGBA to a 4-channel model and applies the file's
// normalization, mean 0 / std 255, to all four channels), as tflite/gpu_delegate_check.py does.
// Still photos (`segmentStill`) get Segmenter's mirrored first look and per-person closer looks.
// Not ported: the guided-filter refinement (the mask is upsampled bilinearly) and temporal smoothing.

import { FilesetResolver, ImageSegmenter } from "../vendor/tasks-vision/vision_bundle.mjs";
import { inputShape } from "./tflite.mjs";
import { keepBox, peopleBoxes, roundHalfEven, THRESHOLD, zoomBox } from "./zoom.mjs";
import { bilinear, crop, makeMask, paste, resize } from "./masks.mjs";

export const CANVAS_SIDE = 960; // longest side of the frame-shaped mask that crops are pasted into
export const WORK_SIZE = 360; // its shorter side at most (bgseg.runtime.postprocess.WORK_SIZE)

/** [width, height] of the frame-shaped mask of a width x height frame: Python's
 * `picture_size` (`canvas_size` without refinement, which the page does not run). */
export function canvasSize(width, height) {
  const scale = Math.min(1, CANVAS_SIDE / Math.max(width, height),
    WORK_SIZE / Math.min(width, height));
  return [Math.max(1, roundHalfEven(width * scale)), Math.max(1, roundHalfEven(height * scale))];
}

/** Fetch a model file, or throw an Error whose message names the URL and the HTTP status. */
export async function fetchModel(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`model ${url} could not be downloaded (${error.message})`);
  }
  if (!response.ok) throw new Error(`model ${url} not found (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

// The ImageData mirrored left to right.
function mirrored(image) {
  const { width, height, data } = image, out = new ImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = 4 * (y * width + x), to = 4 * (y * width + width - 1 - x);
      for (let c = 0; c < 4; c++) out.data[to + c] = data[from + c];
    }
  }
  return out;
}

export class VideoSegmenter {
  /** Load a model ({modelUrl | modelBytes, wasmPath, delegate: "GPU" | "CPU"}). */
  static async create({ modelUrl, modelBytes, wasmPath = "vendor/tasks-vision/wasm",
    delegate = "GPU", zoom = true, zoomMargin = 0.15, redetect = 15 }) {
    const bytes = modelBytes || await fetchModel(modelUrl);
    const shape = inputShape(bytes);
    const fileset = await FilesetResolver.forVisionTasks(new URL(wasmPath, document.baseURI).href);
    const options = (chosen) => ({
      baseOptions: { modelAssetBuffer: bytes, delegate: chosen }, runningMode: "IMAGE",
      outputConfidenceMasks: true, outputCategoryMask: false,
    });
    let segmenter, used = delegate;
    try {
      segmenter = await ImageSegmenter.createFromOptions(fileset, options(delegate));
    } catch (error) {
      if (delegate !== "GPU") throw error;
      used = "CPU"; // no WebGL 2 (or the GPU delegate refused the model): WASM
      segmenter = await ImageSegmenter.createFromOptions(fileset, options("CPU"));
    }
    return new VideoSegmenter(segmenter, shape, used, { zoom, zoomMargin, redetect });
  }

  constructor(segmenter, shape, delegate, { zoom, zoomMargin, redetect }) {
    this.segmenter = segmenter;
    Object.assign(this, shape);
    this.delegate = delegate;
    this.zoom = zoom;
    this.zoomMargin = zoomMargin;
    this.redetect = redetect;
    this.frame = new OffscreenCanvas(1, 1); // CPU-backed: the pixels are read back every frame
    this.frameContext = this.frame.getContext("2d", { willReadFrequently: true });
    this.reset();
  }

  get isVideo() { return this.channels === 4; }

  /** Forget the previous frame (scene cut, new stream). */
  reset() {
    this.previousMask = null;
    this.box = null;
    this.frameIndex = 0;
  }

  // The RGBA pixels of a frame (video, image or canvas) at its size, as a 4-channel image.
  framePixels(source, width, height) {
    const canvas = this.frame;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    this.frameContext.drawImage(source, 0, 0, width, height);
    const { data } = this.frameContext.getImageData(0, 0, width, height);
    return makeMask(width, height, data, 4);
  }

  // One model run on the [x0, y0, x1, y1] crop of the frame's pixels (resized as the Python
  // runtime does, contract.resize_frame), `prior` (model size) as the alpha channel; with
  // `mirror`, the mean of that mask and the mirrored-back mask of the mirrored input (a second
  // run, Python's Segmenter._infer).
  infer(pixels, rect, prior, mirror = false) {
    const part = rect ? crop(pixels, rect) : pixels;
    const small = resize(part, this.width, this.height).data;
    const input = new ImageData(this.width, this.height);
    const data = input.data; // Uint8ClampedArray: rounds as OpenCV's uint8 resize does
    for (let i = 0; i < this.width * this.height; i++) {
      data[4 * i] = small[4 * i];
      data[4 * i + 1] = small[4 * i + 1];
      data[4 * i + 2] = small[4 * i + 2];
      data[4 * i + 3] = this.isVideo && prior
        ? Math.round(Math.min(Math.max(prior.data[i], 0), 1) * 255) : 0;
    }
    const mask = this.run(input);
    if (!mirror) return mask;
    const back = this.run(mirrored(input));
    const w = this.width;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        mask.data[i] = 0.5 * mask.data[i] + 0.5 * back.data[y * w + (w - 1 - x)];
      }
    }
    return mask;
  }

  // One model run on a model-size ImageData: its mask.
  run(input) {
    const start = performance.now();
    const result = this.segmenter.segment(input);
    const mask = makeMask(this.width, this.height,
      new Float32Array(result.confidenceMasks[0].getAsFloat32Array()));
    result.close();
    this.timings.model += performance.now() - start;
    this.timings.runs += 1;
    return mask;
  }

  // The model's prior for a frame-shaped mask (or a crop of one): area-averaged to model size.
  modelPrior(mask) { return mask ? resize(mask, this.width, this.height) : null; }

  // The model's mask of the crop of the frame under `box` (canvas pixels), at the box's size.
  look(pixels, canvas, box, prior) {
    const { width, height } = pixels;
    const [x0, y0, x1, y1] = box;
    // rounded as Python's round() rounds them: the same crop of the frame
    const fx0 = roundHalfEven(x0 * width / canvas.width);
    const fx1 = roundHalfEven(x1 * width / canvas.width);
    const fy0 = roundHalfEven(y0 * height / canvas.height);
    const fy1 = roundHalfEven(y1 * height / canvas.height);
    const rect = [fx0, fy0, Math.max(fx1, fx0 + 1), Math.max(fy1, fy0 + 1)];
    const mask = this.infer(pixels, rect, prior ? this.modelPrior(crop(prior, box)) : null);
    return bilinear(mask, x1 - x0, y1 - y0);
  }

  // Run the model on the crop of the frame under `box` (canvas pixels), paste into `canvas`.
  zoomed(pixels, canvas, box, prior) {
    paste(canvas, this.look(pixels, canvas, box, prior), box[0], box[1]);
    return canvas;
  }

  // A closer look at one separate person (Python's Segmenter._person_looks): inside what the
  // canvas calls person the closer look decides, elsewhere in the box the larger value stays.
  personLook(pixels, canvas, box) {
    const closer = this.look(pixels, canvas, box, null);
    const [x0, y0, x1] = box, w = x1 - x0;
    for (let y = 0; y < closer.height; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y0 + y) * canvas.width + x0 + x, value = closer.data[y * w + x];
        canvas.data[i] = canvas.data[i] > THRESHOLD ? value : Math.max(canvas.data[i], value);
      }
    }
  }

  // The frame-shaped mask of the next frame, zooming on the tracked crop (Python's _tracked).
  tracked(pixels) {
    const [cw, ch] = canvasSize(pixels.width, pixels.height);
    let prior = this.previousMask;
    if (prior && (prior.width !== cw || prior.height !== ch)) { // the stream changed size
      prior = null;
      this.box = null;
    }
    let canvas = null;
    if (!this.box || this.frameIndex % this.redetect === 0) {
      const whole = this.infer(pixels, null, this.modelPrior(prior));
      canvas = bilinear(whole, cw, ch);
      if (canvas === whole) canvas = makeMask(cw, ch, whole.data.slice());
      this.box = keepBox(this.box, canvas, this.zoomMargin);
      if (!this.box) return canvas;
    }
    canvas = canvas || makeMask(cw, ch);
    canvas = this.zoomed(pixels, canvas, this.box, prior);
    this.box = keepBox(this.box, canvas, this.zoomMargin);
    return canvas;
  }

  /** The raw person probability of the next frame of `source` (video, image or canvas of
   * width x height), as a frame-shaped mask (`canvasSize`, or model size without
   * zoom); `timings` holds the model milliseconds and runs of the call. */
  segment(source, width, height) {
    this.timings = { model: 0, runs: 0 };
    const previous = this.isVideo ? this.previousMask : null;
    const pixels = this.framePixels(source, width, height);
    const raw = this.zoom ? this.tracked(pixels) : this.infer(pixels, null, previous);
    this.previousMask = raw;
    this.frameIndex += 1;
    return raw;
  }

  /** The raw person probability of a still photo, as `bgseg.runtime.Segmenter` (what `bgseg
   * image` runs) computes it: the first look at the whole photo mirrored too (`flip`), the zoom
   * look at everyone, then a closer look each for up to `people` separate people who still look
   * small; a frame-shaped mask (model size without zoom). The video state is left as it was. */
  segmentStill(source, width, height, { flip = true, people = 4 } = {}) {
    this.timings = { model: 0, runs: 0 };
    const pixels = this.framePixels(source, width, height);
    const whole = this.infer(pixels, null, null, flip);
    if (!this.zoom) return whole;
    const [cw, ch] = canvasSize(width, height);
    let canvas = bilinear(whole, cw, ch);
    if (canvas === whole) canvas = makeMask(cw, ch, whole.data.slice());
    const box = zoomBox(canvas, this.zoomMargin);
    if (box) this.zoomed(pixels, canvas, box, null);
    for (const closer of peopleBoxes(canvas, box, this.zoomMargin, people)) {
      this.personLook(pixels, canvas, closer);
    }
    return canvas;
  }

  close() { this.segmenter.close(); }
}
