// The page: a source (camera, dropped/chosen video or photo), an effect, the frames/s. Options in
// the query string: ?model=NAME|URL (default: default_video, looked up as models/NAME.tflite),
// ?delegate=GPU|CPU (default GPU, falling back to CPU), ?zoom=0, ?source=camera (start at once).

import { VideoSegmenter } from "./segmenter.mjs";
import { Compositor } from "./compositor.mjs";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

export function modelUrl(name) {
  return /[/.]/.test(name) ? name : `models/${name}.tflite`;
}

// Camera errors (DOMException names) as one line the user can act on.
export function cameraMessage(error) {
  const tail = "or drop a video or photo on the page.";
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `Camera access was refused: allow the camera in the site settings, ${tail}`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No camera found: connect one, ${tail}`;
    case "NotReadableError":
      return `The camera is busy (used by another application?): close it, ${tail}`;
    default:
      return `The camera could not be opened (${error && (error.message || error.name)}): ${tail}`;
  }
}

class App {
  constructor() {
    this.output = $("output");
    this.video = $("video");
    this.compositor = new Compositor(this.output);
    this.segmenter = null;
    this.source = null; // {element, width, height, live}
    this.frames = [];
    this.modelMs = 0;
    this.stats = { frames: 0, modelMs: 0, runs: 0, segmentMs: 0, drawMs: 0 }; // totals since the source started
    this.lastMask = null;
    this.error = null;
  }

  showError(message) {
    this.error = message;
    $("error").textContent = message;
    $("error").hidden = false;
    $("status").textContent = "";
  }

  clearError() {
    this.error = null;
    $("error").hidden = true;
  }

  async loadModel(name) {
    $("status").textContent = `loading ${name}...`;
    if (this.segmenter) this.segmenter.close();
    this.segmenter = null;
    try {
      this.segmenter = await VideoSegmenter.create({
        modelUrl: modelUrl(name), delegate: (params.get("delegate") || "GPU").toUpperCase(),
        zoom: params.get("zoom") !== "0",
      });
    } catch (error) {
      this.showError(`Could not load the model: ${error.message}`);
      return false;
    }
    const s = this.segmenter;
    $("status").textContent = `${name}: ${s.width}x${s.height}x${s.channels}, ${s.delegate}`;
    return true;
  }

  // A source needs a model: say so instead of failing on the first frame.
  modelMissing() {
    if (this.segmenter) return false;
    this.showError(this.error || "No model is loaded: choose one in the Model list.");
    return true;
  }

  async startCamera() {
    if (this.modelMissing()) return false;
    this.stopSource();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.showError("This page cannot open a camera here (it needs https or localhost), "
        + "or drop a video or photo on the page.");
      return false;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      this.video.srcObject = stream;
      await this.video.play();
    } catch (error) {
      this.showError(cameraMessage(error));
      return false;
    }
    this.clearError();
    this.startVideo(true);
    return true;
  }

  async openFile(file) {
    if (this.modelMissing()) return;
    this.stopSource();
    if (file.type.startsWith("image/")) {
      const image = new Image();
      image.src = URL.createObjectURL(file);
      try {
        await image.decode();
      } catch {
        this.showError(`${file.name} is not an image this browser can decode.`);
        return;
      }
      this.clearError();
      this.source = { element: image, width: image.naturalWidth, height: image.naturalHeight,
        still: true };
      this.segmenter.reset();
      this.processFrame();
    } else if (file.type.startsWith("video/")) {
      this.video.srcObject = null;
      this.video.src = URL.createObjectURL(file);
      this.video.loop = true;
      try {
        await this.video.play();
      } catch {
        this.showError(`${file.name} is not a video this browser can play.`);
        return;
      }
      this.clearError();
      this.startVideo(false);
    } else {
      this.showError(`${file.name}: drop a video or a photo (got ${file.type || "unknown type"}).`);
    }
  }

  startVideo(live) {
    const video = this.video;
    this.source = { element: video, width: video.videoWidth, height: video.videoHeight, live };
    this.segmenter.reset();
    const next = () => {
      if (!this.source || this.source.element !== video) return;
      this.source.width = video.videoWidth;
      this.source.height = video.videoHeight;
      this.processFrame();
      video.requestVideoFrameCallback(next);
    };
    video.requestVideoFrameCallback(next);
  }

  stopSource() {
    const stream = this.video.srcObject;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    this.video.srcObject = null;
    this.source = null;
  }

  processFrame() {
    const { element, width, height } = this.source;
    if (!this.segmenter || !width || !height) return;
    const start = performance.now();
    const mask = this.source.still ? this.segmenter.segmentStill(element, width, height)
      : this.segmenter.segment(element, width, height);
    const segmented = performance.now();
    this.lastMask = mask;
    this.compositor.draw(element, width, height, mask);
    const now = performance.now();
    this.stats.segmentMs += segmented - start;
    this.stats.drawMs += now - segmented;
    this.frames.push(now);
    while (this.frames[0] < now - 1000) this.frames.shift();
    const ms = this.segmenter.timings.model;
    this.stats.frames += 1;
    this.stats.modelMs += ms;
    this.stats.runs += this.segmenter.timings.runs;
    this.modelMs = this.modelMs ? 0.9 * this.modelMs + 0.1 * ms : ms;
    $("fps").textContent = `${this.frames.length} frames/s, model ${this.modelMs.toFixed(1)} ms`;
  }

  setEffect() {
    const effect = this.compositor.effect;
    effect.kind = $("effect").value;
    effect.blur = Number($("blur").value);
    effect.color = $("color").value;
    if (this.source && !this.source.live && this.source.element.tagName === "IMG") {
      this.compositor.draw(this.source.element, this.source.width, this.source.height,
        this.lastMask);
    }
  }

  download() {
    this.output.toBlob((blob) => {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "bgseg.png";
      link.click();
    }, "image/png");
  }
}

async function main() {
  const app = new App();
  window.bgsegApp = app;
  const model = params.get("model") || "default_video";
  $("model").value = model;
  $("camera").onclick = () => app.startCamera();
  $("file").onchange = (event) => event.target.files[0] && app.openFile(event.target.files[0]);
  for (const id of ["effect", "blur", "color"]) $(id).oninput = () => app.setEffect();
  $("background").onchange = async (event) => {
    const image = new Image();
    image.src = URL.createObjectURL(event.target.files[0]);
    await image.decode();
    app.compositor.effect.image = image;
    $("effect").value = "image";
    app.setEffect();
  };
  $("download").onclick = () => app.download();
  $("model").onchange = () => app.loadModel($("model").value);
  document.body.ondragover = (event) => event.preventDefault();
  document.body.ondrop = (event) => {
    event.preventDefault();
    if (event.dataTransfer.files[0]) app.openFile(event.dataTransfer.files[0]);
  };
  app.setEffect();
  const loaded = await app.loadModel(model);
  if (loaded && params.get("source") === "camera") await app.startCamera();
  app.ready = true;
  document.body.dataset.ready = "1";
}

main();
