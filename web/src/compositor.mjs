// Background effects on a 2D canvas (GPU-composited by the browser where it has a GPU): the person
// (frame x mask) is drawn over a background that is the blurred frame, a colour, an image or nothing
// (transparent, for PNG cut-outs). The mask is upsampled to the frame bilinearly by drawImage.

import { sharpen } from "./masks.mjs";

export class Compositor {
  constructor(output) {
    this.output = output;
    this.context = output.getContext("2d");
    this.maskCanvas = document.createElement("canvas");
    this.person = document.createElement("canvas");
    this.effect = { kind: "blur", blur: 12, color: "#00b140", image: null };
    this.sharpen = 2.0;
  }

  // The mask as the alpha of a canvas of the mask's size.
  alphaCanvas(mask) {
    const soft = sharpen(mask, this.sharpen);
    const canvas = this.maskCanvas;
    if (canvas.width !== mask.width || canvas.height !== mask.height) {
      canvas.width = mask.width;
      canvas.height = mask.height;
    }
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(mask.width, mask.height);
    for (let i = 0; i < soft.data.length; i++) {
      pixels.data[4 * i + 3] = Math.round(Math.min(Math.max(soft.data[i], 0), 1) * 255);
    }
    context.putImageData(pixels, 0, 0);
    return canvas;
  }

  /** Draw `source` (width x height) with the effect applied outside `mask`. */
  draw(source, width, height, mask) {
    const { output, context, person, effect } = this;
    for (const canvas of [output, person]) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
    }
    const personContext = person.getContext("2d");
    personContext.globalCompositeOperation = "copy";
    personContext.drawImage(source, 0, 0, width, height);
    personContext.globalCompositeOperation = "destination-in";
    personContext.imageSmoothingEnabled = true;
    personContext.drawImage(this.alphaCanvas(mask), 0, 0, width, height);
    personContext.globalCompositeOperation = "source-over";

    context.clearRect(0, 0, width, height);
    if (effect.kind === "blur") {
      const pad = 2 * effect.blur; // drawn larger so the blur does not fade in at the edges
      context.filter = `blur(${effect.blur}px)`;
      context.drawImage(source, -pad, -pad, width + 2 * pad, height + 2 * pad);
      context.filter = "none";
    } else if (effect.kind === "color") {
      context.fillStyle = effect.color;
      context.fillRect(0, 0, width, height);
    } else if (effect.kind === "image" && effect.image) {
      const image = effect.image; // cover: fill the frame, keep the aspect ratio, crop the rest
      const scale = Math.max(width / image.width, height / image.height);
      const w = image.width * scale, h = image.height * scale;
      context.drawImage(image, (width - w) / 2, (height - h) / 2, w, h);
    }
    context.drawImage(person, 0, 0);
  }
}
