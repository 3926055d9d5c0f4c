package dev.bgseg.example

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.os.Bundle
import android.os.SystemClock
import android.widget.ImageView
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.core.content.ContextCompat
import java.nio.ByteBuffer
import java.util.concurrent.Executors

/** Camera -> bgseg mask (MediaPipe, GPU delegate) -> person composited over a flat background. */
class MainActivity : AppCompatActivity() {
    private val analysis = Executors.newSingleThreadExecutor()
    private lateinit var segmenter: PersonSegmenter
    private lateinit var output: ImageView
    private lateinit var status: TextView
    private var rotation = 0
    private var lastFrameMs = 0L

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        output = findViewById(R.id.output)
        status = findViewById(R.id.status)
        segmenter = PersonSegmenter(this, onResult = ::show)
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) ==
            PackageManager.PERMISSION_GRANTED) startCamera()
        else requestPermissions(arrayOf(Manifest.permission.CAMERA), 1)
    }

    override fun onRequestPermissionsResult(code: Int, permissions: Array<String>, results: IntArray) {
        super.onRequestPermissionsResult(code, permissions, results)
        if (results.firstOrNull() == PackageManager.PERMISSION_GRANTED) startCamera() else finish()
    }

    private fun startCamera() {
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener({
            val imageAnalysis = ImageAnalysis.Builder()
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .build()
            imageAnalysis.setAnalyzer(analysis, ::analyze)
            future.get().unbindAll()
            future.get().bindToLifecycle(this, CameraSelector.DEFAULT_FRONT_CAMERA, imageAnalysis)
        }, ContextCompat.getMainExecutor(this))
    }

    private fun analyze(proxy: ImageProxy) {
        proxy.use {
            val plane = it.planes[0]
            val width = it.width
            val height = it.height
            val rgba = ByteArray(width * height * 4)
            val buffer = plane.buffer
            for (row in 0 until height) {  // drop the row padding
                buffer.position(row * plane.rowStride)
                buffer.get(rgba, row * width * 4, width * 4)
            }
            rotation = it.imageInfo.rotationDegrees
            segmenter.segment(rgba, width, height, SystemClock.uptimeMillis())
        }
    }

    /** Composite: out = mask * frame + (1 - mask) * background (a flat green here). */
    private fun show(frame: ByteBuffer, mask: FloatArray, width: Int, height: Int) {
        val pixels = IntArray(width * height)
        for (i in pixels.indices) {
            val m = mask[i]
            val r = (frame.get(4 * i).toInt() and 0xff) * m
            val g = (frame.get(4 * i + 1).toInt() and 0xff) * m + 177f * (1 - m)
            val b = (frame.get(4 * i + 2).toInt() and 0xff) * m + 64f * (1 - m)
            pixels[i] = (0xff shl 24) or (r.toInt() shl 16) or (g.toInt() shl 8) or b.toInt()
        }
        val bitmap = Bitmap.createBitmap(pixels, width, height, Bitmap.Config.ARGB_8888)
        val now = SystemClock.uptimeMillis()
        val fps = if (lastFrameMs > 0) 1000f / (now - lastFrameMs) else 0f
        lastFrameMs = now
        runOnUiThread {
            output.rotation = rotation.toFloat()
            output.setImageBitmap(bitmap)
            status.text = "%.1f fps".format(fps)
        }
    }

    override fun onDestroy() {
        super.onDestroy()
        analysis.shutdown()
        segmenter.close()
    }
}
