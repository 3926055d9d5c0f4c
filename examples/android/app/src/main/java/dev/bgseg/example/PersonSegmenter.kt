package dev.bgseg.example

import android.content.Context
import com.google.mediapipe.framework.image.ByteBufferExtractor
import com.google.mediapipe.framework.image.ByteBufferImageBuilder
import com.google.mediapipe.framework.image.MPImage
import com.google.mediapipe.tasks.core.BaseOptions
import com.google.mediapipe.tasks.core.Delegate
import com.google.mediapipe.tasks.vision.core.RunningMode
import com.google.mediapipe.tasks.vision.imagesegmenter.ImageSegmenter
import java.nio.ByteBuffer

/**
 * bgseg video model in MediaPipe Tasks (LIVE_STREAM, GPU delegate).
 *
 * The model input is [1, H, W, 4]: RGB in [0, 1] plus the previous mask. MediaPipe feeds the four
 * channels of an RGBA image (divided by 255, from the model's metadata), so the previous mask goes
 * into the alpha byte of each frame. The output "mask" [1, H, W, 1] comes back as a confidence
 * mask resized to the frame: the person probability per pixel.
 */
class PersonSegmenter(
    context: Context,
    modelAsset: String = "bgseg_video_256_float16.tflite",
    useGpu: Boolean = true,
    private val onResult: (frame: ByteBuffer, mask: FloatArray, width: Int, height: Int) -> Unit,
) : AutoCloseable {
    private var previousMask = FloatArray(0)

    private val segmenter: ImageSegmenter = ImageSegmenter.createFromOptions(
        context,
        ImageSegmenter.ImageSegmenterOptions.builder()
            .setBaseOptions(
                BaseOptions.builder()
                    .setModelAssetPath(modelAsset)
                    .setDelegate(if (useGpu) Delegate.GPU else Delegate.CPU)
                    .build()
            )
            .setRunningMode(RunningMode.LIVE_STREAM)
            .setOutputConfidenceMasks(true)
            .setOutputCategoryMask(false)
            .setResultListener { result, image -> deliver(result.confidenceMasks().get()[0], image) }
            .build()
    )

    /** Segments one RGBA frame (its alpha is overwritten with the previous mask). */
    fun segment(rgba: ByteArray, width: Int, height: Int, timestampMs: Long) {
        if (previousMask.size != width * height) previousMask = FloatArray(width * height)
        for (i in 0 until width * height) {
            rgba[4 * i + 3] = (previousMask[i] * 255f + 0.5f).toInt().coerceIn(0, 255).toByte()
        }
        val image = ByteBufferImageBuilder(ByteBuffer.wrap(rgba), width, height, MPImage.IMAGE_FORMAT_RGBA)
            .build()
        segmenter.segmentAsync(image, timestampMs)
    }

    private fun deliver(maskImage: MPImage, input: MPImage) {
        val mask = FloatArray(maskImage.width * maskImage.height)
        ByteBufferExtractor.extract(maskImage).asFloatBuffer().get(mask)
        previousMask = mask  // the next frame's alpha channel
        onResult(ByteBufferExtractor.extract(input), mask, input.width, input.height)
    }

    override fun close() = segmenter.close()
}
